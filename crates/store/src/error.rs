//! The error every store returns, with the facts a user needs: which store, which
//! reference or digest, and what went wrong.

use std::path::PathBuf;

use lineage_oci::{Digest, ManifestError, VerifyError};

/// A broad class of failure, so callers can branch without matching every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The manifest, blob, tag or repository does not exist.
    NotFound,
    /// Content did not match its digest or size, or is malformed.
    Corrupt,
    /// The store cannot do this operation.
    Unsupported,
    /// The caller gave something invalid.
    InvalidInput,
    /// Credentials are missing or refused.
    Denied,
    /// A local file system or network failure.
    Io,
    /// Anything else a backend reports.
    Other,
}

/// A failure inside a store. Messages are lowercase fragments; the CLI renders the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No manifest under that tag or digest.
    #[error("manifest `{reference}` not found in {store}")]
    ManifestNotFound {
        /// The store.
        store: String,
        /// The tag or digest asked for.
        reference: String,
    },
    /// No blob with that digest.
    #[error("blob {digest} not found in {store}")]
    BlobNotFound {
        /// The store.
        store: String,
        /// The digest asked for.
        digest: Digest,
    },
    /// Content did not hash to its digest or had the wrong size.
    #[error("content in {store} failed verification")]
    Verify {
        /// The store the content came from.
        store: String,
        /// What did not match.
        #[source]
        source: VerifyError,
    },
    /// A manifest could not be used.
    #[error("manifest {reference} in {store} is not usable")]
    Manifest {
        /// The store.
        store: String,
        /// The tag or digest of the manifest.
        reference: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// The store does not support this operation.
    #[error("{store} does not support {operation}")]
    Unsupported {
        /// The store.
        store: String,
        /// What was attempted.
        operation: String,
    },
    /// An OCI image layout is missing or malformed.
    #[error("invalid OCI layout `{}`: {message}", path.display())]
    InvalidLayout {
        /// The layout directory or file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An OCI archive is missing, truncated or malformed.
    #[error("invalid OCI archive `{}`: {message}", path.display())]
    InvalidArchive {
        /// The archive file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The caller asked for something the store cannot answer as asked.
    #[error("{store}: {message}")]
    InvalidInput {
        /// The store.
        store: String,
        /// What is wrong.
        message: String,
    },
    /// A file system operation failed.
    #[error("cannot {operation} `{}`", path.display())]
    Io {
        /// What was being done (`read`, `create`, `rename`, …).
        operation: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A failure reported by a backend that lives in another crate (the remote registry).
    #[error("{message}")]
    Backend {
        /// The broad class of failure.
        kind: ErrorKind,
        /// The backend's one-line description, naming registry, repository and digest.
        message: String,
        /// The backend's own typed error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// The broad class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::ManifestNotFound { .. } | StoreError::BlobNotFound { .. } => {
                ErrorKind::NotFound
            }
            StoreError::Verify { .. }
            | StoreError::Manifest { .. }
            | StoreError::InvalidArchive { .. } => ErrorKind::Corrupt,
            StoreError::InvalidLayout { .. } => ErrorKind::Corrupt,
            StoreError::Unsupported { .. } => ErrorKind::Unsupported,
            StoreError::InvalidInput { .. } => ErrorKind::InvalidInput,
            StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            StoreError::Io { .. } => ErrorKind::Io,
            StoreError::Backend { kind, .. } => *kind,
        }
    }

    /// Whether trying again may succeed (a network failure, a registry that was busy).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Backend { kind, .. } => *kind == ErrorKind::Io,
            _ => false,
        }
    }

    /// Whether this failure means "does not exist".
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// An I/O failure on `path`.
    pub fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> StoreError {
        StoreError::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An error and its causes on one line (`error: cause: cause`), a cause already contained in
/// the text before it left out: for messages that must fit one line (a log field, an HTTP
/// answer, a report).
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
