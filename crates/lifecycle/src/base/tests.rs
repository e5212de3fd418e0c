#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;
use crate::status::{Source, with_base};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn found(annotations: Option<&[(&str, &str)]>, reference: &str) -> Found {
    Found {
        status: BaseStatus {
            reference: Some(reference.into()),
            ..base(State::EndOfLife)
        },
        manifest: annotations.map(|a| {
            Arc::new(ManifestFacts {
                digest: Digest::sha256(b"base"),
                media_type: lineage_oci::media_type::OCI_MANIFEST.into(),
                size: 0,
                artifact_type: None,
                subject: None,
                annotations: map(a),
                rolling_tag: None,
                is_index: false,
                config: None,
                layers: vec![],
                children: vec![],
                base_claim: None,
            })
        }),
    }
}

fn base(state: State) -> BaseStatus {
    BaseStatus {
        reference: Some("reg.example/base:1.0-20230707".into()),
        digest: Some(Digest::sha256(b"base")),
        state,
        end_of_life: None,
        successor: None,
        evidence: Evidence::Annotation,
        platform: None,
        error: None,
        base: None,
    }
}

const VERSION: &str = "org.opencontainers.image.version";
const REVISION: &str = "org.opencontainers.image.revision";

#[test]
fn annotations_equal_to_the_bases_are_the_bases() {
    let image = map(&[
        (VERSION, "1.0"),
        (REVISION, "20230707"),
        ("k", "own"),
        (ANNOTATION_BASE_DIGEST, "sha256:x"),
    ]);
    let theirs = [(VERSION, "1.0"), (REVISION, "20230707"), ("k", "base")];
    let own = own_annotations(&image, Some(&found(Some(&theirs), "b:1")));
    assert_eq!(
        *own,
        map(&[("k", "own"), (ANNOTATION_BASE_DIGEST, "sha256:x")])
    );
    // An image version of its own stays.
    let image = map(&[(VERSION, "2.0"), (REVISION, "20230801")]);
    let own = own_annotations(&image, Some(&found(Some(&theirs), "b:1")));
    assert!(matches!(own, Cow::Borrowed(_)));
    // No base: all its own.
    assert_eq!(*own_annotations(&image, None), image);
}

#[test]
fn an_unreadable_base_named_by_the_images_own_revision_tag_owns_them() {
    let image = map(&[(VERSION, "1.0"), (REVISION, "20230707"), ("k", "v")]);
    let own = own_annotations(&image, Some(&found(None, "reg.example/base:1.0-20230707")));
    assert_eq!(*own, map(&[("k", "v")]));
    let own = own_annotations(&image, Some(&found(None, "reg.example/base:2.0")));
    assert_eq!(*own, image);
}

#[test]
fn the_image_s_own_verdict_comes_first() {
    let own = |state: State| crate::status::Status {
        end_of_support: None,
        days_left: None,
        scope: None,
        reference: "app".into(),
        digest: Digest::sha256(b"app"),
        state,
        end_of_life: None,
        reason: None,
        version: None,
        revision: None,
        successor: None,
        source: Source::None,
        record: None,
        dialect: None,
        warnings: vec![],
        base: None,
        signature: None,
    };
    for (mine, theirs, expected) in [
        (State::Unknown, State::EndOfLife, State::BaseEndOfLife),
        (State::Supported, State::Superseded, State::BaseEndOfLife),
        (State::Unknown, State::BaseEndOfLife, State::BaseEndOfLife),
        (State::Unknown, State::Supported, State::Supported),
        (State::Unknown, State::Unknown, State::Unknown),
        (State::Supported, State::Scheduled, State::Supported),
        (State::EndOfLife, State::EndOfLife, State::EndOfLife),
        (State::Superseded, State::EndOfLife, State::Superseded),
        (State::Scheduled, State::EndOfLife, State::Scheduled),
    ] {
        let s = with_base(own(mine), base(theirs));
        assert_eq!(s.state, expected, "{mine} on a {theirs} base");
        assert_eq!(s.base.as_ref().map(|b| b.state), Some(theirs));
    }
}

#[test]
fn base_json_shape() {
    let mut b = base(State::EndOfLife);
    b.end_of_life = Some(lineage_oci::time::parse_lenient("2023-07-10T08:00:00Z").unwrap());
    b.successor = Some(Successor {
        reference: Some("reg.example/base:1.0-20230710".into()),
        digest: None,
        revision: None,
    });
    assert_eq!(
        serde_json::to_value(&b).unwrap(),
        serde_json::json!({
            "reference": "reg.example/base:1.0-20230707",
            "digest": Digest::sha256(b"base").to_string(),
            "state": "end-of-life",
            "endOfLife": "2023-07-10T08:00:00Z",
            "successor": {"reference": "reg.example/base:1.0-20230710", "digest": null, "revision": null},
            "evidence": "annotation",
        })
    );
    assert_eq!(
        State::BaseEndOfLife.as_str().parse::<State>().unwrap(),
        State::BaseEndOfLife
    );
    assert!(State::EndOfLife.is_at_least(State::BaseEndOfLife));
    assert!(!State::BaseEndOfLife.is_at_least(State::Superseded));
    assert!(!State::BaseEndOfLife.is_retired());
}
