//! Warnings about malformed lifecycle data read from a store.
//!
//! Records and annotations come from whoever can push to a registry. A value lineage cannot
//! read never turns into a state: it is reported as a [`Warning`] naming the manifest, key and
//! value, and the record or value is set aside as [`Effect`] says.

use std::fmt;

use lineage_oci::Digest;
use lineage_oci::digest::DigestError;
use lineage_oci::time::TimeError;

/// A lifecycle annotation lineage could not use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// The manifest carrying the annotation: a lifecycle record, or the image itself.
    pub digest: Digest,
    /// The annotation key.
    pub key: String,
    /// The annotation value; `None` when the key is missing.
    pub value: Option<String>,
    /// What is wrong with it.
    #[serde(serialize_with = "problem_text")]
    pub problem: Problem,
    /// What lineage did about it.
    pub effect: Effect,
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
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Time(e) => e.fmt(f),
            Problem::Digest(e) => e.fmt(f),
            Problem::Missing => f.write_str("the key is missing or empty"),
        }
    }
}

fn problem_text<S: serde::Serializer>(p: &Problem, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
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
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::RecordIgnored => "the record is ignored",
            Effect::ValueIgnored => "the value is ignored",
        })
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
