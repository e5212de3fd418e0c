//! Turning a CLI reference into a store. The only place that knows which kinds of store
//! exist; everything after works through the store traits. One registry client is built per
//! process, on first use, with the global TLS flags and docker's credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use lineage_lifecycle::{Lookup, LookupOptions, Namespace, StoreOpener};
use lineage_oci::{ImageRef, StoreRef};
use lineage_registry_client::credentials::DockerConfig;
use lineage_registry_client::{ClientOptions, RegistryClient, RegistryStore};
use lineage_store::{ArchiveStore, LayoutStore, ReadStore, Store, StoreError};
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

impl Connection {
    /// Client options for these flags, with credentials from the docker config file `path`
    /// (a mounted `dockerconfigjson` secret), else docker's own `config.json`.
    pub fn client_options(&self, path: Option<&Path>) -> anyhow::Result<ClientOptions> {
        let docker_config = match path {
            Some(p) => DockerConfig::load(p)
                .with_context(|| format!("cannot read the docker config `{}`", p.display()))?,
            None => DockerConfig::load_default().context("cannot read docker's config.json")?,
        };
        Ok(ClientOptions {
            plain_http: self.plain_http,
            plain_http_hosts: self.plain_http_hosts.clone(),
            insecure: self.insecure,
            ca_files: self.ca_files.clone(),
            docker_config: Some(docker_config),
            ..ClientOptions::default()
        })
    }
}

/// Opens every image's repository in its registry for the lifecycle engine's batch lookup,
/// sharing one client.
pub struct RegistryOpener {
    client: RegistryClient,
}

impl RegistryOpener {
    /// An opener over `client`.
    pub fn new(client: RegistryClient) -> RegistryOpener {
        RegistryOpener { client }
    }
}

#[async_trait::async_trait]
impl StoreOpener for RegistryOpener {
    async fn open(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
        Ok(Arc::new(RegistryStore::new(self.client.clone(), image)))
    }
}

/// Opens registry repositories through an [`Opener`]'s client, built on first use (so a
/// command on a layout needs no registry client until an image's base is in a registry).
pub struct LazyRegistryOpener<'a>(pub &'a Opener);

#[async_trait::async_trait]
impl StoreOpener for LazyRegistryOpener<'_> {
    async fn open(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
        let client = self.0.client().await.map_err(|e| StoreError::Backend {
            kind: lineage_store::ErrorKind::Other,
            message: format!(
                "cannot reach {}: {}",
                image.registry(),
                lineage_store::one_line(e.as_ref())
            ),
            source: None,
        })?;
        Ok(Arc::new(RegistryStore::new(client, image)))
    }
}

/// The lifecycle engine's cached batch lookup for `namespace`, opening registries through
/// `client`.
pub fn registry_lookup(
    client: RegistryClient,
    namespace: &Namespace,
    options: LookupOptions,
) -> Lookup {
    let engine = crate::commands::lifecycle::engine(namespace, None);
    Lookup::new(engine, Arc::new(RegistryOpener::new(client)), options)
}

/// Opens stores, sharing one registry client and one lifecycle lookup.
pub struct Opener {
    connection: Connection,
    client: OnceCell<RegistryClient>,
    lookup: OnceCell<Lookup>,
}

impl Opener {
    /// An opener for these flags.
    pub fn new(connection: Connection) -> Opener {
        Opener {
            connection,
            client: OnceCell::new(),
            lookup: OnceCell::new(),
        }
    }

    /// The client options the global flags and docker's config.json give.
    pub fn client_options(&self) -> anyhow::Result<ClientOptions> {
        self.connection.client_options(None)
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

    /// The lifecycle engine's cached batch lookup over this opener's registry client (at
    /// most three registry requests per distinct image), built on first use and shared by
    /// every later call, so a command that looks up several times (a report's candidates,
    /// then the successor) reads each image once. `namespace` is the process's global
    /// `--namespace`, the same for every call.
    pub async fn lookup(&self, namespace: &Namespace) -> anyhow::Result<Lookup> {
        let lookup = self
            .lookup
            .get_or_try_init(|| async {
                anyhow::Ok(registry_lookup(
                    self.client().await?,
                    namespace,
                    LookupOptions::default(),
                ))
            })
            .await?;
        Ok(lookup.clone())
    }

    /// The status of each of `references` at `at`, keyed by the reference as given, with its
    /// successor followed to the image to move to ([`Lookup::follow_successors`]: the updater,
    /// the report and the audit must not send anyone to a successor retired since); a failed
    /// lookup keeps its error.
    pub async fn statuses(
        &self,
        namespace: &Namespace,
        references: &[String],
        at: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<std::collections::HashMap<String, lineage_integrations::Looked>> {
        let lookup = self.lookup(namespace).await?;
        let results = lookup.lookup_many(references, at).await;
        let followed = lookup.follow_many(results, at, None).await;
        Ok(references
            .iter()
            .cloned()
            .zip(
                followed
                    .into_iter()
                    .map(|r| r.map_err(lineage_integrations::LookupFailed::Lookup)),
            )
            .collect())
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
