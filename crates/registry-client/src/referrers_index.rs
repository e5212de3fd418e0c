//! The pure rules of the referrers tag schema (DESIGN §2.3), with no I/O: validating a
//! fallback index, adding and removing entries, and filtering listings.
//!
//! Fallback indexes are edited as JSON values so fields other tools wrote survive, and are
//! written canonically so the same content always has the same digest.

use lineage_oci::{Descriptor, Digest, RawManifest, media_type};
use serde_json::{Map, Value};

/// Why a fallback index cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FallbackError {
    /// The tag holds something other than an image index.
    #[error("the referrers tag `{tag}` holds a {media_type}, not an image index")]
    NotAnIndex {
        /// The tag.
        tag: String,
        /// What it holds.
        media_type: String,
    },
    /// The registry resolved the tag to the subject itself (some normalise tags to digests).
    #[error("the referrers tag `{tag}` resolves to the subject itself")]
    IsSubject {
        /// The tag.
        tag: String,
    },
    /// The index is not valid JSON of the right shape.
    #[error("the referrers tag `{tag}` holds an invalid index: {message}")]
    Invalid {
        /// The tag.
        tag: String,
        /// What is wrong.
        message: String,
    },
}

/// Check that `raw`, read from tag `tag`, is a usable fallback index for `subject`, and return
/// its entries.
pub fn validate(
    raw: &RawManifest,
    subject: &Digest,
    tag: &str,
) -> Result<Vec<Descriptor>, FallbackError> {
    if raw.digest() == subject {
        return Err(FallbackError::IsSubject {
            tag: tag.to_string(),
        });
    }
    if !media_type::is_index(raw.media_type()) {
        return Err(FallbackError::NotAnIndex {
            tag: tag.to_string(),
            media_type: raw.media_type().to_string(),
        });
    }
    let view = raw.view().map_err(|e| FallbackError::Invalid {
        tag: tag.to_string(),
        message: e.to_string(),
    })?;
    Ok(view.manifests.clone())
}

/// The descriptor a referrers listing carries for `manifest`: media type, digest, size,
/// `artifactType` (the manifest's, else its config media type; none for an index without one)
/// and all its annotations.
pub fn entry_for(manifest: &RawManifest) -> Descriptor {
    manifest.referrer_descriptor()
}

/// Add `entry` to the fallback index `current` (none yet: start empty). Returns the new index,
/// or `None` when the entry is already listed (by digest).
pub fn add(
    current: Option<&RawManifest>,
    entry: &Descriptor,
) -> Result<Option<RawManifest>, FallbackError> {
    let mut top = top_of(current)?;
    let manifests = manifests_of(&mut top);
    let present = manifests
        .iter()
        .any(|m| m.get("digest").and_then(Value::as_str) == Some(entry.digest.as_str()));
    if present {
        return Ok(None);
    }
    manifests.push(serde_json::to_value(entry).unwrap_or(Value::Null));
    serialise(top).map(Some)
}

/// Remove the entry for `digest`. Returns the new index, or `None` when it was not listed.
pub fn remove(
    current: &RawManifest,
    digest: &Digest,
) -> Result<Option<RawManifest>, FallbackError> {
    let mut top = top_of(Some(current))?;
    let manifests = manifests_of(&mut top);
    let before = manifests.len();
    manifests.retain(|m| m.get("digest").and_then(Value::as_str) != Some(digest.as_str()));
    if manifests.len() == before {
        return Ok(None);
    }
    serialise(top).map(Some)
}

/// Remove the entries for every one of `digests`. Returns the new index, or `None` when none
/// was listed.
pub fn remove_all(
    current: &RawManifest,
    digests: &[Digest],
) -> Result<Option<RawManifest>, FallbackError> {
    let mut top = top_of(Some(current))?;
    let manifests = manifests_of(&mut top);
    let before = manifests.len();
    manifests.retain(|m| {
        let named = m.get("digest").and_then(Value::as_str);
        !digests.iter().any(|d| named == Some(d.as_str()))
    });
    if manifests.len() == before {
        return Ok(None);
    }
    serialise(top).map(Some)
}

/// Keep the descriptors of `artifact_type`, when one is given.
pub fn filter(entries: Vec<Descriptor>, artifact_type: Option<&str>) -> Vec<Descriptor> {
    let types: Vec<&str> = artifact_type.into_iter().collect();
    entries
        .into_iter()
        .filter(|d| lineage_oci::referrers::passes_filter(d, &types))
        .collect()
}

/// Whether `entries` lists `digest`.
pub fn lists(entries: &[Descriptor], digest: &Digest) -> bool {
    entries.iter().any(|d| &d.digest == digest)
}

fn top_of(current: Option<&RawManifest>) -> Result<Map<String, Value>, FallbackError> {
    let mut top = match current {
        Some(raw) => match serde_json::from_slice::<Value>(raw.bytes()) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(FallbackError::Invalid {
                    tag: String::new(),
                    message: "not a JSON object".into(),
                });
            }
        },
        None => Map::new(),
    };
    top.insert("schemaVersion".into(), Value::from(2));
    top.insert("mediaType".into(), Value::from(media_type::OCI_INDEX));
    Ok(top)
}

fn manifests_of(top: &mut Map<String, Value>) -> &mut Vec<Value> {
    let slot = top
        .entry("manifests")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(a) => a,
        _ => unreachable_array(),
    }
}

#[allow(clippy::panic)]
fn unreachable_array() -> ! {
    // `manifests_of` has just made the slot an array.
    panic!("manifests slot is an array")
}

fn serialise(top: Map<String, Value>) -> Result<RawManifest, FallbackError> {
    RawManifest::from_canonical(&Value::Object(top)).map_err(|e| FallbackError::Invalid {
        tag: String::new(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn referrer(note: &str, artifact_type: &str) -> RawManifest {
        RawManifest::from_canonical(&json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "artifactType": artifact_type, "config": Descriptor::empty(), "layers": [Descriptor::empty()],
            "subject": Descriptor::empty(), "annotations": {"note": note}}))
        .unwrap()
    }

    #[test]
    fn add_is_idempotent_and_keeps_unknown_fields() {
        let a = entry_for(&referrer("a", "application/x.a"));
        let b = entry_for(&referrer("b", "application/x.b"));
        let one = add(None, &a).unwrap().unwrap();
        assert!(add(Some(&one), &a).unwrap().is_none());
        // Another tool's index with an unknown field and an entry without annotations.
        let foreign = RawManifest::from_bytes(
            serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "vendor": {"x": 1},
                "manifests": [{"mediaType": media_type::OCI_MANIFEST, "digest": a.digest, "size": a.size, "extra": true}]}))
            .unwrap(),
            None,
        )
        .unwrap();
        let two = add(Some(&foreign), &b).unwrap().unwrap();
        let v: Value = serde_json::from_slice(two.bytes()).unwrap();
        assert_eq!(v["vendor"]["x"], 1);
        assert_eq!(v["manifests"][0]["extra"], true);
        assert_eq!(v["manifests"][1]["artifactType"], "application/x.b");
        assert_eq!(v["manifests"][1]["annotations"]["note"], "b");
        let entries = validate(&two, &Digest::sha256(b"subject"), "sha256-x").unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(filter(entries.clone(), Some("application/x.b")).len(), 1);
        assert!(lists(&entries, &a.digest));
    }

    #[test]
    fn the_same_content_gives_the_same_digest() {
        let a = entry_for(&referrer("a", "application/x.a"));
        let b = entry_for(&referrer("b", "application/x.b"));
        let x = add(Some(&add(None, &a).unwrap().unwrap()), &b)
            .unwrap()
            .unwrap();
        let y = add(Some(&add(None, &a).unwrap().unwrap()), &b)
            .unwrap()
            .unwrap();
        assert_eq!(x.digest(), y.digest());
    }

    #[test]
    fn remove_drops_only_that_entry() {
        let a = entry_for(&referrer("a", "t"));
        let b = entry_for(&referrer("b", "t"));
        let idx = add(Some(&add(None, &a).unwrap().unwrap()), &b)
            .unwrap()
            .unwrap();
        let less = remove(&idx, &a.digest).unwrap().unwrap();
        let entries = validate(&less, &Digest::sha256(b"s"), "t").unwrap();
        assert_eq!(
            entries.iter().map(|d| d.digest.clone()).collect::<Vec<_>>(),
            vec![b.digest.clone()]
        );
        assert!(remove(&less, &a.digest).unwrap().is_none());
    }

    #[test]
    fn remove_all_drops_only_those_entries() {
        let [a, b, c] = ["a", "b", "c"].map(|n| entry_for(&referrer(n, "t")));
        let mut idx = add(None, &a).unwrap().unwrap();
        for e in [&b, &c] {
            idx = add(Some(&idx), e).unwrap().unwrap();
        }
        let less = remove_all(&idx, &[a.digest.clone(), c.digest.clone()])
            .unwrap()
            .unwrap();
        let entries = validate(&less, &Digest::sha256(b"s"), "t").unwrap();
        assert_eq!(entries.len(), 1);
        assert!(lists(&entries, &b.digest));
        assert!(
            remove_all(&less, std::slice::from_ref(&a.digest))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn rejects_an_index_that_is_the_subject_or_not_an_index() {
        let r = referrer("a", "t");
        assert!(matches!(
            validate(&r, r.digest(), "t"),
            Err(FallbackError::IsSubject { .. })
        ));
        assert!(matches!(
            validate(&r, &Digest::sha256(b"x"), "t"),
            Err(FallbackError::NotAnIndex { .. })
        ));
    }
}
