//! Which reader a file needs, from its path alone (the patterns Renovate's managers use,
//! `research/consumers.md` §3.1).

use std::ffi::OsStr;
use std::path::Path;

/// The kinds of file the updater reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*`: `FROM`, `COPY --from`,
    /// `RUN --mount=from=`, `# syntax=`.
    Dockerfile,
    /// `docker-compose*.y*ml`, `compose*.y*ml`: `services.*.image` (not when `build` is set).
    Compose,
    /// Any other YAML: `image:` in documents that have `apiVersion` and `kind`.
    Kubernetes,
    /// `values*.y*ml`: keys ending in `image`, as a string or `registry`/`repository`/`tag`.
    HelmValues,
    /// `.github/workflows/*.y*ml`: job `container:` and `services:` images, `docker://` steps.
    Workflow,
    /// `kustomization.y*ml`, `Kustomization`: the `images:` entries (`name`, `newName`,
    /// `newTag`, `digest`).
    Kustomization,
}

impl FileKind {
    /// The kind `path` names, or `None` for a file the updater does not read. Every YAML file
    /// that is not a compose file, a workflow or Helm values is read as Kubernetes manifests,
    /// whose reader skips documents without `apiVersion` and `kind`.
    pub fn from_path(path: &Path) -> Option<FileKind> {
        let name = path.file_name().and_then(OsStr::to_str)?;
        if is_dockerfile(name) {
            return Some(FileKind::Dockerfile);
        }
        if matches!(
            name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        ) {
            return Some(FileKind::Kustomization);
        }
        let stem = name
            .strip_suffix(".yaml")
            .or_else(|| name.strip_suffix(".yml"))?;
        let parent = path.parent();
        let in_workflows = parent.and_then(Path::file_name) == Some(OsStr::new("workflows"))
            && parent.and_then(Path::parent).and_then(Path::file_name)
                == Some(OsStr::new(".github"));
        Some(if in_workflows {
            FileKind::Workflow
        } else if stem.starts_with("compose") || stem.starts_with("docker-compose") {
            FileKind::Compose
        } else if stem.starts_with("values") {
            FileKind::HelmValues
        } else {
            FileKind::Kubernetes
        })
    }
}

/// Renovate's `(^|/|\.)([Dd]ocker|[Cc]ontainer)file$` and `(^|/)([Dd]ocker|[Cc]ontainer)file[^/]*$`,
/// except BuildKit's per-Dockerfile ignore files (`Dockerfile.dockerignore`).
fn is_dockerfile(name: &str) -> bool {
    const BASES: [&str; 4] = ["Dockerfile", "dockerfile", "Containerfile", "containerfile"];
    if name.ends_with(".dockerignore") || name.ends_with(".containerignore") {
        return false;
    }
    BASES
        .iter()
        .any(|b| name.starts_with(b) || name.ends_with(&format!(".{b}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(p: &str) -> Option<FileKind> {
        FileKind::from_path(Path::new(p))
    }

    #[test]
    fn names_pick_the_reader() {
        use FileKind::*;
        for (p, k) in [
            ("Dockerfile", Some(Dockerfile)),
            ("a/Containerfile", Some(Dockerfile)),
            ("a/Dockerfile.prod", Some(Dockerfile)),
            ("a/api.Dockerfile", Some(Dockerfile)),
            ("dockerfile", Some(Dockerfile)),
            ("Dockerfile.dockerignore", None),
            ("README.md", None),
            ("docker-compose.yml", Some(Compose)),
            ("docker-compose.prod.yaml", Some(Compose)),
            ("compose.yaml", Some(Compose)),
            ("chart/values.yaml", Some(HelmValues)),
            ("chart/values-prod.yml", Some(HelmValues)),
            (".github/workflows/ci.yml", Some(Workflow)),
            ("x/.github/workflows/ci.yaml", Some(Workflow)),
            ("workflows/ci.yaml", Some(Kubernetes)),
            ("deploy/app.yaml", Some(Kubernetes)),
            ("deploy/app.json", None),
        ] {
            assert_eq!(kind(p), k, "{p}");
        }
    }
}
