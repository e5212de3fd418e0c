//! Registry credentials from and to docker's `config.json`.
//!
//! Docker, podman, oras and regctl keep registry logins in the same file, by default
//! `$DOCKER_CONFIG/config.json` or `$HOME/.docker/config.json`. [`DockerConfig`] reads and
//! writes that file the way the docker CLI does:
//!
//! - `credHelpers` names a credential helper per registry (`docker-credential-<name>` on `PATH`);
//!   when one is configured for a registry it is the only source for that registry.
//! - `auths` maps a server address (`ghcr.io`, `https://ghcr.io`, `http://host:5000/v1/`,
//!   `https://index.docker.io/v1/`, ...) to an entry with `auth` (base64 of `user:password`),
//!   `username`/`password` or `identitytoken`.
//! - `credsStore` names the helper used for every registry without credentials in `auths`.
//!
//! The file is kept as a JSON value so that every key lineage does not know survives a rewrite,
//! and each write re-reads the file, applies its one change and replaces the file atomically.

mod auths;
mod config;
mod error;
mod helper;
mod keys;
#[cfg(test)]
mod tests;

use std::fmt;

pub use config::DockerConfig;
pub use error::{AuthEntryError, CredentialError, HelperAction};
pub use keys::{DOCKER_HUB_SERVER_ADDRESS, server_address};

/// What a registry login holds.
///
/// `Debug` prints the username but never a password or token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Username and password (or a personal access token as password).
    Basic {
        /// The user name.
        username: String,
        /// The password or access token.
        password: String,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`, or a helper's Username `<token>`).
    IdentityToken(String),
}

impl Credential {
    /// A username and password credential.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credential::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The username of a [`Credential::Basic`]; `None` for an identity token.
    pub fn username(&self) -> Option<&str> {
        match self {
            Credential::Basic { username, .. } => Some(username),
            Credential::IdentityToken(_) => None,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &format_args!("<redacted>"))
                .finish(),
            Credential::IdentityToken(_) => f
                .debug_tuple("IdentityToken")
                .field(&format_args!("<redacted>"))
                .finish(),
        }
    }
}
