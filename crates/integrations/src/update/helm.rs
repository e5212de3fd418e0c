//! Helm values reader: every key ending in `image` (any case: `image`, `initImage`,
//! `sidecarImage`), holding either a reference string or the chart convention
//! `{registry?, repository, tag | version, digest?}` (a `tag` may carry `@digest`, as Renovate
//! writes it). A map without a tag or digest leaves the version to the chart and is skipped.
//! Under keys other than `image` itself, a string counts only when it has a `:`, `/` or `@`,
//! so flags such as `useCustomImage: true` are not read as images. What looks like an image
//! but is not edited (a `repo:` + `tag:` map, a templated or invalid value) is noted as not
//! moved.

use super::text;
use super::yaml::{self, Node, Scalar};
use super::{Found, not_moved};

pub(crate) fn scan(text: &str, found: &mut Found) {
    for doc in yaml::documents(text) {
        doc.walk(&mut |key, node| {
            let Some(key) = key else {
                return;
            };
            if !key.to_ascii_lowercase().ends_with("image") {
                return;
            }
            match node {
                Node::Scalar(s) if key == "image" || s.value.contains([':', '/', '@']) => {
                    found.image(s.line, vec![text::piece(text, s.span.clone())]);
                }
                Node::Map(_) => fields(text, key, node, found),
                _ => {}
            }
        });
    }
}

/// Keys charts use for an image's name instead of `repository`.
const OTHER_NAME_KEYS: [&str; 4] = ["repo", "name", "image", "imageName"];

fn fields(text: &str, key: &str, node: &Node, found: &mut Found) {
    let Some(repository) = node.scalar("repository") else {
        // `repo:` + `tag:` and the like: an image this reader does not edit; say so.
        let versioned = ["tag", "version", "digest"]
            .into_iter()
            .find_map(|k| node.scalar(k).filter(|s| !s.value.is_empty()));
        let named = OTHER_NAME_KEYS
            .into_iter()
            .find_map(|k| node.scalar(k).map(|s| (k, s)));
        if let (Some((name_key, name)), Some(version)) = (named, versioned) {
            let why = format!(
                "`{key}` names it with `{name_key}:`, and lineage edits `registry:`, `repository:`, `tag:` and `digest:`"
            );
            found.note(
                name.line,
                not_moved(&format!("{}:{}", name.value, version.value), &why),
            );
        }
        return;
    };
    let non_empty = |s: &&Scalar| !s.value.is_empty();
    let registry = node.scalar("registry").filter(non_empty);
    let tag = node
        .scalar("tag")
        .or_else(|| node.scalar("version"))
        .filter(non_empty);
    let digest = node.scalar("digest").filter(non_empty);
    found.fields(text, registry, repository, tag, digest, false);
}

#[cfg(test)]
mod tests {
    use super::super::{FileKind, Shape, scan};

    #[test]
    fn strings_and_fields() {
        let t = "\
image:
  registry: registry.example.com
  repository: team/app
  tag: \"1.0\"
  pullPolicy: IfNotPresent
sidecar:
  initImage: busybox:1.36
  useCustomImage: true
  extraImage:
    repository: docker.io/library/nginx
    tag: 1.25@sha256:0000000000000000000000000000000000000000000000000000000000000000
chartDefault:
  image:
    repository: app
    tag: \"\"
pinned:
  image:
    repository: ghcr.io/o/app
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
";
        let s = scan(FileKind::HelmValues, t);
        let w = s.written();
        assert_eq!(
            w,
            vec![
                (3, "registry.example.com/team/app:1.0"),
                (7, "busybox:1.36"),
                (
                    10,
                    "docker.io/library/nginx:1.25@sha256:0000000000000000000000000000000000000000000000000000000000000000"
                ),
                (
                    18,
                    "ghcr.io/o/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"
                ),
            ]
        );
        let Shape::Fields {
            registry,
            repository,
            tag,
            digest,
            ..
        } = &s.occurrences[0].shape
        else {
            panic!()
        };
        assert_eq!(
            registry.as_ref().map(|p| p.text.as_str()),
            Some("registry.example.com")
        );
        assert_eq!(repository.text, "team/app");
        assert_eq!(
            &t[tag.as_ref().map(|p| p.span.clone()).unwrap_or_default()],
            "1.0"
        );
        assert!(digest.is_none());
    }

    /// Issue 21: images under keys lineage does not edit, and values that are not
    /// references, are noted as not moved.
    #[test]
    fn other_keys_and_templated_values_are_noted_as_not_moved() {
        let t = "\
# as charts write them
redis:
  image:
    repo: bitnami/redis
    tag: 7.2.4
worker:
  image: apache/airflow:|version|
gitSync:
  image:
    repository: registry.k8s.io/git-sync/git-sync
    tag: v4.1.0
flags:
  useCustomImage: true
";
        let s = scan(FileKind::HelmValues, t);
        assert_eq!(
            s.written(),
            vec![(10, "registry.k8s.io/git-sync/git-sync:v4.1.0")]
        );
        let notes: Vec<_> = s
            .notes
            .iter()
            .map(|n| (n.line, n.message.as_str()))
            .collect();
        assert_eq!(
            notes,
            vec![
                (
                    4,
                    "`bitnami/redis:7.2.4` is not moved: `image` names it with `repo:`, and lineage edits `registry:`, `repository:`, `tag:` and `digest:`"
                ),
                (
                    7,
                    "`apache/airflow:|version|` is not moved: it is not an image reference"
                ),
            ]
        );
    }
}
