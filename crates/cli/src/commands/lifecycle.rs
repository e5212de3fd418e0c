//! The lifecycle commands: `status`, `release`, `retire`, `restore`, `history`, `latest`,
//! each a thin layer over the engine in `lineage-lifecycle`.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use lineage_lifecycle::status::State;
use lineage_lifecycle::{
    Engine, Namespace, Reason, RecordSpec, ReleaseRequest, Status, WriteOptions, Written,
};
use lineage_oci::StoreRef;

use crate::args::{DialectArg, HistoryArgs, Output, ReleaseArgs, RetireArgs, StatusArgs};
use crate::commands::resolve_target;
use crate::error::{Exit, UsageError, exit_code};
use crate::open::{self, Opener};

/// `e` as a usage error (exit 2).
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.into()))
}

/// The engine for `--namespace` (and `--dialect`).
pub fn engine(namespace: &str, dialect: Option<DialectArg>) -> anyhow::Result<Engine> {
    let ns = Namespace::new(namespace).map_err(usage)?;
    Ok(Engine {
        namespaces: vec![ns.clone()],
        write: WriteOptions {
            namespace: ns,
            microsoft: dialect == Some(DialectArg::Microsoft),
        },
    })
}

/// The state `--fail-on` names, as a usage error when it names none.
pub fn fail_on(value: Option<&str>) -> anyhow::Result<Option<State>> {
    value.map(|s| s.parse::<State>().map_err(usage)).transpose()
}

/// The time `value` of `flag` (RFC 3339, ISO 8601 basic, or a date), as a usage error when invalid.
pub fn time(flag: &str, value: Option<&str>) -> anyhow::Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            lineage_oci::time::parse_lenient(v)
                .map_err(|e| usage(anyhow::Error::new(e).context(format!("invalid `{flag}`"))))
        })
        .transpose()
}

async fn one_status(
    opener: &Opener,
    engine: &Engine,
    r: &StoreRef,
    at: DateTime<Utc>,
) -> anyhow::Result<Status> {
    let store = opener.read(r).await?;
    engine
        .status(store.as_ref(), &r.to_string(), r.target().as_ref(), at)
        .await
        .with_context(|| format!("cannot determine the status of `{r}`"))
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| lineage_oci::time::format_rfc3339(&t),
    )
}

fn print_table(rows: &[Status]) -> std::io::Result<()> {
    print_rows(rows.iter().map(Ok))
}

/// The status table: a row per status, a row in state `unknown` per failed reference (its
/// error on stderr). Rows are borrowed, `Err((reference, error))` for a failure.
fn print_rows<'a>(
    rows: impl Iterator<Item = Result<&'a Status, (&'a str, &'a str)>> + Clone,
) -> std::io::Result<()> {
    let width = rows
        .clone()
        .map(|r| match r {
            Ok(s) => s.reference.len(),
            Err((reference, _)) => reference.len(),
        })
        .max()
        .unwrap_or(9)
        .max(9);
    outln!(
        "{:<width$}  {:<12}  {:<22}  SUCCESSOR",
        "REFERENCE",
        "STATE",
        "END-OF-LIFE"
    )?;
    for row in rows {
        let s = match row {
            Ok(s) => s,
            Err((reference, error)) => {
                outln!(
                    "{reference:<width$}  {:<12}  {:<22}  -",
                    State::Unknown.to_string(),
                    "-"
                )?;
                eprintln!("error: {reference}: {error}");
                continue;
            }
        };
        let successor = s.successor.as_ref().map_or("-".to_string(), |x| {
            x.reference.clone().unwrap_or_else(|| "-".into())
        });
        outln!(
            "{:<width$}  {:<12}  {:<22}  {}",
            s.reference,
            s.state.to_string(),
            when(s.end_of_life),
            successor
        )?;
        for w in &s.warnings {
            eprintln!(
                "warning: {}: {}",
                s.reference,
                serde_json::to_string(w).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// One reference's answer to `lineage status`: its status, or why it has none.
enum Looked {
    /// The status (boxed: it is far larger than the failure).
    Found(Box<Status>),
    /// The lookup failed; shown as state `unknown` with the error, as `lineage audit` does.
    Failed {
        /// The reference as given.
        reference: String,
        /// The error chain on one line.
        error: String,
    },
}

impl Looked {
    /// The row [`print_rows`] prints.
    fn row(&self) -> Result<&Status, (&str, &str)> {
        match self {
            Looked::Found(s) => Ok(s),
            Looked::Failed { reference, error } => Err((reference, error)),
        }
    }

    fn json(&self) -> serde_json::Result<serde_json::Value> {
        match self {
            Looked::Found(s) => serde_json::to_value(s),
            Looked::Failed { reference, error } => Ok(serde_json::json!({
                "reference": reference,
                "digest": null,
                "state": State::Unknown,
                "error": error,
            })),
        }
    }
}

/// `lineage status REF…`: a row for every reference, those that failed as `unknown` with
/// their error; exit 1 when any failed (after printing), else 3 when any is in or past
/// `--fail-on`.
pub async fn status(opener: &Opener, namespace: &str, a: StatusArgs) -> anyhow::Result<()> {
    let engine = engine(namespace, None)?;
    let at = time("--at", a.at.as_deref())?.unwrap_or_else(lineage_oci::time::now);
    let fail_on = fail_on(a.fail_on.as_deref())?;
    let refs = a
        .references
        .iter()
        .map(|r| open::parse(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut rows = Vec::new();
    for r in &refs {
        rows.push(match one_status(opener, &engine, r, at).await {
            Ok(s) => Looked::Found(Box::new(s)),
            Err(e) => Looked::Failed {
                reference: r.to_string(),
                error: lineage_store::one_line(e.as_ref()),
            },
        });
    }
    match a.output {
        Output::Json => {
            let values = rows
                .iter()
                .map(Looked::json)
                .collect::<serde_json::Result<Vec<_>>>()?;
            outln!("{}", serde_json::to_string_pretty(&values)?)?;
        }
        Output::Text => print_rows(rows.iter().map(Looked::row))?,
    }
    let failed = rows
        .iter()
        .filter(|r| matches!(r, Looked::Failed { .. }))
        .count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} references could not be looked up (shown as `unknown`)",
            rows.len()
        );
    }
    if let Some(limit) = fail_on
        && rows
            .iter()
            .any(|r| matches!(r, Looked::Found(s) if s.state.is_at_least(limit)))
    {
        return Err(Exit(exit_code::POLICY).into());
    }
    Ok(())
}

fn describe(written: &[Written]) -> String {
    let pushed = written
        .iter()
        .filter(|w| matches!(w, Written::Pushed(_)))
        .count();
    format!(
        "{} written, {} already current",
        lineage_oci::quantity::plural(pushed as u64, "record"),
        written.len() - pushed
    )
}

/// `lineage release SRC REPO --version V …`
pub async fn release(
    opener: &Opener,
    namespace: &str,
    a: ReleaseArgs,
    quiet: bool,
) -> anyhow::Result<()> {
    let engine = engine(namespace, a.dialect)?;
    let source = open::parse(&a.source)?;
    let repository = repository_arg("REPOSITORY", &a.repository).map_err(|e| {
        // `release REPO SRC:TAG`: the arguments the other way round.
        if source.written_target().is_none() {
            usage(crate::error::Hinted {
                error: e,
                hint: format!(
                    "the source comes first: `lineage release {} {}`",
                    a.repository, a.source
                ),
            })
        } else {
            e
        }
    })?;
    let req = ReleaseRequest {
        version: a.version.clone(),
        revision: a.revision.clone(),
        created: time("--created", a.created.as_deref())?,
        eol_at: time("--eol-at", a.eol_at.as_deref())?,
        now: lineage_oci::time::now(),
        rollback: a.rollback,
        copy: lineage_store::copy::CopyOptions::default(),
    };
    if !lineage_oci::reference::is_valid_tag(&req.version) {
        return Err(usage(anyhow::anyhow!(
            "`--version {}` is not a valid tag",
            req.version
        )));
    }
    let bar = crate::progress::Bar::new("releasing", quiet);
    let mut req = req;
    req.copy.progress = bar
        .clone()
        .map(|b| b as std::sync::Arc<dyn lineage_store::copy::CopyProgress>);
    let src = opener.read(&source).await?;
    let dst = opener.write(&repository).await?;
    let done = engine
        .release(src.as_ref(), source.target().as_ref(), dst.as_ref(), &req)
        .await;
    if let Some(b) = &bar {
        b.finish();
    }
    let done = done.with_context(|| format!("cannot release `{source}` into `{repository}`"))?;
    outln!("{}", done.image.digest)?;
    if !quiet {
        eprintln!(
            "Released `{}:{}-{}` (moved `{}`) {}",
            dst.name(),
            done.version,
            done.revision,
            done.version,
            match &done.previous {
                Some(p) => format!("retiring {p} ({})", describe(&done.records)),
                None => "(first revision)".to_string(),
            }
        );
        eprintln!(
            "  created {}, from {}",
            lineage_oci::time::format_rfc3339(&done.created),
            done.created_from
        );
        if !done.restored.is_empty() {
            eprintln!(
                "  rolled back: `{}:{}-{}` restored ({})",
                dst.name(),
                done.version,
                done.revision,
                describe(&done.restored)
            );
        }
    }
    Ok(())
}

/// The repository argument `name` of a command that names a repository, not an image:
/// a tag or digest written into it is refused (it would be silently dropped).
fn repository_arg(name: &str, value: &str) -> anyhow::Result<StoreRef> {
    let r = open::parse(value)?;
    match r.written_target() {
        None => Ok(r.with_target(None)),
        Some(t) => Err(usage(anyhow::anyhow!(
            "{name} `{value}` names {} `{t}`, but a repository is expected here: write `{}`",
            if t.tag().is_some() {
                "the tag"
            } else {
                "the digest"
            },
            r.with_target(None)
        ))),
    }
}

async fn record(
    opener: &Opener,
    engine: &Engine,
    r: &StoreRef,
    spec: RecordSpec,
    verb: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    let store = opener.write(r).await?;
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot {verb} `{r}`"))?;
    let written = engine
        .write_record(store.as_ref(), &desc, &spec)
        .await
        .with_context(|| format!("cannot {verb} `{r}`"))?;
    store.flush().await?;
    if let Some(Written::Pushed(d) | Written::Unchanged(d)) = written.first() {
        outln!("{d}")?;
    }
    if !quiet {
        eprintln!(
            "{} `{r}`: {}",
            if verb == "retire" {
                "Retired"
            } else {
                "Restored"
            },
            describe(&written)
        );
    }
    Ok(())
}

/// `lineage retire REF …`
pub async fn retire(
    opener: &Opener,
    namespace: &str,
    a: RetireArgs,
    quiet: bool,
) -> anyhow::Result<()> {
    let engine = engine(namespace, a.dialect)?;
    let r = open::parse(&a.reference)?;
    let reason = a
        .reason
        .as_deref()
        .map(|s| s.parse::<Reason>().map_err(usage))
        .transpose()?;
    let superseded_by = match &a.successor {
        Some(s) => {
            let sr = open::parse(s)?;
            let store = opener.read(&sr).await?;
            Some(
                resolve_target(store.as_ref(), &sr)
                    .await
                    .with_context(|| format!("cannot resolve the successor `{s}`"))?
                    .digest,
            )
        }
        None => None,
    };
    let spec = RecordSpec {
        created: lineage_oci::time::now(),
        end_of_life: Some(time("--at", a.at.as_deref())?.unwrap_or_else(lineage_oci::time::now)),
        reason,
        successor: a.successor.clone(),
        superseded_by,
        version: None,
        revision: None,
    };
    record(opener, &engine, &r, spec, "retire", quiet).await
}

/// `lineage restore REF`
pub async fn restore(
    opener: &Opener,
    namespace: &str,
    reference: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    let engine = engine(namespace, None)?;
    let r = open::parse(reference)?;
    let spec = RecordSpec {
        created: lineage_oci::time::now(),
        end_of_life: None,
        reason: None,
        successor: None,
        superseded_by: None,
        version: None,
        revision: None,
    };
    record(opener, &engine, &r, spec, "restore", quiet).await
}

/// `lineage history REPO [--version V]`
pub async fn history(opener: &Opener, namespace: &str, a: HistoryArgs) -> anyhow::Result<()> {
    let engine = engine(namespace, None)?;
    let r = open::parse(&a.repository)?.with_target(None);
    let store = opener.read(&r).await?;
    let name = store.name().to_string();
    let rows = engine
        .history(
            store.as_ref(),
            &name,
            a.version.as_deref(),
            lineage_oci::time::now(),
        )
        .await
        .with_context(|| format!("cannot read the history of `{r}`"))?;
    match a.output {
        Output::Json => outln!("{}", serde_json::to_string_pretty(&rows)?)?,
        Output::Text => print_table(&rows)?,
    }
    Ok(())
}

/// `lineage latest REF`: the newest supported revision of REF's lineage.
pub async fn latest(
    opener: &Opener,
    namespace: &str,
    reference: &str,
    output: Output,
) -> anyhow::Result<()> {
    let engine = engine(namespace, None)?;
    let r = open::parse(reference)?;
    let now = lineage_oci::time::now();
    let current = one_status(opener, &engine, &r, now).await?;
    let Some(version) = current.version.clone() else {
        anyhow::bail!(
            "`{r}` has no `org.opencontainers.image.version`, so it belongs to no lineage"
        );
    };
    let repo = r.with_target(None);
    let store = opener.read(&repo).await?;
    let name = store.name().to_string();
    let rows = engine
        .history(store.as_ref(), &name, Some(&version), now)
        .await?;
    let best = rows
        .iter()
        .rev()
        .find(|s| s.state == State::Supported)
        .or_else(|| rows.iter().rev().find(|s| s.state == State::Scheduled))
        .with_context(|| format!("no revision of `{version}` in {name} is supported"))?;
    match output {
        Output::Text => outln!("{}", best.reference)?,
        Output::Json => outln!("{}", serde_json::to_string_pretty(best)?)?,
    }
    Ok(())
}

/// `lineage push SRC DST [--version V] [--revision R] [--created T] [--tag T]…`: copy with
/// the lifecycle annotations added to the top manifest (a new digest, unless it already has
/// them).
pub async fn push(opener: &Opener, a: crate::args::PushArgs, quiet: bool) -> anyhow::Result<()> {
    use lineage_lifecycle::engine::annotate;
    use lineage_lifecycle::profile::{ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_VERSION};
    use lineage_store::copy::{CopyOptions, copy_graph};
    use lineage_store::overlay::WithManifest;

    let source = open::parse(&a.source)?;
    let destination = open::parse(&a.destination)?;
    let created = time("--created", a.created.as_deref())?;
    let src = opener.read(&source).await?;
    let dst = opener.write(&destination).await?;
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
    if !own.contains_key(ANNOTATION_CREATED) {
        let c = created.unwrap_or_else(lineage_oci::time::now);
        add.insert(
            ANNOTATION_CREATED.to_string(),
            lineage_oci::time::format_rfc3339(&c),
        );
    }
    let image = annotate(&manifest, &add)?;
    let mut tags: Vec<String> = destination
        .target()
        .and_then(|t| t.tag().map(String::from))
        .into_iter()
        .collect();
    tags.extend(a.tags.iter().cloned());
    let overlay = WithManifest::new(src.as_ref(), image.clone());
    let bar = crate::progress::Bar::new("pushing", quiet);
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
    if !quiet {
        eprintln!(
            "Pushed `{}` as {} (tags: {})",
            source,
            image.digest(),
            if tags.is_empty() {
                "none".into()
            } else {
                tags.join(", ")
            }
        );
    }
    Ok(())
}
