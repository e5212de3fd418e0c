//! Lifecycle records read from a referrers listing, and which of them is in effect.
//!
//! A [`Record`] is decided from the referrer's descriptor alone (its `artifactType` and the
//! annotations a referrers listing copies from the record manifest), never by fetching the
//! record, so the cost of a status does not grow with the number of records (DESIGN §4).
//!
//! Malformed values give a [`Warning`] instead of a wrong state:
//! - a bad or empty end-of-life (either dialect), or a Microsoft record without its
//!   end-of-life key: the **record is ignored**, because that value decides the state. Dropping
//!   only the field would turn the record into "supported again" and, being newest, it would
//!   win;
//! - a bad `org.opencontainers.image.created`: the **value is ignored**, and the record sorts
//!   as one without `created` (oldest);
//! - a bad `NS.superseded-by` digest or `NS.end-of-support`: the **value is ignored**; the
//!   record still counts (end-of-support is a warning, never a denial).
//!
//! The newest record wins across dialects ([`effective`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lineage_oci::{Descriptor, Digest, time};

use crate::profile::{
    ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, OCI_SUPPORT_END_OF_SUPPORT,
};
use crate::profile::{Dialect, Namespace, Reason};
use crate::warning::{Effect, Problem, Warning};

/// One lifecycle record: what a referrer of the image says about its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record manifest's digest.
    pub digest: Digest,
    /// The vocabulary it is written in.
    pub dialect: Dialect,
    /// When the record was written (`org.opencontainers.image.created`).
    pub created: Option<DateTime<Utc>>,
    /// From when the image is end-of-life; `None` declares it supported (again).
    pub end_of_life: Option<DateTime<Utc>>,
    /// The successor's digest (`NS.superseded-by`).
    pub superseded_by: Option<Digest>,
    /// The successor's reference (`NS.successor`).
    pub successor: Option<String>,
    /// Why (`NS.reason`).
    pub reason: Option<Reason>,
    /// The image's `org.opencontainers.image.version`, copied onto the record.
    pub version: Option<String>,
    /// The image's `org.opencontainers.image.revision`, copied onto the record.
    pub revision: Option<String>,
    /// From when the image gets no more fixes (`NS.end-of-support`, else the proposed
    /// `org.opencontainers.image.support.end-of-support`); profile records only.
    pub end_of_support: Option<DateTime<Utc>>,
    /// Where the record may travel (`NS.scope`); `None` when unscoped.
    pub scope: Option<String>,
}

impl Record {
    /// Read a record from a referrer descriptor, in the dialect its artifactType names among
    /// the profile in each of `namespaces` and Microsoft's. `None` when the referrer is not a
    /// lifecycle record (no warning) or when the record is ignored (with a warning pushed to
    /// `warnings`).
    pub fn from_descriptor(
        desc: &Descriptor,
        namespaces: &[Namespace],
        warnings: &mut Vec<Warning>,
    ) -> Option<Record> {
        let dialect = Dialect::for_artifact_type(desc.artifact_type.as_deref()?, namespaces)?;
        let empty = BTreeMap::new();
        let ann = Annotations {
            digest: &desc.digest,
            map: desc.annotations.as_ref().unwrap_or(&empty),
        };

        let eol_key = dialect.end_of_life_key();
        let end_of_life = match ann.raw(&eol_key) {
            Some(raw) => match time::parse_lenient(raw) {
                Ok(t) => Some(t),
                Err(e) => {
                    warnings.push(ann.warning(&eol_key, Problem::Time(e), Effect::RecordIgnored));
                    return None;
                }
            },
            None if dialect == Dialect::Microsoft => {
                // A Microsoft record has no way to say "supported": without its one key it
                // says nothing.
                warnings.push(ann.warning(&eol_key, Problem::Missing, Effect::RecordIgnored));
                return None;
            }
            None => None,
        };

        let created = ann.time(ANNOTATION_CREATED, warnings);
        let (superseded_by, successor, reason) = match &dialect {
            Dialect::Profile(ns) => (
                ann.digest(&ns.superseded_by_key(), warnings),
                ann.text(&ns.successor_key()),
                ann.text(&ns.reason_key()).and_then(|r| r.parse().ok()),
            ),
            Dialect::Microsoft => (None, None, None),
        };
        let end_of_support = match &dialect {
            Dialect::Profile(ns) => [ns.end_of_support_key(), OCI_SUPPORT_END_OF_SUPPORT.into()]
                .iter()
                .find(|k| ann.raw(k).is_some())
                .and_then(|k| ann.time(k, warnings)),
            // Microsoft's convention has no end-of-support key.
            Dialect::Microsoft => None,
        };
        // A profile record's scope is in its namespace; a Microsoft record lineage wrote
        // carries the scope of the namespace it was written with.
        let scope = match &dialect {
            Dialect::Profile(ns) => ann.text(&ns.scope_key()),
            Dialect::Microsoft => namespaces.iter().find_map(|ns| ann.text(&ns.scope_key())),
        };
        Some(Record {
            digest: desc.digest.clone(),
            dialect,
            created,
            end_of_life,
            superseded_by,
            successor,
            reason,
            version: ann.text(ANNOTATION_VERSION),
            revision: ann.text(ANNOTATION_REVISION),
            end_of_support,
            scope,
        })
    }

    /// Order by recency: `created` first (a record without it is older than any with it),
    /// then the larger digest (compared as text) is newer.
    pub fn recency_cmp(&self, other: &Record) -> Ordering {
        self.created
            .cmp(&other.created)
            .then_with(|| self.digest.as_str().cmp(other.digest.as_str()))
    }
}

/// The records and warnings read from a referrers listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    /// The lifecycle records, in listing order.
    pub records: Vec<Record>,
    /// What could not be read.
    pub warnings: Vec<Warning>,
}

impl Records {
    /// Read every lifecycle record among `referrers` (a referrers listing of the image, any
    /// artifact types), skipping referrers that are not lifecycle records.
    pub fn read(referrers: &[Descriptor], namespaces: &[Namespace]) -> Records {
        let mut warnings = Vec::new();
        let records = referrers
            .iter()
            .filter_map(|d| Record::from_descriptor(d, namespaces, &mut warnings))
            .collect();
        Records { records, warnings }
    }

    /// The record in effect, see [`effective`].
    pub fn effective(&self) -> Option<&Record> {
        effective(&self.records)
    }
}

/// The record in effect: the newest by `org.opencontainers.image.created`, across dialects;
/// ties go to the larger record digest; records without `created` are the oldest. A newest
/// record without end-of-life (a correction, "supported again") wins like any other.
pub fn effective(records: &[Record]) -> Option<&Record> {
    records.iter().max_by(|a, b| a.recency_cmp(b))
}

/// Annotation access for one manifest, turning bad values into warnings.
pub(crate) struct Annotations<'a> {
    pub(crate) digest: &'a Digest,
    pub(crate) map: &'a BTreeMap<String, String>,
}

impl Annotations<'_> {
    /// The value as written, even when empty.
    pub(crate) fn raw(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// The value trimmed; empty counts as absent.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        let v = self.map.get(key)?.trim();
        (!v.is_empty()).then(|| v.to_string())
    }

    /// A time, read leniently; a bad one is warned about and ignored.
    pub(crate) fn time(&self, key: &str, warnings: &mut Vec<Warning>) -> Option<DateTime<Utc>> {
        let v = self.text(key)?;
        time::parse_lenient(&v)
            .map_err(|e| warnings.push(self.warning(key, Problem::Time(e), Effect::ValueIgnored)))
            .ok()
    }

    /// A digest; a bad one is warned about and ignored.
    pub(crate) fn digest(&self, key: &str, warnings: &mut Vec<Warning>) -> Option<Digest> {
        let v = self.text(key)?;
        v.parse()
            .map_err(|e| warnings.push(self.warning(key, Problem::Digest(e), Effect::ValueIgnored)))
            .ok()
    }

    pub(crate) fn warning(&self, key: &str, problem: Problem, effect: Effect) -> Warning {
        Warning {
            digest: self.digest.clone(),
            key: key.to_string(),
            value: self.map.get(key).cloned(),
            problem,
            effect,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::profile::{MICROSOFT_ARTIFACT_TYPE, MICROSOFT_END_OF_LIFE};
    use lineage_oci::media_type;

    /// A referrer descriptor as a listing gives it; the digest is derived from `seed`.
    pub(crate) fn referrer(seed: &str, artifact_type: &str, ann: &[(&str, &str)]) -> Descriptor {
        let mut d = Descriptor::new(
            media_type::OCI_MANIFEST,
            Digest::sha256(seed.as_bytes()),
            500,
        );
        d.artifact_type = Some(artifact_type.to_string());
        for (k, v) in ann {
            d.set_annotation(*k, *v);
        }
        d
    }

    pub(crate) fn at(s: &str) -> DateTime<Utc> {
        time::parse_lenient(s).unwrap()
    }

    const PROFILE: &str = "application/vnd.lineage.image.lifecycle.metadata";

    fn ns() -> Vec<Namespace> {
        vec![Namespace::default()]
    }

    fn read_one(d: &Descriptor) -> (Option<Record>, Vec<Warning>) {
        let mut w = Vec::new();
        let r = Record::from_descriptor(d, &ns(), &mut w);
        (r, w)
    }

    #[test]
    fn reads_every_profile_field_from_the_descriptor() {
        let succ = Digest::sha256(b"successor");
        let d = referrer(
            "r1",
            PROFILE,
            &[
                ("org.opencontainers.image.created", "2023-07-10T08:00:00Z"),
                ("org.opencontainers.image.version", "1.0"),
                ("org.opencontainers.image.revision", "20230707"),
                ("vnd.lineage.image.end-of-life", "20230710T00:00-08:00"),
                ("vnd.lineage.image.superseded-by", succ.as_str()),
                (
                    "vnd.lineage.image.successor",
                    "127.0.0.1:5000/flasksample:1.0-20230710",
                ),
                ("vnd.lineage.image.reason", "superseded"),
            ],
        );
        let (r, w) = read_one(&d);
        assert!(w.is_empty(), "{w:?}");
        let r = r.unwrap();
        assert_eq!(r.digest, d.digest);
        assert_eq!(r.dialect, Dialect::Profile(Namespace::default()));
        assert_eq!(r.created, Some(at("2023-07-10T08:00:00Z")));
        assert_eq!(r.end_of_life, Some(at("2023-07-10T08:00:00Z")));
        assert_eq!(r.superseded_by, Some(succ));
        assert_eq!(
            r.successor.as_deref(),
            Some("127.0.0.1:5000/flasksample:1.0-20230710")
        );
        assert_eq!(r.reason, Some(Reason::Superseded));
        assert_eq!(r.version.as_deref(), Some("1.0"));
        assert_eq!(r.revision.as_deref(), Some("20230707"));
    }

    /// Issue 18: end-of-support (ours, else image-spec #903's key on the record) and scope.
    #[test]
    fn reads_end_of_support_and_scope() {
        let d = referrer(
            "eos",
            PROFILE,
            &[
                ("vnd.lineage.image.end-of-life", "2024-02-01"),
                ("vnd.lineage.image.end-of-support", "2024-01-01T00:00:00Z"),
                (
                    "org.opencontainers.image.support.end-of-support",
                    "2023-01-01",
                ),
                ("vnd.lineage.image.scope", " internal "),
            ],
        );
        let (r, w) = read_one(&d);
        assert!(w.is_empty(), "{w:?}");
        let r = r.unwrap();
        assert_eq!(r.end_of_support, Some(at("2024-01-01")));
        assert_eq!(r.scope.as_deref(), Some("internal"));
        let d = referrer(
            "eos903",
            PROFILE,
            &[(
                "org.opencontainers.image.support.end-of-support",
                "2023-01-01",
            )],
        );
        assert_eq!(
            read_one(&d).0.unwrap().end_of_support,
            Some(at("2023-01-01"))
        );
        // A bad end-of-support drops the value, with a warning; the record still counts.
        let d = referrer(
            "bad",
            PROFILE,
            &[
                ("vnd.lineage.image.end-of-life", "2024-02-01"),
                ("vnd.lineage.image.end-of-support", "soon"),
            ],
        );
        let (r, w) = read_one(&d);
        assert_eq!(r.unwrap().end_of_support, None);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].effect, Effect::ValueIgnored);
        // Microsoft's records have no end-of-support; a scope lineage wrote is read.
        let d = referrer(
            "ms",
            MICROSOFT_ARTIFACT_TYPE,
            &[
                (MICROSOFT_END_OF_LIFE, "2024-11-12"),
                ("vnd.lineage.image.end-of-support", "2024-01-01"),
                ("vnd.lineage.image.scope", "internal"),
            ],
        );
        let r = read_one(&d).0.unwrap();
        assert_eq!(r.end_of_support, None);
        assert_eq!(r.scope.as_deref(), Some("internal"));
    }

    #[test]
    fn a_profile_record_without_end_of_life_is_a_correction() {
        let d = referrer(
            "restore",
            PROFILE,
            &[("org.opencontainers.image.created", "2024-01-01T00:00:00Z")],
        );
        let (r, w) = read_one(&d);
        assert!(w.is_empty());
        let r = r.unwrap();
        assert_eq!(r.end_of_life, None);
        assert_eq!(r.reason, None);
    }

    #[test]
    fn reads_microsoft_date_only_and_seven_fraction_digits() {
        let d = referrer(
            "ms1",
            MICROSOFT_ARTIFACT_TYPE,
            &[
                ("org.opencontainers.image.created", "2026-03-26T19:39:37Z"),
                (MICROSOFT_END_OF_LIFE, "2024-11-12"),
            ],
        );
        let (r, w) = read_one(&d);
        assert!(w.is_empty());
        let r = r.unwrap();
        assert_eq!(r.dialect, Dialect::Microsoft);
        assert_eq!(r.end_of_life, Some(at("2024-11-12T00:00:00Z")));
        assert_eq!(r.created, Some(at("2026-03-26T19:39:37Z")));

        let d = referrer(
            "ms2",
            MICROSOFT_ARTIFACT_TYPE,
            &[(MICROSOFT_END_OF_LIFE, "2023-05-12T21:15:10.8343521Z")],
        );
        let r = read_one(&d).0.unwrap();
        assert_eq!(
            r.end_of_life.map(|t| time::format_rfc3339(&t)).as_deref(),
            Some("2023-05-12T21:15:10.834352100Z")
        );
        assert_eq!(r.created, None);
    }

    #[test]
    fn microsoft_records_are_read_even_with_no_namespace_configured() {
        let d = referrer(
            "ms",
            MICROSOFT_ARTIFACT_TYPE,
            &[(MICROSOFT_END_OF_LIFE, "2024-11-12")],
        );
        let mut w = Vec::new();
        assert!(Record::from_descriptor(&d, &[], &mut w).is_some());
    }

    #[test]
    fn microsoft_record_without_its_key_is_ignored_with_a_warning() {
        let d = referrer(
            "ms",
            MICROSOFT_ARTIFACT_TYPE,
            &[("org.opencontainers.image.created", "2026-03-26T19:39:37Z")],
        );
        let (r, w) = read_one(&d);
        assert!(r.is_none());
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].key, MICROSOFT_END_OF_LIFE);
        assert_eq!(w[0].value, None);
        assert_eq!(w[0].problem, Problem::Missing);
        assert_eq!(w[0].effect, Effect::RecordIgnored);
    }

    #[test]
    fn other_referrers_are_not_records_and_not_warnings() {
        let mut no_type = referrer("sbom", PROFILE, &[]);
        no_type.artifact_type = None;
        for d in [
            referrer(
                "sbom",
                "application/spdx+json",
                &[("vnd.lineage.image.end-of-life", "bad")],
            ),
            referrer(
                "other-ns",
                "application/vnd.other.image.lifecycle.metadata",
                &[],
            ),
            no_type,
        ] {
            let (r, w) = read_one(&d);
            assert!(r.is_none());
            assert!(w.is_empty());
        }
    }

    #[test]
    fn bad_end_of_life_ignores_the_record() {
        for bad in ["next tuesday", "", "2024-02-30"] {
            let d = referrer(
                "bad",
                PROFILE,
                &[
                    ("org.opencontainers.image.created", "2024-01-01T00:00:00Z"),
                    ("vnd.lineage.image.end-of-life", bad),
                ],
            );
            let (r, w) = read_one(&d);
            assert!(r.is_none(), "{bad:?}");
            assert_eq!(w.len(), 1);
            assert_eq!(w[0].digest, d.digest);
            assert_eq!(w[0].key, "vnd.lineage.image.end-of-life");
            assert_eq!(w[0].value.as_deref(), Some(bad));
            assert!(matches!(w[0].problem, Problem::Time(_)));
            assert_eq!(w[0].effect, Effect::RecordIgnored);
        }
        let d = referrer(
            "bad-ms",
            MICROSOFT_ARTIFACT_TYPE,
            &[(MICROSOFT_END_OF_LIFE, "12/11/2024")],
        );
        let (r, w) = read_one(&d);
        assert!(r.is_none());
        assert_eq!(w[0].effect, Effect::RecordIgnored);
    }

    #[test]
    fn bad_superseded_by_drops_only_the_value() {
        let d = referrer(
            "r",
            PROFILE,
            &[
                ("vnd.lineage.image.end-of-life", "2024-01-01"),
                ("vnd.lineage.image.superseded-by", "sha256:abc"),
            ],
        );
        let (r, w) = read_one(&d);
        let r = r.unwrap();
        assert_eq!(r.end_of_life, Some(at("2024-01-01")));
        assert_eq!(r.superseded_by, None);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].key, "vnd.lineage.image.superseded-by");
        assert!(matches!(w[0].problem, Problem::Digest(_)));
        assert_eq!(w[0].effect, Effect::ValueIgnored);
    }

    #[test]
    fn bad_created_drops_only_the_value() {
        let d = referrer(
            "r",
            PROFILE,
            &[
                ("org.opencontainers.image.created", "yesterday"),
                ("vnd.lineage.image.end-of-life", "2024-01-01"),
            ],
        );
        let (r, w) = read_one(&d);
        let r = r.unwrap();
        assert_eq!(r.created, None);
        assert_eq!(r.end_of_life, Some(at("2024-01-01")));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].key, "org.opencontainers.image.created");
        assert_eq!(w[0].effect, Effect::ValueIgnored);
    }

    #[test]
    fn empty_optional_values_are_absent_and_free_text_reasons_kept() {
        let d = referrer(
            "r",
            PROFILE,
            &[
                ("vnd.lineage.image.successor", " "),
                ("vnd.lineage.image.superseded-by", ""),
                ("vnd.lineage.image.reason", "base image CVE-2024-0001"),
            ],
        );
        let (r, w) = read_one(&d);
        assert!(w.is_empty());
        let r = r.unwrap();
        assert_eq!(r.successor, None);
        assert_eq!(r.superseded_by, None);
        assert_eq!(
            r.reason,
            Some(Reason::Other("base image CVE-2024-0001".into()))
        );
    }

    #[test]
    fn only_the_dialect_s_own_keys_are_read() {
        // A profile record of one namespace does not read another namespace's keys.
        let namespaces = [
            Namespace::default(),
            Namespace::new("vnd.myorganization.image").unwrap(),
        ];
        let d = referrer(
            "r",
            "application/vnd.myorganization.image.lifecycle.metadata",
            &[
                ("vnd.lineage.image.end-of-life", "2024-01-01"),
                ("vnd.myorganization.image.reason", "withdrawn"),
            ],
        );
        let mut w = Vec::new();
        let r = Record::from_descriptor(&d, &namespaces, &mut w).unwrap();
        assert_eq!(r.dialect, Dialect::Profile(namespaces[1].clone()));
        assert_eq!(r.end_of_life, None);
        assert_eq!(r.reason, Some(Reason::Withdrawn));
    }

    fn rec(seed: &str, created: Option<&str>, eol: Option<&str>) -> Record {
        Record {
            digest: Digest::sha256(seed.as_bytes()),
            dialect: Dialect::Profile(Namespace::default()),
            created: created.map(at),
            end_of_life: eol.map(at),
            superseded_by: None,
            successor: None,
            reason: None,
            version: None,
            revision: None,
            end_of_support: None,
            scope: None,
        }
    }

    #[test]
    fn newest_created_wins() {
        let records = vec![
            rec("a", Some("2023-07-10T08:00:00Z"), Some("2023-07-10")),
            rec("b", Some("2023-07-12T08:00:00Z"), Some("2023-08-01")),
            rec("c", Some("2023-07-11T08:00:00Z"), Some("2023-07-11")),
        ];
        assert_eq!(effective(&records).unwrap().digest, Digest::sha256(b"b"));
        assert_eq!(effective(&[]), None);
    }

    #[test]
    fn newest_wins_across_dialects() {
        let mut ms = rec("ms", Some("2024-06-01T00:00:00Z"), Some("2024-06-01"));
        ms.dialect = Dialect::Microsoft;
        let profile = rec("p", Some("2024-05-01T00:00:00Z"), Some("2025-01-01"));
        let records = vec![profile.clone(), ms.clone()];
        assert_eq!(effective(&records).unwrap().dialect, Dialect::Microsoft);
        let newer_profile = rec("p2", Some("2024-07-01T00:00:00Z"), None);
        let records = vec![ms, profile, newer_profile.clone()];
        assert_eq!(effective(&records), Some(&newer_profile));
    }

    #[test]
    fn ties_go_to_the_larger_digest() {
        let a = rec("a", Some("2024-01-01T00:00:00Z"), Some("2024-01-01"));
        let b = rec("b", Some("2024-01-01T00:00:00Z"), None);
        let larger = if a.digest.as_str() > b.digest.as_str() {
            a.clone()
        } else {
            b.clone()
        };
        assert_eq!(effective(&[a.clone(), b.clone()]), Some(&larger));
        assert_eq!(effective(&[b, a]), Some(&larger));
    }

    #[test]
    fn same_instant_in_different_spellings_ties() {
        let a = rec("a", Some("2024-01-01T01:00:00+01:00"), None);
        let b = rec("b", Some("2024-01-01T00:00:00Z"), None);
        assert_eq!(a.recency_cmp(&b), a.digest.as_str().cmp(b.digest.as_str()));
    }

    #[test]
    fn records_without_created_sort_oldest() {
        let undated = rec("zzz", None, None);
        let dated = rec("a", Some("1970-01-01T00:00:00Z"), Some("2024-01-01"));
        assert_eq!(effective(&[undated.clone(), dated.clone()]), Some(&dated));
        // Among undated records, the larger digest wins.
        let other = rec("yyy", None, Some("2024-01-01"));
        let larger = if undated.digest.as_str() > other.digest.as_str() {
            &undated
        } else {
            &other
        };
        assert_eq!(effective(&[undated.clone(), other.clone()]), Some(larger));
    }

    #[test]
    fn a_newer_correction_wins_and_an_older_one_does_not() {
        let retire = rec("retire", Some("2024-01-01T00:00:00Z"), Some("2024-01-01"));
        let restore = rec("restore", Some("2024-02-01T00:00:00Z"), None);
        assert_eq!(
            effective(&[retire.clone(), restore.clone()]),
            Some(&restore)
        );
        let retire_again = rec("again", Some("2024-03-01T00:00:00Z"), Some("2024-03-01"));
        assert_eq!(
            effective(&[retire, restore, retire_again.clone()]),
            Some(&retire_again)
        );
    }

    #[test]
    fn reading_a_listing_keeps_records_and_warnings_apart() {
        let listing = vec![
            referrer("sbom", "application/spdx+json", &[]),
            referrer(
                "old",
                PROFILE,
                &[
                    ("org.opencontainers.image.created", "2024-01-01T00:00:00Z"),
                    ("vnd.lineage.image.end-of-life", "2024-01-01"),
                ],
            ),
            referrer(
                "new-bad",
                PROFILE,
                &[
                    ("org.opencontainers.image.created", "2024-02-01T00:00:00Z"),
                    ("vnd.lineage.image.end-of-life", "not a date"),
                ],
            ),
        ];
        let read = Records::read(&listing, &ns());
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.warnings.len(), 1);
        // The bad newer record does not hide the older valid one.
        assert_eq!(read.effective().unwrap().digest, Digest::sha256(b"old"));
    }
}
