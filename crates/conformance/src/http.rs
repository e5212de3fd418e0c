//! A thin HTTP layer: one request, one fully read [`Resp`], with Basic or
//! Bearer authentication done on a `401` challenge.

use lineage_oci::errcode::ErrorCode;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::sync::Mutex;
use url::Url;

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body (empty for HEAD, and when it could not be read).
    pub body: Vec<u8>,
    /// Why the body could not be read (for example it ended before its
    /// `Content-Length`), if it could not.
    pub body_error: Option<String>,
    /// The URL that answered (after redirects).
    pub url: Url,
}

impl Resp {
    /// The first value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`, each split at commas and trimmed.
    pub fn header_list(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The media type of the body, without parameters.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
            .map(|v| v.split(';').next().unwrap_or(v).trim())
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The codes of a spec error body, or `None` when the body is not one.
    pub fn error_codes(&self) -> Option<Vec<String>> {
        let v = self.json()?;
        let errors = v.get("errors")?.as_array()?;
        errors
            .iter()
            .map(|e| e.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .collect()
    }

    /// Whether the body is a spec error body carrying `code`.
    pub fn has_code(&self, code: ErrorCode) -> bool {
        self.error_codes()
            .is_some_and(|codes| codes.iter().any(|c| c == code.as_str()))
    }

    /// Checks that a body that is JSON has the spec's error shape:
    /// `{"errors":[{"code":"…","message":"…","detail":…}]}` with codes of
    /// upper-case letters and `_`. A body that is not JSON is allowed.
    pub fn error_body_problem(&self) -> Option<String> {
        let v = self.json()?;
        let Some(errors) = v.get("errors").and_then(|e| e.as_array()) else {
            return Some(format!("JSON error body without an `errors` array: {v}"));
        };
        for e in errors {
            let Some(code) = e.get("code").and_then(|c| c.as_str()) else {
                return Some(format!("error entry without a string `code`: {e}"));
            };
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                return Some(format!(
                    "error code {code:?} is not upper-case letters and `_`"
                ));
            }
            if e.get("message").is_some_and(|m| !m.is_string()) {
                return Some(format!("error `message` is not a string: {e}"));
            }
        }
        None
    }

    /// A short description for failure messages: status, error codes and
    /// first message, or the start of a non-JSON body.
    pub fn describe(&self) -> String {
        let mut s = format!("HTTP {}", self.status);
        if let Some(e) = &self.body_error {
            s.push_str(&format!(", but the body could not be read ({e})"));
            return s;
        }
        if let Some(codes) = self.error_codes() {
            if !codes.is_empty() {
                s.push(' ');
                s.push_str(&codes.join(","));
            }
            let message = self
                .json()
                .and_then(|v| v.pointer("/errors/0/message").cloned())
                .and_then(|m| m.as_str().map(str::to_owned));
            if let Some(m) = message.filter(|m| !m.is_empty()) {
                s.push_str(&format!(" ({m:?})"));
            }
        } else if !self.body.is_empty() {
            let text = String::from_utf8_lossy(&self.body);
            let text = text.trim();
            let short: String = text.chars().take(80).collect();
            if !short.is_empty() {
                s.push_str(&format!(" body {short:?}"));
                if short.len() < text.len() {
                    s.push('…');
                }
            }
        }
        s
    }
}

/// A request body.
pub enum Body {
    /// No body at all.
    None,
    /// These bytes, with a `Content-Length`.
    Bytes(Vec<u8>),
    /// These bytes sent with chunked transfer encoding (no `Content-Length`).
    Stream(Vec<u8>),
}

impl Body {
    fn to_reqwest(&self) -> Option<reqwest::Body> {
        match self {
            Body::None => None,
            Body::Bytes(b) => Some(reqwest::Body::from(b.clone())),
            Body::Stream(b) => {
                // Two pieces, so the transfer is really chunked.
                let mid = b.len() / 2;
                let pieces = vec![
                    Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(&b[..mid])),
                    Ok(bytes::Bytes::copy_from_slice(&b[mid..])),
                ];
                Some(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    pieces,
                )))
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Auth {
    Anonymous,
    Basic,
    Bearer(String),
}

/// Why a request got no answer, or the client could not be set up. The texts flatten the
/// HTTP client's chain of causes, as the report shows them on one line.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The registry URL does not parse.
    #[error("registry URL {url:?}: {source}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// The registry URL is neither `http` nor `https`.
    #[error("registry URL {0:?} is not http or https")]
    Scheme(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A request target does not resolve against the registry URL.
    #[error("bad URL {target:?}: {source}")]
    Target {
        /// The target.
        target: String,
        /// Why it does not resolve.
        source: url::ParseError,
    },
    /// A request got no answer.
    #[error("{method} {url}: {}", error_chain(.source))]
    Send {
        /// The method.
        method: Method,
        /// The URL.
        url: Url,
        /// The HTTP client's error.
        source: reqwest::Error,
    },
    /// A Bearer challenge's realm is not a URL.
    #[error("token realm {realm:?}: {source}")]
    Realm {
        /// The realm.
        realm: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// The token request got no answer, or its body could not be read.
    #[error("token request {url}: {}", error_chain(.source))]
    Token {
        /// The token URL.
        url: Url,
        /// The HTTP client's error.
        source: reqwest::Error,
    },
    /// The token request was refused.
    #[error("token request {url}: HTTP {status}")]
    TokenStatus {
        /// The token URL.
        url: Url,
        /// The answer's status.
        status: reqwest::StatusCode,
    },
    /// The token response is not JSON.
    #[error("token response from {url} is not JSON: {source}")]
    TokenJson {
        /// The token URL.
        url: Url,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The token response holds no token.
    #[error("token response from {url} has no token")]
    NoToken {
        /// The token URL.
        url: Url,
    },
}

/// A client bound to one registry.
pub struct Http {
    client: reqwest::Client,
    base: Url,
    creds: Option<(String, String)>,
    auth: Mutex<Auth>,
}

impl Http {
    /// A client for the registry at `base_url`.
    pub fn new(base_url: &str, creds: Option<(String, String)>) -> Result<Self, HttpError> {
        let mut base = Url::parse(base_url).map_err(|source| HttpError::BaseUrl {
            url: base_url.to_owned(),
            source,
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(HttpError::Scheme(base_url.to_owned()));
        }
        base.set_path("/");
        base.set_query(None);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(10))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(HttpError::Client)?;
        Ok(Self {
            client,
            base,
            creds,
            auth: Mutex::new(Auth::Anonymous),
        })
    }

    /// `target` resolved against the registry: a path (`/v2/…`), an
    /// absolute URL, or a relative reference.
    pub fn url(&self, target: &str) -> Result<Url, HttpError> {
        self.base.join(target).map_err(|source| HttpError::Target {
            target: target.to_owned(),
            source,
        })
    }

    /// Sends one request and reads the whole answer. A `401` with a
    /// challenge is answered once (Basic with the credentials, or a Bearer
    /// token from the challenge's realm) and the request sent again.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Resp, HttpError> {
        let url = self.url(target)?;
        let mut retried = false;
        loop {
            let mut rb = self.client.request(method.clone(), url.clone());
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            rb = match self.auth.lock().await.clone() {
                Auth::Anonymous => rb,
                Auth::Basic => match &self.creds {
                    Some((u, p)) => rb.basic_auth(u, Some(p)),
                    None => rb,
                },
                Auth::Bearer(t) => rb.bearer_auth(t),
            };
            if let Some(b) = body.to_reqwest() {
                rb = rb.body(b);
            }
            let r = rb.send().await.map_err(|source| HttpError::Send {
                method: method.clone(),
                url: url.clone(),
                source,
            })?;
            if r.status().as_u16() == 401 && !retried {
                let challenge = r
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if let Some(ch) = challenge
                    && self.answer_challenge(&ch).await?
                {
                    retried = true;
                    continue;
                }
            }
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let final_url = r.url().clone();
            let (body, body_error) = match r.bytes().await {
                Ok(b) => (b.to_vec(), None),
                Err(e) => (Vec::new(), Some(error_chain(&e))),
            };
            return Ok(Resp {
                status,
                headers,
                body,
                body_error,
                url: final_url,
            });
        }
    }

    /// Sets up authentication for a `WWW-Authenticate` challenge; returns
    /// whether the request is worth sending again.
    async fn answer_challenge(&self, challenge: &str) -> Result<bool, HttpError> {
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            if self.creds.is_none() {
                return Ok(false);
            }
            *self.auth.lock().await = Auth::Basic;
            return Ok(true);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(false);
        }
        let Some(realm) = params.iter().find(|(k, _)| k == "realm").map(|(_, v)| v) else {
            return Ok(false);
        };
        let mut token_url = Url::parse(realm).map_err(|source| HttpError::Realm {
            realm: realm.clone(),
            source,
        })?;
        {
            let mut q = token_url.query_pairs_mut();
            for (k, v) in &params {
                if k == "service" || k == "scope" {
                    for part in v.split(' ').filter(|p| !p.is_empty()) {
                        q.append_pair(k, part);
                    }
                }
            }
        }
        let mut rb = self.client.get(token_url.clone());
        if let Some((u, p)) = &self.creds {
            rb = rb.basic_auth(u, Some(p));
        }
        let token_error = |source| HttpError::Token {
            url: token_url.clone(),
            source,
        };
        let r = rb.send().await.map_err(token_error)?;
        if !r.status().is_success() {
            return Err(HttpError::TokenStatus {
                url: token_url.clone(),
                status: r.status(),
            });
        }
        let body = r.bytes().await.map_err(token_error)?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|source| HttpError::TokenJson {
                url: token_url.clone(),
                source,
            })?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| HttpError::NoToken {
                url: token_url.clone(),
            })?;
        *self.auth.lock().await = Auth::Bearer(token.to_owned());
        Ok(true)
    }
}

/// `Bearer realm="…",service="…"` → ("Bearer", [(realm, …), (service, …)]).
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        params.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    (scheme.to_owned(), params)
}

/// The `rel="next"` target of a `Link` header, if any.
pub fn next_link(resp: &Resp) -> Option<String> {
    for value in resp.headers.get_all("link") {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let Some((target, params)) = part.split_once(';') else {
                continue;
            };
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            if is_next {
                let t = target.trim();
                return Some(t.trim_start_matches('<').trim_end_matches('>').to_owned());
            }
        }
    }
    None
}

/// Percent-encodes a query-parameter value (everything but RFC 3986
/// unreserved characters and `:` and `/`).
pub fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_parsed() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params,
            vec![
                ("realm".to_owned(), "https://auth.example/token".to_owned()),
                ("service".to_owned(), "reg".to_owned()),
                ("scope".to_owned(), "repository:a/b:pull,push".to_owned()),
            ]
        );
        let (scheme, params) = parse_challenge(r#"Basic realm="x""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(params, vec![("realm".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            enc("application/vnd.a+json"),
            "application/vnd.a%2Bjson".to_owned()
        );
        assert_eq!(enc("sha256:ab"), "sha256:ab");
    }
}
