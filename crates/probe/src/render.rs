//! Reports as a terminal table, a markdown table ready for a document, or JSON. Several
//! registries share one table with a column per registry, like the "Referrers Support
//! Across Registries" table of the original write-up; the details follow per registry.

use std::fmt::Write as _;

use crate::{CheckId, Outcome, Report};

/// The JSON form: `[{"registry", "checks": [{"id", "result", "detail"}]}]`.
pub fn json(reports: &[Report]) -> String {
    serde_json::to_string_pretty(reports).unwrap_or_else(|_| "[]".into())
}

fn cell(report: &Report, id: CheckId) -> &'static str {
    report.get(id).map_or("", |c| c.result.as_str())
}

/// The title of report `i`: its label when given, else the registry.
fn title(reports: &[Report], names: &[String], i: usize) -> String {
    names
        .get(i)
        .cloned()
        .unwrap_or_else(|| reports[i].registry.clone())
}

/// A plain-text table: one row per check, a column per registry (titled by `names` where
/// given); with one registry, the details in a third column, else listed below for every
/// result that is not `yes`.
pub fn table(reports: &[Report], names: &[String]) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let single = reports.len() == 1;
    let mut head = vec!["CHECK".to_string()];
    if single {
        head.extend(["RESULT".to_string(), "DETAIL".to_string()]);
    } else {
        head.extend((0..reports.len()).map(|i| title(reports, names, i)));
    }
    rows.push(head);
    for id in CheckId::ALL {
        let mut row = vec![id.as_str().to_string()];
        if single {
            let c = reports[0].get(id);
            row.push(c.map_or(String::new(), |c| c.result.as_str().to_string()));
            row.push(c.map_or(String::new(), |c| c.detail.clone()));
        } else {
            row.extend(reports.iter().map(|r| cell(r, id).to_string()));
        }
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, value) in row.iter().enumerate() {
            if i + 1 == columns {
                line.push_str(value);
            } else {
                let _ = write!(line, "{value:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !single {
        for (i, r) in reports.iter().enumerate() {
            let notable: Vec<_> = r
                .checks
                .iter()
                .filter(|c| c.result != Outcome::Yes)
                .collect();
            if notable.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{}:", title(reports, names, i));
            for c in notable {
                let _ = writeln!(out, "  {} {}: {}", c.id, c.result.as_str(), c.detail);
            }
        }
    }
    for r in reports {
        for n in &r.notes {
            let _ = writeln!(out, "note: {}: {n}", r.registry);
        }
    }
    out
}

/// Escape text for a markdown table cell.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A markdown table with a column per registry, then a details table per registry.
pub fn markdown(reports: &[Report], names: &[String]) -> String {
    let mut out = String::new();
    let label = |i: usize| title(reports, names, i);
    let _ = write!(out, "| check |");
    for i in 0..reports.len() {
        let _ = write!(out, " {} |", md(&label(i)));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(reports.len()));
    out.push('\n');
    for id in CheckId::ALL {
        let _ = write!(out, "| `{id}` |");
        for r in reports {
            let _ = write!(out, " {} |", cell(r, id));
        }
        out.push('\n');
    }
    for (i, r) in reports.iter().enumerate() {
        let _ = writeln!(out, "\n### {}\n", md(&label(i)));
        out.push_str("| check | result | detail |\n|---|---|---|\n");
        for c in &r.checks {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                c.id,
                c.result.as_str(),
                md(&c.detail)
            );
        }
        for n in &r.notes {
            let _ = writeln!(out, "\nNote: {}", md(n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckResult;

    fn report(name: &str, result: Outcome) -> Report {
        Report {
            registry: name.into(),
            checks: CheckId::ALL
                .iter()
                .map(|&id| CheckResult {
                    id,
                    result,
                    detail: format!("{id} | detail"),
                })
                .collect(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn json_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&[report("a:1", Outcome::Yes)])).unwrap_or_default();
        assert_eq!(v[0]["registry"], "a:1");
        assert_eq!(v[0]["checks"].as_array().map(Vec::len), Some(24));
        assert_eq!(v[0]["checks"][2]["id"], "referrers-api");
        assert_eq!(v[0]["checks"][2]["result"], "yes");
        assert!(v[0].get("notes").is_none());
    }

    #[test]
    fn table_has_a_column_per_registry() {
        let t = table(
            &[report("a:1", Outcome::Yes), report("b:2", Outcome::No)],
            &[],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("CHECK") && lines[0].contains("a:1") && lines[0].contains("b:2")
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("referrers-api") && l.contains("yes") && l.ends_with("no"))
        );
        assert!(
            t.contains("\nb:2:\n"),
            "details of the registry with no answers: {t}"
        );
        assert!(!t.contains("\na:1:\n"));
    }

    #[test]
    fn markdown_escapes_pipes() {
        let m = markdown(&[report("a:1", Outcome::Yes)], &["distribution 2.8".into()]);
        assert!(m.starts_with("| check | distribution 2.8 |\n|---|---|\n"));
        assert!(m.contains("| `ping` | yes |"));
        assert!(m.contains("ping \\| detail"));
    }
}
