//! From uses to rows: [`group`] makes one [`Image`] per distinct image, the caller looks
//! each [`Image::reference`] up, and [`rows`] joins the statuses in, worst first.
//!
//! **Distinct images.** References are normalised first ([`ImageRef::parse`]: `nginx` is
//! `docker.io/library/nginx:latest`). An image whose digest is known (written, or running
//! per [`Use::running`]) is that digest in its repository, whatever tag it was written
//! with; otherwise it is its normalised `registry/repository:tag`. So `app:1.0` running
//! `sha256:a…` and `app@sha256:a…` are one image, and `app:1.0` running `sha256:a…` and
//! `app:1.0` running `sha256:b…` (pods started on either side of a release) are two. An
//! image spelt several ways is shown as its most used spelling (the first of those tied),
//! and every use counts. A reference that does not parse is its own image; its lookup
//! fails and says why.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lineage_lifecycle::{BaseStatus, State, Successor, Warning};
use lineage_oci::{Digest, ImageRef};

use super::input::{Place, Use};
use crate::{Looked, LookupFailed};

/// One distinct image in use, before its lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The image as written (its most used spelling).
    pub image: String,
    /// What to look up: the normalised spelling, with the running digest when there is
    /// one (`registry/repo:tag@sha256:…`); the spelling itself when it does not parse.
    pub reference: String,
    /// The digest known without a lookup (written or running).
    pub digest: Option<Digest>,
    /// Where it is used, in input order.
    pub uses: Vec<Place>,
}

/// One row of the audit: an image, its status, where it is used.
///
/// Serialised as `{"image", "reference", "digest", "state", "endOfLife", "successor",
/// "uses", "error", "base"}`; absent values are `null`, and `error` is present only when the lookup
/// failed (the state is then `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The image as written.
    pub image: String,
    /// The normalised reference looked up.
    pub reference: String,
    /// The image's digest: from the lookup, else as known from the input.
    pub digest: Option<Digest>,
    /// The lifecycle state (`unknown` when the lookup failed).
    pub state: State,
    /// The effective end-of-life, RFC 3339 UTC.
    #[serde(serialize_with = "lineage_oci::time::serialize_rfc3339_opt")]
    pub end_of_life: Option<DateTime<Utc>>,
    /// The image to move to.
    pub successor: Option<Successor>,
    /// Where it is used.
    pub uses: Vec<Place>,
    /// Why the lookup failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Lifecycle data that could not be read (not serialised; the caller reports them).
    #[serde(skip)]
    pub warnings: Vec<Warning>,
    /// The image's base and its status (issue 17), when one was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseStatus>,
}

/// How one spelling of an image is looked up and grouped.
struct Normalised {
    /// The group's key.
    key: String,
    /// The reference to look up.
    reference: String,
    /// The digest known without a lookup.
    digest: Option<Digest>,
}

fn normalise(image: &str, running: Option<&Digest>) -> Normalised {
    let Ok(parsed) = ImageRef::parse(image) else {
        return Normalised {
            key: format!("invalid {image}"),
            reference: image.to_string(),
            digest: None,
        };
    };
    let digest = parsed.digest().or(running).cloned();
    match digest {
        Some(d) => Normalised {
            key: format!("{}@{d}", parsed.repository_ref()),
            reference: match parsed.digest() {
                Some(_) => parsed.to_string(),
                None => format!("{parsed}@{d}"),
            },
            digest: Some(d),
        },
        None => Normalised {
            key: parsed.to_string(),
            reference: parsed.to_string(),
            digest: None,
        },
    }
}

/// One [`Image`] per distinct image in `uses`, in order of first use.
pub fn group(uses: Vec<Use>) -> Vec<Image> {
    struct Group {
        /// (spelling, its normalised form, uses), in order of first use.
        spellings: Vec<(String, Normalised, usize)>,
        uses: Vec<Place>,
    }
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Group> = HashMap::new();
    for u in uses {
        let n = normalise(&u.image, u.running.as_ref());
        let group = groups.entry(n.key.clone()).or_insert_with(|| {
            order.push(n.key.clone());
            Group {
                spellings: Vec::new(),
                uses: Vec::new(),
            }
        });
        group.uses.push(u.place);
        match group
            .spellings
            .iter_mut()
            .find(|(s, m, _)| *s == u.image && m.reference == n.reference)
        {
            Some((_, _, count)) => *count += 1,
            None => group.spellings.push((u.image, n, 1)),
        }
    }
    order
        .into_iter()
        .filter_map(|key| groups.remove(&key))
        .filter_map(|g| {
            let most = g.spellings.iter().map(|(_, _, c)| *c).max()?;
            let (image, n, _) = g.spellings.into_iter().find(|(_, _, c)| *c == most)?;
            Some(Image {
                image,
                reference: n.reference,
                digest: n.digest,
                uses: g.uses,
            })
        })
        .collect()
}

/// The rows for `images`, given the lookup of each [`Image::reference`] in `looked` (a
/// missing one counts as a failed lookup), sorted by [`severity`] then image.
pub fn rows(images: Vec<Image>, looked: &HashMap<String, Looked>) -> Vec<Row> {
    let mut rows: Vec<Row> = images
        .into_iter()
        .map(|i| match looked.get(&i.reference) {
            Some(Ok(s)) => Row {
                image: i.image,
                reference: i.reference,
                digest: Some(s.digest.clone()),
                state: s.state,
                end_of_life: s.end_of_life,
                successor: s.successor.clone(),
                uses: i.uses,
                error: None,
                warnings: s.warnings.clone(),
                base: s.base.clone(),
            },
            failed => Row {
                image: i.image,
                digest: i.digest,
                state: State::Unknown,
                end_of_life: None,
                successor: None,
                uses: i.uses,
                error: Some(match failed {
                    Some(Err(e)) => e.message(),
                    _ => LookupFailed::NotLookedUp(i.reference.clone()).message(),
                }),
                reference: i.reference,
                warnings: Vec::new(),
                base: None,
            },
        })
        .collect();
    rows.sort_by(|a, b| {
        (severity(a), &a.image, &a.reference).cmp(&(severity(b), &b.image, &b.reference))
    });
    rows
}

/// Where a row sorts: end-of-life 0, end-of-support and scheduled 1, superseded 2,
/// base-end-of-life 3, unknown (including failed lookups) 4, supported 5.
pub fn severity(row: &Row) -> u8 {
    match row.state {
        State::EndOfLife => 0,
        State::EndOfSupport | State::Scheduled => 1,
        State::Superseded => 2,
        State::BaseEndOfLife => 3,
        State::Unknown => 4,
        State::Supported => 5,
    }
}

/// Whether any row is in `threshold` or past it ([`State::is_at_least`]), for `--fail-on`.
pub fn fails(rows: &[Row], threshold: State) -> bool {
    rows.iter().any(|r| r.state.is_at_least(threshold))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use lineage_lifecycle::{Namespace, StatusInput, decide};

    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn use_of(image: &str, running: Option<&str>, name: &str) -> Use {
        Use {
            image: image.into(),
            running: running.map(|d| d.parse().unwrap()),
            place: Place {
                namespace: Some("ns".into()),
                kind: Some("Pod".into()),
                name: Some(name.into()),
                container: Some("c".into()),
                line: None,
            },
        }
    }

    #[test]
    fn spellings_of_one_image_are_one_group_shown_as_the_most_used() {
        let images = group(vec![
            use_of("docker.io/library/nginx:latest", None, "p1"),
            use_of("nginx", None, "p2"),
            use_of("nginx", None, "p3"),
            use_of("index.docker.io/library/nginx", None, "p4"),
        ]);
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].image, "nginx");
        assert_eq!(images[0].reference, "docker.io/library/nginx:latest");
        assert_eq!(images[0].uses.len(), 4);
        assert_eq!(images[0].uses[0].name.as_deref(), Some("p1"));
    }

    #[test]
    fn the_running_digest_decides() {
        let images = group(vec![
            use_of("ghcr.io/o/app:1.0", Some(A), "old-1"),
            use_of("ghcr.io/o/app:1.0", Some(B), "new-1"),
            use_of(&format!("ghcr.io/o/app@{A}"), None, "pinned"),
            use_of("ghcr.io/o/app:1.0", Some(A), "old-2"),
            use_of("ghcr.io/o/app:1.0", None, "pending"),
        ]);
        let summary: Vec<(&str, &str, usize)> = images
            .iter()
            .map(|i| (i.image.as_str(), i.reference.as_str(), i.uses.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("ghcr.io/o/app:1.0", &*format!("ghcr.io/o/app:1.0@{A}"), 3),
                ("ghcr.io/o/app:1.0", &*format!("ghcr.io/o/app:1.0@{B}"), 1),
                ("ghcr.io/o/app:1.0", "ghcr.io/o/app:1.0", 1),
            ]
        );
        assert_eq!(images[0].digest.as_ref().unwrap().as_str(), A);
        assert_eq!(images[2].digest, None);
    }

    #[test]
    fn an_invalid_reference_is_its_own_image() {
        let images = group(vec![use_of("Not/Valid", None, "p"), use_of("x", None, "q")]);
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].reference, "Not/Valid");
    }

    fn status(reference: &str, digest: &str, eol: Option<&str>) -> lineage_lifecycle::Status {
        let mut image_annotations = BTreeMap::new();
        if let Some(e) = eol {
            image_annotations.insert("vnd.lineage.image.end-of-life".to_string(), e.to_string());
        }
        decide(StatusInput {
            reference: reference.into(),
            digest: digest.parse().unwrap(),
            image_annotations,
            referrers: Vec::new(),
            namespaces: vec![Namespace::default()],
            rolling_tag: None,
            at: lineage_oci::time::parse_lenient("2024-01-01").unwrap(),
        })
    }

    #[test]
    fn rows_sort_worst_first_and_failures_are_unknown() {
        let images = group(vec![
            use_of("a.io/ok:1", None, "p1"),
            use_of("a.io/gone:1", None, "p2"),
            use_of("a.io/zz-old:1", None, "p3"),
            use_of("a.io/aa-later:1", None, "p4"),
            use_of("a.io/plain:1", None, "p5"),
            use_of("a.io/missing:1", None, "p6"),
        ]);
        let mut looked: HashMap<String, Looked> = HashMap::new();
        let mut put = |r: &str, l: Looked| {
            looked.insert(r.to_string(), l);
        };
        put(
            "a.io/zz-old:1",
            Ok(status("a.io/zz-old:1", A, Some("2023-07-10"))),
        );
        put(
            "a.io/aa-later:1",
            Ok(status("a.io/aa-later:1", B, Some("2099-01-01"))),
        );
        put("a.io/plain:1", Ok(status("a.io/plain:1", A, None)));
        put("a.io/gone:1", Err(crate::tests::timed_out("a.io/gone:1")));
        let rows = rows(images, &looked);
        let summary: Vec<(&str, State, Option<&str>)> = rows
            .iter()
            .map(|r| (r.image.as_str(), r.state, r.error.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a.io/zz-old:1", State::EndOfLife, None),
                ("a.io/aa-later:1", State::Scheduled, None),
                (
                    "a.io/gone:1",
                    State::Unknown,
                    Some("cannot look up `a.io/gone:1`: no answer from the registry within 2 s")
                ),
                (
                    "a.io/missing:1",
                    State::Unknown,
                    Some("`a.io/missing:1` was not looked up")
                ),
                (
                    "a.io/ok:1",
                    State::Unknown,
                    Some("`a.io/ok:1` was not looked up")
                ),
                ("a.io/plain:1", State::Unknown, None),
            ]
        );
        assert!(fails(&rows, State::EndOfLife));
        assert!(fails(&rows, State::Scheduled));
        assert!(!fails(&rows[1..], State::EndOfLife));
        assert!(fails(&rows[2..], State::Unknown));
        assert!(!fails(&rows[..2], State::Unknown));

        let json = serde_json::to_value(&rows[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "image": "a.io/zz-old:1", "reference": "a.io/zz-old:1", "digest": A,
                "state": "end-of-life", "endOfLife": "2023-07-10T00:00:00Z", "successor": null,
                "uses": [{"namespace": "ns", "kind": "Pod", "name": "p3", "container": "c"}]
            })
        );
        let failed = serde_json::to_value(&rows[2]).unwrap();
        assert_eq!(
            failed["error"],
            "cannot look up `a.io/gone:1`: no answer from the registry within 2 s"
        );
        assert_eq!(failed["digest"], serde_json::Value::Null);
        assert_eq!(failed["state"], "unknown");
    }
}
