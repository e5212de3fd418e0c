//! The checks, by group, and what they share: the run context, the recorder
//! and the basic push and pull steps used to set content up.

mod discovery;
mod management;
mod pull;
mod push;

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;

use crate::content::{ACCEPT_MANIFESTS, Blob, Manifest, bytes_for, sha256};
use crate::http::{Body, Http, HttpError, Resp};
use crate::{CheckResult, Config, Group, Outcome};

/// What a check function returns: a pass (with an optional note), or why it
/// failed or was skipped.
pub type Check = Result<Option<String>, Bad>;

/// A check that did not pass.
#[derive(Debug)]
pub enum Bad {
    /// It failed; the text says how.
    Fail(String),
    /// It could not run; the text says why.
    Skip(String),
}

impl From<String> for Bad {
    fn from(s: String) -> Self {
        Bad::Fail(s)
    }
}

impl From<HttpError> for Bad {
    fn from(e: HttpError) -> Self {
        Bad::Fail(e.to_string())
    }
}

impl From<StepError> for Bad {
    fn from(e: StepError) -> Self {
        Bad::Fail(e.to_string())
    }
}

/// Why a step that sets content up (or a request a check builds on) failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The request got no answer.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The registry answered with another status than the step needs.
    #[error("{what}: expected {expected}, got {got}")]
    Status {
        /// The request, e.g. `PUT blob sha256:…`.
        what: String,
        /// The status the step needs.
        expected: u16,
        /// What came instead ([`Resp::describe`]).
        got: String,
    },
    /// An answer lacks the `Location` header the step needs.
    #[error("{what}: {got} without a Location header")]
    NoLocation {
        /// The request.
        what: String,
        /// The answer ([`Resp::describe`]).
        got: String,
    },
    /// A `Location` header does not resolve to a URL.
    #[error("{what}: Location {location:?}: {source}")]
    BadLocation {
        /// The request.
        what: String,
        /// The header's value.
        location: String,
        /// Why it does not resolve.
        source: url::ParseError,
    },
    /// A manifest could not be serialised.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Pushing the subject of the referrers failed.
    #[error("subject: {0}")]
    Subject(Box<StepError>),
    /// Several steps failed, in order.
    #[error("{}", several(.0))]
    Several(Vec<StepError>),
    /// Pushing one of the referrers failed.
    #[error("referrer {label}: {source}")]
    Referrer {
        /// The referrer's label.
        label: &'static str,
        /// Why.
        source: Box<StepError>,
    },
}

/// `return Err(Bad::Fail(format!(…)))`.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::checks::Bad::Fail(format!($($arg)*)))
    };
}

/// Fails with the message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            fail!($($arg)*);
        }
    };
}

pub(crate) use {ensure, fail};

/// Fails unless the status is one of `codes`.
pub fn want(resp: &Resp, codes: &[u16], what: &str) -> Result<(), Bad> {
    if codes.contains(&resp.status) && resp.body_error.is_none() {
        return Ok(());
    }
    let expected: Vec<String> = codes.iter().map(u16::to_string).collect();
    Err(Bad::Fail(format!(
        "{what}: expected {}, got {}",
        expected.join(" or "),
        resp.describe()
    )))
}

fn several(errors: &[StepError]) -> String {
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

/// The set-up a check depends on, or a failure naming why it is missing.
pub fn needs<T>(setup: &Result<T, StepError>) -> Result<&T, Bad> {
    setup
        .as_ref()
        .map_err(|e| Bad::Fail(format!("set-up failed: {e}")))
}

/// Collects results in order.
#[derive(Default)]
pub struct Recorder {
    results: Vec<CheckResult>,
}

impl Recorder {
    /// Records the result of check `id`.
    pub fn record(&mut self, group: Group, id: &str, check: Check) {
        let (outcome, note) = match check {
            Ok(note) => (Outcome::Pass, note),
            Err(Bad::Fail(m)) => (Outcome::Fail(m), None),
            Err(Bad::Skip(m)) => (Outcome::Skip(m), None),
        };
        self.results.push(CheckResult {
            id: id.to_owned(),
            group,
            outcome,
            note,
        });
    }
}

/// Everything the checks share.
pub struct Ctx {
    /// The registry.
    pub http: Http,
    /// This run's id, part of every repository name and of all content.
    pub run: String,
    namespace: String,
    crossmount: String,
}

impl Ctx {
    /// `<namespace>/<run>/<purpose>`.
    pub fn repo(&self, purpose: &str) -> String {
        format!("{}/{}/{purpose}", self.namespace, self.run)
    }

    /// `<crossmount namespace>/<run>`.
    pub fn cross_repo(&self) -> String {
        format!("{}/{}", self.crossmount, self.run)
    }

    /// A blob of `len` bytes unique to this run and `label`.
    pub fn blob(&self, media_type: &str, label: &str, len: usize) -> Blob {
        Blob::new(media_type, bytes_for(&format!("{} {label}", self.run), len))
    }

    /// A digest of content nobody pushed.
    pub fn missing_digest(&self, label: &str) -> String {
        sha256(format!("never pushed: {} {label}", self.run).as_bytes())
    }

    /// A request without a body.
    pub async fn req(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<Resp, HttpError> {
        self.http.send(method, target, headers, Body::None).await
    }

    /// A request with a body sent with `Content-Length`.
    pub async fn req_body(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Resp, HttpError> {
        self.http
            .send(method, target, headers, Body::Bytes(body))
            .await
    }

    /// `Location` of `resp`, resolved to an absolute URL.
    pub fn location(&self, resp: &Resp, what: &str) -> Result<String, StepError> {
        let loc = resp
            .header("location")
            .ok_or_else(|| StepError::NoLocation {
                what: what.to_owned(),
                got: resp.describe(),
            })?;
        Ok(resp
            .url
            .join(loc)
            .map_err(|source| StepError::BadLocation {
                what: what.to_owned(),
                location: loc.to_owned(),
                source,
            })?
            .to_string())
    }

    /// `POST /v2/<repo>/blobs/uploads/`, which must answer 202 with a
    /// `Location`; returns that location (absolute) and the response.
    pub async fn start_upload(&self, repo: &str) -> Result<(String, Resp), StepError> {
        let r = self
            .req_body(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                Vec::new(),
            )
            .await?;
        if r.status != 202 {
            return Err(StepError::Status {
                what: format!("POST /v2/{repo}/blobs/uploads/"),
                expected: 202,
                got: r.describe(),
            });
        }
        Ok((self.location(&r, "POST upload")?, r))
    }

    /// Pushes `blob` with POST and a monolithic PUT (201 expected).
    pub async fn push_blob(&self, repo: &str, blob: &Blob) -> Result<(), StepError> {
        let (loc, _) = self.start_upload(repo).await?;
        let r = self
            .req_body(
                Method::PUT,
                &with_digest(&loc, &blob.digest),
                &[("content-type", "application/octet-stream")],
                blob.data.clone(),
            )
            .await?;
        if r.status != 201 {
            return Err(StepError::Status {
                what: format!("PUT blob {}", blob.digest),
                expected: 201,
                got: r.describe(),
            });
        }
        Ok(())
    }

    /// `PUT /v2/<repo>/manifests/<reference>` with the manifest's media type.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        m: &Manifest,
    ) -> Result<Resp, HttpError> {
        self.req_body(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", &m.media_type)],
            m.bytes.clone(),
        )
        .await
    }

    /// Like [`Ctx::put_manifest`], but anything other than 201 is an error.
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        m: &Manifest,
    ) -> Result<Resp, StepError> {
        let r = self.put_manifest(repo, reference, m).await?;
        if r.status != 201 {
            return Err(StepError::Status {
                what: format!("PUT /v2/{repo}/manifests/{reference}"),
                expected: 201,
                got: r.describe(),
            });
        }
        Ok(r)
    }

    /// GET (or HEAD) of a manifest, accepting every manifest type.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        method: Method,
    ) -> Result<Resp, HttpError> {
        self.req(
            method,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("accept", ACCEPT_MANIFESTS)],
        )
        .await
    }

    /// GET (or HEAD) of a blob.
    pub async fn get_blob(
        &self,
        repo: &str,
        digest: &str,
        method: Method,
    ) -> Result<Resp, HttpError> {
        self.req(method, &format!("/v2/{repo}/blobs/{digest}"), &[])
            .await
    }
}

/// `location` with `digest=<digest>` added to its query.
pub fn with_digest(location: &str, digest: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={}", crate::http::enc(digest))
}

fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!("{nanos} {}", std::process::id());
    let d = sha256(seed.as_bytes());
    format!("r{}", &d["sha256:".len().."sha256:".len() + 10])
}

/// Runs every group in order.
pub async fn run_all(config: &Config) -> Vec<CheckResult> {
    let mut rec = Recorder::default();
    let creds = config
        .username
        .clone()
        .map(|u| (u, config.password.clone().unwrap_or_default()));
    let http = match Http::new(&config.base_url, creds) {
        Ok(h) => h,
        Err(e) => {
            rec.record(Group::Pull, "pull/ping", Err(e.into()));
            return rec.results;
        }
    };
    let cx = Ctx {
        http,
        run: run_id(),
        namespace: config.namespace.trim_matches('/').to_owned(),
        crossmount: config.crossmount_namespace.trim_matches('/').to_owned(),
    };
    pull::run(&cx, &mut rec).await;
    push::run(&cx, &mut rec).await;
    discovery::run(&cx, &mut rec).await;
    management::run(&cx, &mut rec).await;
    rec.results
}
