//! From statuses to edits: which references move, the splices that move them, and the check
//! that the edited file reads back as planned.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use chrono::{DateTime, Utc};
use lineage_lifecycle::State;
use lineage_lifecycle::verdict::{Facts, words};
use lineage_oci::reference::{DOCKER_HUB, written_registry};
use lineage_oci::{Digest, ImageRef};

use super::written::{self, split};
use super::{FileScan, Note, Occurrence, Piece, Shape, scan};
use crate::Looked;

/// One reference moved to its successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The 1-based line that uses the reference.
    pub line: usize,
    /// The reference as the file wrote it.
    pub from: String,
    /// The successor as the file now writes it.
    pub to: String,
    /// `from`, normalised.
    pub from_image: ImageRef,
    /// `to`, normalised.
    pub to_image: ImageRef,
    /// Why it moves: `end-of-life` or `superseded`.
    pub state: State,
    /// The effective end-of-life.
    pub end_of_life: Option<DateTime<Utc>>,
    /// The lifecycle record that decided it.
    pub record: Option<Digest>,
}

impl Move {
    /// Why it moves, for people: `end-of-life since T`, or the state
    /// ([`Facts::why_moved`]).
    pub fn why(&self) -> String {
        Facts {
            state: self.state,
            end_of_life: self.end_of_life,
            reason: None,
            version: None,
            error: None,
            end_of_support: None,
            base: None,
        }
        .why_moved()
    }
}

/// What [`plan`] decided for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    /// The moves made, in file order.
    pub moves: Vec<Move>,
    /// References that should move but do not (no successor, a form the successor cannot
    /// fill, characters shared with another reference), and failed lookups.
    pub notes: Vec<Note>,
    /// The new contents, when anything changes.
    pub updated: Option<String>,
}

/// A splice: replace the file's bytes at `span`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    span: Range<usize>,
    replacement: String,
}

/// Plan the moves of the references `found` in `text`, given the status of each occurrence's
/// [`Occurrence::key`] (occurrences whose key is missing are left alone). References whose
/// status is `end-of-life` or `superseded` and that name a successor move to it, in the form
/// the file used; every other reference is left byte for byte.
pub fn plan(text: &str, found: &FileScan, statuses: &HashMap<String, Looked>) -> FilePlan {
    let mut notes = Vec::new();
    // (move, its edits)
    let mut planned: Vec<(Move, Vec<Edit>)> = Vec::new();
    let mut moved = vec![None; found.occurrences.len()];
    for (i, occ) in found.occurrences.iter().enumerate() {
        let status = match statuses.get(&occ.key()) {
            None => continue,
            Some(Err(e)) => {
                // The lookup's message usually names the reference already.
                let message = if e.names_reference() {
                    e.message()
                } else {
                    format!("cannot look up `{}`: {}", occ.written, e.message())
                };
                notes.push(note(occ, message));
                continue;
            }
            Some(Ok(s)) => s,
        };
        if !status.state.is_retired() {
            continue;
        }
        let Some(successor) = &status.successor else {
            notes.push(note(
                occ,
                words::no_successor_named(&occ.written, status.state),
            ));
            continue;
        };
        let (to, to_image) = match written::successor(&occ.written, &occ.image, successor) {
            Ok(t) => t,
            Err(e) => {
                notes.push(note(
                    occ,
                    words::cannot_move(&occ.written, status.state, &e.to_string()),
                ));
                continue;
            }
        };
        if to == occ.written {
            continue;
        }
        let edits = match edits(occ, &to) {
            Ok(e) => e,
            Err(e) => {
                notes.push(note(
                    occ,
                    words::cannot_move(&occ.written, status.state, &e.to_string()),
                ));
                continue;
            }
        };
        moved[i] = Some(planned.len());
        planned.push((
            Move {
                line: occ.line,
                from: occ.written.clone(),
                to,
                from_image: occ.image.clone(),
                to_image,
                state: status.state,
                end_of_life: status.end_of_life,
                record: status.record.clone(),
            },
            edits,
        ));
    }

    // Drop moves whose edits collide with another move's, or touch a reference that stays.
    let mut dropped = BTreeSet::new();
    let mut all: Vec<(usize, &Edit)> = planned
        .iter()
        .enumerate()
        .flat_map(|(m, (_, es))| es.iter().map(move |e| (m, e)))
        .collect();
    all.sort_by(|a, b| {
        (a.1.span.start, a.1.span.end, &a.1.replacement).cmp(&(
            b.1.span.start,
            b.1.span.end,
            &b.1.replacement,
        ))
    });
    for pair in all.windows(2) {
        let ((ma, a), (mb, b)) = (pair[0], pair[1]);
        if a == b {
            continue;
        }
        if b.span.start < a.span.end || a.span == b.span {
            dropped.insert(ma);
            dropped.insert(mb);
        }
    }
    for (i, occ) in found.occurrences.iter().enumerate() {
        if moved[i].is_some() {
            continue;
        }
        for (m, e) in &all {
            if pieces(occ).any(|p| touches(&e.span, &p.span)) && dropped.insert(*m) {
                let mv = &planned[*m].0;
                notes.push(Note {
                    line: mv.line,
                    message: words::cannot_move(
                        &mv.from,
                        mv.state,
                        &format!(
                            "its characters are shared with `{}` on line {}; change it by hand",
                            occ.written, occ.line
                        ),
                    ),
                });
            }
        }
    }
    for &m in &dropped {
        let mv = &planned[m].0;
        if !notes
            .iter()
            .any(|n| n.line == mv.line && n.message.contains("shared"))
        {
            notes.push(Note {
                line: mv.line,
                message: words::cannot_move(
                    &mv.from,
                    mv.state,
                    "its edit collides with another one; change it by hand",
                ),
            });
        }
    }
    let mut edits: Vec<Edit> = all
        .iter()
        .filter(|(m, _)| !dropped.contains(m))
        .map(|(_, e)| (*e).clone())
        .collect();
    edits.dedup();
    let expected: Vec<&str> = found
        .occurrences
        .iter()
        .zip(&moved)
        .map(|(o, m)| match m {
            Some(m) if !dropped.contains(m) => planned[*m].0.to.as_str(),
            _ => o.written.as_str(),
        })
        .collect();
    let moves: Vec<Move> = planned
        .iter()
        .enumerate()
        .filter(|(m, _)| !dropped.contains(m))
        .map(|(_, (mv, _))| mv.clone())
        .collect();
    if edits.is_empty() {
        notes.sort_by_key(|n| n.line);
        return FilePlan {
            moves: Vec::new(),
            notes,
            updated: None,
        };
    }

    let updated = apply(text, &edits);
    // Read the result back: every reference must be what was planned, and nothing else.
    let again = scan(found.kind, &updated);
    let got: Vec<&str> = again
        .occurrences
        .iter()
        .map(|o| o.written.as_str())
        .collect();
    notes.sort_by_key(|n| n.line);
    if got != expected {
        let line = found
            .occurrences
            .iter()
            .zip(&got)
            .find(|(o, g)| o.written != **g)
            .map_or(1, |(o, _)| o.line);
        notes.push(Note {
            line,
            message: "the edited file does not read back as planned; it is left unchanged"
                .to_string(),
        });
        return FilePlan {
            moves: Vec::new(),
            notes,
            updated: None,
        };
    }
    FilePlan {
        moves,
        notes,
        updated: Some(updated),
    }
}

fn note(occ: &Occurrence, message: String) -> Note {
    Note {
        line: occ.line,
        message,
    }
}

fn pieces(occ: &Occurrence) -> Box<dyn Iterator<Item = &Piece> + '_> {
    match &occ.shape {
        Shape::Text(p) => Box::new(p.iter()),
        Shape::Fields {
            registry,
            repository,
            tag,
            digest,
            ..
        } => Box::new(
            registry
                .iter()
                .chain(std::iter::once(repository))
                .chain(tag)
                .chain(digest),
        ),
    }
}

/// Whether an edit at `e` changes the characters of `p` (an insertion counts at either end).
fn touches(e: &Range<usize>, p: &Range<usize>) -> bool {
    if e.is_empty() {
        p.start <= e.start && e.start <= p.end
    } else {
        e.start < p.end && p.start < e.end
    }
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.span.start]);
        out.push_str(&e.replacement);
        at = e.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The splices that turn `occ` into `to`.
fn edits(occ: &Occurrence, to: &str) -> Result<Vec<Edit>, String> {
    match &occ.shape {
        Shape::Text(pieces) => text_edits(&occ.written, pieces, to),
        Shape::Fields {
            registry,
            repository,
            tag,
            digest,
            fixed_repository,
        } => field_edits(
            registry.as_ref(),
            (repository, *fixed_repository),
            tag.as_ref(),
            digest.as_ref(),
            to,
        ),
    }
}

/// For a string built from `pieces`: each changed part (name, tag, digest) is narrowed to the
/// characters that differ, which must lie in one piece (an `ARG` default, a literal run).
fn text_edits(written: &str, pieces: &[Piece], to: &str) -> Result<Vec<Edit>, String> {
    let old = split(written);
    let new = split(to);
    let mut changes: Vec<(Range<usize>, String)> = Vec::new();
    let name = (
        Some(old.name.clone()),
        Some(new.name.clone()),
        old.name.end,
        "",
    );
    let tag_at = old.name.end;
    let digest_at = old.tag.as_ref().map_or(old.name.end, |t| t.end);
    for (o, n, at, sep) in [
        name,
        (old.tag.clone(), new.tag.clone(), tag_at, ":"),
        (old.digest.clone(), new.digest.clone(), digest_at, "@"),
    ] {
        match (o, n) {
            (Some(o), Some(n)) => changes.push((o, to[n].to_string())),
            (None, Some(n)) => changes.push((at..at, format!("{sep}{}", &to[n]))),
            (Some(o), None) => changes.push((o.start - sep.len()..o.end, String::new())),
            (None, None) => {}
        }
    }
    let mut out = Vec::new();
    for (range, replacement) in changes {
        let (range, replacement) = narrow(&written[range.clone()], range.start, &replacement);
        if range.is_empty() && replacement.is_empty() {
            continue;
        }
        let mut w = 0;
        let mut placed = false;
        for p in pieces {
            let end = w + p.text.len();
            if w <= range.start && range.end <= end {
                let start = p.span.start + (range.start - w);
                out.push(Edit {
                    span: start..start + range.len(),
                    replacement: replacement.clone(),
                });
                placed = true;
                break;
            }
            w = end;
        }
        if !placed {
            return Err(format!(
                "`{written}` is built from several variables; change it by hand"
            ));
        }
    }
    Ok(out)
}

/// Trim what `old` (at offset `at`) and `new` share at both ends.
fn narrow(old: &str, at: usize, new: &str) -> (Range<usize>, String) {
    let prefix = old
        .char_indices()
        .zip(new.chars())
        .take_while(|((_, a), b)| a == b)
        .last()
        .map_or(0, |((i, a), _)| i + a.len_utf8());
    let (o, n) = (&old[prefix..], &new[prefix..]);
    let suffix = o
        .chars()
        .rev()
        .zip(n.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum::<usize>();
    (
        at + prefix..at + old.len() - suffix,
        n[..n.len() - suffix].to_string(),
    )
}

/// For Helm's fields: the name goes to `registry` + `repository` (or `repository` alone), the
/// tag to `tag` (with `@digest` when the tag carried it), the digest to `digest`.
/// For separate scalars: each one that changes is replaced whole. `repository` comes with
/// whether it is fixed (a selector that must not change).
fn field_edits(
    registry: Option<&Piece>,
    (repository, fixed_repository): (&Piece, bool),
    tag: Option<&Piece>,
    digest: Option<&Piece>,
    to: &str,
) -> Result<Vec<Edit>, String> {
    let new = split(to);
    let name = &to[new.name.clone()];
    let mut want: Vec<(&Piece, String)> = Vec::new();
    match registry {
        Some(reg) => {
            let (r, path) = match written_registry(name) {
                Some(r) => (r, &name[r.len() + 1..]),
                None => (DOCKER_HUB, name),
            };
            let joined_old = format!("{}/{}", reg.text, repository.text);
            if joined_old != name {
                if r != reg.text {
                    want.push((reg, r.to_string()));
                }
                want.push((repository, path.to_string()));
            }
        }
        None => want.push((repository, name.to_string())),
    }
    match (tag, &new.tag) {
        (Some(t), Some(n)) => {
            let value = if t.text.contains('@') {
                to[n.start..].to_string()
            } else {
                to[n.clone()].to_string()
            };
            want.push((t, value));
        }
        (None, None) => {}
        _ => return Err("no field holds the tag".to_string()),
    }
    match (digest, &new.digest) {
        (Some(d), Some(n)) => want.push((d, to[n.clone()].to_string())),
        (Some(_), None) => return Err("a field pins a digest and the move names none".to_string()),
        _ => {}
    }
    if fixed_repository && want.iter().any(|(p, v)| *p == repository && p.text != *v) {
        return Err(format!(
            "`name: {}` selects the images this entry changes; add `newName: {name}` by hand",
            repository.text
        ));
    }
    Ok(want
        .into_iter()
        .filter(|(p, v)| p.text != *v)
        .map(|(p, v)| Edit {
            span: p.span.clone(),
            replacement: v,
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use lineage_lifecycle::Status;
    use lineage_test_support::status::StatusBuilder;

    use super::super::{FileKind, scan};
    use super::*;

    const OLD_D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const NEW_D: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    /// A status in `state` whose successor (when given) is `successor` with digest `NEW_D`.
    pub(crate) fn status(state: State, successor: Option<&str>) -> Status {
        let status = StatusBuilder::new("", state).digest(OLD_D.parse().unwrap());
        match successor {
            Some(s) => status.successor(Some(s), Some(NEW_D.parse().unwrap()), None),
            None => status,
        }
        .build()
    }

    /// Statuses for every occurrence in `text`: `app` (any tag or digest) end-of-life with
    /// successor `r.example.com/app:2`, `gone` end-of-life with no successor, `err` failing,
    /// everything else supported.
    fn run(kind: FileKind, text: &str) -> FilePlan {
        let found = scan(kind, text);
        let mut statuses = HashMap::new();
        for o in &found.occurrences {
            let repo = o.image.repository();
            let looked = if repo.ends_with("/app") || repo == "app" {
                Ok(status(State::EndOfLife, Some("r.example.com/app:2")))
            } else if repo.ends_with("gone") {
                Ok(status(State::EndOfLife, None))
            } else if repo.ends_with("err") {
                Err(crate::tests::timed_out(&o.key()))
            } else {
                Ok(status(State::Supported, None))
            };
            statuses.insert(o.key(), looked);
        }
        plan(text, &found, &statuses)
    }

    fn updated(kind: FileKind, text: &str) -> String {
        run(kind, text).updated.unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn dockerfile_arg_defaults_are_edited() {
        let t = format!(
            "ARG BASE=r.example.com/app:1\nARG TAG=1\n\
             FROM ${{BASE}} AS one\nFROM r.example.com/app:${{TAG}}\n\
             FROM r.example.com/app@{OLD_D}\nFROM r.example.com/other:1\nFROM one\n"
        );
        let got = updated(FileKind::Dockerfile, &t);
        assert_eq!(
            got,
            format!(
                "ARG BASE=r.example.com/app:2\nARG TAG=2\n\
                 FROM ${{BASE}} AS one\nFROM r.example.com/app:${{TAG}}\n\
                 FROM r.example.com/app@{NEW_D}\nFROM r.example.com/other:1\nFROM one\n"
            )
        );
        // Idempotent: the successors are supported.
        let p = run(FileKind::Dockerfile, &got.replace("app:2", "fine:2"));
        assert!(p.updated.is_none());
    }

    #[test]
    fn shared_characters_are_not_edited() {
        let t = "ARG TAG=1\nFROM r.example.com/app:${TAG}\nFROM r.example.com/other:${TAG}\n";
        let p = run(FileKind::Dockerfile, t);
        assert!(p.updated.is_none());
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
        assert!(p.notes[0].message.contains("shared"), "{:?}", p.notes);
        // One ARG used twice for the same image moves once.
        let t = "ARG B=r.example.com/app:1\nFROM $B AS a\nFROM ${B}\n";
        assert_eq!(
            updated(FileKind::Dockerfile, t),
            "ARG B=r.example.com/app:2\nFROM $B AS a\nFROM ${B}\n"
        );
    }

    #[test]
    fn a_name_built_from_variables_moves_only_within_one_variable() {
        // Only the registry changes, and it is all in REG.
        let t = "ARG REG=q.example.com\nFROM ${REG}/app:1\n";
        assert_eq!(
            updated(FileKind::Dockerfile, t),
            "ARG REG=r.example.com\nFROM ${REG}/app:2\n"
        );
        // `team/` spans NS and the literal after it.
        let t = "ARG NS=team\nFROM r.example.com/${NS}/app:1\n";
        let p = run(FileKind::Dockerfile, t);
        assert!(p.updated.is_none());
        assert!(
            p.notes[0].message.contains("several variables"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn yaml_keeps_quotes_comments_and_order() {
        let t = format!(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n\
             \x20 - image: \"r.example.com/app:1\"   # pinned\n\
             \x20 - image: 'r.example.com/app:1@{OLD_D}'\n\
             \x20 - image: r.example.com/other:1\n\
             \x20 # - image: r.example.com/app:1\n"
        );
        assert_eq!(
            updated(FileKind::Kubernetes, &t),
            format!(
                "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n\
                 \x20 - image: \"r.example.com/app:2\"   # pinned\n\
                 \x20 - image: 'r.example.com/app:2@{NEW_D}'\n\
                 \x20 - image: r.example.com/other:1\n\
                 \x20 # - image: r.example.com/app:1\n"
            )
        );
    }

    #[test]
    fn helm_fields_are_edited_one_by_one() {
        let t = format!(
            "image:\n  registry: r.example.com\n  repository: app\n  tag: \"1\"\n\
             other:\n  image:\n    repository: r.example.com/app\n    tag: 1@{OLD_D}\n\
             moved:\n  image:\n    registry: q.example.com\n    repository: team/app\n    tag: 1\n    digest: {OLD_D}\n"
        );
        assert_eq!(
            updated(FileKind::HelmValues, &t),
            format!(
                "image:\n  registry: r.example.com\n  repository: app\n  tag: \"2\"\n\
                 other:\n  image:\n    repository: r.example.com/app\n    tag: 2@{NEW_D}\n\
                 moved:\n  image:\n    registry: r.example.com\n    repository: app\n    tag: 2\n    digest: {NEW_D}\n"
            )
        );
    }

    #[test]
    fn notes_for_what_does_not_move() {
        let t = "FROM r.example.com/gone:1\nFROM r.example.com/err:1\nFROM r.example.com/fine:1\n";
        let p = run(FileKind::Dockerfile, t);
        assert!(p.updated.is_none());
        assert_eq!(p.notes.len(), 2);
        assert!(p.notes[0].message.contains("names no successor"));
        assert!(
            p.notes[1]
                .message
                .contains("no answer from the registry within 2 s")
        );
        assert!(p.moves.is_empty());
    }

    #[test]
    fn superseded_moves_scheduled_does_not_and_latest_gets_a_tag() {
        let t =
            "FROM r.example.com/app\nFROM r.example.com/lineage:1\nFROM r.example.com/later:1\n";
        let found = scan(FileKind::Dockerfile, t);
        let mut statuses = HashMap::new();
        for (o, state) in
            found
                .occurrences
                .iter()
                .zip([State::EndOfLife, State::Superseded, State::Scheduled])
        {
            let succ = format!("{}:2", o.image.repository_ref());
            statuses.insert(o.key(), Ok(status(state, Some(&succ))));
        }
        let p = plan(t, &found, &statuses);
        assert_eq!(
            p.updated.as_deref(),
            Some(
                "FROM r.example.com/app:2\nFROM r.example.com/lineage:2\nFROM r.example.com/later:1\n"
            )
        );
        assert_eq!(p.moves.len(), 2);
        assert_eq!(p.moves[1].state, State::Superseded);
        assert_eq!(p.moves[0].to_image.to_string(), "r.example.com/app:2");
    }

    #[test]
    fn an_edit_that_does_not_read_back_is_not_made() {
        // A scan whose occurrence points at the wrong characters: the edit lands in the
        // comment, the read-back sees the reference unchanged, and the file is left alone.
        let t = "# r.example.com/app:1\nFROM r.example.com/app:1\n";
        let mut found = scan(FileKind::Dockerfile, t);
        assert_eq!(found.occurrences.len(), 1);
        found.occurrences[0].shape = Shape::Text(vec![Piece {
            span: 2..21,
            text: "r.example.com/app:1".into(),
        }]);
        let mut statuses = HashMap::new();
        statuses.insert(
            found.occurrences[0].key(),
            Ok(status(State::EndOfLife, Some("r.example.com/app:2"))),
        );
        let p = plan(t, &found, &statuses);
        assert!(p.updated.is_none());
        assert!(p.moves.is_empty());
        assert!(
            p.notes[0].message.contains("does not read back"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn narrowing_edits_only_what_differs() {
        assert_eq!(
            narrow("1.0-20230707", 4, "1.0-20230710"),
            (14..16, "10".into())
        );
        assert_eq!(narrow("a", 0, "a"), (1..1, String::new()));
        assert_eq!(narrow("", 3, ":x"), (3..3, ":x".into()));
    }
}
