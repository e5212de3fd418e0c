//! Provenance evidence: a build provenance attestation in the image's index, as BuildKit
//! attaches it, naming the base image by digest.
//!
//! BuildKit's layout: the image index lists, besides the platform manifests, one
//! attestation manifest per platform, an entry with the annotations
//! `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest:
//! <platform manifest digest>` (platform `unknown/unknown`). Its layers are in-toto
//! statements (`application/vnd.in-toto+json`), each annotated
//! `in-toto.io/predicate-type`; the SLSA provenance statement (predicate type
//! `https://slsa.dev/provenance/v0.2` or `https://slsa.dev/provenance/v1`) lists the images
//! the build read as `predicate.materials` (v0.2) or
//! `predicate.buildDefinition.resolvedDependencies` (v1): `{"uri":
//! "pkg:docker/<name>@<tag>?platform=linux%2Famd64", "digest": {"sha256": "…"}}`.
//!
//! The base is the image material that is not the Dockerfile frontend
//! (`docker/dockerfile`, `docker/dockerfile-upstream`); when a multi-stage build names
//! several, the last one listed.

use std::sync::Arc;

use lineage_oci::{Digest, ImageRef, TagOrDigest};

use super::{Claim, Evidence};
use crate::facts::{FactSource, ManifestFacts};

/// The index entry annotation saying what an entry is.
pub(crate) const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// The index entry annotation naming the manifest an attestation is about.
pub(crate) const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// [`REFERENCE_TYPE`]'s value for an attestation manifest.
pub(crate) const ATTESTATION_MANIFEST: &str = "attestation-manifest";
/// The layer annotation naming a statement's predicate type.
pub(crate) const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";
/// The prefix of the SLSA provenance predicate types.
pub(crate) const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/";

/// An image a provenance statement says the build read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Material {
    /// The image's repository, normalised, with the tag the build named.
    pub(crate) image: ImageRef,
    /// The digest the build resolved it to.
    pub(crate) digest: Digest,
}

/// The images a provenance statement names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Provenance {
    /// In the statement's order; the frontend image left out.
    pub(crate) images: Vec<Material>,
}

impl Provenance {
    /// The image materials of the in-toto statement `bytes` (none when it is not a SLSA
    /// provenance statement).
    pub(crate) fn parse(bytes: &[u8]) -> Provenance {
        let Ok(statement) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return Provenance::default();
        };
        let predicate_type = statement
            .get("predicateType")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !predicate_type.starts_with(SLSA_PROVENANCE) {
            return Provenance::default();
        }
        let predicate = statement.get("predicate");
        let materials = predicate
            .and_then(|p| p.get("materials"))
            .or_else(|| {
                predicate
                    .and_then(|p| p.get("buildDefinition"))
                    .and_then(|b| b.get("resolvedDependencies"))
            })
            .and_then(|m| m.as_array());
        let images = materials
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let uri = m.get("uri")?.as_str()?;
                let hex = m.get("digest")?.get("sha256")?.as_str()?;
                let digest: Digest = format!("sha256:{hex}").parse().ok()?;
                let image = docker_purl(uri)?;
                let repo = image.repository();
                if repo.ends_with("docker/dockerfile")
                    || repo.ends_with("docker/dockerfile-upstream")
                {
                    return None;
                }
                Some(Material { image, digest })
            })
            .collect();
        Provenance { images }
    }
}

/// The image a `pkg:docker/…` package URL names: `pkg:docker/[NAMESPACE/]NAME[@TAG][?…]`,
/// NAMESPACE and NAME percent-encoded, the familiar name as BuildKit writes it.
fn docker_purl(uri: &str) -> Option<ImageRef> {
    let rest = uri.strip_prefix("pkg:docker/")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    let (name, tag) = match path.rsplit_once('@') {
        Some((n, t)) => (n, Some(percent_decode(t)?)),
        None => (path, None),
    };
    let name = name
        .split('/')
        .map(percent_decode)
        .collect::<Option<Vec<_>>>()?
        .join("/");
    let reference = match tag {
        Some(t) => format!("{name}:{t}"),
        None => name,
    };
    ImageRef::parse(&reference).ok()
}

/// `s` with `%XX` escapes decoded; `None` when an escape is malformed or the result is not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The provenance claim about the platform manifest `platform` of the index `index`: its
/// attestation manifest and provenance statement read through `source` (two requests, none
/// when cached); `None` when there is no attestation or it names no base image.
pub(crate) async fn claim(
    source: &dyn FactSource,
    index: &ManifestFacts,
    platform: &Digest,
) -> Option<Claim> {
    let attestation = index.children.iter().find(|c| {
        c.annotation(REFERENCE_TYPE) == Some(ATTESTATION_MANIFEST)
            && c.annotation(REFERENCE_DIGEST) == Some(platform.as_str())
    })?;
    let manifest = source
        .manifest(Some(&TagOrDigest::Digest(attestation.digest.clone())))
        .await
        .ok()?;
    let mut found: Option<Arc<Provenance>> = None;
    for layer in &manifest.layers {
        if layer
            .annotation(PREDICATE_TYPE)
            .is_some_and(|t| t.starts_with(SLSA_PROVENANCE))
        {
            found = source.provenance(layer).await.ok();
            break;
        }
    }
    let material = found?.images.last()?.clone();
    Some(Claim {
        reference: Some(material.image.to_string()),
        image: Some(
            material
                .image
                .with_target(Some(TagOrDigest::Digest(material.digest.clone()))),
        ),
        digest: material.digest,
        evidence: Evidence::Provenance,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_purls_name_the_image() {
        let i = docker_purl("pkg:docker/alpine@3.17?platform=linux%2Famd64").unwrap();
        assert_eq!(i.to_string(), "docker.io/library/alpine:3.17");
        let i = docker_purl(
            "pkg:docker/127.0.0.1%3A5000/team/base@1.0-20230707?platform=linux%2Farm64",
        )
        .unwrap();
        assert_eq!(i.to_string(), "127.0.0.1:5000/team/base:1.0-20230707");
        assert_eq!(docker_purl("pkg:npm/left-pad@1.0"), None);
        assert_eq!(docker_purl("pkg:docker/bad%zzname@1"), None);
    }

    #[test]
    fn materials_of_v02_and_resolved_dependencies_of_v1_without_the_frontend() {
        let hex = "a".repeat(64);
        let v02 = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{{"materials":[{{"uri":"pkg:docker/docker/dockerfile@1.5","digest":{{"sha256":"{hex}"}}}},{{"uri":"pkg:docker/registry.example/base@1.0?platform=linux%2Famd64","digest":{{"sha256":"{hex}"}}}}]}}}}"#
        );
        let p = Provenance::parse(v02.as_bytes());
        assert_eq!(p.images.len(), 1);
        assert_eq!(p.images[0].image.to_string(), "registry.example/base:1.0");
        let v1 = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","predicate":{{"buildDefinition":{{"resolvedDependencies":[{{"uri":"pkg:docker/registry.example/base@1.0","digest":{{"sha256":"{hex}"}}}}]}}}}}}"#
        );
        assert_eq!(Provenance::parse(v1.as_bytes()).images.len(), 1);
        let sbom = r#"{"predicateType":"https://spdx.dev/Document","predicate":{"materials":[]}}"#;
        assert_eq!(Provenance::parse(sbom.as_bytes()), Provenance::default());
    }
}
