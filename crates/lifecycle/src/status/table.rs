//! The status table `lineage status` and `lineage history` print, and the dashboard shows
//! as an image's status in text: one home, so the two never differ.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{State, Status};

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| lineage_oci::time::format_rfc3339(&t),
    )
}

/// The status table: a row per status, a row in state `unknown` per reference that could not
/// be looked up (`Err(reference)`); the columns line up under the longest reference.
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
    let mut out = format!(
        "{:<width$}  {:<12}  {:<22}  SUCCESSOR\n",
        "REFERENCE", "STATE", "END-OF-LIFE"
    );
    for row in rows {
        // Writing to a String cannot fail.
        let _ = match row {
            Ok(s) => {
                let successor = s.successor.as_ref().map_or("-".to_string(), |x| {
                    x.reference.clone().unwrap_or_else(|| "-".into())
                });
                writeln!(
                    out,
                    "{:<width$}  {:<12}  {:<22}  {}",
                    s.reference,
                    s.state.to_string(),
                    when(s.end_of_life),
                    successor
                )
            }
            Err(reference) => writeln!(
                out,
                "{reference:<width$}  {:<12}  {:<22}  -",
                State::Unknown.to_string(),
                "-"
            ),
        };
    }
    out
}
