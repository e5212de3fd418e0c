//! References in the form a file writes them: split into name, tag and digest without
//! normalising, and a successor spelled the way the file spells the image it replaces
//! (`research/consumers.md` §3.3 "Write" 2 and 3).

use std::ops::Range;

use lineage_lifecycle::Successor;
use lineage_oci::ImageRef;
use lineage_oci::reference::{
    DOCKER_HUB, OFFICIAL_REPO_PREFIX, canonical_registry, written_registry,
};

/// Where the name, tag and digest of a written reference are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    /// The name (`[registry/]repository`).
    pub(crate) name: Range<usize>,
    /// The tag, without its `:`.
    pub(crate) tag: Option<Range<usize>>,
    /// The digest, without its `@`.
    pub(crate) digest: Option<Range<usize>>,
}

/// Split `s` as Renovate's `splitImageParts` does: at the `@`, then at the last `:` unless what
/// follows it has a `/` (`host:5000/img` has no tag).
pub(crate) fn split(s: &str) -> Split {
    let (end, digest) = match s.find('@') {
        Some(i) => (i, Some(i + 1..s.len())),
        None => (s.len(), None),
    };
    let tag = s[..end]
        .rfind(':')
        .filter(|&i| !s[i + 1..end].contains('/'))
        .map(|i| i + 1..end);
    let name_end = tag.as_ref().map_or(end, |t| t.start - 1);
    Split {
        name: 0..name_end,
        tag,
        digest,
    }
}

/// The name of `registry/repository`, spelled like `written` (the name the file wrote for
/// `old`): unchanged for the same repository; otherwise with the file's registry spelling when
/// the registry is the same, familiar (no `docker.io/`, no `library/` unless the file wrote it)
/// when the file used the familiar form for a Docker Hub image, else in full.
pub(crate) fn spell_name(
    written: &str,
    old: &ImageRef,
    registry: &str,
    repository: &str,
) -> String {
    if old.registry() == registry && old.repository() == repository {
        return written.to_string();
    }
    let written_path = match written_registry(written) {
        Some(r) => &written[r.len() + 1..],
        None => written,
    };
    let path = match repository.strip_prefix(OFFICIAL_REPO_PREFIX) {
        Some(short)
            if registry == DOCKER_HUB
                && !short.contains('/')
                && !written_path.starts_with(OFFICIAL_REPO_PREFIX) =>
        {
            short
        }
        _ => repository,
    };
    match written_registry(written) {
        Some(r) if canonical_registry(r) == registry => format!("{r}/{path}"),
        None if registry == DOCKER_HUB => path.to_string(),
        _ => format!("{registry}/{repository}"),
    }
}

/// The successor of `old` (written `written`) in the file's form: a tag when the file pins a
/// tag (or nothing), a digest when it pins a digest, both for `tag@digest`. An error says why
/// the move cannot be made (a lowercase fragment).
pub(crate) fn successor(
    written: &str,
    old: &ImageRef,
    successor: &Successor,
) -> Result<(String, ImageRef), String> {
    let parts = split(written);
    let named = successor
        .reference
        .as_deref()
        .map(|r| {
            ImageRef::parse(r).map_err(|e| format!("its successor `{r}` is not a reference: {e}"))
        })
        .transpose()?;
    let (registry, repository) = match &named {
        Some(r) => (r.registry(), r.repository()),
        None => (old.registry(), old.repository()),
    };
    let tag = named
        .as_ref()
        .filter(|r| !r.tag_defaulted())
        .and_then(|r| r.tag());
    let digest = successor
        .digest
        .as_ref()
        .or_else(|| named.as_ref().and_then(|r| r.digest()));
    let shown = || {
        successor
            .reference
            .clone()
            .or_else(|| digest.map(|d| d.to_string()))
            .unwrap_or_default()
    };
    let pins_digest = parts.digest.is_some();
    let pins_tag = parts.tag.is_some() || !pins_digest;

    let mut out = spell_name(&written[parts.name.clone()], old, registry, repository);
    if pins_tag {
        let t = tag.ok_or_else(|| {
            format!(
                "the file pins a tag and the successor `{}` names none",
                shown()
            )
        })?;
        out.push(':');
        out.push_str(t);
    }
    if pins_digest {
        let d = digest.ok_or_else(|| {
            format!(
                "the file pins a digest and the successor `{}` names none",
                shown()
            )
        })?;
        out.push('@');
        out.push_str(d.as_str());
    }
    let image =
        ImageRef::parse(&out).map_err(|e| format!("the successor `{out}` does not parse: {e}"))?;
    Ok((out, image))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const OLD_D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const NEW_D: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn parts(s: &str) -> (&str, Option<&str>, Option<&str>) {
        let p = split(s);
        (&s[p.name], p.tag.map(|t| &s[t]), p.digest.map(|d| &s[d]))
    }

    #[test]
    fn splitting_keeps_the_written_form() {
        assert_eq!(parts("nginx"), ("nginx", None, None));
        assert_eq!(parts("nginx:1.25"), ("nginx", Some("1.25"), None));
        assert_eq!(parts("host:5000/img"), ("host:5000/img", None, None));
        assert_eq!(
            parts("host:5000/img:1@sha256:ab"),
            ("host:5000/img", Some("1"), Some("sha256:ab"))
        );
        assert_eq!(parts("img@sha256:ab"), ("img", None, Some("sha256:ab")));
    }

    fn succ(reference: Option<&str>, digest: Option<&str>) -> Successor {
        Successor {
            reference: reference.map(str::to_string),
            digest: digest.map(|d| d.parse().unwrap()),
            revision: None,
        }
    }

    fn move_to(written: &str, s: &Successor) -> Result<String, String> {
        let old = ImageRef::parse(written).unwrap();
        successor(written, &old, s).map(|(w, _)| w)
    }

    #[test]
    fn the_form_is_kept() {
        let s = succ(Some("docker.io/library/app:1.0-2"), Some(NEW_D));
        assert_eq!(move_to("app:1.0-1", &s).unwrap(), "app:1.0-2");
        assert_eq!(move_to("app", &s).unwrap(), "app:1.0-2");
        assert_eq!(
            move_to(&format!("app@{OLD_D}"), &s).unwrap(),
            format!("app@{NEW_D}")
        );
        assert_eq!(
            move_to(&format!("app:1.0-1@{OLD_D}"), &s).unwrap(),
            format!("app:1.0-2@{NEW_D}")
        );
        assert_eq!(
            move_to("docker.io/library/app:1.0-1", &s).unwrap(),
            "docker.io/library/app:1.0-2"
        );
        assert_eq!(
            move_to("library/app:1.0-1", &s).unwrap(),
            "library/app:1.0-2"
        );
        assert_eq!(
            move_to("index.docker.io/app:1.0-1", &s).unwrap(),
            "index.docker.io/app:1.0-2"
        );
    }

    #[test]
    fn another_repository_is_spelled_like_the_file() {
        let hub = succ(Some("docker.io/library/newapp:2"), None);
        assert_eq!(move_to("app:1", &hub).unwrap(), "newapp:2");
        assert_eq!(move_to("library/app:1", &hub).unwrap(), "library/newapp:2");
        assert_eq!(
            move_to("docker.io/app:1", &hub).unwrap(),
            "docker.io/newapp:2"
        );
        assert_eq!(
            move_to("docker.io/library/app:1", &hub).unwrap(),
            "docker.io/library/newapp:2"
        );
        assert_eq!(
            move_to("ghcr.io/o/app:1", &hub).unwrap(),
            "docker.io/library/newapp:2"
        );
        let same_host = succ(Some("Reg.example.com:5000/team/new:2"), None);
        // The registry is compared normalised; an uppercase host is kept as written.
        assert_eq!(
            move_to("Reg.example.com:5000/team/app:1", &same_host).unwrap(),
            "Reg.example.com:5000/team/new:2"
        );
        let other = succ(Some("ghcr.io/o/new:2"), None);
        assert_eq!(move_to("app:1", &other).unwrap(), "ghcr.io/o/new:2");
    }

    #[test]
    fn missing_parts_are_errors() {
        let digest_only = succ(None, Some(NEW_D));
        assert!(
            move_to("app:1", &digest_only)
                .unwrap_err()
                .contains("pins a tag")
        );
        assert_eq!(
            move_to(&format!("app@{OLD_D}"), &digest_only).unwrap(),
            format!("app@{NEW_D}")
        );
        let tag_only = succ(Some("app:2"), None);
        assert!(
            move_to(&format!("app:1@{OLD_D}"), &tag_only)
                .unwrap_err()
                .contains("pins a digest")
        );
        // The digest may come with the reference.
        let both = succ(Some(&format!("app:2@{NEW_D}")), None);
        assert_eq!(
            move_to(&format!("app:1@{OLD_D}"), &both).unwrap(),
            format!("app:2@{NEW_D}")
        );
        assert!(move_to("app:1", &succ(Some("Bad Ref"), None)).is_err());
    }
}
