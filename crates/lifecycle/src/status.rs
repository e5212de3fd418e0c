//! The status of an image: its effective lifecycle record plus the lineage check (DESIGN §4).
//!
//! [`decide`] is pure: the caller gathers the facts (the image's annotations, the referrers
//! listing of its digest, what its rolling tag points to) into a [`StatusInput`], and gets a
//! [`Status`] that serialises to the JSON of `lineage status --output json`.
//!
//! The rules, in order:
//! 1. End-of-life comes from the effective record ([`crate::record::effective`]); only when
//!    the image has no (readable) record, from the manifest's own annotations
//!    ([`crate::manifest_fallback`]). A record without end-of-life therefore also overrides an
//!    end-of-life baked into the manifest.
//! 2. End-of-life at or before `at` is `end-of-life`; after `at`, `scheduled`.
//! 3. Without end-of-life: when the rolling tag points to a different image whose `created`
//!    is later than this image's `created`, `superseded` (source `lineage`). When either
//!    `created` is missing the order cannot be known and the image is not called superseded.
//! 4. Otherwise `supported` when there is a record (source `referrer`) or a rolling tag
//!    (source `lineage`), else `unknown` (source `none`).
//!
//! `record` and `dialect` describe the effective record whenever there is one, even when the
//! lineage decided the state; for source `manifest`, `dialect` names the annotation's
//! vocabulary and `record` is `null`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest};

use crate::manifest_fallback;
use crate::profile::{
    ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, Namespace, Reason,
};
use crate::record::{Annotations, Records};
use crate::warning::Warning;

/// The lifecycle state of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Its end-of-life has passed.
    EndOfLife,
    /// Its end-of-life is in the future.
    Scheduled,
    /// No end-of-life, but a later revision of its lineage exists.
    Superseded,
    /// Lifecycle data exists and says nothing against it.
    Supported,
    /// No record, no lifecycle annotation, no lineage.
    Unknown,
}

impl State {
    /// Every state, in the order of the table in DESIGN §4.
    pub const ALL: [State; 5] = [
        State::EndOfLife,
        State::Scheduled,
        State::Superseded,
        State::Supported,
        State::Unknown,
    ];

    /// The state's name in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            State::EndOfLife => "end-of-life",
            State::Scheduled => "scheduled",
            State::Superseded => "superseded",
            State::Supported => "supported",
            State::Unknown => "unknown",
        }
    }

    /// Whether this state is `threshold` or past it, for `--fail-on` ("in or past"). The
    /// states an image moves through are ordered `supported` < `superseded` < `scheduled` <
    /// `end-of-life` (a newer revision appears, then an end-of-life is recorded, then it
    /// passes); `unknown` is outside that order and only matches itself.
    pub fn is_at_least(self, threshold: State) -> bool {
        match (self.rank(), threshold.rank()) {
            (Some(a), Some(b)) => a >= b,
            _ => self == threshold,
        }
    }

    /// Whether an image in this state should be moved off: `end-of-life` or `superseded`.
    pub fn is_retired(self) -> bool {
        matches!(self, State::EndOfLife | State::Superseded)
    }

    fn rank(self) -> Option<u8> {
        match self {
            State::Supported => Some(0),
            State::Superseded => Some(1),
            State::Scheduled => Some(2),
            State::EndOfLife => Some(3),
            State::Unknown => None,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`State`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown lifecycle state `{0}` (expected end-of-life, scheduled, superseded, supported or unknown)"
)]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<State, UnknownState> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// What decided the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A lifecycle record (a referrer of the image).
    Referrer,
    /// An annotation on the image manifest itself.
    Manifest,
    /// The lineage: what the rolling tag points to.
    Lineage,
    /// Nothing.
    None,
}

/// What the lineage's rolling tag (the image's `org.opencontainers.image.version`) points to
/// now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingTagInfo {
    /// The reference to show for that image, e.g. `registry/repo:1.0-20230710` (or the
    /// rolling tag itself when no better name is known).
    pub reference: String,
    /// The digest the rolling tag resolves to.
    pub digest: Digest,
    /// That image's `org.opencontainers.image.created`.
    pub created: Option<DateTime<Utc>>,
    /// That image's `org.opencontainers.image.revision`.
    pub revision: Option<String>,
}

/// The facts a status is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInput {
    /// The reference as the user gave it.
    pub reference: String,
    /// The digest it resolved to.
    pub digest: Digest,
    /// The image manifest's (or index's) own annotations: version, revision, created and
    /// any manifest-level end-of-life.
    pub image_annotations: BTreeMap<String, String>,
    /// The referrers listing of `digest`, any artifact types; lifecycle records are picked
    /// out by artifactType.
    pub referrers: Vec<Descriptor>,
    /// The profile namespaces to read (Microsoft records are always read).
    pub namespaces: Vec<Namespace>,
    /// What the rolling tag points to; `None` when the image has no version or its rolling
    /// tag does not exist.
    pub rolling_tag: Option<RollingTagInfo>,
    /// The instant the status is for (now, or `--at`).
    pub at: DateTime<Utc>,
}

/// The image to move to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Successor {
    /// Its reference.
    pub reference: Option<String>,
    /// Its digest.
    pub digest: Option<Digest>,
    /// Its revision.
    pub revision: Option<String>,
}

/// The status of one image, serialised as DESIGN §4 shows (absent values are `null`), plus
/// `warnings`, present only when there are any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The reference as the user gave it.
    pub reference: String,
    /// The image's digest.
    pub digest: Digest,
    /// The state.
    pub state: State,
    /// The effective end-of-life, RFC 3339 UTC.
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339_opt")]
    pub end_of_life: Option<DateTime<Utc>>,
    /// Why, as recorded.
    pub reason: Option<Reason>,
    /// The image's version (its lineage), from the image, else from the record.
    pub version: Option<String>,
    /// The image's revision, from the image, else from the record.
    pub revision: Option<String>,
    /// The image to move to: the recorded successor, else (when the state is not
    /// `supported`) the image the rolling tag points to if that is another image.
    pub successor: Option<Successor>,
    /// What decided the state.
    pub source: Source,
    /// The digest of the effective record.
    pub record: Option<Digest>,
    /// The vocabulary of the lifecycle data used (see [`crate::Dialect::name`]).
    pub dialect: Option<String>,
    /// Lifecycle data that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// What the record or the manifest declares.
struct Declared {
    end_of_life: Option<DateTime<Utc>>,
    reason: Option<Reason>,
    successor: Option<String>,
    superseded_by: Option<Digest>,
    source: Source,
    record: Option<Digest>,
    dialect: String,
}

/// Decide the status of an image (DESIGN §4; the rules are in the module documentation).
pub fn decide(input: StatusInput) -> Status {
    decide_from(
        input.reference,
        Facts {
            digest: &input.digest,
            image_annotations: &input.image_annotations,
            referrers: &input.referrers,
            namespaces: &input.namespaces,
            rolling_tag: input.rolling_tag.as_ref(),
        },
        input.at,
    )
}

/// What [`decide`] reads, borrowed: the batch lookup decides from cached facts on every
/// lookup and must not copy them to do it.
pub(crate) struct Facts<'a> {
    pub(crate) digest: &'a Digest,
    pub(crate) image_annotations: &'a BTreeMap<String, String>,
    pub(crate) referrers: &'a [Descriptor],
    pub(crate) namespaces: &'a [Namespace],
    pub(crate) rolling_tag: Option<&'a RollingTagInfo>,
}

/// [`decide`] over borrowed facts.
pub(crate) fn decide_from(reference: String, facts: Facts<'_>, at: DateTime<Utc>) -> Status {
    let Facts {
        digest,
        image_annotations,
        referrers,
        namespaces,
        rolling_tag,
    } = facts;
    let Records {
        records,
        mut warnings,
    } = Records::read(referrers, namespaces);
    let record = crate::record::effective(&records);

    let declared =
        match record {
            Some(r) => Some(Declared {
                end_of_life: r.end_of_life,
                reason: r.reason.clone(),
                successor: r.successor.clone(),
                superseded_by: r.superseded_by.clone(),
                source: Source::Referrer,
                record: Some(r.digest.clone()),
                dialect: r.dialect.name().to_string(),
            }),
            None => manifest_fallback::read(digest, image_annotations, namespaces, &mut warnings)
                .map(|m| Declared {
                    end_of_life: Some(m.end_of_life),
                    reason: m.reason,
                    successor: m.successor,
                    superseded_by: m.superseded_by,
                    source: Source::Manifest,
                    record: None,
                    dialect: m.dialect,
                }),
        };

    let image = Annotations {
        digest,
        map: image_annotations,
    };
    // The rolling tag's image, when it is another image than this one.
    let other = rolling_tag.filter(|r| r.digest != *digest);

    let end_of_life = declared.as_ref().and_then(|d| d.end_of_life);
    let (state, source) = match (end_of_life, &declared) {
        (Some(eol), Some(d)) if eol <= at => (State::EndOfLife, d.source),
        (Some(_), Some(d)) => (State::Scheduled, d.source),
        _ => {
            let created_later = other.is_some_and(|r| {
                let mine = image.time(ANNOTATION_CREATED, &mut warnings);
                matches!((r.created, mine), (Some(theirs), Some(mine)) if theirs > mine)
            });
            match &declared {
                _ if created_later => (State::Superseded, Source::Lineage),
                Some(d) => (State::Supported, d.source),
                None if rolling_tag.is_some() => (State::Supported, Source::Lineage),
                None => (State::Unknown, Source::None),
            }
        }
    };

    let recorded = declared
        .as_ref()
        .filter(|d| d.successor.is_some() || d.superseded_by.is_some());
    let successor = match (recorded, other) {
        (Some(d), _) => Some(Successor {
            reference: d.successor.clone(),
            digest: d.superseded_by.clone(),
            revision: rolling_tag
                .filter(|r| d.superseded_by.as_ref() == Some(&r.digest))
                .and_then(|r| r.revision.clone()),
        }),
        (None, Some(r)) if state != State::Supported => Some(Successor {
            reference: Some(r.reference.clone()),
            digest: Some(r.digest.clone()),
            revision: r.revision.clone(),
        }),
        _ => None,
    };

    Status {
        reference,
        digest: digest.clone(),
        state,
        end_of_life,
        reason: declared.as_ref().and_then(|d| d.reason.clone()),
        version: image
            .text(ANNOTATION_VERSION)
            .or_else(|| record.and_then(|r| r.version.clone())),
        revision: image
            .text(ANNOTATION_REVISION)
            .or_else(|| record.and_then(|r| r.revision.clone())),
        successor,
        source,
        record: declared.as_ref().and_then(|d| d.record.clone()),
        dialect: declared.map(|d| d.dialect),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{MICROSOFT_ARTIFACT_TYPE, MICROSOFT_END_OF_LIFE};
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
                r#""unknown""#
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
                r#""none""#
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
}
