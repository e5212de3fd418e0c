//! Distinguished names as notation compares them: a certificate's subject printed the way
//! notation prints it (RFC 4514, last RDN first: `CN=…,O=…,ST=…,C=…`), the trusted identities
//! of a policy (`x509.subject: C=US, ST=WA, O=Example`) parsed as RFC 4514, and notation's
//! rule that an identity matches when each of its attributes has the same value in the subject.

use std::collections::BTreeMap;

use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Encode, Tag, Tagged};
use x509_cert::name::Name;

/// A DN as notation compares it: attribute type (`C`, `ST`, `O`, `CN`, …) to value.
pub(crate) type DnMap = BTreeMap<String, String>;

/// The attributes notation requires in a trusted identity and in the signing certificate.
const MANDATORY: [&str; 3] = ["C", "ST", "O"];

fn short_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.17" => "POSTALCODE",
        _ => return None,
    })
}

/// The attributes of `name` in certificate order: one list per RDN, each `(type, value)`.
/// Types without a short name are dotted OIDs, their values `#` and the hex of their DER.
fn attributes(name: &Name) -> Vec<Vec<(String, String)>> {
    name.0
        .iter()
        .map(|rdn| {
            rdn.0
                .iter()
                .map(|atv| match short_name(&atv.oid) {
                    Some(short) => (short.to_string(), text_of(&atv.value)),
                    None => (atv.oid.to_string(), hex_of(&atv.value)),
                })
                .collect()
        })
        .collect()
}

fn hex_of(value: &x509_cert::der::Any) -> String {
    let der = value.to_der().unwrap_or_default();
    let mut s = String::from("#");
    for b in der {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The text of a directory string (UTF8, Printable, IA5, Teletex as Latin-1, BMP).
fn text_of(value: &x509_cert::der::Any) -> String {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        Tag::TeletexString => bytes.iter().map(|&b| char::from(b)).collect(),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => hex_of(value),
    }
}

/// RFC 4514 escaping of one attribute value, as notation (Go) prints it.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let escaped = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => i == 0 || i == last,
            '#' => i == 0,
            _ => false,
        };
        if escaped {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `name` printed as notation prints a certificate's subject: RDNs last first, joined by `,`.
pub(crate) fn display(name: &Name) -> String {
    attributes(name)
        .iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|(t, v)| {
                    if t.contains('.') {
                        format!("{t}={v}")
                    } else {
                        format!("{t}={}", escape(v))
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The signing certificate's subject as notation matches it; fails as notation does on
/// multi-valued RDNs, repeated attributes and a missing C, ST or O.
pub(crate) fn subject_map(name: &Name) -> Result<DnMap, String> {
    let mut map = DnMap::new();
    for rdn in attributes(name) {
        if rdn.len() > 1 {
            return Err(
                "the subject has a multi-valued RDN, which notation does not support".into(),
            );
        }
        for (t, v) in rdn {
            if map.insert(t.clone(), v).is_some() {
                return Err(format!("the subject repeats the attribute {t}"));
            }
        }
    }
    mandatory(&map)?;
    Ok(map)
}

fn mandatory(map: &DnMap) -> Result<(), String> {
    for field in MANDATORY {
        if map.get(field).is_none_or(|v| v.is_empty()) {
            return Err(format!(
                "it has no {field} attribute (C, ST or S, and O are required)"
            ));
        }
    }
    Ok(())
}

/// Parses a trusted identity's DN (`C=US, ST=WA, O=Example`, RFC 4514) as notation does:
/// no `=#` values, no multi-valued RDNs, no repeated attributes, `S` read as `ST`, and C,
/// ST and O required.
pub(crate) fn parse(text: &str) -> Result<DnMap, String> {
    if text.contains("=#") {
        return Err("values written as =# (hex) are not supported".into());
    }
    let mut map = DnMap::new();
    for rdn in split_unescaped(text, &[',', ';']) {
        let rdn = rdn?;
        let parts: Vec<_> = split_unescaped(&rdn, &['+']).collect::<Result<_, _>>()?;
        if parts.len() > 1 {
            return Err(format!(
                "{rdn:?} is a multi-valued RDN, which is not supported"
            ));
        }
        let part = &parts[0];
        let (t, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{:?} is not TYPE=VALUE", part.trim()))?;
        let mut t = t.trim().to_string();
        if t.is_empty() {
            return Err(format!("{:?} has no attribute type", part.trim()));
        }
        if t == "S" {
            t = "ST".into();
        }
        let v = unescape(v.trim())?;
        if map.insert(t.clone(), v).is_some() {
            return Err(format!("the attribute {t} appears twice"));
        }
    }
    mandatory(&map)?;
    Ok(map)
}

/// Splits on separators not escaped by `\` and not inside `"…"`.
fn split_unescaped<'a>(
    text: &'a str,
    separators: &'a [char],
) -> impl Iterator<Item = Result<String, String>> + 'a {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    let mut quoted = false;
    let mut error = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                match chars.next() {
                    Some(n) => current.push(n),
                    None => error = Some("a DN ends with a lone backslash".to_string()),
                }
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if !quoted && separators.contains(&c) => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if quoted {
        error = Some("a DN has an unterminated quote".to_string());
    }
    parts.push(current);
    let result: Vec<Result<String, String>> = match error {
        Some(e) => vec![Err(e)],
        None => parts.into_iter().map(Ok).collect(),
    };
    result.into_iter()
}

/// Undoes RFC 4514 escaping (`\,`, `\XX` hex pairs) and quoting of one value.
fn unescape(value: &str) -> Result<String, String> {
    let inner = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        &value[1..value.len() - 1]
    } else {
        value
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let raw = inner.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            let next = raw.get(i + 1).ok_or("a value ends with a lone backslash")?;
            let pair = raw
                .get(i + 1..i + 3)
                .and_then(|p| std::str::from_utf8(p).ok());
            if let Some(byte) = pair.and_then(|p| u8::from_str_radix(p, 16).ok()) {
                bytes.push(byte);
                i += 3;
            } else {
                bytes.push(*next);
                i += 2;
            }
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).map_err(|_| format!("the value {value:?} is not UTF-8 once unescaped"))
}

/// Notation's match: every attribute of `identity` has the same value in `subject`.
pub(crate) fn is_subset(identity: &DnMap, subject: &DnMap) -> bool {
    identity.iter().all(|(k, v)| subject.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_trusted_identities_as_notation_does() {
        let m = parse("C=US, ST=WA, O=wabbit-networks.io, OU=Finance, CN=SecureBuilder").unwrap();
        assert_eq!(m["C"], "US");
        assert_eq!(m["ST"], "WA");
        assert_eq!(m["CN"], "SecureBuilder");
        let s = parse("C=US,S=WA,O=Acme\\, Inc.,CN=\"a+b\"").unwrap();
        assert_eq!(s["ST"], "WA");
        assert_eq!(s["O"], "Acme, Inc.");
        assert_eq!(s["CN"], "a+b");
        assert_eq!(parse("C=US,ST=WA,O=\\41cme").unwrap()["O"], "Acme");
    }

    #[test]
    fn rejects_what_notation_rejects() {
        for bad in [
            "C=US, O=Acme",               // no ST
            "C=US, ST=WA, O=A, O=B",      // repeated
            "C=US+ST=WA, O=A",            // multi-valued
            "C=US, ST=WA, O=#0403414243", // hex
            "C=US, ST=WA, O=A, junk",     // not TYPE=VALUE
            "C=US, ST=WA, O=\"A",         // unterminated quote
            "C=US, ST=WA, O=A\\",         // lone backslash
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn subset_is_notations_rule() {
        let id = parse("C=US, ST=WA, O=Acme").unwrap();
        let subject = parse("C=US, ST=WA, O=Acme, CN=release").unwrap();
        assert!(is_subset(&id, &subject));
        assert!(!is_subset(&subject, &id));
        assert!(!is_subset(&parse("C=US, ST=OR, O=Acme").unwrap(), &subject));
    }

    #[test]
    fn escapes_as_go_prints() {
        assert_eq!(escape("a,b"), "a\\,b");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
        assert_eq!(escape("#x"), "\\#x");
    }
}
