//! Registry image references, parsed and normalised exactly as `distribution/reference`
//! v0.6.0 does (`ParseNormalizedNamed` followed by `TagNameOnly`).
//!
//! The grammar (from `distribution/reference`'s `reference.go` and `regexp.go`):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain "/" ] remote-name
//! domain           := host [ ":" port ]                     ; port = [0-9]+
//! host             := domain-name | "[" IPv6 "]"            ; IPv6 = [a-fA-F0-9:]+, no zone ids
//! domain-name      := domain-component ( "." domain-component )*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! remote-name      := path-component ( "/" path-component )*
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := [._] | "__" | "-"+
//! tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! ```
//!
//! Normalisation (`splitDockerDomain`): a name without `/` is `docker.io/library/<name>`;
//! otherwise the first component is the registry only when it is `localhost`, contains `.` or
//! `:`, or contains an uppercase letter (`index.docker.io` becomes `docker.io`), and every other
//! name lives on `docker.io`, where a single-component path gets the `library/` prefix. A
//! reference naming neither tag nor digest gets the tag `latest` ([`ImageRef::tag_defaulted`]).
//!
//! Deliberate differences from the Go code, both refusing input Go accepts:
//!
//! - digests must use an algorithm lineage can verify (`sha256`, `sha512`; see
//!   [`crate::digest`]), so `sha384:…` is refused with [`DigestError::UnsupportedAlgorithm`];
//! - a first component that is taken for a registry (it has a `.`) but is not a valid host,
//!   such as `foo_bar.com/app`, is refused: Go returns a name with an *empty* domain there,
//!   which names no registry at all.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

mod grammar;
mod normalise;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use grammar::is_valid_repository;
use grammar::{check_path, has_uppercase, is_identifier, is_valid_domain};
pub use normalise::{canonical_registry, written_registry};
use normalise::{is_recognised_domain, split_docker_domain};

/// The default registry for references without a domain.
pub const DOCKER_HUB: &str = "docker.io";

/// The legacy name of Docker Hub, normalised to [`DOCKER_HUB`].
pub const DOCKER_HUB_LEGACY: &str = "index.docker.io";

/// The host actually serving the registry API for [`DOCKER_HUB`].
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The namespace of Docker Hub's official images, implied for single-component names there.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";

/// The tag implied when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// The longest repository path (without the registry) accepted, in characters.
pub const REPOSITORY_MAX_LEN: usize = 255;

/// The longest tag accepted, in characters.
pub const TAG_MAX_LEN: usize = 128;

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
        && b.len() <= TAG_MAX_LEN
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
    /// The input is 64 hex characters: an image id, which `distribution/reference` refuses to
    /// read as a repository name.
    #[error(
        "invalid reference `{input}`: a 64-character hexadecimal string is an image id, not a repository name"
    )]
    Identifier {
        /// The input.
        input: String,
    },
    /// The repository name has uppercase letters.
    #[error("invalid reference `{input}`: repository name `{repository}` must be lowercase")]
    Uppercase {
        /// The input.
        input: String,
        /// The repository name as written.
        repository: String,
    },
    /// The registry part is not a `host[:port]`.
    #[error(
        "invalid reference `{input}`: registry `{registry}` is not a valid host[:port] (a domain name, an IPv4 address or a bracketed IPv6 address, then an optional numeric port)"
    )]
    Registry {
        /// The input.
        input: String,
        /// The registry part.
        registry: String,
    },
    /// The repository path is longer than [`REPOSITORY_MAX_LEN`].
    #[error(
        "invalid reference `{input}`: repository name is {length} characters, more than {REPOSITORY_MAX_LEN}"
    )]
    NameTooLong {
        /// The input.
        input: String,
        /// The repository path's length.
        length: usize,
    },
}

/// A normalised registry reference: `registry/repository[:tag][@digest]`.
///
/// Invariants (kept by [`ImageRef::parse`] and [`ImageRef::new`]): the registry is a valid
/// `host[:port]` that normalised parsing recognises as a registry (so `Display` output parses
/// back to the same reference), never `index.docker.io`; the repository is a valid lowercase
/// path of at most [`REPOSITORY_MAX_LEN`] characters with the `library/` prefix on Docker Hub.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
    tag_defaulted: bool,
}

impl ImageRef {
    /// Parse and normalise a reference as `ParseNormalizedNamed` + `TagNameOnly` do.
    ///
    /// `ubuntu` is `docker.io/library/ubuntu:latest` (tag defaulted), `foo/bar` is
    /// `docker.io/foo/bar:latest`, `localhost:5000/a/b:1` is registry `localhost:5000`,
    /// repository `a/b`, tag `1`. A reference with both a tag and a digest keeps both;
    /// [`ImageRef::target`] prefers the digest.
    pub fn parse(input: &str) -> Result<ImageRef, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if is_identifier(input) {
            return Err(ReferenceError::Identifier {
                input: input.to_string(),
            });
        }
        let (registry, remainder) = split_docker_domain(input);

        // ParseNormalizedNamed checks the remainder up to the first `:` for uppercase. Only
        // the part before any `@` is the repository name; uppercase after it sits in a digest
        // algorithm, which the digest check below refuses.
        let before_colon = remainder.split(':').next().unwrap_or_default();
        let name_only = before_colon.split('@').next().unwrap_or_default();
        if has_uppercase(name_only) {
            return Err(ReferenceError::Uppercase {
                input: input.to_string(),
                repository: name_only.to_string(),
            });
        }

        let (name_tag, digest) = match remainder.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (remainder.as_str(), None),
        };
        let (path, tag) = match name_tag.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (name_tag, None),
        };

        if !is_valid_domain(registry) {
            return Err(ReferenceError::Registry {
                input: input.to_string(),
                registry: registry.to_string(),
            });
        }
        check_path(input, path)?;
        if let Some(t) = tag
            && !is_valid_tag(t)
        {
            return Err(ReferenceError::Tag {
                input: input.to_string(),
                tag: t.to_string(),
            });
        }
        if path.len() > REPOSITORY_MAX_LEN {
            return Err(ReferenceError::NameTooLong {
                input: input.to_string(),
                length: path.len(),
            });
        }
        let digest = digest
            .map(|d| {
                d.parse::<Digest>()
                    .map_err(|source| ReferenceError::Digest {
                        input: input.to_string(),
                        source,
                    })
            })
            .transpose()?;

        let tag_defaulted = tag.is_none() && digest.is_none();
        let tag = match tag {
            Some(t) => Some(t.to_string()),
            None if tag_defaulted => Some(DEFAULT_TAG.to_string()),
            None => None,
        };
        Ok(ImageRef {
            registry: registry.to_string(),
            repository: path.to_string(),
            tag,
            digest,
            tag_defaulted,
        })
    }

    /// A reference from its parts, validated and normalised as [`ImageRef::parse`] would:
    /// `index.docker.io` becomes `docker.io`, and a single-component repository on Docker Hub
    /// gets the `library/` prefix. `None` names the tag `latest` with
    /// [`ImageRef::tag_defaulted`] set, so `new(r, p, None)` equals `parse("r/p")`.
    ///
    /// The registry must be one that parsing recognises as a registry (`localhost`, or with a
    /// `.`, a `:port` or an uppercase letter); a bare `myhost` would print as a Docker Hub
    /// namespace and is refused.
    pub fn new(
        registry: &str,
        repository: &str,
        target: Option<TagOrDigest>,
    ) -> Result<ImageRef, ReferenceError> {
        let input = match &target {
            Some(TagOrDigest::Tag(t)) => format!("{registry}/{repository}:{t}"),
            Some(TagOrDigest::Digest(d)) => format!("{registry}/{repository}@{d}"),
            None => format!("{registry}/{repository}"),
        };
        let registry = if registry == DOCKER_HUB_LEGACY {
            DOCKER_HUB
        } else {
            registry
        };
        if !is_valid_domain(registry) {
            return Err(ReferenceError::Registry {
                input,
                registry: registry.to_string(),
            });
        }
        if !is_recognised_domain(registry) {
            return Err(ReferenceError::Invalid {
                reason: format!(
                    "registry `{registry}` would be read as a {DOCKER_HUB} namespace: a registry needs a `.`, a `:port`, an uppercase letter, or to be `localhost`"
                ),
                input,
            });
        }
        if has_uppercase(repository) {
            return Err(ReferenceError::Uppercase {
                repository: repository.to_string(),
                input,
            });
        }
        check_path(&input, repository)?;
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("{OFFICIAL_REPO_PREFIX}{repository}")
        } else {
            repository.to_string()
        };
        if repository.len() > REPOSITORY_MAX_LEN {
            return Err(ReferenceError::NameTooLong {
                input,
                length: repository.len(),
            });
        }
        let (tag, digest, tag_defaulted) = match target {
            Some(TagOrDigest::Tag(t)) => {
                if !is_valid_tag(&t) {
                    return Err(ReferenceError::Tag { input, tag: t });
                }
                (Some(t), None, false)
            }
            Some(TagOrDigest::Digest(d)) => (None, Some(d), false),
            None => (Some(DEFAULT_TAG.to_string()), None, true),
        };
        Ok(ImageRef {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
            tag_defaulted,
        })
    }

    /// The registry host (and port), e.g. `docker.io`, `localhost:5000`, `[::1]:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host to contact for the registry API: `registry-1.docker.io` for `docker.io`,
    /// otherwise [`ImageRef::registry`].
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// The repository path, e.g. `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `registry/repository`, without tag or digest.
    pub fn repository_ref(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
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

    /// The short form Docker shows (`FamiliarString`): without `docker.io/`, and without
    /// `library/` when no further `/` follows; tag and digest as in `Display`.
    ///
    /// `docker.io/library/ubuntu:latest` is `ubuntu:latest`, `docker.io/library/a/b:1` stays
    /// `library/a/b:1`, `ghcr.io/o/app:1` is unchanged. As in Go, the familiar form of a Docker
    /// Hub path whose first component looks like a host (`docker.io/foo.com/x`) parses back to
    /// a different registry; use `Display` to round-trip.
    pub fn familiar(&self) -> String {
        let mut s = if self.registry == DOCKER_HUB {
            match self.repository.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            self.repository_ref()
        };
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
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
            (None, None) => TagOrDigest::Tag(DEFAULT_TAG.to_string()),
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
