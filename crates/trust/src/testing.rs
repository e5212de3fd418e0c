//! Test certificates and trust policies (feature `testing`, for this workspace's tests): a
//! root CA and a code-signing leaf made fresh with `rcgen`, and a notation configuration
//! directory (`trustpolicy.json` + `truststore/x509/ca/NAME/`) trusting the root.

// Test helpers: a failure to make a test certificate is a broken test, so it panics.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SignatureAlgorithm,
};

/// The key type of a test PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// EC P-256 (ES256).
    P256,
    /// EC P-384 (ES384).
    P384,
    /// RSA 2048 (PS256).
    Rsa2048,
}

/// What to make unusual about the leaf.
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

fn key(kind: KeyKind) -> KeyPair {
    let made = match kind {
        KeyKind::Rsa2048 => KeyPair::generate_rsa_for(algorithm(kind), RsaKeySize::_2048),
        _ => KeyPair::generate_for(algorithm(kind)),
    };
    made.expect("test key generation")
}

fn offset(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).expect("a time in range")
}

/// A fresh root CA (`CN=lineage test root`) and a leaf with `options`, both of `kind`.
pub fn pki(kind: KeyKind, options: &LeafOptions) -> Pki {
    let root_key = key(kind);
    let mut root = CertificateParams::new(Vec::<String>::new()).expect("params");
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
    root.not_before = offset(Utc::now() - Duration::days(365));
    root.not_after = offset(Utc::now() + Duration::days(365));
    let root_cert = root.self_signed(&root_key).expect("root certificate");

    let leaf_key = key(kind);
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("params");
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
    leaf.not_before = offset(options.not_before);
    leaf.not_after = offset(options.not_after);
    let issuer = Issuer::new(root, &root_key);
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    Pki {
        root_pem: root_cert.pem(),
        leaf_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

/// Writes a notation configuration directory at `dir`: `trustpolicy.json` with one
/// statement `NAME` for `scopes` at `level`, trusting `identities` through the store
/// `ca:NAME`, which holds `root_pem`. Returns the policy file's path.
pub fn write_policy(
    dir: &Path,
    name: &str,
    level: &str,
    scopes: &[&str],
    identities: &[&str],
    root_pem: &str,
) -> PathBuf {
    let store = dir.join("truststore/x509/ca").join(name);
    std::fs::create_dir_all(&store).expect("trust store directory");
    std::fs::write(store.join("root.pem"), root_pem).expect("trust store certificate");
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
    std::fs::write(&path, serde_json::to_vec_pretty(&policy).expect("json")).expect("policy");
    path
}
