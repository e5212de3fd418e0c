//! References to stores as the CLI writes them (DESIGN §2.2): a registry reference,
//! `oci:PATH[:TAG|@DIGEST]` for an OCI image layout directory, or
//! `oci-archive:PATH[:TAG|@DIGEST]` for a tar of one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::reference::{ImageRef, ReferenceError, TagOrDigest, is_valid_tag};

/// Where content lives and what in it a command addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRef {
    /// A repository in a remote registry.
    Registry(ImageRef),
    /// An OCI image layout directory.
    Layout {
        /// The layout's directory.
        path: PathBuf,
        /// The tag or digest named, if any.
        target: Option<TagOrDigest>,
    },
    /// A tar archive of an OCI image layout.
    Archive {
        /// The archive file.
        path: PathBuf,
        /// The tag or digest named, if any.
        target: Option<TagOrDigest>,
    },
}

impl StoreRef {
    /// Parse a CLI store reference.
    ///
    /// For `oci:` and `oci-archive:` the tag is what follows the last `:` after the last `/`
    /// when it is a valid tag, and a digest follows `@`; so `oci:dir:v1`, `oci:dir@sha256:…` and
    /// `oci:./a:b/dir` (a path with a colon) all work.
    pub fn parse(input: &str) -> Result<StoreRef, ReferenceError> {
        if let Some(rest) = input.strip_prefix("oci:") {
            let (path, target) = split_path_target(input, rest)?;
            return Ok(StoreRef::Layout { path, target });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (path, target) = split_path_target(input, rest)?;
            return Ok(StoreRef::Archive { path, target });
        }
        let rest = input.strip_prefix("docker://").unwrap_or(input);
        Ok(StoreRef::Registry(ImageRef::parse(rest)?))
    }

    /// The tag or digest this reference names inside its store, if any.
    pub fn target(&self) -> Option<TagOrDigest> {
        match self {
            StoreRef::Registry(r) => Some(r.target()),
            StoreRef::Layout { target, .. } | StoreRef::Archive { target, .. } => target.clone(),
        }
    }

    /// The tag or digest as the user wrote it: [`StoreRef::target`] except for a registry
    /// reference whose tag was defaulted to `latest`.
    pub fn written_target(&self) -> Option<TagOrDigest> {
        match self {
            StoreRef::Registry(r) if r.tag_defaulted() => None,
            _ => self.target(),
        }
    }

    /// The same store, naming `target` instead.
    pub fn with_target(&self, target: Option<TagOrDigest>) -> StoreRef {
        match self {
            StoreRef::Registry(r) => StoreRef::Registry(r.clone().with_target(target)),
            StoreRef::Layout { path, .. } => StoreRef::Layout {
                path: path.clone(),
                target,
            },
            StoreRef::Archive { path, .. } => StoreRef::Archive {
                path: path.clone(),
                target,
            },
        }
    }

    /// The local path for layout and archive references.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreRef::Registry(_) => None,
            StoreRef::Layout { path, .. } | StoreRef::Archive { path, .. } => Some(path),
        }
    }
}

fn split_path_target(
    input: &str,
    rest: &str,
) -> Result<(PathBuf, Option<TagOrDigest>), ReferenceError> {
    let invalid = |reason: &str| ReferenceError::Invalid {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let (path, target) = if let Some(at) = rest.rfind('@') {
        let digest = &rest[at + 1..];
        let target =
            TagOrDigest::Digest(digest.parse().map_err(|source| ReferenceError::Digest {
                input: input.to_string(),
                source,
            })?);
        (&rest[..at], Some(target))
    } else {
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        match rest[last_slash..].rfind(':') {
            Some(c) => {
                let colon = last_slash + c;
                let tag = &rest[colon + 1..];
                if !is_valid_tag(tag) {
                    return Err(ReferenceError::Tag {
                        input: input.to_string(),
                        tag: tag.to_string(),
                    });
                }
                (&rest[..colon], Some(TagOrDigest::Tag(tag.to_string())))
            }
            None => (rest, None),
        }
    };
    if path.is_empty() {
        return Err(invalid("the path is empty"));
    }
    Ok((PathBuf::from(path), target))
}

impl fmt::Display for StoreRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, path, target) = match self {
            // A registry host named `oci` or `oci-archive` would read back as a local store.
            StoreRef::Registry(r) => {
                let text = r.to_string();
                return if text.starts_with("oci:") || text.starts_with("oci-archive:") {
                    write!(f, "docker://{text}")
                } else {
                    f.write_str(&text)
                };
            }
            StoreRef::Layout { path, target } => ("oci", path, target),
            StoreRef::Archive { path, target } => ("oci-archive", path, target),
        };
        write!(f, "{scheme}:{}", path.display())?;
        match target {
            Some(TagOrDigest::Tag(t)) => write!(f, ":{t}"),
            Some(TagOrDigest::Digest(d)) => write!(f, "@{d}"),
            None => Ok(()),
        }
    }
}

impl FromStr for StoreRef {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StoreRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    fn layout(s: &str) -> (PathBuf, Option<TagOrDigest>) {
        match StoreRef::parse(s).unwrap() {
            StoreRef::Layout { path, target } | StoreRef::Archive { path, target } => {
                (path, target)
            }
            other => panic!("not local: {other:?}"),
        }
    }

    #[test]
    fn local_forms() {
        assert_eq!(layout("oci:dir"), (PathBuf::from("dir"), None));
        assert_eq!(
            layout("oci:dir:v1"),
            (PathBuf::from("dir"), Some(TagOrDigest::Tag("v1".into())))
        );
        assert_eq!(layout("oci:/a:b/dir:v1").0, PathBuf::from("/a:b/dir"));
        assert_eq!(layout("oci:/a:b/dir").0, PathBuf::from("/a:b/dir"));
        let (p, t) = layout(&format!("oci:./x/y@{D}"));
        assert_eq!(p, PathBuf::from("./x/y"));
        assert_eq!(t.unwrap().digest().unwrap().as_str(), D);
        assert_eq!(
            layout("oci-archive:img.tar:1.0").1,
            Some(TagOrDigest::Tag("1.0".into()))
        );
        assert!(matches!(
            StoreRef::parse("oci-archive:x.tar").unwrap(),
            StoreRef::Archive { .. }
        ));
    }

    #[test]
    fn local_errors() {
        assert!(StoreRef::parse("oci:").is_err());
        assert!(StoreRef::parse("oci::v1").is_err());
        assert!(StoreRef::parse("oci:dir:-bad").is_err());
        assert!(StoreRef::parse("oci:dir@sha256:abc").is_err());
    }

    #[test]
    fn registry_hosts_named_like_schemes_round_trip() {
        // Found by the `reference` fuzz target.
        for s in [
            "docker://oci:7/g",
            "docker://oci-archive:1/x",
            "localhost:5000/a:v1",
        ] {
            let r = StoreRef::parse(s).unwrap();
            assert!(matches!(r, StoreRef::Registry(_)));
            let printed = r.to_string();
            let back = StoreRef::parse(&printed).unwrap();
            assert!(matches!(back, StoreRef::Registry(_)), "{printed}");
            assert_eq!(back.to_string(), printed);
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "oci:dir:v1",
            "oci:/tmp/x",
            "oci-archive:a.tar:latest",
            &format!("oci:d@{D}"),
        ] {
            assert_eq!(StoreRef::parse(s).unwrap().to_string(), s);
        }
    }
}
