//! Dockerfile and Containerfile reader.
//!
//! Reads, as BuildKit's `frontend/dockerfile/parser` does: parser directives at the top
//! (`# syntax=` names an image, `# escape=` changes the line-continuation character for every
//! instruction after it; a directive may be indented and its key is in any case, and the first
//! line that is not a known directive ends them), instructions joined over continuations with
//! empty and comment lines inside them dropped, and heredoc bodies skipped. Image references are the image of
//! `FROM [--platform=…] image [AS name]`, `COPY --from=image` and `RUN --mount=…,from=image`, and
//! the `# syntax=` frontend. `$NAME`, `${NAME}` and `${NAME:-word}` in `FROM` take the defaults
//! of the `ARG`s declared before the first `FROM` (the only ones `FROM` sees), so a move edits
//! the `ARG` default's characters. Earlier stage names, `scratch` and stage indexes
//! (`--from=0`) are not images.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::text::{self, Line};
use super::{Found, Piece, parse_reference};

/// One instruction, joined over its continuation lines.
struct Logical {
    /// The joined text.
    text: String,
    /// The file offset of each byte of `text`.
    map: Vec<usize>,
}

impl Logical {
    /// The file range of `text[r]`, when its bytes are contiguous in the file (a continuation
    /// inside the range breaks it).
    fn file_span(&self, r: Range<usize>) -> Option<Range<usize>> {
        if r.is_empty() {
            let at = self.map.get(r.start).copied()?;
            return Some(at..at);
        }
        let start = self.map[r.start];
        let last = self.map[r.end - 1];
        (last - start == r.end - 1 - r.start).then_some(start..last + 1)
    }

    /// Whitespace-separated tokens; with `quotes`, `"…"` and `'…'` keep their spaces.
    fn tokens(&self, from: usize, quotes: bool) -> Vec<Range<usize>> {
        let b = self.text.as_bytes();
        let mut out = Vec::new();
        let mut i = from;
        while i < b.len() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let start = i;
            let mut quote = None;
            while i < b.len() {
                match (quote, b[i]) {
                    (None, c) if c.is_ascii_whitespace() => break,
                    (None, c @ (b'"' | b'\'')) if quotes => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    _ => {}
                }
                i += 1;
            }
            out.push(start..i);
        }
        out
    }
}

/// The value of a global `ARG`: its default as pieces, or `None` when it has none (or one this
/// reader cannot follow).
type Args = HashMap<String, Option<Vec<Piece>>>;

pub(crate) fn scan(text: &str, found: &mut Found) {
    let lines = text::lines(text);
    let mut escape = b'\\';
    let mut i = 0;

    // Parser directives: the leading `# key=value` lines, up to the first other line.
    while let Some(line) = lines.get(i) {
        let Some((key, value)) = directive(text, line) else {
            break;
        };
        match key.as_str() {
            "escape" => match &text[value.clone()] {
                "`" => escape = b'`',
                "\\" => escape = b'\\',
                other => found.note(
                    line.number,
                    format!("`# escape={other}` is not `\\` or `` ` ``; BuildKit rejects it"),
                ),
            },
            "syntax" => {
                let p = text::piece(text, value);
                found.text(line.number, vec![p]);
            }
            "check" => {}
            // BuildKit ends the directives at the first key it does not know.
            _ => break,
        }
        i += 1;
    }

    let mut args: Args = HashMap::new();
    let mut stages: HashSet<String> = HashSet::new();
    let mut seen_from = false;
    while i < lines.len() {
        if is_blank_or_comment(text, &lines[i]) {
            i += 1;
            continue;
        }
        let (logical, next) = join(text, &lines, i, escape);
        i = next;
        let words = logical.tokens(0, false);
        let Some(first) = words.first() else {
            continue;
        };
        let instruction = logical.text[first.clone()].to_ascii_uppercase();
        match instruction.as_str() {
            "ARG" if !seen_from => read_arg(text, &logical, first.end, &mut args),
            "FROM" => {
                seen_from = true;
                read_from(text, &logical, &words[1..], &args, &mut stages, found);
            }
            "COPY" | "ADD" | "RUN" => {
                for w in &words[1..] {
                    let word = &logical.text[w.clone()];
                    if !word.starts_with("--") {
                        break;
                    }
                    if let Some(v) = word.strip_prefix("--from=") {
                        let start = w.start + "--from=".len();
                        from_flag(text, &logical, start..start + v.len(), &stages, found);
                    } else if let Some(opts) = word.strip_prefix("--mount=") {
                        let mut at = w.start + "--mount=".len();
                        for opt in opts.split(',') {
                            if let Some(v) = opt.strip_prefix("from=") {
                                let start = at + "from=".len();
                                from_flag(text, &logical, start..start + v.len(), &stages, found);
                            }
                            at += opt.len() + 1;
                        }
                    }
                }
                i = skip_heredocs(text, &lines, i, &logical.text);
            }
            _ => {}
        }
    }
}

/// `# key=value` as a parser directive: the key lowercased and the value's file range. As
/// BuildKit reads one: leading whitespace before `#` is allowed, the key starts with a letter
/// and is alphanumeric, and the value is not empty.
fn directive(text: &str, line: &Line) -> Option<(String, Range<usize>)> {
    let content = &text[line.start..line.end];
    let indent = content.len() - content.trim_start().len();
    let body = content[indent..].strip_prefix('#')?;
    let eq = body.find('=')?;
    let key = body[..eq].trim();
    if !key.starts_with(|c: char| c.is_ascii_alphabetic())
        || !key.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let value = &body[eq + 1..];
    let start = line.start + indent + 1 + eq + 1 + (value.len() - value.trim_start().len());
    let len = value.trim().len();
    (len > 0).then(|| (key.to_ascii_lowercase(), start..start + len))
}

fn is_blank_or_comment(text: &str, line: &Line) -> bool {
    let t = text[line.start..line.end].trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Join the instruction starting at line `i` over its continuations; returns it and the index
/// of the line after it.
fn join(text: &str, lines: &[Line], mut i: usize, escape: u8) -> (Logical, usize) {
    let mut logical = Logical {
        text: String::new(),
        map: Vec::new(),
    };
    loop {
        let line = lines[i];
        let content = &text[line.start..line.end];
        let trimmed = content.trim_end();
        let continued = trimmed.as_bytes().last() == Some(&escape);
        let keep = if continued {
            &trimmed[..trimmed.len() - 1]
        } else {
            content
        };
        logical.text.push_str(keep);
        logical.map.extend(line.start..line.start + keep.len());
        i += 1;
        if !continued {
            break;
        }
        while i < lines.len() && is_blank_or_comment(text, &lines[i]) {
            i += 1;
        }
        if i >= lines.len() {
            break;
        }
    }
    (logical, i)
}

/// `ARG NAME[=default] …` before the first `FROM`.
fn read_arg(text: &str, logical: &Logical, from: usize, args: &mut Args) {
    for t in logical.tokens(from, true) {
        let word = &logical.text[t.clone()];
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        let value = value.and_then(|v| {
            let start = t.start + name.len() + 1;
            let mut r = start..start + v.len();
            if v.len() >= 2
                && (v.starts_with('"') && v.ends_with('"')
                    || v.starts_with('\'') && v.ends_with('\''))
            {
                r = r.start + 1..r.end - 1;
            }
            let span = logical.file_span(r)?;
            let lookup = |n: &str| args.get(n).cloned().flatten();
            text::expand(text, span, &lookup).ok()
        });
        args.insert(name.to_string(), value);
    }
}

/// `FROM [--flag=…]… image [AS name]`.
fn read_from(
    text: &str,
    logical: &Logical,
    words: &[Range<usize>],
    args: &Args,
    stages: &mut HashSet<String>,
    found: &mut Found,
) {
    let mut rest = words
        .iter()
        .skip_while(|w| logical.text[(*w).clone()].starts_with("--"));
    let Some(image) = rest.next() else {
        return;
    };
    let alias = match (rest.next(), rest.next()) {
        (Some(a), Some(name)) if logical.text[a.clone()].eq_ignore_ascii_case("as") => {
            Some(logical.text[name.clone()].to_ascii_lowercase())
        }
        _ => None,
    };
    let line = text::line_of(text, logical.map[image.start]);
    let raw = &logical.text[image.clone()];
    match logical.file_span(image.clone()) {
        None => found.note(
            line,
            format!("`FROM {raw}` is split over a line continuation; it is not updated"),
        ),
        Some(span) => {
            let lookup = |n: &str| args.get(n).cloned().flatten();
            match text::expand(text, span, &lookup) {
                Err(e) => found.note(
                    line,
                    format!("cannot read the image of `FROM {raw}`: {}", e.describe()),
                ),
                Ok(pieces) => {
                    let value: String = pieces.iter().map(|p| p.text.as_str()).collect();
                    let lower = value.to_ascii_lowercase();
                    if lower == "scratch" || stages.contains(&lower) {
                        // not an image
                    } else if parse_reference(&value).is_none() {
                        found.note(line, not_a_reference(&value));
                    } else {
                        found.text(line, pieces);
                    }
                }
            }
        }
    }
    if let Some(alias) = alias {
        stages.insert(alias);
    }
}

/// The value of `--from=` (COPY, ADD) or `from=` (RUN --mount): an image unless it is a stage
/// name, a stage index or a variable.
fn from_flag(
    text: &str,
    logical: &Logical,
    r: Range<usize>,
    stages: &HashSet<String>,
    found: &mut Found,
) {
    let value = &logical.text[r.clone()];
    if value.is_empty()
        || value.bytes().all(|c| c.is_ascii_digit())
        || value.contains('$')
        || stages.contains(&value.to_ascii_lowercase())
    {
        return;
    }
    let line = text::line_of(text, logical.map[r.start]);
    if parse_reference(value).is_none() {
        found.note(line, not_a_reference(value));
        return;
    }
    match logical.file_span(r) {
        Some(span) => found.text(line, vec![text::piece(text, span)]),
        None => found.note(
            line,
            format!("`--from={value}` is split over a line continuation; it is not updated"),
        ),
    }
}

/// The note for an image operand (`FROM`, `--from=`, `from=`) that is not a reference.
fn not_a_reference(value: &str) -> String {
    format!("`{value}` is not an image reference")
}

/// Skip the bodies of the heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`) that `instruction` opens,
/// starting at line `i`; returns the line after the last body.
fn skip_heredocs(text: &str, lines: &[Line], mut i: usize, instruction: &str) -> usize {
    let mut rest = instruction;
    while let Some(at) = rest.find("<<") {
        let mut m = &rest[at + 2..];
        let strip_tabs = m.starts_with('-');
        if strip_tabs {
            m = &m[1..];
        }
        let quote = m.chars().next().filter(|c| *c == '"' || *c == '\'');
        if let Some(q) = quote {
            m = &m[q.len_utf8()..];
        }
        let word_len = m
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        let word = &m[..word_len];
        rest = &m[word_len..];
        if word.is_empty() {
            continue;
        }
        while i < lines.len() {
            let content = &text[lines[i].start..lines[i].end];
            let content = if strip_tabs {
                content.trim_start_matches('\t')
            } else {
                content
            };
            i += 1;
            if content == word {
                break;
            }
        }
    }
    i
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::{FileKind, Shape, scan};
    use super::text;

    /// (line, written, the text at each piece) of every occurrence.
    fn refs(text: &str) -> Vec<(usize, String, Vec<String>)> {
        let s = scan(FileKind::Dockerfile, text);
        s.occurrences
            .iter()
            .map(|o| {
                let Shape::Text(p) = &o.shape else {
                    panic!("not text")
                };
                for piece in p {
                    assert_eq!(&text[piece.span.clone()], piece.text);
                }
                (
                    o.line,
                    o.written.clone(),
                    p.iter().map(|p| p.text.clone()).collect(),
                )
            })
            .collect()
    }

    fn written(text: &str) -> Vec<String> {
        refs(text).into_iter().map(|r| r.1).collect()
    }

    #[test]
    fn from_with_platform_and_stages() {
        let t = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n\
                 RUN go build\n\
                 FROM build AS test\n\
                 FROM Build\n\
                 from scratch\n\
                 FROM registry.example.com/app:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000 as final\n\
                 COPY --from=build /a /b\n\
                 COPY --from=0 /a /b\n\
                 COPY --from=nginx:1.25 /etc/nginx /etc/nginx\n\
                 RUN --mount=type=bind,from=busybox:1.36,target=/bb true\n\
                 RUN --mount=type=cache,from=test,target=/x true\n";
        let r = refs(t);
        assert_eq!(
            r.iter().map(|x| (x.0, x.1.as_str())).collect::<Vec<_>>(),
            vec![
                (1, "golang:1.22"),
                (
                    6,
                    "registry.example.com/app:1.0@sha256:0000000000000000000000000000000000000000000000000000000000000000"
                ),
                (9, "nginx:1.25"),
                (10, "busybox:1.36"),
            ]
        );
    }

    #[test]
    fn arg_defaults_are_where_the_characters_are() {
        let t = "ARG BASE=app:1.0\n\
                 ARG REG=\"registry.example.com\"\n\
                 ARG TAG\n\
                 ARG V=1.0 DIGEST=sha256:0000000000000000000000000000000000000000000000000000000000000000\n\
                 FROM ${BASE}\n\
                 ARG LATER=x:1\n\
                 FROM $REG/tool:${V}@${DIGEST}\n\
                 FROM ${TAG:-alpine:3.19}\n\
                 FROM app:${TAG}\n\
                 FROM ${LATER}\n";
        let s = scan(FileKind::Dockerfile, t);
        let r = refs(t);
        assert_eq!(r[0], (5, "app:1.0".into(), vec!["app:1.0".into()]));
        let span = match &s.occurrences[0].shape {
            Shape::Text(p) => p[0].span.clone(),
            Shape::Fields { .. } => unreachable!(),
        };
        assert_eq!(span, 9..16, "the ARG default's characters");
        assert_eq!(
            r[1].2,
            vec![
                "registry.example.com",
                "/tool:",
                "1.0",
                "@",
                "sha256:0000000000000000000000000000000000000000000000000000000000000000"
            ]
        );
        assert_eq!(r[2].1, "alpine:3.19");
        assert_eq!(r.len(), 3);
        // `ARG TAG` has no default; a stage ARG is not visible to FROM.
        assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
        assert_eq!(s.notes[0].line, 9);
        assert!(s.notes[0].message.contains("`$TAG`"), "{:?}", s.notes);
        assert_eq!(s.notes[1].line, 10);
    }

    #[test]
    fn continuations_comments_directives_and_heredocs() {
        let t = "# syntax=docker/dockerfile:1.7\n\
                 # escape=`\n\
                 \n\
                 # FROM commented:1\n\
                 FROM `\n\
                 # a comment inside\n\
                 \x20 alpine:3.19 `\n\
                 \x20 AS base\n\
                 RUN <<EOF\n\
                 FROM inside-heredoc:1\n\
                 EOF\n\
                 RUN echo `\n\
                 FROM not-an-instruction:1\n\
                 FROM base\n";
        let r = refs(t);
        assert_eq!(
            r.iter().map(|x| (x.0, x.1.as_str())).collect::<Vec<_>>(),
            vec![(1, "docker/dockerfile:1.7"), (7, "alpine:3.19")]
        );
    }

    #[test]
    fn heredoc_forms() {
        let t = "FROM a:1 AS a\n\
                 RUN <<-\"EOT\" bash\n\
                 \tFROM in-body:1\n\
                 \tEOT\n\
                 COPY <<'ONE' <<TWO /dst/\n\
                 FROM one:1\n\
                 ONE\n\
                 FROM two:1\n\
                 TWO\n\
                 FROM b:1\n";
        assert_eq!(written(t), vec!["a:1", "b:1"]);
    }

    #[test]
    fn backslash_continuation_crlf_and_bom() {
        let t = "\u{feff}FROM \\\r\n  node:20 AS a\r\nFROM a\r\n";
        let r = refs(t);
        assert_eq!(r, vec![(2, "node:20".into(), vec!["node:20".into()])]);
    }

    #[test]
    fn a_reference_split_by_a_continuation_is_noted() {
        let t = "FROM node:\\\n20\n";
        let s = scan(FileKind::Dockerfile, t);
        assert!(s.occurrences.is_empty());
        assert_eq!(s.notes.len(), 1);
    }

    #[test]
    fn directives_stop_at_the_first_other_line() {
        assert_eq!(
            written("FROM a:1\n# syntax=docker/dockerfile:1\n"),
            vec!["a:1"]
        );
        assert_eq!(
            written("# syntax = docker/dockerfile:1\nFROM a:1\n"),
            vec!["docker/dockerfile:1", "a:1"]
        );
    }

    #[test]
    fn not_references_are_noted_for_from_only() {
        let s = scan(FileKind::Dockerfile, "FROM Not_An:Image!\n");
        assert!(s.occurrences.is_empty());
        assert_eq!(s.notes.len(), 1);
    }

    /// Issue 21: directives as BuildKit reads them — indented, in any case, and the escape
    /// they set used by every continuation after them.
    #[test]
    fn directives_indented_in_any_case_set_the_escape_for_every_continuation() {
        let t = "  # EsCaPe=`\n\
                 \t#SYNTAX = docker/dockerfile:1.7\n\
                 \n\
                 ARG `\n\
                 \x20 BASE=alpine:3.19\n\
                 FROM $BASE AS one\n\
                 RUN echo a \\\n\
                 FROM not-continued:1\n\
                 COPY --from=`\n\
                 \x20 one /a /b\n\
                 FROM `\n\
                 \x20 node:20\n";
        let r = refs(t);
        assert_eq!(
            r.iter().map(|x| (x.0, x.1.as_str())).collect::<Vec<_>>(),
            vec![
                (2, "docker/dockerfile:1.7"),
                (6, "alpine:3.19"),
                (8, "not-continued:1"),
                (12, "node:20")
            ]
        );
    }

    /// Issue 21: the first line that is not a known directive ends them, as in BuildKit.
    #[test]
    fn an_unknown_directive_ends_the_directives() {
        assert_eq!(
            written("# foo=bar\n# syntax=docker/dockerfile:1\nFROM a:1\n"),
            vec!["a:1"]
        );
        assert_eq!(
            written("# check=skip=all\n  # syntax=docker/dockerfile:1\nFROM a:1\n"),
            vec!["docker/dockerfile:1", "a:1"]
        );
        let s = scan(FileKind::Dockerfile, "# escape=/\nFROM a:1\n");
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    }

    /// Issue 21: `ARG` and `FROM` continue over empty continuation lines and comment lines.
    #[test]
    fn arg_and_from_continue_over_empty_and_comment_lines() {
        let t = "ARG \\\n\
                 \n\
                 \x20   \n\
                 # the base image\n\
                 \x20 # indented comment\n\
                 \x20 BASE=python:3.12-slim \\\n\
                 \n\
                 \x20 TAG=1.0\n\
                 FROM \\\n\
                 # comment\n\
                 \n\
                 \x20 ${BASE} \\\n\
                 \x20 AS base\n\
                 FROM --platform=linux/amd64 \\\n\
                 \x20\x20\n\
                 \x20 app:${TAG}\n";
        let r = refs(t);
        assert_eq!(
            r.iter().map(|x| (x.0, x.1.as_str())).collect::<Vec<_>>(),
            vec![(12, "python:3.12-slim"), (16, "app:1.0")]
        );
        let s = scan(FileKind::Dockerfile, t);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        let Shape::Text(p) = &s.occurrences[0].shape else {
            panic!("not text")
        };
        assert_eq!(
            text::line_of(t, p[0].span.start),
            6,
            "the ARG default's characters"
        );
    }

    /// Issue 21: an invalid reference in `COPY --from` or `RUN --mount=from=` is noted as it
    /// is in `FROM`.
    #[test]
    fn invalid_references_are_noted_in_from_flags_as_in_from() {
        let t = "FROM Not_An:Image!\n\
                 FROM alpine:3.19 AS base\n\
                 COPY --from=Not_An:Image! /a /b\n\
                 RUN --mount=type=bind,from=UPPER/Case:1,target=/x true\n\
                 COPY --from=BASE /a /b\n";
        let s = scan(FileKind::Dockerfile, t);
        assert_eq!(written(t), vec!["alpine:3.19"]);
        let notes: Vec<_> = s
            .notes
            .iter()
            .map(|n| (n.line, n.message.as_str()))
            .collect();
        assert_eq!(
            notes,
            vec![
                (1, "`Not_An:Image!` is not an image reference"),
                (3, "`Not_An:Image!` is not an image reference"),
                (4, "`UPPER/Case:1` is not an image reference"),
            ]
        );
    }
}
