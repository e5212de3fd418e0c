//! The audit's outputs: a text table for people (like `lineage status`'s), a markdown table
//! for issues and pull requests, and JSON (the rows as [`Row`] serialises them).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use lineage_lifecycle::verdict::words;

use super::fleet::Row;
use super::input::Place;

/// How many places the where-used column lists before `and N more`.
pub const WHERE_SHOWN: usize = 3;

/// The first [`WHERE_SHOWN`] places of `uses`, then `and N more`.
pub fn where_used(uses: &[Place]) -> String {
    let mut text = uses
        .iter()
        .take(WHERE_SHOWN)
        .map(Place::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if uses.len() > WHERE_SHOWN {
        let _ = write!(text, " and {} more", uses.len() - WHERE_SHOWN);
    }
    text
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| lineage_oci::time::format_rfc3339(&t),
    )
}

/// The successor to pull ([`words::successor_name`]: its reference, else its digest), else
/// `-`.
pub fn successor(row: &Row) -> String {
    row.successor
        .as_ref()
        .and_then(words::successor_name)
        .unwrap_or_else(|| "-".to_string())
}

/// What the image is built on ([`words::base_phrase`]: `base (state)`), else `-`.
fn base(row: &Row) -> String {
    row.base
        .as_ref()
        .map_or_else(|| "-".to_string(), words::base_phrase)
}

/// The image as written, with the short digest that runs when the spelling names none (two
/// rows may share a spelling: pods started on either side of a release).
pub fn image(row: &Row) -> String {
    match &row.digest {
        Some(d) if !row.image.contains('@') && row.reference.contains('@') => {
            format!("{} ({})", row.image, d.short())
        }
        _ => row.image.clone(),
    }
}

/// The rows as a text table: IMAGE, STATE, END-OF-LIFE, SUCCESSOR, BASE, USES, WHERE.
pub fn table(rows: &[Row]) -> String {
    let images: Vec<String> = rows.iter().map(image).collect();
    let successors: Vec<String> = rows.iter().map(successor).collect();
    let bases: Vec<String> = rows.iter().map(base).collect();
    let iw = images.iter().map(String::len).max().unwrap_or(0).max(5);
    let sw = successors.iter().map(String::len).max().unwrap_or(0).max(9);
    let bw = bases.iter().map(String::len).max().unwrap_or(0).max(4);
    let mut out = format!(
        "{:<iw$}  {:<12}  {:<20}  {:<sw$}  {:<bw$}  {:>4}  WHERE\n",
        "IMAGE", "STATE", "END-OF-LIFE", "SUCCESSOR", "BASE", "USES"
    );
    for (((row, image), successor), base) in rows.iter().zip(&images).zip(&successors).zip(&bases) {
        let _ = writeln!(
            out,
            "{image:<iw$}  {:<12}  {:<20}  {successor:<sw$}  {base:<bw$}  {:>4}  {}",
            row.state.as_str(),
            when(row.end_of_life),
            row.uses.len(),
            where_used(&row.uses)
        );
    }
    out
}

/// `text` as a markdown table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// `text` in a code span (images and references), or `-`.
fn code(text: &str) -> String {
    if text == "-" {
        text.to_string()
    } else {
        format!("`{}`", cell(text))
    }
}

/// The rows as a markdown table, followed by the failed lookups, if any.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| Image | State | End-of-life | Successor | Base | Uses | Where |\n|---|---|---|---|---|---:|---|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            code(&image(row)),
            row.state.as_str(),
            when(row.end_of_life),
            code(&successor(row)),
            cell(&base(row)),
            row.uses.len(),
            cell(&where_used(&row.uses))
        );
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        out.push_str("\nLookups that failed:\n\n");
        for row in failed {
            let _ = writeln!(
                out,
                "- {}: {}",
                code(&row.image),
                cell(row.error.as_deref().unwrap_or_default())
            );
        }
    }
    out
}

/// The audit in one line: `N distinct images in M uses: 1 end-of-life, 2 supported`.
pub fn summary(rows: &[Row]) -> String {
    use lineage_lifecycle::State;
    use lineage_oci::quantity::plural;
    let uses: usize = rows.iter().map(|r| r.uses.len()).sum();
    let counts: Vec<String> = State::ALL
        .into_iter()
        .filter_map(|state| {
            let n = rows.iter().filter(|r| r.state == state).count();
            (n > 0).then(|| format!("{n} {state}"))
        })
        .collect();
    format!(
        "{} in {}{}{}",
        plural(rows.len() as u64, "distinct image"),
        plural(uses as u64, "use"),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    )
}

/// The rows as pretty JSON: an array of [`Row`]s.
pub fn json(rows: &[Row]) -> String {
    // A Row holds only strings, numbers and options of them: serialising cannot fail.
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use lineage_lifecycle::{State, Successor};

    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn pod(name: &str) -> Place {
        Place {
            namespace: Some("prod".into()),
            kind: Some("Pod".into()),
            name: Some(name.into()),
            container: Some("app".into()),
            line: None,
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                image: "ghcr.io/o/app:1.0".into(),
                reference: format!("ghcr.io/o/app:1.0@{A}"),
                digest: Some(A.parse().unwrap()),
                state: State::EndOfLife,
                end_of_life: Some(
                    lineage_oci::time::parse_lenient("2023-07-10T08:00:00Z").unwrap(),
                ),
                successor: Some(Successor {
                    reference: Some("ghcr.io/o/app:1.0-20230710".into()),
                    digest: None,
                    revision: Some("20230710".into()),
                }),
                uses: (1..=5).map(|i| pod(&format!("app-{i}"))).collect(),
                error: None,
                warnings: Vec::new(),
                base: None,
            },
            Row {
                image: "ghcr.io/o/gone|x".into(),
                reference: "ghcr.io/o/gone|x".into(),
                digest: None,
                state: State::Unknown,
                end_of_life: None,
                successor: None,
                uses: vec![Place {
                    line: Some(2),
                    ..Place::default()
                }],
                error: Some("cannot look up\nmanifest unknown".into()),
                warnings: Vec::new(),
                base: None,
            },
        ]
    }

    #[test]
    fn where_used_lists_a_few_then_counts() {
        let uses: Vec<Place> = (1..=5).map(|i| pod(&format!("p{i}"))).collect();
        assert_eq!(
            where_used(&uses),
            "prod/Pod/p1/app, prod/Pod/p2/app, prod/Pod/p3/app and 2 more"
        );
        assert_eq!(where_used(&uses[..2]), "prod/Pod/p1/app, prod/Pod/p2/app");
    }

    #[test]
    fn the_table_has_one_line_per_row() {
        let text = table(&rows());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("IMAGE "), "{text}");
        assert!(
            lines[1].starts_with("ghcr.io/o/app:1.0 (sha256:aaaaaaaaaaaa)  end-of-life   2023-07-10T08:00:00Z  ghcr.io/o/app:1.0-20230710"),
            "{text}"
        );
        assert!(
            lines[1].ends_with(
                "   5  prod/Pod/app-1/app, prod/Pod/app-2/app, prod/Pod/app-3/app and 2 more"
            ),
            "{text}"
        );
        assert!(
            lines[2].contains(" unknown ") && lines[2].ends_with("line 2"),
            "{text}"
        );
    }

    #[test]
    fn the_markdown_table_escapes_and_lists_failures() {
        let text = markdown(&rows());
        assert!(text.starts_with("| Image | State |"), "{text}");
        assert!(
            text.contains("| `ghcr.io/o/app:1.0 (sha256:aaaaaaaaaaaa)` | end-of-life | 2023-07-10T08:00:00Z | `ghcr.io/o/app:1.0-20230710` | - | 5 |"),
            "{text}"
        );
        assert!(
            text.contains("| `ghcr.io/o/gone\\|x` | unknown | - | - | - | 1 | line 2 |"),
            "{text}"
        );
        assert!(
            text.contains("- `ghcr.io/o/gone\\|x`: cannot look up manifest unknown"),
            "{text}"
        );
    }

    #[test]
    fn json_is_an_array_of_rows() {
        let v: serde_json::Value = serde_json::from_str(&json(&rows())).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["successor"]["reference"], "ghcr.io/o/app:1.0-20230710");
        assert_eq!(v[0]["uses"].as_array().unwrap().len(), 5);
        assert_eq!(v[1]["uses"][0]["line"], 2);
        assert!(v[0].get("error").is_none());
    }
}
