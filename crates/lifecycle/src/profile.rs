//! The names of lifecycle profile v1 and of the other dialects lineage reads (DESIGN §3).
//!
//! A [`Namespace`] names the profile's keys (`NS.end-of-life`, `NS.superseded-by`,
//! `NS.successor`, `NS.reason`, and since issue 18 `NS.end-of-support` and `NS.scope`) and its record artifactType (`application/NS.lifecycle.metadata`).
//! The Microsoft dialect (`application/vnd.microsoft.artifact.lifecycle` with
//! `vnd.microsoft.artifact.lifecycle.end-of-life.date`; it has no end-of-support key: the
//! sources in research name none) is fixed; which dialect a record
//! speaks is decided by its artifactType alone ([`Dialect::for_artifact_type`]).

use std::fmt;
use std::str::FromStr;

use crate::error::LifecycleError;

/// The namespace lineage uses unless configured otherwise.
pub const DEFAULT_NAMESPACE: &str = "vnd.lineage.image";

/// When the annotated content was made; on a record, when the record was written. Orders
/// records (newest wins).
pub const ANNOTATION_CREATED: &str = lineage_oci::artifact::ANNOTATION_CREATED;
/// The image's version: the name of its lineage and of its rolling tag.
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// The image's revision within its lineage.
pub const ANNOTATION_REVISION: &str = "org.opencontainers.image.revision";

/// The immutable tag of revision `revision` of lineage `version`: `V-R` (DESIGN §1).
pub fn revision_tag(version: &str, revision: &str) -> String {
    format!("{version}-{revision}")
}

/// The revision part of `tag` when it is a revision tag `V-R` of lineage `version`.
pub fn revision_of<'t>(tag: &'t str, version: &str) -> Option<&'t str> {
    tag.strip_prefix(version)
        .and_then(|r| r.strip_prefix('-'))
        .filter(|r| !r.is_empty())
}

/// The artifactType of Microsoft lifecycle records (MCR, ACR, .NET ImageBuilder, Defender).
pub const MICROSOFT_ARTIFACT_TYPE: &str = "application/vnd.microsoft.artifact.lifecycle";
/// The end-of-life key of Microsoft lifecycle records; the value is a date (`2024-11-12`) or
/// RFC 3339 with up to 7 fractional digits.
pub const MICROSOFT_END_OF_LIFE: &str = "vnd.microsoft.artifact.lifecycle.end-of-life.date";
/// The name lineage gives the Microsoft dialect in status output: its key prefix, as a
/// profile dialect is named by its namespace (the prefix of its keys).
pub const MICROSOFT_DIALECT: &str = "vnd.microsoft.artifact.lifecycle";

/// End-of-life on an image manifest itself, as proposed in image-spec #903 (never merged).
pub const OCI_SUPPORT_END_OF_LIFE: &str = "org.opencontainers.image.support.end-of-life";
/// End-of-support on an image manifest itself, as proposed in image-spec #903 (never merged).
pub const OCI_SUPPORT_END_OF_SUPPORT: &str = "org.opencontainers.image.support.end-of-support";
/// The name lineage gives the image-spec #903 keys in status output: their common prefix.
pub const OCI_SUPPORT_DIALECT: &str = "org.opencontainers.image.support";

/// What follows the namespace in the record artifactType.
const ARTIFACT_TYPE_SUFFIX: &str = ".lifecycle.metadata";
/// RFC 6838 limits a media subtype to 127 characters; the artifactType's subtype is the
/// namespace plus [`ARTIFACT_TYPE_SUFFIX`].
const NAMESPACE_MAX_LEN: usize = 127 - ARTIFACT_TYPE_SUFFIX.len();

/// A validated profile namespace such as `vnd.lineage.image`.
///
/// Lowercase reverse-DNS: at least two dot-separated labels of `a-z`, `0-9`, `-` and `_`,
/// each starting and ending with a letter or digit, at most 108 characters in all (so the
/// record artifactType stays a valid media type). Lowercase because annotation keys compare
/// exactly while media types compare without case; one spelling keeps both in step.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Namespace(String);

impl Namespace {
    /// Validate `namespace`.
    pub fn new(namespace: impl Into<String>) -> Result<Namespace, LifecycleError> {
        let namespace = namespace.into();
        match namespace_problem(&namespace) {
            None => Ok(Namespace(namespace)),
            Some(problem) => Err(LifecycleError::InvalidNamespace { namespace, problem }),
        }
    }

    /// The namespace text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `NS` followed by `suffix`: a key read on every status, so built without the
    /// formatting machinery.
    fn key(&self, suffix: &str) -> String {
        let mut key = String::with_capacity(self.0.len() + suffix.len());
        key.push_str(&self.0);
        key.push_str(suffix);
        key
    }

    /// Whether `artifact_type` is [`Namespace::record_artifact_type`], compared without
    /// case (as media types compare), and without building it.
    pub(crate) fn is_record_artifact_type(&self, artifact_type: &str) -> bool {
        const PREFIX: &str = "application/";
        let (n, m) = (PREFIX.len(), PREFIX.len() + self.0.len());
        artifact_type.len() == m + ARTIFACT_TYPE_SUFFIX.len()
            && artifact_type
                .get(..n)
                .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
            && artifact_type
                .get(n..m)
                .is_some_and(|ns| ns.eq_ignore_ascii_case(&self.0))
            && artifact_type
                .get(m..)
                .is_some_and(|s| s.eq_ignore_ascii_case(ARTIFACT_TYPE_SUFFIX))
    }

    /// `NS.end-of-life`: the RFC 3339 instant from which the image is end-of-life.
    pub fn end_of_life_key(&self) -> String {
        self.key(".end-of-life")
    }

    /// `NS.superseded-by`: the digest of the successor.
    pub fn superseded_by_key(&self) -> String {
        self.key(".superseded-by")
    }

    /// `NS.successor`: the reference of the successor.
    pub fn successor_key(&self) -> String {
        self.key(".successor")
    }

    /// `NS.reason`: why the image is end-of-life.
    pub fn reason_key(&self) -> String {
        self.key(".reason")
    }

    /// `application/NS.lifecycle.metadata`: the artifactType of the profile's records.
    pub fn record_artifact_type(&self) -> String {
        format!("application/{}{ARTIFACT_TYPE_SUFFIX}", self.0)
    }

    /// `NS.end-of-support`: the RFC 3339 instant from which the image gets no more fixes
    /// (it is still admitted, with a warning, until its end-of-life; DESIGN §8.3).
    pub fn end_of_support_key(&self) -> String {
        self.key(".end-of-support")
    }

    /// `NS.scope`: where a record may travel (`public`, `internal`, or free text; empty and
    /// `public` travel on promotion by default; DESIGN §8.3).
    pub fn scope_key(&self) -> String {
        self.key(".scope")
    }
}

impl Default for Namespace {
    /// [`DEFAULT_NAMESPACE`].
    fn default() -> Namespace {
        Namespace(DEFAULT_NAMESPACE.to_string())
    }
}

impl FromStr for Namespace {
    type Err = LifecycleError;

    fn from_str(s: &str) -> Result<Namespace, LifecycleError> {
        Namespace::new(s)
    }
}

impl TryFrom<String> for Namespace {
    type Error = LifecycleError;

    fn try_from(s: String) -> Result<Namespace, LifecycleError> {
        Namespace::new(s)
    }
}

impl From<Namespace> for String {
    fn from(ns: Namespace) -> String {
        ns.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn namespace_problem(ns: &str) -> Option<&'static str> {
    if ns.is_empty() {
        return Some("it is empty");
    }
    if ns.len() > NAMESPACE_MAX_LEN {
        return Some("it is longer than 108 characters");
    }
    if !ns.contains('.') {
        return Some("it needs at least two dot-separated labels");
    }
    for label in ns.split('.') {
        let bytes = label.as_bytes();
        let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
            return Some("it has an empty label");
        };
        if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
        {
            return Some("labels may only hold `a-z`, `0-9`, `-` and `_`");
        }
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(first) || !alnum(last) {
            return Some("labels must start and end with a letter or digit");
        }
    }
    None
}

/// The vocabulary a lifecycle record is written in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Lifecycle profile v1 in this namespace.
    Profile(Namespace),
    /// Microsoft's lifecycle artifact: end-of-life date only.
    Microsoft,
}

impl Dialect {
    /// The dialect of a referrer with this artifactType, among the profile in each of
    /// `namespaces` and Microsoft's; `None` when it is not a lifecycle record. Media types
    /// compare without case (RFC 6838).
    pub fn for_artifact_type(artifact_type: &str, namespaces: &[Namespace]) -> Option<Dialect> {
        let artifact_type = artifact_type.trim();
        if artifact_type.eq_ignore_ascii_case(MICROSOFT_ARTIFACT_TYPE) {
            return Some(Dialect::Microsoft);
        }
        namespaces
            .iter()
            .find(|ns| ns.is_record_artifact_type(artifact_type))
            .map(|ns| Dialect::Profile(ns.clone()))
    }

    /// The artifactType of this dialect's records.
    pub fn artifact_type(&self) -> String {
        match self {
            Dialect::Profile(ns) => ns.record_artifact_type(),
            Dialect::Microsoft => MICROSOFT_ARTIFACT_TYPE.to_string(),
        }
    }

    /// The key holding end-of-life in this dialect.
    pub fn end_of_life_key(&self) -> String {
        match self {
            Dialect::Profile(ns) => ns.end_of_life_key(),
            Dialect::Microsoft => MICROSOFT_END_OF_LIFE.to_string(),
        }
    }

    /// The name status output gives the dialect: the namespace, or
    /// [`MICROSOFT_DIALECT`]. The two cannot be confused in practice, since a namespace is
    /// whatever an organisation configures and Microsoft's prefix is Microsoft's.
    pub fn name(&self) -> &str {
        match self {
            Dialect::Profile(ns) => ns.as_str(),
            Dialect::Microsoft => MICROSOFT_DIALECT,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an image is (or will be) end-of-life: one of the profile's words, or free text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A newer revision replaces it.
    Superseded,
    /// Its publisher no longer supports it.
    Unsupported,
    /// It has known vulnerabilities.
    Vulnerable,
    /// It was pulled back (published by mistake, broken).
    Withdrawn,
    /// An internal or staging image that is not meant for use (not a support statement).
    Internal,
    /// Anything else, kept as written (trimmed).
    Other(String),
}

impl Reason {
    /// The annotation value.
    pub fn as_str(&self) -> &str {
        match self {
            Reason::Superseded => "superseded",
            Reason::Unsupported => "unsupported",
            Reason::Vulnerable => "vulnerable",
            Reason::Withdrawn => "withdrawn",
            Reason::Internal => "internal",
            Reason::Other(text) => text,
        }
    }
}

impl FromStr for Reason {
    type Err = LifecycleError;

    /// The profile's words match without case (`Superseded` is [`Reason::Superseded`]); any
    /// other non-empty text is [`Reason::Other`].
    fn from_str(s: &str) -> Result<Reason, LifecycleError> {
        let s = s.trim();
        let known = [
            Reason::Superseded,
            Reason::Unsupported,
            Reason::Vulnerable,
            Reason::Withdrawn,
            Reason::Internal,
        ];
        if s.is_empty() {
            return Err(LifecycleError::EmptyReason);
        }
        Ok(known
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .unwrap_or_else(|| Reason::Other(s.to_string())))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_namespace_names_the_profile_keys() {
        let ns = Namespace::default();
        assert_eq!(ns.as_str(), "vnd.lineage.image");
        assert_eq!(ns.end_of_life_key(), "vnd.lineage.image.end-of-life");
        assert_eq!(ns.superseded_by_key(), "vnd.lineage.image.superseded-by");
        assert_eq!(ns.successor_key(), "vnd.lineage.image.successor");
        assert_eq!(ns.reason_key(), "vnd.lineage.image.reason");
        assert_eq!(
            ns.record_artifact_type(),
            "application/vnd.lineage.image.lifecycle.metadata"
        );
    }

    #[test]
    fn a_record_artifact_type_is_recognised_without_case_and_nothing_else() {
        let ns = Namespace::default();
        let ours = ns.record_artifact_type();
        assert!(ns.is_record_artifact_type(&ours));
        assert!(ns.is_record_artifact_type(&ours.to_ascii_uppercase()));
        for other in [
            "",
            "application/",
            "application/vnd.lineage.image",
            "application/vnd.lineage.imagex.lifecycle.metadata",
            "application/vnd.lineage.image.lifecycle.metadata ",
            "text/vnd.lineage.image.lifecycle.metadata",
            "application/vnd.other.image.lifecycle.metadata",
            // The same length, with a character across the prefix's end: no panic.
            "applicatioxévnd.lineage.image.lifecycle.metadat",
        ] {
            assert!(!ns.is_record_artifact_type(other), "{other:?}");
        }
    }

    #[test]
    fn myorganization_namespace_reproduces_the_original_write_up() {
        let ns: Namespace = "vnd.myorganization.image".parse().unwrap();
        assert_eq!(ns.end_of_life_key(), "vnd.myorganization.image.end-of-life");
        assert_eq!(
            ns.record_artifact_type(),
            "application/vnd.myorganization.image.lifecycle.metadata"
        );
        assert_eq!(ns.to_string(), "vnd.myorganization.image");
    }

    #[test]
    fn namespaces_are_validated() {
        for good in ["vnd.lineage.image", "com.example", "io.k8s-1.x_y", "a.b"] {
            assert!(Namespace::new(good).is_ok(), "{good:?} should be accepted");
        }
        let too_long = format!("vnd.{}", "a".repeat(105));
        for bad in [
            "",
            "lineage",
            ".vnd.lineage",
            "vnd.lineage.",
            "vnd..lineage",
            "Vnd.Lineage",
            "vnd.lineage image",
            "vnd/lineage.image",
            "vnd.-lineage",
            "vnd.lineage-",
            "vnd.lineage=x",
            too_long.as_str(),
        ] {
            let err = Namespace::new(bad).unwrap_err();
            assert!(
                matches!(err, LifecycleError::InvalidNamespace { ref namespace, .. } if namespace == bad),
                "{bad:?}: {err}"
            );
        }
        assert!(Namespace::new(format!("vnd.{}", "a".repeat(104))).is_ok());
        let msg = Namespace::new("lineage").unwrap_err().to_string();
        assert!(msg.contains("`lineage`"), "{msg}");
    }

    #[test]
    fn namespaces_deserialise_with_validation() {
        let ns: Namespace = serde_json::from_str(r#""vnd.myorganization.image""#).unwrap();
        assert_eq!(ns.as_str(), "vnd.myorganization.image");
        assert!(serde_json::from_str::<Namespace>(r#""nodots""#).is_err());
        assert_eq!(
            serde_json::to_string(&ns).unwrap(),
            r#""vnd.myorganization.image""#
        );
    }

    #[test]
    fn dialect_is_decided_by_artifact_type() {
        let namespaces = [
            Namespace::default(),
            Namespace::new("vnd.myorganization.image").unwrap(),
        ];
        assert_eq!(
            Dialect::for_artifact_type("application/vnd.microsoft.artifact.lifecycle", &[]),
            Some(Dialect::Microsoft)
        );
        assert_eq!(
            Dialect::for_artifact_type(
                "application/vnd.myorganization.image.lifecycle.metadata",
                &namespaces
            ),
            Some(Dialect::Profile(namespaces[1].clone()))
        );
        assert_eq!(
            Dialect::for_artifact_type(
                "Application/VND.Lineage.Image.Lifecycle.Metadata",
                &namespaces
            ),
            Some(Dialect::Profile(Namespace::default()))
        );
        // A namespace that is not configured is not read.
        assert_eq!(
            Dialect::for_artifact_type(
                "application/vnd.other.image.lifecycle.metadata",
                &namespaces
            ),
            None
        );
        assert_eq!(
            Dialect::for_artifact_type("application/spdx+json", &namespaces),
            None
        );
    }

    #[test]
    fn dialect_names_and_keys() {
        let ns = Dialect::Profile(Namespace::default());
        assert_eq!(ns.name(), "vnd.lineage.image");
        assert_eq!(ns.end_of_life_key(), "vnd.lineage.image.end-of-life");
        assert_eq!(
            ns.artifact_type(),
            "application/vnd.lineage.image.lifecycle.metadata"
        );
        assert_eq!(
            Dialect::Microsoft.name(),
            "vnd.microsoft.artifact.lifecycle"
        );
        assert_eq!(
            Dialect::Microsoft.end_of_life_key(),
            "vnd.microsoft.artifact.lifecycle.end-of-life.date"
        );
        assert_eq!(
            Dialect::Microsoft.artifact_type(),
            "application/vnd.microsoft.artifact.lifecycle"
        );
    }

    #[test]
    fn reasons_parse_known_words_and_keep_free_text() {
        assert_eq!("superseded".parse::<Reason>().unwrap(), Reason::Superseded);
        assert_eq!(
            "Unsupported".parse::<Reason>().unwrap(),
            Reason::Unsupported
        );
        assert_eq!(
            " vulnerable ".parse::<Reason>().unwrap(),
            Reason::Vulnerable
        );
        assert_eq!("withdrawn".parse::<Reason>().unwrap(), Reason::Withdrawn);
        assert_eq!("INTERNAL".parse::<Reason>().unwrap(), Reason::Internal);
        assert_eq!(
            "CVE-2024-1234 in openssl".parse::<Reason>().unwrap(),
            Reason::Other("CVE-2024-1234 in openssl".into())
        );
        assert_eq!("".parse::<Reason>(), Err(LifecycleError::EmptyReason));
        assert_eq!("  ".parse::<Reason>(), Err(LifecycleError::EmptyReason));
        for r in [
            "superseded",
            "unsupported",
            "vulnerable",
            "withdrawn",
            "internal",
            "eol soon",
        ] {
            assert_eq!(r.parse::<Reason>().unwrap().to_string(), r);
        }
        assert_eq!(
            serde_json::to_string(&Reason::Withdrawn).unwrap(),
            r#""withdrawn""#
        );
        assert_eq!(
            serde_json::from_str::<Reason>(r#""superseded""#).unwrap(),
            Reason::Superseded
        );
    }
}
