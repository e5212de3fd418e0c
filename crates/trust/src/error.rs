//! The errors of reading keys, certificates, policies and trust stores, and of signing; and
//! the one size-limited file read they come from.

use std::path::{Path, PathBuf};

/// Why a key, certificate chain, trust policy or trust store could not be used, or a
/// signature not be made. Verification does not fail with this type: a signature that does
/// not verify is a [`crate::Rejected`] with a reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than its limit.
    #[error("{} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A file's content is not what it must be.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file (or `-` for bytes given directly).
        path: PathBuf,
        /// What is wrong, and where in the file.
        reason: String,
    },
}

/// The bytes of the file `path`, at most `limit` of them: a larger file is
/// [`TrustError::TooLarge`], never read whole.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, TrustError> {
    use std::io::Read;
    let read_err = |source| TrustError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(TrustError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}
