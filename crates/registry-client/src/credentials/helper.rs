//! Docker credential helpers: `docker-credential-<name> get|store|erase`.
//!
//! The protocol (docker-credential-helpers): `get` and `erase` read the server URL on standard
//! input; `store` reads `{"ServerURL","Username","Secret"}`; `get` prints the same object. A helper
//! that has nothing for a server exits non-zero saying "credentials not found". A Username of
//! `<token>` marks the secret as an identity (refresh) token.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::{Credential, CredentialError, HelperAction};

/// What helpers say when they have nothing for a server.
const NOT_FOUND: &str = "credentials not found";

/// The Username helpers use for an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// At most this much of a helper's standard error goes into an error message.
const MAX_STDERR: usize = 2000;

/// How often a spawn that failed with "text file busy" is retried.
const SPAWN_ATTEMPTS: u32 = 5;

/// One credential helper, ready to be asked about one registry.
pub(super) struct Helper<'a> {
    /// `docker-credential-<name>`.
    program: String,
    /// Directories to look for the program in; `None` means `$PATH`.
    search: Option<&'a [PathBuf]>,
    /// How long each call may take.
    timeout: Duration,
    /// The registry, for messages.
    registry: &'a str,
}

#[derive(Deserialize)]
struct HelperCredentials {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl<'a> Helper<'a> {
    pub(super) fn new(
        name: &str,
        search: Option<&'a [PathBuf]>,
        timeout: Duration,
        registry: &'a str,
    ) -> Helper<'a> {
        Helper {
            program: format!("docker-credential-{name}"),
            search,
            timeout,
            registry,
        }
    }

    /// `get`: the credentials for `server_url`, `None` when the helper has none.
    pub(super) async fn get(
        &self,
        server_url: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        let action = HelperAction::Get;
        let output = self.run(action, server_url.as_bytes().to_vec()).await?;
        if !output.status.success() {
            if says_not_found(&output) {
                return Ok(None);
            }
            return Err(self.failed(action, &output));
        }
        if output.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let creds: HelperCredentials =
            serde_json::from_slice(&output.stdout).map_err(|e| CredentialError::HelperOutput {
                program: self.program.clone(),
                action,
                registry: self.registry.to_owned(),
                reason: describe_json_error(&e),
            })?;
        if creds.username.is_empty() && creds.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(if creds.username == TOKEN_USERNAME {
            Credential::IdentityToken(creds.secret)
        } else {
            Credential::Basic {
                username: creds.username,
                password: creds.secret,
            }
        }))
    }

    /// `store`: saves `cred` for `server_url`.
    pub(super) async fn store(
        &self,
        server_url: &str,
        cred: &Credential,
    ) -> Result<(), CredentialError> {
        let action = HelperAction::Store;
        let (username, secret) = match cred {
            Credential::Basic { username, password } => (username.as_str(), password.as_str()),
            Credential::IdentityToken(token) => (TOKEN_USERNAME, token.as_str()),
        };
        let input = serde_json::json!({
            "ServerURL": server_url,
            "Username": username,
            "Secret": secret,
        });
        let output = self.run(action, input.to_string().into_bytes()).await?;
        if output.status.success() {
            Ok(())
        } else {
            Err(self.failed(action, &output))
        }
    }

    /// `erase`: deletes the credentials for `server_url`; whether there were any.
    pub(super) async fn erase(&self, server_url: &str) -> Result<bool, CredentialError> {
        let action = HelperAction::Erase;
        let output = self.run(action, server_url.as_bytes().to_vec()).await?;
        if output.status.success() {
            Ok(true)
        } else if says_not_found(&output) {
            Ok(false)
        } else {
            Err(self.failed(action, &output))
        }
    }

    /// Runs the helper with `action`, feeding it `input`, within the timeout; on timeout the
    /// process is killed.
    async fn run(&self, action: HelperAction, input: Vec<u8>) -> Result<Output, CredentialError> {
        let path = self.locate()?;
        let io_error = |source| CredentialError::HelperIo {
            program: self.program.clone(),
            action,
            registry: self.registry.to_owned(),
            source,
        };
        tracing::debug!(helper = %self.program, %action, registry = self.registry, "running credential helper");
        let mut child = spawn(&path, action).await.map_err(io_error)?;
        let stdin = child.stdin.take();
        let conversation = async move {
            if let Some(mut stdin) = stdin {
                match stdin.write_all(&input).await {
                    // A helper may exit without reading its input; its status tells.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => other?,
                }
                // Closing standard input tells the helper the input is complete.
                drop(stdin);
            }
            child.wait_with_output().await
        };
        match tokio::time::timeout(self.timeout, conversation).await {
            Ok(result) => result.map_err(io_error),
            // Dropping the conversation drops the child, which kills it (`kill_on_drop`).
            Err(_) => Err(CredentialError::HelperTimeout {
                program: self.program.clone(),
                action,
                registry: self.registry.to_owned(),
                timeout: self.timeout,
            }),
        }
    }

    /// The helper program: the first executable file of that name in the search directories.
    fn locate(&self) -> Result<PathBuf, CredentialError> {
        let not_found = || CredentialError::HelperNotFound {
            program: self.program.clone(),
            registry: self.registry.to_owned(),
        };
        if self.program.contains(std::path::is_separator) {
            return Err(not_found());
        }
        let dirs: Vec<PathBuf> = match self.search {
            Some(dirs) => dirs.to_vec(),
            None => std::env::var_os("PATH")
                .map(|path| std::env::split_paths(&path).collect())
                .unwrap_or_default(),
        };
        dirs.iter()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(&self.program))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(not_found)
    }

    fn failed(&self, action: HelperAction, output: &Output) -> CredentialError {
        CredentialError::HelperFailed {
            program: self.program.clone(),
            action,
            registry: self.registry.to_owned(),
            status: output.status.to_string(),
            stderr: shorten(String::from_utf8_lossy(&output.stderr).trim()),
        }
    }
}

/// Starts the helper with piped standard streams, retrying while the program file is busy (it may
/// just have been written, and another thread's fork may still hold it open).
async fn spawn(path: &Path, action: HelperAction) -> std::io::Result<tokio::process::Child> {
    let mut attempt = 1;
    loop {
        let result = Command::new(path)
            .arg(action.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match result {
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && attempt < SPAWN_ATTEMPTS =>
            {
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn says_not_found(output: &Output) -> bool {
    [&output.stdout, &output.stderr].iter().any(|stream| {
        String::from_utf8_lossy(stream)
            .to_lowercase()
            .contains(NOT_FOUND)
    })
}

/// Where and what kind of JSON error, without serde's message, which may quote the input.
fn describe_json_error(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not json",
        serde_json::error::Category::Data => "unexpected json",
        serde_json::error::Category::Eof => "truncated json",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_STDERR) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
