//! Entries of the `auths` object of `config.json`.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::{Map, Value};

use super::{AuthEntryError, Credential};

/// Fields of an `auths` entry that hold credentials; everything else (`email`, unknown keys) is
/// kept when an entry is rewritten.
const CREDENTIAL_FIELDS: [&str; 5] = [
    "auth",
    "username",
    "password",
    "identitytoken",
    "registrytoken",
];

/// Standard base64 that accepts missing padding and stray trailing bits.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// URL-safe base64, likewise lenient, for files written by tools that use it.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn string_field<'a>(entry: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    entry
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The credential of an `auths` entry: `identitytoken` first, then `auth`, then
/// `username`/`password`; `None` for an entry without any (docker writes `{}` when a credential
/// helper holds the secret). `Err` says what is wrong, never the secret.
pub(super) fn decode_entry(entry: &Value) -> Result<Option<Credential>, AuthEntryError> {
    let Some(entry) = entry.as_object() else {
        return if entry.is_null() {
            Ok(None)
        } else {
            Err(AuthEntryError::NotAnObject)
        };
    };
    if let Some(token) = string_field(entry, "identitytoken") {
        return Ok(Some(Credential::IdentityToken(token.to_owned())));
    }
    if let Some(auth) = string_field(entry, "auth") {
        return decode_auth(auth).map(Some);
    }
    let username = string_field(entry, "username");
    let password = string_field(entry, "password");
    if username.is_none() && password.is_none() {
        return Ok(None);
    }
    Ok(Some(Credential::basic(
        username.unwrap_or_default(),
        password.unwrap_or_default(),
    )))
}

/// Decodes `auth`: base64 of `user:password`, split at the first `:`.
fn decode_auth(auth: &str) -> Result<Credential, AuthEntryError> {
    let compact: String = auth.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = LENIENT
        .decode(&compact)
        .or_else(|_| LENIENT_URL_SAFE.decode(&compact))
        .map_err(|_| AuthEntryError::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| AuthEntryError::NotUtf8)?;
    let Some((username, password)) = text.split_once(':') else {
        return Err(AuthEntryError::NotUserPassword);
    };
    Ok(Credential::basic(username, password))
}

/// Writes `cred` into an `auths` entry, dropping other credential fields and keeping the rest.
pub(super) fn encode_into(entry: &mut Value, cred: &Credential) {
    let map = clear_credentials(entry);
    match cred {
        Credential::Basic { username, password } => {
            let auth = STANDARD.encode(format!("{username}:{password}"));
            map.insert("auth".to_owned(), Value::String(auth));
        }
        Credential::IdentityToken(token) => {
            map.insert("identitytoken".to_owned(), Value::String(token.clone()));
        }
    }
}

/// Removes the credential fields of an entry (making it an object if it was not), keeping the
/// rest: what docker leaves in `auths` when a credential helper holds the secret.
pub(super) fn clear_credentials(entry: &mut Value) -> &mut Map<String, Value> {
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    let Value::Object(map) = entry else {
        unreachable!("the entry was made an object above")
    };
    for field in CREDENTIAL_FIELDS {
        map.remove(field);
    }
    map
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_variants() {
        let plain = STANDARD.encode("user:pa:ss");
        let unpadded = plain.trim_end_matches('=').to_owned();
        assert_ne!(plain, unpadded, "the sample must need padding");
        let spaced = format!(" {}\n{} ", &plain[..4], &plain[4..]);
        for auth in [plain, unpadded, spaced] {
            assert_eq!(
                decode_entry(&json!({ "auth": auth })).unwrap(),
                Some(Credential::basic("user", "pa:ss"))
            );
        }
    }

    #[test]
    fn entry_precedence() {
        let auth = STANDARD.encode("a:b");
        assert_eq!(
            decode_entry(&json!({ "auth": auth, "identitytoken": "tok" })).unwrap(),
            Some(Credential::IdentityToken("tok".into()))
        );
        assert_eq!(
            decode_entry(&json!({ "auth": auth, "username": "x", "password": "y" })).unwrap(),
            Some(Credential::basic("a", "b"))
        );
        assert_eq!(
            decode_entry(&json!({ "username": "x", "password": "y" })).unwrap(),
            Some(Credential::basic("x", "y"))
        );
        assert_eq!(decode_entry(&json!({})).unwrap(), None);
        assert_eq!(
            decode_entry(&json!({ "auth": "", "email": "e" })).unwrap(),
            None
        );
        assert_eq!(decode_entry(&Value::Null).unwrap(), None);
    }

    #[test]
    fn invalid_auth_never_echoes_the_secret() {
        for auth in ["!!not base64!!", &STANDARD.encode("no-colon-secret")] {
            let err = decode_entry(&json!({ "auth": auth }))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("secret") && !err.contains("!!"), "{err}");
        }
        assert!(decode_entry(&json!("text")).is_err());
    }

    #[test]
    fn encode_keeps_other_fields() {
        let mut entry = json!({ "auth": "old", "identitytoken": "old", "email": "e@x", "x": 1 });
        encode_into(&mut entry, &Credential::basic("u", "p:w"));
        assert_eq!(
            entry,
            json!({ "auth": STANDARD.encode("u:p:w"), "email": "e@x", "x": 1 })
        );
        encode_into(&mut entry, &Credential::IdentityToken("t".into()));
        assert_eq!(
            entry,
            json!({ "identitytoken": "t", "email": "e@x", "x": 1 })
        );
    }
}
