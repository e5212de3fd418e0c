//! Snapshots of every human-readable output of the integrations: the report's markdown and
//! SARIF message, the audit's table and markdown, and the updater's moves, notes and diff.

use std::collections::HashMap;
use std::fmt::Write as _;

use lineage_lifecycle::{Reason, Source, State, Status, Successor};
use lineage_oci::Digest;

use crate::report::{Lifecycle, markdown, sarif};
use crate::update::{FileKind, plan, renovate_config, scan, unified_diff};
use crate::{Looked, audit};

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    lineage_oci::time::parse_lenient(s).unwrap()
}

/// A status of `reference` in `state`, end-of-life at `eol`, successor `successor`.
fn status(reference: &str, state: State, eol: Option<&str>, successor: Option<&str>) -> Status {
    Status {
        reference: reference.into(),
        digest: Digest::sha256(reference.as_bytes()),
        state,
        end_of_life: eol.map(at),
        reason: eol.map(|_| Reason::Superseded),
        version: Some("1.0".into()),
        revision: Some("20230707".into()),
        successor: successor.map(|s| Successor {
            reference: Some(s.into()),
            digest: Some(Digest::sha256(s.as_bytes())),
            revision: None,
        }),
        source: Source::Referrer,
        record: Some(Digest::sha256(b"record")),
        dialect: Some("vnd.lineage.image".into()),
        warnings: vec![],
        end_of_support: None,
        days_left: None,
        scope: None,
        base: None,
        signature: None,
    }
}

#[test]
fn report_markdown_and_sarif_messages() {
    let report = crate::report::tests::eol_report();
    let key = report.image().candidates[0].reference.clone();
    let new = "127.0.0.1:5000/flasksample:1.0-20230710";
    let cases: Vec<(&str, Looked)> = vec![
        (
            "end-of-life",
            Ok(status(
                &key,
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
                Some(new),
            )),
        ),
        (
            "scheduled",
            Ok(status(
                &key,
                State::Scheduled,
                Some("2099-01-01T00:00:00Z"),
                Some(new),
            )),
        ),
        (
            "end-of-life, no successor",
            Ok(status(
                &key,
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
                None,
            )),
        ),
        (
            "superseded",
            Ok(status(&key, State::Superseded, None, Some(new))),
        ),
        ("supported", Ok(status(&key, State::Supported, None, None))),
        ("unknown", Ok(status(&key, State::Unknown, None, None))),
        ("lookup failed", Err(crate::tests::timed_out(&key))),
    ];
    let mut md = String::new();
    let mut messages = String::new();
    for (name, looked) in cases {
        let l = Lifecycle::decide(
            report.image(),
            &HashMap::from([(key.clone(), looked)]),
            at("2024-01-01T00:00:00Z"),
        );
        let _ = writeln!(md, "<!-- {name} -->\n{}", markdown(&report, &l));
        let log = sarif(&report, &l);
        let result = &log["runs"][1]["results"][0];
        let _ = writeln!(
            messages,
            "{name}: [{}] {}\n  action: {}",
            result["ruleId"].as_str().unwrap_or_default(),
            result["message"]["text"].as_str().unwrap_or_default(),
            l.action.as_deref().unwrap_or("-"),
        );
    }
    insta::assert_snapshot!("report-markdown", md);
    insta::assert_snapshot!("report-sarif-messages", messages);
}

#[test]
fn audit_table_and_markdown() {
    let text = "ghcr.io/o/app:1.0\nnginx\nghcr.io/o/app:1.0\nghcr.io/o/later:2\nghcr.io/o/gone:1\nghcr.io/o/fine:3\nghcr.io/o/old:0.9\n";
    let images = audit::images(text).unwrap();
    let mut looked: HashMap<String, Looked> = HashMap::new();
    for i in &images {
        let r = i.reference.as_str();
        let l = if r.contains("/app:") {
            Ok(status(
                r,
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
                Some("ghcr.io/o/app:1.1"),
            ))
        } else if r.contains("later") {
            Ok(status(
                r,
                State::Scheduled,
                Some("2099-01-01T00:00:00Z"),
                Some("ghcr.io/o/later:3"),
            ))
        } else if r.contains("old") {
            Ok(status(r, State::Superseded, None, None))
        } else if r.contains("gone") {
            Err(crate::tests::timed_out(r))
        } else if r.contains("fine") {
            Ok(status(r, State::Supported, None, None))
        } else {
            continue;
        };
        looked.insert(r.to_string(), l);
    }
    let rows = audit::rows(images, &looked);
    insta::assert_snapshot!("audit-table", audit::table(&rows));
    insta::assert_snapshot!("audit-markdown", audit::markdown(&rows));
}

#[test]
fn update_moves_notes_and_diff() {
    let text = "ARG BASE=r.example.com/app:1\nFROM ${BASE} AS build\nFROM r.example.com/gone:1\nFROM r.example.com/err:1\nFROM r.example.com/lineage:1\nFROM r.example.com/fine:1\n";
    let found = scan(FileKind::Dockerfile, text);
    let mut statuses: HashMap<String, Looked> = HashMap::new();
    for o in &found.occurrences {
        let key = o.key();
        let repo = o.image.repository();
        let l = if repo.ends_with("app") {
            Ok(status(
                &key,
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
                Some("r.example.com/app:2"),
            ))
        } else if repo.ends_with("gone") {
            Ok(status(&key, State::EndOfLife, None, None))
        } else if repo.ends_with("err") {
            Err(crate::tests::timed_out(&key))
        } else if repo.ends_with("lineage") {
            Ok(status(
                &key,
                State::Superseded,
                None,
                Some("r.example.com/lineage:2"),
            ))
        } else {
            Ok(status(&key, State::Supported, None, None))
        };
        statuses.insert(key, l);
    }
    let p = plan(text, &found, &statuses);
    let mut out = String::from("## moves\n");
    for m in &p.moves {
        let _ = writeln!(out, "{}: {} → {} ({})", m.line, m.from, m.to, m.why());
    }
    out.push_str("## notes\n");
    for n in &p.notes {
        let _ = writeln!(out, "{}: {}", n.line, n.message);
    }
    out.push_str("## renovate descriptions\n");
    let r = renovate_config(&p.moves);
    for rule in r.config["packageRules"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{}\n  {}",
            rule["description"].as_str().unwrap_or_default(),
            rule["prBodyNotes"][0].as_str().unwrap_or_default()
        );
    }
    out.push_str("## diff\n");
    out.push_str(&unified_diff(
        "Dockerfile",
        text,
        p.updated.as_deref().unwrap_or(text),
    ));
    insta::assert_snapshot!("update-moves-notes-and-diff", out);
}
