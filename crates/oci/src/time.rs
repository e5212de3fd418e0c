//! Lenient reading and strict writing of lifecycle times (DESIGN §3).
//!
//! Real annotations carry RFC 3339 with up to 9 fractional digits, the ISO 8601 basic form
//! (`20230710T00:00-08:00`, as the original lifecycle write-up uses), or a bare date
//! (Microsoft's `2024-11-12`). All of them are read; lineage always writes RFC 3339 in UTC.

use chrono::{
    DateTime, Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, SubsecRound as _,
    TimeZone, Timelike as _, Utc,
};

/// Why a string is not a time lineage can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time `{input}`: {reason} (expected RFC 3339 like `2023-07-10T08:00:00Z`, `20230710T00:00-08:00` or a date like `2023-07-10`)"
)]
pub struct TimeError {
    /// The text that failed.
    pub input: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// Parse a lifecycle time leniently. A time without an offset, and a bare date (midnight), are
/// taken as UTC.
pub fn parse_lenient(input: &str) -> Result<DateTime<Utc>, TimeError> {
    let err = |reason| TimeError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim();
    let mut cur = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };

    let year = cur
        .digits(4)
        .ok_or_else(|| err("expected a four-digit year"))?;
    let extended = cur.eat(b'-');
    let month = cur
        .digits(2)
        .ok_or_else(|| err("expected a two-digit month"))?;
    if extended && !cur.eat(b'-') {
        return Err(err("expected `-` between month and day"));
    }
    let day = cur
        .digits(2)
        .ok_or_else(|| err("expected a two-digit day"))?;
    let date =
        NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| err("no such date"))?;

    if cur.done() {
        return Ok(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)));
    }
    if !(cur.eat(b'T') || cur.eat(b't') || cur.eat(b' ')) {
        return Err(err("expected `T` between date and time"));
    }
    let hour = cur
        .digits(2)
        .ok_or_else(|| err("expected a two-digit hour"))?;
    let colon = cur.eat(b':');
    let minute = cur
        .digits(2)
        .ok_or_else(|| err("expected two-digit minutes"))?;
    let mut second = 0;
    let mut nanos = 0u32;
    let has_seconds = if colon {
        cur.eat(b':')
    } else {
        cur.peek_digit()
    };
    if has_seconds {
        second = cur
            .digits(2)
            .ok_or_else(|| err("expected two-digit seconds"))?;
        if cur.eat(b'.') || cur.eat(b',') {
            let start = cur.pos;
            while cur.peek_digit() {
                cur.pos += 1;
            }
            let frac = &s[start..cur.pos];
            if frac.is_empty() || frac.len() > 9 {
                return Err(err("expected 1 to 9 fractional digits"));
            }
            let padded = format!("{frac:0<9}");
            nanos = padded.parse().map_err(|_| err("invalid fraction"))?;
        }
    }
    // A leap second (`:60`) is read as the last nanosecond chrono can express in that minute.
    let (second, nanos) = if second == 60 {
        (59, 1_999_999_999)
    } else {
        (second, nanos)
    };
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| err("no such time of day"))?;
    let local = NaiveDateTime::new(date, time);

    let offset_secs: i64 = if cur.done() || cur.eat(b'Z') || cur.eat(b'z') {
        0
    } else {
        let sign = if cur.eat(b'+') {
            1
        } else if cur.eat(b'-') {
            -1
        } else {
            return Err(err("expected `Z` or an offset like `+02:00`"));
        };
        let oh = cur
            .digits(2)
            .ok_or_else(|| err("expected a two-digit offset hour"))?;
        let om = if cur.done() {
            0
        } else {
            cur.eat(b':');
            cur.digits(2)
                .ok_or_else(|| err("expected two-digit offset minutes"))?
        };
        if oh > 23 || om > 59 {
            return Err(err("offset out of range"));
        }
        sign * i64::from(oh * 3600 + om * 60)
    };
    if !cur.done() {
        return Err(err("unexpected text after the time"));
    }
    let utc = local - chrono::Duration::seconds(offset_secs);
    Ok(Utc.from_utc_datetime(&utc))
}

/// The current time to the second: the one clock for the times lineage records (`created`)
/// and evaluates at. Fractions of a second mean nothing to a lifecycle, and printed they
/// break table columns (`2026-12-06T18:33:05.664446177Z`).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Format as RFC 3339 in UTC with a `Z`, with fractional seconds only when there are any.
pub fn format_rfc3339(t: &DateTime<Utc>) -> String {
    let mut buf = [0; WHOLE_SECONDS_LEN];
    match whole_seconds(t, &mut buf) {
        Some(text) => text.to_string(),
        None => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    }
}

/// serde's `serialize_with` for a time: the string [`format_rfc3339`] gives.
pub fn serialize_rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; WHOLE_SECONDS_LEN];
    match whole_seconds(t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// The length of `YYYY-MM-DDTHH:MM:SSZ`.
const WHOLE_SECONDS_LEN: usize = 20;

/// `t` as [`format_rfc3339`] writes it, `YYYY-MM-DDTHH:MM:SSZ`, written into `buf`, when it
/// is a whole second of a four-digit year (lineage's own times always are, see [`now`]);
/// `None` otherwise. Without the formatting machinery: every status answer writes its times.
fn whole_seconds<'b>(t: &DateTime<Utc>, buf: &'b mut [u8; WHOLE_SECONDS_LEN]) -> Option<&'b str> {
    // Read once: each accessor of a `DateTime` works out the local time again.
    let utc = t.naive_utc();
    let (date, time) = (utc.date(), utc.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    if time.nanosecond() != 0 {
        return None;
    }
    let seconds = time.num_seconds_from_midnight();
    *buf = *b"0000-00-00T00:00:00Z";
    let fields = [
        (0, 4, year),
        (5, 2, date.month()),
        (8, 2, date.day()),
        (11, 2, seconds / 3600),
        (14, 2, seconds / 60 % 60),
        (17, 2, seconds % 60),
    ];
    for (start, width, mut value) in fields {
        for digit in buf[start..start + width].iter_mut().rev() {
            // A digit: `value % 10` is below 10.
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buf).ok()
}

/// serde's `serialize_with` for an optional time: [`serialize_rfc3339`], or `null`.
pub fn serialize_rfc3339_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_rfc3339(t, s),
        None => s.serialize_none(),
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let part = self.s.get(self.pos..self.pos + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(part.iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn peek_digit(&self) -> bool {
        self.s.get(self.pos).is_some_and(u8::is_ascii_digit)
    }

    fn done(&self) -> bool {
        self.pos == self.s.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The short way writes what chrono writes, and leaves what it cannot write to chrono.
    #[test]
    fn whole_seconds_are_written_as_chrono_writes_them() {
        let mut buf = [0; WHOLE_SECONDS_LEN];
        for text in [
            "1970-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "0999-02-28T09:08:07Z",
            "2023-07-10T08:00:00Z",
            "2024-02-29T23:59:59Z",
            "9999-12-31T23:59:59Z",
        ] {
            let t = parse_lenient(text).unwrap();
            assert_eq!(whole_seconds(&t, &mut buf), Some(text));
            assert_eq!(t.to_rfc3339_opts(SecondsFormat::AutoSi, true), text);
            assert_eq!(format_rfc3339(&t), text);
            let json = serde_json::to_string(&Wrapped(t)).unwrap();
            assert_eq!(json, format!("\"{text}\""));
        }
        let leap = parse_lenient("2016-12-31T23:59:60Z").unwrap();
        let fraction = parse_lenient("2023-07-10T08:00:00.5Z").unwrap();
        let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        let before = Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap();
        for t in [leap, fraction, far, before] {
            assert_eq!(whole_seconds(&t, &mut buf), None, "{t:?}");
            assert_eq!(
                format_rfc3339(&t),
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            );
        }
        assert_eq!(format_rfc3339(&fraction), "2023-07-10T08:00:00.500Z");
    }

    /// A time serialised with [`serialize_rfc3339`].
    #[derive(serde::Serialize)]
    struct Wrapped(#[serde(serialize_with = "serialize_rfc3339")] DateTime<Utc>);

    fn utc(s: &str) -> String {
        format_rfc3339(&parse_lenient(s).unwrap())
    }

    #[test]
    fn reads_every_form() {
        assert_eq!(utc("2023-07-10T00:00:00-08:00"), "2023-07-10T08:00:00Z");
        assert_eq!(utc("2023-07-07T00:00:00-08:00"), "2023-07-07T08:00:00Z");
        assert_eq!(utc("20230710T00:00-08:00"), "2023-07-10T08:00:00Z");
        assert_eq!(utc("20230710T0000-0800"), "2023-07-10T08:00:00Z");
        assert_eq!(utc("2024-11-12"), "2024-11-12T00:00:00Z");
        assert_eq!(utc("20241112"), "2024-11-12T00:00:00Z");
        assert_eq!(utc("2024-11-12T10:11:12Z"), "2024-11-12T10:11:12Z");
        assert_eq!(utc("2024-11-12t10:11:12z"), "2024-11-12T10:11:12Z");
        assert_eq!(utc("2024-11-12 10:11:12+01:30"), "2024-11-12T08:41:12Z");
        assert_eq!(
            utc("2024-11-12T10:11:12.1234567Z"),
            "2024-11-12T10:11:12.123456700Z"
        );
        assert_eq!(
            utc("2024-11-12T10:11:12.123456789+00:00"),
            "2024-11-12T10:11:12.123456789Z"
        );
        assert_eq!(utc("2024-11-12T10:11:12.5Z"), "2024-11-12T10:11:12.500Z");
        assert_eq!(utc("2024-11-12T10:11"), "2024-11-12T10:11:00Z");
        assert_eq!(utc(" 2024-11-12T10:11:12+02 "), "2024-11-12T08:11:12Z");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "2024-11-12T25:00:00Z",
            "2024-11-12T10:11:12.Z",
            "2024-11-12T10:11:12.1234567890Z",
            "2024-11-12T10:11:12+24:00",
            "2024-11-12T10:11:12Zjunk",
            "2024-1112",
            "2024-11-12X10:11",
        ] {
            assert!(parse_lenient(bad).is_err(), "{bad:?} should fail");
        }
        let e = parse_lenient("2024-02-30").unwrap_err();
        assert!(e.to_string().contains("`2024-02-30`"));
    }

    #[test]
    fn writes_what_it_reads() {
        for s in [
            "2023-07-10T08:00:00Z",
            "1999-12-31T23:59:59.250Z",
            "2024-11-12T10:11:12.123456789Z",
        ] {
            assert_eq!(utc(s), s);
        }
    }

    // Issue 22 item 14: recorded times had nanoseconds.
    #[test]
    fn now_is_whole_seconds() {
        let t = now();
        assert_eq!(t.timestamp_subsec_nanos(), 0);
        assert!(!format_rfc3339(&t).contains('.'), "{}", format_rfc3339(&t));
        assert!((Utc::now() - t).num_seconds() < 60);
    }
}
