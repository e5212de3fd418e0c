//! `POST /lifecycle/v1/lookup`: the statuses of many images in one call.
//!
//! Request: `{"images": ["registry.example/app:1.0", …], "at": "2024-01-01T00:00:00Z"}`
//! (`at` is optional and defaults to now). Response: `{"results": […]}`, one entry per image
//! in the order given (duplicates included): the status JSON of DESIGN §4, or for an image
//! that could not be looked up `{"reference": "<as given>", "error": "<why>", "state":
//! "unknown"}`. Both carry `reference` and `state`, so a client (a Kyverno JMESPath, a
//! script) can read every entry the same way.

use chrono::{DateTime, Utc};
use lineage_lifecycle::{State, Status};
use lineage_oci::time::TimeError;

use super::LookupResult;

/// The most images one request may name. Each costs a few registry requests; a client with
/// more splits them into several calls.
pub(crate) const MAX_IMAGES: usize = 1000;

/// A lookup request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupQuery {
    /// The references to look up, as given (duplicates kept: the response mirrors the
    /// request one to one).
    pub(crate) images: Vec<String>,
    /// The instant the statuses are for; `None` means now.
    pub(crate) at: Option<DateTime<Utc>>,
}

/// The request body as sent; unknown fields are ignored.
#[derive(Debug, serde::Deserialize)]
struct RequestBody {
    images: Vec<String>,
    #[serde(default)]
    at: Option<String>,
}

/// Why a lookup request was refused (the whole request: a single image that cannot be looked
/// up is an entry of the response, not an error).
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookupApiError {
    /// The body is not JSON of the expected shape.
    #[error(r#"the request body is not a lookup request like {{"images": ["ref", …]}}: {0}"#)]
    Json(#[source] serde_json::Error),
    /// More images than [`MAX_IMAGES`].
    #[error("the request names {count} images, more than the {max} allowed in one request")]
    TooManyImages {
        /// How many the request names.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// `at` is not a time.
    #[error("`at` is not a time")]
    At(#[source] TimeError),
}

impl LookupQuery {
    /// Parse and check a request body.
    pub(crate) fn parse(body: &[u8]) -> Result<LookupQuery, LookupApiError> {
        let body: RequestBody = serde_json::from_slice(body).map_err(LookupApiError::Json)?;
        if body.images.len() > MAX_IMAGES {
            return Err(LookupApiError::TooManyImages {
                count: body.images.len(),
                max: MAX_IMAGES,
            });
        }
        // The same reading as `lineage status --at`: RFC 3339, or a bare date (UTC midnight).
        let at = body
            .at
            .as_deref()
            .map(lineage_oci::time::parse_lenient)
            .transpose()
            .map_err(LookupApiError::At)?;
        Ok(LookupQuery {
            images: body.images,
            at,
        })
    }
}

/// One entry of a lookup response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
// Output only: the two shapes are told apart by `error`, and nothing deserialises them.
#[serde(untagged)]
pub(crate) enum LookupItem {
    /// The image's status (DESIGN §4).
    Status(Box<Status>),
    /// The image could not be looked up.
    Failed(FailedLookup),
}

/// The entry for an image that could not be looked up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct FailedLookup {
    /// The reference as given.
    pub(crate) reference: String,
    /// Why it could not be looked up.
    pub(crate) error: String,
    /// Always [`State::Unknown`]: nothing is known about the image.
    pub(crate) state: State,
}

impl LookupItem {
    /// The entry for `reference` (as given), from its lookup result.
    pub(crate) fn new(reference: String, result: LookupResult) -> LookupItem {
        match result {
            Ok(status) => LookupItem::Status(Box::new(status)),
            Err(failure) => LookupItem::Failed(FailedLookup {
                reference,
                error: failure.message(),
                state: State::Unknown,
            }),
        }
    }
}

/// The response body: `{"results": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct LookupResponse {
    /// One entry per requested image, in request order.
    pub(crate) results: Vec<LookupItem>,
}

impl LookupResponse {
    /// The response from each requested reference (as given, in request order) and its
    /// lookup result.
    pub(crate) fn new(results: impl IntoIterator<Item = (String, LookupResult)>) -> LookupResponse {
        LookupResponse {
            results: results
                .into_iter()
                .map(|(reference, result)| LookupItem::new(reference, result))
                .collect(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::policy::LookupFailure;
    use lineage_lifecycle::{EngineError, LookupError};
    use lineage_store::StoreError;
    use serde_json::json;

    /// A time as the tests write it, and a status as the engine would give it.
    pub(crate) use lineage_test_support::status::{at as time, scenario_status as status};

    /// The failure of a lookup of `reference` that got no answer within 2 s.
    pub(crate) fn timed_out(reference: &str) -> LookupFailure {
        LookupFailure::Lookup(LookupError::TimedOut {
            reference: reference.to_string(),
            after: std::time::Duration::from_secs(2),
        })
    }

    /// The failure of a lookup of `reference`, a tag of `repository` that does not exist.
    pub(crate) fn not_found(reference: &str, repository: &str) -> LookupFailure {
        LookupFailure::Lookup(LookupError::Engine {
            reference: reference.to_string(),
            source: EngineError::from(StoreError::ManifestNotFound {
                store: repository.to_string(),
                reference: "1".to_string(),
            }),
        })
    }

    #[test]
    fn parses_images_and_an_optional_time() {
        let q = LookupQuery::parse(br#"{"images": ["nginx", "reg.example/a:1"]}"#).unwrap();
        assert_eq!(q.images, ["nginx", "reg.example/a:1"]);
        assert_eq!(q.at, None);

        let q = LookupQuery::parse(
            br#"{"images": ["a", "a"], "at": "2024-01-01T10:00:00+02:00", "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(q.images, ["a", "a"]);
        assert_eq!(q.at, Some(time("2024-01-01T08:00:00Z")));

        let q = LookupQuery::parse(br#"{"images": [], "at": null}"#).unwrap();
        assert!(q.images.is_empty());
        assert_eq!(q.at, None);
    }

    #[test]
    fn refuses_bad_bodies_too_many_images_and_bad_times() {
        for body in [&b"not json"[..], b"{}", br#"{"images": "nginx"}"#, b"[]"] {
            let e = LookupQuery::parse(body).unwrap_err();
            assert!(matches!(e, LookupApiError::Json(_)), "{e}");
            assert!(e.to_string().contains(r#"{"images": ["ref", …]}"#), "{e}");
        }

        let images: Vec<String> = (0..=MAX_IMAGES).map(|i| format!("app:{i}")).collect();
        let body = serde_json::to_vec(&json!({ "images": images })).unwrap();
        let e = LookupQuery::parse(&body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the request names 1001 images, more than the 1000 allowed in one request"
        );
        let body = serde_json::to_vec(&json!({ "images": &images[..MAX_IMAGES] })).unwrap();
        assert_eq!(LookupQuery::parse(&body).unwrap().images.len(), MAX_IMAGES);

        let e = LookupQuery::parse(br#"{"images": [], "at": "yesterday"}"#).unwrap_err();
        assert!(matches!(e, LookupApiError::At(_)), "{e}");
    }

    #[test]
    fn one_result_per_image_in_order_with_failures_in_place() {
        let eol = status(
            "registry.example/flasksample:1.0-20230707",
            State::EndOfLife,
            Some("2023-07-10T08:00:00Z"),
        );
        let response = LookupResponse::new([
            (
                "registry.example/flasksample:1.0-20230707".to_string(),
                Ok(eol.clone()),
            ),
            (
                "registry.example/gone:1".to_string(),
                Err(not_found(
                    "registry.example/gone:1",
                    "registry.example/gone",
                )),
            ),
            (
                "registry.example/flasksample:1.0-20230707".to_string(),
                Ok(eol.clone()),
            ),
        ]);
        let json = serde_json::to_value(&response).unwrap();
        let results = json["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0], serde_json::to_value(&eol).unwrap());
        assert_eq!(results[0]["state"], "end-of-life");
        assert_eq!(results[0]["endOfLife"], "2023-07-10T08:00:00Z");
        assert_eq!(
            results[0]["successor"]["reference"],
            "registry.example/flasksample:1.0-20230710"
        );
        assert_eq!(
            results[1],
            json!({"reference": "registry.example/gone:1", "error": "cannot look up `registry.example/gone:1`: manifest `1` not found in registry.example/gone", "state": "unknown"})
        );
        assert_eq!(results[2], results[0]);
    }
}
