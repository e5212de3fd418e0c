//! Warnings about malformed lifecycle data read from a store.
//!
//! Records and annotations come from whoever can push to a registry. A value lineage cannot
//! read never turns into a state: it is reported as a [`Warning`] naming the manifest, key and
//! value, and the record or value is set aside as [`Effect`] says.
//!
//! Under a trust policy (issue 16, [`crate::signed`]), a record whose signature does not
//! verify is a warning too: its problem is the rejection, and its JSON names the `reason`
//! (`unsigned`, `untrusted-identity`, `bad-signature`, `expired`; DESIGN §8.4).

use std::fmt;

use lineage_oci::Digest;
use lineage_oci::digest::DigestError;
use lineage_oci::time::TimeError;

/// A lifecycle annotation lineage could not use, or a record whose signature did not verify.
/// Serialises as `{digest, key, value, problem, effect}`, plus `reason` for a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The manifest carrying the annotation: a lifecycle record, or the image itself.
    pub digest: Digest,
    /// The annotation key; for a signature, the signature's artifact type
    /// ([`lineage_trust::SIGNATURE_ARTIFACT_TYPE`]).
    pub key: String,
    /// The annotation value; `None` when the key is missing (and for a signature).
    pub value: Option<String>,
    /// What is wrong with it.
    pub problem: Problem,
    /// What lineage did about it.
    pub effect: Effect,
}

impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let reason = match &self.problem {
            Problem::Signature(r) => Some(r.reason.as_str()),
            _ => None,
        };
        let mut out = s.serialize_struct("Warning", 5 + usize::from(reason.is_some()))?;
        out.serialize_field("digest", &self.digest)?;
        out.serialize_field("key", &self.key)?;
        out.serialize_field("value", &self.value)?;
        out.serialize_field("problem", &self.problem.to_string())?;
        out.serialize_field("effect", &self.effect)?;
        if let Some(reason) = reason {
            out.serialize_field("reason", reason)?;
        }
        out.end()
    }
}

/// What is wrong with an annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a time lineage can read.
    Time(TimeError),
    /// Not a digest lineage accepts.
    Digest(DigestError),
    /// A key the record needs is missing or empty.
    Missing,
    /// The record's signature did not verify under the trust policy (issue 16).
    Signature(lineage_trust::Rejected),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Time(e) => e.fmt(f),
            Problem::Digest(e) => e.fmt(f),
            Problem::Missing => f.write_str("the key is missing or empty"),
            Problem::Signature(r) => write!(f, "{}: {}", r.reason.as_str(), r.detail),
        }
    }
}

/// What lineage did with malformed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// The whole record was ignored, as if it were not there: used when the bad value decides
    /// the state (end-of-life), so a typo can neither retire an image nor, by looking like a
    /// newer record without end-of-life, bring it back.
    RecordIgnored,
    /// Only this value was ignored; the rest of the record or manifest still counts.
    ValueIgnored,
    /// The record counts all the same: its signature did not verify, and the trust policy's
    /// level (`audit`, or `permissive` for an expired one) only logs it (issue 16).
    RecordCounted,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::RecordIgnored => "the record is ignored",
            Effect::ValueIgnored => "the value is ignored",
            Effect::RecordCounted => "the record counts all the same",
        })
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Problem::Signature(_) = &self.problem {
            return write!(
                f,
                "record {}: {}; {}",
                self.digest, self.problem, self.effect
            );
        }
        match &self.value {
            Some(v) => write!(f, "annotation `{}` = `{v}` on {}", self.key, self.digest)?,
            None => write!(f, "annotation `{}` on {}", self.key, self.digest)?,
        }
        write!(f, ": {}; {}", self.problem, self.effect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_serialises_the_facts() {
        let digest = Digest::sha256(b"record");
        let problem = Problem::Time(lineage_oci::time::parse_lenient("soon").unwrap_err());
        let w = Warning {
            digest: digest.clone(),
            key: "vnd.lineage.image.end-of-life".into(),
            value: Some("soon".into()),
            problem,
            effect: Effect::RecordIgnored,
        };
        let text = w.to_string();
        assert!(
            text.starts_with(&format!(
                "annotation `vnd.lineage.image.end-of-life` = `soon` on {digest}: invalid time `soon`"
            )),
            "{text}"
        );
        assert!(text.ends_with("; the record is ignored"), "{text}");
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["digest"], digest.as_str());
        assert_eq!(v["key"], "vnd.lineage.image.end-of-life");
        assert_eq!(v["value"], "soon");
        assert_eq!(v["effect"], "record-ignored");
        assert!(v["problem"].as_str().unwrap().starts_with("invalid time"));

        let missing = Warning {
            value: None,
            problem: Problem::Missing,
            effect: Effect::ValueIgnored,
            ..w
        };
        assert_eq!(
            missing.to_string(),
            format!(
                "annotation `vnd.lineage.image.end-of-life` on {digest}: the key is missing or empty; the value is ignored"
            )
        );
        assert_eq!(
            serde_json::to_value(&missing).unwrap()["value"],
            serde_json::Value::Null
        );
    }
}
