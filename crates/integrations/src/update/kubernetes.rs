//! Kubernetes manifest reader: in every document with `apiVersion` and `kind` (so any YAML
//! that is not a manifest yields nothing), each `image:` scalar at any depth (containers, init
//! and ephemeral containers, in any workload or `List`) and each image volume's
//! `image.reference`. Images in flow collections and JSON-style manifests, which this
//! reader does not splice, are noted per reference as not moved.

use std::collections::HashMap;
use std::ops::Range;

use super::text;
use super::yaml::{self, Node};
use super::{Found, Shape, not_moved};

pub(crate) fn scan(text: &str, found: &mut Found) {
    for doc in yaml::documents(text) {
        if doc.get("apiVersion").is_none() || doc.get("kind").is_none() {
            continue;
        }
        doc.walk(&mut |key, node| {
            if key != Some("image") {
                return;
            }
            let scalar = match node {
                Node::Scalar(s) => Some(s),
                Node::Map(_) => node.scalar("reference"),
                _ => None,
            };
            if let Some(s) = scalar {
                found.image(s.line, vec![text::piece(text, s.span.clone())]);
            }
        });
    }
    note_unedited(text, found);
}

/// Note, per reference, every image `lineage audit` reads in `text` that the block-style
/// reader above did not record: images inside YAML flow collections
/// (`containers: [{name: web, image: nginx:1.25}]`) and JSON-style manifests, which this
/// reader does not splice. They are never dropped silently.
fn note_unedited(text: &str, found: &mut Found) {
    let Ok(uses) = crate::audit::input::read(text) else {
        return;
    };
    let recorded: Vec<Range<usize>> = found
        .occurrences
        .iter()
        .flat_map(|o| match &o.shape {
            Shape::Text(pieces) => pieces.iter().map(|p| p.span.clone()).collect::<Vec<_>>(),
            Shape::Fields { repository, .. } => vec![repository.span.clone()],
        })
        .collect();
    // Where the search for each image resumes, so that two uses are two places.
    let mut resume: HashMap<String, usize> = HashMap::new();
    for u in uses {
        if u.image.is_empty() {
            continue;
        }
        let from = resume.get(&u.image).copied().unwrap_or(0);
        let Some(at) = text[from..]
            .match_indices(u.image.as_str())
            .map(|(i, _)| from + i)
            .find(|at| !recorded.iter().any(|r| r.contains(at)))
        else {
            continue;
        };
        resume.insert(u.image.clone(), at + u.image.len());
        let line = text::line_of(text, at);
        if found.notes.iter().any(|n| n.line == line) {
            continue;
        }
        found.note(
            line,
            not_moved(
                &u.image,
                "it is written in a flow collection (`[…]`, `{…}`), which `lineage update` does not edit",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FileKind, scan};

    #[test]
    fn every_image_in_manifests_only() {
        let t = "\
# image: commented:1
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    note: \"image: in-a-string:1\"
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: app
          image: \"registry.example.com/app:1.0\"
          args: [\"--image\", \"flow:1\"]
      volumes:
        - name: data
          image:
            reference: registry.example.com/data:1
            pullPolicy: IfNotPresent
---
image: not-a-manifest:1
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  spec:
    containers:
    - image: 'nginx:1.25'   # quoted
";
        let s = scan(FileKind::Kubernetes, t);
        let w = s.written();
        assert_eq!(
            w,
            vec![
                (12, "busybox:1.36"),
                (15, "registry.example.com/app:1.0"),
                (20, "registry.example.com/data:1"),
                (32, "nginx:1.25"),
            ]
        );
    }

    /// Issue 21: images in flow collections and JSON-style manifests are noted per
    /// reference as not moved, never skipped silently.
    #[test]
    fn flow_collections_and_json_style_are_noted_per_reference() {
        let t = "\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - name: init
    image: busybox:1.36
  containers: [{name: web, image: nginx:1.25}, {name: side, image: nginx:1.25}]
";
        let s = scan(FileKind::Kubernetes, t);
        assert_eq!(s.written(), vec![(7, "busybox:1.36")]);
        let notes: Vec<_> = s
            .notes
            .iter()
            .map(|n| (n.line, n.message.as_str()))
            .collect();
        let msg = "`nginx:1.25` is not moved: it is written in a flow collection (`[…]`, `{…}`), which `lineage update` does not edit";
        // Two uses on one line: one note for the line.
        assert_eq!(notes, vec![(8, msg)]);

        let json = "{\n  \"apiVersion\": \"apps/v1\",\n  \"kind\": \"Deployment\",\n  \"metadata\": {\"name\": \"api\"},\n  \"spec\": {\"template\": {\"spec\": {\"containers\": [\n    {\"name\": \"api\", \"image\": \"ghcr.io/acme/api:1.2\"},\n    {\"name\": \"log\", \"image\": \"fluent/fluent-bit:3.0\"}\n  ]}}}\n}\n";
        let s = scan(FileKind::Kubernetes, json);
        assert!(s.occurrences.is_empty());
        let lines: Vec<_> = s.notes.iter().map(|n| n.line).collect();
        assert_eq!(lines, vec![6, 7], "{:?}", s.notes);
    }
}
