//! The lifecycle commands that copy an image into a store: `push` (the image with its
//! lifecycle annotations added) and `release` (a new revision: pushed, tagged `V-R`, `V`
//! moved, the previous revision retired), over the engine in `lineage-lifecycle`.

use anyhow::Context as _;
use lineage_lifecycle::{Engine, Namespace, Release, ReleaseRequest};
use lineage_oci::StoreRef;

use crate::args::{PushArgs, ReleaseArgs};
use crate::commands::lifecycle::{describe, engine, usage};
use crate::open::Opener;
use crate::output::Printer;

/// `lineage release SRC REPO --version V …`; `windows` are the support windows
/// (`--support-for`, `--eol-after`, else the config file's).
pub async fn release(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: ReleaseArgs,
    windows: (Option<std::time::Duration>, Option<std::time::Duration>),
    signer: Option<lineage_trust::Signer>,
) -> anyhow::Result<()> {
    let engine = engine(namespace, a.dialect);
    let repository = repository_arg("REPOSITORY", &a.repository).map_err(|e| {
        // `release REPO SRC:TAG`: the arguments the other way round.
        if a.source.written_target().is_none() {
            usage(crate::error::Hinted {
                error: e,
                // No tag was written into the source, so none is shown (not `:latest`).
                hint: format!(
                    "the source comes first: `lineage release {} {}`",
                    a.repository,
                    a.source.with_target(None)
                ),
            })
        } else {
            e
        }
    })?;
    let req = ReleaseRequest {
        version: a.version.clone(),
        revision: a.revision.clone(),
        created: a.created,
        eol_at: a.eol_at,
        now: lineage_oci::time::now(),
        rollback: a.rollback,
        copy: lineage_store::copy::CopyOptions {
            referrers: a.referrers,
            // Scoped records travel only where `--include-scope` lets them (issue 18).
            referrer_filter: a.referrers.then(|| {
                std::sync::Arc::new(lineage_lifecycle::scope::ScopeFilter {
                    scopes: lineage_lifecycle::scope::ScopeSet::new(&a.include_scopes),
                    namespaces: vec![namespace.clone()],
                }) as std::sync::Arc<dyn lineage_store::copy::ReferrerFilter>
            }),
            ..lineage_store::copy::CopyOptions::default()
        },
        override_created: a.override_created,
        support_for: windows.0,
        eol_after: windows.1,
        scope: a.scope.clone(),
    };
    let (done, destination) =
        release_into(opener, &engine, printer, &a.source, &repository, req).await?;
    let signed = match &signer {
        Some(s) => sign_release(opener, &repository, s, &done).await?,
        None => Vec::new(),
    };
    outln!("{}", done.image.digest)?;
    report_release(printer, &destination, &done);
    if let Some(s) = &signer {
        crate::commands::sign::report(printer, s, &signed);
    }
    Ok(())
}

/// Signs the records the release `done` wrote into `repository` (`--sign`): those retiring
/// the previous revision and, on a rollback, those restoring the released one.
pub async fn sign_release(
    opener: &Opener,
    repository: &StoreRef,
    signer: &lineage_trust::Signer,
    done: &Release,
) -> anyhow::Result<Vec<crate::commands::sign::Signed>> {
    let store = opener.write(repository).await?;
    let written: Vec<_> = done.records.iter().chain(&done.restored).cloned().collect();
    let signed = crate::commands::sign::sign_written(store.as_ref(), signer, &written)
        .await
        .with_context(|| format!("cannot sign the records of the release into `{repository}`"))?;
    store.flush().await?;
    Ok(signed)
}

/// Release `source` into `repository` as `req` asks, with a progress bar where one can be
/// drawn; the release, and the name of the store released into.
pub async fn release_into(
    opener: &Opener,
    engine: &Engine,
    printer: Printer,
    source: &StoreRef,
    repository: &StoreRef,
    mut req: ReleaseRequest,
) -> anyhow::Result<(Release, String)> {
    let bar = printer.bar("releasing");
    req.copy.progress = bar
        .clone()
        .map(|b| b as std::sync::Arc<dyn lineage_store::copy::CopyProgress>);
    let src = opener.read(source).await?;
    let dst = opener.write(repository).await?;
    let done = engine
        .release(src.as_ref(), source.target().as_ref(), dst.as_ref(), &req)
        .await;
    if let Some(b) = &bar {
        b.finish();
    }
    let done = match done {
        // The request contradicts the image: a usage error, with nothing written.
        Err(e @ lineage_lifecycle::EngineError::CreatedConflict { .. }) => return Err(usage(e)),
        other => other.with_context(|| format!("cannot release `{source}` into `{repository}`"))?,
    };
    Ok((done, dst.name().to_string()))
}

/// What a release did, as notes on stderr: the tags, the retired revision, the created time
/// and where it came from, a rollback's restore.
pub fn report_release(printer: Printer, repository: &str, done: &Release) {
    note!(
        printer,
        "Released `{repository}:{}-{}` (moved `{}`) {}",
        done.version,
        done.revision,
        done.version,
        match &done.previous {
            Some(p) => format!("retiring {p} ({})", describe(&done.records)),
            None => "(first revision)".to_string(),
        }
    );
    note!(
        printer,
        "  created {}, from {}",
        lineage_oci::time::format_rfc3339(&done.created),
        done.created_from
    );
    if let Some(base) = &done.base {
        note!(printer, "  built on {base}");
    }
    if !done.restored.is_empty() {
        note!(
            printer,
            "  rolled back: `{repository}:{}-{}` restored ({})",
            done.version,
            done.revision,
            describe(&done.restored)
        );
    }
}

/// The repository argument `name` of a command that names a repository, not an image:
/// a tag or digest written into it is refused (it would be silently dropped).
fn repository_arg(name: &str, r: &StoreRef) -> anyhow::Result<StoreRef> {
    match r.written_target() {
        None => Ok(r.with_target(None)),
        Some(t) => Err(usage(anyhow::anyhow!(
            "{name} `{r}` names {} `{t}`, but a repository is expected here: write `{}`",
            if t.tag().is_some() {
                "the tag"
            } else {
                "the digest"
            },
            r.with_target(None)
        ))),
    }
}

/// `lineage push SRC DST [--version V] [--revision R] [--created T] [--tag T]…`: copy with
/// the lifecycle annotations added to the top manifest (a new digest, unless it already has
/// them).
pub async fn push(opener: &Opener, printer: Printer, a: PushArgs) -> anyhow::Result<()> {
    use lineage_lifecycle::engine::annotate;
    use lineage_lifecycle::profile::{ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION};
    use lineage_store::copy::{CopyOptions, copy_graph};
    use lineage_store::overlay::WithManifest;

    let (source, destination, created) = (&a.source, &a.destination, a.created);
    let src = opener.read(source).await?;
    let dst = opener.write(destination).await?;
    let manifest = src
        .manifest_fetch_target(source.target().as_ref())
        .await
        .with_context(|| format!("cannot push `{source}`"))?;
    let own = manifest
        .view()
        .map(|v| v.annotations.clone())
        .unwrap_or_default();
    let mut add = std::collections::BTreeMap::new();
    if let Some(v) = &a.version {
        add.insert(ANNOTATION_VERSION.to_string(), v.clone());
    }
    if let Some(r) = &a.revision {
        add.insert(ANNOTATION_REVISION.to_string(), r.clone());
    }
    let own_created = own
        .get(ANNOTATION_CREATED)
        .and_then(|c| lineage_oci::time::parse_lenient(c).ok());
    match (own_created, created) {
        (Some(image), Some(requested)) if image != requested && !a.override_created => {
            // The same refusal, in the same words, as `release`.
            return Err(usage(lineage_lifecycle::EngineError::CreatedConflict {
                image,
                from: lineage_lifecycle::CreatedFrom::Annotation,
                requested,
            }));
        }
        (Some(_), Some(requested)) => {
            add.insert(
                ANNOTATION_CREATED.to_string(),
                lineage_oci::time::format_rfc3339(&requested),
            );
        }
        _ if !own.contains_key(ANNOTATION_CREATED) => {
            let c = created.unwrap_or_else(lineage_oci::time::now);
            add.insert(
                ANNOTATION_CREATED.to_string(),
                lineage_oci::time::format_rfc3339(&c),
            );
        }
        _ => {}
    }
    let image = annotate(&manifest, &add)?;
    let mut tags: Vec<String> = destination
        .target()
        .and_then(|t| t.tag().map(String::from))
        .into_iter()
        .collect();
    tags.extend(a.tags.iter().cloned());
    let overlay = WithManifest::new(src.as_ref(), image.clone());
    let bar = printer.bar("pushing");
    let opts = CopyOptions {
        progress: bar
            .clone()
            .map(|b| b as std::sync::Arc<dyn lineage_store::copy::CopyProgress>),
        ..CopyOptions::default()
    };
    let copied = copy_graph(
        &overlay,
        dst.as_ref(),
        &image.descriptor(),
        tags.first().map(String::as_str),
        &opts,
    )
    .await;
    if let Some(b) = &bar {
        b.finish();
    }
    copied.with_context(|| format!("cannot push `{source}` to `{destination}`"))?;
    for t in tags.iter().skip(1) {
        dst.manifest_put(&image, Some(t))
            .await
            .with_context(|| format!("cannot tag `{t}`"))?;
    }
    dst.flush().await?;
    outln!("{}", image.digest())?;
    note!(
        printer,
        "Pushed `{}` as {} (tags: {})",
        source,
        image.digest(),
        if tags.is_empty() {
            "none".into()
        } else {
            tags.join(", ")
        }
    );
    Ok(())
}
