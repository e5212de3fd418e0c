//! Verifying one signature envelope of one artifact against one trust policy statement.

use chrono::{DateTime, Utc};
use lineage_oci::Descriptor;

use crate::Statement;

/// A signature that verified: who signed, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signing certificate's subject, as notation's `trustedIdentities` name it
    /// (`CN=release-pipeline,O=Example`).
    pub identity: String,
    /// The signing time from the protected headers.
    pub signed_at: DateTime<Utc>,
}

/// Why a record's signature does not count (DESIGN §8.4's warning reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The record has no signature.
    Unsigned,
    /// Signed by a certificate that does not chain to the trust store, or whose subject is not
    /// among the statement's trusted identities.
    UntrustedIdentity,
    /// The envelope is malformed, its signature does not verify, or its payload names another
    /// artifact.
    BadSignature,
    /// The envelope's expiry, or the certificate's validity, has passed (or the signing time
    /// is outside the certificate's validity).
    Expired,
}

impl Reason {
    /// The reason as the status JSON's warnings write it (`unsigned`, `untrusted-identity`,
    /// `bad-signature`, `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unsigned => "unsigned",
            Reason::UntrustedIdentity => "untrusted-identity",
            Reason::BadSignature => "bad-signature",
            Reason::Expired => "expired",
        }
    }
}

/// A signature that does not count, with the reason and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The reason.
    pub reason: Reason,
    /// What exactly failed (names the certificate, header or field).
    pub detail: String,
}

/// The result of verifying one envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The signature verified under the statement.
    Verified(Verified),
    /// It did not.
    Rejected(Rejected),
}

/// Verifies `envelope` (the bytes of a signature manifest's layer of media type `media_type`)
/// as a signature of `subject` under `statement`, at time `now`. Never panics on any input:
/// malformed envelopes, wrong media types, oversized chains and cycles are rejected with a
/// reason. The level is not applied here: the caller decides what a rejection means under
/// `statement.level`.
pub fn verify(
    statement: &Statement,
    subject: &Descriptor,
    media_type: &str,
    envelope: &[u8],
    now: DateTime<Utc>,
) -> Verification {
    let _ = (statement, subject, media_type, envelope, now);
    todo!("issue 16: verification")
}
