//! Push: every blob upload flow (streamed, monolithic, single POST, chunked
//! with its `Range` and `416` rules, mounts, cancel), bad digests, the
//! empty and zero-byte blobs, and manifest PUTs (digest and location
//! headers, no layers, missing blobs, wrong digests, size limit, `?tag=`).

use lineage_oci::errcode::ErrorCode;
use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use super::{Bad, Check, Ctx, Recorder, StepError, ensure, fail, needs, want, with_digest};
use crate::Group;
use crate::content::{self, Blob, Manifest};
use crate::http::{Body, HttpError, Resp, enc};

mod manifests;
mod uploads;
use manifests::*;
use uploads::*;

const OCTET: (&str, &str) = ("content-type", "application/octet-stream");

pub async fn run(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Push;
    let repo = cx.repo("push");
    let repo = repo.as_str();
    rec.record(
        g,
        "push/blob/streamed",
        streamed(cx, repo, Send::Plain).await,
    );
    rec.record(
        g,
        "push/blob/streamed-chunked-encoding",
        streamed(cx, repo, Send::Chunked).await,
    );
    rec.record(g, "push/blob/monolithic", monolithic(cx, repo).await);
    rec.record(g, "push/blob/single-post", single_post(cx, repo).await);
    rec.record(
        g,
        "push/blob/single-post-complete",
        single_post_complete(cx, repo).await,
    );
    rec.record(
        g,
        "push/blob/chunked/out-of-order-416",
        out_of_order(cx, repo).await,
    );
    rec.record(g, "push/blob/chunked/resend-416", resend(cx, repo).await);
    chunked_flow(cx, repo, rec).await;
    rec.record(
        g,
        "push/blob/chunked/final-chunk-in-put",
        final_chunk_in_put(cx, repo).await,
    );
    for (id, how) in [
        ("push/blob/bad-digest/monolithic", How::Monolithic),
        ("push/blob/bad-digest/single-post", How::SinglePost),
        ("push/blob/bad-digest/chunked", How::Chunked),
        ("push/blob/bad-digest/streamed", How::Streamed),
    ] {
        rec.record(g, id, bad_digest(cx, repo, how).await);
    }
    rec.record(
        g,
        "push/blob/bad-digest/malformed",
        malformed_digest(cx, repo).await,
    );
    rec.record(g, "push/blob/mount/from", mount_from(cx, repo).await);
    rec.record(
        g,
        "push/blob/mount/missing-blob",
        mount_missing(cx, repo, true).await,
    );
    rec.record(
        g,
        "push/blob/mount/no-from-unknown",
        mount_missing(cx, repo, false).await,
    );
    rec.record(
        g,
        "push/blob/mount/no-from-known",
        mount_no_from_known(cx, repo).await,
    );
    rec.record(g, "push/blob/cancel", cancel(cx, repo).await);
    rec.record(
        g,
        "push/blob/empty-json",
        small_blob(cx, repo, Blob::empty_json(), content::EMPTY_JSON_DIGEST).await,
    );
    rec.record(
        g,
        "push/blob/zero-byte",
        small_blob(
            cx,
            repo,
            Blob::new(content::LAYER, Vec::new()),
            content::ZERO_DIGEST,
        )
        .await,
    );

    let s = setup(cx, repo).await;
    rec.record(
        g,
        "push/manifest/put-by-tag",
        put_manifest(cx, &s, true).await,
    );
    rec.record(
        g,
        "push/manifest/put-by-digest",
        put_manifest(cx, &s, false).await,
    );
    rec.record(g, "push/manifest/exact-bytes", exact_bytes(cx, &s).await);
    rec.record(g, "push/manifest/no-layers", no_layers(cx, &s).await);
    rec.record(g, "push/manifest/index", index(cx, &s).await);
    rec.record(g, "push/manifest/missing-blob", missing_blob(cx, &s).await);
    rec.record(
        g,
        "push/manifest/wrong-digest-in-url",
        wrong_digest(cx, &s).await,
    );
    rec.record(
        g,
        "push/manifest/malformed-digest-in-url",
        malformed_manifest_digest(cx, &s).await,
    );
    rec.record(g, "push/manifest/near-4mb", large(cx, &s, NEAR_LIMIT).await);
    rec.record(
        g,
        "push/manifest/over-4mib-413",
        large(cx, &s, OVER_LIMIT).await,
    );
    rec.record(g, "push/manifest/multi-tag", multi_tag(cx, &s).await);
}
