//! `WWW-Authenticate` challenges (RFC 7235), as registries send them on a 401.

use std::collections::BTreeMap;

/// One challenge: a scheme and its parameters (names lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer`, lowercased.
    pub scheme: String,
    /// Parameters such as `realm`, `service`, `scope`, `error`.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parse every challenge in a header value. Tolerant of odd spacing; quoted strings may hold
/// commas and escaped quotes.
pub fn parse(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            break;
        }
        // A token followed by `=` is a parameter of the current challenge; otherwise it is a
        // new scheme.
        let token_end = rest.find([' ', ',', '=']).unwrap_or(rest.len());
        let token = &rest[..token_end];
        let after = rest[token_end..].trim_start_matches([' ', '\t']);
        if let Some(value_part) = after.strip_prefix('=')
            && let Some(current) = out.last_mut()
        {
            let (value, remaining) = parse_value(value_part.trim_start());
            current.params.insert(token.to_ascii_lowercase(), value);
            rest = remaining;
        } else {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
            rest = after;
        }
    }
    out
}

fn parse_value(s: &str) -> (String, &str) {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => return (value, &quoted[i + 1..]),
                _ => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = s.find(',').unwrap_or(s.len());
        (s[..end].trim().to_string(), &s[end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_scope_holding_commas() {
        let c = parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:library/nginx:pull,push")
        );
    }

    #[test]
    fn basic_and_insufficient_scope_and_several_challenges() {
        let c = parse(r#"Basic realm="test-registry""#);
        assert_eq!(
            (c[0].scheme.as_str(), c[0].param("realm")),
            ("basic", Some("test-registry"))
        );
        let c = parse(r#"Bearer realm="r",error="insufficient_scope", Basic realm="x y""#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
        assert_eq!(c[1].param("realm"), Some("x y"));
        let c = parse(r#"Bearer realm="a\"b",scope=read"#);
        assert_eq!(c[0].param("realm"), Some("a\"b"));
        assert_eq!(c[0].param("scope"), Some("read"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            "=",
            "Bearer realm=",
            "Bearer realm=\"unterminated",
            ",,,",
            "Bearer ,, realm = \"x\"",
        ] {
            let _ = parse(s);
        }
        assert_eq!(
            parse("Bearer ,, realm = \"x\"")[0].param("realm"),
            Some("x")
        );
    }
}
