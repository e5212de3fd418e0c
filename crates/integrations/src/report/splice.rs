//! Setting one member of a JSON document's top-level object by editing its text, so that every
//! other byte (key order, number spelling, escapes, whitespace) stays as it was.
//!
//! The text must be valid JSON (the caller has parsed it); the scanner here only finds where
//! the top-level members are, and returns `None` on anything it does not expect.

use std::ops::Range;

use serde::Serialize;

/// One member of the top-level object, as positions in the text.
struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value: Range<usize>,
}

/// The top-level object: its opening brace and its members.
struct Object {
    open: usize,
    members: Vec<Member>,
}

/// `text` with its top-level member `key` set to `value`: a member of that name has its
/// value replaced where it stands (every one, if the key is repeated); otherwise the member
/// is added after the last one. The new text follows the document's layout: compact stays
/// compact, and an indented document gets the member at its members' indentation, with the
/// value indented the same way. A leading byte order mark and whatever follows the object
/// are kept. `None` when `text` is not a JSON object.
pub fn set_member<T: Serialize + ?Sized>(text: &str, key: &str, value: &T) -> Option<String> {
    let object = top_level(text)?;
    let layout = Layout::of(text, &object);
    let rendered = layout.render(value)?;
    let existing: Vec<&Member> = object.members.iter().filter(|m| m.key == key).collect();
    let mut out = text.to_string();
    if !existing.is_empty() {
        // Last first, so the earlier ranges stay valid.
        for m in existing.iter().rev() {
            out.replace_range(m.value.clone(), &rendered);
        }
        return Some(out);
    }
    let key = serde_json::to_string(key).ok()?;
    let (at, insert) = match object.members.last() {
        Some(last) => (
            last.value.end,
            format!(",{}{key}{}{rendered}", layout.before_key, layout.colon),
        ),
        None => (object.open + 1, format!("{key}:{rendered}")),
    };
    out.insert_str(at, &insert);
    Some(out)
}

/// How the document lays out its top-level members, read from its last member.
struct Layout<'a> {
    /// The whitespace before a key (`"\n  "`, or empty when compact).
    before_key: &'a str,
    /// From the end of a key to the start of its value (`": "`, `":"`).
    colon: &'a str,
}

impl<'a> Layout<'a> {
    fn of(text: &'a str, object: &Object) -> Layout<'a> {
        match object.members.last() {
            Some(m) => {
                let before = &text[..m.key_start];
                let ws = before.len() - before.trim_end_matches(is_ws).len();
                Layout {
                    before_key: &text[m.key_start - ws..m.key_start],
                    colon: &text[m.key_end..m.value.start],
                }
            }
            None => Layout {
                before_key: "",
                colon: ":",
            },
        }
    }

    /// `value` as JSON text for a top-level member: compact, or indented by the members'
    /// indentation when the document puts members on their own lines.
    fn render<T: Serialize + ?Sized>(&self, value: &T) -> Option<String> {
        let indent = self
            .before_key
            .rfind('\n')
            .map(|i| &self.before_key[i + 1..])
            .filter(|i| !i.is_empty());
        let Some(indent) = indent else {
            return serde_json::to_string(value).ok();
        };
        let mut buf = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
        value.serialize(&mut ser).ok()?;
        let pretty = String::from_utf8(buf).ok()?;
        // JSON strings hold no raw newline: every newline is layout.
        Some(pretty.replace('\n', &format!("\n{indent}")))
    }
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string starting at `i` (a `"`).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while let Some(c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end (exclusive) of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(c) = b.get(j) {
                match c {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The top-level object of `text`, after an optional byte order mark. Positions are byte
/// offsets at ASCII characters, so they are char boundaries.
fn top_level(text: &str) -> Option<Object> {
    let b = text.as_bytes();
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let open = skip_ws(b, start);
    if b.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = open + 1;
    loop {
        i = skip_ws(b, i);
        match b.get(i)? {
            b'}' => return Some(Object { open, members }),
            b',' if !members.is_empty() => i += 1,
            b'"' => {
                let key_start = i;
                let key_end = skip_string(b, i)?;
                let key: String = serde_json::from_str(&text[key_start..key_end]).ok()?;
                i = skip_ws(b, key_end);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                let value_start = skip_ws(b, i + 1);
                let value_end = skip_value(b, value_start)?;
                members.push(Member {
                    key,
                    key_start,
                    key_end,
                    value: value_start..value_end,
                });
                i = value_end;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn section() -> Value {
        json!({"state": "end-of-life", "successor": {"reference": "r:2", "digest": null}})
    }

    /// `out` is `input` with one insertion: a common prefix and suffix cover all of `input`.
    fn only_inserted(input: &str, out: &str) -> String {
        let prefix = input
            .bytes()
            .zip(out.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = input
            .bytes()
            .rev()
            .zip(out.bytes().rev())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(prefix + suffix >= input.len(), "not an insertion:\n{out}");
        out[prefix..out.len() - (input.len() - prefix)].to_string()
    }

    #[test]
    fn compact_documents_get_a_compact_member_and_nothing_else_changes() {
        let input = r#"{"b":1.50,"a":"\u00e9\/","n":123456789012345678901234567890}"#;
        let out = set_member(input, "lifecycle", &section()).unwrap();
        assert_eq!(
            only_inserted(input, &out),
            r#","lifecycle":{"state":"end-of-life","successor":{"digest":null,"reference":"r:2"}}"#
        );
    }

    #[test]
    fn indented_documents_get_their_own_indentation() {
        // Trivy's layout (two spaces, `": "`), trailing newline kept.
        let input = "{\n  \"SchemaVersion\": 2,\n  \"Results\": [\n    {}\n  ]\n}\n";
        let out = set_member(input, "lifecycle", &section()).unwrap();
        assert_eq!(
            out,
            "{\n  \"SchemaVersion\": 2,\n  \"Results\": [\n    {}\n  ],\n  \"lifecycle\": {\n    \"state\": \"end-of-life\",\n    \"successor\": {\n      \"digest\": null,\n      \"reference\": \"r:2\"\n    }\n  }\n}\n"
        );
        // One space, CRLF line ends, a tab: whatever the last member had.
        let input = "{\r\n \"matches\": [],\r\n\t\"source\": {}\r\n}";
        let out = set_member(input, "x", &json!({"a": [1]})).unwrap();
        assert_eq!(
            only_inserted(input, &out),
            ",\r\n\t\"x\": {\n\t\t\"a\": [\n\t\t\t1\n\t\t]\n\t}"
        );
        serde_json::from_str::<Value>(&out).unwrap();
    }

    #[test]
    fn an_existing_member_is_replaced_in_place() {
        let input = "{\n  \"lifecycle\": {\"old\": true},\n  \"z\": [\"}\", \"\\\"{\"]\n}";
        let out = set_member(input, "lifecycle", &json!("new")).unwrap();
        assert_eq!(
            out,
            "{\n  \"lifecycle\": \"new\",\n  \"z\": [\"}\", \"\\\"{\"]\n}"
        );
        // Repeated keys: each one.
        let out = set_member(r#"{"k":1,"k":[2]}"#, "k", &json!(3)).unwrap();
        assert_eq!(out, r#"{"k":3,"k":3}"#);
    }

    #[test]
    fn empty_objects_bom_and_odd_input() {
        assert_eq!(
            set_member(" { } ", "k", &json!(1)).unwrap(),
            r#" {"k":1 } "#
        );
        assert_eq!(
            set_member("\u{feff}{\"a\":true}\n", "k", &json!(null)).unwrap(),
            "\u{feff}{\"a\":true,\"k\":null}\n"
        );
        for bad in ["", "[]", "{", r#"{"a"}"#, r#"{"a":"#, r#"{"a":1"#, "nul"] {
            assert_eq!(set_member(bad, "k", &json!(1)), None, "{bad}");
        }
    }
}
