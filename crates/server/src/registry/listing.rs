//! Listings: tags (end-8, `n`/`last` with `Link`), the catalog, and referrers (end-12) from
//! the layout store's referrers index, filtered by `artifactType` (repeatable: any of them)
//! and paged with `Link`. A referrers page is written from the index's serialised entries,
//! without parsing or building a JSON tree per entry.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use lineage_oci::{Descriptor, Digest, media_type};
use lineage_store::ReadStore;
use lineage_store::layout::index::Entry;
use serde_json::json;

use super::error::{OciError, internal};
use super::path;
use super::state::Registry;
use super::uploads::insert;

/// One page of `items` after `last`, at most `n` long, and whether more follow.
fn page<'a>(
    items: &'a [String],
    query: &HashMap<String, String>,
) -> Result<(&'a [String], bool), OciError> {
    let start = match query.get("last") {
        Some(last) => items.partition_point(|t| t.as_str() <= last.as_str()),
        None => 0,
    };
    let rest = &items[start..];
    match query.get("n") {
        None => Ok((rest, false)),
        Some(n) => {
            let n: usize = n
                .parse()
                .map_err(|_| OciError::pagination_number_invalid(n))?;
            Ok((&rest[..n.min(rest.len())], n > 0 && rest.len() > n))
        }
    }
}

fn json_response(body: serde_json::Value, content_type: &str) -> Response {
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    insert(
        resp.headers_mut(),
        header::CONTENT_TYPE.as_str(),
        content_type,
    );
    resp
}

/// GET the tags of a repository.
pub(crate) async fn tags(
    reg: &Registry,
    name: &str,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let mut all = known_repo(reg, name)
        .await?
        .tag_list()
        .await
        .map_err(|e| internal("cannot list tags", &e))?;
    all.sort();
    let (shown, more) = page(&all, query)?;
    Ok(listing_page(
        json!({"name": name, "tags": shown}),
        &format!("/v2/{name}/tags/list"),
        query.get("n").map_or("", String::as_str),
        more.then(|| shown.last()).flatten(),
    ))
}

/// The repository `name`, or `NAME_UNKNOWN`.
async fn known_repo(
    reg: &Registry,
    name: &str,
) -> Result<std::sync::Arc<lineage_store::layout::LayoutStore>, OciError> {
    reg.repo(name)
        .await
        .ok_or_else(|| OciError::name_unknown(name))
}

/// One page of a listing paged by `n` and `last` (tags, catalog, untagged manifests): `body`,
/// with a `Link` to the page after `last` at `path` when more follow.
fn listing_page(body: serde_json::Value, path: &str, n: &str, last: Option<&String>) -> Response {
    let mut resp = json_response(body, "application/json");
    if let Some(last) = last {
        insert(
            resp.headers_mut(),
            header::LINK.as_str(),
            &format!("<{path}?n={n}&last={last}>; rel=\"next\""),
        );
    }
    resp
}

/// GET `/v2/<name>/_lineage/untagged`, lineage's extension (the distribution API lists tags
/// only): the repository's manifests that no tag names, as descriptors (media type, digest,
/// size, artifactType) sorted by digest, paged as the tag list is (`n`, `last`, `Link`). Referrers
/// are among them; `lineage retire --filter … --untagged` reads it.
pub(crate) async fn untagged(
    reg: &Registry,
    name: &str,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let repo = known_repo(reg, name).await?;
    let index = tokio::task::spawn_blocking(move || repo.index())
        .await
        .map_err(|e| internal("cannot list manifests", &e))?
        .map_err(|e| internal("cannot list manifests", &e))?;
    let tagged: HashSet<&Digest> = index
        .entries
        .iter()
        .filter(|e| e.ref_name().is_some())
        .map(|e| e.digest())
        .collect();
    let mut untagged: BTreeMap<String, &Entry> = BTreeMap::new();
    for e in index
        .entries
        .iter()
        .filter(|e| !tagged.contains(e.digest()))
    {
        untagged.entry(e.digest().to_string()).or_insert(e);
    }
    let digests: Vec<String> = untagged.keys().cloned().collect();
    let n = query
        .get("n")
        .map_or(UNTAGGED_PAGE, String::as_str)
        .to_string();
    let mut paged = query.clone();
    paged.insert("n".into(), n.clone());
    let (shown, more) = page(&digests, &paged)?;
    // Only the page's entries are read as descriptors.
    let manifests = shown
        .iter()
        .filter_map(|d| untagged.get(d))
        .map(|e| {
            let listed = e
                .descriptor()
                .map_err(|err| internal("cannot list manifests", &err))?;
            let mut desc =
                Descriptor::new(e.media_type().to_string(), e.digest().clone(), listed.size);
            desc.artifact_type = listed.artifact_type;
            Ok(desc)
        })
        .collect::<Result<Vec<Descriptor>, OciError>>()?;
    Ok(listing_page(
        json!({"name": name, "manifests": manifests}),
        &format!("/v2/{name}/_lineage/untagged"),
        &n,
        more.then(|| shown.last()).flatten(),
    ))
}

/// The page size of the untagged listing when the client gives none: about 2.5 MB of
/// descriptors, within a client's 4 MiB page limit, so a repository of 100 000 manifests
/// takes ten index reads, not a hundred.
const UNTAGGED_PAGE: &str = "10000";

/// GET the catalog.
pub(crate) async fn catalog(
    reg: &Registry,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let all = reg
        .repositories()
        .await
        .map_err(|e| internal("cannot list repositories", &e))?;
    let (shown, more) = page(&all, query)?;
    Ok(listing_page(
        json!({"repositories": shown}),
        "/v2/_catalog",
        query.get("n").map_or("", String::as_str),
        more.then(|| shown.last()).flatten(),
    ))
}

/// GET the referrers of a digest: 200 with an image index, also for unknown digests and
/// repositories.
pub(crate) async fn referrers(
    reg: &Registry,
    name: &str,
    digest_text: &str,
    query: &[(String, String)],
) -> Result<Response, OciError> {
    let digest = path::digest(digest_text)?;
    let types: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "artifactType")
        .map(|(_, v)| v.as_str())
        .collect();
    let size = reg.policy.referrers_page_size.max(1);
    let page_no: usize = query
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    // Only the page asked for is gathered and written, whatever the subject has.
    let (shown, more) = match reg.repo(name).await {
        Some(repo) => repo
            .referrers_json_page(&digest, &types, page_no.saturating_mul(size), size)
            .await
            .map_err(|e| internal("cannot list referrers", &e))?,
        None => (Vec::new(), false),
    };
    let head = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":["#,
        media_type::OCI_INDEX
    );
    let len = head.len()
        + shown.iter().map(|j| j.len()).sum::<usize>()
        + shown.len().saturating_sub(1)
        + 2;
    let body = Body::from_stream(futures_util::stream::iter(page_pieces(head, shown)));
    let mut resp = (StatusCode::OK, body).into_response();
    insert(
        resp.headers_mut(),
        header::CONTENT_TYPE.as_str(),
        media_type::OCI_INDEX,
    );
    insert(
        resp.headers_mut(),
        header::CONTENT_LENGTH.as_str(),
        &len.to_string(),
    );
    if !types.is_empty() {
        insert(resp.headers_mut(), "oci-filters-applied", "artifactType");
    }
    if more {
        let mut next = format!("/v2/{name}/referrers/{digest}?page={}", page_no + 1);
        for t in &types {
            next.push_str("&artifactType=");
            next.extend(url_encode(t));
        }
        insert(
            resp.headers_mut(),
            header::LINK.as_str(),
            &format!("<{next}>; rel=\"next\""),
        );
    }
    Ok(resp)
}

/// The bytes of a listing are made in pieces of about this size.
const PIECE: usize = 64 * 1024;

/// A referrers page as pieces of about [`PIECE`] bytes, each made when hyper asks for the
/// next: `head`, the entries joined by commas, and the closing `]}`. A page is never one
/// large buffer (a large buffer freed raises the allocator's thresholds, and memory stays
/// with the process).
fn page_pieces(
    head: String,
    entries: Vec<std::sync::Arc<str>>,
) -> impl Iterator<Item = Result<Bytes, std::convert::Infallible>> {
    let mut head = Some(head);
    let mut rest = entries.into_iter().enumerate();
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        let mut piece = head.take().unwrap_or_default();
        piece.reserve(PIECE);
        while piece.len() < PIECE {
            match rest.next() {
                Some((i, entry)) => {
                    if i > 0 {
                        piece.push(',');
                    }
                    piece.push_str(&entry);
                }
                None => {
                    piece.push_str("]}");
                    finished = true;
                    break;
                }
            }
        }
        Some(Ok(Bytes::from(piece)))
    })
}

fn url_encode(s: &str) -> impl Iterator<Item = char> + '_ {
    url::form_urlencoded::byte_serialize(s.as_bytes()).flat_map(str::chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages() {
        let items: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(page(&items, &q(&[])).unwrap(), (&items[..], false));
        assert_eq!(
            page(&items, &q(&[("n", "2")])).unwrap(),
            (&items[..2], true)
        );
        assert_eq!(
            page(&items, &q(&[("n", "2"), ("last", "b")])).unwrap(),
            (&items[2..], false)
        );
        assert_eq!(
            page(&items, &q(&[("n", "0")])).unwrap(),
            (&items[..0], false)
        );
        assert_eq!(
            page(&items, &q(&[("last", "bb")])).unwrap(),
            (&items[2..], false)
        );
        let err = page(&items, &q(&[("n", "x")])).unwrap_err();
        assert_eq!(err.code, "PAGINATION_NUMBER_INVALID");
        assert_eq!(url_encode("a/b+c").collect::<String>(), "a%2Fb%2Bc");
    }

    #[test]
    fn a_page_in_pieces_is_the_whole_index_and_no_piece_is_much_larger_than_one() {
        let join = |entries: Vec<std::sync::Arc<str>>| {
            let pieces: Vec<Bytes> = page_pieces("[".into(), entries)
                .map(|p| p.unwrap())
                .collect();
            assert!(
                pieces.iter().all(|p| p.len() < PIECE + 1024),
                "a piece too large"
            );
            (pieces.len(), pieces.concat())
        };
        assert_eq!(join(Vec::new()), (1, b"[]}".to_vec()));
        let entry: std::sync::Arc<str> = format!("{{\"x\":\"{}\"}}", "a".repeat(500)).into();
        let (pieces, bytes) = join(vec![entry.clone(); 1000]);
        assert!(pieces > 1, "{pieces}");
        let text = String::from_utf8(bytes).unwrap();
        let expected = format!("[{}]}}", vec![entry.to_string(); 1000].join(","));
        assert_eq!(text, expected);
    }
}
