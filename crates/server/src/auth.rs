//! Basic authentication against an htpasswd file of bcrypt entries (what distribution
//! accepts). A verified user and password pair is remembered, since bcrypt costs tens of
//! milliseconds a check.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use lineage_oci::Digest;

use crate::registry::error::OciError;

/// Users and their bcrypt hashes.
#[derive(Debug)]
pub struct Htpasswd {
    users: HashMap<String, String>,
    verified: Mutex<HashSet<Digest>>,
}

/// Why an htpasswd file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    /// The file cannot be read.
    #[error("cannot read the htpasswd file `{path}`")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `user:bcrypt-hash`.
    #[error(
        "line {line} of the htpasswd file `{path}` is not `user:bcrypt-hash` (create entries with `htpasswd -B`)"
    )]
    Line {
        /// The file.
        path: String,
        /// The line number.
        line: usize,
    },
    /// No users at all.
    #[error("the htpasswd file `{path}` has no users")]
    Empty {
        /// The file.
        path: String,
    },
}

impl Htpasswd {
    /// Load `path`.
    pub fn load(path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| HtpasswdError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((user, hash)) if !user.is_empty() && hash.starts_with("$2") => {
                    users.insert(user.to_string(), hash.to_string());
                }
                _ => {
                    return Err(HtpasswdError::Line {
                        path: shown,
                        line: i + 1,
                    });
                }
            }
        }
        if users.is_empty() {
            return Err(HtpasswdError::Empty { path: shown });
        }
        Ok(Htpasswd {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Whether the `Authorization` header value names a known user with the right password.
    pub fn check(&self, authorization: &str) -> bool {
        let Some(encoded) = authorization
            .strip_prefix("Basic ")
            .or_else(|| authorization.strip_prefix("basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, password)) = text.split_once(':') else {
            return false;
        };
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key = Digest::sha256(format!("{hash}\0{password}").as_bytes());
        if self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok && let Ok(mut v) = self.verified.lock() {
            v.insert(key);
        }
        ok
    }
}

/// Middleware: every request needs valid credentials.
pub async fn require(State(auth): State<Arc<Htpasswd>>, request: Request, next: Next) -> Response {
    let ok = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let auth = auth.clone();
            let v = v.to_string();
            // bcrypt is CPU-bound; keep it off the async workers.
            tokio::task::block_in_place(move || auth.check(&v))
        });
    if ok {
        next.run(request).await
    } else {
        OciError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_entries_are_checked_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        std::fs::write(&path, format!("# users\nalice:{hash}\n")).unwrap();
        let h = Htpasswd::load(&path).unwrap();
        let header = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        assert!(h.check(&header("alice", "s3cret")));
        assert!(h.check(&header("alice", "s3cret")), "cached");
        assert!(!h.check(&header("alice", "wrong")));
        assert!(!h.check(&header("bob", "s3cret")));
        assert!(!h.check("Bearer x"));
        std::fs::write(&path, "alice:{SHA}abc\n").unwrap();
        assert!(
            Htpasswd::load(&path)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }
}
