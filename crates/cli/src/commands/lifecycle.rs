//! The lifecycle commands that read and record: `status`, `history`, `latest`, `retire` and
//! `restore`, each a thin layer over the engine in `lineage-lifecycle`, and the status table
//! `status` and `history` print. (`push` and `release`, which copy images, are in
//! [`super::push`].)

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use lineage_lifecycle::status::State;
use lineage_lifecycle::verdict::words;
use lineage_lifecycle::{Engine, KnownBases, Namespace, RecordSpec, Status, WriteOptions, Written};
use lineage_oci::StoreRef;
use lineage_trust::TrustPolicy;

use crate::args::{DialectArg, HistoryArgs, Output, RetireArgs, StatusArgs};
use crate::commands::resolve_target;
use crate::error::{Exit, UsageError, exit_code};
use crate::open::Opener;
use crate::output::{self, Printer};

/// `e` as a usage error (exit 2).
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.into()))
}

/// The process's known base lineages (`--base-repo`, `baseRepositories`), set once by
/// `main` before any command runs, so every engine the commands make matches against them.
static KNOWN_BASES: std::sync::OnceLock<KnownBases> = std::sync::OnceLock::new();

/// Set the process's known bases (the first call wins).
pub fn set_known_bases(bases: KnownBases) {
    let _ = KNOWN_BASES.set(bases);
}

/// The process's trust policy (`--trust-policy`, `trustPolicy`; issue 16), set once by
/// `main` like the known bases, so every engine the commands make (status, history, latest,
/// the lookups of audit, report, update, webhook and serve) verifies against it.
static TRUST_POLICY: std::sync::OnceLock<Option<Arc<TrustPolicy>>> = std::sync::OnceLock::new();

/// Set the process's trust policy (the first call wins).
pub fn set_trust_policy(policy: Option<Arc<TrustPolicy>>) {
    let _ = TRUST_POLICY.set(policy);
}

/// The engine for `--namespace` (and `--dialect`), with the process's known bases and trust
/// policy.
pub fn engine(namespace: &Namespace, dialect: Option<DialectArg>) -> Engine {
    Engine {
        namespaces: vec![namespace.clone()],
        write: WriteOptions {
            namespace: namespace.clone(),
            microsoft: dialect == Some(DialectArg::Microsoft),
        },
        scopes: None,
        bases: KNOWN_BASES.get().cloned().unwrap_or_default(),
        trust: TRUST_POLICY.get().cloned().flatten(),
    }
}

/// The status of `r` at `at`.
pub async fn one_status(
    opener: &Opener,
    engine: &Engine,
    r: &StoreRef,
    at: DateTime<Utc>,
) -> anyhow::Result<Status> {
    let store = opener.read(r).await?;
    // The image's base may be in another repository: reached through the same client.
    engine
        .status_with_opener(
            store.as_ref(),
            &crate::open::LazyRegistryOpener(opener),
            &r.to_string(),
            r.target().as_ref(),
            at,
        )
        .await
        .with_context(|| format!("cannot determine the status of `{r}`"))
}

/// The status table of `status` and `history`: a row per status, a row in state `unknown`
/// per reference that could not be looked up (`Err(reference)`). Its home is the lifecycle
/// crate, which the dashboard shares.
pub use lineage_lifecycle::status::table;

/// A line per status about its base (issue 17): what it is built on and what to rebuild on,
/// or, for an image whose state is `unknown`, that no base was found either.
pub fn bases<'a>(rows: impl Iterator<Item = &'a Status>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for s in rows {
        // Writing to a String cannot fail.
        let _ = match (&s.base, s.state) {
            (Some(b), _) => writeln!(out, "{}: {}", s.reference, words::base_sentence(b)),
            (None, State::Unknown) => {
                writeln!(out, "{}: {}", s.reference, words::NO_BASE_FOUND)
            }
            (None, _) => Ok(()),
        };
    }
    out
}

/// `REF: note` for what the trust policy made of each row's records (who signed the record
/// that decided, which records were ignored and why; issue 16).
pub fn signatures<'a>(rows: impl Iterator<Item = &'a Status>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for s in rows {
        for note in words::signature_notes(s) {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{}: {note}", s.reference);
        }
    }
    out
}

/// `warning: REF: WARNING` on stderr for each warning of `s`, worded for people (a record
/// that could not be read, one a trust policy ignores…); `--output json` gives them whole.
fn warn_about(printer: Printer, s: &Status) {
    for w in &s.warnings {
        printer.warning(format_args!("{}: {w}", s.reference));
    }
}

/// One reference's answer to `lineage status`: its status, or why it has none.
pub enum Looked {
    /// The status (boxed: it is far larger than the failure).
    Found(Box<Status>),
    /// The lookup failed; shown as state `unknown` with the error, as `lineage audit` does.
    Failed {
        /// The reference as given.
        reference: String,
        /// Why.
        error: anyhow::Error,
    },
}

impl Looked {
    /// The row [`table`] prints.
    fn row(&self) -> Result<&Status, &str> {
        match self {
            Looked::Found(s) => Ok(s),
            Looked::Failed { reference, .. } => Err(reference),
        }
    }

    fn json(&self) -> serde_json::Result<serde_json::Value> {
        match self {
            Looked::Found(s) => serde_json::to_value(s),
            Looked::Failed { reference, error } => Ok(serde_json::json!({
                "reference": reference,
                "digest": null,
                "state": State::Unknown,
                // The JSON keeps the whole chain on one line, each message once.
                "error": lineage_store::one_line(error.as_ref()),
            })),
        }
    }
}

/// The status of each of `refs` at `at`, in order; a failure is a [`Looked::Failed`].
pub async fn statuses(
    opener: &Opener,
    engine: &Engine,
    refs: &[StoreRef],
    at: DateTime<Utc>,
) -> Vec<Looked> {
    let mut rows = Vec::with_capacity(refs.len());
    for r in refs {
        rows.push(match one_status(opener, engine, r, at).await {
            Ok(s) => Looked::Found(Box::new(s)),
            Err(error) => Looked::Failed {
                reference: r.to_string(),
                error,
            },
        });
    }
    rows
}

/// Print `rows` as `lineage status` does: JSON, or the table with each failure's error and
/// each warning on stderr.
pub fn print_statuses(rows: &[Looked], output: Output, printer: Printer) -> anyhow::Result<()> {
    match output {
        Output::Json => {
            let values = rows
                .iter()
                .map(Looked::json)
                .collect::<serde_json::Result<Vec<_>>>()?;
            output::json(&values)?;
        }
        Output::Text => {
            out!("{}", table(rows.iter().map(Looked::row)))?;
            let bases = bases(rows.iter().filter_map(|r| r.row().ok()));
            if !bases.is_empty() {
                out!("\n{bases}")?;
            }
            let signatures = signatures(rows.iter().filter_map(|r| r.row().ok()));
            if !signatures.is_empty() {
                out!("\n{signatures}")?;
            }
            for row in rows {
                match row {
                    Looked::Found(s) => warn_about(printer, s),
                    Looked::Failed { error, .. } => printer.error(error),
                }
            }
        }
    }
    Ok(())
}

/// `lineage status REF…`: a row for every reference, those that failed as `unknown` with
/// their error; exit 1 when any failed (after printing), else 3 when any is in or past
/// `--fail-on`.
pub async fn status(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: StatusArgs,
) -> anyhow::Result<()> {
    let mut engine = engine(namespace, None);
    if !a.scopes.is_empty() {
        engine.scopes = Some(lineage_lifecycle::scope::ScopeSet::new(&a.scopes));
    }
    let at = a.at.unwrap_or_else(lineage_oci::time::now);
    let rows = statuses(opener, &engine, &a.references, at).await;
    print_statuses(&rows, a.output, printer)?;
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
    if let Some(limit) = a.fail_on
        && rows
            .iter()
            .any(|r| matches!(r, Looked::Found(s) if s.state.is_at_least(limit)))
    {
        return Err(Exit(exit_code::POLICY).into());
    }
    Ok(())
}

/// `N records written, M already current`.
pub fn describe(written: &[Written]) -> String {
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

/// Writes the record `spec` on the image `r` names (`verb`: `retire` or `restore`), signed
/// by `signer` when given, and says so as `lineage retire` and `lineage restore` do.
pub(crate) async fn record(
    opener: &Opener,
    engine: &Engine,
    r: &StoreRef,
    spec: RecordSpec,
    verb: &str,
    printer: Printer,
    signer: Option<&lineage_trust::Signer>,
) -> anyhow::Result<()> {
    let store = opener.write(r).await?;
    let desc = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot {verb} `{r}`"))?;
    let written = engine
        .write_record(store.as_ref(), &desc, &spec)
        .await
        .with_context(|| format!("cannot {verb} `{r}`"))?;
    let signed = match signer {
        Some(s) => super::sign::sign_written(store.as_ref(), s, &written).await?,
        None => Vec::new(),
    };
    store.flush().await?;
    if let Some(Written::Pushed(d) | Written::Unchanged(d)) = written.first() {
        outln!("{d}")?;
    }
    note!(
        printer,
        "{} `{r}`: {}",
        if verb == "retire" {
            "Retired"
        } else {
            "Restored"
        },
        describe(&written)
    );
    if let Some(s) = signer {
        super::sign::report(printer, s, &signed);
    }
    Ok(())
}

/// `lineage retire REF …`, or with `--filter` the bulk retire of [`super::bulk_retire`].
pub async fn retire(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: RetireArgs,
    signer: Option<lineage_trust::Signer>,
) -> anyhow::Result<()> {
    if a.filter.is_some() {
        return super::bulk_retire::run(opener, namespace, printer, a, signer.as_ref()).await;
    }
    let [target] = a.targets.as_slice() else {
        return Err(usage(anyhow::anyhow!(
            "retire takes one image; to retire many, select them with `--filter REPO_REGEX REGISTRY`"
        )));
    };
    let reference: StoreRef = target.parse().map_err(usage)?;
    let engine = engine(namespace, a.dialect);
    let superseded_by = match &a.successor {
        Some(s) => {
            let store = opener.read(&s.reference).await?;
            Some(
                resolve_target(store.as_ref(), &s.reference)
                    .await
                    .with_context(|| format!("cannot resolve the successor `{}`", s.text))?
                    .digest,
            )
        }
        None => None,
    };
    let spec = RecordSpec {
        successor: a.successor.as_ref().map(|s| s.text.clone()),
        superseded_by,
        ..retire_spec(&a, lineage_oci::time::now())
    };
    record(
        opener,
        &engine,
        &reference,
        spec,
        "retire",
        printer,
        signer.as_ref(),
    )
    .await
}

/// The record `lineage retire` writes, without a successor: end-of-life at `--at`, else now
/// unless only `--end-of-support` is given (then the image reaches end-of-support and no
/// end-of-life is set yet); reason and scope as given.
pub fn retire_spec(a: &RetireArgs, now: DateTime<Utc>) -> RecordSpec {
    RecordSpec {
        created: now,
        end_of_life: match (a.at, a.end_of_support) {
            (Some(at), _) => Some(at),
            (None, Some(_)) => None,
            (None, None) => Some(now),
        },
        end_of_support: a.end_of_support,
        reason: a.reason.clone(),
        scope: a.scope.clone(),
        ..RecordSpec::default()
    }
}

/// `lineage restore REF`
pub async fn restore(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    r: &StoreRef,
    signer: Option<lineage_trust::Signer>,
) -> anyhow::Result<()> {
    let engine = engine(namespace, None);
    let spec = RecordSpec {
        created: lineage_oci::time::now(),
        end_of_life: None,
        reason: None,
        successor: None,
        superseded_by: None,
        version: None,
        revision: None,
        end_of_support: None,
        scope: None,
    };
    record(
        opener,
        &engine,
        r,
        spec,
        "restore",
        printer,
        signer.as_ref(),
    )
    .await
}

/// Every revision of `r`'s repository (of `version` only, when given), oldest first.
pub async fn history_of(
    opener: &Opener,
    engine: &Engine,
    r: &StoreRef,
    version: Option<&str>,
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<Status>> {
    let r = r.with_target(None);
    let store = opener.read(&r).await?;
    let name = store.name().to_string();
    engine
        .history_with_opener(
            store.as_ref(),
            Some(&crate::open::LazyRegistryOpener(opener)),
            &name,
            version,
            at,
        )
        .await
        .with_context(|| format!("cannot read the history of `{r}`"))
}

/// `lineage history REPO [--version V]`
pub async fn history(opener: &Opener, namespace: &Namespace, a: HistoryArgs) -> anyhow::Result<()> {
    let engine = engine(namespace, None);
    let rows = history_of(
        opener,
        &engine,
        &a.repository,
        a.version.as_deref(),
        a.at.unwrap_or_else(lineage_oci::time::now),
    )
    .await?;
    match a.output {
        Output::Json => output::json(&rows)?,
        Output::Text => {
            out!("{}", table(rows.iter().map(Ok)))?;
            // What each revision was built on.
            let bases = bases(rows.iter().filter(|s| s.base.is_some()));
            if !bases.is_empty() {
                out!("\n{bases}")?;
            }
            let signatures = signatures(rows.iter());
            if !signatures.is_empty() {
                out!("\n{signatures}")?;
            }
        }
    }
    Ok(())
}

/// `lineage latest REF`: the newest supported revision of REF's lineage.
pub async fn latest(
    opener: &Opener,
    namespace: &Namespace,
    r: &StoreRef,
    output: Output,
) -> anyhow::Result<()> {
    let engine = engine(namespace, None);
    let now = lineage_oci::time::now();
    let current = one_status(opener, &engine, r, now).await?;
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
        Output::Json => output::json(best)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lineage_lifecycle::status::{Source, Successor};
    use lineage_oci::Digest;

    use super::*;

    fn status(reference: &str, state: State, eol: Option<&str>, successor: Option<&str>) -> Status {
        Status {
            reference: reference.to_string(),
            digest: Digest::sha256(reference.as_bytes()),
            state,
            end_of_life: eol.map(|t| lineage_oci::time::parse_lenient(t).unwrap()),
            reason: None,
            version: Some("1.0".into()),
            revision: None,
            successor: successor.map(|s| Successor {
                reference: Some(s.to_string()),
                digest: None,
                revision: None,
            }),
            source: Source::Referrer,
            record: None,
            dialect: None,
            warnings: Vec::new(),
            end_of_support: None,
            days_left: None,
            scope: None,
            base: None,
            signature: None,
        }
    }

    /// The columns line up under the longest reference; a reference that could not be looked
    /// up is a row in state `unknown`; a short one still gets the header's width.
    #[test]
    fn the_status_table() {
        let rows = [
            status(
                "registry.example/app:1.0-20230707",
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
                Some("registry.example/app:1.0-20230710"),
            ),
            status("registry.example/app:1.0", State::Supported, None, None),
            status(
                "registry.example/app:0.9",
                State::Scheduled,
                Some("2031-01-01"),
                None,
            ),
        ];
        let looked: Vec<Result<&Status, &str>> = rows
            .iter()
            .map(Ok)
            .chain([Err("registry.example/app:nope")])
            .collect();
        insta::assert_snapshot!("status-table", table(looked.iter().copied()));
        // Issue 18: the two dates and the days left, in their own columns.
        let mut eos = status(
            "registry.example/app:1.0-20230701",
            State::EndOfSupport,
            Some("2030-02-01T00:00:00Z"),
            Some("registry.example/app:1.0-20230710"),
        );
        eos.end_of_support = Some(lineage_oci::time::parse_lenient("2030-01-01").unwrap());
        eos.days_left = Some(17);
        let dated = [eos, rows[1].clone()];
        insta::assert_snapshot!("status-table-end-of-support", table(dated.iter().map(Ok)));
        let short = [status("a:1", State::Supported, None, None)];
        insta::assert_snapshot!("status-table-short", table(short.iter().map(Ok)));
    }
}
