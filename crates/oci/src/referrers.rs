//! Pure rules of the referrers tag schema, the fallback for registries without the
//! referrers API.

use crate::descriptor::Descriptor;
use crate::digest::Digest;

/// Whether the referrer `d` passes the referrers API's `artifactType` filter: every
/// referrer when `types` is empty, else those whose artifactType is one of them. The one
/// filter of the registry's listing, the layout store and the tag-schema fallback.
pub fn passes_filter(d: &Descriptor, types: &[&str]) -> bool {
    artifact_type_passes(d.artifact_type.as_deref(), types)
}

/// [`passes_filter`] for a referrer known only by its artifactType (an index that keeps
/// compact entries instead of descriptors).
pub fn artifact_type_passes(artifact_type: Option<&str>, types: &[&str]) -> bool {
    types.is_empty() || artifact_type.is_some_and(|t| types.contains(&t))
}

/// The tag that holds the referrers index of `subject` on a registry without the referrers
/// API: `<alg>-<encoded>`, the algorithm truncated to 32 and the encoded part to 64
/// characters (so a sha512 subject uses its first 64 hex characters).
///
/// See <https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema>.
pub fn fallback_tag(subject: &Digest) -> String {
    let alg: String = subject.algorithm().as_str().chars().take(32).collect();
    let enc: String = subject.encoded().chars().take(64).collect();
    format!("{alg}-{enc}")
}

/// The subject whose referrers index `tag` holds, when `tag` is a referrers tag of a sha256
/// subject (`sha256-<64 hex>`), the inverse of [`fallback_tag`]. Tags of other algorithms
/// are truncated and name no digest exactly, so they give `None`, as every other tag does.
pub fn subject_of_fallback_tag(tag: &str) -> Option<Digest> {
    let hex = tag.strip_prefix("sha256-")?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    format!("sha256:{hex}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;

    #[test]
    fn a_sha256_referrers_tag_names_its_subject() {
        let d = Digest::sha256(b"subject");
        assert_eq!(subject_of_fallback_tag(&fallback_tag(&d)), Some(d));
        for other in [
            "latest",
            "sha256-abc",
            "sha512-00",
            "sha256-",
            &"sha256-".repeat(2),
        ] {
            assert_eq!(subject_of_fallback_tag(other), None, "{other}");
        }
        let upper = fallback_tag(&Digest::sha256(b"x"))
            .to_uppercase()
            .replace("SHA256", "sha256");
        assert_eq!(subject_of_fallback_tag(&upper), None);
    }

    #[test]
    fn the_filter_keeps_the_named_types_or_everything() {
        let mut a = Descriptor::new(
            "application/vnd.oci.image.manifest.v1+json",
            Digest::sha256(b"a"),
            1,
        );
        a.artifact_type = Some("application/x.a".into());
        let none = Descriptor::new(
            "application/vnd.oci.image.manifest.v1+json",
            Digest::sha256(b"n"),
            1,
        );
        assert!(passes_filter(&a, &[]) && passes_filter(&none, &[]));
        assert!(passes_filter(&a, &["application/x.b", "application/x.a"]));
        assert!(!passes_filter(&a, &["application/x.b"]));
        assert!(!passes_filter(&none, &["application/x.a"]));
    }

    #[test]
    fn sha256_and_sha512_tags() {
        let d = Digest::sha256(b"{}");
        assert_eq!(
            fallback_tag(&d),
            "sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let d = Digest::compute(Algorithm::Sha512, b"x");
        let tag = fallback_tag(&d);
        assert_eq!(tag.len(), "sha512-".len() + 64);
        assert!(d.encoded().starts_with(tag.trim_start_matches("sha512-")));
    }
}
