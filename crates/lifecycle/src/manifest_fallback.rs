//! End-of-life read from the image manifest's own annotations, used only when the image has
//! no lifecycle record (DESIGN §3, dialect 3).
//!
//! Keys are tried in this order and the first readable one answers: `NS.end-of-life` for
//! each configured namespace (in configuration order), then image-spec #903's
//! `org.opencontainers.image.support.end-of-life` and
//! `org.opencontainers.image.support.end-of-support`. Our own key comes first because it is
//! the one lineage writes; #903's end-of-life precedes its end-of-support because #903 makes
//! it the earlier milestone ("deprecated" before "dangerous to use"). Times are read
//! leniently. A value that cannot be read gives a [`Warning`] and the next key is tried, so a
//! bad value never produces end-of-life.
//!
//! When `NS.end-of-life` answers, `NS.reason`, `NS.successor`, `NS.superseded-by` and
//! `NS.end-of-support` of the same namespace are read from the manifest as well. #903's
//! `end-of-support` stays an end-of-life fallback here: in #903 it is the later milestone
//! ("outdated, dangerous to use"), the opposite of lineage's end-of-support.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lineage_oci::Digest;

use crate::profile::{
    Namespace, OCI_SUPPORT_DIALECT, OCI_SUPPORT_END_OF_LIFE, OCI_SUPPORT_END_OF_SUPPORT, Reason,
};
use crate::record::Annotations;
use crate::warning::{Effect, Problem, Warning};

/// What an image manifest says about its own lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestLifecycle {
    /// From when the image is end-of-life.
    pub end_of_life: DateTime<Utc>,
    /// The annotation that said so.
    pub key: String,
    /// The name of the vocabulary of that key: the namespace, or
    /// [`OCI_SUPPORT_DIALECT`] for the image-spec #903 keys.
    pub dialect: String,
    /// `NS.reason`, when the profile key answered.
    pub reason: Option<Reason>,
    /// `NS.successor`, when the profile key answered.
    pub successor: Option<String>,
    /// `NS.superseded-by`, when the profile key answered.
    pub superseded_by: Option<Digest>,
    /// `NS.end-of-support`, when the profile key answered (issue 18).
    pub end_of_support: Option<DateTime<Utc>>,
}

/// Read end-of-life from the annotations of the image manifest `image`, pushing a warning
/// for every unreadable end-of-life value met before the one that answers.
pub fn read(
    image: &Digest,
    annotations: &BTreeMap<String, String>,
    namespaces: &[Namespace],
    warnings: &mut Vec<Warning>,
) -> Option<ManifestLifecycle> {
    let ann = Annotations {
        digest: image,
        map: annotations,
    };
    let candidates = namespaces
        .iter()
        .map(|ns| (ns.end_of_life_key(), Some(ns)))
        .chain(
            [OCI_SUPPORT_END_OF_LIFE, OCI_SUPPORT_END_OF_SUPPORT].map(|k| (k.to_string(), None)),
        );
    for (key, ns) in candidates {
        let Some(raw) = ann.raw(&key) else {
            continue;
        };
        let end_of_life = match lineage_oci::time::parse_lenient(raw) {
            Ok(t) => t,
            Err(e) => {
                warnings.push(ann.warning(&key, Problem::Time(e), Effect::ValueIgnored));
                continue;
            }
        };
        return Some(match ns {
            Some(ns) => ManifestLifecycle {
                end_of_life,
                key,
                dialect: ns.to_string(),
                reason: ann.text(&ns.reason_key()).and_then(|r| r.parse().ok()),
                successor: ann.text(&ns.successor_key()),
                superseded_by: ann.digest(&ns.superseded_by_key(), warnings),
                end_of_support: ann.time(&ns.end_of_support_key(), warnings),
            },
            None => ManifestLifecycle {
                end_of_life,
                key,
                dialect: OCI_SUPPORT_DIALECT.to_string(),
                reason: None,
                successor: None,
                superseded_by: None,
                end_of_support: None,
            },
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::at;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn image() -> Digest {
        Digest::sha256(b"image")
    }

    fn read_default(pairs: &[(&str, &str)]) -> (Option<ManifestLifecycle>, Vec<Warning>) {
        let mut w = Vec::new();
        let r = read(&image(), &ann(pairs), &[Namespace::default()], &mut w);
        (r, w)
    }

    #[test]
    fn reads_the_profile_key_and_its_companions() {
        let succ = Digest::sha256(b"next");
        let (r, w) = read_default(&[
            ("vnd.lineage.image.end-of-life", "2023-07-10T00:00:00-08:00"),
            ("vnd.lineage.image.reason", "vulnerable"),
            (
                "vnd.lineage.image.successor",
                "example.com/app:1.0-20230710",
            ),
            ("vnd.lineage.image.superseded-by", succ.as_str()),
        ]);
        assert!(w.is_empty());
        let r = r.unwrap();
        assert_eq!(r.end_of_life, at("2023-07-10T08:00:00Z"));
        assert_eq!(r.key, "vnd.lineage.image.end-of-life");
        assert_eq!(r.dialect, "vnd.lineage.image");
        assert_eq!(r.reason, Some(Reason::Vulnerable));
        assert_eq!(r.successor.as_deref(), Some("example.com/app:1.0-20230710"));
        assert_eq!(r.superseded_by, Some(succ));
    }

    #[test]
    fn reads_the_image_spec_903_keys_leniently() {
        let (r, _) =
            read_default(&[("org.opencontainers.image.support.end-of-life", "2025-04-30")]);
        let r = r.unwrap();
        assert_eq!(r.end_of_life, at("2025-04-30T00:00:00Z"));
        assert_eq!(r.dialect, "org.opencontainers.image.support");
        assert_eq!(r.reason, None);

        let (r, _) = read_default(&[(
            "org.opencontainers.image.support.end-of-support",
            "20230710T00:00-08:00",
        )]);
        let r = r.unwrap();
        assert_eq!(r.end_of_life, at("2023-07-10T08:00:00Z"));
        assert_eq!(r.key, "org.opencontainers.image.support.end-of-support");
    }

    #[test]
    fn precedence_is_profile_then_end_of_life_then_end_of_support() {
        let all = [
            (
                "org.opencontainers.image.support.end-of-support",
                "2027-01-01",
            ),
            ("org.opencontainers.image.support.end-of-life", "2026-01-01"),
            ("vnd.lineage.image.end-of-life", "2025-01-01"),
        ];
        assert_eq!(read_default(&all).0.unwrap().end_of_life, at("2025-01-01"));
        assert_eq!(
            read_default(&all[..2]).0.unwrap().end_of_life,
            at("2026-01-01")
        );
        assert_eq!(
            read_default(&all[..1]).0.unwrap().end_of_life,
            at("2027-01-01")
        );
    }

    #[test]
    fn configured_namespaces_are_tried_in_order() {
        let namespaces = [
            Namespace::new("vnd.myorganization.image").unwrap(),
            Namespace::default(),
        ];
        let pairs = ann(&[
            ("vnd.lineage.image.end-of-life", "2025-01-01"),
            ("vnd.myorganization.image.end-of-life", "2024-01-01"),
        ]);
        let mut w = Vec::new();
        let r = read(&image(), &pairs, &namespaces, &mut w).unwrap();
        assert_eq!(r.dialect, "vnd.myorganization.image");
        assert_eq!(r.end_of_life, at("2024-01-01"));
        // An unconfigured namespace is not read.
        let r = read(&image(), &pairs, &namespaces[..1], &mut w).unwrap();
        assert_eq!(r.end_of_life, at("2024-01-01"));
        assert!(
            read(
                &image(),
                &pairs,
                &[Namespace::new("vnd.x.y").unwrap()],
                &mut w
            )
            .is_none()
        );
        assert!(w.is_empty());
    }

    #[test]
    fn a_bad_value_warns_and_the_next_key_answers() {
        let (r, w) = read_default(&[
            ("vnd.lineage.image.end-of-life", "soon"),
            ("org.opencontainers.image.support.end-of-life", "2026-01-01"),
        ]);
        assert_eq!(r.unwrap().end_of_life, at("2026-01-01"));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].digest, image());
        assert_eq!(w[0].key, "vnd.lineage.image.end-of-life");
        assert_eq!(w[0].value.as_deref(), Some("soon"));
        assert_eq!(w[0].effect, Effect::ValueIgnored);

        let (r, w) = read_default(&[("org.opencontainers.image.support.end-of-life", "")]);
        assert!(r.is_none());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn nothing_to_read() {
        let (r, w) = read_default(&[
            ("org.opencontainers.image.version", "1.0"),
            ("vnd.lineage.image.reason", "superseded"),
            (
                "vnd.microsoft.artifact.lifecycle.end-of-life.date",
                "2024-01-01",
            ),
        ]);
        assert!(r.is_none());
        assert!(w.is_empty());
    }
}
