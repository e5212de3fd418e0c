//! The status table `lineage status` and `lineage history` print, and the dashboard shows
//! as an image's status in text: one home, so the two never differ.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{State, Status};
use crate::verdict::words;

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| lineage_oci::time::format_rfc3339(&t),
    )
}

/// The status table: a row per status, a row in state `unknown` per reference that could not
/// be looked up (`Err(reference)`); the columns line up under the longest reference. The
/// columns `END-OF-SUPPORT` and `DAYS LEFT` appear only when a row has one (issue 18), so a
/// table without those dates reads as before.
pub fn table<'a>(rows: impl Iterator<Item = Result<&'a Status, &'a str>> + Clone) -> String {
    let width = rows
        .clone()
        .map(|r| match r {
            Ok(s) => s.reference.len(),
            Err(reference) => reference.len(),
        })
        .max()
        .unwrap_or(9)
        .max(9);
    let found = || rows.clone().filter_map(Result::ok);
    let state_width = found()
        .map(|s| s.state.as_str().len())
        .max()
        .unwrap_or(0)
        .max(12);
    let support = found().any(|s| s.end_of_support.is_some());
    let days = found().any(|s| s.days_left.is_some());
    let mut out = format!("{:<width$}  {:<state_width$}  ", "REFERENCE", "STATE");
    if support {
        let _ = write!(out, "{:<22}  ", "END-OF-SUPPORT");
    }
    let _ = write!(out, "{:<22}  ", "END-OF-LIFE");
    if days {
        let _ = write!(out, "{:<9}  ", "DAYS LEFT");
    }
    out.push_str("SUCCESSOR\n");
    for row in rows {
        let (reference, state, eos, eol, left, successor) = match row {
            Ok(s) => (
                s.reference.as_str(),
                s.state,
                when(s.end_of_support),
                when(s.end_of_life),
                s.days_left
                    .map_or_else(|| "-".to_string(), |d| d.to_string()),
                match (s.state, &s.base) {
                    // Built on an end-of-life base: what to rebuild on.
                    (State::BaseEndOfLife, Some(b)) => words::rebuild_on(b)
                        .map_or("-".to_string(), |to| words::rebuild_action(&to)),
                    _ => s.successor.as_ref().map_or("-".to_string(), |x| {
                        x.reference.clone().unwrap_or_else(|| "-".into())
                    }),
                },
            ),
            Err(reference) => (
                reference,
                State::Unknown,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{reference:<width$}  {:<state_width$}  ",
            state.as_str()
        );
        if support {
            let _ = write!(out, "{eos:<22}  ");
        }
        let _ = write!(out, "{eol:<22}  ");
        if days {
            let _ = write!(out, "{left:<9}  ");
        }
        let _ = writeln!(out, "{successor}");
    }
    out
}
