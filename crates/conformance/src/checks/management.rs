//! Content management: deleting tags, manifests (and with them their tags)
//! and blobs.

use lineage_oci::errcode::ErrorCode;
use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use super::{Bad, Check, Ctx, Recorder, StepError, ensure, fail, needs, want};
use crate::Group;
use crate::content::{self, Blob, Manifest};
use crate::http::Resp;

struct Data {
    repo: String,
    /// Tagged `a1` and `a2`; deleted by digest.
    a: Manifest,
    /// Tagged `b1`; the tag is deleted.
    b: Manifest,
    /// A blob no manifest uses; deleted.
    loose: Blob,
}

const TAGS: [&str; 4] = ["a1", "a2", "b1", "c1"];

async fn setup(cx: &Ctx) -> Result<Data, StepError> {
    let repo = cx.repo("management");
    let layer = cx.blob(content::LAYER, "management layer", 600);
    let config = content::image_config("amd64", &[&layer]);
    let loose = cx.blob(content::LAYER, "management loose blob", 900);
    for b in [&layer, &config, &loose] {
        cx.push_blob(&repo, b).await?;
    }
    let m = |label: &str| {
        content::image_manifest(
            &config,
            &[&layer],
            json!({"annotations": {"org.example.conformance.label": label}}),
        )
    };
    let (a, b, c) = (m("a"), m("b"), m("c"));
    for (tag, man) in [("a1", &a), ("a2", &a), ("b1", &b), ("c1", &c)] {
        cx.push_manifest(&repo, tag, man).await?;
    }
    Ok(Data { repo, a, b, loose })
}

/// Whether a refused DELETE is the spec's "deletion disabled": 405, or 400
/// with `UNSUPPORTED`. Any other 400 is a failure.
fn refused(r: &Resp, what: &str) -> Result<bool, Bad> {
    match r.status {
        405 => Ok(true),
        400 if r.has_code(ErrorCode::Unsupported) => Ok(true),
        400 => fail!("{what}: 400 without UNSUPPORTED: {}", r.describe()),
        _ => Ok(false),
    }
}

async fn tags_of(cx: &Ctx, repo: &str) -> Result<BTreeSet<String>, Bad> {
    let r = cx
        .req(Method::GET, &format!("/v2/{repo}/tags/list"), &[])
        .await?;
    want(&r, &[200], "GET tags/list")?;
    let v = r.json().unwrap_or_default();
    Ok(v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

pub async fn run(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Management;
    let s = setup(cx).await;
    let tag_deleted = delete_tag(cx, &s).await;
    let tag_was_deleted = matches!(&tag_deleted, Ok(None));
    rec.record(g, "management/delete-tag", tag_deleted);
    let manifest_deleted = delete_manifest(cx, &s).await;
    let manifest_was_deleted = matches!(&manifest_deleted, Ok(None));
    rec.record(g, "management/delete-manifest", manifest_deleted);
    rec.record(
        g,
        "management/delete-manifest-removes-tags",
        tags_gone(cx, &s, manifest_was_deleted).await,
    );
    rec.record(
        g,
        "management/tags-list-shrinks",
        tags_shrink(cx, &s, tag_was_deleted, manifest_was_deleted).await,
    );
    rec.record(
        g,
        "management/delete-unknown-manifest",
        delete_unknown(cx, &s, "manifests").await,
    );
    rec.record(g, "management/delete-blob", delete_blob(cx, &s).await);
    rec.record(
        g,
        "management/delete-unknown-blob",
        delete_unknown(cx, &s, "blobs").await,
    );
}

/// DELETE `/manifests/b1` → 202 and the tag is gone while the manifest
/// stays; or refused as unsupported (405, or 400 `UNSUPPORTED`).
async fn delete_tag(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let what = "DELETE manifests/b1 (a tag)";
    let r = cx
        .req(Method::DELETE, &format!("/v2/{}/manifests/b1", d.repo), &[])
        .await?;
    if refused(&r, what)? {
        return Ok(Some(format!("tag deletion unsupported: {}", r.describe())));
    }
    want(&r, &[202], what)?;
    let g = cx.get_manifest(&d.repo, "b1", Method::GET).await?;
    want(&g, &[404], "GET of the deleted tag")?;
    let g = cx.get_manifest(&d.repo, &d.b.digest, Method::HEAD).await?;
    want(
        &g,
        &[200],
        "HEAD of the manifest by digest after deleting its only tag",
    )?;
    Ok(None)
}

/// DELETE `/manifests/<digest>` → 202, then GET by digest → 404.
async fn delete_manifest(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let what = "DELETE manifests/<digest>";
    let r = cx
        .req(
            Method::DELETE,
            &format!("/v2/{}/manifests/{}", d.repo, d.a.digest),
            &[],
        )
        .await?;
    if refused(&r, what)? {
        return Ok(Some(format!(
            "manifest deletion disabled: {}",
            r.describe()
        )));
    }
    want(&r, &[202], what)?;
    let g = cx.get_manifest(&d.repo, &d.a.digest, Method::GET).await?;
    want(&g, &[404], "GET of the deleted manifest by digest")?;
    Ok(None)
}

/// After deleting a manifest by digest, its tags resolve no more.
async fn tags_gone(cx: &Ctx, s: &Result<Data, StepError>, deleted: bool) -> Check {
    let d = needs(s)?;
    if !deleted {
        return Err(Bad::Skip("the manifest was not deleted".into()));
    }
    for t in ["a1", "a2"] {
        let g = cx.get_manifest(&d.repo, t, Method::GET).await?;
        want(
            &g,
            &[404],
            &format!("GET of tag {t} after deleting its manifest"),
        )?;
    }
    Ok(None)
}

/// The tags list lost exactly the deleted tags.
async fn tags_shrink(
    cx: &Ctx,
    s: &Result<Data, StepError>,
    tag_deleted: bool,
    manifest_deleted: bool,
) -> Check {
    let d = needs(s)?;
    let mut expected: BTreeSet<String> = TAGS.iter().map(|t| (*t).to_owned()).collect();
    if tag_deleted {
        expected.remove("b1");
    }
    if manifest_deleted {
        expected.remove("a1");
        expected.remove("a2");
    }
    if expected.len() == TAGS.len() {
        return Err(Bad::Skip("nothing was deleted".into()));
    }
    let got = tags_of(cx, &d.repo).await?;
    ensure!(
        got == expected,
        "tags are {got:?} after the deletes, expected {expected:?}"
    );
    Ok(None)
}

/// DELETE `/blobs/<digest>` → 202, then GET → 404 (or refused, 405).
async fn delete_blob(cx: &Ctx, s: &Result<Data, StepError>) -> Check {
    let d = needs(s)?;
    let what = "DELETE blobs/<digest>";
    let r = cx
        .req(
            Method::DELETE,
            &format!("/v2/{}/blobs/{}", d.repo, d.loose.digest),
            &[],
        )
        .await?;
    if refused(&r, what)? {
        return Ok(Some(format!("blob deletion disabled: {}", r.describe())));
    }
    want(&r, &[202], what)?;
    let g = cx.get_blob(&d.repo, &d.loose.digest, Method::GET).await?;
    want(&g, &[404], "GET of the deleted blob")?;
    Ok(None)
}

/// DELETE of something that does not exist → 404 (or refused, 405).
async fn delete_unknown(cx: &Ctx, s: &Result<Data, StepError>, kind: &str) -> Check {
    let d = needs(s)?;
    let digest = cx.missing_digest(kind);
    let what = format!("DELETE {kind}/<unknown digest>");
    let r = cx
        .req(
            Method::DELETE,
            &format!("/v2/{}/{kind}/{digest}", d.repo),
            &[],
        )
        .await?;
    if refused(&r, &what)? {
        return Ok(Some(format!("deletion disabled: {}", r.describe())));
    }
    want(&r, &[404], &what)?;
    Ok(None)
}
