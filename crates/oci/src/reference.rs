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

/// `splitDockerDomain`: the registry and the rest (path, tag and digest) of `input`.
fn split_docker_domain(input: &str) -> (&str, String) {
    let Some((maybe_domain, maybe_remote)) = input.split_once('/') else {
        return (DOCKER_HUB, format!("{OFFICIAL_REPO_PREFIX}{input}"));
    };
    let (domain, remote) = if maybe_domain == DOCKER_HUB_LEGACY {
        (canonical_registry(maybe_domain), maybe_remote)
    } else if is_recognised_domain(maybe_domain) {
        (maybe_domain, maybe_remote)
    } else {
        (DOCKER_HUB, input)
    };
    if domain == DOCKER_HUB && !remote.contains('/') {
        (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"))
    } else {
        (domain, remote.to_string())
    }
}

/// Whether normalised parsing takes `first` (the text before the first `/`) for a registry:
/// it is `localhost`, contains `.` or `:`, or is not all lowercase.
/// The registry a reference's name writes (`registry.example` in
/// `registry.example/team/app`), when its first component is one (`splitDockerDomain`'s
/// test), as written: `index.docker.io` stays so.
pub fn written_registry(name: &str) -> Option<&str> {
    let (first, _) = name.split_once('/')?;
    is_recognised_domain(first).then_some(first)
}

/// `registry` as [`ImageRef::registry`] reports it: Docker Hub's legacy name is `docker.io`.
pub fn canonical_registry(registry: &str) -> &str {
    if registry == DOCKER_HUB_LEGACY {
        DOCKER_HUB
    } else {
        registry
    }
}

fn is_recognised_domain(first: &str) -> bool {
    first == "localhost" || first.contains(['.', ':']) || has_uppercase(first)
}

/// Whether lowercasing changes `s` (Go's `strings.ToLower(s) != s`).
fn has_uppercase(s: &str) -> bool {
    s.chars().any(|c| !c.to_lowercase().eq(std::iter::once(c)))
}

/// `^[a-f0-9]{64}$`: an image id.
fn is_identifier(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `host [":" port]` with `host := domain-name | "[" [a-fA-F0-9:]+ "]"` and `port := [0-9]+`.
fn is_valid_domain(s: &str) -> bool {
    let (host_ok, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => return false,
            },
        };
        (v6_ok, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (is_domain_name(h), Some(p)),
            None => (is_domain_name(s), None),
        }
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `domain-component ("." domain-component)*`.
fn is_domain_name(s: &str) -> bool {
    s.split('.').all(|c| {
        let b = c.as_bytes();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
            }
            _ => false,
        }
    })
}

/// Whether `name` is a repository path as the distribution spec's `<name>` grammar defines it
/// (`/`-separated path components), at most [`REPOSITORY_MAX_LEN`] characters.
pub fn is_valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= REPOSITORY_MAX_LEN && name.split('/').all(is_path_component)
}

/// `[a-z0-9]+ (separator [a-z0-9]+)*` with `separator := [._] | "__" | "-"+`.
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !b.first().is_some_and(|&c| alnum(c)) || !b.last().is_some_and(|&c| alnum(c)) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &b[start..i];
        let ok = matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Check `path` against the remote-name grammar, naming what is wrong.
fn check_path(input: &str, path: &str) -> Result<(), ReferenceError> {
    let invalid = |reason: String| ReferenceError::Invalid {
        input: input.to_string(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("repository name is empty".to_string()));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid(format!(
                "repository name `{path}` has an empty path component"
            )));
        }
        if !is_path_component(component) {
            return Err(invalid(format!(
                "path component `{component}` of `{path}` must be lowercase letters and digits separated by `.`, `_`, `__` or dashes"
            )));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    fn d256() -> String {
        format!("sha256:{H}")
    }

    fn ok(s: &str) -> ImageRef {
        match ImageRef::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> ReferenceError {
        match ImageRef::parse(s) {
            Ok(r) => panic!("`{s}` should not parse, got {r:?}"),
            Err(e) => e,
        }
    }

    /// registry, repository, tag, digest, tag_defaulted
    type Parts<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, bool);

    fn parts(r: &ImageRef) -> Parts<'_> {
        (
            r.registry(),
            r.repository(),
            r.tag(),
            r.digest().map(Digest::as_str),
            r.tag_defaulted(),
        )
    }

    #[test]
    fn brief_vectors() {
        let d = d256();
        let cases: Vec<(String, Parts<'_>)> = vec![
            (
                "ubuntu".into(),
                ("docker.io", "library/ubuntu", Some("latest"), None, true),
            ),
            (
                "docker.io/ubuntu:22.04".into(),
                ("docker.io", "library/ubuntu", Some("22.04"), None, false),
            ),
            (
                "index.docker.io/bitnami/redis".into(),
                ("docker.io", "bitnami/redis", Some("latest"), None, true),
            ),
            (
                "foo/bar".into(),
                ("docker.io", "foo/bar", Some("latest"), None, true),
            ),
            (
                "localhost/foo".into(),
                ("localhost", "foo", Some("latest"), None, true),
            ),
            (
                "localhost:5000/a/b:1".into(),
                ("localhost:5000", "a/b", Some("1"), None, false),
            ),
            (
                "myhost:5000/img".into(),
                ("myhost:5000", "img", Some("latest"), None, true),
            ),
            (
                format!("[::1]:5000/img@{d}"),
                ("[::1]:5000", "img", None, Some(d.as_str()), false),
            ),
            ("Foo/bar".into(), ("Foo", "bar", Some("latest"), None, true)),
            (
                format!("node:20@{d}"),
                (
                    "docker.io",
                    "library/node",
                    Some("20"),
                    Some(d.as_str()),
                    false,
                ),
            ),
        ];
        for (input, want) in &cases {
            assert_eq!(parts(&ok(input)), *want, "{input}");
        }
        assert!(matches!(
            err("ghcr.io/Org/app"),
            ReferenceError::Uppercase { repository, .. } if repository == "Org/app"
        ));
        assert!(matches!(
            err("a/b:-x"),
            ReferenceError::Tag { tag, .. } if tag == "-x"
        ));
    }

    #[test]
    fn tag_and_digest_both_kept_and_target_prefers_digest() {
        let r = ok(&format!("node:20@{}", d256()));
        assert_eq!(r.target(), TagOrDigest::Digest(d256().parse().unwrap()));
        assert_eq!(
            r.to_string(),
            format!("docker.io/library/node:20@{}", d256())
        );
        assert_eq!(r.familiar(), format!("node:20@{}", d256()));
        let only_digest = ok(&format!("node@{}", d256()));
        assert_eq!(only_digest.tag(), None);
        assert!(!only_digest.tag_defaulted());
        assert_eq!(
            only_digest.to_string(),
            format!("docker.io/library/node@{}", d256())
        );
        let sha512 = format!("sha512:{}", "ab".repeat(64));
        assert_eq!(
            ok(&format!("a.io/x@{sha512}")).digest().unwrap().as_str(),
            sha512
        );
    }

    #[test]
    fn go_normalize_vectors() {
        // TestValidateReferenceName / TestValidateRemoteName (valid).
        for s in [
            "docker/docker",
            "library/debian",
            "debian",
            "docker.io/docker/docker",
            "docker.io/library/debian",
            "docker.io/debian",
            "index.docker.io/docker/docker",
            "index.docker.io/library/debian",
            "index.docker.io/debian",
            "127.0.0.1:5000/docker/docker",
            "127.0.0.1:5000/library/debian",
            "127.0.0.1:5000/debian",
            "192.168.0.1",
            "192.168.0.1:80",
            "192.168.0.1:8/debian",
            "192.168.0.2:25000/debian",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker/docker",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "Docker/docker",
            "DOCKER/docker",
            "docker-rules/docker",
            "docker---rules/docker",
            "doc/docker",
            "d/docker",
            "jess/t",
            "dock__er/docker",
        ] {
            ok(s);
        }
        // (invalid)
        for s in [
            "https://github.com/docker/docker",
            "docker/Docker",
            "-docker",
            "-docker/docker",
            "-docker.io/docker/docker",
            "docker///docker",
            "docker.io/docker/Docker",
            "docker.io/docker///docker",
            "[fc00::1]",
            "[fc00::1]:5000",
            "fc00::1:5000/debian",
            "[fe80::1%eth0]:5000/debian",
            "[2001:db8:3:4::192.0.2.33]:5000/debian",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker-/docker",
            "-docker-/docker",
            "____/____",
            "_docker/_docker",
            "dock..er/docker",
            "dock_.er/docker",
            "dock-.er/docker",
            "docker/",
            "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
        ] {
            err(s);
        }
        assert!(matches!(
            err("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"),
            ReferenceError::Identifier { .. }
        ));
        // 63 hex characters is a name.
        assert_eq!(
            ok("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9").repository(),
            "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"
        );
        // Uppercase hex is not an identifier but is not lowercase either.
        assert!(matches!(
            err(&H.to_uppercase()),
            ReferenceError::Uppercase { .. }
        ));
    }

    #[test]
    fn go_repository_info_vectors() {
        // (remote name, familiar, full, ambiguous, domain) from TestParseRepositoryInfo.
        let cases = [
            (
                "fooo/bar",
                "fooo/bar",
                "docker.io/fooo/bar",
                "index.docker.io/fooo/bar",
                "docker.io",
            ),
            (
                "library/ubuntu",
                "ubuntu",
                "docker.io/library/ubuntu",
                "library/ubuntu",
                "docker.io",
            ),
            (
                "nonlibrary/ubuntu",
                "nonlibrary/ubuntu",
                "docker.io/nonlibrary/ubuntu",
                "",
                "docker.io",
            ),
            (
                "other/library",
                "other/library",
                "docker.io/other/library",
                "",
                "docker.io",
            ),
            (
                "private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "",
                "127.0.0.1:8000",
            ),
            (
                "privatebase",
                "127.0.0.1:8000/privatebase",
                "127.0.0.1:8000/privatebase",
                "",
                "127.0.0.1:8000",
            ),
            (
                "private/moonbase",
                "example.com/private/moonbase",
                "example.com/private/moonbase",
                "",
                "example.com",
            ),
            (
                "privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
                "",
                "example.com",
            ),
            (
                "private/moonbase",
                "example.com:8000/private/moonbase",
                "example.com:8000/private/moonbase",
                "",
                "example.com:8000",
            ),
            (
                "privatebasee",
                "example.com:8000/privatebasee",
                "example.com:8000/privatebasee",
                "",
                "example.com:8000",
            ),
            (
                "library/ubuntu-12.04-base",
                "ubuntu-12.04-base",
                "docker.io/library/ubuntu-12.04-base",
                "index.docker.io/library/ubuntu-12.04-base",
                "docker.io",
            ),
            (
                "library/foo",
                "foo",
                "docker.io/library/foo",
                "docker.io/foo",
                "docker.io",
            ),
            (
                "library/foo/bar",
                "library/foo/bar",
                "docker.io/library/foo/bar",
                "",
                "docker.io",
            ),
            (
                "store/foo/bar",
                "store/foo/bar",
                "docker.io/store/foo/bar",
                "",
                "docker.io",
            ),
            ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
            ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
        ];
        for (remote, familiar, full, ambiguous, domain) in cases {
            for input in [familiar, full, ambiguous] {
                if input.is_empty() {
                    continue;
                }
                let r = ok(input);
                assert_eq!(r.registry(), domain, "{input}");
                assert_eq!(r.repository(), remote, "{input}");
                assert_eq!(r.repository_ref(), full, "{input}");
                // Familiar name plus the defaulted tag, as FamiliarString(TagNameOnly(..)).
                assert_eq!(r.familiar(), format!("{familiar}:latest"), "{input}");
                assert_eq!(r.to_string(), format!("{full}:latest"), "{input}");
            }
        }
    }

    #[test]
    fn go_split_hostname_vectors() {
        for (input, domain, path) in [
            ("test.com/foo", "test.com", "foo"),
            ("test_com/foo", "docker.io", "test_com/foo"),
            ("docker/migrator", "docker.io", "docker/migrator"),
            ("test.com:8080/foo", "test.com:8080", "foo"),
            ("test-com:8080/foo", "test-com:8080", "foo"),
            ("foo", "docker.io", "library/foo"),
            ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
            ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
            ("docker.io/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
        ] {
            let r = ok(input);
            assert_eq!((r.registry(), r.repository()), (domain, path), "{input}");
        }
        let r = ok(
            "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
        );
        assert_eq!(
            r.to_string(),
            "docker.io/library/busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
        );
        assert_eq!(
            r.familiar(),
            "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
        );
    }

    #[test]
    fn domain_detection_edges() {
        // A lone `localhost` (no `/`) is an official image name, not a registry.
        assert_eq!(
            parts(&ok("localhost")),
            ("docker.io", "library/localhost", Some("latest"), None, true)
        );
        // `host:port` without a path is a name and a tag.
        assert_eq!(
            parts(&ok("localhost:5000")),
            ("docker.io", "library/localhost", Some("5000"), None, false)
        );
        assert_eq!(
            parts(&ok("foo/foo_bar.com:8080")),
            ("docker.io", "foo/foo_bar.com", Some("8080"), None, false)
        );
        // A first component without `.`/`:`/uppercase is a namespace, even if it looks like a host.
        assert_eq!(ok("myhost/img").registry(), "docker.io");
        assert_eq!(ok("myhost/img").repository(), "myhost/img");
        assert_eq!(
            ok("localhost.localdomain/x").registry(),
            "localhost.localdomain"
        );
        assert_eq!(ok("10.0.0.1/x").registry(), "10.0.0.1");
        assert_eq!(ok("a:1/x").registry(), "a:1");
        assert_eq!(ok("a.b:0001/x").registry(), "a.b:0001");
        assert_eq!(ok("FOO.Example.COM/x").registry(), "FOO.Example.COM");
        assert_eq!(ok("docker.io/library/x").repository(), "library/x");
        assert_eq!(ok("index.docker.io/x").registry(), "docker.io");
        assert_eq!(ok("index.docker.io/x").repository(), "library/x");
        // A port keeps index.docker.io as written.
        assert_eq!(
            ok("index.docker.io:443/x").registry(),
            "index.docker.io:443"
        );
        assert_eq!(ok("index.docker.io:443/x").repository(), "x");
        // localhost keeps single components as they are.
        assert_eq!(ok("localhost/x").repository(), "x");
        // IPv6.
        assert_eq!(ok("[::1]/img").registry(), "[::1]");
        assert_eq!(ok("[::1]:5000/img:v1").tag(), Some("v1"));
        assert_eq!(ok("[FC00::1]/img").registry(), "[FC00::1]");
        for bad in [
            "::1/img",
            "::1:5000/img",
            "[::1/img",
            "[::1]x/img",
            "[::1]:/img",
            "[::1]:50a/img",
            "[fe80::1%25eth0]/img",
            "[fe80::1%eth0]/img",
            "[::ffff:1.2.3.4]/img",
            "a:/x",
            "a:b/x",
            ":5000/x",
            "-a.com/x",
            "a-.com/x",
            "a..com/x",
            ".a.com/x",
            "a.com./x",
            "a_b.com/x",
            "Foo_Bar/x",
        ] {
            assert!(
                matches!(err(bad), ReferenceError::Registry { .. }),
                "{bad}: {}",
                err(bad)
            );
        }
        // Not recognised as a domain (no `.`, `:`, uppercase): read as a path, which `[` fails.
        assert!(matches!(err("[abc]/img"), ReferenceError::Invalid { .. }));
        assert!(matches!(err("[]/img"), ReferenceError::Invalid { .. }));
        // Go returns an empty domain for this; lineage refuses it.
        assert!(matches!(
            err("foo_bar.com/app"),
            ReferenceError::Registry { registry, .. } if registry == "foo_bar.com"
        ));
    }

    #[test]
    fn path_edges() {
        for good in [
            "a/b",
            "a__b/c",
            "a---b/c",
            "x/a.b-c_d__e/f",
            "a-b_c__d/f",
            "a/b/c/d/e",
            "0/1",
            "x.io/a.b",
            "x.io/a_b",
        ] {
            ok(good);
        }
        for bad in [
            "a//b", "a/b/", "/a", "a/", "a/.b", "a/b.", "a/b..c", "a/b___c", "a/b_-c", "a/b-",
            "a/_b", "a/b._c", "x.io/", "x.io//a", "x.io/A", "a/b c", "a /b", "a\\b", "a/b\n",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
        assert!(
            matches!(err("a//b"), ReferenceError::Invalid { reason, .. } if reason.contains("empty"))
        );
        assert!(
            matches!(err("x.io/"), ReferenceError::Invalid { reason, .. } if reason.contains("empty"))
        );
        assert!(matches!(err("foo/Bar"), ReferenceError::Uppercase { .. }));
        assert!(
            matches!(err("UBUNTU"), ReferenceError::Uppercase { repository, .. } if repository == "library/UBUNTU")
        );
        assert!(matches!(
            err("docker.io/Foo"),
            ReferenceError::Uppercase { .. }
        ));
        // Uppercase in tags is fine.
        assert_eq!(ok("a/b:V1_X.y-Z").tag(), Some("V1_X.y-Z"));
    }

    #[test]
    fn length_limits() {
        // 255 characters of path is fine; 256 is not. The limit excludes the registry.
        let c = "a".repeat(127);
        let p255 = format!("{c}/{c}");
        assert_eq!(p255.len(), 255);
        assert_eq!(ok(&p255).repository(), p255);
        assert_eq!(
            ok(&format!("{}.io/{p255}", "r".repeat(200))).repository(),
            p255
        );
        let p256 = format!("{c}/{c}a");
        assert!(matches!(
            err(&p256),
            ReferenceError::NameTooLong { length: 256, .. }
        ));
        // `library/` counts.
        let single = "a".repeat(248);
        assert!(matches!(
            err(&single),
            ReferenceError::NameTooLong { length: 256, .. }
        ));
        ok(&"a".repeat(247));
        // Tags: 128 characters.
        let t128 = "t".repeat(128);
        assert_eq!(ok(&format!("a/b:{t128}")).tag(), Some(t128.as_str()));
        assert!(matches!(
            err(&format!("a/b:{t128}x")),
            ReferenceError::Tag { .. }
        ));
    }

    #[test]
    fn tag_and_digest_errors() {
        for bad_tag in ["a/b:", "a/b:-x", "a/b:.x", "a/b:x:y", "a/b:x/y", "a/b:é"] {
            assert!(
                matches!(err(bad_tag), ReferenceError::Tag { .. }),
                "{bad_tag}"
            );
        }
        assert_eq!(ok("a/b:_x").tag(), Some("_x"));
        let sha384 = format!("sha384:{}", "a".repeat(96));
        assert!(matches!(
            err(&format!("a/b@{sha384}")),
            ReferenceError::Digest {
                source: DigestError::UnsupportedAlgorithm { .. },
                ..
            }
        ));
        assert!(matches!(
            err(&format!("a/b@md5:{}", "a".repeat(32))),
            ReferenceError::Digest {
                source: DigestError::UnsupportedAlgorithm { .. },
                ..
            }
        ));
        for bad in [
            "a/b@".to_string(),
            "a/b@sha256".to_string(),
            "a/b@sha256:abc".to_string(),
            format!("a/b@sha256:{}", H.to_uppercase()),
            format!("a/b@SHA256:{H}"),
            format!("a/b@{}@{}", d256(), d256()),
            format!("a/b@{}:x", d256()),
        ] {
            assert!(
                matches!(err(&bad), ReferenceError::Digest { .. }),
                "{bad}: {:?}",
                ImageRef::parse(&bad)
            );
        }
        // A tag after the digest is not a tag.
        assert!(ImageRef::parse(&format!("a/b@{}:tag", d256())).is_err());
    }

    #[test]
    fn non_ascii_and_odd_input_never_panics() {
        for s in [
            "",
            " ",
            "/",
            "//",
            ":",
            "@",
            ":@",
            "@:",
            "a@",
            "a:",
            "[",
            "]",
            "[]",
            "[:",
            "é",
            "é/é",
            "ü.io/x",
            "a.io/ü",
            "a/b:ü",
            "a/b@ü",
            "a/b@sha256:ü",
            "[é]:1/x",
            "[::1]:é/x",
            "Ä/x",
            "ǅ/x",
            "\u{212a}/x",
            "x/\u{212a}",
            "a/b:\u{212a}",
            "😀",
            "a/😀:😀@😀",
            "\u{0}",
            "a\u{0}/b",
            "a/b\u{0}",
            "localhost:/x",
            "[::1]]/x",
        ] {
            assert!(ImageRef::parse(s).is_err(), "{s:?}");
        }
        assert!(matches!(err(""), ReferenceError::Empty));
        assert!(matches!(err("Ä/x"), ReferenceError::Registry { .. }));
    }

    #[test]
    fn error_messages_name_input_and_problem() {
        let cases = [
            ("ghcr.io/Org/app", "must be lowercase"),
            ("a/b:-x", "tag `-x`"),
            ("a//b", "empty path component"),
            ("foo_bar.com/app", "registry `foo_bar.com`"),
            (H, "image id"),
            ("a/b@sha384:00", "unsupported digest algorithm"),
        ];
        for (input, want) in cases {
            let msg = err(input).to_string();
            assert!(msg.contains(&format!("`{input}`")), "{msg}");
            assert!(msg.contains(want), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }

    #[test]
    fn familiar_forms() {
        for (input, familiar) in [
            ("ubuntu", "ubuntu:latest"),
            ("docker.io/library/ubuntu:1", "ubuntu:1"),
            ("library/a/b:1", "library/a/b:1"),
            ("docker.io/foo/bar:1", "foo/bar:1"),
            ("ghcr.io/o/app:1", "ghcr.io/o/app:1"),
            ("localhost:5000/library/x:1", "localhost:5000/library/x:1"),
            ("Foo/bar:1", "Foo/bar:1"),
        ] {
            assert_eq!(ok(input).familiar(), familiar, "{input}");
        }
    }

    #[test]
    fn api_host_and_repository_ref() {
        let hub = ok("nginx:1");
        assert_eq!(hub.api_host(), "registry-1.docker.io");
        assert_eq!(hub.registry(), "docker.io");
        assert_eq!(hub.repository_ref(), "docker.io/library/nginx");
        let local = ok("localhost:5000/a/b:1");
        assert_eq!(local.api_host(), "localhost:5000");
        assert_eq!(local.repository_ref(), "localhost:5000/a/b");
        assert_eq!(ok("index.docker.io/x/y").api_host(), "registry-1.docker.io");
    }

    #[test]
    fn new_validates_and_normalises() {
        assert_eq!(
            ImageRef::new("docker.io", "nginx", None).unwrap(),
            ok("nginx")
        );
        assert_eq!(
            ImageRef::new("index.docker.io", "a/b", None).unwrap(),
            ok("a/b")
        );
        assert_eq!(
            ImageRef::new("ghcr.io", "o/app", Some(TagOrDigest::Tag("v1".into()))).unwrap(),
            ok("ghcr.io/o/app:v1")
        );
        let d: Digest = d256().parse().unwrap();
        assert_eq!(
            ImageRef::new("[::1]:5000", "img", Some(TagOrDigest::Digest(d.clone()))).unwrap(),
            ok(&format!("[::1]:5000/img@{d}"))
        );
        assert!(matches!(
            ImageRef::new("myhost", "img", None),
            Err(ReferenceError::Invalid { .. })
        ));
        assert!(matches!(
            ImageRef::new("a_b.com", "img", None),
            Err(ReferenceError::Registry { .. })
        ));
        assert!(matches!(
            ImageRef::new("a.com", "Img", None),
            Err(ReferenceError::Uppercase { .. })
        ));
        assert!(matches!(
            ImageRef::new("a.com", "a//b", None),
            Err(ReferenceError::Invalid { .. })
        ));
        assert!(matches!(
            ImageRef::new("a.com", "x", Some(TagOrDigest::Tag("-x".into()))),
            Err(ReferenceError::Tag { .. })
        ));
        assert!(matches!(
            ImageRef::new("docker.io", &"a".repeat(250), None),
            Err(ReferenceError::NameTooLong { length: 258, .. })
        ));
        assert!(matches!(
            ImageRef::new("a.com", "img:tag", None),
            Err(ReferenceError::Invalid { .. })
        ));
    }

    #[test]
    fn with_target_and_target() {
        let r = ok("a.io/x:1");
        let d: Digest = d256().parse().unwrap();
        let r2 = r.clone().with_target(Some(TagOrDigest::Digest(d.clone())));
        assert_eq!(r2.to_string(), format!("a.io/x@{d}"));
        assert_eq!(r2.target(), TagOrDigest::Digest(d));
        let r3 = r.with_target(None);
        assert_eq!(r3.to_string(), "a.io/x");
        assert_eq!(r3.target(), TagOrDigest::Tag("latest".into()));
        assert_eq!(ok(&r3.to_string()).tag(), Some("latest"));
    }

    #[test]
    fn from_str_matches_parse() {
        let r: ImageRef = "a.io/x:1".parse().unwrap();
        assert_eq!(r, ok("a.io/x:1"));
        assert_eq!(
            "v1".parse::<TagOrDigest>().unwrap(),
            TagOrDigest::Tag("v1".into())
        );
        assert!("-v1".parse::<TagOrDigest>().is_err());
        assert!(d256().parse::<TagOrDigest>().unwrap().digest().is_some());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn path_component() -> impl Strategy<Value = String> {
        (
            "[a-z0-9]{1,6}",
            proptest::collection::vec(("[._]|__|-{1,3}", "[a-z0-9]{1,6}"), 0..3),
        )
            .prop_map(|(first, rest)| {
                let mut s = first;
                for (sep, alnum) in rest {
                    s.push_str(&sep);
                    s.push_str(&alnum);
                }
                s
            })
    }

    fn path() -> impl Strategy<Value = String> {
        proptest::collection::vec(path_component(), 1..5).prop_map(|v| v.join("/"))
    }

    fn domain_component() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]"
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("localhost".to_string()),
            Just("index.docker.io".to_string()),
            Just("docker.io".to_string()),
            proptest::collection::vec(domain_component(), 2..4).prop_map(|v| v.join(".")),
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            "\\[[a-fA-F0-9:]{1,39}\\]",
            domain_component(),
        ]
    }

    /// A `host[:port]` that normalised parsing takes for a registry.
    fn domain() -> impl Strategy<Value = String> {
        (host(), proptest::option::of("[0-9]{1,5}"))
            .prop_map(|(h, p)| match p {
                Some(p) => format!("{h}:{p}"),
                None => h,
            })
            .prop_filter("recognised as a registry", |d| is_recognised_domain(d))
    }

    fn tag() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
    }

    fn digest() -> impl Strategy<Value = Digest> {
        prop_oneof!["sha256:[a-f0-9]{64}", "sha512:[a-f0-9]{128}"]
            .prop_map(|s| s.parse::<Digest>().unwrap())
    }

    #[derive(Debug, Clone)]
    struct Generated {
        domain: Option<String>,
        path: String,
        tag: Option<String>,
        digest: Option<Digest>,
    }

    impl Generated {
        fn input(&self) -> String {
            let mut s = String::new();
            if let Some(d) = &self.domain {
                s.push_str(d);
                s.push('/');
            }
            s.push_str(&self.path);
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

        /// What ParseNormalizedNamed + TagNameOnly give.
        fn expected(&self) -> ImageRef {
            let registry = match self.domain.as_deref() {
                None | Some(DOCKER_HUB_LEGACY) => DOCKER_HUB.to_string(),
                Some(d) => d.to_string(),
            };
            let repository = if registry == DOCKER_HUB && !self.path.contains('/') {
                format!("library/{}", self.path)
            } else {
                self.path.clone()
            };
            let tag_defaulted = self.tag.is_none() && self.digest.is_none();
            ImageRef {
                registry,
                repository,
                tag: if tag_defaulted {
                    Some("latest".to_string())
                } else {
                    self.tag.clone()
                },
                digest: self.digest.clone(),
                tag_defaulted,
            }
        }
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (
            proptest::option::of(domain()),
            path(),
            proptest::option::of(tag()),
            proptest::option::of(digest()),
        )
            .prop_map(|(domain, path, tag, digest)| Generated {
                domain,
                path,
                tag,
                digest,
            })
            .prop_filter(
                "domain-less first component must not look like a host",
                |g| {
                    g.domain.is_some()
                        || match g.path.split_once('/') {
                            Some((first, _)) => !is_recognised_domain(first),
                            None => true,
                        }
                },
            )
    }

    fn fields(r: &ImageRef) -> (&str, &str, Option<&str>, Option<&Digest>) {
        (r.registry(), r.repository(), r.tag(), r.digest())
    }

    fn assert_round_trips(r: &ImageRef) -> Result<(), TestCaseError> {
        let printed = r.to_string();
        let back = ImageRef::parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("`{printed}` does not re-parse: {e}")))?;
        prop_assert_eq!(fields(&back), fields(r));
        prop_assert!(!back.tag_defaulted() || r.tag_defaulted());
        prop_assert_eq!(&back.to_string(), &printed);
        let rebuilt = ImageRef::new(r.registry(), r.repository(), Some(r.target()))
            .map_err(|e| TestCaseError::fail(format!("new() refuses parts of `{printed}`: {e}")))?;
        prop_assert_eq!(rebuilt.repository_ref(), r.repository_ref());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_references_parse_as_modelled(g in generated()) {
            let input = g.input();
            let parsed = ImageRef::parse(&input)
                .map_err(|e| TestCaseError::fail(format!("`{input}` should parse: {e}")))?;
            prop_assert_eq!(&parsed, &g.expected());
            assert_round_trips(&parsed)?;
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Ok(r) = ImageRef::parse(&s) {
                assert_round_trips(&r)?;
            }
        }

        #[test]
        fn grammar_alphabet_strings_never_panic(s in "[a-zA-Z0-9:/@._\\-\\[\\]é]{0,40}") {
            if let Ok(r) = ImageRef::parse(&s) {
                assert_round_trips(&r)?;
            }
        }

        #[test]
        fn mutated_references_never_panic(
            g in generated(),
            pos in any::<prop::sample::Index>(),
            c in prop_oneof![
                Just('/'), Just(':'), Just('@'), Just('['), Just(']'), Just('.'),
                Just('_'), Just('-'), Just('A'), Just('é'), Just('😀'),
            ],
        ) {
            let mut chars: Vec<char> = g.input().chars().collect();
            let at = pos.index(chars.len() + 1);
            chars.insert(at, c);
            let s: String = chars.into_iter().collect();
            if let Ok(r) = ImageRef::parse(&s) {
                assert_round_trips(&r)?;
            }
        }
    }
}
