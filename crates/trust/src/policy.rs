//! notation's trust policy (`trustpolicy.json`, also read as `trustpolicy.oci.json`) and its
//! trust store directory (`truststore/x509/{ca,signingAuthority}/NAME/*.{pem,crt}` beside the
//! policy file), in notation's own shapes.

use std::path::Path;

use crate::TrustError;

/// How strictly a statement verifies (notation's `signatureVerification.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Every check enforced: a record without a valid trusted signature does not count.
    Strict,
    /// Integrity and authenticity enforced; expiry (and revocation) only logged.
    Permissive,
    /// Nothing enforced: every record counts, failures are logged as warnings.
    Audit,
    /// No verification at all.
    Skip,
}

/// One statement of a trust policy, as it applies to a repository.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement's `name`.
    pub name: String,
    /// Its verification level.
    pub level: Level,
    // trust stores (loaded certificates), trusted identities, overrides: the implementation's.
}

/// A trust policy and the trust stores it names, loaded and checked.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    // statements and loaded trust stores: the implementation's.
}

impl TrustPolicy {
    /// Reads the policy at `path` and the trust store beside it (`DIR/truststore/x509/...`,
    /// notation's layout), with size limits; every error names the file (and the statement
    /// or store) that is wrong.
    pub fn load(path: &Path) -> Result<TrustPolicy, TrustError> {
        let _ = path;
        todo!("issue 16: trust policy")
    }

    /// The statement for a repository named `REGISTRY/REPOSITORY` (as `registryScopes`
    /// names them: an exact scope wins over `*`), or `None` when no statement applies (then
    /// nothing about that repository is trusted: notation refuses to verify it).
    pub fn statement_for(&self, repository: &str) -> Option<&Statement> {
        let _ = repository;
        todo!("issue 16: trust policy")
    }
}
