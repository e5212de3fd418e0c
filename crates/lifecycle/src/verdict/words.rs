//! The words of a verdict: every sentence, phrase and action lineage prints about an image's
//! lifecycle, for people. Admission messages and warnings, the report's `action`, summary,
//! markdown and SARIF texts, the audit's successor column and the updater's reasons are all
//! worded here, from a [`Status`] (or a report's copy of its fields, [`Facts`]) and, for
//! admission, the [`Judgement`](super::Judgement) of the policy.

use chrono::{DateTime, Utc};
use lineage_oci::{Digest, ImageRef, TagOrDigest};

use super::policy::{Judgement, Verdict};
use crate::base::BaseStatus;
use crate::profile::Reason;
use crate::status::{State, Status, Successor};

/// The date part of an instant, for short texts: `2023-07-10`.
pub fn date(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    lineage_oci::time::format_rfc3339(t)
}

/// What to pull instead: the successor's reference, else its digest, named in `repository`
/// when that is given (`registry/repo@sha256:…`), bare otherwise.
pub fn pull_name(
    reference: Option<&str>,
    digest: Option<&Digest>,
    repository: Option<&ImageRef>,
) -> Option<String> {
    if let Some(r) = reference {
        return Some(r.to_string());
    }
    let digest = digest?;
    Some(match repository {
        Some(repo) => repo
            .clone()
            .with_target(Some(TagOrDigest::Digest(digest.clone())))
            .to_string(),
        None => digest.to_string(),
    })
}

/// [`pull_name`] of a status's successor, the digest bare.
pub fn successor_name(s: &Successor) -> Option<String> {
    pull_name(s.reference.as_deref(), s.digest.as_ref(), None)
}

/// The successor in full: `reference (digest)`, or whichever is known.
pub fn successor_full(s: &Successor) -> Option<String> {
    match (&s.reference, &s.digest) {
        (Some(r), Some(d)) => Some(format!("{r} ({d})")),
        (Some(r), None) => Some(r.clone()),
        (None, Some(d)) => Some(d.to_string()),
        (None, None) => None,
    }
}

/// Whether an image in `state` should move to its successor (the report's `action`): it is
/// `superseded`, `scheduled` or `end-of-life`.
pub fn move_due(state: State) -> bool {
    state.is_at_least(State::Superseded)
}

/// The action to take: `move to X`.
pub fn action(to: &str) -> String {
    format!("move to {to}")
}

/// The successor's digest to show beside `to`, unless `to` already names it.
pub fn digest_beside<'d>(to: &str, digest: Option<&'d Digest>) -> Option<&'d Digest> {
    digest.filter(|d| !to.contains(d.as_str()))
}

/// The advice when an image should move and no successor is recorded.
pub const NO_SUCCESSOR_ADVICE: &str = "none recorded; ask the image's publisher";

/// The sentence when an image should move and no successor is recorded.
pub const NO_SUCCESSOR: &str = "No successor is recorded.";

/// The sentence naming where to move: `Move to X (sha256:…).`
pub fn move_sentence(to: &str, digest: Option<&Digest>) -> String {
    let d = digest_beside(to, digest)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    format!("Move to {to}{d}.")
}

/// What a state means and calls for, in one or two sentences (a report's SARIF rules).
pub fn state_description(state: State) -> &'static str {
    match state {
        State::EndOfLife => {
            "The image is end-of-life: its publisher no longer maintains it. Move to its successor."
        }
        State::Scheduled => {
            "The image's end-of-life is scheduled. Move to its successor before that date."
        }
        State::Superseded => "A newer revision of the image's lineage exists. Move to it.",
        State::Supported => "The image is supported.",
        State::Unknown => "lineage has no lifecycle data for the image, or could not look it up.",
        State::EndOfSupport => {
            "The image is past its end-of-support: its publisher no longer fixes it. It is still admitted; move to its successor before its end-of-life."
        }
        State::BaseEndOfLife => {
            "The image is built on a base image that is end-of-life or superseded. Rebuild it on the base's successor."
        }
    }
}

/// Whether an image in `state` should be rebuilt on its base's successor (a report's
/// `action`): it is `base-end-of-life`.
pub fn rebuild_due(state: State) -> bool {
    state == State::BaseEndOfLife
}

/// The action for an image built on an end-of-life base: `rebuild on X`.
pub fn rebuild_action(to: &str) -> String {
    format!("rebuild on {to}")
}

/// The image to rebuild on: the base's successor, by name.
pub fn rebuild_on(base: &BaseStatus) -> Option<String> {
    base.successor.as_ref().and_then(successor_name)
}

/// What the image is built on, for people: `base-ref (end-of-life since T)`, with the
/// evidence: `found by annotation`.
pub fn base_phrase(base: &BaseStatus) -> String {
    let name = base
        .reference
        .clone()
        .or_else(|| base.digest.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| "an unnamed image".into());
    let since = match (base.state, base.end_of_life) {
        (State::EndOfLife, Some(t)) => format!(" since {}", date(&t)),
        _ => String::new(),
    };
    format!("{name} ({}{since})", base.state)
}

/// The sentence about an image's base: `built on B (end-of-life since T; found by
/// annotation): rebuild on X.` (or `…; no successor is recorded.`).
pub fn base_sentence(base: &BaseStatus) -> String {
    let evidence = match base.evidence {
        crate::base::Evidence::Annotation => "its base annotation",
        crate::base::Evidence::Provenance => "its build provenance",
        crate::base::Evidence::Layers => "its layers",
    };
    let advice = match (base.passes_on(), rebuild_on(base)) {
        (true, Some(to)) => format!(": {}", rebuild_action(&to)),
        (true, None) => format!(": rebuild once its base is rebuilt; {NO_SUCCESSOR_ADVICE}"),
        (false, _) => String::new(),
    };
    let error = base
        .error
        .as_ref()
        .map(|e| format!(" (lookup failed: {e})"))
        .unwrap_or_default();
    format!(
        "built on {} (found by {evidence}){error}{advice}",
        base_phrase(base)
    )
}

/// What `lineage update` says of an image built on a reference it moves: `IMAGE is built on
/// FROM: rebuild it on TO after this update`.
pub fn rebuild_after_update(image: &str, from: &str, to: &str) -> String {
    format!(
        "{image} is built on {from}: {} after this update",
        rebuild_action(to)
    )
}

/// The plain statement that no base was found for an image.
pub const NO_BASE_FOUND: &str = "base unknown: no base annotation, no build provenance, and its layers begin with no known base (--base-repo)";

/// The facts a verdict is worded from: a status's own, or a copy of them (a report's
/// `lifecycle` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The state.
    pub state: State,
    /// The effective end-of-life.
    pub end_of_life: Option<DateTime<Utc>>,
    /// Why, as recorded.
    pub reason: Option<&'a Reason>,
    /// The image's version (its lineage).
    pub version: Option<&'a str>,
    /// Why the state is `unknown`, when the image could not be looked up.
    pub error: Option<&'a str>,
    /// The effective end-of-support (issue 18).
    pub end_of_support: Option<DateTime<Utc>>,
    /// The image's base (issue 17), when one was found.
    pub base: Option<&'a BaseStatus>,
}

impl<'a> Facts<'a> {
    /// The facts of a status.
    pub fn of(status: &'a Status) -> Facts<'a> {
        Facts {
            state: status.state,
            end_of_life: status.end_of_life,
            reason: status.reason.as_ref(),
            version: status.version.as_deref(),
            error: None,
            end_of_support: status.end_of_support,
            base: status.base.as_ref(),
        }
    }

    /// ` since T` (`at T`), or nothing when the end-of-life instant is not known.
    fn when(&self, word: &str) -> String {
        self.end_of_life
            .as_ref()
            .map(|t| format!(" {word} {}", rfc3339(t)))
            .unwrap_or_default()
    }

    /// One sentence on the state: `end-of-life since … (reason: superseded)`.
    pub fn summary(&self) -> String {
        let reason = self
            .reason
            .map(|r| format!(" (reason: {r})"))
            .unwrap_or_default();
        match self.state {
            State::EndOfLife => format!("end-of-life{}{reason}", self.when("since")),
            State::Scheduled => match (self.end_of_support, self.end_of_life) {
                (Some(eos), Some(_)) => format!(
                    "scheduled to reach end-of-support at {} and end-of-life{}{reason}",
                    rfc3339(&eos),
                    self.when("at")
                ),
                (Some(eos), None) => {
                    format!(
                        "scheduled to reach end-of-support at {}{reason}",
                        rfc3339(&eos)
                    )
                }
                _ => format!("scheduled to reach end-of-life{}{reason}", self.when("at")),
            },
            State::EndOfSupport => {
                let since = self
                    .end_of_support
                    .map(|t| format!(" since {}", rfc3339(&t)))
                    .unwrap_or_default();
                let eol = self
                    .end_of_life
                    .map(|t| format!(", end-of-life at {}", rfc3339(&t)))
                    .unwrap_or_default();
                format!("past end-of-support{since}{eol}{reason}")
            }
            State::Superseded => match self.version {
                Some(v) => format!("superseded: a newer revision of lineage {v} exists"),
                None => "superseded: a newer revision of its lineage exists".to_string(),
            },
            State::Supported => "supported".to_string(),
            State::Unknown => match self.error {
                Some(e) => format!("unknown: {e}"),
                None => "unknown: lineage has no lifecycle data for it".to_string(),
            },
            State::BaseEndOfLife => match self.base {
                Some(b) => format!("base-end-of-life: {}", base_sentence(b)),
                None => "base-end-of-life: its base image is end-of-life".to_string(),
            },
        }
    }

    /// Why a reference moves, short: `end-of-life since T`, or the state.
    pub fn why_moved(&self) -> String {
        match (self.state, self.end_of_life, self.end_of_support) {
            (State::EndOfLife, Some(t), _) => format!("end-of-life since {}", rfc3339(&t)),
            (State::EndOfSupport, _, Some(t)) => {
                format!("past end-of-support since {}", rfc3339(&t))
            }
            (state, _, _) => state.to_string(),
        }
    }

    /// Why, about the current image (a report's markdown): `the current image is …`, or why
    /// nothing is known.
    pub fn why(&self) -> String {
        match (self.state, self.error) {
            (State::Unknown, Some(e)) => format!("lineage could not look the image up: {e}"),
            (State::Unknown, None) => {
                "the image has no lifecycle record, no lifecycle annotation and no lineage"
                    .to_string()
            }
            _ => format!("the current image is {}", self.summary()),
        }
    }

    /// The image `name` (with its digest, when known), its state and why, as one sentence
    /// (a report's SARIF result).
    pub fn sentence(&self, name: &str, digest: Option<&Digest>) -> String {
        let digest = digest.map(|d| format!(" ({d})")).unwrap_or_default();
        match (self.state, self.error) {
            (State::Unknown, Some(e)) => {
                format!("lineage could not look up the lifecycle of {name}: {e}.")
            }
            (State::Unknown, None) => format!(
                "{name}{digest} has no lifecycle data: no record, no lifecycle annotation, no lineage."
            ),
            _ => format!("{name}{digest} is {}.", self.summary()),
        }
    }

    /// A markdown heading's text: `` `name` → `to` ``, or the state when there is nothing to
    /// move to.
    pub fn heading(&self, name: &str, to: Option<&str>) -> String {
        match (to, self.state) {
            (Some(to), _) => format!("`{name}` → `{to}`"),
            (None, State::Unknown) => format!("the lifecycle of `{name}` is unknown"),
            (None, state) => format!("`{name}` is {state}"),
        }
    }
}

/// The words of an admission decision about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionWords {
    /// The full sentence, for a denial and for logs: names the image, where it is used, the
    /// end-of-life instant and the successor (or the lookup error).
    pub message: String,
    /// The short warning for the client.
    pub warning: String,
}

/// The words about `image` (as written), used by `used` (`container "web"`), whose status is
/// `status`, judged `judgement`; `None` when there is nothing to say (a pass).
pub fn admission(
    image: &str,
    used: &str,
    status: &Status,
    judgement: &Judgement,
) -> Option<AdmissionWords> {
    let use_successor = status
        .successor
        .as_ref()
        .and_then(successor_name)
        .map(|s| format!("; use {s}"))
        .unwrap_or_default();
    let eol = status.end_of_life;
    let since = eol
        .map(|t| format!(" since {}", date(&t)))
        .unwrap_or_default();
    let warn = |warning: String| AdmissionWords {
        message: warning.clone(),
        warning,
    };
    match (judgement.state?, judgement.verdict) {
        (_, Verdict::Pass | Verdict::Exempt) => None,
        (State::EndOfLife, Verdict::Deny) => {
            let since_full = eol
                .map(|t| format!(" since {}", rfc3339(&t)))
                .unwrap_or_default();
            let reason = status
                .reason
                .as_ref()
                .map(|r| format!(" ({})", r.as_str()))
                .unwrap_or_default();
            let successor = status
                .successor
                .as_ref()
                .and_then(successor_full)
                .map(|s| format!("; use {s}"))
                .unwrap_or_default();
            Some(AdmissionWords {
                message: format!(
                    "image \"{image}\" ({used}) is end-of-life{since_full}{reason}{successor}"
                ),
                warning: format!("{used}: {image} is end-of-life{since}{use_successor}"),
            })
        }
        (State::EndOfLife, _) => {
            let until = judgement
                .denied_from
                .map(|t| format!(" (denied from {})", date(&t)))
                .unwrap_or_default();
            Some(warn(format!(
                "{used}: {image} is end-of-life{since}{until}{use_successor}"
            )))
        }
        (State::Scheduled, _) => {
            let left = in_days(judgement.days_left);
            let eos_ahead = status
                .end_of_support
                .filter(|t| judgement.days_left.is_some() && eol.is_none_or(|e| *t < e));
            Some(warn(match eos_ahead {
                Some(eos) => format!(
                    "{used}: {image} reaches end-of-support {}{left}{use_successor}",
                    date(&eos)
                ),
                None => {
                    let on = eol.map(|t| format!(" {}", date(&t))).unwrap_or_default();
                    format!("{used}: {image} reaches end-of-life{on}{left}{use_successor}")
                }
            }))
        }
        (State::EndOfSupport, _) => {
            let since = status
                .end_of_support
                .map(|t| format!(" since {}", date(&t)))
                .unwrap_or_default();
            let until = eol
                .map(|t| format!("; end-of-life {}{}", date(&t), in_days(judgement.days_left)))
                .unwrap_or_default();
            Some(warn(format!(
                "{used}: {image} is past end-of-support{since}{until}{use_successor}"
            )))
        }
        (State::Superseded, _) => Some(warn(format!(
            "{used}: {image} is superseded{use_successor}"
        ))),
        (State::BaseEndOfLife, verdict) => {
            let base = status.base.as_ref();
            let on = base
                .map(|b| format!(" {}", base_phrase(b)))
                .unwrap_or_default();
            let rebuild = base
                .and_then(rebuild_on)
                .map(|to| format!("; {}", rebuild_action(&to)))
                .unwrap_or_default();
            let warning = format!("{used}: {image} is built on{on}{rebuild}");
            Some(AdmissionWords {
                message: match verdict {
                    Verdict::Deny => format!(
                        "image \"{image}\" ({used}) is built on an end-of-life base{on}{rebuild}"
                    ),
                    _ => warning.clone(),
                },
                warning,
            })
        }
        (State::Supported | State::Unknown, _) => None,
    }
}

/// ` in N days`, or nothing when the count is not known. Without parentheses: a warning
/// stays short enough for one terminal line.
fn in_days(days: Option<i64>) -> String {
    match days {
        Some(0) => " in less than a day".to_string(),
        Some(1) => " in 1 day".to_string(),
        Some(n) => format!(" in {n} days"),
        None => String::new(),
    }
}

/// The words about `image`, used by `used`, that could not be checked because of `error`.
pub fn unchecked(image: &str, used: &str, error: &str) -> AdmissionWords {
    AdmissionWords {
        message: format!("image \"{image}\" ({used}) could not be checked: {error}"),
        warning: format!("{used}: {image} not checked: {error}"),
    }
}

/// The words about an object whose images cannot be read at all.
pub fn unreadable(error: &str) -> String {
    format!("lineage cannot read the object's images: {error}")
}

/// Why `image` moves: `image is end-of-life since T` (`why` from [`Facts::why_moved`]).
pub fn moves_because(image: &str, why: &str) -> String {
    format!("{image} is {why}")
}

/// What to do about `image`, which moves because of `why`: `image is … : move to its
/// successor`.
pub fn move_to_successor(image: &str, why: &str) -> String {
    format!("{}: move to its successor", moves_because(image, why))
}

/// The note for a reference in `state` that should move and names no successor.
pub fn no_successor_named(written: &str, state: State) -> String {
    format!("`{written}` is {state} and names no successor")
}

/// The note for a reference in `state` that should move and cannot, because of `why`.
pub fn cannot_move(written: &str, state: State, why: &str) -> String {
    format!("`{written}` is {state}, but {why}")
}

/// Why a scan report has nothing to look up: it is of `kind` (a `filesystem`, a
/// `repository`…), not of a container image. No article before the kind: it is the
/// scanner's own word, which may begin with a vowel.
pub fn not_an_image(kind: &str) -> String {
    format!("the report is not of an image: it is of type `{kind}`")
}

/// The label of what a report was run on, in its markdown summary: `Current image`, or
/// `Scanned (not an image)` for a report of something else.
pub fn scanned_label(is_image: bool) -> &'static str {
    if is_image {
        "Current image"
    } else {
        "Scanned (not an image)"
    }
}

/// A markdown heading about a report that is not of an image: `` `name` is not an image ``.
pub fn not_an_image_heading(name: &str) -> String {
    format!("`{name}` is not an image")
}

/// What a trust policy made of a status's records, for people (issue 16): who signed the
/// record that decided the verdict, and each record the policy ignored (or let count
/// unverified) and why. Empty when no trust policy is in force.
pub fn signature_notes(s: &Status) -> Vec<String> {
    let mut notes = Vec::new();
    if let (Some(sig), Some(record)) = (&s.signature, &s.record) {
        notes.push(match (&sig.identity, &sig.signed_at) {
            (Some(who), Some(at)) if sig.verified => {
                format!("record {record} is signed by `{who}` ({})", rfc3339(at))
            }
            _ => format!("record {record} decided without a verified signature"),
        });
    }
    notes.extend(
        s.warnings
            .iter()
            .filter(|w| matches!(w.problem, crate::warning::Problem::Signature(_)))
            .map(ToString::to_string),
    );
    notes
}
