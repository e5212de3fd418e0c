//! Throw-away certificates (feature `pki`): a root CA and a code-signing leaf it issued, made
//! fresh with `rcgen`, and a notation configuration directory (`trustpolicy.json` +
//! `truststore/x509/ca/NAME/`) trusting the root. `lineage demo` signs with them on a machine
//! with no files, and this workspace's tests (feature `testing`) build their PKIs with them.
//! Nothing here is for real signing keys: the key exists only as the PEM returned.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SignatureAlgorithm,
};

/// Why a throw-away PKI could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Key generation or certificate signing failed.
    #[error("cannot make the {what}: {source}")]
    Certificate {
        /// Which part (`root key`, `leaf certificate`…).
        what: &'static str,
        /// The library's error.
        #[source]
        source: rcgen::Error,
    },
    /// A validity bound outside what a certificate can say.
    #[error("the time {0} is out of a certificate's range")]
    Time(DateTime<Utc>),
}

/// The key type of a PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// EC P-256 (ES256).
    P256,
    /// EC P-384 (ES384).
    P384,
    /// RSA 2048 (PS256).
    Rsa2048,
}

/// The leaf to issue.
#[derive(Debug, Clone)]
pub struct LeafOptions {
    /// The leaf's subject attributes, in certificate order.
    pub subject: Vec<(DnType, String)>,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// Make the leaf a CA (which a signing certificate must not be).
    pub ca: bool,
    /// Give the leaf the serverAuth extended key usage (which notation rejects).
    pub server_auth: bool,
}

impl Default for LeafOptions {
    /// `C=US, ST=WA, O=Example, CN=release-pipeline`, valid from a day ago for 30 days.
    fn default() -> Self {
        LeafOptions {
            subject: vec![
                (DnType::CountryName, "US".into()),
                (DnType::StateOrProvinceName, "WA".into()),
                (DnType::OrganizationName, "Example".into()),
                (DnType::CommonName, "release-pipeline".into()),
            ],
            not_before: Utc::now() - Duration::days(1),
            not_after: Utc::now() + Duration::days(30),
            ca: false,
            server_auth: false,
        }
    }
}

/// A root CA and a leaf it issued, as PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The root certificate.
    pub root_pem: String,
    /// The leaf certificate.
    pub leaf_pem: String,
    /// The leaf's private key (PKCS#8).
    pub key_pem: String,
}

impl Pki {
    /// The signing chain file's content: leaf, then root.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.leaf_pem, self.root_pem)
    }
}

fn algorithm(kind: KeyKind) -> &'static SignatureAlgorithm {
    match kind {
        KeyKind::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyKind::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyKind::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
    }
}

fn key(kind: KeyKind, what: &'static str) -> Result<KeyPair, PkiError> {
    match kind {
        KeyKind::Rsa2048 => KeyPair::generate_rsa_for(algorithm(kind), RsaKeySize::_2048),
        _ => KeyPair::generate_for(algorithm(kind)),
    }
    .map_err(|source| PkiError::Certificate { what, source })
}

fn offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|_| PkiError::Time(t))
}

fn failed(what: &'static str) -> impl Fn(rcgen::Error) -> PkiError {
    move |source| PkiError::Certificate { what, source }
}

/// A fresh root CA (`C=US, ST=WA, O=Example, CN=lineage test root`, valid a year either side
/// of now) and a leaf with `options` it issued, both of `kind`.
pub fn generate(kind: KeyKind, options: &LeafOptions) -> Result<Pki, PkiError> {
    let root_key = key(kind, "root key")?;
    let mut root = CertificateParams::new(Vec::<String>::new()).map_err(failed("root"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::StateOrProvinceName, "WA");
    dn.push(DnType::OrganizationName, "Example");
    dn.push(DnType::CommonName, "lineage test root");
    root.distinguished_name = dn;
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    root.not_before = offset(Utc::now() - Duration::days(365))?;
    root.not_after = offset(Utc::now() + Duration::days(365))?;
    let root_cert = root
        .self_signed(&root_key)
        .map_err(failed("root certificate"))?;

    let leaf_key = key(kind, "leaf key")?;
    let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(failed("leaf"))?;
    let mut dn = DistinguishedName::new();
    for (t, v) in &options.subject {
        dn.push(t.clone(), v.as_str());
    }
    leaf.distinguished_name = dn;
    leaf.is_ca = if options.ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    if options.server_auth {
        leaf.extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    leaf.not_before = offset(options.not_before)?;
    leaf.not_after = offset(options.not_after)?;
    let issuer = Issuer::new(root, &root_key);
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .map_err(failed("leaf certificate"))?;
    Ok(Pki {
        root_pem: root_cert.pem(),
        leaf_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    })
}

/// Writes a notation configuration directory at `dir`: `trustpolicy.json` with one
/// statement `NAME` for `scopes` at `level`, trusting `identities` through the store
/// `ca:NAME`, which holds `root_pem` (as `truststore/x509/ca/NAME/root.pem`). Returns the
/// policy file's path.
pub fn write_notation_dir(
    dir: &Path,
    name: &str,
    level: &str,
    scopes: &[&str],
    identities: &[&str],
    root_pem: &str,
) -> std::io::Result<PathBuf> {
    let store = dir.join("truststore/x509/ca").join(name);
    std::fs::create_dir_all(&store)?;
    std::fs::write(store.join("root.pem"), root_pem)?;
    let policy = serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": name,
            "registryScopes": scopes,
            "signatureVerification": {"level": level},
            "trustStores": [format!("ca:{name}")],
            "trustedIdentities": identities,
        }]
    });
    let path = dir.join("trustpolicy.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&policy)?)?;
    Ok(path)
}
