//! Errors as the distribution spec's JSON envelope, with the status each code goes with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lineage_oci::errcode::ErrorCode;
use serde_json::json;

/// An OCI error response.
#[derive(Debug, Clone)]
pub struct OciError {
    /// HTTP status.
    pub status: StatusCode,
    /// Spec error code.
    pub code: ErrorCode,
    /// Human message.
    pub message: String,
}

impl OciError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> OciError {
        OciError {
            status,
            code,
            message: message.into(),
        }
    }
    /// 404 `BLOB_UNKNOWN`.
    pub fn blob_unknown(digest: &str) -> OciError {
        OciError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BlobUnknown,
            format!("blob {digest} is unknown to the registry"),
        )
    }
    /// 404 `BLOB_UPLOAD_UNKNOWN`.
    pub fn upload_unknown() -> OciError {
        OciError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BlobUploadUnknown,
            "blob upload unknown to registry",
        )
    }
    /// 400 `BLOB_UPLOAD_INVALID`.
    pub fn upload_invalid(message: impl Into<String>) -> OciError {
        OciError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BlobUploadInvalid,
            message,
        )
    }
    /// 400 `DIGEST_INVALID`.
    pub fn digest_invalid(message: impl Into<String>) -> OciError {
        OciError::new(StatusCode::BAD_REQUEST, ErrorCode::DigestInvalid, message)
    }
    /// 400 `MANIFEST_INVALID`.
    pub fn manifest_invalid(message: impl Into<String>) -> OciError {
        OciError::new(StatusCode::BAD_REQUEST, ErrorCode::ManifestInvalid, message)
    }
    /// 400 `MANIFEST_BLOB_UNKNOWN`.
    pub fn manifest_blob_unknown(message: impl Into<String>) -> OciError {
        OciError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ManifestBlobUnknown,
            message,
        )
    }
    /// 404 `MANIFEST_UNKNOWN`.
    pub fn manifest_unknown(reference: &str) -> OciError {
        OciError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ManifestUnknown,
            format!("manifest {reference} is unknown to the registry"),
        )
    }
    /// 400 `NAME_INVALID`.
    pub fn name_invalid(name: &str) -> OciError {
        OciError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::NameInvalid,
            format!("invalid repository name `{name}`"),
        )
    }
    /// 404 `NAME_UNKNOWN`.
    pub fn name_unknown(name: &str) -> OciError {
        OciError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NameUnknown,
            format!("repository {name} is not known to the registry"),
        )
    }
    /// 400 `TAG_INVALID`: a tag that does not match the spec's tag grammar. The OCI spec
    /// has no code for it; this is distribution's (`registry/api/v2/errors.go`), which
    /// clients already know, and it says what is wrong where `MANIFEST_INVALID` would blame
    /// the manifest.
    pub fn tag_invalid(tag: &str) -> OciError {
        OciError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::TagInvalid,
            format!("invalid tag `{tag}`: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}"),
        )
    }
    /// 400 `PAGINATION_NUMBER_INVALID`: an `n` that is not a count. Like `TAG_INVALID`, a
    /// code of distribution's (`registry/api/v2/errors.go`) that the OCI spec lacks.
    pub fn pagination_number_invalid(n: &str) -> OciError {
        OciError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::PaginationNumberInvalid,
            format!("`n` must be a non-negative number, not `{n}`"),
        )
    }
    /// 429 `TOOMANYREQUESTS`: a limit of the registry is reached.
    pub fn too_many_requests(message: impl Into<String>) -> OciError {
        OciError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
            message,
        )
    }
    /// 401 `UNAUTHORIZED`.
    pub fn unauthorized() -> OciError {
        OciError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "authentication required",
        )
    }
    /// 405 `UNSUPPORTED`.
    pub fn unsupported(message: impl Into<String>) -> OciError {
        OciError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Unsupported,
            message,
        )
    }
    /// 413 `SIZE_INVALID` for a manifest over the size limit.
    pub fn too_large(message: impl Into<String>) -> OciError {
        OciError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::SizeInvalid,
            message,
        )
    }
    /// 416 for an upload chunk out of order or an unsatisfiable range.
    pub fn range_invalid(message: impl Into<String>) -> OciError {
        OciError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::BlobUploadInvalid,
            message,
        )
    }
    /// 404 for paths outside the API.
    pub fn not_found() -> OciError {
        OciError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NameUnknown,
            "no such route",
        )
    }
    /// 500; the cause is logged where it happened, never sent.
    pub fn internal() -> OciError {
        OciError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unknown,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body =
            json!({"errors": [{"code": self.code.as_str(), "message": self.message}]}).to_string();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"lineage\""),
            );
        }
        resp
    }
}

/// Log a store failure and turn it into a 500.
pub fn internal(context: &str, e: &dyn std::error::Error) -> OciError {
    tracing::error!(error = %e, "{context}");
    OciError::internal()
}
