//! Verifying one signature envelope of one artifact against one trust policy statement.

use chrono::{DateTime, Utc};
use lineage_oci::Descriptor;

use crate::policy::Check;
use crate::{JWS_MEDIA_TYPE, Statement, cert, envelope};

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

    /// The check of notation's whose failure this is, for [`Statement::action`]: an
    /// expired signature is [`Check::Expiry`], a certificate invalid now or at signing
    /// time is reported as expired too and counts under the same check.
    pub fn check(self) -> Check {
        match self {
            Reason::Unsigned | Reason::BadSignature => Check::Integrity,
            Reason::UntrustedIdentity => Check::Authenticity,
            Reason::Expired => Check::Expiry,
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
/// `statement.level` (see [`Statement::action`] and [`Reason::check`]).
///
/// The checks run in notation's order, so a rejection names the first that failed:
/// integrity ([`Reason::BadSignature`]: media type, envelope, signature, chain, payload),
/// authenticity ([`Reason::UntrustedIdentity`]: trust store, trusted identity), then expiry
/// ([`Reason::Expired`]: the expiry header, the signing time within each certificate's
/// validity, each certificate valid at `now`).
pub fn verify(
    statement: &Statement,
    subject: &Descriptor,
    media_type: &str,
    envelope: &[u8],
    now: DateTime<Utc>,
) -> Verification {
    match check(statement, subject, media_type, envelope, now) {
        Ok(v) => Verification::Verified(v),
        Err(r) => Verification::Rejected(r),
    }
}

fn reject(reason: Reason) -> impl Fn(String) -> Rejected {
    move |detail| Rejected { reason, detail }
}

fn check(
    statement: &Statement,
    subject: &Descriptor,
    media_type: &str,
    envelope: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, Rejected> {
    let bad = reject(Reason::BadSignature);
    let media_type = lineage_oci::manifest::strip_parameters(media_type);
    if media_type != JWS_MEDIA_TYPE {
        return Err(bad(format!(
            "the signature's media type is {media_type:?}; lineage verifies {JWS_MEDIA_TYPE} envelopes"
        )));
    }
    let env = envelope::parse(envelope).map_err(&bad)?;
    let leaf = &env.chain[0];
    leaf.key
        .verify_jws(&env.alg, &env.signing_input, &env.signature)
        .map_err(&bad)?;
    cert::check_chain(&env.chain).map_err(&bad)?;
    let target = &env.target;
    if target.digest != subject.digest
        || target.size != subject.size
        || target.media_type != subject.media_type
    {
        return Err(bad(format!(
            "the payload names {} {} ({} bytes), not this record {} {} ({} bytes)",
            target.media_type,
            target.digest,
            target.size,
            subject.media_type,
            subject.digest,
            subject.size
        )));
    }

    let untrusted = reject(Reason::UntrustedIdentity);
    let trusted = statement.trusted_certificates();
    if !env.chain.iter().any(|c| trusted.contains(c)) {
        return Err(untrusted(format!(
            "the chain of {:?} leads to no certificate of the trust stores {} of statement {:?}",
            leaf.subject,
            statement.trust_stores().join(", "),
            statement.name
        )));
    }
    statement.trusts_identity(leaf).map_err(&untrusted)?;

    let expired = reject(Reason::Expired);
    if let Some(expiry) = env.expiry
        && expiry <= now
    {
        return Err(expired(format!(
            "the signature expired at {}",
            envelope::header_time(expiry)
        )));
    }
    for c in &env.chain {
        if !c.valid_at(env.signing_time) {
            return Err(expired(format!(
                "certificate {:?} (valid {} to {}) was not valid at the signing time {}",
                c.subject,
                envelope::header_time(c.not_before),
                envelope::header_time(c.not_after),
                envelope::header_time(env.signing_time)
            )));
        }
        if !c.valid_at(now) {
            return Err(expired(format!(
                "certificate {:?} is not valid now (valid {} to {})",
                c.subject,
                envelope::header_time(c.not_before),
                envelope::header_time(c.not_after)
            )));
        }
    }
    Ok(Verified {
        identity: leaf.subject.clone(),
        signed_at: env.signing_time,
    })
}
