//! Canonical JSON (RFC 8785: sorted keys, no insignificant whitespace) for content lineage
//! writes, so the same input always gives the same bytes and digest (DESIGN §2.1 rule 2).

use canon_json::CanonJsonSerialize;

/// Serialise `value` canonically.
pub fn to_canonical_vec<T: serde::Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    value.to_canon_json_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_at_every_level() {
        let v = serde_json::json!({"b": 1, "a": {"d": [1, 2], "c": "x"}});
        assert_eq!(
            to_canonical_vec(&v).unwrap(),
            br#"{"a":{"c":"x","d":[1,2]},"b":1}"#
        );
    }

    #[test]
    fn escapes_control_characters() {
        let v = serde_json::json!({"k": "a\u{1}b\"c"});
        let out = String::from_utf8(to_canonical_vec(&v).unwrap()).unwrap();
        assert_eq!(out, r#"{"k":"a\u0001b\"c"}"#);
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }
}
