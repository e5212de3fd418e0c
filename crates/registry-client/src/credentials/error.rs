//! Errors of reading and writing credentials.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What a credential helper was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperAction {
    /// `get`: read the credentials for a server.
    Get,
    /// `store`: save credentials for a server.
    Store,
    /// `erase`: delete the credentials for a server.
    Erase,
}

impl HelperAction {
    /// The helper's command line argument.
    pub fn as_str(self) -> &'static str {
        match self {
            HelperAction::Get => "get",
            HelperAction::Store => "store",
            HelperAction::Erase => "erase",
        }
    }
}

impl fmt::Display for HelperAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with an `auths` entry of a docker config; never holds the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthEntryError {
    /// The entry is neither an object nor `null`.
    #[error("the entry is not a json object")]
    NotAnObject,
    /// `auth` is not base64 (standard or URL-safe).
    #[error("`auth` is not valid base64")]
    NotBase64,
    /// `auth` decodes to bytes that are not UTF-8.
    #[error("`auth` does not decode to utf-8 text")]
    NotUtf8,
    /// `auth` decodes to text without a `:`.
    #[error("`auth` does not hold `username:password`")]
    NotUserPassword,
}

/// Why credentials could not be read, stored or erased.
///
/// Messages name the file, the registry and the helper, and never hold a password, a token or
/// the standard output of a credential helper.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The config file exists but could not be read.
    #[error("cannot read docker config `{path}`: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid JSON.
    #[error("invalid json in docker config `{path}`: {source}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
    /// The config file is JSON but not shaped like a docker config.
    #[error("malformed docker config `{path}`: {reason}")]
    Malformed {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An `auths` entry cannot be decoded.
    #[error("invalid credentials for registry `{registry}` in docker config `{path}`: {reason}")]
    InvalidAuth {
        /// The config file.
        path: PathBuf,
        /// The registry whose entry is invalid.
        registry: String,
        /// What is wrong (never the decoded value).
        reason: AuthEntryError,
    },
    /// The config file could not be written.
    #[error("cannot write docker config `{path}`: {source}")]
    Write {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// There is no config file to write: neither `$DOCKER_CONFIG` nor `$HOME` is set.
    #[error(
        "no docker config file to write credentials for registry `{registry}` to: neither $DOCKER_CONFIG nor $HOME is set"
    )]
    NoConfigPath {
        /// The registry whose credentials were to be written.
        registry: String,
    },
    /// The registry name is empty or not a host name.
    #[error("invalid registry name `{registry}`")]
    InvalidRegistry {
        /// The name given.
        registry: String,
    },
    /// The credential helper program is not on the search path.
    #[error("credential helper `{program}` not found on PATH (needed for registry `{registry}`)")]
    HelperNotFound {
        /// The program, `docker-credential-<name>`.
        program: String,
        /// The registry.
        registry: String,
    },
    /// The credential helper could not be started or talked to.
    #[error(
        "cannot run credential helper `{program}` to {action} credentials for registry `{registry}`: {source}"
    )]
    HelperIo {
        /// The program, `docker-credential-<name>`.
        program: String,
        /// What it was asked to do.
        action: HelperAction,
        /// The registry.
        registry: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The credential helper exited unsuccessfully.
    #[error("credential helper `{program}` failed to {action} credentials for registry `{registry}` ({status}){}", stderr_suffix(.stderr))]
    HelperFailed {
        /// The program, `docker-credential-<name>`.
        program: String,
        /// What it was asked to do.
        action: HelperAction,
        /// The registry.
        registry: String,
        /// How it exited.
        status: String,
        /// Its standard error, trimmed and shortened.
        stderr: String,
    },
    /// The credential helper did not finish in time and was killed.
    #[error(
        "credential helper `{program}` timed out after {timeout:?} trying to {action} credentials for registry `{registry}`"
    )]
    HelperTimeout {
        /// The program, `docker-credential-<name>`.
        program: String,
        /// What it was asked to do.
        action: HelperAction,
        /// The registry.
        registry: String,
        /// The time it was given.
        timeout: Duration,
    },
    /// The credential helper's output is not the expected JSON.
    #[error(
        "credential helper `{program}` returned invalid output to {action} credentials for registry `{registry}`: {reason}"
    )]
    HelperOutput {
        /// The program, `docker-credential-<name>`.
        program: String,
        /// What it was asked to do.
        action: HelperAction,
        /// The registry.
        registry: String,
        /// What is wrong (never the output itself).
        reason: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}
