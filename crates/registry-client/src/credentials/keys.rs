//! Registry names as `config.json` keys and helper server URLs.

use serde_json::{Map, Value};

use super::CredentialError;

/// The server address docker uses for Docker Hub: its `auths` key and the server URL its
/// credential helpers are given.
pub const DOCKER_HUB_SERVER_ADDRESS: &str = "https://index.docker.io/v1/";

/// Host names that all mean Docker Hub.
const DOCKER_HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// The server address for `registry` as docker writes it into `auths` and hands it to credential
/// helpers: [`DOCKER_HUB_SERVER_ADDRESS`] for Docker Hub (`docker.io`, `index.docker.io`,
/// `registry-1.docker.io`), else the host and port in lower case, without scheme or path.
pub fn server_address(registry: &str) -> String {
    let host = hostname(registry);
    if is_docker_hub(&host) {
        DOCKER_HUB_SERVER_ADDRESS.to_owned()
    } else {
        host
    }
}

/// The host (and port) of a registry name or `auths` key, lower case: the scheme and anything from
/// the first `/` after it are dropped (`http://Host:5000/v1/` → `host:5000`).
fn hostname(key: &str) -> String {
    let key = key.trim();
    let rest = match key.find("://") {
        Some(i) => &key[i + 3..],
        None => key,
    };
    let host = match rest.find('/') {
        Some(i) => &rest[..i],
        None => rest,
    };
    host.to_ascii_lowercase()
}

fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_HOSTS.contains(&host)
}

/// A registry whose credentials are looked up, stored or erased.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// The name as the caller gave it, for messages.
    name: String,
    /// Lower case `host[:port]`.
    host: String,
    /// Whether this is Docker Hub.
    hub: bool,
}

impl Target {
    pub(super) fn parse(registry: &str) -> Result<Target, CredentialError> {
        let host = hostname(registry);
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CredentialError::InvalidRegistry {
                registry: registry.to_owned(),
            });
        }
        Ok(Target {
            name: registry.trim().to_owned(),
            hub: is_docker_hub(&host),
            host,
        })
    }

    /// The registry as the caller named it.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The `auths` key to write and the server URL for credential helpers.
    pub(super) fn server_address(&self) -> String {
        if self.hub {
            DOCKER_HUB_SERVER_ADDRESS.to_owned()
        } else {
            self.host.clone()
        }
    }

    /// Whether a `config.json` key (in `auths` or `credHelpers`) names this registry.
    pub(super) fn matches_key(&self, key: &str) -> bool {
        let host = hostname(key);
        if self.hub {
            is_docker_hub(&host)
        } else {
            host == self.host
        }
    }

    /// The entry of `map` for this registry: the one under the exact server address when there is
    /// one (as docker does), else the first key naming the same host.
    pub(super) fn find<'a>(&self, map: &'a Map<String, Value>) -> Option<(&'a str, &'a Value)> {
        if let Some((key, value)) = map.get_key_value(self.server_address().as_str()) {
            return Some((key.as_str(), value));
        }
        map.iter()
            .find(|(key, _)| self.matches_key(key))
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Every key of `map` that names this registry.
    pub(super) fn matching_keys(&self, map: &Map<String, Value>) -> Vec<String> {
        map.keys()
            .filter(|key| self.matches_key(key))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn hostname_strips_scheme_and_path() {
        assert_eq!(hostname("ghcr.io"), "ghcr.io");
        assert_eq!(hostname("https://ghcr.io"), "ghcr.io");
        assert_eq!(hostname("http://Localhost:5000/v1/"), "localhost:5000");
        assert_eq!(hostname("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(hostname(" quay.io/ "), "quay.io");
    }

    #[test]
    fn server_addresses() {
        assert_eq!(server_address("docker.io"), DOCKER_HUB_SERVER_ADDRESS);
        assert_eq!(
            server_address("registry-1.docker.io"),
            DOCKER_HUB_SERVER_ADDRESS
        );
        assert_eq!(server_address("Index.Docker.io"), DOCKER_HUB_SERVER_ADDRESS);
        assert_eq!(server_address("GHCR.io"), "ghcr.io");
        assert_eq!(server_address("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn ports_are_significant() {
        let target = Target::parse("localhost:5000").unwrap();
        assert!(target.matches_key("http://localhost:5000/v2/"));
        assert!(!target.matches_key("localhost"));
        assert!(!target.matches_key("localhost:5001"));
    }

    #[test]
    fn empty_registry_is_rejected() {
        assert!(Target::parse("").is_err());
        assert!(Target::parse("https://").is_err());
        assert!(Target::parse("a b").is_err());
    }
}
