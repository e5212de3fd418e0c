//! Docker Hub normalisation (`splitDockerDomain`): which first component is a registry, the
//! `docker.io/library/` defaults, and Docker Hub's legacy name.

use super::grammar::has_uppercase;
use super::{DOCKER_HUB, DOCKER_HUB_LEGACY, OFFICIAL_REPO_PREFIX};

/// `splitDockerDomain`: the registry and the rest (path, tag and digest) of `input`.
pub(super) fn split_docker_domain(input: &str) -> (&str, String) {
    let Some((maybe_domain, maybe_remote)) = input.split_once('/') else {
        return (DOCKER_HUB, format!("{OFFICIAL_REPO_PREFIX}{input}"));
    };
    let (domain, remote) = if maybe_domain == DOCKER_HUB_LEGACY {
        (canonical_registry(maybe_domain), maybe_remote)
    } else if is_recognised_domain(maybe_domain) {
        (maybe_domain, maybe_remote)
    } else {
        (DOCKER_HUB, input)
    };
    if domain == DOCKER_HUB && !remote.contains('/') {
        (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"))
    } else {
        (domain, remote.to_string())
    }
}

/// The registry a reference's name writes (`registry.example` in
/// `registry.example/team/app`), when its first component is one (`splitDockerDomain`'s
/// test), as written: `index.docker.io` stays so.
pub fn written_registry(name: &str) -> Option<&str> {
    let (first, _) = name.split_once('/')?;
    is_recognised_domain(first).then_some(first)
}

/// `registry` as [`ImageRef::registry`] reports it: Docker Hub's legacy name is `docker.io`.
pub fn canonical_registry(registry: &str) -> &str {
    if registry == DOCKER_HUB_LEGACY {
        DOCKER_HUB
    } else {
        registry
    }
}

/// Whether normalised parsing takes `first` (the text before the first `/`) for a registry:
/// it is `localhost`, contains `.` or `:`, or is not all lowercase.
pub(super) fn is_recognised_domain(first: &str) -> bool {
    first == "localhost" || first.contains(['.', ':']) || has_uppercase(first)
}
