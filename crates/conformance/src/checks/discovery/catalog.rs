//! The `/v2/_catalog` extension: the listing and its pages.

use super::*;

/// GET of a catalog page: 200 and `{"repositories": [...]}`; a 404 means
/// the optional extension is absent.
pub(super) async fn catalog_page(cx: &Ctx, target: &str) -> Result<(Resp, Vec<String>), Bad> {
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

pub(super) async fn catalog(cx: &Ctx, rec: &mut Recorder) {
    let g = Group::Discovery;
    rec.record(g, "discovery/catalog/list", catalog_list(cx).await);
    rec.record(g, "discovery/catalog/paginate", catalog_paginate(cx).await);
}

/// Every repository this run pushed to is listed (following `Link`).
pub(super) async fn catalog_list(cx: &Ctx) -> Check {
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
pub(super) async fn catalog_paginate(cx: &Ctx) -> Check {
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
