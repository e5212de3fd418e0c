//! Registry image references, parsed and normalised exactly as `distribution/reference`
//! v0.6.0 does (`ParseNormalizedNamed` + `TagNameOnly`).
//!
//! PLACEHOLDER GRAMMAR: the full implementation is being written.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// The default registry for references without a domain.
pub const DOCKER_HUB: &str = "docker.io";

/// What a reference points at inside a repository: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TagOrDigest {
    /// A tag, valid per the tag grammar (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
    Tag(String),
    /// A digest.
    Digest(Digest),
}

impl TagOrDigest {
    /// The tag, if this is one.
    pub fn tag(&self) -> Option<&str> {
        match self {
            TagOrDigest::Tag(t) => Some(t),
            TagOrDigest::Digest(_) => None,
        }
    }

    /// The digest, if this is one.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            TagOrDigest::Tag(_) => None,
            TagOrDigest::Digest(d) => Some(d),
        }
    }
}

impl fmt::Display for TagOrDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagOrDigest::Tag(t) => f.write_str(t),
            TagOrDigest::Digest(d) => f.write_str(d.as_str()),
        }
    }
}

impl FromStr for TagOrDigest {
    type Err = ReferenceError;

    /// A string with a `:` is a digest; anything else must be a valid tag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(':') {
            return Ok(TagOrDigest::Digest(s.parse().map_err(|source| {
                ReferenceError::Digest {
                    input: s.to_string(),
                    source,
                }
            })?));
        }
        if is_valid_tag(s) {
            Ok(TagOrDigest::Tag(s.to_string()))
        } else {
            Err(ReferenceError::Tag {
                input: s.to_string(),
                tag: s.to_string(),
            })
        }
    }
}

/// Whether `tag` matches `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Why a string is not a valid reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The reference is empty.
    #[error("invalid reference: empty")]
    Empty,
    /// Generic grammar failure with a reason.
    #[error("invalid reference `{input}`: {reason}")]
    Invalid {
        /// The input.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// The tag does not match the tag grammar.
    #[error(
        "invalid reference `{input}`: tag `{tag}` must match [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}"
    )]
    Tag {
        /// The input.
        input: String,
        /// The tag part.
        tag: String,
    },
    /// The digest part is invalid.
    #[error("invalid reference `{input}`: {source}")]
    Digest {
        /// The input.
        input: String,
        /// Why the digest is invalid.
        #[source]
        source: DigestError,
    },
}

/// A normalised registry reference: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
    tag_defaulted: bool,
}

impl ImageRef {
    /// Parse and normalise a reference.
    pub fn parse(input: &str) -> Result<ImageRef, ReferenceError> {
        let _ = input;
        Err(ReferenceError::Empty)
    }

    /// The registry host (and port), e.g. `docker.io`, `localhost:5000`, `[::1]:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path, e.g. `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any (`latest` when it was defaulted).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Whether the tag is `latest` only because the input named neither tag nor digest.
    pub fn tag_defaulted(&self) -> bool {
        self.tag_defaulted
    }

    /// The same repository naming `target` instead (`None` names nothing: `latest` is implied).
    pub fn with_target(mut self, target: Option<TagOrDigest>) -> ImageRef {
        self.tag_defaulted = false;
        match target {
            Some(TagOrDigest::Tag(t)) => {
                self.tag = Some(t);
                self.digest = None;
            }
            Some(TagOrDigest::Digest(d)) => {
                self.tag = None;
                self.digest = Some(d);
            }
            None => {
                self.tag = None;
                self.digest = None;
            }
        }
        self
    }

    /// What to resolve in the repository: the digest when there is one, else the tag.
    pub fn target(&self) -> TagOrDigest {
        match (&self.digest, &self.tag) {
            (Some(d), _) => TagOrDigest::Digest(d.clone()),
            (None, Some(t)) => TagOrDigest::Tag(t.clone()),
            (None, None) => TagOrDigest::Tag("latest".to_string()),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
}
