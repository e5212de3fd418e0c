//! The manifest checks on the scratch image: artifacts and an index with `subject`, the referrers tag schema, several tags in one push, a manifest near 4 MiB.

use super::*;

pub(super) async fn artifacts(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let run = session.options.run_id.clone();
    let with_layer = content::artifact(content::ARTIFACT_TYPE, image, false, &run);
    let no_layers = content::artifact(content::ARTIFACT_TYPE_NO_LAYERS, image, true, &run);
    let index = content::index_artifact(image, &run);
    for (id, manifest) in [
        (ArtifactEmptyConfig, with_layer),
        (ArtifactNoLayers, no_layers),
        (IndexSubject, index),
    ] {
        let Ok(r) = put_manifest(session, manifest.digest().as_str(), &manifest).await else {
            return;
        };
        let ok = r.status == 201;
        verdict(results, id, &r, ok, r.summary());
        if id == ArtifactEmptyConfig {
            match (ok, r.header("oci-subject")) {
                (true, Some(s)) if s == image.digest().as_str() => {
                    results.yes(OciSubjectHeader, format!("OCI-Subject: {s}"))
                }
                (true, Some(s)) => results.no(
                    OciSubjectHeader,
                    format!("OCI-Subject names {s}, not the subject"),
                ),
                (true, None) => results.no(
                    OciSubjectHeader,
                    "no OCI-Subject in the 201: clients must keep the referrers tag",
                ),
                (false, _) => results.error(
                    OciSubjectHeader,
                    "the artifact with a subject was not accepted",
                ),
            }
        }
        if ok {
            scratch.manifests.push(manifest.digest().clone());
            scratch.referrers.push(manifest);
        }
    }
}

pub(super) async fn tag_schema(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let listed: Vec<&RawManifest> = scratch.referrers.iter().collect();
    let index = content::referrers_index(&listed);
    let tag = fallback_tag(image.digest());
    let Ok(r) = put_manifest(session, &tag, &index).await else {
        return;
    };
    if r.status != 201 {
        return verdict(results, ReferrersTagSchema, &r, false, r.summary());
    }
    scratch.manifests.push(index.digest().clone());
    scratch.tags.push(tag.clone());
    let Ok(back) = session.get_manifest(&tag).await else {
        return;
    };
    if back.status == 200 && back.body == index.bytes() {
        results.yes(
            ReferrersTagSchema,
            format!("HTTP 201 for tag {}…, read back byte-identical", &tag[..15]),
        );
    } else {
        results.no(
            ReferrersTagSchema,
            format!(
                "stored, but the tag reads back as {} with other bytes",
                back.summary()
            ),
        );
    }
}

pub(super) async fn multi_tag(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let run = session.options.run_id.clone();
    let tags = [format!("probe-{run}-a"), format!("probe-{run}-b")];
    let reference = format!("{}?tag={}&tag={}", image.digest(), tags[0], tags[1]);
    let Ok(r) = put_manifest(session, &reference, image).await else {
        return;
    };
    if r.status != 201 {
        return verdict(results, MultiTagPush, &r, false, r.summary());
    }
    let mut created = Vec::new();
    for t in &tags {
        let Ok(back) = session.get_manifest(t).await else {
            return;
        };
        if back.status == 200 && back.body == image.bytes() {
            created.push(t.clone());
        }
    }
    match created.len() {
        2 => {
            results.yes(
                MultiTagPush,
                "HTTP 201: both ?tag= tags point to the manifest",
            );
            scratch.spare_tag = Some(tags[1].clone());
        }
        0 => results.no(
            MultiTagPush,
            "HTTP 201, but ?tag= was ignored: no tag created",
        ),
        _ => results.no(
            MultiTagPush,
            "HTTP 201, but only one of the two ?tag= tags exists",
        ),
    }
    scratch.tags.extend(created);
}

pub(super) async fn large_manifest(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    config: &Blob,
    layer: &Blob,
) {
    let big = content::image_of_size(&session.options.run_id, config, layer, MAX_MANIFEST_SIZE);
    let Ok(r) = put_manifest(session, big.digest().as_str(), &big).await else {
        return;
    };
    if r.status != 201 {
        return verdict(
            results,
            Manifest4Mib,
            &r,
            false,
            format!("{} for a {MAX_MANIFEST_SIZE}-byte manifest", r.summary()),
        );
    }
    scratch.manifests.push(big.digest().clone());
    let Ok(back) = session.get_manifest(big.digest().as_str()).await else {
        return;
    };
    if back.status == 200 && back.body == big.bytes() {
        results.yes(
            Manifest4Mib,
            format!("HTTP 201 for a {MAX_MANIFEST_SIZE}-byte manifest, read back whole"),
        );
    } else {
        results.no(
            Manifest4Mib,
            format!(
                "HTTP 201, but it reads back as {} with other bytes",
                back.summary()
            ),
        );
    }
}
