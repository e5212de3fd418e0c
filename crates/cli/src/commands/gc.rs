//! `lineage gc TARGET…`: referrer hygiene on any registry. Finds orphaned referrers, stale
//! entries and redundant referrers tags (`lineage_registry_client::gc`) and redundant
//! lifecycle records (`lineage_lifecycle::gc`), repository by repository; deletes only with
//! `--apply`. Progress goes to stderr, the report to stdout; when the registry answers
//! unexpectedly, deleting stops, the report so far is printed and the exit status is 1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::output::Printer;
use lineage_lifecycle::Namespace;
use lineage_lifecycle::gc::{CompactOptions, RecordAction, RecordFinding, compact};
use lineage_registry_client::RegistryStore;
use lineage_registry_client::gc::{GcEvent, GcOptions, RepositoryReport, run as gc_run};
use serde::Serialize;

use crate::args::{GcArgs, Output};
use crate::error::UsageError;
use crate::open::Opener;

/// One repository's findings: referrers and records.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Repository {
    #[serde(flatten)]
    referrers: RepositoryReport,
    records: Vec<RecordFinding>,
}

/// The whole report, as `--output json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    apply: bool,
    repositories: Vec<Repository>,
    totals: Totals,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
    /// Registry requests sent, every try counted.
    requests: u64,
}

/// How many findings ended each way.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Totals {
    removed: usize,
    would_remove: usize,
    kept: usize,
}

impl Totals {
    fn of(repositories: &[Repository]) -> Totals {
        use lineage_registry_client::gc::Action;
        let mut t = Totals::default();
        for r in repositories {
            for f in &r.referrers.findings {
                match f.action {
                    Action::Removed => t.removed += 1,
                    Action::WouldRemove => t.would_remove += 1,
                    Action::Kept => t.kept += 1,
                }
            }
            for f in &r.records {
                match f.action {
                    RecordAction::Removed => t.removed += 1,
                    RecordAction::WouldRemove => t.would_remove += 1,
                    RecordAction::Kept => t.kept += 1,
                }
            }
        }
        t
    }
}

/// `lineage gc TARGET… [--apply] [--migrate] [--compact-records] [--protect] [--older-than D]`.
pub async fn run(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: GcArgs,
) -> anyhow::Result<()> {
    if a.targets
        .iter()
        .any(|t| t.starts_with("oci:") || t.starts_with("oci-archive:"))
    {
        return Err(UsageError(anyhow::anyhow!(
            "gc works on registries; `lineage serve gc` cleans the built-in registry's layouts"
        ))
        .into());
    }
    let (client, targets) = super::targets::resolve(opener, &a.targets, "gc").await?;
    let created_before = a
        .older_than
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| lineage_oci::time::now() - d);
    let options = GcOptions {
        apply: a.apply,
        migrate: a.migrate,
        protect: a.protect,
        created_before,
        concurrency: a.concurrency,
    };
    let mut repositories = Vec::new();
    let mut stopped: Option<anyhow::Error> = None;
    for (registry, repository) in targets {
        let store = RegistryStore::for_repository(client.clone(), &registry, &repository);
        let name = format!("{registry}/{repository}");
        let progress = Progress::new(&name, printer);
        let progress_fn = |e: &GcEvent| progress.event(e);
        let mut run = match gc_run(&store, &options, &progress_fn).await {
            Ok(run) => run,
            Err(e) => {
                stopped = Some(anyhow::Error::new(e));
                break;
            }
        };
        let compact_options = CompactOptions {
            compact: a.compact_records,
            apply: a.apply && run.stopped.is_none(),
            namespaces: vec![namespace.clone()],
            created_before,
            tagged: run.report.tagged.clone(),
            concurrency: a.concurrency,
            listings: std::mem::take(&mut run.report.listings),
        };
        let (records, compact_stopped) =
            compact(&store, &run.report.subjects, &compact_options).await;
        progress.done(&run.report, &records);
        repositories.push(Repository {
            referrers: run.report,
            records,
        });
        if let Some(e) = run.stopped {
            stopped = Some(anyhow::Error::new(e));
            break;
        }
        if let Some(e) = compact_stopped {
            stopped = Some(anyhow::Error::new(e));
            break;
        }
    }
    let report = Report {
        apply: a.apply,
        totals: Totals::of(&repositories),
        repositories,
        stopped: stopped.as_ref().map(|e| format!("{e:#}")),
        requests: client.attempts(),
    };
    note!(printer, "gc: {} registry requests", report.requests);
    match a.output {
        Output::Json => {
            crate::output::json(&report)?;
        }
        Output::Text => out!("{}", text(&report))?,
    }
    match stopped {
        Some(e) => Err(e.context("gc stopped; the report above says what was done")),
        None => Ok(()),
    }
}

/// Progress lines on stderr for one repository.
struct Progress {
    name: String,
    printer: Printer,
    total: AtomicUsize,
    removed: Arc<AtomicUsize>,
}

impl Progress {
    fn new(name: &str, printer: Printer) -> Progress {
        Progress {
            name: name.to_string(),
            printer,
            total: AtomicUsize::new(0),
            removed: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn event(&self, e: &GcEvent) {
        match e {
            GcEvent::Scanned { tags, indexes } => {
                note!(
                    self.printer,
                    "{}: read {tags} tags, {indexes} of them referrers tags",
                    self.name
                )
            }
            GcEvent::Removing { total } => {
                self.total.store(*total, Ordering::Relaxed);
                note!(self.printer, "{}: removing {total}", self.name);
            }
            GcEvent::Removed => {
                let done = self.removed.fetch_add(1, Ordering::Relaxed) + 1;
                let total = self.total.load(Ordering::Relaxed);
                let step = (total / 10).max(1);
                if done.is_multiple_of(step) || done == total {
                    note!(self.printer, "{}: removed {done}/{total}", self.name);
                }
            }
        }
    }

    fn done(&self, report: &RepositoryReport, records: &[RecordFinding]) {
        note!(
            self.printer,
            "{}: {} findings, {} redundant records",
            self.name,
            report.findings.len(),
            records.len()
        );
    }
}

/// The report for people: a block per repository, a line per finding, then the totals.
fn text(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for r in &report.repositories {
        let f = &r.referrers;
        let schema = if f.referrers_api {
            "referrers API"
        } else {
            "referrers tag schema"
        };
        let _ = writeln!(
            s,
            "{} ({schema}): {} referrers tags, {} live referrers no tag names",
            f.repository, f.indexes, f.unprotected
        );
        for x in &f.findings {
            let mut line = format!(
                "  {:<12} {:<20} {}",
                x.action.as_str(),
                x.kind.as_str(),
                x.digest
            );
            if let Some(t) = &x.artifact_type {
                let _ = write!(line, " {t}");
            }
            if let Some(subject) = &x.subject {
                let _ = write!(line, " (subject {subject})");
            }
            if let Some(why) = &x.reason {
                let _ = write!(line, ": {why}");
            }
            let _ = writeln!(s, "{line}");
        }
        for x in &r.records {
            let action = match x.action {
                RecordAction::Removed => "removed",
                RecordAction::WouldRemove => "would-remove",
                RecordAction::Kept => "kept",
            };
            let mut line = format!(
                "  {action:<12} {:<20} {} (subject {}, repeats {})",
                "redundant-record", x.digest, x.subject, x.repeats
            );
            if let Some(why) = &x.reason {
                let _ = write!(line, ": {why}");
            }
            let _ = writeln!(s, "{line}");
        }
    }
    let t = &report.totals;
    let _ = write!(
        s,
        "{} removed, {} to remove, {} kept",
        t.removed, t.would_remove, t.kept
    );
    if !report.apply && t.would_remove > 0 {
        s.push_str(" (a dry run: pass --apply to remove them)");
    }
    s.push('\n');
    if let Some(why) = &report.stopped {
        let _ = writeln!(s, "stopped: {why}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_lifecycle::gc::RecordAction;
    use lineage_oci::Digest;
    use lineage_registry_client::gc::{Action, Finding, FindingKind};

    fn d(seed: &str) -> Digest {
        Digest::sha256(seed.as_bytes())
    }

    #[test]
    fn the_text_report() {
        let finding = |kind, digest: &str, action, reason: Option<&str>| Finding {
            kind,
            digest: d(digest),
            subject: Some(d("gone")),
            tag: None,
            artifact_type: Some("application/x.sbom".into()),
            action,
            reason: reason.map(String::from),
        };
        let report = Report {
            apply: false,
            repositories: vec![Repository {
                referrers: RepositoryReport {
                    repository: "127.0.0.1:5000/app".into(),
                    referrers_api: false,
                    indexes: 2,
                    unprotected: 1,
                    findings: vec![
                        finding(
                            FindingKind::OrphanedIndex,
                            "index",
                            Action::WouldRemove,
                            None,
                        ),
                        finding(
                            FindingKind::OrphanedReferrer,
                            "sbom",
                            Action::WouldRemove,
                            None,
                        ),
                        finding(
                            FindingKind::OrphanedReferrer,
                            "pinned",
                            Action::Kept,
                            Some("a tag names it"),
                        ),
                    ],
                    ..RepositoryReport::default()
                },
                records: vec![RecordFinding {
                    subject: d("live"),
                    digest: d("r2"),
                    artifact_type: None,
                    created: None,
                    repeats: d("r1"),
                    action: RecordAction::Kept,
                    reason: Some("pass --compact-records to remove it".into()),
                }],
            }],
            totals: Totals {
                removed: 0,
                would_remove: 2,
                kept: 2,
            },
            stopped: None,
            requests: 0,
        };
        insta::assert_snapshot!(text(&report));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["repositories"][0]["findings"][0]["kind"],
            "orphaned-index"
        );
        assert_eq!(json["repositories"][0]["referrersApi"], false);
        assert_eq!(json["repositories"][0]["records"][0]["action"], "kept");
        assert_eq!(json["totals"]["wouldRemove"], 2);
    }
}
