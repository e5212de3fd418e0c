//! The admission policy: what a status calls for at an instant, in enforce, warn or audit
//! mode, with a grace period and a fail-open or fail-closed setting. Pure: everything is
//! decided from the arguments, the current time included.
//!
//! | status | enforce | warn | audit |
//! |---|---|---|---|
//! | `end-of-life`, past the grace period | deny | warning | allow |
//! | `end-of-life`, within the grace period | warning | warning | allow |
//! | `end-of-support`, `scheduled`, `superseded` | warning | warning | allow |
//! | `base-end-of-life` (issue 17) | per [`Inherited`]: deny, warning (default) or allow | warning unless ignored | allow |
//! | `supported`, `unknown` | allow | allow | allow |
//! | lookup failed, fail open | warning | warning | allow |
//! | lookup failed, fail closed | deny | warning | allow |
//!
//! [`Policy::judge`] gives the enforce column (the [`Verdict`]); [`Policy::allows`] and
//! [`Policy::warns`] apply the mode. Which images are judged at all (exemptions) is the
//! caller's business.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::status::{State, Status};

/// What an admission webhook does with what it finds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny end-of-life images; warn about the rest.
    #[default]
    Enforce,
    /// Admit everything, with warnings.
    Warn,
    /// Admit everything silently; the caller logs the outcome.
    Audit,
}

impl Mode {
    /// The mode's name in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`Mode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown admission mode `{0}` (expected enforce, warn or audit)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Mode, UnknownMode> {
        [Mode::Enforce, Mode::Warn, Mode::Audit]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMode(s.to_string()))
    }
}

/// What enforce mode makes of one image (the [`Mode`] then decides what the answer does with
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing to say.
    Pass,
    /// Admit, with a warning.
    Warn,
    /// Deny.
    Deny,
    /// Not looked up: exempt (the caller decides exemptions).
    Exempt,
}

/// How a status is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Enforce, warn or audit.
    pub mode: Mode,
    /// In enforce mode, an image whose end-of-life passed less than this long ago is only
    /// warned about, so a release that just went end-of-life does not stop deployments at
    /// once.
    pub grace_period: Duration,
    /// When an image cannot be looked up: admit it with a warning (true) or deny it.
    pub fail_open: bool,
    /// What enforce mode makes of an image whose base is end-of-life (`base-end-of-life`,
    /// issue 17): deny, warn (the default) or ignore.
    pub inherited: Inherited,
}

/// What enforce mode makes of an inherited verdict (`base-end-of-life`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Inherited {
    /// Deny it, as an end-of-life image.
    Deny,
    /// Admit it with a warning.
    #[default]
    Warn,
    /// Admit it silently.
    Ignore,
}

impl Inherited {
    /// The setting's name in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Inherited::Deny => "deny",
            Inherited::Warn => "warn",
            Inherited::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Inherited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`Inherited`] setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown setting for inherited verdicts `{0}` (expected deny, warn or ignore)")]
pub struct UnknownInherited(pub String);

impl FromStr for Inherited {
    type Err = UnknownInherited;

    fn from_str(s: &str) -> Result<Inherited, UnknownInherited> {
        [Inherited::Deny, Inherited::Warn, Inherited::Ignore]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownInherited(s.to_string()))
    }
}

/// The judgement of one image: its state at the instant of judging and what enforce mode
/// makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// The state at the instant judged; `None` when the image could not be looked up.
    pub state: Option<State>,
    /// What enforce mode makes of it.
    pub verdict: Verdict,
    /// For an end-of-life image within the grace period: from when it is denied (`None`
    /// when that instant is out of range: it is never denied).
    pub denied_from: Option<DateTime<Utc>>,
    /// Whole days from the instant of judging until the image's next date (end-of-support,
    /// else end-of-life), when one is ahead ([`days_left_at`]; issue 18).
    pub days_left: Option<i64>,
}

/// The state of `status` at `now`, not at the instant it was computed for: a status cached
/// as `scheduled` whose end-of-life has passed is `end-of-life`, and the other way round;
/// the same for end-of-support ([`crate::status::milestones`]).
pub fn state_at(status: &Status, now: DateTime<Utc>) -> State {
    match status.state {
        State::EndOfLife | State::Scheduled | State::EndOfSupport => {
            crate::status::milestones::state(status.end_of_support, status.end_of_life, now)
                .unwrap_or(status.state)
        }
        state => state,
    }
}

/// Whole days from `now` until the next date of `status` still ahead (end-of-support, else
/// end-of-life), as [`state_at`] judges it again at `now`.
pub fn days_left_at(status: &Status, now: DateTime<Utc>) -> Option<i64> {
    crate::status::milestones::days_left(status.end_of_support, status.end_of_life, now)
}

impl Policy {
    /// The enforce-mode judgement of `status` at `now` (the table in the module
    /// documentation).
    pub fn judge(&self, status: &Status, now: DateTime<Utc>) -> Judgement {
        let state = state_at(status, now);
        let days_left = days_left_at(status, now);
        let judgement = |verdict, denied_from| Judgement {
            state: Some(state),
            verdict,
            denied_from,
            days_left,
        };
        match state {
            State::EndOfLife => {
                // Denied from the end of the grace period; never when that overflows.
                let denied_from = match status.end_of_life {
                    Some(eol) => TimeDelta::from_std(self.grace_period)
                        .ok()
                        .and_then(|grace| eol.checked_add_signed(grace)),
                    None => Some(now),
                };
                if denied_from.is_some_and(|from| from <= now) {
                    judgement(Verdict::Deny, None)
                } else {
                    judgement(Verdict::Warn, denied_from)
                }
            }
            State::Scheduled | State::Superseded | State::EndOfSupport => {
                judgement(Verdict::Warn, None)
            }
            State::BaseEndOfLife => match self.inherited {
                Inherited::Deny => judgement(Verdict::Deny, None),
                Inherited::Warn => judgement(Verdict::Warn, None),
                Inherited::Ignore => judgement(Verdict::Pass, None),
            },
            State::Supported | State::Unknown => judgement(Verdict::Pass, None),
        }
    }

    /// The judgement of an image that could not be looked up: fail open warns, fail closed
    /// denies.
    pub fn judge_failure(&self) -> Judgement {
        Judgement {
            state: None,
            verdict: if self.fail_open {
                Verdict::Warn
            } else {
                Verdict::Deny
            },
            denied_from: None,
            days_left: None,
        }
    }

    /// Whether an object with these verdicts is admitted: always, but in enforce mode with a
    /// denial.
    pub fn allows(&self, verdicts: impl IntoIterator<Item = Verdict>) -> bool {
        self.mode != Mode::Enforce || !verdicts.into_iter().any(|v| v == Verdict::Deny)
    }

    /// Whether an image with this verdict is warned about: in enforce mode the warnings (the
    /// denials are the answer's message), in warn mode the warnings and the denials, in
    /// audit mode nothing.
    pub fn warns(&self, verdict: Verdict) -> bool {
        match self.mode {
            Mode::Enforce => verdict == Verdict::Warn,
            Mode::Warn => matches!(verdict, Verdict::Warn | Verdict::Deny),
            Mode::Audit => false,
        }
    }

    /// Whether an object whose images cannot be read at all is admitted: as for a failed
    /// lookup, fail open admits; only enforce mode denies.
    pub fn admits_unreadable(&self) -> bool {
        self.fail_open || self.mode != Mode::Enforce
    }

    /// Whether an admitted object whose images cannot be read is warned about (not in audit
    /// mode).
    pub fn warns_unreadable(&self) -> bool {
        self.admits_unreadable() && self.mode != Mode::Audit
    }
}

impl Judgement {
    /// The judgement of an image the object already ran before an UPDATE: an end-of-life
    /// image is warned about, not denied. Scaling, relabelling or rolling back a workload
    /// must not be blocked by an image it has been running all along; only an image the
    /// update brings in is denied.
    pub fn already_running(self) -> Judgement {
        match self {
            Judgement {
                state: Some(State::EndOfLife),
                verdict: Verdict::Deny,
                ..
            } => Judgement {
                verdict: Verdict::Warn,
                ..self
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::tests::{status, time};

    fn enforce() -> Policy {
        Policy {
            fail_open: true,
            ..Policy::default()
        }
    }

    fn now() -> DateTime<Utc> {
        time("2024-03-01T09:00:00Z")
    }

    #[test]
    fn each_state_in_enforce_mode() {
        let p = enforce();
        for (state, eol, verdict) in [
            (
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
                Verdict::Deny,
            ),
            (
                State::Scheduled,
                Some("2025-04-30T00:00:00Z"),
                Verdict::Warn,
            ),
            (State::Superseded, None, Verdict::Warn),
            (State::Supported, None, Verdict::Pass),
            (State::Unknown, None, Verdict::Pass),
        ] {
            let j = p.judge(&status(state, eol), now());
            assert_eq!((j.state, j.verdict), (Some(state), verdict), "{state}");
            assert_eq!(j.denied_from, None);
        }
        // End-of-life without a date: denied at once.
        let j = p.judge(&status(State::EndOfLife, None), now());
        assert_eq!(j.verdict, Verdict::Deny);
    }

    #[test]
    fn judged_at_now_not_when_computed() {
        let p = enforce();
        let j = p.judge(
            &status(State::Scheduled, Some("2024-03-01T08:59:59Z")),
            now(),
        );
        assert_eq!(
            (j.state, j.verdict),
            (Some(State::EndOfLife), Verdict::Deny)
        );
        let j = p.judge(
            &status(State::EndOfLife, Some("2024-03-02T00:00:00Z")),
            now(),
        );
        assert_eq!(
            (j.state, j.verdict),
            (Some(State::Scheduled), Verdict::Warn)
        );
    }

    #[test]
    fn grace_period() {
        let p = Policy {
            grace_period: Duration::from_secs(7 * 24 * 3600),
            ..enforce()
        };
        let j = p.judge(
            &status(State::EndOfLife, Some("2024-02-28T09:00:00Z")),
            now(),
        );
        assert_eq!(j.verdict, Verdict::Warn);
        assert_eq!(j.denied_from, Some(time("2024-03-06T09:00:00Z")));
        // Exactly the grace period ago: denied.
        let j = p.judge(
            &status(State::EndOfLife, Some("2024-02-23T09:00:00Z")),
            now(),
        );
        assert_eq!(j.verdict, Verdict::Deny);
        // An absurd grace period never denies, and does not overflow.
        let forever = Policy {
            grace_period: Duration::MAX,
            ..enforce()
        };
        let j = forever.judge(
            &status(State::EndOfLife, Some("2024-02-28T09:00:00Z")),
            now(),
        );
        assert_eq!((j.verdict, j.denied_from), (Verdict::Warn, None));
    }

    #[test]
    fn failures_open_or_closed_and_modes() {
        assert_eq!(enforce().judge_failure().verdict, Verdict::Warn);
        let closed = Policy {
            fail_open: false,
            ..enforce()
        };
        assert_eq!(closed.judge_failure().verdict, Verdict::Deny);
        assert_eq!(closed.judge_failure().state, None);

        let all = [Verdict::Pass, Verdict::Warn, Verdict::Deny, Verdict::Exempt];
        let warned = |p: Policy| all.into_iter().filter(|v| p.warns(*v)).collect::<Vec<_>>();
        assert_eq!(warned(enforce()), [Verdict::Warn]);
        let warn = Policy {
            mode: Mode::Warn,
            ..closed
        };
        let audit = Policy {
            mode: Mode::Audit,
            ..closed
        };
        assert_eq!(warned(warn), [Verdict::Warn, Verdict::Deny]);
        assert!(warned(audit).is_empty());
        assert!(!closed.allows(all));
        assert!(closed.allows([Verdict::Pass, Verdict::Warn]));
        assert!(warn.allows(all) && audit.allows(all));

        assert!(enforce().admits_unreadable() && enforce().warns_unreadable());
        assert!(!closed.admits_unreadable() && !closed.warns_unreadable());
        assert!(warn.admits_unreadable() && warn.warns_unreadable());
        assert!(audit.admits_unreadable() && !audit.warns_unreadable());
    }

    #[test]
    fn an_image_already_running_is_warned_not_denied() {
        let j = enforce().judge(&status(State::EndOfLife, None), now());
        assert_eq!(j.already_running().verdict, Verdict::Warn);
        let closed = Policy {
            fail_open: false,
            ..enforce()
        };
        // A failed lookup stays denied.
        assert_eq!(
            closed.judge_failure().already_running().verdict,
            Verdict::Deny
        );
    }

    #[test]
    fn modes_parse_and_print() {
        for m in [Mode::Enforce, Mode::Warn, Mode::Audit] {
            assert_eq!(m.to_string().parse::<Mode>().unwrap(), m);
        }
        assert_eq!(
            "Enforce".parse::<Mode>().unwrap_err().to_string(),
            "unknown admission mode `Enforce` (expected enforce, warn or audit)"
        );
    }
}
