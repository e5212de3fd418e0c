//! The `/v2/…` path grammar, parsed by hand: repository names contain slashes, so a router
//! cannot match them; the last `/manifests/`, `/blobs/`, `/tags/list`, `/referrers/` or
//! `/_lineage/untagged` (lineage's extension) segment decides the route, and the name before it is checked against the spec grammar
//! before it can touch the file system.

use lineage_oci::Digest;

use super::error::OciError;

/// A parsed registry route. Fields are the repository `name` and the path's last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Route {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: String, reference: String },
    /// `/v2/<name>/blobs/<digest>` (the digest is checked by the handler)
    Blob { name: String, digest: String },
    /// `/v2/<name>/blobs/uploads/`
    UploadStart { name: String },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: String, id: String },
    /// `/v2/<name>/tags/list`
    Tags { name: String },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: String, digest: String },
    /// `/v2/<name>/_lineage/untagged`: the manifests no tag names (lineage's extension; a
    /// name component cannot start with `_`, so no repository path ends like this)
    Untagged { name: String },
}

/// Why a path is not a registry route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Not a route of the distribution API.
    NotFound,
    /// A route, but the repository name breaks the grammar.
    InvalidName(String),
}

/// Parse a request path (without query).
pub(crate) fn parse(path: &str) -> Result<Route, PathError> {
    let rest = path.strip_prefix("/v2").ok_or(PathError::NotFound)?;
    if rest.is_empty() || rest == "/" {
        return Ok(Route::Base);
    }
    let rest = rest.strip_prefix('/').ok_or(PathError::NotFound)?;
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Ok(Route::Tags {
            name: checked(name)?,
        });
    }
    if let Some(name) = rest.strip_suffix("/_lineage/untagged") {
        return Ok(Route::Untagged {
            name: checked(name)?,
        });
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Ok(Route::UploadStart {
            name: checked(name)?,
        });
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/")
        && !id.is_empty()
        && !id.contains('/')
    {
        return Ok(Route::Upload {
            name: checked(name)?,
            id: id.to_string(),
        });
    }
    for (marker, kind) in [("/manifests/", 0), ("/blobs/", 1), ("/referrers/", 2)] {
        if let Some((name, last)) = rest.rsplit_once(marker)
            && !last.is_empty()
            && !last.contains('/')
        {
            let name = checked(name)?;
            let last = last.to_string();
            return Ok(match kind {
                0 => Route::Manifest {
                    name,
                    reference: last,
                },
                1 => Route::Blob { name, digest: last },
                _ => Route::Referrers { name, digest: last },
            });
        }
    }
    Err(PathError::NotFound)
}

fn checked(name: &str) -> Result<String, PathError> {
    if is_valid_name(name) {
        Ok(name.to_string())
    } else {
        Err(PathError::InvalidName(name.to_string()))
    }
}

/// A name this registry can store: the spec's `<name>` grammar, at most 255 characters
/// (one rule, in `lineage-oci`), and no component after the first named as a layout's own
/// entry (`blobs`, `index.json`, `oci-layout`). Each repository is a layout directory
/// `ROOT/<name>`, so `app/blobs/sha256/<hex>` would sit on blob `<hex>` of `app`; with that
/// rule no repository's directory falls inside another's layout files (see
/// [`super::state`]).
pub(crate) fn is_valid_name(name: &str) -> bool {
    lineage_oci::reference::is_valid_repository(name)
        && !name
            .split('/')
            .skip(1)
            .any(lineage_store::layout::is_layout_entry)
}

/// A digest in a path or query; `DIGEST_INVALID` when it is malformed or of an algorithm not
/// supported.
pub(crate) fn digest(text: &str) -> Result<Digest, OciError> {
    text.parse()
        .map_err(|_| OciError::digest_invalid(format!("invalid digest `{text}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse("/v2/"), Ok(Route::Base));
        assert_eq!(parse("/v2"), Ok(Route::Base));
        assert_eq!(parse("/v2/_catalog"), Ok(Route::Catalog));
        assert_eq!(
            parse("/v2/a/b/c/manifests/v1"),
            Ok(Route::Manifest {
                name: "a/b/c".into(),
                reference: "v1".into()
            })
        );
        assert_eq!(
            parse("/v2/x/tags/list"),
            Ok(Route::Tags { name: "x".into() })
        );
        assert_eq!(
            parse("/v2/x/y/_lineage/untagged"),
            Ok(Route::Untagged { name: "x/y".into() })
        );
        assert_eq!(
            parse("/v2/x/blobs/uploads/"),
            Ok(Route::UploadStart { name: "x".into() })
        );
        assert_eq!(
            parse("/v2/x/y/blobs/uploads/abc"),
            Ok(Route::Upload {
                name: "x/y".into(),
                id: "abc".into()
            })
        );
        assert_eq!(
            parse("/v2/x/blobs/sha256:1"),
            Ok(Route::Blob {
                name: "x".into(),
                digest: "sha256:1".into()
            })
        );
        assert_eq!(
            parse("/v2/x/referrers/sha256:1"),
            Ok(Route::Referrers {
                name: "x".into(),
                digest: "sha256:1".into()
            })
        );
        // A repository may itself be called `blobs` or `manifests` (but `blobs` only as
        // the first component: see `is_valid_name`).
        assert_eq!(
            parse("/v2/blobs/manifests/manifests/latest"),
            Ok(Route::Manifest {
                name: "blobs/manifests".into(),
                reference: "latest".into()
            })
        );
        assert_eq!(
            parse("/v2/manifests/blobs/manifests/latest"),
            Err(PathError::InvalidName("manifests/blobs".into()))
        );
    }

    #[test]
    fn invalid_names_and_paths() {
        assert_eq!(
            parse("/v2/UP/tags/list"),
            Err(PathError::InvalidName("UP".into()))
        );
        assert_eq!(
            parse("/v2/../etc/tags/list"),
            Err(PathError::InvalidName("../etc".into()))
        );
        assert_eq!(
            parse("/v2/a//b/tags/list"),
            Err(PathError::InvalidName("a//b".into()))
        );
        assert_eq!(parse("/v3/x/tags/list"), Err(PathError::NotFound));
        assert_eq!(parse("/v2/x/whatever"), Err(PathError::NotFound));
        assert_eq!(parse("/v2/x/manifests/"), Err(PathError::NotFound));
        for ok in [
            "a",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "a/b-c/d.e_f",
            "blobs",
            "a/blobsx",
        ] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a/blobs",
            "a/blobs/sha256/abc",
            "a/b/index.json",
            "a/oci-layout/b",
            "-a",
            "a-",
            "a___b",
            "a..b",
            "a._b",
            "a/",
            "/a",
            &"a".repeat(256),
            ".lineage-uploads",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
