//! notation's trust policy (`trustpolicy.json`, also read as `trustpolicy.oci.json`) and its
//! trust store directory (`truststore/x509/{ca,signingAuthority}/NAME/*.{pem,crt}` beside the
//! policy file), in notation's own shapes and with notation's validation rules: version
//! `1.0`, unique statement names, each registry scope in one statement, `*` only alone,
//! `skip` statements without stores or identities, others with both, store names
//! `TYPE:NAME`, trusted identities `*` alone or `x509.subject: DN` without overlaps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::TrustError;
use crate::cert::{self, Cert};
use crate::dn::{self, DnMap};

/// The largest policy file read.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;
/// The largest trust store certificate file read.
pub const MAX_STORE_FILE_BYTES: u64 = 1 << 20;
/// The most certificates one trust store may hold.
pub const MAX_STORE_CERTIFICATES: usize = 1000;
/// The policy file names notation reads, newest first, when a directory is given.
pub const POLICY_FILE_NAMES: [&str; 2] = ["trustpolicy.oci.json", "trustpolicy.json"];

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

impl Level {
    /// The level as the policy writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Strict => "strict",
            Level::Permissive => "permissive",
            Level::Audit => "audit",
            Level::Skip => "skip",
        }
    }
}

/// A check of notation's verification (the keys of `signatureVerification.override`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// The envelope is well formed, its signature verifies, it names the artifact.
    Integrity,
    /// The chain leads to the trust store and the signer is a trusted identity.
    Authenticity,
    /// The certificates are valid now (no timestamp countersignature is used).
    AuthenticTimestamp,
    /// The envelope's expiry has not passed.
    Expiry,
    /// Revocation (not checked by lineage; notation's default for it is the level's).
    Revocation,
}

impl Check {
    const ALL: [Check; 5] = [
        Check::Integrity,
        Check::Authenticity,
        Check::AuthenticTimestamp,
        Check::Expiry,
        Check::Revocation,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Check::Integrity => "integrity",
            Check::Authenticity => "authenticity",
            Check::AuthenticTimestamp => "authenticTimestamp",
            Check::Expiry => "expiry",
            Check::Revocation => "revocation",
        }
    }
}

/// What a failed check does (notation's validation actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The signature does not count.
    Enforce,
    /// The signature counts; the failure is logged.
    Log,
    /// The check is not made.
    Skip,
}

impl Level {
    fn default_action(self, check: Check) -> Action {
        match (self, check) {
            (Level::Skip, _) => Action::Skip,
            (Level::Strict, _) | (_, Check::Integrity) => Action::Enforce,
            (Level::Permissive, Check::Authenticity) => Action::Enforce,
            _ => Action::Log,
        }
    }
}

/// The trusted identities of a statement.
#[derive(Debug, Clone)]
enum Identities {
    /// `*`: any signer whose chain leads to the trust store.
    Any,
    /// `x509.subject: …` DNs; other identity kinds are kept by notation but match nothing.
    Subjects(Vec<(String, DnMap)>),
}

/// One statement of a trust policy, as it applies to a repository.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement's `name`.
    pub name: String,
    /// Its verification level.
    pub level: Level,
    overrides: BTreeMap<Check, Action>,
    stores: Vec<String>,
    trusted: Arc<Vec<Cert>>,
    identities: Identities,
}

impl Statement {
    /// What a failure of `check` does under this statement: its level's action, or the
    /// statement's `override`.
    pub fn action(&self, check: Check) -> Action {
        self.overrides
            .get(&check)
            .copied()
            .unwrap_or_else(|| self.level.default_action(check))
    }

    /// The trust stores it names (`ca:NAME`, …), as written.
    pub fn trust_stores(&self) -> &[String] {
        &self.stores
    }

    pub(crate) fn trusted_certificates(&self) -> &[Cert] {
        &self.trusted
    }

    /// Whether the signing certificate's subject is a trusted identity (`Err` says why not).
    pub(crate) fn trusts_identity(&self, leaf: &Cert) -> Result<(), String> {
        let Identities::Subjects(subjects) = &self.identities else {
            return Ok(());
        };
        let subject = leaf
            .subject_map()
            .map_err(|e| format!("the signing certificate's subject {:?}: {e}", leaf.subject))?;
        if subjects.iter().any(|(_, id)| dn::is_subset(id, &subject)) {
            Ok(())
        } else {
            Err(format!(
                "the signer {:?} is not a trusted identity of statement {:?}",
                leaf.subject, self.name
            ))
        }
    }
}

/// A trust policy and the trust stores it names, loaded and checked.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    path: PathBuf,
    statements: Vec<Statement>,
    /// Scope to statement index.
    scopes: BTreeMap<String, usize>,
    wildcard: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    version: Option<String>,
    #[serde(default)]
    trust_policies: Vec<RawStatement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatement {
    #[serde(default)]
    name: String,
    #[serde(default)]
    registry_scopes: Vec<String>,
    #[serde(default)]
    signature_verification: RawVerification,
    #[serde(default)]
    trust_stores: Vec<String>,
    #[serde(default)]
    trusted_identities: Vec<String>,
}

#[derive(Deserialize, Default)]
struct RawVerification {
    #[serde(default)]
    level: String,
    #[serde(default)]
    r#override: BTreeMap<String, String>,
    #[serde(default, rename = "verifyTimestamp")]
    verify_timestamp: Option<String>,
}

const STORE_TYPES: [&str; 3] = ["ca", "signingAuthority", "tsa"];

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// notation's registry scope syntax: `domain[:port]/repository`, lower-case path components.
fn valid_scope(scope: &str) -> bool {
    let Some((domain, repository)) = scope.split_once('/') else {
        return false;
    };
    let host = domain.split_once(':').map_or(domain, |(h, port)| {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            ""
        } else {
            h
        }
    });
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars().all(|ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
            })
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    !host.is_empty() && host.split('.').all(label_ok) && repository.split('/').all(component_ok)
}

fn parse_level(
    name: &str,
    raw: &RawVerification,
) -> Result<(Level, BTreeMap<Check, Action>), String> {
    let level = match raw.level.as_str() {
        "strict" => Level::Strict,
        "permissive" => Level::Permissive,
        "audit" => Level::Audit,
        "skip" => Level::Skip,
        "" => {
            return Err(format!(
                "statement {name:?}: signatureVerification.level is missing"
            ));
        }
        other => {
            return Err(format!(
                "statement {name:?}: signatureVerification.level {other:?} is not strict, permissive, audit or skip"
            ));
        }
    };
    if let Some(v) = &raw.verify_timestamp
        && v != "always"
        && v != "afterCertExpiry"
    {
        return Err(format!(
            "statement {name:?}: signatureVerification.verifyTimestamp {v:?} is not \"always\" or \"afterCertExpiry\""
        ));
    }
    let mut overrides = BTreeMap::new();
    if !raw.r#override.is_empty() && level == Level::Skip {
        return Err(format!(
            "statement {name:?}: signatureVerification.override cannot customise level \"skip\""
        ));
    }
    for (key, value) in &raw.r#override {
        let check = Check::ALL
            .into_iter()
            .find(|c| c.as_str() == key)
            .ok_or_else(|| format!("statement {name:?}: signatureVerification.override: {key:?} is not a verification type"))?;
        let action = match value.as_str() {
            "enforce" => Action::Enforce,
            "log" => Action::Log,
            "skip" => Action::Skip,
            other => {
                return Err(format!(
                    "statement {name:?}: signatureVerification.override.{key}: {other:?} is not enforce, log or skip"
                ));
            }
        };
        if check == Check::Integrity {
            return Err(format!(
                "statement {name:?}: signatureVerification.override: integrity cannot be overridden"
            ));
        }
        if check != Check::Revocation && action == Action::Skip {
            return Err(format!(
                "statement {name:?}: signatureVerification.override: {key} cannot be skipped"
            ));
        }
        overrides.insert(check, action);
    }
    Ok((level, overrides))
}

fn parse_identities(name: &str, raw: &[String]) -> Result<Identities, String> {
    if raw.iter().any(|i| i == "*") {
        if raw.len() > 1 {
            return Err(format!(
                "statement {name:?}: trustedIdentities: the wildcard \"*\" cannot be combined with other identities"
            ));
        }
        return Ok(Identities::Any);
    }
    let mut subjects = Vec::new();
    for identity in raw {
        if identity.is_empty() {
            return Err(format!(
                "statement {name:?}: trustedIdentities has an empty identity"
            ));
        }
        let (prefix, value) = identity.split_once(':').ok_or_else(|| {
            format!("statement {name:?}: trustedIdentities: {identity:?} has no \"x509.subject:\" prefix")
        })?;
        if prefix == "x509.subject" {
            if value.trim().is_empty() {
                return Err(format!(
                    "statement {name:?}: trustedIdentities: {identity:?} has no DN"
                ));
            }
            let map = dn::parse(value)
                .map_err(|e| format!("statement {name:?}: trustedIdentities: {identity:?}: {e}"))?;
            subjects.push((identity.clone(), map));
        }
    }
    for (i, (a, am)) in subjects.iter().enumerate() {
        for (j, (b, bm)) in subjects.iter().enumerate() {
            if i != j && dn::is_subset(am, bm) {
                return Err(format!(
                    "statement {name:?}: trustedIdentities: {a:?} overlaps with {b:?}"
                ));
            }
        }
    }
    Ok(Identities::Subjects(subjects))
}

impl TrustPolicy {
    /// Reads the policy at `path` (a file, or a directory holding `trustpolicy.oci.json` or
    /// `trustpolicy.json`, notation's configuration directory) and the trust store beside it
    /// (`DIR/truststore/x509/...`, notation's layout), with size limits; every error names
    /// the file (and the statement or store) that is wrong.
    pub fn load(path: &Path) -> Result<TrustPolicy, TrustError> {
        let path = if path.is_dir() {
            POLICY_FILE_NAMES
                .iter()
                .map(|n| path.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| TrustError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("holds no {}", POLICY_FILE_NAMES.join(" or ")),
                })?
        } else {
            path.to_path_buf()
        };
        let bytes = crate::error::read_limited(&path, MAX_POLICY_BYTES)?;
        let invalid = |reason: String| TrustError::Invalid {
            path: path.clone(),
            reason,
        };
        let doc: Document = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("not a trust policy document: {e}")))?;
        match doc.version.as_deref() {
            Some("1.0") => {}
            Some(v) => {
                return Err(invalid(format!(
                    "version {v:?} is not supported (only \"1.0\")"
                )));
            }
            None => return Err(invalid("version is missing".into())),
        }
        if doc.trust_policies.is_empty() {
            return Err(invalid("trustPolicies has no statement".into()));
        }
        let base = path
            .parent()
            .unwrap_or(Path::new("."))
            .join("truststore")
            .join("x509");
        let mut loaded: BTreeMap<String, Arc<Vec<Cert>>> = BTreeMap::new();
        let mut names = BTreeSet::new();
        let mut scopes = BTreeMap::new();
        let mut wildcard = None;
        let mut statements = Vec::new();
        for raw in &doc.trust_policies {
            let name = &raw.name;
            if name.is_empty() {
                return Err(invalid("a statement has no name".into()));
            }
            if !names.insert(name.clone()) {
                return Err(invalid(format!("two statements are named {name:?}")));
            }
            let (level, overrides) =
                parse_level(name, &raw.signature_verification).map_err(invalid)?;
            if level == Level::Skip {
                if !raw.trust_stores.is_empty() || !raw.trusted_identities.is_empty() {
                    return Err(invalid(format!(
                        "statement {name:?}: level \"skip\" takes no trustStores or trustedIdentities"
                    )));
                }
            } else if raw.trust_stores.is_empty() || raw.trusted_identities.is_empty() {
                return Err(invalid(format!(
                    "statement {name:?}: trustStores and trustedIdentities are both required"
                )));
            }
            let identities = if level == Level::Skip {
                Identities::Subjects(Vec::new())
            } else {
                parse_identities(name, &raw.trusted_identities).map_err(invalid)?
            };
            let mut trusted = Vec::new();
            for store in &raw.trust_stores {
                let (kind, store_name) = store.split_once(':').ok_or_else(|| {
                    invalid(format!(
                        "statement {name:?}: trustStores: {store:?} is not TYPE:NAME"
                    ))
                })?;
                if !STORE_TYPES.contains(&kind) {
                    return Err(invalid(format!(
                        "statement {name:?}: trustStores: {store:?} has type {kind:?}, not ca, signingAuthority or tsa"
                    )));
                }
                if !valid_name(store_name) {
                    return Err(invalid(format!(
                        "statement {name:?}: trustStores: the store name {store_name:?} is not [a-zA-Z0-9_.-]+"
                    )));
                }
                let certs = match loaded.get(store) {
                    Some(c) => c.clone(),
                    None => {
                        let certs = load_store(&base.join(kind).join(store_name)).map_err(|e| {
                            let cause = std::error::Error::source(&e)
                                .map(|s| format!(": {s}"))
                                .unwrap_or_default();
                            invalid(format!(
                                "statement {name:?}: trustStores: {store:?}: {e}{cause}"
                            ))
                        })?;
                        let certs = Arc::new(certs);
                        loaded.insert(store.clone(), certs.clone());
                        certs
                    }
                };
                trusted.extend(certs.iter().cloned());
            }
            if raw.registry_scopes.is_empty() {
                return Err(invalid(format!(
                    "statement {name:?}: registryScopes is empty"
                )));
            }
            let index = statements.len();
            for scope in &raw.registry_scopes {
                if scope == "*" {
                    if raw.registry_scopes.len() > 1 {
                        return Err(invalid(format!(
                            "statement {name:?}: registryScopes: the wildcard \"*\" cannot be combined with other scopes"
                        )));
                    }
                    if wildcard.replace(index).is_some() {
                        return Err(invalid(
                            "registry scope \"*\" is in more than one statement".into(),
                        ));
                    }
                } else {
                    if !valid_scope(scope) {
                        return Err(invalid(format!(
                            "statement {name:?}: registryScopes: {scope:?} is not REGISTRY/REPOSITORY"
                        )));
                    }
                    if scopes.insert(scope.clone(), index).is_some() {
                        return Err(invalid(format!(
                            "registry scope {scope:?} is in more than one statement"
                        )));
                    }
                }
            }
            statements.push(Statement {
                name: name.clone(),
                level,
                overrides,
                stores: raw.trust_stores.clone(),
                trusted: Arc::new(trusted),
                identities,
            });
        }
        Ok(TrustPolicy {
            path,
            statements,
            scopes,
            wildcard,
        })
    }

    /// The policy file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its statements, in file order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The statement for a repository named `REGISTRY/REPOSITORY` (as `registryScopes`
    /// names them: an exact scope wins over `*`), or `None` when no statement applies (then
    /// nothing about that repository is trusted: notation refuses to verify it).
    pub fn statement_for(&self, repository: &str) -> Option<&Statement> {
        self.scopes
            .get(repository)
            .or(self.wildcard.as_ref())
            .and_then(|&i| self.statements.get(i))
    }
}

/// Reads one named trust store: every regular file of the directory, PEM or DER; a
/// certificate that is not a CA must be self-signed (notation's rule).
fn load_store(dir: &Path) -> Result<Vec<Cert>, TrustError> {
    let invalid = |path: &Path, reason: String| TrustError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|source| TrustError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(invalid(
            dir,
            "the trust store is not a directory (symlinks are not followed)".into(),
        ));
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TrustError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
    entries.sort_by_key(|e| e.file_name());
    let mut certs = Vec::new();
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| TrustError::Read {
            path: path.clone(),
            source,
        })?;
        if !kind.is_file() {
            return Err(invalid(
                &path,
                "a trust store entry must be a regular file".into(),
            ));
        }
        let bytes = crate::error::read_limited(&path, MAX_STORE_FILE_BYTES)?;
        let found = cert::from_pem_or_der(&bytes).map_err(|e| invalid(&path, e))?;
        if found.is_empty() {
            return Err(invalid(&path, "holds no certificate".into()));
        }
        for c in &found {
            if !c.is_ca().map_err(|e| invalid(&path, e))? && !c.is_self_signed() {
                return Err(invalid(
                    &path,
                    format!(
                        "certificate {:?} is neither a CA nor self-signed",
                        c.subject
                    ),
                ));
            }
        }
        certs.extend(found);
        if certs.len() > MAX_STORE_CERTIFICATES {
            return Err(invalid(
                dir,
                format!("holds more than {MAX_STORE_CERTIFICATES} certificates"),
            ));
        }
    }
    if certs.is_empty() {
        return Err(invalid(dir, "the trust store holds no certificate".into()));
    }
    Ok(certs)
}
