//! The two dates of a lifecycle (issue 18, DESIGN §8.2): end-of-support, from which an image
//! gets no more fixes (warned, still admitted), then end-of-life, from which it must not run.
//! Which state the dates give at an instant, and how many days are left until the next one.
//! Pure; the one home of these rules for the decision ([`super::decide`]) and for a status
//! judged again later ([`crate::verdict::state_at`]).

use chrono::{DateTime, Utc};

use super::types::State;

/// The state the dates give at `at`: `end-of-life` once end-of-life has passed, else
/// `end-of-support` once end-of-support has passed, else `scheduled` while either is ahead;
/// `None` without dates (the state is then the lineage's to decide).
pub fn state(
    end_of_support: Option<DateTime<Utc>>,
    end_of_life: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Option<State> {
    if end_of_life.is_some_and(|eol| eol <= at) {
        Some(State::EndOfLife)
    } else if end_of_support.is_some_and(|eos| eos <= at) {
        Some(State::EndOfSupport)
    } else if end_of_life.is_some() || end_of_support.is_some() {
        Some(State::Scheduled)
    } else {
        None
    }
}

/// Whole days (rounded down) from `at` until the next date still ahead: end-of-support while
/// it is ahead, else end-of-life; `None` when neither is ahead or end-of-life has passed.
/// `0` means less than a day.
pub fn days_left(
    end_of_support: Option<DateTime<Utc>>,
    end_of_life: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Option<i64> {
    if end_of_life.is_some_and(|eol| eol <= at) {
        return None;
    }
    [end_of_support, end_of_life]
        .into_iter()
        .flatten()
        .filter(|t| *t > at)
        .min()
        .map(|next| (next - at).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::at;

    #[test]
    fn the_timeline_end_of_support_then_end_of_life() {
        let eos = Some(at("2024-03-01T00:00:00Z"));
        let eol = Some(at("2024-04-01T00:00:00Z"));
        let cases = [
            ("2024-01-01T00:00:00Z", State::Scheduled, Some(60)),
            ("2024-02-29T23:59:59Z", State::Scheduled, Some(0)),
            ("2024-03-01T00:00:00Z", State::EndOfSupport, Some(31)),
            ("2024-03-31T12:00:00Z", State::EndOfSupport, Some(0)),
            ("2024-04-01T00:00:00Z", State::EndOfLife, None),
        ];
        for (when, expected, days) in cases {
            assert_eq!(state(eos, eol, at(when)), Some(expected), "{when}");
            assert_eq!(days_left(eos, eol, at(when)), days, "{when}");
        }
    }

    #[test]
    fn one_date_alone_and_none() {
        let t = at("2024-03-01T00:00:00Z");
        let before = at("2024-02-01T00:00:00Z");
        assert_eq!(state(Some(t), None, before), Some(State::Scheduled));
        assert_eq!(days_left(Some(t), None, before), Some(29));
        assert_eq!(state(Some(t), None, t), Some(State::EndOfSupport));
        assert_eq!(days_left(Some(t), None, t), None);
        assert_eq!(state(None, Some(t), before), Some(State::Scheduled));
        assert_eq!(state(None, Some(t), t), Some(State::EndOfLife));
        assert_eq!(state(None, None, t), None);
        assert_eq!(days_left(None, None, t), None);
        // An end-of-support after end-of-life (image-spec #903's order): end-of-life wins.
        let later = at("2025-01-01T00:00:00Z");
        assert_eq!(state(Some(later), Some(t), t), Some(State::EndOfLife));
        assert_eq!(days_left(Some(later), Some(t), t), None);
    }
}
