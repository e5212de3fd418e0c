//! The HTTP side shared by every repository of a process: one connection pool, the
//! credentials, the authentication state, which scheme each registry speaks, and what each
//! repository supports. [`RegistryClient::send`] is the only place requests leave from: it
//! authorises, retries and falls back to plain HTTP on loopback.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use crate::auth::{AuthState, Scope};
use crate::credentials::Credential;
use crate::error::{RegistryError, parse_error_body, redact};
use crate::limits;
use crate::options::ClientOptions;
use lineage_store::Memo;

/// A request body.
pub(crate) enum Body {
    /// No body.
    Empty,
    /// A body that can be sent again on a retry.
    Bytes(Bytes),
    /// A streamed body, sent at most once.
    Stream(Option<reqwest::Body>, u64),
}

/// A request to a registry.
pub(crate) struct Request {
    pub method: Method,
    /// A path under the registry (`/v2/…`), or a URL a registry handed out (`Location`).
    pub target: Target,
    pub headers: HeaderMap,
    pub body: Body,
    pub scope: Scope,
    /// Answer a 401 by authorising and sending again (off for diagnostics that want to see
    /// the challenge itself).
    pub authorize: bool,
}

/// Where a request goes.
pub(crate) enum Target {
    Path(String),
    Url(Url),
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>, scope: Scope) -> Request {
        Request {
            method,
            target: Target::Path(path.into()),
            headers: HeaderMap::new(),
            body: Body::Empty,
            scope,
            authorize: true,
        }
    }

    pub fn to_url(method: Method, url: Url, scope: Scope) -> Request {
        Request {
            method,
            target: Target::Url(url),
            headers: HeaderMap::new(),
            body: Body::Empty,
            scope,
            authorize: true,
        }
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Request {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    pub fn body(mut self, body: Body) -> Request {
        self.body = body;
        self
    }
}

/// Whether the repository's registry serves the referrers API, once known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReferrersSupport {
    Api,
    TagSchema,
}

/// How long a registry that could not be reached is not tried again: long enough that a
/// command naming many of its images fails fast, short enough that `lineage webhook` and
/// `lineage serve` see a registry that comes back.
const UNREACHABLE_FOR: Duration = Duration::from_secs(30);

struct Inner {
    http: reqwest::Client,
    options: ClientOptions,
    auth: AuthState,
    /// Registry host → `https` or `http`, once decided. This and the two memos below are
    /// bounded ([`Memo`]): a long-running server may be asked about any number of registries.
    schemes: Mutex<Memo<String, &'static str>>,
    credentials: tokio::sync::Mutex<Memo<String, Option<Credential>>>,
    referrers: Mutex<Memo<(String, String), ReferrersSupport>>,
    /// Host contacted (`host:port`, [`authority`]) → when and why it could not be reached (a
    /// name that does not resolve, a refused connection): it is not tried again for
    /// [`UNREACHABLE_FOR`], the rest of a command's run; a long-running server tries again
    /// after that. Keyed by the host a connection was attempted to, which is not the
    /// registry's when an upload location or a redirect points elsewhere.
    down: Mutex<Memo<String, (std::time::Instant, String)>>,
    /// Requests sent, each try counted ([`RegistryClient::attempts`]).
    attempts: AtomicU64,
}

/// The shared registry client; cheap to clone.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").finish_non_exhaustive()
    }
}

/// Whether `e` says the registry cannot be reached at all: a connection that failed
/// without a timeout, for a reason other than a reset or an interruption — a name that does
/// not resolve, a refused connection, an unreachable network. Retrying with backoff does not
/// help those; 5xx, 429, timeouts and resets keep their retries.
fn is_unreachable(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind;
    if !e.is_connect() || e.is_timeout() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return !matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::Interrupted
                    | ErrorKind::TimedOut
                    | ErrorKind::WouldBlock
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            );
        }
        source = err.source();
    }
    false
}

/// The key of a host in the memo of unreachable hosts: `host:port`, the port the URL's
/// scheme implies when it names none.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The host to contact for a registry name: Docker Hub's API lives at `registry-1.docker.io`.
pub fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

/// Whether `host` (with or without port) is a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request failed because the server's certificate was refused.
fn is_certificate_error(e: &reqwest::Error) -> bool {
    lineage_store::one_line(e)
        .to_ascii_lowercase()
        .contains("certificate")
}

impl RegistryClient {
    /// A client with `options`.
    pub fn new(options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .danger_accept_invalid_certs(options.insecure);
        let mut certs = Vec::new();
        for path in &options.ca_files {
            let pem = std::fs::read(path).map_err(|e| RegistryError::Protocol {
                url: path.display().to_string(),
                message: format!("cannot read the CA file: {e}"),
            })?;
            let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                RegistryError::Protocol {
                    url: path.display().to_string(),
                    message: format!("not a PEM certificate bundle: {e}"),
                }
            })?;
            if found.is_empty() {
                return Err(RegistryError::Protocol {
                    url: path.display().to_string(),
                    message: "no certificate in the CA file".into(),
                });
            }
            certs.extend(found);
        }
        if !certs.is_empty() {
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| RegistryError::Protocol {
            url: String::new(),
            message: format!(
                "cannot build the HTTP client: {}",
                lineage_store::one_line(&e)
            ),
        })?;
        let auth = AuthState::new(options.quote_error_bodies);
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                options,
                auth,
                schemes: Mutex::new(Memo::default()),
                credentials: tokio::sync::Mutex::new(Memo::default()),
                referrers: Mutex::new(Memo::default()),
                down: Mutex::new(Memo::default()),
                attempts: AtomicU64::new(0),
            }),
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    fn scheme(&self, host: &str, registry: &str) -> &'static str {
        let o = &self.inner.options;
        if o.plain_http
            || o.plain_http_hosts
                .iter()
                .any(|h| h == registry || h == host)
        {
            return "http";
        }
        self.inner
            .schemes
            .lock()
            .ok()
            .and_then(|s| s.get(host).copied())
            .unwrap_or("https")
    }

    fn set_scheme(&self, host: &str, scheme: &'static str) {
        if let Ok(mut s) = self.inner.schemes.lock() {
            s.insert(host.to_string(), scheme);
        }
    }

    /// The base URL (`https://host`) of a registry.
    pub(crate) fn base_url(&self, registry: &str) -> Result<Url, RegistryError> {
        let host = api_host(registry);
        let text = format!("{}://{host}", self.scheme(host, registry));
        Url::parse(&text).map_err(|e| RegistryError::Protocol {
            url: text,
            message: format!("not a valid registry address: {e}"),
        })
    }

    /// The credential for `registry`, looked up once per process.
    pub(crate) async fn credential(
        &self,
        registry: &str,
    ) -> Result<Option<Credential>, RegistryError> {
        if let Some(c) = self.inner.options.credentials.get(registry) {
            return Ok(Some(c.clone()));
        }
        let mut cache = self.inner.credentials.lock().await;
        if let Some(c) = cache.get(registry) {
            return Ok(c.clone());
        }
        let found = match &self.inner.options.docker_config {
            Some(cfg) => cfg.get(registry).await?,
            None => None,
        };
        cache.insert(registry.to_string(), found.clone());
        Ok(found)
    }

    pub(crate) fn referrers_support(&self, registry: &str, repo: &str) -> Option<ReferrersSupport> {
        let m = self.inner.referrers.lock().ok()?;
        m.get(&(registry.to_string(), repo.to_string())).copied()
    }

    pub(crate) fn set_referrers_support(&self, registry: &str, repo: &str, s: ReferrersSupport) {
        if let Ok(mut m) = self.inner.referrers.lock() {
            m.insert((registry.to_string(), repo.to_string()), s);
        }
    }

    /// Send `req` to `registry`: authorise on 401 (once per request), retry transient failures
    /// with backoff when the body can be sent again, honour `Retry-After`, and fall back from
    /// HTTPS to HTTP once for a loopback registry that does not speak TLS. Any other status is
    /// returned for the caller to judge.
    pub(crate) async fn send(
        &self,
        registry: &str,
        mut req: Request,
    ) -> Result<Response, RegistryError> {
        let host = api_host(registry).to_string();
        // A host known to be down is refused before anything else is done for the request
        // (a credential helper, a token prefetch).
        self.refuse_if_down(&req, &self.target_url(registry, &req.target)?)?;
        let cred = self.credential(registry).await?;
        let mut scopes = req.scope.token_scopes();
        if matches!(req.body, Body::Stream(..)) && self.inner.auth.bearer_realm(&host) {
            self.inner
                .auth
                .prefetch(&self.inner.http, &host, registry, &scopes, cred.as_ref())
                .await?;
        }
        let mut authorized = false;
        let mut attempt = 0u32;
        let mut fell_back = false;
        loop {
            let url = self.target_url(registry, &req.target)?;
            let shown = redact(&url);
            self.refuse_if_down(&req, &url)?;
            let mut builder = self
                .inner
                .http
                .request(req.method.clone(), url.clone())
                .headers(req.headers.clone());
            let same_host = url.host_str().is_some_and(|h| {
                let with_port = match url.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                };
                with_port == host || h == host
            });
            if same_host && let Some(h) = self.inner.auth.header(&host, &scopes, cred.as_ref()) {
                builder = builder.header(reqwest::header::AUTHORIZATION, h);
            }
            let replayable = match &mut req.body {
                Body::Empty => true,
                Body::Bytes(b) => {
                    builder = builder
                        .header(reqwest::header::CONTENT_LENGTH, b.len())
                        .body(b.clone());
                    true
                }
                Body::Stream(s, len) => {
                    match s.take() {
                        Some(body) => {
                            builder = builder
                                .header(reqwest::header::CONTENT_LENGTH, *len)
                                .body(body);
                            false
                        }
                        None => {
                            return Err(RegistryError::Transport {
                            method: req.method.to_string(),
                            url: shown,
                            message: "a streamed upload cannot be sent twice; the upload must restart".into(),
                            retryable: true,
                            source: None,
                        });
                        }
                    }
                }
            };
            self.inner.attempts.fetch_add(1, Ordering::Relaxed);
            let result = builder.send().await;
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    let https = url.scheme() == "https";
                    let certificate = is_certificate_error(&e);
                    // Fall back only when the server does not speak TLS at all; a loopback
                    // registry whose certificate is not trusted must not be silently
                    // reached over plain HTTP.
                    if https
                        && !fell_back
                        && e.is_connect()
                        && !certificate
                        && is_loopback(&host)
                        && replayable
                    {
                        tracing::debug!(%host, "HTTPS failed on a loopback registry; trying plain HTTP");
                        self.set_scheme(&host, "http");
                        fell_back = true;
                        continue;
                    }
                    // A name that does not resolve or a refused connection is not fixed by
                    // trying again a second later: fail now, and remember the registry.
                    let unreachable = is_unreachable(&e);
                    let retryable = (e.is_connect() || e.is_timeout() || e.is_request())
                        && !certificate
                        && !unreachable;
                    if retryable && replayable && attempt < self.inner.options.retries {
                        attempt += 1;
                        tracing::debug!(url = %shown, attempt, error = %lineage_store::one_line(&e), "retrying");
                        tokio::time::sleep(self.backoff(attempt, None)).await;
                        continue;
                    }
                    let mut message = lineage_store::one_line(&e);
                    if certificate {
                        message.push_str(" (the registry's certificate is not trusted: add its CA with `--ca-file`, or skip verification with `--insecure`)");
                    }
                    // The host a connection was attempted to: after a redirect, not the
                    // one asked.
                    if unreachable && let Ok(mut down) = self.inner.down.lock() {
                        let contacted = authority(e.url().unwrap_or(&url));
                        down.insert(contacted, (std::time::Instant::now(), message.clone()));
                    }
                    return Err(RegistryError::Transport {
                        method: req.method.to_string(),
                        url: shown,
                        message,
                        retryable,
                        source: Some(e),
                    });
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !authorized && same_host && req.authorize {
                let challenge = response
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                authorized = true;
                scopes = self
                    .inner
                    .auth
                    .authorize(
                        &self.inner.http,
                        &url,
                        &host,
                        registry,
                        challenge.as_deref(),
                        &scopes,
                        cred.as_ref(),
                    )
                    .await?;
                if replayable {
                    continue;
                }
                return Err(RegistryError::Transport {
                    method: req.method.to_string(),
                    url: shown,
                    message: "authorisation was needed after a streamed body was sent; the upload must restart".into(),
                    retryable: true,
                    source: None,
                });
            }
            let transient = matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
            if transient && replayable && attempt < self.inner.options.retries {
                attempt += 1;
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s.min(60)));
                tracing::debug!(url = %shown, %status, attempt, "retrying");
                tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                continue;
            }
            if self.scheme(&host, registry) == "https" && url.scheme() == "https" {
                self.set_scheme(&host, "https");
            }
            return Ok(response);
        }
    }

    /// The URL a request goes to first.
    fn target_url(&self, registry: &str, target: &Target) -> Result<Url, RegistryError> {
        match target {
            Target::Url(u) => Ok(u.clone()),
            Target::Path(p) => {
                let base = self.base_url(registry)?;
                base.join(p).map_err(|e| RegistryError::Protocol {
                    url: format!("{base}{p}"),
                    message: e.to_string(),
                })
            }
        }
    }

    /// Fail `req` at once when the host `url` names is known to be unreachable.
    fn refuse_if_down(&self, req: &Request, url: &Url) -> Result<(), RegistryError> {
        match self.down(&authority(url)) {
            Some(message) => Err(RegistryError::Transport {
                method: req.method.to_string(),
                url: redact(url),
                message: format!("{message} (unreachable earlier in this run; not tried again)"),
                retryable: false,
                source: None,
            }),
            None => Ok(()),
        }
    }

    /// Why `authority` (`host:port`) is known to be unreachable in this run, when it is.
    fn down(&self, authority: &str) -> Option<String> {
        let down = self.inner.down.lock().ok()?;
        let (since, message) = down.get(authority)?;
        (since.elapsed() < UNREACHABLE_FOR).then(|| message.clone())
    }

    /// How many requests this client has sent, every try counted (retries and the HTTP
    /// fallback included; a request refused because its registry is down is not sent).
    pub fn attempts(&self) -> u64 {
        self.inner.attempts.load(Ordering::Relaxed)
    }

    /// How often a transient failure is tried again (`ClientOptions::retries`).
    pub(crate) fn retries(&self) -> u32 {
        self.inner.options.retries
    }

    /// The delay before try `attempt + 1`: `Retry-After` when the registry sent one, otherwise
    /// exponential from `ClientOptions::backoff` with jitter.
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d;
        }
        let base = self
            .inner
            .options
            .backoff
            .saturating_mul(1 << attempt.min(6));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Up to 50% jitter, so writers that collided do not collide again.
        let jitter = base.mul_f64(f64::from(nanos % 1000) / 2000.0);
        (base + jitter).min(Duration::from_secs(20))
    }

    /// Check `response` has one of `expected` statuses; otherwise turn it into an error with
    /// the registry's error envelope.
    pub(crate) async fn expect(
        &self,
        response: Response,
        method: &Method,
        expected: &[u16],
    ) -> Result<Response, RegistryError> {
        if expected.contains(&response.status().as_u16()) {
            return Ok(response);
        }
        Err(self.status_error(response, method).await)
    }

    /// `GET /v2/` with the client's credentials: whether the registry answers and accepts
    /// them (a bearer registry issues a token for no particular scope).
    pub async fn ping(&self, registry: &str) -> Result<(), RegistryError> {
        let req = Request::new(Method::GET, "/v2/", Scope::Login);
        let resp = self.send(registry, req).await?;
        self.expect(resp, &Method::GET, &[200]).await.map(|_| ())
    }
}

impl RegistryClient {
    /// Turn an unexpected response into a [`RegistryError::Status`], quoting what the
    /// registry said only with [`ClientOptions::quote_error_bodies`].
    pub(crate) async fn status_error(&self, response: Response, method: &Method) -> RegistryError {
        status_error(response, method, self.inner.options.quote_error_bodies).await
    }
}

/// Turn an unexpected response into a [`RegistryError::Status`]. Only the first
/// [`limits::ERROR_BODY`] bytes of the body are read: a longer body gives the same error
/// with the start of its message, and a body that cannot be read gives it without one.
/// Without `quote`, only the status and the error codes; the rest is logged.
async fn status_error(mut response: Response, method: &Method, quote: bool) -> RegistryError {
    let status = response.status().as_u16();
    let url = redact(response.url());
    let body = limits::read_prefix(&mut response, limits::ERROR_BODY)
        .await
        .map(|(body, _)| body)
        .unwrap_or_default();
    let (mut errors, mut body) = parse_error_body(&body);
    if !quote {
        tracing::debug!(%method, %url, status, ?errors, ?body, "a registry's error answer, not quoted to callers");
        body = None;
        for e in &mut errors {
            e.message.clear();
        }
    }
    RegistryError::Status {
        method: method.to_string(),
        url,
        status,
        errors,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 14 item 7: what the client learns per registry stays at its cap.
    #[test]
    fn per_registry_memos_stay_at_their_cap() {
        let client = RegistryClient::new(ClientOptions::default()).unwrap();
        let cap = Memo::<String, ()>::DEFAULT_CAPACITY;
        for i in 0..cap + 500 {
            let host = format!("registry-{i}.example");
            client.set_scheme(&host, "http");
            client.set_referrers_support(&host, "app", ReferrersSupport::Api);
        }
        assert_eq!(client.inner.schemes.lock().unwrap().len(), cap);
        assert_eq!(client.inner.referrers.lock().unwrap().len(), cap);
        assert_eq!(
            client.scheme("registry-0.example", "registry-0.example"),
            "https"
        );
        let last = format!("registry-{}.example", cap + 499);
        assert_eq!(client.scheme(&last, &last), "http");
    }

    // Issue 21: an unreachable registry is skipped for a while, not for a server's lifetime.
    #[test]
    fn an_unreachable_registry_is_tried_again_after_a_while() {
        let client = RegistryClient::new(ClientOptions::default()).unwrap();
        let now = std::time::Instant::now();
        let long_ago = now
            .checked_sub(UNREACHABLE_FOR + Duration::from_secs(1))
            .unwrap();
        let mut down = client.inner.down.lock().unwrap();
        down.insert("fresh.example".into(), (now, "refused".into()));
        down.insert("stale.example".into(), (long_ago, "refused".into()));
        drop(down);
        assert_eq!(client.down("fresh.example").as_deref(), Some("refused"));
        assert_eq!(client.down("stale.example"), None);
        assert_eq!(client.down("other.example"), None);
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:5000",
            "[::1]",
            "LOCALHOST:1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1:5000",
            "[2001:db8::1]:5000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn docker_hub_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
    }
}
