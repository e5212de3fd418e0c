//! How a [`crate::RegistryClient`] connects: TLS, plain HTTP, credentials, retries.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::credentials::{Credential, DockerConfig};

/// Client settings; `ClientOptions::default()` is what the CLI uses without flags.
#[derive(Debug)]
pub struct ClientOptions {
    /// Use plain HTTP for every registry.
    pub plain_http: bool,
    /// Registries (host[:port]) that use plain HTTP.
    pub plain_http_hosts: Vec<String>,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Extra CA certificates (PEM files) to trust.
    pub ca_files: Vec<PathBuf>,
    /// Credentials by registry, taking precedence over the docker config.
    pub credentials: HashMap<String, Credential>,
    /// The docker config to read credentials from, if any.
    pub docker_config: Option<DockerConfig>,
    /// Attempts after the first for requests that may be repeated.
    pub retries: u32,
    /// First backoff delay; doubled each retry, with jitter.
    pub backoff: Duration,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Upload blobs in chunks of this size instead of one request (the registry's
    /// `OCI-Chunk-Min-Length` raises it).
    pub chunk_size: Option<u64>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Quote what a registry or token service says in its error answers (the messages of
    /// its error envelope, or the first line of another body) in error texts. Off, an error
    /// carries the status and the spec's error codes only, and the answer goes to the log
    /// (`tracing`, debug level): for a server whose errors reach callers who must not read
    /// other hosts' answers (the policy routes).
    pub quote_error_bodies: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: false,
            plain_http_hosts: Vec::new(),
            insecure: false,
            ca_files: Vec::new(),
            credentials: HashMap::new(),
            docker_config: None,
            retries: 4,
            backoff: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(300),
            chunk_size: None,
            user_agent: format!("lineage/{}", env!("CARGO_PKG_VERSION")),
            quote_error_bodies: true,
        }
    }
}
