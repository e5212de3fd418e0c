//! The same moves as Renovate `packageRules` (`replacementName`/`replacementVersion`), so
//! Renovate users get the pull requests from the bot they already run
//! (`research/consumers.md` §3.1 "Replacement", §3.3 "Write" 7).

use std::collections::BTreeMap;

use lineage_lifecycle::verdict::words;
use serde_json::{Value, json};

use super::Move;
use super::written::split;

/// Renovate configuration for a set of moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Renovate {
    /// `{"packageRules": [...]}`, one rule per distinct move, ready to extend from.
    pub config: Value,
    /// Moves a rule cannot express, as `from` → `to`: a reference pinned by digest alone has
    /// no version for `matchCurrentValue` to match.
    pub unexpressed: Vec<(String, String)>,
}

/// One rule per distinct (image, current tag): `matchDatasources: ["docker"]`,
/// `matchPackageNames` (the name as written, its familiar and its full form),
/// `matchCurrentValue` (the tag), `replacementName` and `replacementVersion` (the successor
/// spelled like the file), with a `description` and `prBodyNotes` saying why.
pub fn renovate_config<'a>(moves: impl IntoIterator<Item = &'a Move>) -> Renovate {
    let mut rules: BTreeMap<(Vec<String>, String), Value> = BTreeMap::new();
    let mut unexpressed = Vec::new();
    for m in moves {
        let from = split(&m.from);
        let to = split(&m.to);
        let (Some(current), Some(next)) = (&from.tag, &to.tag) else {
            let pair = (m.from.clone(), m.to.clone());
            if !unexpressed.contains(&pair) {
                unexpressed.push(pair);
            }
            continue;
        };
        let mut names = vec![
            m.from[from.name.clone()].to_string(),
            m.from_image.clone().with_target(None).familiar(),
            m.from_image.repository_ref(),
        ];
        names.sort();
        names.dedup();
        let current = m.from[current.clone()].to_string();
        let why = m.why();
        let mut note = words::moves_because(&format!("`{}`", m.from_image), &why);
        if let Some(r) = &m.record {
            note.push_str(&format!(" (lifecycle record `{r}`)"));
        }
        rules
            .entry((names.clone(), current.clone()))
            .or_insert_with(|| {
                json!({
                    "description": format!("{} (lineage)", words::move_to_successor(&m.from, &why)),
                    "matchDatasources": ["docker"],
                    "matchPackageNames": names,
                    "matchCurrentValue": current,
                    "replacementName": &m.to[to.name.clone()],
                    "replacementVersion": &m.to[next.clone()],
                    "prBodyNotes": [note],
                })
            });
    }
    Renovate {
        config: json!({ "packageRules": rules.into_values().collect::<Vec<_>>() }),
        unexpressed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use lineage_lifecycle::State;
    use lineage_oci::ImageRef;

    use super::*;

    fn mv(from: &str, to: &str) -> Move {
        Move {
            line: 1,
            from: from.into(),
            to: to.into(),
            from_image: ImageRef::parse(from).unwrap(),
            to_image: ImageRef::parse(to).unwrap(),
            state: State::EndOfLife,
            end_of_life: Some("2023-07-10T08:00:00Z".parse().unwrap()),
            record: None,
        }
    }

    #[test]
    fn one_rule_per_move() {
        let d = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        let moves = [
            mv("app:1", "app:2"),
            mv("app:1", "app:2"),
            mv(
                &format!("r.example.com/x:1@{d}"),
                &format!("r.example.com/y:2@{d}"),
            ),
            mv(&format!("app@{d}"), &format!("app@{d}")),
        ];
        let r = renovate_config(&moves);
        let rules = r.config["packageRules"].as_array().unwrap();
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert_eq!(
            rules[0]["matchPackageNames"],
            json!(["app", "docker.io/library/app"])
        );
        assert_eq!(rules[0]["matchCurrentValue"], "1");
        assert_eq!(rules[0]["replacementName"], "app");
        assert_eq!(rules[0]["replacementVersion"], "2");
        assert_eq!(rules[0]["matchDatasources"], json!(["docker"]));
        assert!(
            rules[0]["description"]
                .as_str()
                .unwrap()
                .contains("end-of-life since 2023-07-10T08:00:00Z")
        );
        assert_eq!(rules[1]["matchPackageNames"], json!(["r.example.com/x"]));
        assert_eq!(rules[1]["replacementName"], "r.example.com/y");
        assert_eq!(r.unexpressed.len(), 1);
    }
}
