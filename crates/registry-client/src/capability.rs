//! How to read a registry's answers about optional features, shared by the client (which
//! picks the referrers API or the tag schema from them) and `lineage probe` (which reports
//! them), so both judge a registry the same way.

use lineage_oci::media_type;

/// What an answer to `GET /v2/<name>/referrers/<digest>` says about the referrers API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersAnswer {
    /// A 200 image index: the registry serves the API.
    Api,
    /// A 404 (plain text, HTML or JSON alike): no API; use the referrers tag schema.
    NoApi,
    /// A 200 that is not an image index (a login page, say) or another client error: not the
    /// API, but not the spec's signal either; use the tag schema and warn.
    Unexpected,
    /// 401, 403 or a server error: nothing can be concluded.
    Failed,
}

/// Judge the first answer of a referrers request from its status and `Content-Type`.
pub fn referrers_answer(status: u16, content_type: Option<&str>) -> ReferrersAnswer {
    match status {
        200 if content_type
            .map(lineage_oci::manifest::strip_parameters)
            .is_some_and(|t| t == media_type::OCI_INDEX) =>
        {
            ReferrersAnswer::Api
        }
        200 => ReferrersAnswer::Unexpected,
        404 => ReferrersAnswer::NoApi,
        401 | 403 => ReferrersAnswer::Failed,
        s if (400..500).contains(&s) => ReferrersAnswer::Unexpected,
        _ => ReferrersAnswer::Failed,
    }
}

/// Whether an `OCI-Filters-Applied` header says the registry filtered by `artifactType`.
pub fn artifact_type_filtered(header: Option<&str>) -> bool {
    header.is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_answers() {
        let index = Some("application/vnd.oci.image.index.v1+json; charset=utf-8");
        assert_eq!(referrers_answer(200, index), ReferrersAnswer::Api);
        assert_eq!(
            referrers_answer(200, Some("text/html")),
            ReferrersAnswer::Unexpected
        );
        assert_eq!(referrers_answer(200, None), ReferrersAnswer::Unexpected);
        assert_eq!(
            referrers_answer(404, Some("text/plain")),
            ReferrersAnswer::NoApi
        );
        assert_eq!(referrers_answer(405, None), ReferrersAnswer::Unexpected);
        assert_eq!(referrers_answer(401, None), ReferrersAnswer::Failed);
        assert_eq!(referrers_answer(502, None), ReferrersAnswer::Failed);
    }

    #[test]
    fn filters_header() {
        assert!(artifact_type_filtered(Some("artifactType")));
        assert!(artifact_type_filtered(Some("foo, artifactType")));
        assert!(!artifact_type_filtered(Some("artifactTypes")));
        assert!(!artifact_type_filtered(None));
    }
}
