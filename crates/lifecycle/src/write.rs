//! Building lifecycle records: the annotations and the record manifests to push.
//!
//! A profile record is an annotation-only referrer (`application/NS.lifecycle.metadata`, the
//! empty config and layer, `subject` = the image), packed canonically by
//! [`lineage_oci::artifact::manifest`]. Times are written as RFC 3339 UTC.
//!
//! With the Microsoft dialect opted in, a second, companion record is built for Microsoft's
//! readers, which find records by artifactType (`application/vnd.microsoft.artifact.lifecycle`)
//! and so would never see a key on the profile record. It carries
//! `vnd.microsoft.artifact.lifecycle.end-of-life.date` (a bare date `2024-11-12` when the
//! instant is midnight UTC, as .NET ImageBuilder writes; RFC 3339 otherwise, which Microsoft's
//! lenient readers accept, so the instant never changes), plus version and revision. It has
//! **no** `org.opencontainers.image.created`, on purpose:
//! - it sorts older than every dated record, so the profile record written with it (which
//!   also carries reason and successor) stays the effective one, and a later restore wins;
//! - its bytes depend only on the subject and the end-of-life, so writing it again pushes
//!   the same digest and never piles up duplicates.
//!
//! Microsoft's dialect cannot say "supported again": a record without end-of-life has no
//! Microsoft companion, and Microsoft readers keep seeing any earlier one.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use lineage_oci::{Descriptor, Digest, RawManifest, artifact, time};

use crate::error::LifecycleError;
use crate::profile::{
    ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION, MICROSOFT_ARTIFACT_TYPE,
    MICROSOFT_END_OF_LIFE, Namespace, Reason,
};
use crate::record::Record;

/// What a new lifecycle record says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordSpec {
    /// When the record is written (orders it among the image's records); usually now.
    pub created: DateTime<Utc>,
    /// From when the image is end-of-life; `None` declares it supported again.
    pub end_of_life: Option<DateTime<Utc>>,
    /// Why.
    pub reason: Option<Reason>,
    /// The successor's reference, e.g. `registry/repo:1.0-20230710`.
    pub successor: Option<String>,
    /// The successor's digest.
    pub superseded_by: Option<Digest>,
    /// The image's `org.opencontainers.image.version`, copied onto the record.
    pub version: Option<String>,
    /// The image's `org.opencontainers.image.revision`, copied onto the record.
    pub revision: Option<String>,
    /// From when the image gets no more fixes (`NS.end-of-support`); at or before
    /// `end_of_life`.
    pub end_of_support: Option<DateTime<Utc>>,
    /// Where the record may travel (`NS.scope`), e.g. `internal`; `None` is unscoped.
    pub scope: Option<String>,
}

/// Which records to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// The profile namespace of the record.
    pub namespace: Namespace,
    /// Also write the Microsoft companion record (`--dialect microsoft`).
    pub microsoft: bool,
}

/// The record manifests to push, all referring to the same image.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordManifests {
    /// The profile record.
    pub profile: RawManifest,
    /// The Microsoft companion record, when opted in and the spec has an end-of-life.
    pub microsoft: Option<RawManifest>,
}

impl RecordSpec {
    /// The profile record's annotations in `namespace`.
    pub fn annotations(
        &self,
        namespace: &Namespace,
    ) -> Result<BTreeMap<String, String>, LifecycleError> {
        let mut ann = BTreeMap::new();
        ann.insert(
            ANNOTATION_CREATED.to_string(),
            time::format_rfc3339(&self.created),
        );
        if let Some(eol) = &self.end_of_life {
            ann.insert(namespace.end_of_life_key(), time::format_rfc3339(eol));
        }
        if let Some(reason) = &self.reason {
            if reason.as_str().trim().is_empty() {
                return Err(LifecycleError::EmptyReason);
            }
            ann.insert(namespace.reason_key(), reason.as_str().to_string());
        }
        insert_text(
            &mut ann,
            namespace.successor_key(),
            self.successor.as_deref(),
        )?;
        if let Some(d) = &self.superseded_by {
            ann.insert(namespace.superseded_by_key(), d.to_string());
        }
        if let Some(eos) = &self.end_of_support {
            if let Some(eol) = self.end_of_life
                && *eos > eol
            {
                return Err(LifecycleError::SupportAfterEndOfLife {
                    end_of_support: *eos,
                    end_of_life: eol,
                });
            }
            ann.insert(namespace.end_of_support_key(), time::format_rfc3339(eos));
        }
        insert_text(&mut ann, namespace.scope_key(), self.scope.as_deref())?;
        self.insert_lineage(&mut ann)?;
        Ok(ann)
    }

    /// The Microsoft companion record's annotations; `None` without an end-of-life.
    pub fn microsoft_annotations(
        &self,
    ) -> Result<Option<BTreeMap<String, String>>, LifecycleError> {
        let Some(eol) = &self.end_of_life else {
            return Ok(None);
        };
        let mut ann = BTreeMap::new();
        ann.insert(MICROSOFT_END_OF_LIFE.to_string(), microsoft_value(eol));
        self.insert_lineage(&mut ann)?;
        Ok(Some(ann))
    }

    fn insert_lineage(&self, ann: &mut BTreeMap<String, String>) -> Result<(), LifecycleError> {
        insert_text(ann, ANNOTATION_VERSION.to_string(), self.version.as_deref())?;
        insert_text(
            ann,
            ANNOTATION_REVISION.to_string(),
            self.revision.as_deref(),
        )
    }

    /// Build the record manifests referring to `subject` (the image's descriptor; only its
    /// media type, digest and size are kept).
    pub fn manifests(
        &self,
        subject: &Descriptor,
        options: &WriteOptions,
    ) -> Result<RecordManifests, LifecycleError> {
        let profile = artifact::manifest(
            &options.namespace.record_artifact_type(),
            subject,
            &[],
            &self.annotations(&options.namespace)?,
        )
        .map_err(LifecycleError::Manifest)?;
        let microsoft = match self.microsoft_annotations()? {
            Some(mut ann) if options.microsoft => {
                // Microsoft's readers ignore the key; lineage's copy filter reads it, so a
                // scoped record's companion stays where the record stays.
                insert_text(
                    &mut ann,
                    options.namespace.scope_key(),
                    self.scope.as_deref(),
                )?;
                Some(
                    artifact::manifest(MICROSOFT_ARTIFACT_TYPE, subject, &[], &ann)
                        .map_err(LifecycleError::Manifest)?,
                )
            }
            _ => None,
        };
        Ok(RecordManifests { profile, microsoft })
    }
}

fn insert_text(
    ann: &mut BTreeMap<String, String>,
    key: String,
    value: Option<&str>,
) -> Result<(), LifecycleError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(LifecycleError::EmptyValue { key }),
        Some(v) => {
            ann.insert(key, v.to_string());
            Ok(())
        }
        None => Ok(()),
    }
}

/// The Microsoft end-of-life value for `t`: `YYYY-MM-DD` when `t` is midnight UTC, else
/// RFC 3339 UTC.
pub fn microsoft_value(t: &DateTime<Utc>) -> String {
    if t.time() == NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else {
        time::format_rfc3339(t)
    }
}

/// Whether the effective record already says what `spec` would: the same end-of-life
/// instant, reason, successor reference and successor digest, end-of-support and scope.
/// Then nothing needs to be pushed. `created`, version and revision do not count.
pub fn is_same_as(effective: &Record, spec: &RecordSpec) -> bool {
    effective.end_of_life == spec.end_of_life
        && effective.reason == spec.reason
        && effective.successor == spec.successor
        && effective.superseded_by == spec.superseded_by
        && effective.end_of_support == spec.end_of_support
        && effective.scope.as_deref() == spec.scope.as_deref().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Dialect;
    use crate::record::tests::at;
    use lineage_oci::media_type;

    fn subject() -> Descriptor {
        let mut d = Descriptor::new(
            media_type::OCI_MANIFEST,
            Digest::sha256(b"flasksample 1.0-20230707"),
            1234,
        );
        d.set_annotation("org.opencontainers.image.ref.name", "1.0-20230707");
        d
    }

    fn retire() -> RecordSpec {
        RecordSpec {
            created: at("2023-07-10T08:00:00Z"),
            end_of_life: Some(at("2023-07-10T00:00:00-08:00")),
            reason: Some(Reason::Superseded),
            successor: Some("127.0.0.1:5000/flasksample:1.0-20230710".into()),
            superseded_by: Some(Digest::sha256(b"flasksample 1.0-20230710")),
            version: Some("1.0".into()),
            revision: Some("20230707".into()),
            end_of_support: None,
            scope: None,
        }
    }

    fn restore() -> RecordSpec {
        RecordSpec {
            created: at("2023-07-11T08:00:00Z"),
            end_of_life: None,
            reason: None,
            successor: None,
            superseded_by: None,
            version: Some("1.0".into()),
            revision: Some("20230707".into()),
            end_of_support: None,
            scope: None,
        }
    }

    fn pairs(m: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
        m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn profile_annotations_in_the_default_namespace() {
        let ann = retire().annotations(&Namespace::default()).unwrap();
        let succ = Digest::sha256(b"flasksample 1.0-20230710");
        assert_eq!(
            pairs(&ann),
            vec![
                ("org.opencontainers.image.created", "2023-07-10T08:00:00Z"),
                ("org.opencontainers.image.revision", "20230707"),
                ("org.opencontainers.image.version", "1.0"),
                ("vnd.lineage.image.end-of-life", "2023-07-10T08:00:00Z"),
                ("vnd.lineage.image.reason", "superseded"),
                (
                    "vnd.lineage.image.successor",
                    "127.0.0.1:5000/flasksample:1.0-20230710"
                ),
                ("vnd.lineage.image.superseded-by", succ.as_str()),
            ]
        );
    }

    #[test]
    fn myorganization_namespace_writes_the_original_keys() {
        let ns = Namespace::new("vnd.myorganization.image").unwrap();
        let ann = retire().annotations(&ns).unwrap();
        assert_eq!(
            ann.get("vnd.myorganization.image.end-of-life")
                .map(String::as_str),
            Some("2023-07-10T08:00:00Z")
        );
        assert!(ann.keys().all(|k| !k.starts_with("vnd.lineage.")));
        let m = retire()
            .manifests(
                &subject(),
                &WriteOptions {
                    namespace: ns,
                    microsoft: false,
                },
            )
            .unwrap();
        assert_eq!(
            m.profile.view().unwrap().artifact_type.as_deref(),
            Some("application/vnd.myorganization.image.lifecycle.metadata")
        );
    }

    #[test]
    fn restore_writes_no_end_of_life() {
        let ann = restore().annotations(&Namespace::default()).unwrap();
        assert_eq!(
            pairs(&ann),
            vec![
                ("org.opencontainers.image.created", "2023-07-11T08:00:00Z"),
                ("org.opencontainers.image.revision", "20230707"),
                ("org.opencontainers.image.version", "1.0"),
            ]
        );
        assert_eq!(restore().microsoft_annotations().unwrap(), None);
    }

    #[test]
    fn the_profile_manifest_is_an_annotation_only_referrer() {
        let spec = retire();
        let m = spec
            .manifests(&subject(), &WriteOptions::default())
            .unwrap();
        assert!(m.microsoft.is_none());
        let v = m.profile.view().unwrap();
        assert_eq!(m.profile.media_type(), media_type::OCI_MANIFEST);
        assert_eq!(
            v.artifact_type.as_deref(),
            Some("application/vnd.lineage.image.lifecycle.metadata")
        );
        assert_eq!(v.config.as_ref(), Some(&Descriptor::empty()));
        assert_eq!(v.layers, vec![Descriptor::empty()]);
        let s = v.subject.as_ref().unwrap();
        assert_eq!(
            (s.media_type.as_str(), &s.digest, s.size),
            (media_type::OCI_MANIFEST, &subject().digest, 1234)
        );
        assert!(s.annotations.is_none());
        assert_eq!(
            v.annotations,
            spec.annotations(&Namespace::default()).unwrap()
        );
        // Deterministic: the same spec gives the same digest.
        let again = spec
            .manifests(&subject(), &WriteOptions::default())
            .unwrap();
        assert_eq!(again.profile.digest(), m.profile.digest());
    }

    #[test]
    fn a_written_record_reads_back_the_same_from_its_referrer_descriptor() {
        let spec = retire();
        let m = spec
            .manifests(&subject(), &WriteOptions::default())
            .unwrap();
        let mut warnings = Vec::new();
        let record = Record::from_descriptor(
            &m.profile.referrer_descriptor(),
            &[Namespace::default()],
            &mut warnings,
        )
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(record.digest, *m.profile.digest());
        assert_eq!(record.dialect, Dialect::Profile(Namespace::default()));
        assert_eq!(record.created, Some(spec.created));
        assert_eq!(record.version.as_deref(), Some("1.0"));
        assert!(is_same_as(&record, &spec));
    }

    #[test]
    fn microsoft_value_is_a_date_at_midnight_and_rfc3339_otherwise() {
        assert_eq!(microsoft_value(&at("2024-11-12")), "2024-11-12");
        assert_eq!(microsoft_value(&at("2024-11-12T00:00:00Z")), "2024-11-12");
        assert_eq!(
            microsoft_value(&at("2023-07-10T00:00:00-08:00")),
            "2023-07-10T08:00:00Z"
        );
        assert_eq!(
            microsoft_value(&at("2024-11-12T00:00:00.5Z")),
            "2024-11-12T00:00:00.500Z"
        );
        for t in ["2024-11-12", "2023-07-10T08:00:00Z"] {
            assert_eq!(
                time::parse_lenient(&microsoft_value(&at(t))).unwrap(),
                at(t)
            );
        }
    }

    #[test]
    fn microsoft_companion_only_when_opted_in() {
        let mut spec = retire();
        spec.end_of_life = Some(at("2024-11-12"));
        let options = WriteOptions {
            microsoft: true,
            ..WriteOptions::default()
        };
        let m = spec.manifests(&subject(), &options).unwrap();
        let ms = m.microsoft.unwrap();
        let v = ms.view().unwrap();
        assert_eq!(
            v.artifact_type.as_deref(),
            Some("application/vnd.microsoft.artifact.lifecycle")
        );
        assert_eq!(v.layers, vec![Descriptor::empty()]);
        assert_eq!(v.subject.as_ref().unwrap().digest, subject().digest);
        assert_eq!(
            pairs(&v.annotations),
            vec![
                ("org.opencontainers.image.revision", "20230707"),
                ("org.opencontainers.image.version", "1.0"),
                (
                    "vnd.microsoft.artifact.lifecycle.end-of-life.date",
                    "2024-11-12"
                ),
            ]
        );
        // The profile record does not carry the Microsoft key.
        assert!(
            m.profile
                .view()
                .unwrap()
                .annotation(MICROSOFT_END_OF_LIFE)
                .is_none()
        );
        // A restore has no Microsoft companion even when opted in.
        let m = restore().manifests(&subject(), &options).unwrap();
        assert!(m.microsoft.is_none());
    }

    #[test]
    fn microsoft_companion_is_idempotent_and_never_outranks_the_profile_record() {
        let options = WriteOptions {
            microsoft: true,
            ..WriteOptions::default()
        };
        let first = retire().manifests(&subject(), &options).unwrap();
        let mut later = retire();
        later.created = at("2025-01-01T00:00:00Z");
        let second = later.manifests(&subject(), &options).unwrap();
        let (a, b) = (first.microsoft.unwrap(), second.microsoft.unwrap());
        assert_eq!(a.digest(), b.digest());
        assert_ne!(first.profile.digest(), second.profile.digest());

        let namespaces = [Namespace::default()];
        let listing = [a.referrer_descriptor(), first.profile.referrer_descriptor()];
        let read = crate::record::Records::read(&listing, &namespaces);
        assert!(read.warnings.is_empty());
        assert_eq!(read.records.len(), 2);
        let effective = read.effective().unwrap();
        assert_eq!(effective.digest, *first.profile.digest());
        assert_eq!(effective.reason, Some(Reason::Superseded));
    }

    #[test]
    fn is_same_as_compares_end_of_life_reason_and_successor() {
        let spec = retire();
        let m = spec
            .manifests(&subject(), &WriteOptions::default())
            .unwrap();
        let mut w = Vec::new();
        let record = Record::from_descriptor(
            &m.profile.referrer_descriptor(),
            &[Namespace::default()],
            &mut w,
        )
        .unwrap();
        let mut later = spec.clone();
        later.created = at("2030-01-01T00:00:00Z");
        later.version = Some("other".into());
        later.revision = None;
        assert!(
            is_same_as(&record, &later),
            "created, version and revision do not count"
        );

        let mut other = spec.clone();
        other.end_of_life = Some(at("2023-07-10T08:00:01Z"));
        assert!(!is_same_as(&record, &other));
        let mut other = spec.clone();
        other.end_of_life = None;
        assert!(!is_same_as(&record, &other));
        let mut other = spec.clone();
        other.reason = Some(Reason::Vulnerable);
        assert!(!is_same_as(&record, &other));
        let mut other = spec.clone();
        other.reason = None;
        assert!(!is_same_as(&record, &other));
        let mut other = spec.clone();
        other.successor = Some("127.0.0.1:5000/flasksample:1.0-20230801".into());
        assert!(!is_same_as(&record, &other));
        let mut other = spec;
        other.superseded_by = None;
        assert!(!is_same_as(&record, &other));
    }

    #[test]
    fn same_end_of_life_in_a_microsoft_record_is_the_same() {
        let record = Record {
            digest: Digest::sha256(b"ms"),
            dialect: Dialect::Microsoft,
            created: None,
            end_of_life: Some(at("2024-11-12")),
            superseded_by: None,
            successor: None,
            reason: None,
            version: None,
            revision: None,
            end_of_support: None,
            scope: None,
        };
        let spec = RecordSpec {
            created: at("2025-01-01T00:00:00Z"),
            end_of_life: Some(at("2024-11-12T00:00:00Z")),
            reason: None,
            successor: None,
            superseded_by: None,
            version: None,
            revision: None,
            end_of_support: None,
            scope: None,
        };
        assert!(is_same_as(&record, &spec));
        let mut with_reason = spec;
        with_reason.reason = Some(Reason::Superseded);
        assert!(!is_same_as(&record, &with_reason));
    }

    #[test]
    fn restore_matches_an_effective_restore() {
        let m = restore()
            .manifests(&subject(), &WriteOptions::default())
            .unwrap();
        let mut w = Vec::new();
        let record = Record::from_descriptor(
            &m.profile.referrer_descriptor(),
            &[Namespace::default()],
            &mut w,
        )
        .unwrap();
        assert!(is_same_as(&record, &restore()));
        assert!(!is_same_as(&record, &retire()));
    }

    #[test]
    fn empty_values_are_refused() {
        let ns = Namespace::default();
        let mut spec = retire();
        spec.successor = Some(" ".into());
        assert_eq!(
            spec.annotations(&ns),
            Err(LifecycleError::EmptyValue {
                key: "vnd.lineage.image.successor".into()
            })
        );
        let mut spec = retire();
        spec.version = Some(String::new());
        assert!(matches!(
            spec.manifests(&subject(), &WriteOptions::default()),
            Err(LifecycleError::EmptyValue { key }) if key == "org.opencontainers.image.version"
        ));
        let mut spec = retire();
        spec.reason = Some(Reason::Other(String::new()));
        assert_eq!(spec.annotations(&ns), Err(LifecycleError::EmptyReason));
    }

    /// Issue 18: end-of-support and scope are written in the namespace; the scope rides on
    /// the Microsoft companion too; an end-of-support after end-of-life is refused.
    #[test]
    fn end_of_support_and_scope_are_written() {
        let spec = RecordSpec {
            created: at("2024-01-01T00:00:00Z"),
            end_of_life: Some(at("2024-03-01T00:00:00Z")),
            end_of_support: Some(at("2024-02-01T00:00:00Z")),
            scope: Some("internal".into()),
            ..RecordSpec::default()
        };
        let ann = spec.annotations(&Namespace::default()).unwrap();
        assert_eq!(
            ann.get("vnd.lineage.image.end-of-support")
                .map(String::as_str),
            Some("2024-02-01T00:00:00Z")
        );
        assert_eq!(
            ann.get("vnd.lineage.image.scope").map(String::as_str),
            Some("internal")
        );
        let options = WriteOptions {
            namespace: Namespace::default(),
            microsoft: true,
        };
        let m = spec.manifests(&subject(), &options).unwrap();
        let ms = m.microsoft.unwrap();
        assert_eq!(
            ms.view().unwrap().annotation("vnd.lineage.image.scope"),
            Some("internal")
        );
        let late = RecordSpec {
            end_of_support: Some(at("2024-04-01T00:00:00Z")),
            ..spec
        };
        assert!(matches!(
            late.annotations(&Namespace::default()),
            Err(LifecycleError::SupportAfterEndOfLife { .. })
        ));
    }
}
