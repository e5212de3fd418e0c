//! Kubernetes manifest reader: in every document with `apiVersion` and `kind` (so any YAML
//! that is not a manifest yields nothing), each `image:` scalar at any depth (containers, init
//! and ephemeral containers, in any workload or `List`) and each image volume's
//! `image.reference`.

use super::Found;
use super::text;
use super::yaml::{self, Node};

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
}
