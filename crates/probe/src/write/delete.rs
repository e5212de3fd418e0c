//! The deleting checks (a tag, a manifest), then the clean-up of what the run pushed.

use super::*;

/// The deleting checks, then the clean-up. Returns notes on anything left behind.
pub(crate) async fn delete_phase(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(image) = scratch.image.clone() {
        delete_tag(session, results, scratch, &image).await;
    }
    // The newest manifest first: nothing the run pushed refers to it.
    let mut manifests = std::mem::take(&mut scratch.manifests);
    manifests.reverse();
    let mut left = Vec::new();
    let mut deleting = true;
    for (i, digest) in manifests.iter().enumerate() {
        if !deleting {
            left.push(digest.clone());
            continue;
        }
        let req = session.write(Method::DELETE, &format!("manifests/{digest}"));
        let Ok(r) = session.send(req).await else {
            left.extend(manifests[i..].iter().cloned());
            break;
        };
        let ok = matches!(r.status, 200 | 202);
        if i == 0 {
            verdict(results, ManifestDelete, &r, ok, r.summary());
        }
        if !ok {
            notes.push(format!(
                "left {} manifests in {} (tags {}): the registry does not delete them ({})",
                manifests.len() - i,
                session.repository,
                scratch.tags.join(", "),
                r.summary()
            ));
            left.push(digest.clone());
            deleting = false;
        }
    }
    let blobs = std::mem::take(&mut scratch.blobs);
    let mut first = true;
    let mut kept = 0;
    let mut why = String::new();
    for (repo, digest) in &blobs {
        let req = RawRequest::new(
            Method::DELETE,
            format!("/v2/{repo}/blobs/{digest}"),
            Scope::Repository {
                name: repo.clone(),
                push: true,
            },
        );
        let Ok(r) = session.send(req).await else {
            break;
        };
        let ok = matches!(r.status, 200 | 202);
        if first {
            verdict(results, BlobDelete, &r, ok, r.summary());
            first = false;
        }
        if !ok {
            kept += 1;
            why = r.summary();
        }
    }
    if kept > 0 {
        notes.push(format!(
            "left {kept} blobs the run pushed: the registry does not delete them ({why})"
        ));
    }
    if first {
        results.error(BlobDelete, "no blob of the run to delete");
    }
    notes
}

pub(super) async fn delete_tag(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &mut Scratch,
    image: &RawManifest,
) {
    let tag = match scratch.spare_tag.clone() {
        Some(t) => t,
        None => {
            let t = format!("probe-{}-spare", session.options.run_id);
            match put_manifest(session, &t, image).await {
                Ok(r) if r.status == 201 => {
                    scratch.tags.push(t.clone());
                    t
                }
                Ok(r) => {
                    return results
                        .error(TagDelete, format!("cannot tag the image: {}", r.summary()));
                }
                Err(_) => return,
            }
        }
    };
    let Ok(r) = session
        .send(session.write(Method::DELETE, &format!("manifests/{tag}")))
        .await
    else {
        return;
    };
    if !matches!(r.status, 200 | 202) {
        return verdict(results, TagDelete, &r, false, r.summary());
    }
    let Ok(after) = session.get_manifest(&tag).await else {
        return;
    };
    let image_left = session.get_manifest(image.digest().as_str()).await;
    match (after.status, image_left.map(|r| r.status)) {
        (404, Ok(200)) => {
            results.yes(
                TagDelete,
                format!("{}: the tag is gone, the manifest stays", r.summary()),
            );
            scratch.tags.retain(|t| t != &tag);
        }
        (404, _) => results.no(
            TagDelete,
            format!("{}, but the manifest went with the tag", r.summary()),
        ),
        _ => results.no(
            TagDelete,
            format!(
                "{}, but the tag still answers {}",
                r.summary(),
                after.status
            ),
        ),
    }
}
