//! Snapshots of every sentence the verdict module words, state by state.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lineage_oci::{Digest, ImageRef};

use super::policy::{Mode, Policy};
use super::words::{self, Facts};
use crate::profile::Reason;
use crate::status::{Source, State, Status, Successor};

pub(crate) fn time(s: &str) -> DateTime<Utc> {
    lineage_oci::time::parse_lenient(s).unwrap()
}

const IMAGE: &str = "registry.example/flasksample:1.0-20230707";
const SUCCESSOR: &str = "registry.example/flasksample:1.0-20230710";

/// A status in `state`, end-of-life at `eol` (reason `superseded` with it), with a successor
/// unless supported.
pub(crate) fn status(state: State, eol: Option<&str>) -> Status {
    Status {
        reference: IMAGE.to_string(),
        digest: Digest::sha256(IMAGE.as_bytes()),
        state,
        end_of_life: eol.map(time),
        reason: eol.map(|_| Reason::Superseded),
        version: Some("1.0".into()),
        revision: Some("20230707".into()),
        successor: (state != State::Supported).then(|| Successor {
            reference: Some(SUCCESSOR.into()),
            digest: Some(Digest::sha256(b"successor")),
            revision: Some("20230710".into()),
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

/// The cases every output is shown for: (name, status).
fn cases() -> Vec<(&'static str, Status)> {
    let mut digest_only = status(State::EndOfLife, Some("2023-07-10T08:00:00Z"));
    digest_only.reason = None;
    digest_only.successor = Some(Successor {
        reference: None,
        digest: Some(Digest::sha256(b"successor")),
        revision: None,
    });
    let mut no_successor = status(State::EndOfLife, None);
    no_successor.successor = None;
    // Issue 18: past end-of-support, end-of-life ahead; and both ahead.
    let mut past_support = status(State::EndOfSupport, Some("2025-04-30T00:00:00Z"));
    past_support.end_of_support = Some(time("2024-02-01T00:00:00Z"));
    let mut support_ahead = status(State::Scheduled, Some("2025-04-30T00:00:00Z"));
    support_ahead.end_of_support = Some(time("2024-03-11T09:00:00Z"));
    vec![
        (
            "end-of-life",
            status(State::EndOfLife, Some("2023-07-10T08:00:00Z")),
        ),
        (
            "end-of-life, fresh",
            status(State::EndOfLife, Some("2024-02-28T09:00:00Z")),
        ),
        ("end-of-life, successor by digest", digest_only),
        ("end-of-life, no date, no successor", no_successor),
        (
            "scheduled",
            status(State::Scheduled, Some("2025-04-30T00:00:00Z")),
        ),
        ("superseded", status(State::Superseded, None)),
        ("supported", status(State::Supported, None)),
        ("unknown", status(State::Unknown, None)),
        ("end-of-support", past_support),
        ("scheduled, end-of-support first", support_ahead),
    ]
}

#[test]
fn admission_messages() {
    let now = time("2024-03-01T09:00:00Z");
    let mut out = String::new();
    for (mode, grace) in [
        (Mode::Enforce, Duration::ZERO),
        (Mode::Enforce, Duration::from_secs(7 * 24 * 3600)),
        (Mode::Warn, Duration::ZERO),
        (Mode::Audit, Duration::ZERO),
    ] {
        let policy = Policy {
            mode,
            grace_period: grace,
            fail_open: true,
            ..Policy::default()
        };
        let _ = writeln!(out, "## {mode}, grace {}s", grace.as_secs());
        for (name, s) in cases() {
            let j = policy.judge(&s, now);
            let w = words::admission(IMAGE, "container \"web\"", &s, &j);
            let allowed = policy.allows([j.verdict]);
            let _ = writeln!(
                out,
                "{name}: verdict {:?}, {}",
                j.verdict,
                if allowed { "allowed" } else { "denied" }
            );
            if let Some(w) = w {
                if !allowed {
                    let _ = writeln!(out, "  message: {}", w.message);
                }
                if policy.warns(j.verdict) {
                    let _ = writeln!(out, "  warning: {}", w.warning);
                }
            }
        }
    }
    let failed = words::unchecked(
        "registry.example/migrate:1.0",
        "init container \"migrate\"",
        "registry.example did not answer in 2s",
    );
    let _ = writeln!(
        out,
        "## lookup failed\n  message: {}\n  warning: {}\n## unreadable\n  {}",
        failed.message,
        failed.warning,
        words::unreadable("the Pod object's `spec` is not a pod spec")
    );
    insta::assert_snapshot!("admission-messages", out);
}

#[test]
fn report_and_update_sentences() {
    let repo = ImageRef::parse("registry.example/flasksample").unwrap();
    let mut out = String::new();
    for (name, s) in cases() {
        let facts = Facts::of(&s);
        let to = s
            .successor
            .as_ref()
            .and_then(|x| words::pull_name(x.reference.as_deref(), x.digest.as_ref(), Some(&repo)));
        let to = to.filter(|_| words::move_due(s.state));
        let _ = writeln!(out, "## {name}");
        let _ = writeln!(out, "description: {}", words::state_description(s.state));
        let _ = writeln!(out, "summary: {}", facts.summary());
        let _ = writeln!(out, "why: {}", facts.why());
        let _ = writeln!(out, "why moved: {}", facts.why_moved());
        let _ = writeln!(out, "heading: {}", facts.heading(IMAGE, to.as_deref()));
        let _ = writeln!(out, "sentence: {}", facts.sentence(IMAGE, Some(&s.digest)));
        if let Some(to) = &to {
            let d = s.successor.as_ref().and_then(|x| x.digest.as_ref());
            let _ = writeln!(out, "action: {}", words::action(to));
            let _ = writeln!(out, "move: {}", words::move_sentence(to, d));
        }
        let _ = writeln!(
            out,
            "successor: {}",
            s.successor
                .as_ref()
                .and_then(words::successor_name)
                .unwrap_or_else(|| "-".into())
        );
    }
    let unknown = status(State::Unknown, None);
    let failed = Facts {
        error: Some("cannot look up `x`: manifest unknown"),
        ..Facts::of(&unknown)
    };
    let _ = writeln!(
        out,
        "## lookup failed\nsummary: {}\nwhy: {}\nsentence: {}",
        failed.summary(),
        failed.why(),
        failed.sentence(IMAGE, None)
    );
    let _ = writeln!(
        out,
        "## updater notes\n{}\n{}\n{}",
        words::move_to_successor(
            "r.example.com/app:1",
            "end-of-life since 2023-07-10T08:00:00Z"
        ),
        words::no_successor_named("r.example.com/gone:1", State::EndOfLife),
        words::cannot_move(
            "r.example.com/app:1",
            State::Superseded,
            "no field holds the tag"
        )
    );
    insta::assert_snapshot!("report-and-update-sentences", out);
}

#[test]
fn successor_names() {
    let d = Digest::sha256(b"successor");
    let both = Successor {
        reference: Some(SUCCESSOR.into()),
        digest: Some(d.clone()),
        revision: None,
    };
    assert_eq!(
        words::successor_full(&both),
        Some(format!("{SUCCESSOR} ({d})"))
    );
    assert_eq!(words::successor_name(&both).as_deref(), Some(SUCCESSOR));
    let by_digest = Successor {
        reference: None,
        ..both.clone()
    };
    assert_eq!(words::successor_full(&by_digest), Some(d.to_string()));
    assert_eq!(words::successor_name(&by_digest), Some(d.to_string()));
    let repo = ImageRef::parse("registry.example/flasksample:1").unwrap();
    assert_eq!(
        words::pull_name(None, Some(&d), Some(&repo)),
        Some(format!("registry.example/flasksample@{d}"))
    );
    let neither = Successor {
        digest: None,
        ..by_digest
    };
    assert_eq!(words::successor_full(&neither), None);
    assert_eq!(words::successor_name(&neither), None);
    assert_eq!(
        words::digest_beside(&format!("registry.example/flasksample@{d}"), Some(&d)),
        None
    );
    assert_eq!(words::digest_beside(SUCCESSOR, Some(&d)), Some(&d));
}
