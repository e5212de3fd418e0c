//! Text helpers the readers share: physical lines with byte offsets, and variable expansion
//! that keeps track of where each character of the result comes from.

use std::ops::Range;

use super::Piece;

/// One physical line of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    /// Byte offset of its first character (after a BOM on the first line).
    pub(crate) start: usize,
    /// Byte offset just past its last character, before `\r\n` or `\n`.
    pub(crate) end: usize,
    /// 1-based line number.
    pub(crate) number: usize,
}

/// The physical lines of `text`; a UTF-8 BOM is not part of the first line.
pub(crate) fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let bytes = text.as_bytes();
    let mut number = 1;
    while start <= bytes.len() {
        let nl = bytes[start..].iter().position(|&b| b == b'\n');
        let (end, next) = match nl {
            Some(i) => (start + i, start + i + 1),
            None => (bytes.len(), bytes.len() + 1),
        };
        let end = if end > start && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        if nl.is_none() && start == bytes.len() && start > 0 {
            // no line after a final newline
            break;
        }
        out.push(Line { start, end, number });
        number += 1;
        start = next;
    }
    out
}

/// The 1-based line number of byte `offset`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let upto = offset.min(text.len());
    text.as_bytes()[..upto]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A piece of `text` at `span`.
pub(crate) fn piece(text: &str, span: Range<usize>) -> Piece {
    Piece {
        text: text[span.clone()].to_string(),
        span,
    }
}

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unexpanded {
    /// `$NAME` has no value here.
    Unset(String),
    /// A form this reader does not follow (`${A:+x}`, `${A?err}`, an unclosed `${`).
    Unsupported(String),
}

impl Unexpanded {
    /// A lowercase sentence fragment for a note.
    pub(crate) fn describe(&self) -> String {
        match self {
            Unexpanded::Unset(name) => format!("`${name}` has no default here"),
            Unexpanded::Unsupported(form) => format!("`{form}` is not followed"),
        }
    }
}

/// Expand `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME-word}` in `raw`, which sits at byte
/// `at` of `text`. `value(name)` gives a variable's value as pieces (`None`: unset). The result
/// is the expanded string as pieces: the literal runs of `raw` and the variables' pieces, so an
/// edit of the result can be mapped back to the file.
pub(crate) fn expand(
    text: &str,
    raw: Range<usize>,
    value: &dyn Fn(&str) -> Option<Vec<Piece>>,
) -> Result<Vec<Piece>, Unexpanded> {
    let s = &text[raw.clone()];
    let at = raw.start;
    let b = s.as_bytes();
    let mut out: Vec<Piece> = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    let push_literal = |out: &mut Vec<Piece>, from: usize, to: usize| {
        if from < to {
            out.push(piece(text, at + from..at + to));
        }
    };
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        push_literal(&mut out, literal_start, i);
        if b.get(i + 1) == Some(&b'{') {
            let close = s[i + 2..]
                .find('}')
                .map(|j| i + 2 + j)
                .ok_or_else(|| Unexpanded::Unsupported(s[i..].to_string()))?;
            let inner = &s[i + 2..close];
            let name_len = inner
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            let name = &inner[..name_len];
            let rest = &inner[name_len..];
            if name.is_empty() {
                return Err(Unexpanded::Unsupported(s[i..=close].to_string()));
            }
            let word_at = i + 2 + name_len;
            let pieces = match rest {
                "" => value(name).ok_or_else(|| Unexpanded::Unset(name.to_string()))?,
                _ if rest.starts_with(":-") || rest.starts_with('-') => {
                    let skip = if rest.starts_with(":-") { 2 } else { 1 };
                    let set = value(name);
                    let use_word = match &set {
                        None => true,
                        Some(p) => skip == 2 && p.iter().all(|p| p.text.is_empty()),
                    };
                    match set {
                        Some(p) if !use_word => p,
                        _ => expand(text, at + word_at + skip..at + close, value)?,
                    }
                }
                _ => return Err(Unexpanded::Unsupported(s[i..=close].to_string())),
            };
            out.extend(pieces);
            i = close + 1;
        } else {
            let name_len = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if name_len == 0 {
                return Err(Unexpanded::Unsupported("$".to_string()));
            }
            let name = &s[i + 1..i + 1 + name_len];
            out.extend(value(name).ok_or_else(|| Unexpanded::Unset(name.to_string()))?);
            i += 1 + name_len;
        }
        literal_start = i;
    }
    push_literal(&mut out, literal_start, b.len());
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lines_keep_offsets_crlf_and_bom() {
        let t = "\u{feff}a\r\nbc\n\nd";
        let l = lines(t);
        assert_eq!(l.len(), 4);
        assert_eq!(&t[l[0].start..l[0].end], "a");
        assert_eq!(&t[l[1].start..l[1].end], "bc");
        assert_eq!(&t[l[2].start..l[2].end], "");
        assert_eq!(&t[l[3].start..l[3].end], "d");
        assert_eq!(lines("a\n").len(), 1);
        assert_eq!(lines("").len(), 1);
        assert_eq!(line_of(t, l[3].start), 4);
    }

    fn texts(p: &[Piece]) -> Vec<&str> {
        p.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn expansion_maps_every_character_back() {
        let text = "XX app:${TAG} ${REG}/x ${NOPE:-d:1} ${T:-z} $TAG";
        let tag = Piece {
            span: 0..2,
            text: "XX".into(),
        };
        let value = |n: &str| match n {
            "TAG" => Some(vec![tag.clone()]),
            "T" => Some(vec![]),
            _ => None,
        };
        let all = 3..text.len();
        let err = expand(text, all, &value).unwrap_err();
        assert_eq!(err, Unexpanded::Unset("REG".into()));

        let p = expand(text, 3..13, &value).unwrap();
        assert_eq!(texts(&p), ["app:", "XX"]);
        let p = expand(text, 23..35, &value).unwrap();
        assert_eq!(texts(&p), ["d:1"]);
        assert_eq!(&text[p[0].span.clone()], "d:1");
        // `:-` also applies when the value is empty.
        let p = expand(text, 36..43, &value).unwrap();
        assert_eq!(texts(&p), ["z"]);
        let p = expand(text, 44..48, &value).unwrap();
        assert_eq!(texts(&p), ["XX"]);
        assert!(matches!(
            expand("${A:+x}", 0..7, &value),
            Err(Unexpanded::Unsupported(_))
        ));
        assert!(matches!(
            expand("${A", 0..3, &value),
            Err(Unexpanded::Unsupported(_))
        ));
    }
}
