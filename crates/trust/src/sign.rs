//! Signing a descriptor as `notation sign` does: the JWS envelope and its signature manifest.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use lineage_oci::{Descriptor, Digest, artifact};

use crate::cert::{self, Cert, Curve, MAX_CHAIN_LENGTH, PublicKey};
use crate::envelope::{self, Unsigned};
use crate::{JWS_MEDIA_TYPE, SIGNATURE_ARTIFACT_TYPE, THUMBPRINT_ANNOTATION, TrustError};

/// The largest key or certificate chain file [`Signer::load`] reads.
pub const MAX_PEM_FILE_BYTES: u64 = 1 << 20;

/// The signing agent lineage writes into the envelope's unprotected header.
pub const SIGNING_AGENT: &str = concat!("lineage/", env!("CARGO_PKG_VERSION"));

enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair, &'static dyn sig::RsaEncoding),
}

/// A signing key with its certificate chain (leaf first), read from PEM: PKCS#8 EC P-256 or
/// P-384, or RSA of at least 2048 bits. Never logged (its `Debug` shows the chain's subject only).
pub struct Signer {
    key: Key,
    alg: &'static str,
    chain: Vec<Cert>,
    expiry: Option<Duration>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("subject", &self.subject())
            .field("alg", &self.alg)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A signature ready to push as a referrer of the signed artifact.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The JWS envelope (`application/jose+json`), the manifest's one layer.
    pub envelope: Vec<u8>,
    /// The signature manifest (an OCI image manifest with `artifactType`
    /// [`crate::SIGNATURE_ARTIFACT_TYPE`], the empty config, the envelope layer, `subject` the
    /// signed artifact and the thumbprint annotation), exact bytes to push by digest.
    pub manifest: Vec<u8>,
    /// The config blob the manifest names (the empty JSON object `{}`).
    pub config: Vec<u8>,
}

impl Signature {
    /// The digest of [`Signature::manifest`].
    pub fn manifest_digest(&self) -> Digest {
        Digest::sha256(&self.manifest)
    }
}

fn invalid(what: &str, reason: impl Into<String>) -> TrustError {
    TrustError::Invalid {
        path: what.into(),
        reason: reason.into(),
    }
}

fn ec_algorithm(curve: Curve) -> (&'static EcdsaSigningAlgorithm, &'static str) {
    match curve {
        Curve::P256 => (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, "ES256"),
        Curve::P384 => (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, "ES384"),
        Curve::P521 => (&sig::ECDSA_P521_SHA512_FIXED_SIGNING, "ES512"),
    }
}

impl Signer {
    /// [`Signer::from_pem`] of the files `key` and `chain`, each read with a limit of
    /// [`MAX_PEM_FILE_BYTES`].
    pub fn load(key: &std::path::Path, chain: &std::path::Path) -> Result<Signer, TrustError> {
        let key_pem = crate::error::read_limited(key, MAX_PEM_FILE_BYTES)?;
        let chain_pem = crate::error::read_limited(chain, MAX_PEM_FILE_BYTES)?;
        Signer::from_pem(&key_pem, &chain_pem)
    }

    /// A signer from a PEM private key and a PEM certificate chain (leaf first); the key must
    /// match the leaf. Errors name the file as `key` or `certificate chain` (the caller
    /// knows the paths); no error shows key material.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<Signer, TrustError> {
        let blocks = crate::pem::blocks(chain_pem).map_err(|e| invalid("certificate chain", e))?;
        let certs: Vec<_> = blocks.iter().filter(|b| b.label == "CERTIFICATE").collect();
        if certs.is_empty() {
            return Err(invalid(
                "certificate chain",
                "holds no PEM CERTIFICATE block",
            ));
        }
        if certs.len() > MAX_CHAIN_LENGTH {
            return Err(invalid(
                "certificate chain",
                format!(
                    "holds {} certificates, more than {MAX_CHAIN_LENGTH}",
                    certs.len()
                ),
            ));
        }
        let chain = certs
            .iter()
            .enumerate()
            .map(|(i, b)| Cert::from_der(&b.der).map_err(|e| format!("certificate {}: {e}", i + 1)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("certificate chain", e))?;
        cert::check_chain(&chain).map_err(|e| invalid("certificate chain", e))?;
        let leaf = &chain[0];
        let alg = leaf
            .key
            .jws_alg()
            .map_err(|e| invalid("certificate chain", e))?;

        let key_err = |reason: &str| invalid("key", reason.to_string());
        let blocks = crate::pem::blocks(key_pem).map_err(|e| invalid("key", e))?;
        let block = blocks
            .iter()
            .find(|b| b.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| key_err("holds no PEM PRIVATE KEY block"))?;
        let key = match (&leaf.key, block.label.as_str()) {
            (_, "ENCRYPTED PRIVATE KEY") => {
                return Err(key_err("is encrypted; give an unencrypted PKCS#8 key"));
            }
            (PublicKey::Ec { curve, .. }, "PRIVATE KEY" | "EC PRIVATE KEY") => {
                let (algorithm, _) = ec_algorithm(*curve);
                EcdsaKeyPair::from_private_key_der(algorithm, &block.der)
                    .or_else(|_| EcdsaKeyPair::from_pkcs8(algorithm, &block.der))
                    .map(Key::Ec)
                    .map_err(|_| key_err("is not an EC key on the signing certificate's curve"))?
            }
            (PublicKey::Rsa { .. }, "PRIVATE KEY") => RsaKeyPair::from_pkcs8(&block.der)
                .map(|k| Key::Rsa(k, rsa_encoding(alg)))
                .map_err(|_| key_err("is not an RSA key of at least 2048 bits"))?,
            (PublicKey::Rsa { .. }, "RSA PRIVATE KEY") => RsaKeyPair::from_der(&block.der)
                .map(|k| Key::Rsa(k, rsa_encoding(alg)))
                .map_err(|_| key_err("is not an RSA key of at least 2048 bits"))?,
            (_, label) => {
                return Err(key_err(&format!(
                    "is a {label} block, which does not fit the signing certificate's key type"
                )));
            }
        };
        let public: &[u8] = match &key {
            Key::Ec(k) => k.public_key().as_ref(),
            Key::Rsa(k, _) => k.public_key().as_ref(),
        };
        let leaf_public = match &leaf.key {
            PublicKey::Ec { point, .. } => point.as_slice(),
            PublicKey::Rsa { der, .. } => der.as_slice(),
            PublicKey::Other(_) => &[],
        };
        if public != leaf_public {
            return Err(key_err(&format!(
                "does not match the signing certificate {:?}",
                leaf.subject
            )));
        }
        Ok(Signer {
            key,
            alg,
            chain,
            expiry: None,
        })
    }

    /// Signatures made by this signer expire `after` their signing time (the
    /// `io.cncf.notary.expiry` header, as `notation sign --expiry`).
    pub fn with_expiry(mut self, after: Duration) -> Signer {
        self.expiry = Some(after);
        self
    }

    /// The signing certificate's subject as notation prints it (the identity a verifier
    /// reports).
    pub fn subject(&self) -> &str {
        &self.chain[0].subject
    }

    /// Signs `subject` (the record's descriptor: media type, digest, size) at `signing_time`
    /// (whole seconds; the fraction is dropped as notation does).
    pub fn sign(
        &self,
        subject: &Descriptor,
        signing_time: DateTime<Utc>,
    ) -> Result<Signature, TrustError> {
        let signing_time = signing_time.trunc_subsecs(0);
        for c in &self.chain {
            if !c.valid_at(signing_time) {
                return Err(invalid(
                    "certificate chain",
                    format!(
                        "certificate {:?} is not valid at the signing time {} (valid {} to {})",
                        c.subject,
                        envelope::header_time(signing_time),
                        envelope::header_time(c.not_before),
                        envelope::header_time(c.not_after)
                    ),
                ));
            }
        }
        let target = Descriptor {
            annotations: subject.annotations.clone(),
            ..Descriptor::new(
                subject.media_type.clone(),
                subject.digest.clone(),
                subject.size,
            )
        };
        let expiry = self.expiry.map(|d| signing_time + d);
        let unsigned = Unsigned::new(self.alg, &target, signing_time, expiry)
            .map_err(|e| invalid("signature", e))?;
        let input = unsigned.signing_input();
        let rng = SystemRandom::new();
        let signature = match &self.key {
            Key::Ec(k) => k
                .sign(&rng, &input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| invalid("signature", "signing failed"))?,
            Key::Rsa(k, encoding) => {
                let mut out = vec![0; k.public_modulus_len()];
                k.sign(*encoding, &rng, &input, &mut out)
                    .map_err(|_| invalid("signature", "signing failed"))?;
                out
            }
        };
        let envelope = unsigned
            .finish(&signature, &self.chain, SIGNING_AGENT)
            .map_err(|e| invalid("signature", e))?;
        let layer = Descriptor::new(
            JWS_MEDIA_TYPE,
            Digest::sha256(&envelope),
            envelope.len() as u64,
        );
        let thumbprints: Vec<String> = self
            .chain
            .iter()
            .map(|c| Digest::sha256(&c.der).encoded().to_string())
            .collect();
        let mut annotations = BTreeMap::new();
        annotations.insert(
            THUMBPRINT_ANNOTATION.to_string(),
            serde_json::to_string(&thumbprints).map_err(|e| invalid("signature", e.to_string()))?,
        );
        annotations.insert(
            artifact::ANNOTATION_CREATED.to_string(),
            envelope::header_time(signing_time),
        );
        let manifest = artifact::manifest(SIGNATURE_ARTIFACT_TYPE, &target, &[layer], &annotations)
            .map_err(|e| invalid("signature", e.to_string()))?;
        Ok(Signature {
            envelope,
            manifest: manifest.bytes().to_vec(),
            config: lineage_oci::descriptor::EMPTY_JSON.to_vec(),
        })
    }
}

fn rsa_encoding(alg: &str) -> &'static dyn sig::RsaEncoding {
    match alg {
        "PS384" => &sig::RSA_PSS_SHA384,
        "PS512" => &sig::RSA_PSS_SHA512,
        _ => &sig::RSA_PSS_SHA256,
    }
}
