//! Registry failures with everything a user needs to act: method, URL (without
//! credentials), status, and the registry's own error codes and messages, or the limit an
//! answer went over.

use lineage_oci::errcode::ErrorCode;
use lineage_store::{ErrorKind, StoreError};
use serde::Deserialize;

/// One entry of the distribution spec's error envelope `{"errors":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorInfo {
    /// The code, e.g. `MANIFEST_UNKNOWN`.
    pub code: String,
    /// The registry's message.
    #[serde(default)]
    pub message: String,
}

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: {}", status_text(*.status, .errors, .body))]
    Status {
        /// HTTP method.
        method: String,
        /// The URL, credentials removed.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Parsed `errors` envelope, if the body had one.
        errors: Vec<ErrorInfo>,
        /// The start of a body that was not an error envelope.
        body: Option<String>,
    },
    /// The request did not get an answer (connection, TLS, timeout).
    #[error("{method} {url}: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// The URL, credentials removed.
        url: String,
        /// What failed, with the chain of causes flattened (each cause once).
        message: String,
        /// Whether trying again may help.
        retryable: bool,
        /// The HTTP client's own error (connection, TLS, timeout, a body cut short); `None`
        /// when lineage itself stopped, as for a streamed body needed a second time.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// Authentication failed or could not be attempted.
    #[error("authentication to {registry} failed: {message}")]
    Auth {
        /// The registry host.
        registry: String,
        /// What went wrong.
        message: String,
    },
    /// The registry answered in a way the protocol does not allow.
    #[error("{url}: {message}")]
    Protocol {
        /// The URL, credentials removed.
        url: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// An answer was longer than lineage reads of its kind ([`crate::limits`]); the rest of
    /// it was not read.
    #[error("the {what} from {registry} is over the {} limit ({url})", crate::limits::size_text(*.limit))]
    TooLarge {
        /// The registry host the answer was for.
        registry: String,
        /// The URL that answered, credentials removed.
        url: String,
        /// What was being read, e.g. `tag list page`.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// Credentials could not be read.
    #[error(transparent)]
    Credentials(#[from] crate::credentials::CredentialError),
}

fn status_text(status: u16, errors: &[ErrorInfo], body: &Option<String>) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("{status} {reason}");
    for e in errors {
        out.push_str(&format!(": {}", e.code));
        if !e.message.is_empty() {
            out.push_str(&format!(" ({})", e.message));
        }
    }
    if errors.is_empty()
        && let Some(b) = body
        && !b.is_empty()
    {
        out.push_str(&format!(": {b}"));
    }
    out
}

impl RegistryError {
    /// The HTTP status, for a status error.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the registry sent this error code.
    pub fn has_code(&self, code: ErrorCode) -> bool {
        matches!(self, RegistryError::Status { errors, .. } if errors.iter().any(|e| e.code == code.as_str()))
    }

    /// The broad class of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Status { status, .. } if self.has_code(ErrorCode::Unsupported) => {
                let _ = status;
                ErrorKind::Unsupported
            }
            RegistryError::Status { status, .. } => match status {
                404 => ErrorKind::NotFound,
                401 | 403 => ErrorKind::Denied,
                405 => ErrorKind::Unsupported,
                400 | 413 | 414 | 416 => ErrorKind::InvalidInput,
                408 | 429 | 500..=599 => ErrorKind::Io,
                _ => ErrorKind::Other,
            },
            RegistryError::Transport { .. } => ErrorKind::Io,
            RegistryError::Auth { .. } | RegistryError::Credentials(_) => ErrorKind::Denied,
            RegistryError::Protocol { .. } | RegistryError::TooLarge { .. } => ErrorKind::Corrupt,
        }
    }

    /// Whether repeating the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Status { status, .. } => {
                matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
            }
            RegistryError::Transport { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

impl From<RegistryError> for StoreError {
    fn from(e: RegistryError) -> StoreError {
        StoreError::Backend {
            kind: e.kind(),
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// Parse an error body: the spec's envelope, else the first line of whatever text came.
pub(crate) fn parse_error_body(body: &[u8]) -> (Vec<ErrorInfo>, Option<String>) {
    #[derive(Deserialize)]
    struct Envelope {
        errors: Vec<ErrorInfo>,
    }
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        return (env.errors, None);
    }
    let text = String::from_utf8_lossy(body);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let snippet: String = first.chars().take(200).collect();
    (Vec::new(), (!snippet.is_empty()).then_some(snippet))
}

/// `https://user:pw@host/path?x` → `https://host/path?x`.
pub(crate) fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_codes_and_messages() {
        let (errors, body) = parse_error_body(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#);
        assert!(body.is_none());
        let e = RegistryError::Status {
            method: "GET".into(),
            url: "http://127.0.0.1:5000/v2/app/manifests/x".into(),
            status: 404,
            errors,
            body,
        };
        assert_eq!(
            e.to_string(),
            "GET http://127.0.0.1:5000/v2/app/manifests/x: 404 Not Found: MANIFEST_UNKNOWN (manifest unknown)"
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.is_retryable());
    }

    #[test]
    fn plain_text_and_html_bodies_are_summarised() {
        let (errors, body) = parse_error_body(b"404 page not found\n");
        assert!(errors.is_empty());
        assert_eq!(body.as_deref(), Some("404 page not found"));
        let e = RegistryError::Status {
            method: "DELETE".into(),
            url: "u".into(),
            status: 405,
            errors: vec![],
            body: None,
        };
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn unsupported_code_wins_over_status() {
        let (errors, _) = parse_error_body(
            br#"{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}"#,
        );
        let e = RegistryError::Status {
            method: "DELETE".into(),
            url: "u".into(),
            status: 400,
            errors,
            body: None,
        };
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn redacts_credentials() {
        let u = url::Url::parse("https://user:secret@example.com/v2/?x=1").unwrap();
        assert_eq!(redact(&u), "https://example.com/v2/?x=1");
    }
}
