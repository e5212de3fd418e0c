//! Notary Project signatures of lineage's lifecycle records (issue 16, DESIGN §8.4–8.5).
//!
//! This crate owns everything about a signature that does not need the network: the wire
//! format of a Notary Project signature as `notation sign` writes one (a JWS envelope,
//! `application/jose+json`, whose payload `application/vnd.cncf.notary.payload.v1+json` names
//! the signed artifact's descriptor; protected headers with the `notary.x509` signing scheme,
//! the signing time and the critical headers; the X.509 chain in `x5c`), the signature manifest
//! that carries it as a referrer of the record, signing with a PEM key and chain ([`Signer`]),
//! notation's trust policy and trust store in notation's own file shapes ([`TrustPolicy`]),
//! and the verification of one envelope against one policy statement ([`verify`]). With
//! feature `pki`, it also makes throw-away certificate chains and notation configuration
//! directories (`pki`: what `lineage demo` signs with, and what the tests' PKIs are made of).
//!
//! Fetching signatures from a registry and deciding which records count belong to
//! `lineage-lifecycle`; this crate only reads bytes it is given, with size limits.

mod cert;
mod dn;
pub mod envelope;
mod error;
mod pem;
#[cfg(feature = "pki")]
pub mod pki;
pub mod policy;
pub mod sign;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

pub use cert::{MAX_CERTIFICATE_BYTES, MAX_CHAIN_LENGTH};
pub use error::TrustError;
pub use policy::{Action, Check, Level, Statement, TrustPolicy};
pub use sign::{Signature, Signer};
pub use verify::{Reason, Rejected, Verification, Verified, verify};

/// The artifact type of a Notary Project signature manifest.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
/// The media type of a JWS envelope (the signature manifest's one layer).
pub const JWS_MEDIA_TYPE: &str = "application/jose+json";
/// The media type of a Notary Project payload (the JWS payload's `cty`).
pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";
/// The annotation of a signature manifest listing the SHA-256 thumbprints of its chain.
pub const THUMBPRINT_ANNOTATION: &str = "io.cncf.notary.x509chain.thumbprint#S256";
