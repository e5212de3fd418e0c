//! kustomization reader: the entries of the top-level `images:` list, kustomize's image
//! transformer. An entry sets the images its `name` selects in the resources to `newName`
//! (else the same name), `newTag` and `digest`; an entry with neither `newTag` nor `digest`
//! leaves the version to the resources and is skipped. Only `newName`, `newTag` and `digest`
//! are ever edited: `name` is a selector, so a move to another repository without `newName`
//! is a note, not an edit.

use super::Found;
use super::yaml::{self, Node, Scalar};

pub(crate) fn scan(text: &str, found: &mut Found) {
    for doc in yaml::documents(text) {
        let Some(Node::Seq(entries)) = doc.get("images") else {
            continue;
        };
        for entry in entries {
            let non_empty = |s: &&Scalar| !s.value.is_empty();
            let new_name = entry.scalar("newName").filter(non_empty);
            let Some(repository) = new_name.or_else(|| entry.scalar("name").filter(non_empty))
            else {
                continue;
            };
            let tag = entry.scalar("newTag").filter(non_empty);
            let digest = entry.scalar("digest").filter(non_empty);
            found.fields(text, None, repository, tag, digest, new_name.is_none());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use lineage_lifecycle::State;

    use super::super::{FileKind, Shape, plan, scan};

    const D0: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn kustomization() -> String {
        format!(
            "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: registry.example/app   # pinned
    newTag: \"1.0-1\"
  - name: postgres
    newName: registry.example/db
    newTag: 16-1
  - name: alpine
    digest: {D0}
  - name: nginx
    newName: mirror.example/nginx
  - name: registry.example/tool
    newTag: 2.0-1
"
        )
    }

    #[test]
    fn entries_with_a_tag_or_digest_are_read() {
        let t = kustomization();
        let s = scan(FileKind::Kustomization, &t);
        assert_eq!(
            s.written(),
            vec![
                (6, "registry.example/app:1.0-1"),
                (9, "registry.example/db:16-1"),
                (11, format!("alpine@{D0}").as_str()),
                (15, "registry.example/tool:2.0-1"),
            ]
        );
        let fixed: Vec<bool> = s
            .occurrences
            .iter()
            .map(|o| {
                matches!(
                    o.shape,
                    Shape::Fields {
                        fixed_repository: true,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(fixed, vec![true, false, true, true]);
    }

    fn moved(reference: &str, to: &str) -> (String, crate::Looked) {
        let status = super::super::plan::tests::status(State::EndOfLife, Some(to));
        (reference.to_string(), Ok(status))
    }

    /// `newTag` and `newName` are spliced; a move to another repository through `name` alone
    /// is a note and leaves the entry as it is.
    #[test]
    fn only_new_fields_are_edited() {
        let t = kustomization();
        let s = scan(FileKind::Kustomization, &t);
        let statuses = HashMap::from([
            moved("registry.example/app:1.0-1", "registry.example/app:1.0-2"),
            moved("registry.example/db:16-1", "registry.example/db2:16-2"),
            moved(
                "registry.example/tool:2.0-1",
                "registry.example/tool2:2.0-2",
            ),
        ]);
        let p = plan(&t, &s, &statuses);
        let want = t.replace("newTag: \"1.0-1\"", "newTag: \"1.0-2\"").replace(
            "newName: registry.example/db\n    newTag: 16-1",
            "newName: registry.example/db2\n    newTag: 16-2",
        );
        assert_eq!(p.updated.as_deref(), Some(want.as_str()));
        assert_eq!(p.moves.len(), 2);
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
        assert_eq!(p.notes[0].line, 15);
        assert!(
            p.notes[0]
                .message
                .contains("`name: registry.example/tool` selects the images"),
            "{}",
            p.notes[0].message
        );
    }

    /// Issue 21: a `digest:` that is not a full digest is noted as not moved.
    #[test]
    fn a_digest_that_is_not_full_is_noted() {
        let t = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: nginx
    digest: 3b5bb
  - name: alpine
    digest: sha256:3b5bb
  - name: busybox
    newTag: \"1.36\"
";
        let s = scan(FileKind::Kustomization, t);
        assert_eq!(s.written(), vec![(8, "busybox:1.36")]);
        let notes: Vec<_> = s
            .notes
            .iter()
            .map(|n| (n.line, n.message.as_str()))
            .collect();
        assert_eq!(
            notes,
            vec![
                (
                    5,
                    "`nginx@3b5bb` is not moved: its digest `3b5bb` is not a full digest (`sha256:` and 64 hex digits)"
                ),
                (
                    7,
                    "`alpine@sha256:3b5bb` is not moved: its digest `sha256:3b5bb` is not a full digest (`sha256:` and 64 hex digits)"
                ),
            ]
        );
    }
}
