//! The tags list: order, `n`, `last`, the `Link` header, a walk of every page, an unknown repository.

use super::*;

// ---------------------------------------------------------------- tags --

/// The tags pushed, in push order (deliberately not sorted).
pub(super) const TAGS: [&str; 6] = ["delta", "alpha", "foxtrot", "charlie", "echo", "bravo"];

pub(super) fn sorted_tags() -> Vec<String> {
    let mut t: Vec<String> = TAGS.iter().map(|t| (*t).to_owned()).collect();
    t.sort();
    t
}

pub(super) async fn tags_setup(cx: &Ctx) -> Result<String, StepError> {
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
pub(super) async fn tag_page(
    cx: &Ctx,
    repo: &str,
    target: &str,
) -> Result<(Resp, Vec<String>), Bad> {
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

pub(super) async fn tags(cx: &Ctx, rec: &mut Recorder) {
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

pub(super) async fn tags_list(cx: &Ctx, s: &Result<String, StepError>) -> Check {
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

pub(super) async fn tags_order(cx: &Ctx, s: &Result<String, StepError>) -> Check {
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
pub(super) fn page_ok(
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
pub(super) async fn tags_n(cx: &Ctx, s: &Result<String, StepError>, n: usize) -> Check {
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
pub(super) async fn tags_last(cx: &Ctx, s: &Result<String, StepError>) -> Check {
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
pub(super) async fn tags_link(cx: &Ctx, s: &Result<String, StepError>) -> Check {
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
pub(super) async fn tags_walk(cx: &Ctx, s: &Result<String, StepError>) -> Check {
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

pub(super) async fn tags_unknown(cx: &Ctx) -> Check {
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
