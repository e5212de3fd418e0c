//! A tolerant, line-based reader for the block YAML that compose files, Kubernetes manifests,
//! Helm values, kustomizations and workflows are written in. It builds a small tree whose scalars keep the byte
//! range of their characters, so an edit splices exactly those characters and leaves comments,
//! quotes, indentation, order and line endings alone.
//!
//! Read: documents (`---`, `...`), block mappings (plain and quoted keys), block sequences
//! (including `- key: value` items and a sequence at its key's indentation), plain,
//! single-quoted and double-quoted scalars on one line, comments, anchors and tags before a
//! value. Kept opaque ([`Node::Other`]): aliases, block scalars (`|`, `>`), flow collections
//! (`[…]`, `{…}`), multi-line scalars and complex keys. A line that fits nowhere (a template
//! directive such as `{{- if … }}`) is skipped, never an error: the reader looks for image
//! references, it does not validate YAML.

use std::ops::Range;

use super::text::{self, Line};

/// How deep collections may nest before the rest is kept opaque.
const MAX_DEPTH: usize = 128;

/// A node of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A block mapping, in file order.
    Map(Vec<Entry>),
    /// A block sequence.
    Seq(Vec<Node>),
    /// A scalar on one line.
    Scalar(Scalar),
    /// Anything else (null, alias, block scalar, flow collection, multi-line scalar).
    Other,
}

impl Node {
    /// The value of `key` when this is a mapping that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// The scalar value of `key`.
    pub(crate) fn scalar(&self, key: &str) -> Option<&Scalar> {
        match self.get(key) {
            Some(Node::Scalar(s)) => Some(s),
            _ => None,
        }
    }

    /// The mapping's entries (none for other nodes).
    pub(crate) fn entries(&self) -> &[Entry] {
        match self {
            Node::Map(e) => e,
            _ => &[],
        }
    }

    /// Visit this node and every node under it, mapping entries with their key.
    pub(crate) fn walk<'a>(&'a self, f: &mut dyn FnMut(Option<&'a str>, &'a Node)) {
        match self {
            Node::Map(entries) => {
                for e in entries {
                    f(Some(&e.key), &e.value);
                    e.value.walk(f);
                }
            }
            Node::Seq(items) => {
                for i in items {
                    f(None, i);
                    i.walk(f);
                }
            }
            Node::Scalar(_) | Node::Other => {}
        }
    }
}

/// A mapping entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The key, unquoted.
    pub(crate) key: String,
    /// The value.
    pub(crate) value: Node,
}

/// A scalar whose characters in the file are exactly its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar {
    /// The value.
    pub(crate) value: String,
    /// The byte range of the value in the file (inside the quotes of a quoted scalar).
    pub(crate) span: Range<usize>,
    /// The 1-based line.
    pub(crate) line: usize,
}

/// The documents of `text`.
pub(crate) fn documents(text: &str) -> Vec<Node> {
    let lines = text::lines(text);
    let mut docs = Vec::new();
    let mut from = 0;
    for (i, line) in lines.iter().enumerate() {
        let content = &text[line.start..line.end];
        let marker = ["---", "..."].iter().any(|m| {
            content
                .strip_prefix(m)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        });
        if marker {
            docs.push(document(text, &lines[from..i]));
            from = i + 1;
        }
    }
    docs.push(document(text, &lines[from..]));
    docs.retain(|d| *d != Node::Other);
    docs
}

fn document(text: &str, lines: &[Line]) -> Node {
    let mut p = Parser { text, lines, i: 0 };
    // Directives (`%YAML`) only precede a `---`; skip them anyway.
    while let Some(i) = p.peek() {
        if p.content(i).starts_with('%') {
            p.i = i + 1;
        } else {
            break;
        }
    }
    let mut nodes = Vec::new();
    while let Some(i) = p.peek() {
        let col = p.indent(i);
        nodes.push(p.block(i, col, 0));
        if p.i <= i {
            p.i = i + 1;
        }
    }
    // A well-formed document has one root; keep the first collection.
    nodes
        .into_iter()
        .find(|n| matches!(n, Node::Map(_) | Node::Seq(_)))
        .unwrap_or(Node::Other)
}

struct Parser<'a> {
    text: &'a str,
    lines: &'a [Line],
    /// The next line to read.
    i: usize,
}

impl<'a> Parser<'a> {
    fn line(&self, i: usize) -> &'a str {
        let l = self.lines[i];
        &self.text[l.start..l.end]
    }

    /// Line `i` from its first non-space character.
    fn content(&self, i: usize) -> &'a str {
        self.line(i).trim_start_matches(' ')
    }

    fn indent(&self, i: usize) -> usize {
        let l = self.line(i);
        l.len() - l.trim_start_matches(' ').len()
    }

    /// The next line from `self.i` that is neither blank nor a comment.
    fn peek(&self) -> Option<usize> {
        (self.i..self.lines.len()).find(|&i| {
            let c = self.content(i).trim_start_matches('\t');
            !(c.is_empty() || c.starts_with('#'))
        })
    }

    /// Skip the lines after `self.i` indented more than `indent` (and blank lines among
    /// them).
    fn skip_deeper(&mut self, indent: usize) {
        while let Some(i) = self.peek() {
            if self.indent(i) > indent {
                self.i = i + 1;
            } else {
                break;
            }
        }
    }

    /// Nesting past [`MAX_DEPTH`]: the node at line `li` and what it holds stay opaque.
    fn too_deep(&mut self, li: usize, col: usize) -> Node {
        self.i = li + 1;
        self.skip_deeper(col);
        Node::Other
    }

    /// The node starting at column `col` of line `li`.
    fn block(&mut self, li: usize, col: usize, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            return self.too_deep(li, col);
        }
        let rest = &self.line(li)[col..];
        if is_item(rest) {
            self.sequence(li, col, depth)
        } else if key(rest).is_some() {
            self.mapping(li, col, depth)
        } else {
            let parent = col.saturating_sub(1);
            self.value(li, col, parent, depth)
        }
    }

    /// A block mapping whose first key is at column `col` of line `li`.
    fn mapping(&mut self, li: usize, col: usize, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            return self.too_deep(li, col);
        }
        let mut entries = Vec::new();
        let mut cur = li;
        let mut at = col;
        loop {
            let rest = &self.line(cur)[at..];
            match key(rest) {
                Some((k, after)) => {
                    let value = self.value(cur, at + after, col, depth + 1);
                    entries.push(Entry { key: k, value });
                }
                None => {
                    // Not a key line (a template directive, a stray scalar): skip it.
                    self.i = cur + 1;
                    self.skip_deeper(col);
                }
            }
            let Some(next) = self.peek() else {
                break;
            };
            let indent = self.indent(next);
            if indent == col && !is_item(&self.line(next)[col..]) {
                cur = next;
                at = col;
            } else if indent > col {
                self.i = next + 1;
                self.skip_deeper(col);
                match self.peek() {
                    Some(n) if self.indent(n) == col && !is_item(&self.line(n)[col..]) => {
                        cur = n;
                        at = col;
                    }
                    _ => break,
                }
            } else {
                break;
            }
        }
        Node::Map(entries)
    }

    /// A block sequence whose first `-` is at column `col` of line `li`.
    fn sequence(&mut self, li: usize, col: usize, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            return self.too_deep(li, col);
        }
        let mut items = Vec::new();
        let mut cur = li;
        loop {
            let line = self.line(cur);
            let after_dash = col + 1;
            let content_at =
                after_dash + (line[after_dash..].len() - line[after_dash..].trim_start().len());
            let rest = &line[content_at..];
            let item = if rest.is_empty() || rest.starts_with('#') {
                self.i = cur + 1;
                match self.peek() {
                    Some(n) if self.indent(n) > col => {
                        let c = self.indent(n);
                        self.block(n, c, depth + 1)
                    }
                    _ => Node::Other,
                }
            } else if is_item(rest) {
                self.sequence(cur, content_at, depth + 1)
            } else if key(rest).is_some() {
                self.mapping(cur, content_at, depth + 1)
            } else {
                self.value(cur, content_at, col, depth + 1)
            };
            items.push(item);
            let Some(next) = self.peek() else {
                break;
            };
            let indent = self.indent(next);
            if indent == col && is_item(&self.line(next)[col..]) {
                cur = next;
            } else if indent > col {
                self.i = next + 1;
                self.skip_deeper(col);
                match self.peek() {
                    Some(n) if self.indent(n) == col && is_item(&self.line(n)[col..]) => cur = n,
                    _ => break,
                }
            } else {
                break;
            }
        }
        Node::Seq(items)
    }

    /// The value that starts at byte `at` of line `li` (after `key:` or `- `), in a collection
    /// indented `parent`. Leaves `self.i` after the value's last line.
    fn value(&mut self, li: usize, at: usize, parent: usize, depth: usize) -> Node {
        let line = self.line(li);
        let line_start = self.lines[li].start;
        let mut pos = at;
        // Skip spaces, then node properties (`&anchor`, `!tag`).
        loop {
            pos += line[pos..].len() - line[pos..].trim_start().len();
            let r = &line[pos..];
            if r.starts_with('&') || r.starts_with('!') {
                pos += r.find([' ', '\t']).unwrap_or(r.len());
            } else {
                break;
            }
        }
        let rest = &line[pos..];
        self.i = li + 1;
        if rest.is_empty() || rest.starts_with('#') {
            return match self.peek() {
                Some(n)
                    if self.indent(n) > parent
                        || (self.indent(n) == parent && is_item(&self.line(n)[parent..])) =>
                {
                    let c = self.indent(n);
                    if depth > MAX_DEPTH {
                        self.skip_deeper(parent);
                        Node::Other
                    } else {
                        self.block(n, c, depth + 1)
                    }
                }
                _ => Node::Other,
            };
        }
        let number = self.lines[li].number;
        match rest.as_bytes()[0] {
            b'*' => {
                self.skip_deeper(parent);
                Node::Other
            }
            b'|' | b'>' => {
                self.skip_deeper(parent);
                Node::Other
            }
            b'[' | b'{' => {
                self.flow(li, pos);
                Node::Other
            }
            q @ (b'"' | b'\'') => {
                let body = &rest[1..];
                match closing_quote(body, q) {
                    Some(end) if only_comment(&body[end + 1..]) => {
                        let raw = &body[..end];
                        let exact = if q == b'"' {
                            !raw.contains('\\')
                        } else {
                            !raw.contains('\'')
                        };
                        if exact {
                            let start = line_start + pos + 1;
                            Node::Scalar(Scalar {
                                value: raw.to_string(),
                                span: start..start + raw.len(),
                                line: number,
                            })
                        } else {
                            Node::Other
                        }
                    }
                    Some(_) => Node::Other,
                    None => {
                        // A quoted scalar over several lines.
                        self.skip_quoted(q);
                        Node::Other
                    }
                }
            }
            _ => {
                let end = plain_end(rest);
                let raw = rest[..end].trim_end();
                if matches!(self.peek(), Some(n) if self.indent(n) > parent) {
                    // A plain scalar continued on the next lines.
                    self.skip_deeper(parent);
                    return Node::Other;
                }
                let start = line_start + pos;
                Node::Scalar(Scalar {
                    value: raw.to_string(),
                    span: start..start + raw.len(),
                    line: number,
                })
            }
        }
    }

    /// Skip a flow collection opening at byte `at` of line `li`, over as many lines as it takes.
    fn flow(&mut self, li: usize, at: usize) {
        let mut level = 0usize;
        let mut quote: Option<char> = None;
        let mut i = li;
        let mut from = at;
        while i < self.lines.len() {
            let line = self.line(i);
            let mut prev = ' ';
            for c in line[from..].chars() {
                match (quote, c) {
                    (Some('"'), '\\') => {}
                    (Some(q), c) if c == q && !(q == '"' && prev == '\\') => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '#') if prev == ' ' => break,
                    (None, '[' | '{') => level += 1,
                    (None, ']' | '}') => {
                        level = level.saturating_sub(1);
                    }
                    _ => {}
                }
                prev = if prev == '\\' && c == '\\' { ' ' } else { c };
            }
            i += 1;
            from = 0;
            if level == 0 {
                break;
            }
        }
        self.i = i;
    }

    /// Skip to the line after the one closing a quoted scalar that began before `self.i`.
    fn skip_quoted(&mut self, q: u8) {
        while self.i < self.lines.len() {
            let line = self.line(self.i);
            self.i += 1;
            if closing_quote(line, q).is_some() {
                break;
            }
        }
    }
}

/// Whether `rest` starts a sequence item (`-` then a space or the end of the line).
fn is_item(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t")
}

/// The key of `rest` when it starts a mapping entry, and the byte offset just after its `:`.
fn key(rest: &str) -> Option<(String, usize)> {
    let b = rest.as_bytes();
    let first = *b.first()?;
    let (key, colon) = if first == b'"' || first == b'\'' {
        let end = closing_quote(&rest[1..], first)? + 1;
        let after = &rest[end + 1..];
        let colon = end + 1 + (after.len() - after.trim_start().len());
        (rest[1..end].to_string(), colon)
    } else {
        // Indicators cannot start a plain key, except a `-` that does not start an item
        // (`-x: 1`).
        let dash_key = first == b'-' && !is_item(rest);
        if b"-?:,[]{}#&*!|>%@`".contains(&first) && !dash_key {
            return None;
        }
        let mut i = 0;
        loop {
            let c = *b.get(i)?;
            if c == b':' && b.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t') {
                break;
            }
            if c == b'#' && i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
                return None;
            }
            i += 1;
        }
        (rest[..i].trim_end().to_string(), i)
    };
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let after = colon + 1;
    match b.get(after) {
        None | Some(b' ' | b'\t') => Some((key, after)),
        _ => None,
    }
}

/// The index in `body` of the quote closing a scalar opened by `q` just before `body`.
fn closing_quote(body: &str, q: u8) -> Option<usize> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if q == b'"' && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether `rest` (after a closing quote) holds only spaces and a comment.
fn only_comment(rest: &str) -> bool {
    let t = rest.trim_start();
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

/// Where a plain scalar on this line ends: at ` #` or the end.
fn plain_end(rest: &str) -> usize {
    let b = rest.as_bytes();
    (1..b.len())
        .find(|&i| b[i] == b'#' && (b[i - 1] == b' ' || b[i - 1] == b'\t'))
        .unwrap_or(b.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn one(text: &str) -> Node {
        let mut d = documents(text);
        assert_eq!(d.len(), 1, "{d:?}");
        d.remove(0)
    }

    /// `path` is keys and `#n` sequence indexes.
    fn at<'a>(mut n: &'a Node, path: &[&str]) -> &'a Node {
        for p in path {
            n = match (p.strip_prefix('#'), n) {
                (Some(i), Node::Seq(items)) => &items[i.parse::<usize>().unwrap()],
                (None, _) => n.get(p).unwrap_or_else(|| panic!("no `{p}` in {n:?}")),
                _ => panic!("cannot follow {p} in {n:?}"),
            };
        }
        n
    }

    fn scalar<'a>(text: &'a str, n: &Node, path: &[&str]) -> &'a str {
        match at(n, path) {
            Node::Scalar(s) => {
                assert_eq!(&text[s.span.clone()], s.value);
                &text[s.span.clone()]
            }
            other => panic!("{path:?} is not a scalar: {other:?}"),
        }
    }

    #[test]
    fn mappings_sequences_and_scalars_keep_their_spans() {
        let t = "\
apiVersion: apps/v1   # comment
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          image: \"registry.example.com/app:1.0\" # pinned
        - image: 'nginx:1.25'
          name: web
        -   name: sidecar
            image: busybox
      initContainers:
      - name: init
        image: alpine:3.19
";
        let d = one(t);
        assert_eq!(scalar(t, &d, &["apiVersion"]), "apps/v1");
        let c = ["spec", "template", "spec", "containers"];
        let p = |extra: &[&'static str]| {
            let mut v: Vec<&str> = c.to_vec();
            v.extend_from_slice(extra);
            v
        };
        assert_eq!(
            scalar(t, &d, &p(&["#0", "image"])),
            "registry.example.com/app:1.0"
        );
        assert_eq!(scalar(t, &d, &p(&["#1", "image"])), "nginx:1.25");
        assert_eq!(scalar(t, &d, &p(&["#1", "name"])), "web");
        assert_eq!(scalar(t, &d, &p(&["#2", "image"])), "busybox");
        assert_eq!(
            scalar(
                t,
                &d,
                &["spec", "template", "spec", "initContainers", "#0", "image"]
            ),
            "alpine:3.19"
        );
    }

    #[test]
    fn opaque_values_do_not_hide_what_follows() {
        let t = "\
a: |
  image: not-this:1
  more
b: >-
  folded
c: [x, {image: flow:1},
    y]
d: {image: x:1}
e: *alias
f: &anchor
  image: anchored:1
g: !!str tagged:1
h: plain
  continued
i: \"multi
  line\"
'quoted key': v
\"k2\" : w
url: http://x:80/y
j: a#b # comment
? complex
: value
z: last
";
        let d = one(t);
        assert_eq!(at(&d, &["a"]), &Node::Other);
        assert_eq!(at(&d, &["c"]), &Node::Other);
        assert_eq!(at(&d, &["e"]), &Node::Other);
        assert_eq!(scalar(t, &d, &["f", "image"]), "anchored:1");
        assert_eq!(scalar(t, &d, &["g"]), "tagged:1");
        assert_eq!(at(&d, &["h"]), &Node::Other);
        assert_eq!(at(&d, &["i"]), &Node::Other);
        assert_eq!(scalar(t, &d, &["quoted key"]), "v");
        assert_eq!(scalar(t, &d, &["k2"]), "w");
        assert_eq!(scalar(t, &d, &["url"]), "http://x:80/y");
        assert_eq!(scalar(t, &d, &["j"]), "a#b");
        assert_eq!(scalar(t, &d, &["z"]), "last");
        let keys: Vec<&str> = d.entries().iter().map(|e| e.key.as_str()).collect();
        assert!(!keys.contains(&"image"), "{keys:?}");
    }

    #[test]
    fn sequences_at_the_keys_indentation_and_nested_items() {
        let t = "\
list:
- a
- - b
  - c
-
  k: v
next: 1
";
        let d = one(t);
        assert_eq!(scalar(t, &d, &["list", "#0"]), "a");
        assert_eq!(scalar(t, &d, &["list", "#1", "#1"]), "c");
        assert_eq!(scalar(t, &d, &["list", "#2", "k"]), "v");
        assert_eq!(scalar(t, &d, &["next"]), "1");
    }

    #[test]
    fn documents_templates_and_escapes() {
        let t = "\
%YAML 1.2
---
a: 1
--- # second
{{- if .Values.x }}
b: \"esc\\\"aped\"
c: 'it''s'
{{- end }}
d: 2
...
";
        let d = documents(t);
        assert_eq!(d.len(), 2);
        assert_eq!(scalar(t, &d[0], &["a"]), "1");
        assert_eq!(at(&d[1], &["b"]), &Node::Other);
        assert_eq!(at(&d[1], &["c"]), &Node::Other);
        assert_eq!(scalar(t, &d[1], &["d"]), "2");
    }

    #[test]
    fn crlf_and_odd_input_never_panic() {
        let t = "a: 1\r\nb:\r\n  - x\r\n";
        let d = one(t);
        assert_eq!(scalar(t, &d, &["a"]), "1");
        assert_eq!(scalar(t, &d, &["b", "#0"]), "x");
        for odd in [
            "",
            ":",
            "- ",
            "-",
            "a:",
            "\"unclosed",
            "a: \"unclosed\n",
            "a: [unclosed\n",
            "  - a\n- b\n",
            "a:\n    b: 1\n  c: 2\nd: 3\n",
            "\u{feff}é: ü\n",
            "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - x",
            "k: v\n\t- tab\n",
        ] {
            let _ = documents(odd);
        }
        let deep = "- ".repeat(10_000) + "x";
        let _ = documents(&deep);
        let nested: String = (0..2000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let _ = documents(&nested);
    }

    #[test]
    fn misindented_lines_are_skipped() {
        let t = "a:\n    b: 1\n  c: 2\nd: 3\n";
        let d = one(t);
        assert_eq!(scalar(t, &d, &["a", "b"]), "1");
        assert_eq!(scalar(t, &d, &["d"]), "3");
    }
}
