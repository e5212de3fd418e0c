//! The Notary Project JWS envelope (`application/jose+json`): its JSON serialization
//! `{payload, protected, header: {x5c, io.cncf.notary.signingAgent}, signature}`, read with
//! size limits and notation's header rules, and written as `notation sign` writes it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use lineage_oci::Descriptor;
use serde_json::{Map, Value, json};

use crate::PAYLOAD_MEDIA_TYPE;
use crate::cert::{Cert, MAX_CHAIN_LENGTH};

/// The largest envelope read, in bytes.
pub const MAX_ENVELOPE_BYTES: usize = 1 << 20;
/// The signing scheme lineage signs and verifies.
pub const SIGNING_SCHEME: &str = "notary.x509";

pub(crate) const HEADER_SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
pub(crate) const HEADER_SIGNING_TIME: &str = "io.cncf.notary.signingTime";
pub(crate) const HEADER_EXPIRY: &str = "io.cncf.notary.expiry";
const HEADER_AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";
const HEADER_SIGNING_AGENT: &str = "io.cncf.notary.signingAgent";
/// The protected headers a Notary Project verifier understands (notation's list).
const KNOWN_CRITICAL: [&str; 3] = [
    HEADER_SIGNING_SCHEME,
    HEADER_EXPIRY,
    HEADER_AUTHENTIC_SIGNING_TIME,
];

/// A parsed envelope.
#[derive(Debug)]
pub(crate) struct Envelope {
    /// `BASE64URL(protected) "." BASE64URL(payload)`: what the signature covers.
    pub signing_input: Vec<u8>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The `alg` header.
    pub alg: String,
    /// The signing time.
    pub signing_time: DateTime<Utc>,
    /// The expiry, when the signer set one.
    pub expiry: Option<DateTime<Utc>>,
    /// The payload's `targetArtifact`.
    pub target: Descriptor,
    /// The certificate chain, leaf first.
    pub chain: Vec<Cert>,
}

fn str_field<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a str, String> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("the {what} {key} is not a string")),
        None => Err(format!("the {what} has no {key}")),
    }
}

fn time_field(map: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("the protected header {key} {s:?} is not an RFC 3339 time: {e}")),
        Some(_) => Err(format!("the protected header {key} is not a string")),
    }
}

fn b64url(value: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|e| format!("the envelope's {what} is not unpadded base64url: {e}"))
}

/// Reads an envelope: size limits, the JWS JSON shape, the protected headers (alg, cty,
/// crit, signing scheme, signing time, expiry; unknown critical headers rejected), the
/// payload and the chain. Every failure is a sentence naming the field.
pub(crate) fn parse(bytes: &[u8]) -> Result<Envelope, String> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(format!(
            "the envelope has {} bytes, more than {MAX_ENVELOPE_BYTES}",
            bytes.len()
        ));
    }
    let top: Map<String, Value> = serde_json::from_slice(bytes)
        .map_err(|e| format!("the envelope is not a JWS JSON object: {e}"))?;
    let protected_b64 = str_field(&top, "protected", "envelope")?;
    let payload_b64 = str_field(&top, "payload", "envelope")?;
    let signature = b64url(str_field(&top, "signature", "envelope")?, "signature")?;

    let protected: Map<String, Value> =
        serde_json::from_slice(&b64url(protected_b64, "protected header")?)
            .map_err(|e| format!("the protected header is not a JSON object: {e}"))?;
    let alg = str_field(&protected, "alg", "protected header")?.to_string();
    let cty = str_field(&protected, "cty", "protected header")?;
    if cty != PAYLOAD_MEDIA_TYPE {
        return Err(format!(
            "the payload's content type (cty) is {cty:?}, not {PAYLOAD_MEDIA_TYPE}"
        ));
    }
    let scheme = str_field(&protected, HEADER_SIGNING_SCHEME, "protected header")?;
    if scheme != SIGNING_SCHEME {
        return Err(format!(
            "the signing scheme {scheme:?} is not supported (only {SIGNING_SCHEME})"
        ));
    }
    let crit: Vec<&str> = match protected.get("crit") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| "the protected header crit has a non-string entry".to_string())
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("the protected header crit is not an array".into()),
        None => return Err("the protected header has no crit".into()),
    };
    for name in &crit {
        if !KNOWN_CRITICAL.contains(name) {
            return Err(format!("the critical header {name:?} is not understood"));
        }
        if !protected.contains_key(*name) {
            return Err(format!(
                "the critical header {name:?} is missing from the protected headers"
            ));
        }
    }
    if !crit.contains(&HEADER_SIGNING_SCHEME) {
        return Err(format!(
            "the protected header crit does not list {HEADER_SIGNING_SCHEME}"
        ));
    }
    if protected.contains_key(HEADER_EXPIRY) && !crit.contains(&HEADER_EXPIRY) {
        return Err(format!(
            "the protected header crit does not list {HEADER_EXPIRY}"
        ));
    }
    if protected.contains_key(HEADER_AUTHENTIC_SIGNING_TIME) {
        return Err(format!(
            "{HEADER_AUTHENTIC_SIGNING_TIME} is not allowed with the {SIGNING_SCHEME} scheme"
        ));
    }
    let signing_time = time_field(&protected, HEADER_SIGNING_TIME)?
        .ok_or_else(|| format!("the protected header has no {HEADER_SIGNING_TIME}"))?;
    let expiry = time_field(&protected, HEADER_EXPIRY)?;

    let payload: Map<String, Value> = serde_json::from_slice(&b64url(payload_b64, "payload")?)
        .map_err(|e| format!("the payload is not a JSON object: {e}"))?;
    let target = payload
        .get("targetArtifact")
        .ok_or("the payload has no targetArtifact")?;
    let target: Descriptor = serde_json::from_value(target.clone())
        .map_err(|e| format!("the payload's targetArtifact is not a descriptor: {e}"))?;

    let header = match top.get("header") {
        Some(Value::Object(h)) => h,
        _ => return Err("the envelope has no unprotected header object".into()),
    };
    let x5c = match header.get("x5c") {
        Some(Value::Array(items)) => items,
        _ => return Err("the unprotected header has no x5c array".into()),
    };
    if x5c.is_empty() {
        return Err("the certificate chain (x5c) is empty".into());
    }
    if x5c.len() > MAX_CHAIN_LENGTH {
        return Err(format!(
            "the certificate chain (x5c) has {} certificates, more than {MAX_CHAIN_LENGTH}",
            x5c.len()
        ));
    }
    let chain = x5c
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s = v
                .as_str()
                .ok_or_else(|| format!("x5c[{i}] is not a string"))?;
            let der = STANDARD
                .decode(s)
                .map_err(|e| format!("x5c[{i}] is not base64: {e}"))?;
            Cert::from_der(&der).map_err(|e| format!("x5c[{i}]: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;

    let mut signing_input = protected_b64.as_bytes().to_vec();
    signing_input.push(b'.');
    signing_input.extend_from_slice(payload_b64.as_bytes());
    Ok(Envelope {
        signing_input,
        signature,
        alg,
        signing_time,
        expiry,
        target,
        chain,
    })
}

/// The parts of a new envelope before signing.
pub(crate) struct Unsigned {
    protected_b64: String,
    payload_b64: String,
}

/// A time as the protected headers write it (RFC 3339, whole seconds, UTC).
pub(crate) fn header_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Unsigned {
    /// The protected headers and payload of a signature of `subject`.
    pub(crate) fn new(
        alg: &str,
        subject: &Descriptor,
        signing_time: DateTime<Utc>,
        expiry: Option<DateTime<Utc>>,
    ) -> Result<Unsigned, String> {
        let mut crit = vec![HEADER_SIGNING_SCHEME];
        let mut protected = json!({
            "alg": alg,
            "cty": PAYLOAD_MEDIA_TYPE,
            HEADER_SIGNING_SCHEME: SIGNING_SCHEME,
            HEADER_SIGNING_TIME: header_time(signing_time),
        });
        if let (Some(expiry), Value::Object(map)) = (expiry, &mut protected) {
            crit.push(HEADER_EXPIRY);
            map.insert(HEADER_EXPIRY.into(), json!(header_time(expiry)));
        }
        if let Value::Object(map) = &mut protected {
            map.insert("crit".into(), json!(crit));
        }
        let mut target = json!({
            "mediaType": subject.media_type,
            "digest": subject.digest.to_string(),
            "size": subject.size,
        });
        if let (Some(annotations), Value::Object(map)) = (&subject.annotations, &mut target) {
            map.insert("annotations".into(), json!(annotations));
        }
        let payload = json!({ "targetArtifact": target });
        let encode = |v: &Value| {
            serde_json::to_vec(v)
                .map(|b| URL_SAFE_NO_PAD.encode(b))
                .map_err(|e| e.to_string())
        };
        Ok(Unsigned {
            protected_b64: encode(&protected)?,
            payload_b64: encode(&payload)?,
        })
    }

    /// What the signature covers.
    pub(crate) fn signing_input(&self) -> Vec<u8> {
        format!("{}.{}", self.protected_b64, self.payload_b64).into_bytes()
    }

    /// The envelope's bytes with `signature`, the chain and the signing agent.
    pub(crate) fn finish(
        self,
        signature: &[u8],
        chain: &[Cert],
        agent: &str,
    ) -> Result<Vec<u8>, String> {
        let x5c: Vec<String> = chain.iter().map(|c| STANDARD.encode(&c.der)).collect();
        let envelope = json!({
            "payload": self.payload_b64,
            "protected": self.protected_b64,
            "header": { "x5c": x5c, HEADER_SIGNING_AGENT: agent },
            "signature": URL_SAFE_NO_PAD.encode(signature),
        });
        serde_json::to_vec(&envelope).map_err(|e| e.to_string())
    }
}

/// What an envelope says, read with all of [`parse`]'s checks but before any signature or
/// trust check: for tools that show a signature, and for fuzzing the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The `alg` header.
    pub alg: String,
    /// The signing certificate's subject.
    pub signer: String,
    /// The signing time.
    pub signing_time: DateTime<Utc>,
    /// The expiry, if any.
    pub expiry: Option<DateTime<Utc>>,
    /// The payload's `targetArtifact`.
    pub target: Descriptor,
    /// How many certificates the chain has.
    pub chain_length: usize,
}

/// Reads an envelope (size limits, JWS shape, headers, payload, chain) without verifying
/// it. Never panics; every malformed input is an error sentence.
pub fn summarize(bytes: &[u8]) -> Result<Summary, String> {
    let env = parse(bytes)?;
    Ok(Summary {
        alg: env.alg,
        signer: env.chain[0].subject.clone(),
        signing_time: env.signing_time,
        expiry: env.expiry,
        target: env.target,
        chain_length: env.chain.len(),
    })
}
