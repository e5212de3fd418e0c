//! Which registries the policy routes answer for (DESIGN §8.6), and where each image is read
//! from. The routes are unauthenticated on `lineage webhook` (and on `lineage serve` without
//! `--htpasswd`), so a lookup must not let a caller make the server fetch from any host it
//! names.
//!
//! - `lineage serve` answers for its own repositories: images named under one of its own
//!   names ([`Scope::attach`]: the address it listens on, `localhost`, `127.0.0.1` and
//!   `[::1]` with its port when it listens on loopback or on every address, and each
//!   `--registry-name`) are read straight from its store, with no HTTP request. A registry
//!   named with `--lookup-registry` is read over the network. Everything else is refused.
//! - `lineage webhook` answers for the registries named with `--lookup-registry`, or, when
//!   none is named, for any registry.
//!
//! Names are compared as `HOST[:PORT]`, lowercased, Docker Hub's legacy name read as
//! `docker.io`: `registry.example` does not cover `registry.example:443`. A refused image gets
//! [`NotAllowed`] as its own error, and no request is made for it: the routes check each
//! requested image with [`Scope::refusal`], and [`ScopedOpener`] checks again every
//! repository the lookup opens (a successor a record names included).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use lineage_lifecycle::StoreOpener;
use lineage_oci::ImageRef;
use lineage_store::{ErrorKind, LayoutStore, ReadStore, StoreError};

use crate::registry::Registry;

/// Which server the scope belongs to: it decides the default and how a refusal is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// `lineage serve`: its own repositories, and the registries named with
    /// `--lookup-registry`.
    Serve,
    /// `lineage webhook`: the registries named with `--lookup-registry`, or any when none is.
    Webhook,
}

/// A registry name given to `--lookup-registry` or `--registry-name` that is not
/// `HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a registry name HOST[:PORT] (no scheme, user, path or spaces)")]
pub struct InvalidRegistryName(pub String);

/// An image whose registry the policy routes do not answer for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) struct NotAllowed {
    /// The image's registry, as the reference names it.
    pub(crate) registry: String,
    /// The server refusing.
    pub(crate) server: Server,
}

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let registry = &self.registry;
        match self.server {
            Server::Serve => write!(
                f,
                "registry {registry} is not allowed; lineage serve answers for its own repositories (--lookup-registry adds others)"
            ),
            Server::Webhook => write!(
                f,
                "registry {registry} is not allowed; lineage webhook answers for the registries named with --lookup-registry"
            ),
        }
    }
}

/// Where an allowed image is read from.
#[derive(Clone)]
pub(crate) enum Route {
    /// `lineage serve`'s own store.
    Own(Arc<Registry>),
    /// Over the network, through the registry client.
    Network,
}

/// The registries the policy routes answer for.
#[derive(Debug)]
pub struct Scope {
    server: Server,
    /// `--lookup-registry`: read over the network.
    lookup: BTreeSet<String>,
    /// `--registry-name`: more names of `lineage serve`'s own registry.
    names: BTreeSet<String>,
    /// `lineage serve`'s registry and every name it goes by, once it listens.
    own: OnceLock<Own>,
}

struct Own {
    names: BTreeSet<String>,
    /// The name its images are shown under: the first `--registry-name`, else the address
    /// it listens on (`localhost:PORT` when it listens on every address).
    primary: String,
    registry: Arc<Registry>,
}

impl std::fmt::Debug for Own {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Own").field("names", &self.names).finish()
    }
}

/// `name` as names are compared: lowercased, Docker Hub's legacy name as `docker.io`.
fn normalise(name: &str) -> String {
    lineage_oci::reference::canonical_registry(&name.to_ascii_lowercase()).to_string()
}

/// Check and normalise a `HOST[:PORT]` given on the command line.
fn parse_name(name: &str) -> Result<String, InvalidRegistryName> {
    let bad = || InvalidRegistryName(name.to_string());
    let trimmed = name.trim();
    if trimmed.is_empty()
        || trimmed.contains(['/', '@', '?', '#', ' ', '\t'])
        || trimmed.contains("://")
    {
        return Err(bad());
    }
    // The same reading a reference's registry gets, so that the two compare equal.
    let image = ImageRef::parse(&format!("{trimmed}/x")).map_err(|_| bad())?;
    if !image.registry().eq_ignore_ascii_case(trimmed)
        && image.registry() != lineage_oci::reference::canonical_registry(trimmed)
    {
        return Err(bad());
    }
    Ok(normalise(trimmed))
}

fn parse_names(names: &[String]) -> Result<BTreeSet<String>, InvalidRegistryName> {
    names.iter().map(|n| parse_name(n)).collect()
}

/// The names a server listening on `addr` is reached by from the same host.
fn local_names(addr: SocketAddr) -> BTreeSet<String> {
    let port = addr.port();
    let mut names = BTreeSet::new();
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        names.insert(format!("localhost:{port}"));
        names.insert(format!("127.0.0.1:{port}"));
        names.insert(format!("[::1]:{port}"));
    }
    if !addr.ip().is_unspecified() {
        names.insert(addr.to_string());
    }
    names
}

impl Scope {
    /// `lineage serve`'s own registry, once it listens; `None` for `lineage webhook`.
    pub(crate) fn own_registry(&self) -> Option<&Arc<Registry>> {
        self.own.get().map(|own| &own.registry)
    }

    /// The scope of `lineage serve`: its own repositories (once [`Scope::attach`]ed), also
    /// under each of `registry_names`, and the registries in `lookup_registries`.
    pub fn serve(
        lookup_registries: &[String],
        registry_names: &[String],
    ) -> Result<Scope, InvalidRegistryName> {
        Ok(Scope {
            server: Server::Serve,
            lookup: parse_names(lookup_registries)?,
            names: parse_names(registry_names)?,
            own: OnceLock::new(),
        })
    }

    /// The scope of `lineage webhook`: the registries in `lookup_registries`, or any when it
    /// is empty.
    pub fn webhook(lookup_registries: &[String]) -> Result<Scope, InvalidRegistryName> {
        Ok(Scope {
            server: Server::Webhook,
            lookup: parse_names(lookup_registries)?,
            names: BTreeSet::new(),
            own: OnceLock::new(),
        })
    }

    /// `lineage serve` listens on `addr` and keeps its repositories in `registry`: from now
    /// on, images under its own names are read from `registry`. Only the first call counts.
    pub(crate) fn attach(&self, registry: Arc<Registry>, addr: SocketAddr) {
        let mut names = local_names(addr);
        names.extend(self.names.iter().cloned());
        tracing::info!(names = ?names, lookup_registries = ?self.lookup, "the policy routes answer for these registries");
        let primary = match self.names.first() {
            Some(n) => n.clone(),
            None if addr.ip().is_unspecified() => format!("localhost:{}", addr.port()),
            None => addr.to_string(),
        };
        let _ = self.own.set(Own {
            names,
            primary,
            registry,
        });
    }

    /// `lineage serve`'s own registry and the name its images are shown under, once it
    /// listens; `None` on `lineage webhook`.
    pub(crate) fn own(&self) -> Option<(&str, &Arc<Registry>)> {
        self.own.get().map(|o| (o.primary.as_str(), &o.registry))
    }

    /// Where images of `registry` (a reference's registry, `HOST[:PORT]`) are read from, or
    /// why they are refused.
    pub(crate) fn route(&self, registry: &str) -> Result<Route, NotAllowed> {
        let name = normalise(registry);
        if let Some(own) = self.own.get()
            && own.names.contains(&name)
        {
            return Ok(Route::Own(own.registry.clone()));
        }
        let any = self.server == Server::Webhook && self.lookup.is_empty();
        if any || self.lookup.contains(&name) {
            return Ok(Route::Network);
        }
        Err(NotAllowed {
            registry: registry.to_string(),
            server: self.server,
        })
    }

    /// Why `reference` is refused, if it is. A reference that does not parse is not refused
    /// here: the lookup reports why it does not parse, without any request.
    pub(crate) fn refusal(&self, reference: &str) -> Option<NotAllowed> {
        let image = ImageRef::parse(reference).ok()?;
        self.route(image.registry()).err()
    }
}

/// A [`StoreOpener`] that applies a [`Scope`]: `lineage serve`'s own repositories from its
/// store, allowed registries through `network`, anything else refused without a request.
pub struct ScopedOpener {
    scope: Arc<Scope>,
    network: Arc<dyn StoreOpener>,
}

impl ScopedOpener {
    /// Open what `scope` allows, over `network` when not from the own store.
    pub fn new(scope: Arc<Scope>, network: Arc<dyn StoreOpener>) -> ScopedOpener {
        ScopedOpener { scope, network }
    }
}

#[async_trait::async_trait]
impl StoreOpener for ScopedOpener {
    async fn open(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
        match self.scope.route(image.registry()) {
            Ok(Route::Network) => self.network.open(image).await,
            Ok(Route::Own(registry)) => open_own(&registry, image).await,
            Err(refused) => Err(StoreError::Backend {
                kind: ErrorKind::Denied,
                message: refused.to_string(),
                source: Some(Box::new(refused)),
            }),
        }
    }
}

/// The repository of `image` in `lineage serve`'s own store, named as the image names it
/// (successor references are built from that name). Errors name the repository, never a
/// path on the server.
async fn open_own(registry: &Registry, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
    let repository = image.repository();
    let name = image.repository_ref();
    let missing = || StoreError::ManifestNotFound {
        store: name.clone(),
        reference: image.target().to_string(),
    };
    if !crate::registry::path::is_valid_name(repository)
        || registry.repo(repository).await.is_none()
    {
        return Err(missing());
    }
    match LayoutStore::open(registry.root().join(repository)) {
        Ok(store) => Ok(Arc::new(store.with_name(name.clone()))),
        Err(e) => {
            tracing::warn!(repository, error = %lineage_store::one_line(&e), "cannot open a repository for a policy lookup");
            Err(StoreError::Backend {
                kind: e.kind(),
                message: format!("cannot read {name}"),
                source: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn registry_names_are_host_and_port_only() {
        for good in [
            "registry.example",
            "Registry.Example:5000",
            "localhost:5000",
            "[::1]:5000",
        ] {
            assert!(parse_name(good).is_ok(), "{good}");
        }
        assert_eq!(parse_name("index.docker.io").unwrap(), "docker.io");
        for bad in [
            "",
            "https://registry.example",
            "registry.example/team",
            "user@registry.example",
            "registry example",
        ] {
            assert_eq!(
                parse_name(bad),
                Err(InvalidRegistryName(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn serve_refuses_every_registry_not_named() {
        let scope = Scope::serve(&names(&["registry.example"]), &[]).unwrap();
        assert!(matches!(
            scope.route("registry.example"),
            Ok(Route::Network)
        ));
        assert!(matches!(
            scope.route("REGISTRY.example"),
            Ok(Route::Network)
        ));
        let refused = scope.route("registry.example:443").err().unwrap();
        assert_eq!(
            refused.to_string(),
            "registry registry.example:443 is not allowed; lineage serve answers for its own repositories (--lookup-registry adds others)"
        );
        assert!(scope.refusal("127.0.0.1:5000/app:1").is_some());
        assert!(scope.refusal("nginx").is_some(), "docker.io is not named");
        assert!(scope.refusal("registry.example/app:1").is_none());
        assert!(scope.refusal("not a reference").is_none());
    }

    #[test]
    fn webhook_allows_any_registry_unless_a_list_is_given() {
        let any = Scope::webhook(&[]).unwrap();
        assert!(matches!(
            any.route("anything.example:1"),
            Ok(Route::Network)
        ));
        let listed = Scope::webhook(&names(&["docker.io"])).unwrap();
        assert!(listed.refusal("nginx:1").is_none());
        let refused = listed.refusal("quay.io/app:1").unwrap();
        assert_eq!(
            refused.to_string(),
            "registry quay.io is not allowed; lineage webhook answers for the registries named with --lookup-registry"
        );
    }

    #[test]
    fn a_server_on_loopback_or_every_address_is_also_localhost() {
        let loopback = local_names("127.0.0.1:5000".parse().unwrap());
        let expected: BTreeSet<String> = names(&["127.0.0.1:5000", "[::1]:5000", "localhost:5000"])
            .into_iter()
            .collect();
        assert_eq!(loopback, expected);
        let every = local_names("0.0.0.0:5000".parse().unwrap());
        assert!(every.contains("localhost:5000") && !every.contains("0.0.0.0:5000"));
        let one = local_names("10.1.2.3:5000".parse().unwrap());
        assert_eq!(one, BTreeSet::from(["10.1.2.3:5000".to_string()]));
    }

    #[tokio::test]
    async fn serve_reads_its_own_names_from_its_store_once_attached() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Arc::new(
            Registry::open(dir.path(), crate::Policy::default())
                .await
                .unwrap(),
        );
        let scope = Scope::serve(&[], &names(&["registry.example"])).unwrap();
        assert!(
            scope.route("registry.example").is_err(),
            "nothing is its own before it listens"
        );
        scope.attach(registry, "127.0.0.1:5000".parse().unwrap());
        for own in [
            "127.0.0.1:5000",
            "localhost:5000",
            "[::1]:5000",
            "registry.example",
        ] {
            assert!(matches!(scope.route(own), Ok(Route::Own(_))), "{own}");
        }
        assert!(scope.route("127.0.0.1:5001").is_err());

        // A repository that does not exist is not found, and no path of the server shows.
        let opener = ScopedOpener::new(Arc::new(scope), Arc::new(Unreachable));
        let image = ImageRef::parse("localhost:5000/app:1").unwrap();
        let e = opener.open(&image).await.err().unwrap();
        assert!(e.is_not_found(), "{e}");
        assert!(
            !e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
        let e = opener
            .open(&ImageRef::parse("elsewhere.example/app:1").unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert!(
            e.to_string()
                .starts_with("registry elsewhere.example is not allowed"),
            "{e}"
        );
    }

    /// An opener a test must never reach.
    struct Unreachable;

    #[async_trait::async_trait]
    impl StoreOpener for Unreachable {
        async fn open(&self, image: &ImageRef) -> Result<Arc<dyn ReadStore>, StoreError> {
            panic!("{image} was opened over the network")
        }
    }
}
