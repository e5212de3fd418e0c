//! Registry authentication: anonymous, basic, and the bearer token flow with identity
//! (refresh) tokens, driven by the challenges registries send on 401.
//!
//! Tokens are cached per registry host and scope set until they expire. A request that is
//! refused with a valid token (`insufficient_scope`) is authorised again, once, with the
//! scopes the new challenge names added.

pub mod challenge;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::credentials::Credential;
use crate::error::RegistryError;
use crate::limits;
use lineage_store::Memo;

/// The access a request needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `repository:NAME:pull` or `repository:NAME:pull,push`.
    Repository {
        /// The repository.
        name: String,
        /// Whether the request writes.
        push: bool,
    },
    /// `registry:catalog:*`.
    Catalog,
    /// No particular access: checking credentials (`lineage login`).
    Login,
    /// Push to `name` and pull from `from`, for a cross-repository mount.
    Mount {
        /// The repository mounted into.
        name: String,
        /// The repository mounted from.
        from: String,
    },
}

impl Scope {
    /// The scope strings of the token protocol.
    pub fn token_scopes(&self) -> Vec<String> {
        match self {
            Scope::Repository { name, push: false } => vec![format!("repository:{name}:pull")],
            Scope::Repository { name, push: true } => vec![format!("repository:{name}:pull,push")],
            Scope::Catalog => vec!["registry:catalog:*".to_string()],
            Scope::Login => Vec::new(),
            Scope::Mount { name, from } => vec![
                format!("repository:{name}:pull,push"),
                format!("repository:{from}:pull"),
            ],
        }
    }
}

/// How a registry host wants to be authorised, learned from its challenges.
#[derive(Debug, Clone)]
enum Method {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires: Instant,
}

/// Authentication state shared by every request of a client.
#[derive(Debug, Default)]
pub struct AuthState {
    /// Host → how it authenticates; bounded, as are the tokens.
    methods: Mutex<Memo<String, Method>>,
    tokens: Mutex<Memo<(String, String), Token>>,
}

/// What the token endpoint answers.
#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl AuthState {
    /// The `Authorization` header value to send to `host` for `scopes`, if one is known.
    pub fn header(
        &self,
        host: &str,
        scopes: &[String],
        cred: Option<&Credential>,
    ) -> Option<String> {
        let method = self.methods.lock().ok()?.get(host).cloned()?;
        match method {
            Method::Basic => basic_header(cred?),
            Method::Bearer { .. } => {
                let tokens = self.tokens.lock().ok()?;
                let t = tokens.get(&(host.to_string(), scope_key(scopes)))?;
                (t.expires > Instant::now()).then(|| format!("Bearer {}", t.value))
            }
        }
    }

    /// React to a 401 from `host`: learn the method and fetch a token. Returns the scopes to
    /// use from now on (the request's plus any a bearer challenge added).
    pub async fn authorize(
        &self,
        http: &reqwest::Client,
        host: &str,
        registry: &str,
        www_authenticate: Option<&str>,
        scopes: &[String],
        cred: Option<&Credential>,
    ) -> Result<Vec<String>, RegistryError> {
        let fail = |message: String| RegistryError::Auth {
            registry: registry.to_string(),
            message,
        };
        let challenges = challenge::parse(www_authenticate.unwrap_or(""));
        let chosen = challenges
            .iter()
            .find(|c| c.scheme == "bearer")
            .or_else(|| challenges.iter().find(|c| c.scheme == "basic"))
            .ok_or_else(|| {
                fail("the registry answered 401 without a bearer or basic challenge".into())
            })?;
        if chosen.scheme == "basic" {
            if basic_header(cred.ok_or_else(|| fail(no_credentials(registry)))?).is_none() {
                return Err(fail("the registry wants a username and password, and the stored credential is a token".into()));
            }
            self.set_method(host, Method::Basic);
            return Ok(scopes.to_vec());
        }
        let realm = chosen
            .param("realm")
            .ok_or_else(|| fail("the bearer challenge has no realm".into()))?;
        let service = chosen.param("service").map(str::to_string);
        let mut all: BTreeSet<String> = scopes.iter().cloned().collect();
        if let Some(extra) = chosen.param("scope") {
            // Only well-formed scopes; zuul-registry sends a bare `read`.
            all.extend(
                extra
                    .split(' ')
                    .filter(|s| s.starts_with("repository:") || s.starts_with("registry:"))
                    .map(String::from),
            );
        }
        let all: Vec<String> = all.into_iter().collect();
        let token = fetch_token(http, registry, realm, service.as_deref(), &all, cred).await?;
        self.set_method(
            host,
            Method::Bearer {
                realm: realm.to_string(),
                service,
            },
        );
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert((host.to_string(), scope_key(&all)), token.clone());
            tokens.insert((host.to_string(), scope_key(scopes)), token);
        }
        Ok(all)
    }

    fn set_method(&self, host: &str, m: Method) {
        if let Ok(mut methods) = self.methods.lock() {
            methods.insert(host.to_string(), m);
        }
    }

    /// Whether `host` is known to use bearer tokens (so a token must be fetched before a
    /// request whose body cannot be sent twice).
    pub fn bearer_realm(&self, host: &str) -> bool {
        self.methods
            .lock()
            .ok()
            .is_some_and(|m| matches!(m.get(host), Some(Method::Bearer { .. })))
    }

    /// Fetch a token for `scopes` on a bearer host ahead of a request.
    pub async fn prefetch(
        &self,
        http: &reqwest::Client,
        host: &str,
        registry: &str,
        scopes: &[String],
        cred: Option<&Credential>,
    ) -> Result<(), RegistryError> {
        let method = self.methods.lock().ok().and_then(|m| m.get(host).cloned());
        if let Some(Method::Bearer { realm, service }) = method {
            if self.header(host, scopes, cred).is_some() {
                return Ok(());
            }
            let token =
                fetch_token(http, registry, &realm, service.as_deref(), scopes, cred).await?;
            if let Ok(mut tokens) = self.tokens.lock() {
                tokens.insert((host.to_string(), scope_key(scopes)), token);
            }
        }
        Ok(())
    }
}

fn no_credentials(registry: &str) -> String {
    format!(
        "the registry requires credentials and none are stored for {registry}; run `lineage login {registry}`"
    )
}

fn scope_key(scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    s.join(" ")
}

/// `Basic base64(user:password)` for a username/password credential.
pub fn basic_header(cred: &Credential) -> Option<String> {
    match cred {
        Credential::Basic { username, password } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        Credential::IdentityToken(_) => None,
    }
}

/// Ask the token service for a token: GET with basic credentials (or anonymously), or the
/// OAuth2 refresh-token POST for an identity token, on behalf of `registry`. The answer is
/// read up to [`limits::TOKEN`] bytes, an error answer up to [`limits::ERROR_BODY`].
async fn fetch_token(
    http: &reqwest::Client,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    cred: Option<&Credential>,
) -> Result<Token, RegistryError> {
    let fail = |message: String| RegistryError::Auth {
        registry: registry.to_string(),
        message,
    };
    let mut url =
        url::Url::parse(realm).map_err(|e| fail(format!("invalid token realm `{realm}`: {e}")))?;
    let mut method = reqwest::Method::GET;
    let response = match cred {
        Some(Credential::IdentityToken(refresh)) => {
            let mut form = vec![
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", refresh.clone()),
                ("client_id", "lineage".to_string()),
            ];
            if let Some(s) = service {
                form.push(("service", s.to_string()));
            }
            if !scopes.is_empty() {
                form.push(("scope", scopes.join(" ")));
            }
            let body = form
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            method = reqwest::Method::POST;
            http.post(url.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
                .send()
                .await
        }
        other => {
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = service {
                    q.append_pair("service", s);
                }
                for s in scopes {
                    q.append_pair("scope", s);
                }
            }
            let mut req = http.get(url.clone());
            if let Some(h) = other.and_then(basic_header) {
                req = req.header(reqwest::header::AUTHORIZATION, h);
            }
            req.send().await
        }
    };
    let shown = crate::error::redact(&url);
    let mut response = response.map_err(|e| {
        fail(format!(
            "token request to {shown} failed: {}",
            lineage_store::one_line(&e)
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        let body = limits::read_prefix(&mut response, limits::ERROR_BODY)
            .await
            .map(|(body, _)| body)
            .unwrap_or_default();
        let (errors, text) = crate::error::parse_error_body(&body);
        let detail = errors
            .first()
            .map(|e| format!("{}: {}", e.code, e.message))
            .or(text)
            .unwrap_or_default();
        let hint = if status.as_u16() == 401 {
            " (check the stored credentials; `lineage login`)"
        } else {
            ""
        };
        return Err(fail(format!(
            "token service {shown} answered {status} {detail}{hint}"
        )));
    }
    let body =
        limits::read_limited(response, &method, registry, "token answer", limits::TOKEN).await?;
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| fail(format!("token service {shown} sent invalid JSON: {e}")))?;
    let value = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token)
        .ok_or_else(|| fail(format!("token service {shown} sent no token")))?;
    // Expire a little early so a token is never sent just as it lapses.
    let lifetime = parsed.expires_in.unwrap_or(60).max(10);
    Ok(Token {
        value,
        expires: Instant::now() + Duration::from_secs(lifetime.saturating_sub(5)),
    })
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
