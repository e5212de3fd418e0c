//! Content discovery: the tags list with `n`, `last` and `Link`; the
//! referrers API (pushes before and after the subject, `OCI-Subject`,
//! listing, annotations, `artifactType`, filtering, a missing subject);
//! and the `/v2/_catalog` extension.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Bad, Check, Ctx, Recorder, ensure, fail, needs, want};
use crate::Group;
use crate::content::{self, Blob, Manifest};
use crate::http::{Resp, enc, next_link};

pub async fn run(cx: &Ctx, rec: &mut Recorder) {
    tags(cx, rec).await;
    referrers(cx, rec).await;
    catalog(cx, rec).await;
}

// ---------------------------------------------------------------- tags --

/// The tags pushed, in push order (deliberately not sorted).
const TAGS: [&str; 6] = ["delta", "alpha", "foxtrot", "charlie", "echo", "bravo"];

fn sorted_tags() -> Vec<String> {
    let mut t: Vec<String> = TAGS.iter().map(|t| (*t).to_owned()).collect();
    t.sort();
    t
}

async fn tags_setup(cx: &Ctx) -> Result<String, String> {
    let repo = cx.repo("tag-list");
    let layer = cx.blob(content::LAYER, "tags layer", 512);
    let config = content::image_config("amd64", &[&layer]);
    cx.push_blob(&repo, &layer).await?;
    cx.push_blob(&repo, &config).await?;
    let m = content::image_manifest(&config, &[&layer], json!({}));
    for t in TAGS {
        cx.push_manifest(&repo, t, &m).await?;
    }
    Ok(repo)
}

/// GET of a tags list URL → 200 and `{"name": repo, "tags": [...]}` (a
/// `null` list counts as empty).
async fn tag_page(cx: &Ctx, repo: &str, target: &str) -> Result<(Resp, Vec<String>), Bad> {
    let r = cx.req(Method::GET, target, &[]).await?;
    want(&r, &[200], &format!("GET {target}"))?;
    let Some(v) = r.json() else {
        fail!("GET {target}: the body is not JSON ({})", r.describe());
    };
    ensure!(
        v.get("name").and_then(Value::as_str) == Some(repo),
        "GET {target}: name is {:?}, expected {repo:?}",
        v.get("name")
    );
    let tags = match v.get("tags") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| t.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Bad::Fail(format!("GET {target}: a tag is not a string: {v}")))?,
        Some(Value::Null) => Vec::new(),
        other => fail!("GET {target}: tags is {other:?}, expected a list"),
    };
    Ok((r, tags))
}

async fn tags(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Discovery;
    let s = tags_setup(cx).await;
    rec.record(g, "discovery/tags/list", tags_list(cx, &s).await);
    rec.record(g, "discovery/tags/lexical-order", tags_order(cx, &s).await);
    rec.record(g, "discovery/tags/n", tags_n(cx, &s, 2).await);
    rec.record(g, "discovery/tags/n-zero", tags_n(cx, &s, 0).await);
    rec.record(g, "discovery/tags/last", tags_last(cx, &s).await);
    rec.record(g, "discovery/tags/link", tags_link(cx, &s).await);
    rec.record(g, "discovery/tags/pagination-walk", tags_walk(cx, &s).await);
    rec.record(
        g,
        "discovery/tags/unknown-repository",
        tags_unknown(cx).await,
    );
}

async fn tags_list(cx: &Ctx, s: &Result<String, String>) -> Check {
    let repo = needs(s)?;
    let (_, tags) = tag_page(cx, repo, &format!("/v2/{repo}/tags/list")).await?;
    let got: BTreeSet<&String> = tags.iter().collect();
    ensure!(got.len() == tags.len(), "the list has duplicates: {tags:?}");
    let expected = sorted_tags();
    ensure!(
        got == expected.iter().collect(),
        "tags are {tags:?}, expected {expected:?}"
    );
    Ok(None)
}

async fn tags_order(cx: &Ctx, s: &Result<String, String>) -> Check {
    let repo = needs(s)?;
    let (_, tags) = tag_page(cx, repo, &format!("/v2/{repo}/tags/list")).await?;
    let mut sorted = tags.clone();
    sorted.sort();
    ensure!(tags == sorted, "tags are not in lexical order: {tags:?}");
    Ok(None)
}

/// Checks one page of a limited listing: at most `n` tags, exactly the
/// next ones in order (`expected` is what is left of the sorted list), and
/// fewer than `n` only at the end of the list or with a `Link` header.
fn page_ok(
    tags: &[String],
    expected: &[String],
    n: usize,
    link: bool,
    what: &str,
) -> Result<(), Bad> {
    let want_len = n.min(expected.len());
    let link_note = if link {
        "with a Link header"
    } else {
        "and no Link header"
    };
    ensure!(
        tags.len() <= n,
        "got {} tags for n={n} ({what}) {link_note}: {tags:?}",
        tags.len()
    );
    ensure!(
        tags == &expected[..tags.len()],
        "got {tags:?} for n={n} ({what}), expected the start of {expected:?}"
    );
    ensure!(
        tags.len() == want_len || link,
        "got {} tags for n={n} ({what}) and no Link header; fewer than n are allowed only at \
         the end of the list or with a Link",
        tags.len()
    );
    Ok(())
}

/// `?n=N` → the first N tags (fewer only with `Link`); `n=0` → an empty
/// list and no `Link`.
async fn tags_n(cx: &Ctx, s: &Result<String, String>, n: usize) -> Check {
    let repo = needs(s)?;
    let (r, tags) = tag_page(cx, repo, &format!("/v2/{repo}/tags/list?n={n}")).await?;
    let link = next_link(&r).is_some();
    page_ok(&tags, &sorted_tags(), n, link, "from the start")?;
    if n == 0 {
        ensure!(!link, "n=0: a Link header, which the spec forbids for n=0");
    }
    Ok(None)
}

/// `?n=2&last=bravo` → the two tags after `bravo`.
async fn tags_last(cx: &Ctx, s: &Result<String, String>) -> Check {
    let repo = needs(s)?;
    let all = sorted_tags();
    let (r, tags) = tag_page(
        cx,
        repo,
        &format!("/v2/{repo}/tags/list?n=2&last={}", all[1]),
    )
    .await?;
    page_ok(
        &tags,
        &all[2..],
        2,
        next_link(&r).is_some(),
        &format!("after last={}", all[1]),
    )?;
    Ok(None)
}

/// `?n=2` with more tags available: `Link` is optional (MAY), but when it
/// is sent its target must give the following tags. A list cut short of
/// `n` must carry it.
async fn tags_link(cx: &Ctx, s: &Result<String, String>) -> Check {
    let repo = needs(s)?;
    let all = sorted_tags();
    let (r, tags) = tag_page(cx, repo, &format!("/v2/{repo}/tags/list?n=2")).await?;
    let link = next_link(&r);
    page_ok(&tags, &all, 2, link.is_some(), "from the start")?;
    let Some(link) = link else {
        return Err(Bad::Skip(format!(
            "no Link header on a full page of n=2 with {} tags in the repository; the spec makes it \
             optional (MAY)",
            all.len()
        )));
    };
    let (_, next) = tag_page(cx, repo, &link).await?;
    let rest = &all[tags.len()..];
    ensure!(
        !next.is_empty() && next.len() <= rest.len() && next[..] == rest[..next.len()],
        "the Link target {link:?} gave {next:?} after {tags:?}, expected the next of {rest:?}"
    );
    Ok(None)
}

/// Walking with `n=1` (following `Link`, else `last=<the last tag seen>`)
/// visits every tag once, in order.
async fn tags_walk(cx: &Ctx, s: &Result<String, String>) -> Check {
    let repo = needs(s)?;
    let all = sorted_tags();
    let mut target = format!("/v2/{repo}/tags/list?n=1");
    let mut seen: Vec<String> = Vec::new();
    let mut used_link = false;
    for _ in 0..2 * all.len() + 2 {
        let (r, tags) = tag_page(cx, repo, &target).await?;
        let link = next_link(&r);
        page_ok(
            &tags,
            &all[seen.len().min(all.len())..],
            1,
            link.is_some(),
            &format!("page {} of the walk", seen.len() + 1),
        )?;
        let last = tags.last().cloned();
        seen.extend(tags);
        target = match (link, last) {
            (Some(l), _) => {
                used_link = true;
                l
            }
            (None, Some(last)) => format!("/v2/{repo}/tags/list?n=1&last={last}"),
            (None, None) => break,
        };
    }
    ensure!(
        seen == all,
        "walking the pages gave {seen:?}, expected {all:?}"
    );
    Ok(Some(
        if used_link {
            "followed Link"
        } else {
            "no Link; walked with last="
        }
        .to_owned(),
    ))
}

async fn tags_unknown(cx: &Ctx) -> Check {
    let repo = cx.repo("never-pushed");
    let r = cx
        .req(Method::GET, &format!("/v2/{repo}/tags/list"), &[])
        .await?;
    want(&r, &[404], "tags list of a repository nobody pushed to")?;
    if let Some(codes) = r.error_codes() {
        ensure!(
            codes.iter().any(|c| c == "NAME_UNKNOWN"),
            "404 with codes {codes:?}, expected NAME_UNKNOWN"
        );
    }
    Ok(None)
}

// ----------------------------------------------------------- referrers --

/// The type config-typed artifacts carry in `config.mediaType`.
const TYPE_A: &str = "application/vnd.example.conformance.a.v1+json";
/// The `artifactType` of artifacts with the empty config.
const TYPE_B: &str = "application/vnd.example.conformance.b.v1+json";
/// The annotation every referrer carries, with its label as value.
const LABEL: &str = "org.example.conformance.referrer";

/// A manifest pushed with a `subject`.
struct Referrer {
    label: &'static str,
    m: Manifest,
    /// The `artifactType` its referrers entry must carry (`None`: absent).
    artifact_type: Option<&'static str>,
    annotations: Map<String, Value>,
    /// The subject digest.
    subject: String,
}

/// What the referrers checks read.
struct Refs {
    repo: String,
    subject: Manifest,
    /// The five referrers of `subject`.
    of_subject: Vec<Referrer>,
    /// The referrer of a subject that does not exist.
    orphan: Referrer,
}

fn annotations(label: &str) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert(LABEL.into(), json!(label));
    a.insert(
        "org.opencontainers.image.created".into(),
        json!("2024-05-01T12:00:00Z"),
    );
    a
}

/// A referrer image manifest: config-typed (`config` given) or with the
/// empty config and `artifactType` B.
fn artifact(label: &'static str, config: Option<&Blob>, layer: &Blob, subject: &Value) -> Referrer {
    let ann = annotations(label);
    let empty = Blob::empty_json();
    let (m, artifact_type) = match config {
        Some(c) => (
            content::image_manifest(c, &[layer], json!({"subject": subject, "annotations": ann})),
            TYPE_A,
        ),
        None => (
            content::image_manifest(
                &empty,
                &[layer],
                json!({"artifactType": TYPE_B, "subject": subject, "annotations": ann}),
            ),
            TYPE_B,
        ),
    };
    Referrer {
        label,
        m,
        artifact_type: Some(artifact_type),
        annotations: ann,
        subject: subject["digest"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Results of the referrer PUTs, for the `OCI-Subject` check.
type Puts = Vec<(&'static str, String, Result<Resp, String>)>;

async fn put_referrer(cx: &Ctx, repo: &str, r: &Referrer, puts: &mut Puts) -> Result<(), String> {
    let res = cx.push_manifest(repo, &r.m.digest, &r.m).await;
    let out = res.as_ref().map(|_| ()).map_err(Clone::clone);
    puts.push((r.label, r.subject.clone(), res));
    out.map_err(|e| format!("referrer {}: {e}", r.label))
}

/// The `{}` blob: known digest, pushed, readable.
async fn empty_blob(cx: &Ctx, repo: &str) -> Check {
    let empty = Blob::empty_json();
    ensure!(
        empty.digest == content::EMPTY_JSON_DIGEST,
        "sha256 of {{}} is {}, expected {}",
        empty.digest,
        content::EMPTY_JSON_DIGEST
    );
    cx.push_blob(repo, &empty).await?;
    let r = cx.get_blob(repo, &empty.digest, Method::GET).await?;
    want(&r, &[200], "GET of the {} blob")?;
    ensure!(
        r.body == b"{}",
        "GET of the {{}} blob: body {:?}",
        r.describe()
    );
    Ok(None)
}

async fn referrers(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Discovery;
    let repo = cx.repo("refs");
    rec.record(
        g,
        "discovery/referrers/empty-blob",
        empty_blob(cx, &repo).await,
    );

    let mut puts: Puts = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let blobs = async {
        let layer = cx.blob(content::LAYER, "subject layer", 700);
        let config = content::image_config("amd64", &[&layer]);
        let data = cx.blob(
            "application/vnd.example.conformance.data",
            "artifact data",
            300,
        );
        let config_a1 = Blob::new(TYPE_A, br#"{"conformance":"a1"}"#.to_vec());
        let config_a3 = Blob::new(TYPE_A, br#"{"conformance":"a3"}"#.to_vec());
        for b in [
            &layer,
            &config,
            &data,
            &config_a1,
            &config_a3,
            &Blob::empty_json(),
        ] {
            cx.push_blob(&repo, b).await?;
        }
        Ok::<_, String>((layer, config, data, config_a1, config_a3))
    }
    .await;
    let (layer, config, data, config_a1, config_a3) = match blobs {
        Ok(b) => b,
        Err(e) => {
            let e = format!("set-up failed: pushing blobs: {e}");
            for id in REFERRER_CHECKS {
                rec.record(g, id, Err(Bad::Fail(e.clone())));
            }
            return;
        }
    };
    let empty = Blob::empty_json();
    let subject = content::image_manifest(
        &config,
        &[&layer],
        json!({"annotations": {LABEL: "subject"}}),
    );
    let sdesc = subject.descriptor();

    // Two referrers before the subject exists.
    let a1 = artifact("a1", Some(&config_a1), &empty, &sdesc);
    let a2 = artifact("a2", None, &empty, &sdesc);
    let mut step = Ok(None);
    for r in [&a1, &a2] {
        if let Err(e) = put_referrer(cx, &repo, r, &mut puts).await {
            problems.push(e.clone());
            step = Err(Bad::Fail(e));
        }
    }
    rec.record(g, "discovery/referrers/push-before-subject", step);

    let step = cx
        .push_manifest(&repo, "subject", &subject)
        .await
        .map(|_| None)
        .map_err(|e| {
            problems.push(format!("subject: {e}"));
            Bad::Fail(e)
        });
    rec.record(g, "discovery/referrers/push-subject", step);

    // Two more after it, one config-typed and one with a data layer.
    let a3 = artifact("a3", Some(&config_a3), &empty, &sdesc);
    let a4 = artifact("a4", None, &data, &sdesc);
    let mut step = Ok(None);
    for r in [&a3, &a4] {
        if let Err(e) = put_referrer(cx, &repo, r, &mut puts).await {
            problems.push(e.clone());
            step = Err(Bad::Fail(e));
        }
    }
    rec.record(g, "discovery/referrers/push-after-subject", step);

    // An index with a subject and no artifactType.
    let ann = annotations("index");
    let idx = Referrer {
        label: "index",
        m: content::image_index(Vec::new(), json!({"subject": sdesc, "annotations": ann})),
        artifact_type: None,
        annotations: ann,
        subject: subject.digest.clone(),
    };
    let step = put_referrer(cx, &repo, &idx, &mut puts)
        .await
        .map(|_| None)
        .map_err(|e| {
            problems.push(e.clone());
            Bad::Fail(e)
        });
    rec.record(g, "discovery/referrers/push-index-with-subject", step);

    // A referrer of a manifest that does not exist.
    let ghost = json!({
        "mediaType": content::MANIFEST,
        "digest": cx.missing_digest("subject"),
        "size": 1234,
    });
    let orphan = artifact("orphan", None, &empty, &ghost);
    let step = put_referrer(cx, &repo, &orphan, &mut puts)
        .await
        .map(|_| None)
        .map_err(|e| {
            problems.push(e.clone());
            Bad::Fail(e)
        });
    rec.record(g, "discovery/referrers/push-missing-subject", step);

    rec.record(g, "discovery/referrers/oci-subject", oci_subject(&puts));

    let s = if problems.is_empty() {
        Ok(Refs {
            repo,
            subject,
            of_subject: vec![a1, a2, a3, a4, idx],
            orphan,
        })
    } else {
        Err(problems.join("; "))
    };
    rec.record(
        g,
        "discovery/referrers/unknown-digest",
        unknown_digest(cx, &s).await,
    );
    rec.record(
        g,
        "discovery/referrers/invalid-digest",
        invalid_digest(cx, &s).await,
    );
    rec.record(g, "discovery/referrers/list", list(cx, &s).await);
    rec.record(
        g,
        "discovery/referrers/annotations",
        entry_annotations(cx, &s).await,
    );
    rec.record(
        g,
        "discovery/referrers/artifact-type",
        artifact_types(cx, &s).await,
    );
    rec.record(g, "discovery/referrers/filter", filter(cx, &s).await);
    rec.record(
        g,
        "discovery/referrers/missing-subject",
        missing_subject(cx, &s).await,
    );
}

/// The referrer checks, for recording a set-up failure.
const REFERRER_CHECKS: [&str; 13] = [
    "discovery/referrers/push-before-subject",
    "discovery/referrers/push-subject",
    "discovery/referrers/push-after-subject",
    "discovery/referrers/push-index-with-subject",
    "discovery/referrers/push-missing-subject",
    "discovery/referrers/oci-subject",
    "discovery/referrers/unknown-digest",
    "discovery/referrers/invalid-digest",
    "discovery/referrers/list",
    "discovery/referrers/annotations",
    "discovery/referrers/artifact-type",
    "discovery/referrers/filter",
    "discovery/referrers/missing-subject",
];

/// Every PUT of a manifest with `subject` answered `OCI-Subject: <subject>`.
fn oci_subject(puts: &Puts) -> Check {
    let mut missing = Vec::new();
    for (label, subject, res) in puts {
        let Ok(r) = res else {
            fail!("the PUT of referrer {label} failed, so its OCI-Subject cannot be checked");
        };
        match r.header("oci-subject") {
            Some(h) if h == subject => {}
            Some(h) => fail!("PUT of referrer {label}: OCI-Subject {h}, expected {subject}"),
            None => missing.push(*label),
        }
    }
    ensure!(
        missing.is_empty(),
        "no OCI-Subject header on the PUT of {} (of {} referrers)",
        missing.join(", "),
        puts.len()
    );
    Ok(None)
}

/// GET of a referrers URL: 200, the index media type, a valid index; `Link`
/// pages are followed. Returns the first answer and every entry.
async fn fetch_referrers(
    cx: &Ctx,
    repo: &str,
    digest: &str,
    query: &str,
) -> Result<(Resp, Vec<Value>, usize), Bad> {
    let mut target = format!("/v2/{repo}/referrers/{digest}{query}");
    let mut pages = 0;
    let mut first = None;
    let mut entries = Vec::new();
    for _ in 0..50 {
        let what = format!("GET {target}");
        let r = cx.req(Method::GET, &target, &[]).await?;
        want(&r, &[200], &what)?;
        ensure!(
            r.content_type() == Some(content::INDEX),
            "{what}: Content-Type {:?}, expected {}",
            r.header("content-type"),
            content::INDEX
        );
        let Some(v) = r.json() else {
            fail!("{what}: the body is not JSON");
        };
        ensure!(
            v["schemaVersion"] == json!(2),
            "{what}: schemaVersion is {}, expected 2",
            v["schemaVersion"]
        );
        if let Some(mt) = v.get("mediaType") {
            ensure!(
                mt == content::INDEX,
                "{what}: mediaType {mt}, expected {}",
                content::INDEX
            );
        }
        let Some(list) = v["manifests"].as_array() else {
            fail!("{what}: no manifests list");
        };
        entries.extend(list.iter().cloned());
        pages += 1;
        let next = next_link(&r);
        if first.is_none() {
            first = Some(r);
        }
        match next {
            Some(l) => target = l,
            None => break,
        }
    }
    match first {
        Some(r) => Ok((r, entries, pages)),
        None => fail!("GET {target}: no answer"),
    }
}

async fn unknown_digest(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let (_, entries, _) = fetch_referrers(cx, &d.repo, &cx.missing_digest("referrers"), "").await?;
    ensure!(
        entries.is_empty(),
        "expected no entries for an unknown digest, got {entries:?}"
    );
    Ok(None)
}

async fn invalid_digest(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let target = format!("/v2/{}/referrers/sha256:invalid", d.repo);
    let r = cx.req(Method::GET, &target, &[]).await?;
    want(&r, &[400], &format!("GET {target}"))?;
    Ok(None)
}

/// The entries by digest; fails on duplicates.
fn by_digest(entries: &[Value]) -> Result<BTreeMap<String, &Value>, Bad> {
    let mut map = BTreeMap::new();
    for e in entries {
        let Some(d) = e["digest"].as_str() else {
            fail!("an entry without a digest: {e}");
        };
        ensure!(
            map.insert(d.to_owned(), e).is_none(),
            "digest {d} is listed twice"
        );
    }
    Ok(map)
}

/// The subject's list: exactly the five referrers, with the right media
/// type and size.
async fn list(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let (_, entries, pages) = fetch_referrers(cx, &d.repo, &d.subject.digest, "").await?;
    let map = by_digest(&entries)?;
    let expected: BTreeSet<&str> = d.of_subject.iter().map(|r| r.m.digest.as_str()).collect();
    let got: BTreeSet<&str> = map.keys().map(String::as_str).collect();
    ensure!(
        got == expected,
        "{} entries {got:?}, expected the {} referrers {expected:?}",
        entries.len(),
        expected.len()
    );
    for r in &d.of_subject {
        let e = map[&r.m.digest];
        ensure!(
            e["mediaType"] == json!(r.m.media_type),
            "entry {}: mediaType {}, expected {}",
            r.label,
            e["mediaType"],
            r.m.media_type
        );
        ensure!(
            e["size"] == json!(r.m.bytes.len()),
            "entry {}: size {}, expected {}",
            r.label,
            e["size"],
            r.m.bytes.len()
        );
    }
    Ok((pages > 1).then(|| format!("{pages} pages, followed Link")))
}

/// Each entry carries (at least) its referrer's annotations.
async fn entry_annotations(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let (_, entries, _) = fetch_referrers(cx, &d.repo, &d.subject.digest, "").await?;
    let map = by_digest(&entries)?;
    for r in &d.of_subject {
        let Some(e) = map.get(&r.m.digest) else {
            fail!("referrer {} is not listed", r.label);
        };
        for (k, v) in &r.annotations {
            ensure!(
                e["annotations"].get(k) == Some(v),
                "entry {}: annotation {k} is {:?}, expected {v}",
                r.label,
                e["annotations"].get(k)
            );
        }
    }
    Ok(None)
}

/// `artifactType`: the manifest's, else its config type; absent for an
/// index without one.
async fn artifact_types(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let (_, entries, _) = fetch_referrers(cx, &d.repo, &d.subject.digest, "").await?;
    let map = by_digest(&entries)?;
    for r in &d.of_subject {
        let Some(e) = map.get(&r.m.digest) else {
            fail!("referrer {} is not listed", r.label);
        };
        let got = e.get("artifactType");
        match r.artifact_type {
            Some(t) => ensure!(
                got == Some(&json!(t)),
                "entry {}: artifactType {got:?}, expected {t}",
                r.label
            ),
            None => ensure!(
                got.is_none(),
                "entry {} (an index without artifactType): artifactType {got:?}, expected none",
                r.label
            ),
        }
    }
    Ok(None)
}

/// `?artifactType=A` → `OCI-Filters-Applied: artifactType` and exactly the
/// two type-A entries.
async fn filter(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let query = format!("?artifactType={}", enc(TYPE_A));
    let (r, entries, _) = fetch_referrers(cx, &d.repo, &d.subject.digest, &query).await?;
    let applied = r.header_list("oci-filters-applied");
    ensure!(
        applied.iter().any(|f| f == "artifactType"),
        "no `OCI-Filters-Applied: artifactType` (got {:?}; {} entries), so the filter was not applied",
        r.header("oci-filters-applied"),
        entries.len()
    );
    let map = by_digest(&entries)?;
    let got: BTreeSet<&str> = map.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = d
        .of_subject
        .iter()
        .filter(|r| r.artifact_type == Some(TYPE_A))
        .map(|r| r.m.digest.as_str())
        .collect();
    ensure!(
        got == expected,
        "filtered entries {got:?}, expected {expected:?}"
    );
    Ok(None)
}

async fn missing_subject(cx: &Ctx, s: &Result<Refs, String>) -> Check {
    let d = needs(s)?;
    let (_, entries, _) = fetch_referrers(cx, &d.repo, &d.orphan.subject, "").await?;
    ensure!(
        entries.len() == 1 && entries[0]["digest"] == json!(d.orphan.m.digest),
        "expected exactly the one referrer {}, got {entries:?}",
        d.orphan.m.digest
    );
    Ok(None)
}

// ------------------------------------------------------------- catalog --

/// GET of a catalog page: 200 and `{"repositories": [...]}`; a 404 means
/// the optional extension is absent.
async fn catalog_page(cx: &Ctx, target: &str) -> Result<(Resp, Vec<String>), Bad> {
    let r = cx.req(Method::GET, target, &[]).await?;
    if r.status == 404 {
        return Err(Bad::Skip(format!(
            "GET {target}: {}; /v2/_catalog is an optional extension",
            r.describe()
        )));
    }
    want(&r, &[200], &format!("GET {target}"))?;
    let repos = r
        .json()
        .and_then(|v| v.get("repositories").cloned())
        .and_then(|v| match v {
            Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
            Value::Null => Some(Vec::new()),
            _ => None,
        })
        .ok_or_else(|| {
            Bad::Fail(format!(
                "GET {target}: no repositories list ({})",
                r.describe()
            ))
        })?;
    Ok((r, repos))
}

async fn catalog(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Discovery;
    rec.record(g, "discovery/catalog/list", catalog_list(cx).await);
    rec.record(g, "discovery/catalog/paginate", catalog_paginate(cx).await);
}

/// Every repository this run pushed to is listed (following `Link`).
async fn catalog_list(cx: &Ctx) -> Check {
    let mut target = "/v2/_catalog".to_owned();
    let mut all = BTreeSet::new();
    for _ in 0..200 {
        let (r, repos) = catalog_page(cx, &target).await?;
        all.extend(repos);
        match next_link(&r) {
            Some(l) => target = l,
            None => break,
        }
    }
    for repo in [
        cx.repo("pull"),
        cx.repo("push"),
        cx.repo("tag-list"),
        cx.cross_repo(),
    ] {
        ensure!(
            all.contains(&repo),
            "{repo} is not in the catalog ({} repositories)",
            all.len()
        );
    }
    Ok(None)
}

/// `?n=1` → one repository and a `Link` to the next, which gives another.
async fn catalog_paginate(cx: &Ctx) -> Check {
    let (r, first) = catalog_page(cx, "/v2/_catalog?n=1").await?;
    ensure!(
        first.len() == 1,
        "n=1 gave {} repositories: {first:?}",
        first.len()
    );
    let Some(link) = next_link(&r) else {
        fail!("n=1 with several repositories in the registry: no Link header");
    };
    let (_, second) = catalog_page(cx, &link).await?;
    ensure!(
        second.len() == 1 && second != first,
        "the Link target {link:?} gave {second:?} after {first:?}"
    );
    Ok(None)
}
