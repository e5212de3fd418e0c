//! HTML escaping, the one way a value reaches a page: every text and attribute value the
//! dashboard writes goes through [`escape_into`] (directly, or through [`Esc`] in `write!`),
//! and every link it builds through [`href`], which percent-encodes the query and escapes the
//! result. Attribute values are always written in double quotes.

use std::fmt;

/// Write `text` into `out` with `&`, `<`, `>`, `"` and `'` replaced by character references,
/// so that it is inert as element content and inside a quoted attribute value.
pub(crate) fn escape_into(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..i])?;
        out.write_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)
}

/// `text` escaped ([`escape_into`]).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = escape_into(&mut out, text);
    out
}

/// A value that displays escaped ([`escape_into`]), for `write!`.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape_into(f, self.0)
    }
}

/// A link to the dashboard's `path` with `query` percent-encoded, escaped for an attribute.
pub(crate) fn href(path: &str, query: &[(&str, &str)]) -> String {
    let mut url = path.to_string();
    if !query.is_empty() {
        url.push('?');
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish(),
        );
    }
    escape(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings an attacker could put in a tag, an annotation or a pasted document.
    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "&lt;already&gt; &amp;",
        "</textarea><script>x</script>",
        "javascript:alert(1)",
        "a\u{0}b\u{202e}c",
    ];

    #[test]
    fn hostile_strings_come_out_inert() {
        for h in HOSTILE {
            let e = escape(h);
            assert!(!e.contains(['<', '>', '"', '\'']), "{h} → {e}");
            // Every `&` left starts one of the references written here.
            for (i, _) in e.match_indices('&') {
                let tail = &e[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|r| tail.starts_with(r)),
                    "{h} → {e}"
                );
            }
            assert_eq!(format!("{}", Esc(h)), e);
        }
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            escape("&lt;"),
            "&amp;lt;",
            "escaped once more, never decoded"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn links_encode_their_query_and_escape_the_rest() {
        assert_eq!(
            href("/ui/image", &[("ref", "r.example/a:1&x=\"<y>")]),
            "/ui/image?ref=r.example%2Fa%3A1%26x%3D%22%3Cy%3E"
        );
        assert_eq!(href("/ui/fleet", &[]), "/ui/fleet");
        assert_eq!(
            href("/ui/l", &[("repo", "a b"), ("version", "1'0")]),
            "/ui/l?repo=a+b&amp;version=1%270"
        );
    }
}
