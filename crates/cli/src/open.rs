//! Turning a CLI reference into a store. The only place that knows which kinds of store
//! exist; everything after works through the store traits. One registry client is built per
//! process, on first use, with the global TLS flags and docker's credentials.

use std::path::PathBuf;

use anyhow::Context as _;
use lineage_oci::StoreRef;
use lineage_registry_client::credentials::DockerConfig;
use lineage_registry_client::{ClientOptions, RegistryClient, RegistryStore};
use lineage_store::{ArchiveStore, LayoutStore, ReadStore, Store};
use tokio::sync::OnceCell;

use crate::error::UsageError;

/// Parse a reference given on the command line; a bad one is a usage error.
pub fn parse(input: &str) -> anyhow::Result<StoreRef> {
    StoreRef::parse(input).map_err(|e| anyhow::Error::new(UsageError(anyhow::Error::new(e))))
}

/// The global connection flags.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `--plain-http`.
    pub plain_http: bool,
    /// Registries the config file says speak plain HTTP.
    pub plain_http_hosts: Vec<String>,
    /// `--insecure`.
    pub insecure: bool,
    /// `--ca-file`.
    pub ca_files: Vec<PathBuf>,
}

/// Opens stores, sharing one registry client.
pub struct Opener {
    connection: Connection,
    client: OnceCell<RegistryClient>,
}

impl Opener {
    /// An opener for these flags.
    pub fn new(connection: Connection) -> Opener {
        Opener {
            connection,
            client: OnceCell::new(),
        }
    }

    /// The client options the global flags and docker's config.json give.
    pub fn client_options(&self) -> anyhow::Result<ClientOptions> {
        let docker_config =
            DockerConfig::load_default().context("cannot read docker's config.json")?;
        Ok(ClientOptions {
            plain_http: self.connection.plain_http,
            plain_http_hosts: self.connection.plain_http_hosts.clone(),
            insecure: self.connection.insecure,
            ca_files: self.connection.ca_files.clone(),
            docker_config: Some(docker_config),
            ..ClientOptions::default()
        })
    }

    /// The registry client, built on first use.
    pub async fn client(&self) -> anyhow::Result<RegistryClient> {
        let client = self
            .client
            .get_or_try_init(|| async {
                RegistryClient::new(self.client_options()?)
                    .context("cannot set up the registry client")
            })
            .await?;
        Ok(client.clone())
    }

    /// Open the store `r` names for reading.
    pub async fn read(&self, r: &StoreRef) -> anyhow::Result<Box<dyn ReadStore>> {
        let store: Box<dyn ReadStore> = match r {
            StoreRef::Layout { path, .. } => {
                Box::new(LayoutStore::open(path).with_context(|| format!("cannot open `{r}`"))?)
            }
            StoreRef::Archive { path, .. } => Box::new(
                ArchiveStore::open(path)
                    .await
                    .with_context(|| format!("cannot open `{r}`"))?,
            ),
            StoreRef::Registry(image) => Box::new(RegistryStore::new(self.client().await?, image)),
        };
        Ok(store)
    }

    /// Open the store `r` names for writing, creating a layout or archive that does not exist.
    pub async fn write(&self, r: &StoreRef) -> anyhow::Result<Box<dyn Store>> {
        let store: Box<dyn Store> = match r {
            StoreRef::Layout { path, .. } => Box::new(
                LayoutStore::open_or_create(path).with_context(|| format!("cannot open `{r}`"))?,
            ),
            StoreRef::Archive { path, .. } => Box::new(
                ArchiveStore::open_or_create(path)
                    .await
                    .with_context(|| format!("cannot open `{r}`"))?,
            ),
            StoreRef::Registry(image) => Box::new(RegistryStore::new(self.client().await?, image)),
        };
        Ok(store)
    }
}
