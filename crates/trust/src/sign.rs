//! Signing a descriptor as `notation sign` does: the JWS envelope and its signature manifest.

use chrono::{DateTime, Utc};
use lineage_oci::Descriptor;

use crate::TrustError;

/// A signing key with its certificate chain (leaf first), read from PEM: PKCS#8 EC P-256 or
/// P-384, or RSA of at least 2048 bits. Never logged (its `Debug` shows the chain's subject only).
pub struct Signer {
    // key and chain: the implementation's.
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

impl Signer {
    /// A signer from a PEM private key and a PEM certificate chain (leaf first); the key must
    /// match the leaf.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<Signer, TrustError> {
        let _ = (key_pem, chain_pem);
        todo!("issue 16: signing")
    }

    /// Signs `subject` (the record's descriptor: media type, digest, size) at `signing_time`.
    pub fn sign(
        &self,
        subject: &Descriptor,
        signing_time: DateTime<Utc>,
    ) -> Result<Signature, TrustError> {
        let _ = (subject, signing_time);
        todo!("issue 16: signing")
    }
}
