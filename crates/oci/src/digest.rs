//! Content digests: the `algorithm:encoded` identifiers that name every blob and manifest.
//!
//! Only the algorithms the image spec registers and lineage can verify are accepted
//! (`sha256`, `sha512`); a digest lineage cannot verify is refused at parse time instead of
//! being trusted later. See <https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md#digests>.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A hash algorithm registered by the OCI image spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the default and the only one every registry must support.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears in a digest string.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the lowercase hex encoding of this algorithm's output.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// A fresh incremental hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a digest lineage accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` between algorithm and encoded part.
    #[error("invalid digest `{0}`: expected `algorithm:hex`")]
    Format(String),
    /// The algorithm is grammatical but not one lineage can verify.
    #[error("unsupported digest algorithm `{algorithm}` in `{digest}` (supported: sha256, sha512)")]
    UnsupportedAlgorithm {
        /// The algorithm part.
        algorithm: String,
        /// The whole input.
        digest: String,
    },
    /// The encoded part has the wrong length or characters.
    #[error("invalid digest `{digest}`: {algorithm} needs {expected} lowercase hex characters")]
    Encoded {
        /// The whole input.
        digest: String,
        /// The algorithm named.
        algorithm: Algorithm,
        /// The expected hex length.
        expected: usize,
    },
}

/// A validated content digest such as `sha256:44136fa3…`.
///
/// The string form is stored once, so `as_str` and `Display` never allocate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    text: String,
}

impl Digest {
    /// The digest of `data` under `algorithm`.
    pub fn compute(algorithm: Algorithm, data: &[u8]) -> Digest {
        let mut h = algorithm.hasher();
        h.update(data);
        h.finish()
    }

    /// The sha256 digest of `data`, the algorithm lineage uses for everything it writes.
    pub fn sha256(data: &[u8]) -> Digest {
        Digest::compute(Algorithm::Sha256, data)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex part after the colon.
    pub fn encoded(&self) -> &str {
        &self.text[self.algorithm.as_str().len() + 1..]
    }

    /// The full `algorithm:hex` string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A short form for human output: algorithm and the first 12 hex characters.
    pub fn short(&self) -> &str {
        let end = (self.algorithm.as_str().len() + 1 + 12).min(self.text.len());
        &self.text[..end]
    }

    /// Whether `data` hashes to this digest.
    pub fn matches(&self, data: &[u8]) -> bool {
        Digest::compute(self.algorithm, data) == *self
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, enc) = s
            .split_once(':')
            .ok_or_else(|| DigestError::Format(s.to_string()))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ if is_algorithm_grammar(alg) => {
                return Err(DigestError::UnsupportedAlgorithm {
                    algorithm: alg.to_string(),
                    digest: s.to_string(),
                });
            }
            _ => return Err(DigestError::Format(s.to_string())),
        };
        let ok = enc.len() == algorithm.hex_len()
            && enc
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            return Err(DigestError::Encoded {
                digest: s.to_string(),
                algorithm,
                expected: algorithm.hex_len(),
            });
        }
        Ok(Digest {
            algorithm,
            text: s.to_string(),
        })
    }
}

/// `algorithm-component (separator algorithm-component)*` with `[a-z0-9]+` components and
/// `[+._-]` separators (image-spec descriptor grammar).
fn is_algorithm_grammar(s: &str) -> bool {
    !s.is_empty()
        && s.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher that yields a [`Digest`]; used to verify content while it streams.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Feed more bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest {
            algorithm,
            text: format!("{}:{hex}", algorithm.as_str()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hasher::Sha256(_) => f.write_str("Hasher(sha256)"),
            Hasher::Sha512(_) => f.write_str("Hasher(sha512)"),
        }
    }
}

/// Verifies a byte sequence that arrives in pieces against an expected digest and size.
///
/// Content is hashed as it passes; the size is checked on every piece so that a peer that
/// sends more than it announced is stopped early instead of filling a disk.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected: Digest,
    expected_size: Option<u64>,
    hasher: Hasher,
    seen: u64,
}

/// How content failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// More or fewer bytes than the descriptor says.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    Size {
        /// The digest being verified.
        digest: Digest,
        /// The size announced.
        expected: u64,
        /// The bytes seen (a lower bound when the content was cut off early).
        actual: u64,
    },
    /// The content hashes to something else.
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    Digest {
        /// The digest announced.
        expected: Digest,
        /// The digest of the content.
        actual: Digest,
    },
}

impl Verifier {
    /// Verify against `expected`, and against `size` when known.
    pub fn new(expected: Digest, size: Option<u64>) -> Verifier {
        Verifier {
            hasher: expected.algorithm().hasher(),
            expected,
            expected_size: size,
            seen: 0,
        }
    }

    /// Account for the next piece; fails as soon as the content is longer than announced.
    pub fn update(&mut self, data: &[u8]) -> Result<(), VerifyError> {
        self.seen += data.len() as u64;
        if let Some(expected) = self.expected_size
            && self.seen > expected
        {
            return Err(VerifyError::Size {
                digest: self.expected.clone(),
                expected,
                actual: self.seen,
            });
        }
        self.hasher.update(data);
        Ok(())
    }

    /// Bytes seen so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Check size and digest once all content has passed.
    pub fn finish(self) -> Result<Digest, VerifyError> {
        if let Some(expected) = self.expected_size
            && self.seen != expected
        {
            return Err(VerifyError::Size {
                digest: self.expected,
                expected,
                actual: self.seen,
            });
        }
        let actual = self.hasher.finish();
        if actual != self.expected {
            return Err(VerifyError::Digest {
                expected: self.expected,
                actual,
            });
        }
        Ok(actual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_JSON: &str =
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn computes_known_digest() {
        assert_eq!(Digest::sha256(b"{}").as_str(), EMPTY_JSON);
        let d = Digest::compute(Algorithm::Sha512, b"");
        assert!(d.as_str().starts_with("sha512:cf83e1357eefb8bd"));
        assert_eq!(d.encoded().len(), 128);
    }

    #[test]
    fn parses_and_rejects() {
        let d: Digest = EMPTY_JSON.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.short(), "sha256:44136fa355b3");
        assert!(matches!(
            "sha256".parse::<Digest>(),
            Err(DigestError::Format(_))
        ));
        assert!(matches!(
            "blake3:abcd".parse::<Digest>(),
            Err(DigestError::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            "sha256:ABCD".parse::<Digest>(),
            Err(DigestError::Encoded { .. })
        ));
        let upper = EMPTY_JSON.to_uppercase().replace("SHA256", "sha256");
        assert!(upper.parse::<Digest>().is_err());
        assert!("SHA256:abc".parse::<Digest>().is_err());
        assert!(format!("{EMPTY_JSON}0").parse::<Digest>().is_err());
    }

    #[test]
    fn verifier_checks_size_and_digest() {
        let d = Digest::sha256(b"hello world");
        let mut v = Verifier::new(d.clone(), Some(11));
        v.update(b"hello ").unwrap();
        v.update(b"world").unwrap();
        assert_eq!(v.finish().unwrap(), d);

        let mut v = Verifier::new(d.clone(), Some(5));
        assert!(matches!(
            v.update(b"hello world"),
            Err(VerifyError::Size { .. })
        ));

        let mut v = Verifier::new(d.clone(), Some(11));
        v.update(b"hello").unwrap();
        assert!(matches!(
            v.finish(),
            Err(VerifyError::Size { actual: 5, .. })
        ));

        let mut v = Verifier::new(d, None);
        v.update(b"hello there").unwrap();
        assert!(matches!(v.finish(), Err(VerifyError::Digest { .. })));
    }

    #[test]
    fn serde_round_trip() {
        let d: Digest = EMPTY_JSON.parse().unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{EMPTY_JSON}\""));
        let back: Digest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert!(serde_json::from_str::<Digest>("\"md5:00\"").is_err());
    }
}
