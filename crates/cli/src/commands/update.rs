//! `lineage update [PATH…]`: find the image references files pin and move end-of-life and
//! superseded ones to their successors.
//!
//! The files under the paths are picked by name ([`FileKind::from_path`]; directories are
//! walked, skipping `.git`, `target` and `node_modules` and symbolic links), read with
//! [`lineage_integrations::update::scan`], every distinct reference is looked up once through
//! the lifecycle engine's batch lookup, and [`lineage_integrations::update::plan`] computes the
//! splices. By default the change is printed as a unified diff (nothing is written); `--write`
//! replaces each changed file atomically (temporary file in the same directory, fsync, rename,
//! the file's permissions kept); `--renovate` prints Renovate `packageRules` for the same
//! moves. What could not be read or moved is a `warning:` naming the file and line (shown
//! even with `--quiet`, as every warning is); none of it fails the command.

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use lineage_integrations::update::{self, FileKind, FilePlan, FileScan, Move};
use lineage_lifecycle::Namespace;
use lineage_lifecycle::verdict::words;
use lineage_oci::quantity::plural;

use crate::args::UpdateArgs;
use crate::commands::lifecycle::usage;
use crate::open::Opener;
use crate::output::Printer;

/// Directories never walked into.
const SKIPPED_DIRS: [&str; 3] = [".git", "target", "node_modules"];

/// Files larger than this are not read (no one writes image references in them).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One file read.
struct File {
    /// Where it is.
    path: PathBuf,
    /// How to show it (relative to the current directory when it is under it).
    shown: String,
    text: String,
    scan: FileScan,
}

/// Find image references and move end-of-life ones to their successors.
pub async fn run(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: UpdateArgs,
) -> anyhow::Result<()> {
    let at = a.at.unwrap_or_else(lineage_oci::time::now);
    let roots = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let warn = |message: String| printer.warning(format_args!("{message}"));

    let mut files = Vec::new();
    for (path, kind) in collect(&roots)? {
        let shown = shown(&path);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("cannot read `{shown}`"))?
            .len();
        if size > MAX_FILE_BYTES {
            warn(format!("{shown}: larger than 16 MiB; skipped"));
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read `{shown}`"))?;
        let Ok(text) = String::from_utf8(bytes) else {
            warn(format!("{shown}: not UTF-8 text; skipped"));
            continue;
        };
        let scan = update::scan(kind, &text);
        for n in &scan.notes {
            warn(format!("{shown}:{}: {}", n.line, n.message));
        }
        files.push(File {
            path,
            shown,
            text,
            scan,
        });
    }

    let keys: Vec<String> = files
        .iter()
        .flat_map(|f| f.scan.occurrences.iter().map(|o| o.key()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let statuses = if keys.is_empty() {
        HashMap::new()
    } else {
        opener.statuses(namespace, &keys, at).await?
    };

    let plans: Vec<(&File, FilePlan)> = files
        .iter()
        .map(|f| (f, update::plan(&f.text, &f.scan, &statuses)))
        .collect();
    for (f, p) in &plans {
        for n in &p.notes {
            warn(format!("{}:{}: {}", f.shown, n.line, n.message));
        }
    }
    let changed: Vec<(&File, &FilePlan, &str)> = plans
        .iter()
        .filter_map(|(f, p)| p.updated.as_deref().map(|u| (*f, p, u)))
        .collect();
    let moves: usize = changed.iter().map(|(_, p, _)| p.moves.len()).sum();

    if a.renovate {
        let all: Vec<&Move> = changed.iter().flat_map(|(_, p, _)| &p.moves).collect();
        let r = update::renovate_config(all);
        for (from, to) in &r.unexpressed {
            warn(format!(
                "`{from}` → `{to}`: Renovate cannot match a reference pinned by digest alone; use `lineage update --write`"
            ));
        }
        crate::output::json(&r.config).context("cannot render the rules")?;
        return Ok(());
    }

    for (f, p, _) in &changed {
        for m in &p.moves {
            note!(printer, "{}:{}: {}", f.shown, m.line, describe(m));
        }
    }
    if !a.images.is_empty() {
        // The images built on a moved reference: their base is the image that moves.
        let moved: HashMap<&lineage_oci::Digest, &str> = changed
            .iter()
            .flat_map(|(_, p, _)| &p.moves)
            .filter_map(|m| {
                let key = statuses
                    .keys()
                    .find(|k| lineage_oci::ImageRef::parse(k).is_ok_and(|i| i == m.from_image))?;
                let status = statuses.get(key)?.as_ref().ok()?;
                Some((&status.digest, m.to.as_str()))
            })
            .collect();
        let derived = opener.statuses(namespace, &a.images, at).await?;
        for image in &a.images {
            let Some(Ok(status)) = derived.get(image) else {
                continue;
            };
            let Some(base) = &status.base else { continue };
            if let Some(to) = base.digest.as_ref().and_then(|d| moved.get(d)) {
                let from = base.reference.as_deref().unwrap_or_default();
                note!(printer, "{}", words::rebuild_after_update(image, from, to));
            }
        }
    }

    if a.write {
        for (f, _, updated) in &changed {
            write(&f.path, updated.as_bytes())
                .with_context(|| format!("cannot write `{}`", f.shown))?;
        }
        note!(
            printer,
            "updated {} in {}",
            plural(moves as u64, "reference"),
            plural(changed.len() as u64, "file")
        );
        return Ok(());
    }

    let mut diff = String::new();
    for (f, _, updated) in &changed {
        diff.push_str(&update::unified_diff(&f.shown, &f.text, updated));
    }
    out!("{diff}")?;
    let found: usize = files.iter().map(|f| f.scan.occurrences.len()).sum();
    if changed.is_empty() {
        note!(
            printer,
            "nothing to update: {} in {} checked",
            plural(found as u64, "image reference"),
            plural(files.len() as u64, "file")
        );
    } else {
        note!(
            printer,
            "{} to update in {}; run with `--write` to apply",
            plural(moves as u64, "reference"),
            plural(changed.len() as u64, "file")
        );
    }
    Ok(())
}

/// `from → to (end-of-life since T)`.
fn describe(m: &Move) -> String {
    format!("{} → {} ({})", m.from, m.to, m.why())
}

/// The files to read under `roots`, each once, in path order. A file named on the command
/// line must be of a kind the updater reads; directories are walked.
fn collect(roots: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, FileKind)>> {
    let mut out = Vec::new();
    for root in roots {
        let meta =
            std::fs::metadata(root).with_context(|| format!("cannot read `{}`", root.display()))?;
        if meta.is_dir() {
            walk(root, &mut out)?;
        } else {
            let kind = FileKind::from_path(root).ok_or_else(|| {
                usage(anyhow::anyhow!(
                    "`{}` is not a Dockerfile, compose file, Kubernetes manifest, Helm values file, kustomization or GitHub workflow (by its name)",
                    root.display()
                ))
            })?;
            out.push((root.clone(), kind));
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|(p, _)| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, FileKind)>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list `{}`", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list `{}`", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let kind = e
            .file_type()
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if kind.is_dir() {
            let name = e.file_name();
            if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                walk(&path, out)?;
            }
        } else if kind.is_file()
            && let Some(k) = FileKind::from_path(&path)
        {
            out.push((path, k));
        }
    }
    Ok(())
}

/// `path` relative to the current directory when it is under it, without a leading `./`.
pub fn shown(path: &Path) -> String {
    let relative = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    relative.display().to_string()
}

/// Replace the file at `path` (the file a symbolic link points to) with `data`: a temporary
/// file in the same directory, given the old file's permissions, fsynced and renamed over it.
fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&target)?.permissions();
    let dir = lineage_store::fs::parent_dir(&target);
    let mut tmp = lineage_store::fs::temp_file_in(&dir)?;
    tmp.write_all(data)?;
    tmp.as_file().set_permissions(permissions)?;
    lineage_store::fs::persist(tmp, &target)?;
    Ok(())
}
