//! The referrers API: pushes before and after the subject, `OCI-Subject`, the listing, annotations, `artifactType`, filtering, a missing subject.

use super::*;

/// The type config-typed artifacts carry in `config.mediaType`.
pub(super) const TYPE_A: &str = "application/vnd.example.conformance.a.v1+json";
/// The `artifactType` of artifacts with the empty config.
pub(super) const TYPE_B: &str = "application/vnd.example.conformance.b.v1+json";
/// The annotation every referrer carries, with its label as value.
pub(super) const LABEL: &str = "org.example.conformance.referrer";

/// A manifest pushed with a `subject`.
pub(super) struct Referrer {
    label: &'static str,
    m: Manifest,
    /// The `artifactType` its referrers entry must carry (`None`: absent).
    artifact_type: Option<&'static str>,
    annotations: Map<String, Value>,
    /// The subject digest.
    subject: String,
}

/// What the referrers checks read.
pub(super) struct Refs {
    repo: String,
    subject: Manifest,
    /// The five referrers of `subject`.
    of_subject: Vec<Referrer>,
    /// The referrer of a subject that does not exist.
    orphan: Referrer,
}

pub(super) fn annotations(label: &str) -> Map<String, Value> {
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
pub(super) fn artifact(
    label: &'static str,
    config: Option<&Blob>,
    layer: &Blob,
    subject: &Value,
) -> Referrer {
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
pub(super) type Puts = Vec<(&'static str, String, Option<Resp>)>;

pub(super) async fn put_referrer(
    cx: &Ctx,
    repo: &str,
    r: &Referrer,
    puts: &mut Puts,
) -> Result<(), StepError> {
    let res = cx.push_manifest(repo, &r.m.digest, &r.m).await;
    puts.push((r.label, r.subject.clone(), res.as_ref().ok().cloned()));
    res.map(|_| ()).map_err(|e| StepError::Referrer {
        label: r.label,
        source: Box::new(e),
    })
}

/// The `{}` blob: known digest, pushed, readable.
pub(super) async fn empty_blob(cx: &Ctx, repo: &str) -> Check {
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

pub(super) async fn referrers(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Discovery;
    let repo = cx.repo("refs");
    rec.record(
        g,
        "discovery/referrers/empty-blob",
        empty_blob(cx, &repo).await,
    );

    let mut puts: Puts = Vec::new();
    let mut problems: Vec<StepError> = Vec::new();
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
        Ok::<_, StepError>((layer, config, data, config_a1, config_a3))
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
            step = Err(Bad::Fail(e.to_string()));
            problems.push(e);
        }
    }
    rec.record(g, "discovery/referrers/push-before-subject", step);

    let step = cx
        .push_manifest(&repo, "subject", &subject)
        .await
        .map(|_| None)
        .map_err(|e| {
            let bad = Bad::Fail(e.to_string());
            problems.push(StepError::Subject(Box::new(e)));
            bad
        });
    rec.record(g, "discovery/referrers/push-subject", step);

    // Two more after it, one config-typed and one with a data layer.
    let a3 = artifact("a3", Some(&config_a3), &empty, &sdesc);
    let a4 = artifact("a4", None, &data, &sdesc);
    let mut step = Ok(None);
    for r in [&a3, &a4] {
        if let Err(e) = put_referrer(cx, &repo, r, &mut puts).await {
            step = Err(Bad::Fail(e.to_string()));
            problems.push(e);
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
            let bad = Bad::Fail(e.to_string());
            problems.push(e);
            bad
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
            let bad = Bad::Fail(e.to_string());
            problems.push(e);
            bad
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
        Err(StepError::Several(problems))
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
pub(super) const REFERRER_CHECKS: [&str; 13] = [
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
pub(super) fn oci_subject(puts: &Puts) -> Check {
    let mut missing = Vec::new();
    for (label, subject, res) in puts {
        let Some(r) = res else {
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
pub(super) async fn fetch_referrers(
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

pub(super) async fn unknown_digest(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
    let d = needs(s)?;
    let (_, entries, _) = fetch_referrers(cx, &d.repo, &cx.missing_digest("referrers"), "").await?;
    ensure!(
        entries.is_empty(),
        "expected no entries for an unknown digest, got {entries:?}"
    );
    Ok(None)
}

pub(super) async fn invalid_digest(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
    let d = needs(s)?;
    let target = format!("/v2/{}/referrers/sha256:invalid", d.repo);
    let r = cx.req(Method::GET, &target, &[]).await?;
    want(&r, &[400], &format!("GET {target}"))?;
    Ok(None)
}

/// The entries by digest; fails on duplicates.
pub(super) fn by_digest(entries: &[Value]) -> Result<BTreeMap<String, &Value>, Bad> {
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
pub(super) async fn list(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
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
pub(super) async fn entry_annotations(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
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
pub(super) async fn artifact_types(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
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
pub(super) async fn filter(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
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

pub(super) async fn missing_subject(cx: &Ctx, s: &Result<Refs, StepError>) -> Check {
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
