use lineage_oci::{Descriptor, Digest};

use super::*;
use crate::profile::{MICROSOFT_ARTIFACT_TYPE, MICROSOFT_END_OF_LIFE};
use crate::profile::{Namespace, Reason};
use crate::record::tests::{at, referrer};
use crate::warning::Effect;

const PROFILE: &str = "application/vnd.lineage.image.lifecycle.metadata";
const REF: &str = "127.0.0.1:5000/flasksample:1.0-20230707";

fn image() -> Digest {
    Digest::sha256(b"flasksample 1.0-20230707")
}

fn newer() -> Digest {
    Digest::sha256(b"flasksample 1.0-20230710")
}

/// The image of the original walkthrough: version 1.0, revision 20230707.
fn input() -> StatusInput {
    StatusInput {
        reference: REF.to_string(),
        digest: image(),
        image_annotations: [
            ("org.opencontainers.image.version", "1.0"),
            ("org.opencontainers.image.revision", "20230707"),
            (
                "org.opencontainers.image.created",
                "2023-07-07T00:00:00-08:00",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        referrers: vec![],
        namespaces: vec![Namespace::default()],
        rolling_tag: None,
        at: at("2024-01-01T00:00:00Z"),
    }
}

fn rolling(digest: Digest, created: Option<&str>) -> RollingTagInfo {
    RollingTagInfo {
        reference: "127.0.0.1:5000/flasksample:1.0-20230710".into(),
        digest,
        created: created.map(at),
        revision: Some("20230710".into()),
    }
}

fn eol_record(seed: &str, created: &str, eol: &str) -> Descriptor {
    referrer(
        seed,
        PROFILE,
        &[
            ("org.opencontainers.image.created", created),
            ("vnd.lineage.image.end-of-life", eol),
        ],
    )
}

fn restore_record(seed: &str, created: &str) -> Descriptor {
    referrer(
        seed,
        PROFILE,
        &[("org.opencontainers.image.created", created)],
    )
}

#[test]
fn design_example_json_shape() {
    let record = referrer(
        "record",
        PROFILE,
        &[
            ("org.opencontainers.image.created", "2023-07-10T08:00:00Z"),
            ("org.opencontainers.image.version", "1.0"),
            ("org.opencontainers.image.revision", "20230707"),
            ("vnd.lineage.image.end-of-life", "2023-07-10T08:00:00Z"),
            ("vnd.lineage.image.reason", "superseded"),
            (
                "vnd.lineage.image.successor",
                "127.0.0.1:5000/flasksample:1.0-20230710",
            ),
            ("vnd.lineage.image.superseded-by", newer().as_str()),
        ],
    );
    let mut i = input();
    i.referrers = vec![
        referrer("sbom", "application/spdx+json", &[]),
        record.clone(),
    ];
    i.rolling_tag = Some(rolling(newer(), Some("2023-07-10T08:00:00Z")));
    let status = decide(i);
    let json = serde_json::to_string(&status).unwrap();
    let expected = format!(
        concat!(
            r#"{{"reference":"127.0.0.1:5000/flasksample:1.0-20230707","#,
            r#""digest":"{image}","state":"end-of-life","#,
            r#""endOfLife":"2023-07-10T08:00:00Z","reason":"superseded","#,
            r#""version":"1.0","revision":"20230707","#,
            r#""successor":{{"reference":"127.0.0.1:5000/flasksample:1.0-20230710","digest":"{newer}","revision":"20230710"}},"#,
            r#""source":"referrer","record":"{record}","dialect":"vnd.lineage.image"}}"#
        ),
        image = image(),
        newer = newer(),
        record = record.digest,
    );
    assert_eq!(json, expected);
}

#[test]
fn unknown_serialises_absent_values_as_null() {
    let mut i = input();
    i.image_annotations.clear();
    let status = decide(i);
    assert_eq!(status.state, State::Unknown);
    assert_eq!(
        serde_json::to_string(&status).unwrap(),
        format!(
            r#"{{"reference":"{REF}","digest":"{}","state":"unknown","endOfLife":null,"reason":null,"version":null,"revision":null,"successor":null,"source":"none","record":null,"dialect":null}}"#,
            image()
        )
    );
}

#[test]
fn end_of_life_at_the_boundary_instant_and_scheduled_just_before() {
    let mut i = input();
    i.referrers = vec![eol_record(
        "r",
        "2023-07-01T00:00:00Z",
        "2023-07-10T08:00:00Z",
    )];
    i.at = at("2023-07-10T08:00:00Z");
    let s = decide(i.clone());
    assert_eq!(s.state, State::EndOfLife);
    assert_eq!(s.source, Source::Referrer);

    i.at = at("2023-07-10T07:59:59.999999999Z");
    let s = decide(i.clone());
    assert_eq!(s.state, State::Scheduled);
    assert_eq!(s.end_of_life, Some(at("2023-07-10T08:00:00Z")));
    assert_eq!(s.source, Source::Referrer);

    i.at = at("2020-01-01T00:00:00Z");
    assert_eq!(decide(i).state, State::Scheduled);
}

#[test]
fn microsoft_date_only_record() {
    let ms = referrer(
        "ms",
        MICROSOFT_ARTIFACT_TYPE,
        &[
            ("org.opencontainers.image.created", "2024-11-12T10:00:00Z"),
            (MICROSOFT_END_OF_LIFE, "2024-11-12"),
        ],
    );
    let mut i = input();
    i.referrers = vec![ms.clone()];
    i.at = at("2024-11-12T00:00:00Z");
    let s = decide(i.clone());
    assert_eq!(s.state, State::EndOfLife);
    assert_eq!(s.end_of_life, Some(at("2024-11-12T00:00:00Z")));
    assert_eq!(
        s.dialect.as_deref(),
        Some("vnd.microsoft.artifact.lifecycle")
    );
    assert_eq!(s.record, Some(ms.digest));
    assert_eq!(s.reason, None);
    i.at = at("2024-11-11T23:59:59Z");
    assert_eq!(decide(i).state, State::Scheduled);
}

#[test]
fn newest_record_wins_across_dialects() {
    let ms = referrer(
        "ms",
        MICROSOFT_ARTIFACT_TYPE,
        &[
            ("org.opencontainers.image.created", "2024-06-01T00:00:00Z"),
            (MICROSOFT_END_OF_LIFE, "2024-06-01"),
        ],
    );
    let mut i = input();
    i.at = at("2024-08-01T00:00:00Z");
    i.referrers = vec![restore_record("p-old", "2024-05-01T00:00:00Z"), ms];
    assert_eq!(decide(i.clone()).state, State::EndOfLife);
    i.referrers
        .push(restore_record("p-new", "2024-07-01T00:00:00Z"));
    let s = decide(i);
    assert_eq!(s.state, State::Supported);
    assert_eq!(s.dialect.as_deref(), Some("vnd.lineage.image"));
}

#[test]
fn a_newer_record_without_end_of_life_is_a_correction() {
    let mut i = input();
    i.referrers = vec![
        eol_record("retire", "2023-07-10T08:00:00Z", "2023-07-10T08:00:00Z"),
        restore_record("restore", "2023-07-11T08:00:00Z"),
    ];
    let s = decide(i);
    assert_eq!(s.state, State::Supported);
    assert_eq!(s.source, Source::Referrer);
    assert_eq!(s.end_of_life, None);
    assert_eq!(s.record, Some(Digest::sha256(b"restore")));
}

#[test]
fn a_correction_overrides_the_manifest_annotation() {
    let mut i = input();
    i.image_annotations.insert(
        "vnd.lineage.image.end-of-life".into(),
        "2023-07-10T08:00:00Z".into(),
    );
    assert_eq!(decide(i.clone()).state, State::EndOfLife);
    i.referrers = vec![restore_record("restore", "2023-07-11T08:00:00Z")];
    assert_eq!(decide(i).state, State::Supported);
}

#[test]
fn manifest_annotation_fallback() {
    let mut i = input();
    i.image_annotations.insert(
        "org.opencontainers.image.support.end-of-life".into(),
        "2023-12-31".into(),
    );
    let s = decide(i.clone());
    assert_eq!(s.state, State::EndOfLife);
    assert_eq!(s.source, Source::Manifest);
    assert_eq!(s.record, None);
    assert_eq!(
        s.dialect.as_deref(),
        Some("org.opencontainers.image.support")
    );
    i.at = at("2023-06-01T00:00:00Z");
    let s = decide(i);
    assert_eq!(s.state, State::Scheduled);
    assert_eq!(s.source, Source::Manifest);
}

#[test]
fn manifest_profile_key_brings_its_successor() {
    let mut i = input();
    for (k, v) in [
        ("vnd.lineage.image.end-of-life", "2023-07-10T08:00:00Z"),
        (
            "vnd.lineage.image.successor",
            "127.0.0.1:5000/flasksample:1.0-20230710",
        ),
        ("vnd.lineage.image.reason", "withdrawn"),
    ] {
        i.image_annotations.insert(k.into(), v.into());
    }
    let s = decide(i);
    assert_eq!(s.source, Source::Manifest);
    assert_eq!(s.reason, Some(Reason::Withdrawn));
    let succ = s.successor.unwrap();
    assert_eq!(
        succ.reference.as_deref(),
        Some("127.0.0.1:5000/flasksample:1.0-20230710")
    );
    assert_eq!(succ.digest, None);
}

#[test]
fn superseded_by_lineage_only_when_the_rolling_image_was_created_later() {
    let mut i = input();
    i.rolling_tag = Some(rolling(newer(), Some("2023-07-10T08:00:00Z")));
    let s = decide(i.clone());
    assert_eq!(s.state, State::Superseded);
    assert_eq!(s.source, Source::Lineage);
    assert_eq!(s.record, None);
    assert_eq!(s.reason, None);
    assert_eq!(
        s.successor,
        Some(Successor {
            reference: Some("127.0.0.1:5000/flasksample:1.0-20230710".into()),
            digest: Some(newer()),
            revision: Some("20230710".into()),
        })
    );

    // Created at the same instant (in another spelling), or earlier: not superseded.
    for created in ["2023-07-07T08:00:00Z", "2023-07-01T00:00:00Z"] {
        i.rolling_tag = Some(rolling(newer(), Some(created)));
        let s = decide(i.clone());
        assert_eq!(s.state, State::Supported, "{created}");
        assert_eq!(s.source, Source::Lineage);
        assert_eq!(s.successor, None);
    }

    // The rolling tag points to this very image.
    i.rolling_tag = Some(rolling(image(), Some("2030-01-01T00:00:00Z")));
    let s = decide(i.clone());
    assert_eq!(s.state, State::Supported);
    assert_eq!(s.successor, None);

    // Either created missing: the order is not known.
    i.rolling_tag = Some(rolling(newer(), None));
    assert_eq!(decide(i.clone()).state, State::Supported);
    i.rolling_tag = Some(rolling(newer(), Some("2030-01-01T00:00:00Z")));
    i.image_annotations
        .remove("org.opencontainers.image.created");
    assert_eq!(decide(i).state, State::Supported);
}

#[test]
fn a_restored_image_is_still_superseded_by_a_later_revision() {
    let mut i = input();
    i.referrers = vec![restore_record("restore", "2023-08-01T00:00:00Z")];
    i.rolling_tag = Some(rolling(newer(), Some("2023-07-10T08:00:00Z")));
    let s = decide(i);
    assert_eq!(s.state, State::Superseded);
    assert_eq!(s.source, Source::Lineage);
    // The effective record is still reported.
    assert_eq!(s.record, Some(Digest::sha256(b"restore")));
    assert_eq!(s.dialect.as_deref(), Some("vnd.lineage.image"));
}

#[test]
fn end_of_life_wins_over_the_lineage_check() {
    let mut i = input();
    i.referrers = vec![eol_record("r", "2023-07-10T08:00:00Z", "2025-01-01")];
    i.rolling_tag = Some(rolling(newer(), Some("2023-07-10T08:00:00Z")));
    let s = decide(i);
    assert_eq!(s.state, State::Scheduled);
    assert_eq!(s.source, Source::Referrer);
    // No successor recorded: the rolling tag's image is offered.
    assert_eq!(s.successor.unwrap().digest, Some(newer()));
}

#[test]
fn recorded_successor_gets_the_revision_only_when_the_digest_matches() {
    let other = Digest::sha256(b"1.0-20230801");
    let mut i = input();
    i.referrers = vec![referrer(
        "r",
        PROFILE,
        &[
            ("org.opencontainers.image.created", "2023-07-10T08:00:00Z"),
            ("vnd.lineage.image.end-of-life", "2023-07-10T08:00:00Z"),
            ("vnd.lineage.image.superseded-by", newer().as_str()),
        ],
    )];
    i.rolling_tag = Some(rolling(other.clone(), Some("2023-08-01T00:00:00Z")));
    let s = decide(i.clone());
    // The recorded successor is kept even though the rolling tag has moved on.
    assert_eq!(
        s.successor,
        Some(Successor {
            reference: None,
            digest: Some(newer()),
            revision: None
        })
    );
    i.rolling_tag = Some(rolling(newer(), Some("2023-07-10T08:00:00Z")));
    let s = decide(i);
    assert_eq!(s.successor.unwrap().revision.as_deref(), Some("20230710"));
}

#[test]
fn supported_with_only_a_record_or_only_a_lineage_and_unknown_without() {
    let mut i = input();
    i.referrers = vec![restore_record("restore", "2023-08-01T00:00:00Z")];
    let s = decide(i.clone());
    assert_eq!((s.state, s.source), (State::Supported, Source::Referrer));

    i.referrers.clear();
    i.rolling_tag = Some(rolling(image(), None));
    let s = decide(i.clone());
    assert_eq!((s.state, s.source), (State::Supported, Source::Lineage));
    assert_eq!(s.record, None);
    assert_eq!(s.dialect, None);

    i.rolling_tag = None;
    let s = decide(i);
    assert_eq!((s.state, s.source), (State::Unknown, Source::None));
    // Version and revision are still reported.
    assert_eq!(s.version.as_deref(), Some("1.0"));
    assert_eq!(s.revision.as_deref(), Some("20230707"));
}

#[test]
fn version_and_revision_come_from_the_image_else_the_record() {
    let mut i = input();
    i.image_annotations.clear();
    i.referrers = vec![referrer(
        "r",
        PROFILE,
        &[
            ("org.opencontainers.image.version", "2.0"),
            ("org.opencontainers.image.revision", "20240101"),
        ],
    )];
    let s = decide(i.clone());
    assert_eq!(s.version.as_deref(), Some("2.0"));
    assert_eq!(s.revision.as_deref(), Some("20240101"));
    i.image_annotations
        .insert("org.opencontainers.image.version".into(), "2.1".into());
    assert_eq!(decide(i).version.as_deref(), Some("2.1"));
}

#[test]
fn a_bad_date_never_produces_end_of_life() {
    // The only record is malformed: no state from it, a warning instead.
    let mut i = input();
    i.referrers = vec![eol_record("bad", "2023-07-10T08:00:00Z", "10/07/2023")];
    let s = decide(i.clone());
    assert_eq!(s.state, State::Unknown);
    assert_eq!(s.end_of_life, None);
    assert_eq!(s.record, None);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].digest, Digest::sha256(b"bad"));
    assert_eq!(s.warnings[0].key, "vnd.lineage.image.end-of-life");
    assert_eq!(s.warnings[0].value.as_deref(), Some("10/07/2023"));
    assert_eq!(s.warnings[0].effect, Effect::RecordIgnored);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["warnings"][0]["key"], "vnd.lineage.image.end-of-life");
    assert_eq!(json["warnings"][0]["value"], "10/07/2023");
    assert_eq!(json["warnings"][0]["effect"], "record-ignored");

    // A malformed newer record neither retires nor restores: the older record stands.
    i.referrers = vec![
        restore_record("old", "2023-07-01T00:00:00Z"),
        eol_record("bad", "2023-07-10T08:00:00Z", "10/07/2023"),
    ];
    let s = decide(i.clone());
    assert_eq!(s.state, State::Supported);
    assert_eq!(s.warnings.len(), 1);
    i.referrers = vec![
        eol_record("old", "2023-07-01T00:00:00Z", "2023-07-01T00:00:00Z"),
        eol_record("bad", "2023-07-10T08:00:00Z", ""),
    ];
    let s = decide(i.clone());
    assert_eq!(s.state, State::EndOfLife);
    assert_eq!(s.end_of_life, Some(at("2023-07-01T00:00:00Z")));

    // A malformed manifest annotation is no end-of-life either.
    let mut i = input();
    i.image_annotations
        .insert("vnd.lineage.image.end-of-life".into(), "tomorrow".into());
    let s = decide(i);
    assert_eq!(s.state, State::Unknown);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].digest, image());
}

#[test]
fn a_bad_image_created_warns_and_blocks_the_lineage_check() {
    let mut i = input();
    i.image_annotations.insert(
        "org.opencontainers.image.created".into(),
        "last week".into(),
    );
    i.rolling_tag = Some(rolling(newer(), Some("2023-07-10T08:00:00Z")));
    let s = decide(i);
    assert_eq!(s.state, State::Supported);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].key, "org.opencontainers.image.created");
}

#[test]
fn warnings_are_omitted_when_there_are_none() {
    let s = decide(input());
    assert!(s.warnings.is_empty());
    let json = serde_json::to_value(&s).unwrap();
    assert!(json.get("warnings").is_none());
}

#[test]
fn myorganization_namespace_status() {
    let mut i = input();
    i.namespaces = vec![Namespace::new("vnd.myorganization.image").unwrap()];
    i.referrers = vec![referrer(
        "r",
        "application/vnd.myorganization.image.lifecycle.metadata",
        &[
            ("org.opencontainers.image.created", "2023-07-10T08:00:00Z"),
            (
                "vnd.myorganization.image.end-of-life",
                "20230710T00:00-08:00",
            ),
        ],
    )];
    let s = decide(i.clone());
    assert_eq!(s.state, State::EndOfLife);
    assert_eq!(s.dialect.as_deref(), Some("vnd.myorganization.image"));
    // With only the default namespace configured, that record is not read.
    i.namespaces = vec![Namespace::default()];
    assert_eq!(decide(i).state, State::Unknown);
}

#[test]
fn states_and_sources_have_their_contract_names() {
    let names: Vec<String> = State::ALL
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            r#""end-of-life""#,
            r#""scheduled""#,
            r#""superseded""#,
            r#""supported""#,
            r#""unknown""#,
            r#""end-of-support""#,
            r#""base-end-of-life""#
        ]
    );
    for s in State::ALL {
        assert_eq!(s.as_str().parse::<State>().unwrap(), s);
        assert_eq!(format!("\"{s}\""), serde_json::to_string(&s).unwrap());
    }
    assert!("end_of_life".parse::<State>().is_err());
    let sources: Vec<String> = [
        Source::Referrer,
        Source::Manifest,
        Source::Lineage,
        Source::None,
        Source::Base,
    ]
    .iter()
    .map(|s| serde_json::to_string(s).unwrap())
    .collect();
    assert_eq!(
        sources,
        [
            r#""referrer""#,
            r#""manifest""#,
            r#""lineage""#,
            r#""none""#,
            r#""base""#
        ]
    );
}

#[test]
fn fail_on_order() {
    use State::*;
    assert!(EndOfLife.is_at_least(Scheduled));
    assert!(EndOfLife.is_at_least(Superseded));
    assert!(Scheduled.is_at_least(Superseded));
    assert!(Scheduled.is_at_least(Scheduled));
    assert!(!Superseded.is_at_least(Scheduled));
    assert!(!Supported.is_at_least(Superseded));
    assert!(Supported.is_at_least(Supported));
    assert!(Unknown.is_at_least(Unknown));
    assert!(!Unknown.is_at_least(Supported));
    assert!(!EndOfLife.is_at_least(Unknown));
}

/// Issue 18: end-of-support before end-of-life, `daysLeft`, `scope`; the fields are left
/// out of the JSON when empty, so the §4 shape is unchanged for statuses without them.
#[test]
fn end_of_support_days_left_and_scope_are_additive() {
    let mut i = input();
    i.referrers = vec![referrer(
        "r",
        PROFILE,
        &[
            ("org.opencontainers.image.created", "2023-07-01T00:00:00Z"),
            ("vnd.lineage.image.end-of-support", "2024-01-01T00:00:00Z"),
            ("vnd.lineage.image.end-of-life", "2024-02-01T00:00:00Z"),
            ("vnd.lineage.image.scope", "internal"),
        ],
    )];
    i.at = at("2023-12-20T00:00:00Z");
    let s = decide(i.clone());
    assert_eq!(s.state, State::Scheduled);
    assert_eq!(s.days_left, Some(12));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["endOfSupport"], "2024-01-01T00:00:00Z");
    assert_eq!(json["daysLeft"], 12);
    assert_eq!(json["scope"], "internal");
    i.at = at("2024-01-10T00:00:00Z");
    let s = decide(i.clone());
    assert_eq!((s.state, s.days_left), (State::EndOfSupport, Some(22)));
    i.at = at("2024-02-01T00:00:00Z");
    let s = decide(i);
    assert_eq!((s.state, s.days_left), (State::EndOfLife, None));
    let json = serde_json::to_value(&s).unwrap();
    assert!(json.get("daysLeft").is_none(), "{json}");
    // Without the new keys, none of the new fields appears.
    let plain = serde_json::to_value(decide(input())).unwrap();
    for key in ["endOfSupport", "daysLeft", "scope"] {
        assert!(plain.get(key).is_none(), "{key}: {plain}");
    }
}
