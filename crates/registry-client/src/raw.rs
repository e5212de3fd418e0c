//! Raw exchanges for diagnostics (`lineage probe`): one request through the client's
//! authorisation, scheme choice and retries, answered with the status, the headers and the
//! start of the body, so the caller can judge answers the store API would turn into errors.

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};
use url::Url;

use crate::auth::Scope;
use crate::client::{Body, RegistryClient, Request, Target};
use crate::error::{ErrorInfo, RegistryError, parse_error_body, redact};
use crate::limits;

/// A request sent as given.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The method.
    pub method: Method,
    /// A path under the registry (`/v2/…`, with any query), or an absolute URL the registry
    /// handed out (an upload `Location`, a `Link`).
    pub target: String,
    /// Headers to send.
    pub headers: Vec<(HeaderName, String)>,
    /// The body (empty for none).
    pub body: Bytes,
    /// The access the request needs.
    pub scope: Scope,
    /// Authorise on a 401 and send again; off to see the registry's challenge.
    pub authorize: bool,
    /// Read at most this many bytes of the answer's body.
    pub max_body: usize,
}

impl RawRequest {
    /// A request with no body that authorises on a 401 and keeps [`limits::RAW_BODY`] bytes
    /// of the answer.
    pub fn new(method: Method, target: impl Into<String>, scope: Scope) -> RawRequest {
        RawRequest {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            scope,
            authorize: true,
            max_body: limits::RAW_BODY,
        }
    }

    /// Add a header.
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> RawRequest {
        self.headers.push((name, value.into()));
        self
    }

    /// Set the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> RawRequest {
        self.body = body.into();
        self
    }
}

/// What the registry answered.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, cut at the request's `max_body`.
    pub body: Bytes,
    /// Whether the body was longer than what was kept.
    pub truncated: bool,
    /// The URL that answered, for resolving relative `Location` and `Link` values.
    pub base: Url,
}

impl RawResponse {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type of the body, without parameters.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
            .map(lineage_oci::manifest::strip_parameters)
    }

    /// The registry's error envelope, if the body is one.
    pub fn errors(&self) -> Vec<ErrorInfo> {
        parse_error_body(&self.body).0
    }

    /// The status and the error codes, e.g. `HTTP 404 MANIFEST_UNKNOWN`, or the content type
    /// of a body that is not an error envelope (`HTTP 404 text/plain`).
    pub fn summary(&self) -> String {
        let mut out = format!("HTTP {}", self.status);
        let codes: Vec<String> = self.errors().into_iter().map(|e| e.code).collect();
        if !codes.is_empty() {
            out.push(' ');
            out.push_str(&codes.join(","));
        } else if self.status >= 400
            && let Some(t) = self.content_type()
            && !self.body.is_empty()
        {
            out.push_str(&format!(" ({t})"));
        }
        out
    }

    /// The `Location` header resolved against the answering URL.
    pub fn location(&self) -> Option<Url> {
        self.header("location").and_then(|l| self.base.join(l).ok())
    }

    /// The next page named by a `Link` header, resolved against the answering URL.
    pub fn next_link(&self) -> Option<Url> {
        crate::link::next(&self.headers, &self.base)
    }
}

impl RegistryClient {
    /// Send `request` to `registry` and return whatever it answers; only a request that gets
    /// no answer is an error.
    pub async fn raw(
        &self,
        registry: &str,
        request: RawRequest,
    ) -> Result<RawResponse, RegistryError> {
        let target =
            if request.target.starts_with("http://") || request.target.starts_with("https://") {
                let url = Url::parse(&request.target).map_err(|e| RegistryError::Protocol {
                    url: request.target.clone(),
                    message: format!("not a URL: {e}"),
                })?;
                Target::Url(url)
            } else {
                Target::Path(request.target.clone())
            };
        let mut req = Request {
            method: request.method.clone(),
            target,
            headers: HeaderMap::new(),
            body: Body::Bytes(request.body.clone()),
            scope: request.scope.clone(),
            authorize: request.authorize,
        };
        for (name, value) in &request.headers {
            req = req.header(name.clone(), value);
        }
        let mut response = self.send(registry, req).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let base = response.url().clone();
        let (body, truncated) = limits::read_prefix(&mut response, request.max_body)
            .await
            .map_err(|e| RegistryError::Transport {
                method: request.method.to_string(),
                url: redact(&base),
                message: format!(
                    "the answer's body could not be read: {}",
                    lineage_store::one_line(&e)
                ),
                retryable: true,
                source: Some(e),
            })?;
        Ok(RawResponse {
            status,
            headers,
            body,
            truncated,
            base,
        })
    }
}
