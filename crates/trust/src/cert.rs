//! X.509 certificates as a Notary Project signature uses them: strict DER parsing with a size
//! limit, the subject as notation prints it, the public key and the JWS algorithm it implies
//! (notation's key specs), one certificate's signature by another, and the certificate
//! requirements of the signature specification (a code-signing chain ending in a
//! self-signed root, CA basic constraints, key usage, extended key usage).

use std::fmt;

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use chrono::{DateTime, Utc};
use x509_cert::Certificate;
use x509_cert::der::asn1::{ObjectIdentifier, UintRef};
use x509_cert::der::{Decode, Encode, Header, Reader, SliceReader};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::time::Time;

use crate::dn;

/// The largest certificate read (DER bytes).
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
/// The longest certificate chain read (an envelope's `x5c`, a signer's chain).
pub const MAX_CHAIN_LENGTH: usize = 10;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// Extended key usages a code-signing leaf must not have (notation's list).
const EXCLUDED_EKUS: [(&str, &str); 5] = [
    ("1.3.6.1.5.5.7.3.1", "serverAuth"),
    ("1.3.6.1.5.5.7.3.2", "clientAuth"),
    ("1.3.6.1.5.5.7.3.4", "emailProtection"),
    ("1.3.6.1.5.5.7.3.8", "timeStamping"),
    ("1.3.6.1.5.5.7.3.9", "OCSPSigning"),
];

/// An elliptic curve of a supported key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

/// A certificate's public key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// An EC key: its curve and uncompressed point.
    Ec { curve: Curve, point: Vec<u8> },
    /// An RSA key: the DER `RSAPublicKey` and the modulus size in bits.
    Rsa { der: Vec<u8>, bits: usize },
    /// Another algorithm (named by OID); it can sign nothing notation verifies.
    Other(String),
}

impl PublicKey {
    /// The JWS algorithm notation uses with this key (its key spec): ES256/ES384/ES512 by
    /// curve, PS256/PS384/PS512 for RSA 2048/3072/4096.
    pub(crate) fn jws_alg(&self) -> Result<&'static str, String> {
        match self {
            PublicKey::Ec { curve, .. } => Ok(match curve {
                Curve::P256 => "ES256",
                Curve::P384 => "ES384",
                Curve::P521 => "ES512",
            }),
            PublicKey::Rsa { bits, .. } => match bits {
                2048 => Ok("PS256"),
                3072 => Ok("PS384"),
                4096 => Ok("PS512"),
                _ => Err(format!(
                    "an RSA key of {bits} bits is not supported (2048, 3072 or 4096)"
                )),
            },
            PublicKey::Other(oid) => Err(format!("a key of algorithm {oid} is not supported")),
        }
    }

    /// The bytes the verification algorithms take.
    fn bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ec { point, .. } => point,
            PublicKey::Rsa { der, .. } => der,
            PublicKey::Other(_) => &[],
        }
    }

    /// Checks `signature` over `message` with the JWS algorithm `alg`, which must be the
    /// one this key implies.
    pub(crate) fn verify_jws(
        &self,
        alg: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let expected = self.jws_alg()?;
        if alg != expected {
            return Err(format!(
                "the envelope's alg is {alg}, but the signing certificate's key signs with {expected}"
            ));
        }
        let algorithm: &'static dyn VerificationAlgorithm = match alg {
            "ES256" => &sig::ECDSA_P256_SHA256_FIXED,
            "ES384" => &sig::ECDSA_P384_SHA384_FIXED,
            "ES512" => &sig::ECDSA_P521_SHA512_FIXED,
            "PS256" => &sig::RSA_PSS_2048_8192_SHA256,
            "PS384" => &sig::RSA_PSS_2048_8192_SHA384,
            _ => &sig::RSA_PSS_2048_8192_SHA512,
        };
        UnparsedPublicKey::new(algorithm, self.bytes())
            .verify(message, signature)
            .map_err(|_| {
                "the envelope's signature does not verify with the signing certificate's key"
                    .to_string()
            })
    }
}

/// One parsed certificate.
#[derive(Clone)]
pub(crate) struct Cert {
    /// The DER bytes, as read.
    pub der: Vec<u8>,
    /// The subject as notation prints it.
    pub subject: String,
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    signature_algorithm: ObjectIdentifier,
    signature: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub key: PublicKey,
    parsed: Box<Certificate>,
}

impl fmt::Debug for Cert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cert")
            .field("subject", &self.subject)
            .finish()
    }
}

impl PartialEq for Cert {
    fn eq(&self, other: &Cert) -> bool {
        self.der == other.der
    }
}

fn time_of(t: &Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The range of the `tbsCertificate` TLV inside a certificate's DER.
fn tbs_range(der: &[u8]) -> x509_cert::der::Result<std::ops::Range<usize>> {
    let mut reader = SliceReader::new(der)?;
    let _outer = Header::decode(&mut reader)?;
    let start = usize::try_from(reader.position())?;
    let header = Header::decode(&mut reader)?;
    let len = usize::try_from((header.encoded_len()? + header.length)?)?;
    Ok(start..start + len)
}

fn public_key(cert: &Certificate) -> Result<PublicKey, String> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or("the public key is not a whole number of bytes")?
        .to_vec();
    if spki.algorithm.oid == OID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or("the EC public key names no curve")?;
        let curve = match curve {
            c if c == OID_P256 => Curve::P256,
            c if c == OID_P384 => Curve::P384,
            c if c == OID_P521 => Curve::P521,
            other => return Ok(PublicKey::Other(format!("EC curve {other}"))),
        };
        Ok(PublicKey::Ec { curve, point: bits })
    } else if spki.algorithm.oid == OID_RSA {
        let mut reader = SliceReader::new(&bits).map_err(|e| format!("the RSA key: {e}"))?;
        let modulus = reader
            .sequence(|r| {
                let n = UintRef::decode(r)?;
                let _e = UintRef::decode(r)?;
                Ok(n.as_bytes().len())
            })
            .map_err(|e| format!("the RSA key: {e}"))?;
        Ok(PublicKey::Rsa {
            der: bits,
            bits: modulus * 8,
        })
    } else {
        Ok(PublicKey::Other(spki.algorithm.oid.to_string()))
    }
}

impl Cert {
    /// Parses one DER certificate (at most [`MAX_CERTIFICATE_BYTES`]).
    pub(crate) fn from_der(der: &[u8]) -> Result<Cert, String> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(format!(
                "a certificate of {} bytes is larger than {MAX_CERTIFICATE_BYTES} bytes",
                der.len()
            ));
        }
        let parsed =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = tbs_range(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs_cert = &parsed.tbs_certificate;
        let encode = |n: &x509_cert::name::Name| n.to_der().map_err(|e| format!("a name: {e}"));
        Ok(Cert {
            der: der.to_vec(),
            subject: dn::display(&tbs_cert.subject),
            subject_der: encode(&tbs_cert.subject)?,
            issuer_der: encode(&tbs_cert.issuer)?,
            tbs,
            signature_algorithm: parsed.signature_algorithm.oid,
            signature: parsed
                .signature
                .as_bytes()
                .ok_or("the certificate's signature is not a whole number of bytes")?
                .to_vec(),
            not_before: time_of(&tbs_cert.validity.not_before),
            not_after: time_of(&tbs_cert.validity.not_after),
            key: public_key(&parsed)?,
            parsed: Box::new(parsed),
        })
    }

    /// The subject as notation matches it against trusted identities.
    pub(crate) fn subject_map(&self) -> Result<dn::DnMap, String> {
        dn::subject_map(&self.parsed.tbs_certificate.subject)
    }

    /// Checks that `issuer` issued this certificate: names chain and `issuer`'s key verifies
    /// this certificate's signature.
    pub(crate) fn issued_by(&self, issuer: &Cert) -> Result<(), String> {
        if self.issuer_der != issuer.subject_der {
            return Err(format!(
                "certificate {:?} is not issued by {:?} (the names do not chain)",
                self.subject, issuer.subject
            ));
        }
        let curve = match &issuer.key {
            PublicKey::Ec { curve, .. } => Some(*curve),
            _ => None,
        };
        let oid = self.signature_algorithm;
        let algorithm: &'static dyn VerificationAlgorithm = match (curve, oid) {
            (Some(Curve::P256), o) if o == OID_ECDSA_SHA256 => &sig::ECDSA_P256_SHA256_ASN1,
            (Some(Curve::P256), o) if o == OID_ECDSA_SHA384 => &sig::ECDSA_P256_SHA384_ASN1,
            (Some(Curve::P384), o) if o == OID_ECDSA_SHA256 => &sig::ECDSA_P384_SHA256_ASN1,
            (Some(Curve::P384), o) if o == OID_ECDSA_SHA384 => &sig::ECDSA_P384_SHA384_ASN1,
            (Some(Curve::P521), o) if o == OID_ECDSA_SHA512 => &sig::ECDSA_P521_SHA512_ASN1,
            (None, o) if o == OID_RSA_SHA256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            (None, o) if o == OID_RSA_SHA384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            (None, o) if o == OID_RSA_SHA512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            (_, o) => {
                return Err(format!(
                    "certificate {:?} is signed with algorithm {o}, which is not supported with its issuer's key",
                    self.subject
                ));
            }
        };
        UnparsedPublicKey::new(algorithm, issuer.key.bytes())
            .verify(&self.der[self.tbs.clone()], &self.signature)
            .map_err(|_| {
                format!(
                    "the signature of certificate {:?} does not verify with the key of {:?}",
                    self.subject, issuer.subject
                )
            })
    }

    /// Whether the certificate is self-signed (its own issuer, by name and signature).
    pub(crate) fn is_self_signed(&self) -> bool {
        self.issued_by(self).is_ok()
    }

    fn extension<T: for<'a> Decode<'a>>(
        &self,
        oid: ObjectIdentifier,
    ) -> Result<Option<(bool, T)>, String> {
        let Some(exts) = &self.parsed.tbs_certificate.extensions else {
            return Ok(None);
        };
        let Some(ext) = exts.iter().find(|e| e.extn_id == oid) else {
            return Ok(None);
        };
        T::from_der(ext.extn_value.as_bytes())
            .map(|v| Some((ext.critical, v)))
            .map_err(|e| format!("certificate {:?}: extension {oid}: {e}", self.subject))
    }

    /// Whether the certificate is a CA by its basic constraints.
    pub(crate) fn is_ca(&self) -> Result<bool, String> {
        Ok(self
            .extension::<BasicConstraints>(OID_BASIC_CONSTRAINTS)?
            .is_some_and(|(_, bc)| bc.ca))
    }

    fn key_usage(&self) -> Result<KeyUsage, String> {
        match self.extension::<KeyUsage>(OID_KEY_USAGE)? {
            None => Err(format!(
                "certificate {:?}: the key usage extension must be present",
                self.subject
            )),
            Some((false, _)) => Err(format!(
                "certificate {:?}: the key usage extension must be critical",
                self.subject
            )),
            Some((true, ku)) => Ok(ku),
        }
    }

    /// The signature specification's requirements of a signing (leaf) certificate.
    fn check_leaf(&self) -> Result<(), String> {
        if self.is_ca()? {
            return Err(format!(
                "certificate {:?} signs, so its basic constraints must not make it a CA",
                self.subject
            ));
        }
        let ku = self.key_usage()?;
        if !ku.digital_signature() {
            return Err(format!(
                "certificate {:?}: the key usage must include digitalSignature",
                self.subject
            ));
        }
        if ku.key_encipherment()
            || ku.data_encipherment()
            || ku.key_agreement()
            || ku.key_cert_sign()
            || ku.crl_sign()
            || ku.encipher_only()
            || ku.decipher_only()
        {
            return Err(format!(
                "certificate {:?}: the key usage must be digitalSignature only",
                self.subject
            ));
        }
        if let Some((_, eku)) = self.extension::<ExtendedKeyUsage>(OID_EXT_KEY_USAGE)? {
            for oid in &eku.0 {
                let oid = oid.to_string();
                if let Some((_, name)) = EXCLUDED_EKUS.iter().find(|(o, _)| *o == oid) {
                    return Err(format!(
                        "certificate {:?}: the extended key usage must not include {name}",
                        self.subject
                    ));
                }
            }
        }
        self.key
            .jws_alg()
            .map(|_| ())
            .map_err(|e| format!("certificate {:?}: {e}", self.subject))
    }

    /// The requirements of a CA certificate `below` certificates above the leaf's issuer.
    fn check_ca(&self, below: usize) -> Result<(), String> {
        match self.extension::<BasicConstraints>(OID_BASIC_CONSTRAINTS)? {
            Some((_, bc)) if bc.ca => {
                if let Some(max) = bc.path_len_constraint
                    && usize::from(max) < below
                {
                    return Err(format!(
                        "certificate {:?} allows a path length of {max}, but {below} CA certificates are below it",
                        self.subject
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "certificate {:?} issues certificates but is not a CA by its basic constraints",
                    self.subject
                ));
            }
        }
        if !self.key_usage()?.key_cert_sign() {
            return Err(format!(
                "certificate {:?}: the key usage must include keyCertSign",
                self.subject
            ));
        }
        Ok(())
    }

    /// Whether `at` lies within the certificate's validity.
    pub(crate) fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

/// Checks a signing chain (leaf first) as notation does: each certificate issued by the
/// next, the last a self-signed root (or a lone self-signed signing certificate), no
/// self-signed leaf or intermediate, leaf and CA requirements, no repeated certificate.
pub(crate) fn check_chain(chain: &[Cert]) -> Result<(), String> {
    let Some(leaf) = chain.first() else {
        return Err("the certificate chain is empty".into());
    };
    if chain.len() > MAX_CHAIN_LENGTH {
        return Err(format!(
            "the certificate chain has {} certificates, more than {MAX_CHAIN_LENGTH}",
            chain.len()
        ));
    }
    for (i, c) in chain.iter().enumerate() {
        if chain[..i].contains(c) {
            return Err(format!(
                "the certificate chain repeats certificate {:?}",
                c.subject
            ));
        }
    }
    if chain.len() == 1 {
        if !leaf.is_self_signed() {
            return Err(format!(
                "the lone certificate {:?} is not self-signed",
                leaf.subject
            ));
        }
        return leaf.check_leaf();
    }
    for (i, c) in chain.iter().enumerate() {
        if let Some(parent) = chain.get(i + 1) {
            if c.is_self_signed() {
                return Err(format!(
                    "certificate {:?} is self-signed but is not the last of the chain",
                    c.subject
                ));
            }
            c.issued_by(parent)?;
        } else if !c.is_self_signed() {
            return Err(format!(
                "the chain's last certificate {:?} is not a self-signed root",
                c.subject
            ));
        }
        if i == 0 {
            c.check_leaf()?;
        } else {
            c.check_ca(i - 1)?;
        }
    }
    Ok(())
}

/// Parses the certificates of a PEM file (every `CERTIFICATE` block) or, failing that, one
/// DER certificate.
pub(crate) fn from_pem_or_der(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    if !is_pem {
        return Cert::from_der(bytes).map(|c| vec![c]);
    }
    let blocks = crate::pem::blocks(bytes)?;
    blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .enumerate()
        .map(|(i, b)| Cert::from_der(&b.der).map_err(|e| format!("certificate {}: {e}", i + 1)))
        .collect()
}
