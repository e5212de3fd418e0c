//! The registry error codes: the OCI distribution spec's (its "Error Codes" table), plus the
//! ones distribution answers with that clients meet (`TAG_INVALID`,
//! `PAGINATION_NUMBER_INVALID`, `UNKNOWN`). One type for what `lineage serve` answers, what
//! the registry client looks for in an answer, and what the conformance suite accepts.

use std::fmt;

/// A registry error code, as in `{"errors": [{"code": "…"}]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`: the blob is not in the repository.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`: the upload is invalid (a chunk out of order, a bad range).
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`: no such upload session.
    BlobUploadUnknown,
    /// `DIGEST_INVALID`: the content does not match the digest given, or the digest is bad.
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`: a manifest names a blob the repository lacks.
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`: the manifest cannot be read or is not allowed.
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`: no such manifest.
    ManifestUnknown,
    /// `NAME_INVALID`: the repository name is invalid.
    NameInvalid,
    /// `NAME_UNKNOWN`: no such repository.
    NameUnknown,
    /// `SIZE_INVALID`: the content is larger than allowed or than announced.
    SizeInvalid,
    /// `UNAUTHORIZED`: authentication required.
    Unauthorized,
    /// `DENIED`: access denied.
    Denied,
    /// `UNSUPPORTED`: the operation is unsupported.
    Unsupported,
    /// `TOOMANYREQUESTS`: too many requests.
    TooManyRequests,
    /// `TAG_INVALID` (distribution's): the tag is invalid.
    TagInvalid,
    /// `PAGINATION_NUMBER_INVALID` (distribution's): `n` is not a page size.
    PaginationNumberInvalid,
    /// `UNKNOWN` (distribution's): an error the registry does not name.
    Unknown,
}

impl ErrorCode {
    /// The codes of the OCI distribution spec's table.
    pub const SPEC: [ErrorCode; 14] = [
        ErrorCode::BlobUnknown,
        ErrorCode::BlobUploadInvalid,
        ErrorCode::BlobUploadUnknown,
        ErrorCode::DigestInvalid,
        ErrorCode::ManifestBlobUnknown,
        ErrorCode::ManifestInvalid,
        ErrorCode::ManifestUnknown,
        ErrorCode::NameInvalid,
        ErrorCode::NameUnknown,
        ErrorCode::SizeInvalid,
        ErrorCode::Unauthorized,
        ErrorCode::Denied,
        ErrorCode::Unsupported,
        ErrorCode::TooManyRequests,
    ];

    /// The codes distribution adds to the spec's.
    const DISTRIBUTION: [ErrorCode; 3] = [
        ErrorCode::TagInvalid,
        ErrorCode::PaginationNumberInvalid,
        ErrorCode::Unknown,
    ];

    /// Every code: the spec's, then distribution's.
    fn all() -> impl Iterator<Item = ErrorCode> {
        ErrorCode::SPEC.into_iter().chain(ErrorCode::DISTRIBUTION)
    }

    /// The code as it is written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The code written `code`, when it is one of these.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::all().find(|c| c.as_str() == code)
    }

    /// Whether the OCI distribution spec defines this code.
    pub fn is_spec(self) -> bool {
        ErrorCode::SPEC.contains(&self)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_the_spec_has_fourteen() {
        for c in ErrorCode::all() {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::parse("NOT_A_CODE"), None);
        assert!(ErrorCode::Denied.is_spec());
        assert!(!ErrorCode::TagInvalid.is_spec() && !ErrorCode::Unknown.is_spec());
        assert_eq!(ErrorCode::SPEC.len(), 14);
    }
}
