//! Registry authentication: anonymous, basic, and the bearer token flow with identity
//! (refresh) tokens, driven by the challenges registries send on 401.
//!
//! Tokens are cached per registry host and scope set until they expire. A request that is
//! refused with a valid token (`insufficient_scope`) is authorised again, once, with the
//! scopes the new challenge names added.
//!
//! A bearer challenge names the token realm, and whoever controls the registry's answers
//! chooses it, so the registry's credentials do not follow it everywhere
//! ([`realm_credentials`]): a plain-HTTP realm behind an HTTPS registry is refused (a
//! downgrade: the token, and the credentials, would cross the network in clear), and a realm
//! on another host gets the credentials only over HTTPS (as containerd decides; docker's and
//! oras-go's clients send them to any realm). A realm on the registry's own host gets them
//! over the registry's own scheme. A realm that gets no credentials is asked for an
//! anonymous token.

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
        /// A URL of the registry as contacted: its scheme and host decide what the realm
        /// gets ([`realm_credentials`]).
        registry: url::Url,
    },
}

/// Whether a token realm gets the registry's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealmCredentials {
    /// Send them (Basic, or the identity token).
    Send,
    /// Ask for an anonymous token.
    Withhold,
}

/// Why a token realm is not used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RealmError {
    /// The realm is not an `http` or `https` URL.
    #[error("the token realm `{realm}` is not an http(s) URL")]
    Invalid {
        /// The realm as the challenge names it.
        realm: String,
    },
    /// A plain-HTTP realm behind an HTTPS registry.
    #[error(
        "the registry {registry} is HTTPS but its token realm `{realm}` is plain HTTP; refusing the downgrade"
    )]
    Downgrade {
        /// The registry host.
        registry: String,
        /// The realm.
        realm: String,
    },
}

/// What the token realm `realm` may get when `registry` (a URL of the registry as contacted)
/// challenges: see the module documentation.
pub fn realm_credentials(
    registry: &url::Url,
    realm: &url::Url,
) -> Result<RealmCredentials, RealmError> {
    let shown = || crate::error::redact(realm);
    if !matches!(realm.scheme(), "http" | "https") || realm.host_str().is_none() {
        return Err(RealmError::Invalid { realm: shown() });
    }
    if registry.scheme() == "https" && realm.scheme() != "https" {
        return Err(RealmError::Downgrade {
            registry: registry.host_str().unwrap_or_default().to_string(),
            realm: shown(),
        });
    }
    let same_host = match (registry.host_str(), realm.host_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    if same_host || realm.scheme() == "https" {
        Ok(RealmCredentials::Send)
    } else {
        Ok(RealmCredentials::Withhold)
    }
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
    /// Leave what a token service says out of error texts (`!ClientOptions::quote_error_bodies`).
    hide_error_bodies: bool,
}

/// What the token endpoint answers.
#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl AuthState {
    /// Empty state; error texts quote what a token service says only with
    /// `quote_error_bodies`.
    pub fn new(quote_error_bodies: bool) -> AuthState {
        AuthState {
            hide_error_bodies: !quote_error_bodies,
            ..AuthState::default()
        }
    }

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

    /// React to a 401 from `host` to a request for `url`: learn the method and fetch a
    /// token. Returns the scopes to use from now on (the request's plus any a bearer
    /// challenge added).
    #[allow(clippy::too_many_arguments)]
    pub async fn authorize(
        &self,
        http: &reqwest::Client,
        url: &url::Url,
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
        let method = Method::Bearer {
            realm: realm.to_string(),
            service,
            registry: url.clone(),
        };
        let token = self
            .fetch_token(http, registry, &method, &all, cred)
            .await?;
        self.set_method(host, method);
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
        if let Some(method @ Method::Bearer { .. }) = method {
            if self.header(host, scopes, cred).is_some() {
                return Ok(());
            }
            let token = self
                .fetch_token(http, registry, &method, scopes, cred)
                .await?;
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

impl AuthState {
    /// Ask the token service of `method` (a bearer method) for a token on behalf of
    /// `registry`: GET with basic credentials (or anonymously), or the OAuth2 refresh-token
    /// POST for an identity token. The credentials go only where [`realm_credentials`]
    /// allows.
    async fn fetch_token(
        &self,
        http: &reqwest::Client,
        registry: &str,
        method: &Method,
        scopes: &[String],
        cred: Option<&Credential>,
    ) -> Result<Token, RegistryError> {
        let fail = |message: String| RegistryError::Auth {
            registry: registry.to_string(),
            message,
        };
        let Method::Bearer {
            realm,
            service,
            registry: registry_url,
        } = method
        else {
            return Err(fail("no token service is known for this registry".into()));
        };
        let url = url::Url::parse(realm)
            .map_err(|e| fail(format!("invalid token realm `{realm}`: {e}")))?;
        let cred = match realm_credentials(registry_url, &url).map_err(|e| fail(e.to_string()))? {
            RealmCredentials::Send => cred,
            RealmCredentials::Withhold => {
                if cred.is_some() {
                    tracing::warn!(realm = %crate::error::redact(&url), "the token realm is on another host over plain HTTP; asking it for an anonymous token, without the registry's credentials");
                }
                None
            }
        };
        fetch_token(
            http,
            registry,
            url,
            service.as_deref(),
            scopes,
            cred,
            self.hide_error_bodies,
        )
        .await
    }
}

/// [`AuthState::fetch_token`] at `url`, with `cred` if any. The answer is read up to
/// [`limits::TOKEN`] bytes, an error answer up to [`limits::ERROR_BODY`].
async fn fetch_token(
    http: &reqwest::Client,
    registry: &str,
    mut url: url::Url,
    service: Option<&str>,
    scopes: &[String],
    cred: Option<&Credential>,
    hide_error_bodies: bool,
) -> Result<Token, RegistryError> {
    let fail = |message: String| RegistryError::Auth {
        registry: registry.to_string(),
        message,
    };
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
        let detail = if hide_error_bodies {
            tracing::debug!(url = %shown, %status, ?errors, ?text, "a token service's error answer, not quoted to callers");
            errors.first().map(|e| e.code.clone()).unwrap_or_default()
        } else {
            errors
                .first()
                .map(|e| format!("{}: {}", e.code, e.message))
                .or(text)
                .unwrap_or_default()
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn an_http_realm_behind_an_https_registry_is_refused() {
        let e = realm_credentials(
            &url("https://registry.example/v2/"),
            &url("http://registry.example/token"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the registry registry.example is HTTPS but its token realm `http://registry.example/token` is plain HTTP; refusing the downgrade"
        );
        assert!(matches!(
            realm_credentials(
                &url("https://registry.example/v2/"),
                &url("http://auth.example/token")
            ),
            Err(RealmError::Downgrade { .. })
        ));
    }

    #[test]
    fn credentials_go_to_another_host_only_over_https() {
        let send = |registry: &str, realm: &str| realm_credentials(&url(registry), &url(realm));
        assert_eq!(
            send("https://registry.example/v2/", "https://auth.example/token"),
            Ok(RealmCredentials::Send)
        );
        assert_eq!(
            send(
                "https://registry.example/v2/",
                "https://REGISTRY.example:8443/token"
            ),
            Ok(RealmCredentials::Send)
        );
        assert_eq!(
            send("http://127.0.0.1:5000/v2/", "http://127.0.0.1:5001/token"),
            Ok(RealmCredentials::Send),
            "the registry's own host, over its own scheme"
        );
        assert_eq!(
            send("http://127.0.0.1:5000/v2/", "http://auth.example/token"),
            Ok(RealmCredentials::Withhold)
        );
        assert_eq!(
            send("http://127.0.0.1:5000/v2/", "https://auth.example/token"),
            Ok(RealmCredentials::Send)
        );
        assert_eq!(
            send(
                "https://registry.example/v2/",
                "ftp://registry.example/token"
            ),
            Err(RealmError::Invalid {
                realm: "ftp://registry.example/token".into()
            })
        );
    }
}
