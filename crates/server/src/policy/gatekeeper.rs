//! The Gatekeeper external data provider: `ProviderRequest` in, `ProviderResponse` out
//! (open-policy-agent/frameworks `constraint/pkg/externaldata`; gatekeeper
//! `website/docs/externaldata.md`).
//!
//! Each key is an image reference; its item's `value` is the status JSON of DESIGN §4, so a
//! ConstraintTemplate reads `value.state`, `value.endOfLife` and `value.successor.reference`.
//! Gatekeeper files an item under `errors` when its `error` is non-empty and under
//! `responses` otherwise, and caches both per key (3 minutes by default). So:
//!
//! - an image that does not exist gets `error` (a definite answer, and the pod could not
//!   start anyway), and so does an image of a registry the server does not answer for
//!   ([`scope`](super::scope): as definite, until the server's flags change);
//! - an image that could not be checked (registry unreachable, timeout) gets a *value*
//!   `{"reference", "error", "state": "unknown"}` instead, as the lookup API answers: templates
//!   commonly reject any `errors` entry, and a cached error would keep rejecting the image
//!   after the registry recovers;
//! - `systemError` is only for a request that cannot be read at all (and then there are no
//!   items).

use super::LookupResult;
use super::lookup_api::{LookupItem, MAX_IMAGES};

/// The `apiVersion` of provider requests and responses.
pub(crate) const API_VERSION: &str = "externaldata.gatekeeper.sh/v1beta1";

/// The `kind` of a provider request.
pub(crate) const REQUEST_KIND: &str = "ProviderRequest";

/// The `kind` of a provider response.
pub(crate) const RESPONSE_KIND: &str = "ProviderResponse";

/// The most keys one request may carry (as many as one lookup API request). Gatekeeper sends
/// the images of one object, far fewer.
pub(crate) const MAX_KEYS: usize = MAX_IMAGES;

/// A provider request, checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProviderRequest {
    /// Always [`API_VERSION`].
    pub(crate) api_version: String,
    /// Always [`REQUEST_KIND`].
    pub(crate) kind: String,
    /// The keys.
    pub(crate) request: ProviderRequestBody,
}

/// The `request` of a [`ProviderRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct ProviderRequestBody {
    /// The image references to look up, as the template passed them.
    #[serde(default)]
    pub(crate) keys: Vec<String>,
}

/// Why a provider request cannot be answered item by item (it is answered with
/// `systemError`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatekeeperError {
    /// The body is not a provider request.
    #[error("the request body is not a Gatekeeper ProviderRequest: {0}")]
    Json(#[source] serde_json::Error),
    /// Another `apiVersion`.
    #[error("unsupported apiVersion `{found}` (expected `{API_VERSION}`)")]
    ApiVersion {
        /// The `apiVersion` sent.
        found: String,
    },
    /// Another `kind`.
    #[error("unsupported kind `{found}` (expected `{REQUEST_KIND}`)")]
    Kind {
        /// The `kind` sent.
        found: String,
    },
    /// More keys than [`MAX_KEYS`].
    #[error("the request has {count} keys, more than the {max} allowed in one request")]
    TooManyKeys {
        /// How many keys were sent.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl ProviderRequest {
    /// Parse and check a request body.
    pub(crate) fn parse(body: &[u8]) -> Result<ProviderRequest, GatekeeperError> {
        let request: ProviderRequest =
            serde_json::from_slice(body).map_err(GatekeeperError::Json)?;
        if request.api_version != API_VERSION {
            return Err(GatekeeperError::ApiVersion {
                found: request.api_version,
            });
        }
        if request.kind != REQUEST_KIND {
            return Err(GatekeeperError::Kind {
                found: request.kind,
            });
        }
        if request.request.keys.len() > MAX_KEYS {
            return Err(GatekeeperError::TooManyKeys {
                count: request.request.keys.len(),
                max: MAX_KEYS,
            });
        }
        Ok(request)
    }
}

/// A provider response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProviderResponse {
    /// [`API_VERSION`].
    pub(crate) api_version: &'static str,
    /// [`RESPONSE_KIND`].
    pub(crate) kind: &'static str,
    /// The items, or the system error.
    pub(crate) response: ProviderResponseBody,
}

/// The `response` of a [`ProviderResponse`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProviderResponseBody {
    /// Always true: the same key gets the same answer until the lifecycle data changes
    /// (Gatekeeper requires it for mutation and ignores it otherwise).
    pub(crate) idempotent: bool,
    /// One item per key, in request order.
    pub(crate) items: Vec<ProviderItem>,
    /// Why the whole request failed; omitted when empty, as Go's `omitempty` does.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) system_error: String,
}

/// The answer for one key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ProviderItem {
    /// The key, echoed.
    pub(crate) key: String,
    /// The status JSON, or the unknown entry of an image that could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<LookupItem>,
    /// Set only for an image that does not exist or that the server does not answer for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl ProviderItem {
    /// The item for `key` from its lookup result (see the module documentation for which
    /// failures become `error`).
    pub(crate) fn new(key: String, result: LookupResult) -> ProviderItem {
        match result {
            Err(failure) if failure.is_not_found() || failure.is_refused() => ProviderItem {
                key,
                value: None,
                error: Some(failure.message()),
            },
            result => ProviderItem {
                value: Some(LookupItem::new(key.clone(), result)),
                key,
                error: None,
            },
        }
    }
}

impl ProviderResponse {
    /// The response from each key (in request order) and its lookup result.
    pub(crate) fn new(
        results: impl IntoIterator<Item = (String, LookupResult)>,
    ) -> ProviderResponse {
        ProviderResponse::with_body(ProviderResponseBody {
            idempotent: true,
            items: results
                .into_iter()
                .map(|(key, result)| ProviderItem::new(key, result))
                .collect(),
            system_error: String::new(),
        })
    }

    /// The response to a request that failed as a whole.
    pub(crate) fn system_error(error: &GatekeeperError) -> ProviderResponse {
        ProviderResponse::with_body(ProviderResponseBody {
            idempotent: true,
            items: vec![],
            system_error: error.to_string(),
        })
    }

    fn with_body(response: ProviderResponseBody) -> ProviderResponse {
        ProviderResponse {
            api_version: API_VERSION,
            kind: RESPONSE_KIND,
            response,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::lookup_api::tests::{not_found, status, timed_out};
    use lineage_lifecycle::State;
    use serde_json::{Value, json};

    /// What Gatekeeper's `external_data` builtin hands to Rego (frameworks
    /// `NewRegoResponse`): non-empty `error` goes to `errors`, the rest to `responses`.
    type Pairs = Vec<(Value, Value)>;

    fn rego(response: &Value) -> (Pairs, Pairs, String) {
        let (mut responses, mut errors) = (vec![], vec![]);
        for item in response["response"]["items"].as_array().unwrap() {
            let error = item["error"].as_str().unwrap_or_default();
            if error.is_empty() {
                responses.push((item["key"].clone(), item["value"].clone()));
            } else {
                errors.push((item["key"].clone(), json!(error)));
            }
        }
        let system_error = response["response"]["systemError"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (responses, errors, system_error)
    }

    #[test]
    fn round_trip() {
        let body = br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderRequest",
            "request":{"keys":["registry.example/flasksample:1.0-20230707","nginx:1.25","registry.example/gone:1"]}}"#;
        let request = ProviderRequest::parse(body).unwrap();
        assert_eq!(request.request.keys.len(), 3);

        // The handler looks each key up.
        let results = request.request.keys.iter().cloned().map(|key| {
            let result = match key.as_str() {
                "nginx:1.25" => Err(timed_out("nginx:1.25")),
                "registry.example/gone:1" => Err(not_found(&key, "registry.example/gone")),
                _ => Ok(status(&key, State::EndOfLife, Some("2023-07-10T08:00:00Z"))),
            };
            (key, result)
        });
        let json = serde_json::to_value(ProviderResponse::new(results)).unwrap();
        assert_eq!(json["apiVersion"], "externaldata.gatekeeper.sh/v1beta1");
        assert_eq!(json["kind"], "ProviderResponse");
        assert_eq!(json["response"]["idempotent"], true);
        assert!(json["response"].get("systemError").is_none());

        let items = json["response"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].get("error").is_none());
        assert!(items[2].get("value").is_none());

        let (responses, errors, system_error) = rego(&json);
        assert_eq!(system_error, "");
        assert_eq!(responses.len(), 2);
        let (key, value) = &responses[0];
        assert_eq!(key, "registry.example/flasksample:1.0-20230707");
        assert_eq!(value["state"], "end-of-life");
        assert_eq!(value["endOfLife"], "2023-07-10T08:00:00Z");
        assert_eq!(
            value["successor"]["reference"],
            "registry.example/flasksample:1.0-20230710"
        );
        // Could not be checked: an unknown value, not a (cached) per-key error.
        assert_eq!(
            responses[1],
            (
                json!("nginx:1.25"),
                json!({"reference": "nginx:1.25", "error": "cannot look up `nginx:1.25`: no answer from the registry within 2 s", "state": "unknown"})
            )
        );
        assert_eq!(
            errors,
            [(
                json!("registry.example/gone:1"),
                json!(
                    "cannot look up `registry.example/gone:1`: manifest `1` not found in registry.example/gone"
                )
            )]
        );
    }

    #[test]
    fn no_keys_no_items() {
        let request = ProviderRequest::parse(
            br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderRequest","request":{}}"#,
        )
        .unwrap();
        assert!(request.request.keys.is_empty());
        let json = serde_json::to_value(ProviderResponse::new([])).unwrap();
        assert_eq!(json["response"], json!({"idempotent": true, "items": []}));
    }

    #[test]
    fn whole_request_failures_are_system_errors() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "the request body is not a Gatekeeper ProviderRequest"),
            (
                br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderRequest"}"#,
                "the request body is not a Gatekeeper ProviderRequest",
            ),
            (
                br#"{"apiVersion":"externaldata.gatekeeper.sh/v1alpha1","kind":"ProviderRequest","request":{"keys":[]}}"#,
                "unsupported apiVersion `externaldata.gatekeeper.sh/v1alpha1`",
            ),
            (
                br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse","request":{"keys":[]}}"#,
                "unsupported kind `ProviderResponse` (expected `ProviderRequest`)",
            ),
            (
                br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderRequest","request":{"keys":"nginx"}}"#,
                "the request body is not a Gatekeeper ProviderRequest",
            ),
        ];
        for (body, message) in cases {
            let error = ProviderRequest::parse(body).unwrap_err();
            let json = serde_json::to_value(ProviderResponse::system_error(&error)).unwrap();
            assert_eq!(json["kind"], "ProviderResponse");
            assert_eq!(json["response"]["items"], json!([]));
            let (responses, errors, system_error) = rego(&json);
            assert!(responses.is_empty() && errors.is_empty());
            assert!(system_error.starts_with(message), "{system_error}");
        }

        let keys: Vec<String> = (0..=MAX_KEYS).map(|i| format!("app:{i}")).collect();
        let body = serde_json::to_vec(&json!({
            "apiVersion": API_VERSION, "kind": REQUEST_KIND, "request": {"keys": keys}
        }))
        .unwrap();
        assert!(matches!(
            ProviderRequest::parse(&body),
            Err(GatekeeperError::TooManyKeys {
                count: 1001,
                max: 1000
            })
        ));
    }
}
