//! Reading what `lineage audit` is given: the format is told from the text, then each
//! format yields the same [`Use`]s (an image as written, where it is used, and the digest
//! that runs when the input says).
//!
//! - **JSON**: one Kubernetes object or list, or several concatenated (`kubectl get … -o
//!   json`); see [`super::kubernetes`];
//! - **YAML**: Kubernetes manifests, one object or list per document (`---`);
//! - **a plain list**: one image reference per line; blank lines and `#` comments are
//!   skipped.
//!
//! The text is JSON when it starts with `{` or `[`; YAML when a line looks like YAML (a
//! `key:` or `key: value` line, a `- ` item or a `---` separator), which an image reference
//! never does; otherwise a list.

use std::fmt;

use lineage_oci::{Digest, ImageRef, ReferenceError};
use serde::Deserialize as _;

use super::kubernetes;

/// Where an image is used: a container of a Kubernetes object, or a line of a list.
///
/// Serialised as `{"namespace", "kind", "name", "container"}` (absent values `null`), plus
/// `line` for list entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Place {
    /// The object's namespace (`metadata.namespace`), when it names one.
    pub namespace: Option<String>,
    /// The object's kind, e.g. `Pod`, `Deployment`.
    pub kind: Option<String>,
    /// The object's name (`metadata.name`).
    pub name: Option<String>,
    /// The container's name.
    pub container: Option<String>,
    /// The line of a plain list (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl fmt::Display for Place {
    /// `namespace/Kind/name/container` without the parts that are absent, or `line N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [&self.namespace, &self.kind, &self.name, &self.container]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        match (parts.is_empty(), self.line) {
            (false, _) => f.write_str(&parts.join("/")),
            (true, Some(line)) => write!(f, "line {line}"),
            (true, None) => f.write_str("-"),
        }
    }
}

/// One use of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The image as written (a container's `image`, a list's line).
    pub image: String,
    /// The digest that runs, from the pod's container status (`imageID`), when the image as
    /// written names no digest: what the tag resolved to when the container started, which
    /// may no longer be what the tag resolves to.
    pub running: Option<Digest>,
    /// Where.
    pub place: Place,
}

/// The kinds of input `lineage audit` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Kubernetes JSON.
    Json,
    /// Kubernetes YAML manifests.
    Yaml,
    /// One image reference per line.
    List,
}

/// Why an input could not be read. The messages name the line (or the document) that is
/// wrong; the caller adds the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Nothing but blank lines and comments.
    #[error("the input is empty: expected Kubernetes JSON or YAML, or one image per line")]
    Empty,
    /// The text starts like JSON but is not.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// The line (1-based).
        line: usize,
        /// The column (1-based).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The text looks like YAML but is not.
    #[error("invalid YAML: {message}")]
    Yaml {
        /// What is wrong, with its line and column.
        message: String,
    },
    /// A JSON or YAML document that is no Kubernetes object or list.
    #[error("document {document} is not a Kubernetes object or list (it has no `kind` or `items`)")]
    NotKubernetes {
        /// The document (1-based).
        document: usize,
    },
    /// A line of a list that is no image reference.
    #[error("line {line}: `{text}` is not an image reference (expected one per line)")]
    Reference {
        /// The line (1-based).
        line: usize,
        /// The line's text, trimmed.
        text: String,
        /// Why.
        #[source]
        source: ReferenceError,
    },
}

/// The format of `text` (see the module documentation).
pub fn detect(text: &str) -> Format {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with(['{', '[']) {
        return Format::Json;
    }
    let yaml_like = content_lines(text).any(|(_, line)| {
        line == "---"
            || line.starts_with("--- ")
            || line.starts_with("- ")
            || line.ends_with(':')
            || line.contains(": ")
    });
    if yaml_like {
        Format::Yaml
    } else {
        Format::List
    }
}

/// Every use of an image in `text`, in the order written.
pub fn read(text: &str) -> Result<Vec<Use>, InputError> {
    let text = text.trim_start_matches('\u{feff}');
    if content_lines(text).next().is_none() {
        return Err(InputError::Empty);
    }
    match detect(text) {
        Format::Json => documents(json_documents(text)?),
        Format::Yaml => documents(yaml_documents(text)?),
        Format::List => list(text),
    }
}

/// The lines that are neither blank nor comments, trimmed, with their 1-based numbers.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn list(text: &str) -> Result<Vec<Use>, InputError> {
    content_lines(text)
        .map(|(line, l)| {
            // A `#` never appears in a reference, so it starts a trailing comment.
            let image = l.split('#').next().unwrap_or_default().trim();
            let check = if image.contains(char::is_whitespace) {
                Err(ReferenceError::Invalid {
                    input: image.to_string(),
                    reason: "a reference has no spaces".to_string(),
                })
            } else {
                ImageRef::parse(image).map(|_| ())
            };
            check.map_err(|source| InputError::Reference {
                line,
                text: image.to_string(),
                source,
            })?;
            Ok(Use {
                image: image.to_string(),
                running: None,
                place: Place {
                    line: Some(line),
                    ..Place::default()
                },
            })
        })
        .collect()
}

fn json_documents(text: &str) -> Result<Vec<serde_json::Value>, InputError> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .map(|d| {
            d.map_err(|e| InputError::Json {
                line: e.line(),
                column: e.column(),
                message: crate::json_message(&e),
            })
        })
        .collect()
}

fn yaml_documents(text: &str) -> Result<Vec<serde_json::Value>, InputError> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| {
            serde_json::Value::deserialize(d).map_err(|e| InputError::Yaml {
                message: e.to_string(),
            })
        })
        .collect()
}

fn documents(docs: Vec<serde_json::Value>) -> Result<Vec<Use>, InputError> {
    let mut uses = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let document = i + 1;
        match doc {
            // An empty YAML document (`---` with nothing after it).
            serde_json::Value::Null => {}
            serde_json::Value::Object(_) if kubernetes::is_kubernetes(doc) => {
                kubernetes::uses(doc, None, &mut uses);
            }
            serde_json::Value::Array(items) if items.iter().all(kubernetes::is_kubernetes) => {
                for item in items {
                    kubernetes::uses(item, None, &mut uses);
                }
            }
            _ => return Err(InputError::NotKubernetes { document }),
        }
    }
    Ok(uses)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn detects_the_format() {
        assert_eq!(detect("  {\"kind\": \"List\"}"), Format::Json);
        assert_eq!(detect("[]"), Format::Json);
        assert_eq!(detect("apiVersion: v1\nkind: Pod\n"), Format::Yaml);
        assert_eq!(detect("---\nkind: Pod\n"), Format::Yaml);
        assert_eq!(
            detect("# images\nnginx\nlocalhost:5000/a/b:1.0\n"),
            Format::List
        );
        assert_eq!(
            detect(
                "ghcr.io/o/app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
            ),
            Format::List
        );
    }

    #[test]
    fn reads_a_list_with_comments_and_blank_lines() {
        let uses =
            read("# fleet\n\nnginx\n  ghcr.io/o/app:1.0   # the app\nnginx:latest\n").unwrap();
        let images: Vec<(&str, Option<usize>)> = uses
            .iter()
            .map(|u| (u.image.as_str(), u.place.line))
            .collect();
        assert_eq!(
            images,
            vec![
                ("nginx", Some(3)),
                ("ghcr.io/o/app:1.0", Some(4)),
                ("nginx:latest", Some(5))
            ]
        );
        assert_eq!(uses[1].place.to_string(), "line 4");
    }

    #[test]
    fn a_bad_line_is_named() {
        let e = read("nginx\nnot an image\n").unwrap_err();
        assert!(matches!(e, InputError::Reference { line: 2, .. }), "{e:?}");
        assert!(e.to_string().starts_with("line 2: `not an image`"), "{e}");
        let e = read("nginx\nUpper/Case\n").unwrap_err();
        assert!(matches!(e, InputError::Reference { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(matches!(read(""), Err(InputError::Empty)));
        assert!(matches!(read("\n# nothing\n  \n"), Err(InputError::Empty)));
    }

    #[test]
    fn bad_json_and_yaml_name_the_position() {
        let e = read("{\"kind\": \"List\",\n \"items\": [}").unwrap_err();
        assert!(matches!(e, InputError::Json { line: 2, .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("invalid JSON at line 2, column"),
            "{e}"
        );
        let e = read("kind: Pod\n  spec: [\n").unwrap_err();
        assert!(matches!(e, InputError::Yaml { .. }), "{e:?}");
        assert!(e.to_string().contains("line"), "{e}");
    }

    #[test]
    fn documents_that_are_not_kubernetes_are_refused() {
        let e = read("{\"name\": \"x\"}").unwrap_err();
        assert!(
            matches!(e, InputError::NotKubernetes { document: 1 }),
            "{e:?}"
        );
        let e = read("kind: Pod\nmetadata: {name: a}\n---\nfoo: bar\n").unwrap_err();
        assert!(
            matches!(e, InputError::NotKubernetes { document: 2 }),
            "{e:?}"
        );
        // A list without items and a Service are fine: they use no image.
        assert!(
            read("{\"kind\": \"List\", \"items\": []}")
                .unwrap()
                .is_empty()
        );
        assert!(
            read("kind: Service\nmetadata: {name: s}\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn reads_concatenated_json_and_multi_document_yaml() {
        let pod = |n: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{n}","namespace":"ns"}},"spec":{{"containers":[{{"name":"c","image":"nginx"}}]}}}}"#
            )
        };
        let uses = read(&format!("{}\n{}", pod("a"), pod("b"))).unwrap();
        assert_eq!(uses.len(), 2);
        assert_eq!(uses[1].place.to_string(), "ns/Pod/b/c");

        let yaml = "---\n# a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/o/web:1.0\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n";
        let uses = read(yaml).unwrap();
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].image, "ghcr.io/o/web:1.0");
        assert_eq!(uses[0].place.to_string(), "Deployment/web/web");
    }

    #[test]
    fn places_serialise_with_nulls_and_a_line_only_for_lists() {
        let p = Place {
            namespace: Some("ns".into()),
            kind: Some("Pod".into()),
            name: Some("p".into()),
            container: Some("c".into()),
            line: None,
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"namespace": "ns", "kind": "Pod", "name": "p", "container": "c"})
        );
        let l = Place {
            line: Some(3),
            ..Place::default()
        };
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!({"namespace": null, "kind": null, "name": null, "container": null, "line": 3})
        );
    }
}
