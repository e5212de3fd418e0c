//! The checks that only read: ping and auth, listings, the referrers API, `Accept`
//! strictness and ranged blob reads. Without `--write` they run on content found in the
//! repository; with it, on the scratch image.

use lineage_oci::{Digest, media_type};
use lineage_registry_client::auth::Scope;
use lineage_registry_client::auth::challenge;
use lineage_registry_client::capability::{
    ReferrersAnswer, artifact_type_filtered, referrers_answer,
};
use lineage_registry_client::raw::{RawRequest, RawResponse};
use reqwest::Method;
use reqwest::header::{ACCEPT, RANGE};
use serde_json::Value;

use crate::CheckId::*;
use crate::session::Session;
use crate::write::Scratch;
use crate::{Outcome, Results, content};

/// The manifest the read checks look at.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    /// Its digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// A tag of it, when known.
    pub tag: Option<String>,
    /// A blob of the repository and its size, for the range check.
    pub blob: Option<(Digest, u64)>,
}

/// `ping` and `auth`. `None` when the registry is unreachable or not a registry.
pub(crate) async fn ping_and_auth(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
) -> Option<()> {
    let mut anonymous = RawRequest::new(Method::GET, "/v2/", Scope::Login);
    anonymous.authorize = false;
    let first = session.send(anonymous).await.ok()?;
    let version = first
        .header("docker-distribution-api-version")
        .map(|v| format!(", Docker-Distribution-API-Version: {v}"))
        .unwrap_or_default();
    match first.status {
        200 => results.yes(Ping, format!("HTTP 200{version}")),
        401 => results.yes(Ping, format!("HTTP 401, credentials asked for{version}")),
        _ => {
            results.no(
                Ping,
                format!("{}: /v2/ is not a registry API", first.summary()),
            );
            return None;
        }
    }
    let challenges = first
        .header("www-authenticate")
        .map(challenge::parse)
        .unwrap_or_default();
    let scheme = if first.status == 200 {
        "none".to_string()
    } else {
        challenges
            .first()
            .map_or("unknown".to_string(), |c| c.scheme.to_ascii_lowercase())
    };
    let realm = challenges
        .first()
        .and_then(|c| c.param("realm"))
        .map(|r| format!(" (realm {r})"))
        .unwrap_or_default();
    if first.status == 200 {
        results.yes(Auth, "none: /v2/ answers without credentials");
        return Some(());
    }
    let second = match session
        .send(RawRequest::new(Method::GET, "/v2/", Scope::Login))
        .await
    {
        Ok(r) => r,
        Err(e) if session.broken().is_none() => {
            results.error(Auth, format!("{scheme}{realm}: {e}"));
            return Some(());
        }
        Err(_) => return None,
    };
    if second.status == 200 {
        results.yes(
            Auth,
            format!("{scheme}{realm}: lineage's credentials accepted"),
        );
    } else {
        results.error(
            Auth,
            format!(
                "{scheme}{realm}: {} after authorising (log in with `lineage login {}`)",
                second.summary(),
                session.registry
            ),
        );
    }
    Some(())
}

/// The first manifest `tags` (the repository's listing) names, for the read checks without
/// `--write`.
async fn find_subject(session: &mut Session<'_>, tags: &[String]) -> Option<Subject> {
    let tag = tags
        .iter()
        .find(|t| lineage_oci::reference::is_valid_tag(t) && !t.starts_with("sha256-"))?
        .clone();
    let manifest = fetch_manifest(session, &tag).await?;
    let media_type = manifest.content_type()?.to_string();
    let digest = Digest::sha256(&manifest.body);
    let mut blob = config_of(&manifest.body);
    if blob.is_none() && media_type::is_index(&media_type) {
        let value: Value = serde_json::from_slice(&manifest.body).ok()?;
        if let Some(child) = value["manifests"][0]["digest"].as_str()
            && let Some(child) = fetch_manifest(session, child).await
        {
            blob = config_of(&child.body);
        }
    }
    Some(Subject {
        digest,
        media_type,
        tag: Some(tag),
        blob,
    })
}

async fn fetch_manifest(session: &mut Session<'_>, reference: &str) -> Option<RawResponse> {
    let r = session.get_manifest(reference).await.ok()?;
    (r.status == 200 && !r.truncated).then_some(r)
}

/// The config descriptor of an image manifest.
fn config_of(body: &[u8]) -> Option<(Digest, u64)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let digest = value["config"]["digest"].as_str()?.parse().ok()?;
    Some((digest, value["config"]["size"].as_u64()?))
}

/// Every read check: on the scratch image with `--write`, else on the first tagged manifest
/// of the repository.
pub(crate) async fn read_phase(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    scratch: &Scratch,
) {
    let write = session.options.write;
    let listed = tags(session, results, write).await;
    catalog(session, results).await;
    let subject = match scratch.subject() {
        Some(s) => Some(s),
        None if !write => find_subject(session, &listed).await,
        None => None,
    };
    let subject = subject.as_ref();
    referrers(session, results, subject, scratch).await;
    let Some(subject) = subject else {
        if let Some(e) = session.refused() {
            let why = format!("not authorised: {e}");
            results.error(AcceptStrict, &why);
            results.error(BlobRange, why);
            return;
        }
        let why = if write {
            "the scratch image could not be pushed"
        } else {
            "no tagged manifest found in the repository (name one with --repo, or use --write)"
        };
        for id in [AcceptStrict, BlobRange] {
            if write {
                results.error(id, why);
            } else {
                results.skip(id, why);
            }
        }
        return;
    };
    accept_strict(session, results, subject).await;
    blob_range(session, results, subject).await;
}

/// `tags-list` and `tags-pagination`; the tags listed (none when the list is not served).
async fn tags(session: &mut Session<'_>, results: &mut Results<'_>, write: bool) -> Vec<String> {
    let Ok(r) = session.send(session.get("tags/list")).await else {
        return Vec::new();
    };
    let listed: Vec<String> = match (r.status, serde_json::from_slice::<Value>(&r.body)) {
        (200, Ok(v)) if v["tags"].is_array() || v["tags"].is_null() => {
            let listed: Vec<String> = v["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect();
            let null = if v["tags"].is_null() {
                " (tags: null)"
            } else {
                ""
            };
            results.yes(TagsList, format!("HTTP 200, {} tags{null}", listed.len()));
            listed
        }
        (404, _) if !write => {
            let why = format!(
                "{}: repository {} not found (name one with --repo, or use --write)",
                r.summary(),
                session.repository
            );
            results.skip(TagsList, &why);
            results.skip(TagsPagination, why);
            return Vec::new();
        }
        (200, _) => {
            results.no(TagsList, "HTTP 200 without a tags list");
            return Vec::new();
        }
        _ => {
            results.no(TagsList, r.summary());
            results.skip(TagsPagination, "the tags list is not served");
            return Vec::new();
        }
    };
    let count = listed.len();
    if count < 2 {
        results.skip(
            TagsPagination,
            format!("needs two tags, the repository has {count} (use --write)"),
        );
        return listed;
    }
    let Ok(r) = session.send(session.get("tags/list?n=1")).await else {
        return listed;
    };
    let page: Option<Value> = serde_json::from_slice(&r.body).ok();
    let n = page
        .as_ref()
        .and_then(|p| p["tags"].as_array().map(Vec::len));
    match (r.status, n, r.next_link()) {
        (200, Some(1), Some(next)) => {
            let next = session
                .send(RawRequest::new(
                    Method::GET,
                    next.to_string(),
                    session.scope(false),
                ))
                .await;
            match next {
                Ok(p) if p.status == 200 => {
                    results.yes(
                        TagsPagination,
                        "n=1 gave 1 tag and a Link; the next page answers 200",
                    );
                }
                Ok(p) => results.no(
                    TagsPagination,
                    format!("the Link target answered {}", p.summary()),
                ),
                Err(_) => {}
            }
        }
        (200, Some(1), None) => results.no(TagsPagination, "n=1 gave 1 tag but no Link"),
        (200, Some(k), _) => results.no(
            TagsPagination,
            format!("HTTP 200: n=1 ignored, {k} tags in one answer"),
        ),
        _ => results.no(TagsPagination, format!("{} for ?n=1", r.summary())),
    }
    listed
}

async fn catalog(session: &mut Session<'_>, results: &mut Results<'_>) {
    let req = RawRequest::new(Method::GET, "/v2/_catalog?n=1", Scope::Catalog);
    let Ok(r) = session.send(req).await else {
        return;
    };
    let listed = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .is_some_and(|v| v["repositories"].is_array());
    if r.status == 200 && listed {
        let pages = if r.next_link().is_some() {
            ", pages with Link"
        } else {
            ""
        };
        results.yes(Catalog, format!("HTTP 200{pages}"));
    } else if r.status == 200 {
        results.no(Catalog, "HTTP 200 without a repositories list");
    } else {
        results.no(Catalog, r.summary());
    }
}

/// The referrers of `digest` through the API, following `Link`: the first answer, every
/// entry, and the number of pages.
struct Listing {
    first: RawResponse,
    entries: Vec<Value>,
    pages: usize,
}

async fn list_referrers(
    session: &mut Session<'_>,
    digest: &Digest,
    artifact_type: Option<&str>,
) -> Option<Listing> {
    let mut rest = format!("referrers/{digest}");
    if let Some(t) = artifact_type {
        rest.push_str("?artifactType=");
        rest.extend(url::form_urlencoded::byte_serialize(t.as_bytes()));
    }
    let first = session
        .send(session.get(&rest).header(ACCEPT, media_type::OCI_INDEX))
        .await
        .ok()?;
    let mut listing = Listing {
        entries: Vec::new(),
        pages: 1,
        first: first.clone(),
    };
    if referrers_answer(first.status, first.header("content-type")) != ReferrersAnswer::Api {
        return Some(listing);
    }
    let mut page = first;
    loop {
        let v: Value = serde_json::from_slice(&page.body).unwrap_or_default();
        listing
            .entries
            .extend(v["manifests"].as_array().cloned().unwrap_or_default());
        let Some(next) = page.next_link() else { break };
        if listing.pages >= 100 {
            break;
        }
        let req = RawRequest::new(Method::GET, next.to_string(), session.scope(false))
            .header(ACCEPT, media_type::OCI_INDEX);
        page = session.send(req).await.ok()?;
        if page.status != 200 {
            break;
        }
        listing.pages += 1;
    }
    Some(listing)
}

async fn referrers(
    session: &mut Session<'_>,
    results: &mut Results<'_>,
    subject: Option<&Subject>,
    scratch: &Scratch,
) {
    // Without a subject, ask about a digest nothing has: an API answers an empty index.
    let digest = subject.map_or_else(
        || Digest::sha256(format!("lineage-probe/{}", session.options.run_id).as_bytes()),
        |s| s.digest.clone(),
    );
    let Some(listing) = list_referrers(session, &digest, None).await else {
        return;
    };
    let answer = referrers_answer(listing.first.status, listing.first.header("content-type"));
    match answer {
        ReferrersAnswer::Api => {}
        ReferrersAnswer::NoApi | ReferrersAnswer::Unexpected => {
            let what = if answer == ReferrersAnswer::Unexpected {
                " (not an image index)"
            } else {
                ""
            };
            results.no(ReferrersApi, format!("{}{what}", listing.first.summary()));
            for id in [ReferrersFilter, ReferrersPagination] {
                results.skip(id, "no referrers API");
            }
            return;
        }
        ReferrersAnswer::Failed => {
            results.error(ReferrersApi, listing.first.summary());
            for id in [ReferrersFilter, ReferrersPagination] {
                results.skip(id, "the referrers API could not be asked");
            }
            return;
        }
    }
    let listed: Vec<&str> = listing
        .entries
        .iter()
        .filter_map(|e| e["digest"].as_str())
        .collect();
    let pushed = scratch.referrers();
    if pushed.is_empty() {
        results.yes(
            ReferrersApi,
            format!("HTTP 200 image index, {} referrers", listing.entries.len()),
        );
    } else {
        let missing: Vec<&str> = pushed
            .iter()
            .filter(|m| !listed.contains(&m.digest().as_str()))
            .map(|m| {
                m.view()
                    .ok()
                    .and_then(|v| v.artifact_type.as_deref())
                    .unwrap_or(m.media_type())
            })
            .collect();
        if missing.is_empty() {
            results.yes(
                ReferrersApi,
                format!(
                    "HTTP 200 image index listing all {} referrers pushed",
                    pushed.len()
                ),
            );
        } else {
            results.yes(
                ReferrersApi,
                format!(
                    "HTTP 200 image index, but it lists {} of {} referrers pushed (missing {})",
                    pushed.len() - missing.len(),
                    pushed.len(),
                    missing.join(", ")
                ),
            );
        }
    }
    // Pagination.
    if listing.pages > 1 {
        results.yes(
            ReferrersPagination,
            format!(
                "{} entries over {} pages linked with Link",
                listing.entries.len(),
                listing.pages
            ),
        );
    } else if listing.entries.len() < 2 {
        results.skip(
            ReferrersPagination,
            "needs at least two referrers (use --write)",
        );
    } else {
        results.no(
            ReferrersPagination,
            format!(
                "{} referrers came in one page without Link (a registry may page only longer lists)",
                listing.entries.len()
            ),
        );
    }
    // Filtering.
    let wanted = if pushed.is_empty() {
        listing
            .entries
            .first()
            .and_then(|e| e["artifactType"].as_str())
            .unwrap_or(content::ARTIFACT_TYPE)
            .to_string()
    } else {
        content::ARTIFACT_TYPE.to_string()
    };
    let Some(filtered) = list_referrers(session, &digest, Some(&wanted)).await else {
        return;
    };
    let others = filtered
        .entries
        .iter()
        .filter(|e| e["artifactType"].as_str() != Some(wanted.as_str()))
        .count();
    let applied = artifact_type_filtered(filtered.first.header("oci-filters-applied"));
    match (filtered.first.status, applied, others) {
        (200, true, 0) => results.yes(
            ReferrersFilter,
            format!(
                "OCI-Filters-Applied: artifactType, {} entries",
                filtered.entries.len()
            ),
        ),
        (200, true, k) => results.no(
            ReferrersFilter,
            format!(
                "OCI-Filters-Applied says artifactType, but {k} entries of other types came back"
            ),
        ),
        (200, false, _) => results.no(
            ReferrersFilter,
            "HTTP 200 without OCI-Filters-Applied: filter on the client",
        ),
        _ => results.no(
            ReferrersFilter,
            format!("{} for ?artifactType=", filtered.first.summary()),
        ),
    }
}

async fn accept_strict(session: &mut Session<'_>, results: &mut Results<'_>, subject: &Subject) {
    if !subject.media_type.starts_with("application/vnd.oci.") {
        results.skip(
            AcceptStrict,
            format!(
                "needs an OCI manifest, the repository's is {}",
                subject.media_type
            ),
        );
        return;
    }
    let docker_only = format!(
        "{}, {}",
        media_type::DOCKER_MANIFEST,
        media_type::DOCKER_MANIFEST_LIST
    );
    // Registries may judge `Accept` by tag and not by digest (zuul-registry does), so
    // both are asked; failing either way means clients must send the OCI types.
    let mut seen = Vec::new();
    let mut strict = false;
    let references = subject
        .tag
        .iter()
        .map(|t| ("tag", t.clone()))
        .chain([("digest", subject.digest.to_string())]);
    for (kind, reference) in references {
        let req = session
            .get(&format!("manifests/{reference}"))
            .header(ACCEPT, docker_only.clone());
        let Ok(r) = session.send(req).await else {
            return;
        };
        match r.status {
            200 => seen.push(format!(
                "by {kind}: HTTP 200 {}",
                r.content_type().unwrap_or("without Content-Type")
            )),
            s if (400..500).contains(&s) => {
                strict = true;
                seen.push(format!("by {kind}: {}", r.summary()));
            }
            _ => return results.error(AcceptStrict, format!("by {kind}: {}", r.summary())),
        }
    }
    let detail = format!("Accept with Docker types only: {}", seen.join("; "));
    if strict {
        results.yes(
            AcceptStrict,
            format!("{detail} (always send the OCI types)"),
        );
    } else {
        results.no(AcceptStrict, detail);
    }
}

async fn blob_range(session: &mut Session<'_>, results: &mut Results<'_>, subject: &Subject) {
    let Some((digest, size)) = &subject.blob else {
        results.skip(BlobRange, "no blob found to read");
        return;
    };
    if *size < 2 {
        results.skip(BlobRange, "the blob found is shorter than 2 bytes");
        return;
    }
    let req = session
        .get(&format!("blobs/{digest}"))
        .header(RANGE, "bytes=0-1");
    let Ok(r) = session.send(req).await else {
        return;
    };
    let range = r.header("content-range").map(str::to_string);
    match (r.status, range) {
        (206, Some(range)) if r.body.len() == 2 => {
            results.yes(BlobRange, format!("HTTP 206, Content-Range: {range}"))
        }
        (206, _) => results.no(
            BlobRange,
            format!(
                "HTTP 206 but {} bytes and no usable Content-Range",
                r.body.len()
            ),
        ),
        (200, _) => results.no(BlobRange, "HTTP 200: Range ignored, the whole blob sent"),
        _ => results.set(BlobRange, Outcome::Error, r.summary()),
    }
}
