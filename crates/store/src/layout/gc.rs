//! Garbage collection of a layout: blobs that no listed manifest reaches, and — only when
//! asked — referrers whose subject is no longer listed.
//!
//! Mark and sweep in two phases. The mark reads the whole index (journal included) and
//! every listed manifest, without locks, and lists the candidates: blobs nothing live
//! reaches, last written before the grace window. The sweep then takes the layout's write
//! locks ([`super::index::locked`]), which a manifest push holds from the check of what it
//! names to its listing: it reads the index again, marks what was pushed since the mark,
//! checks each candidate's age again, and only then removes. So a manifest pushed during a
//! collection never loses a blob, and a blob uploaded just before the manifest that names it
//! (within the grace window) is never collected. Referrers kept by default: the
//! distribution spec allows a registry to keep or remove referrers of a deleted subject,
//! and a referrer may be pushed before its subject.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use lineage_oci::{Descriptor, Digest, RawManifest, media_type};
use serde::Serialize;

use super::{LayoutStore, blob_file, index};
use crate::error::Result;
use crate::fs;

/// What a collection removes.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Blobs (and referrers) written more recently than this are kept, whatever names them.
    pub grace: Duration,
    /// Also remove referrers whose subject is not listed (recursively: referrers of removed
    /// referrers), once older than the grace window.
    pub delete_referrers_with_subject: bool,
    /// Report what would be removed, and remove nothing.
    pub dry_run: bool,
}

impl GcOptions {
    /// The default grace window: an hour, far longer than any client takes between the
    /// upload of a blob and the push of the manifest that names it.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            grace: GcOptions::DEFAULT_GRACE,
            delete_referrers_with_subject: false,
            dry_run: false,
        }
    }
}

/// A blob a collection removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedBlob {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// What one collection of one layout did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Manifests listed when the sweep ran (after removals).
    pub manifests: usize,
    /// Blobs kept: reached from a listed manifest, or inside the grace window.
    pub blobs_kept: usize,
    /// Blobs removed (manifests of removed referrers included).
    pub blobs_removed: Vec<RemovedBlob>,
    /// Referrers unlisted because their subject is not listed.
    pub referrers_removed: Vec<Digest>,
    /// Bytes the removed blobs held.
    pub bytes_removed: u64,
    /// Whether nothing was removed because this was a dry run.
    pub dry_run: bool,
}

impl LayoutStore {
    /// Collect this layout's garbage ([`gc`](self)).
    pub async fn gc(&self, options: &GcOptions) -> Result<GcReport> {
        self.gc_paused(options, async {}).await
    }

    /// [`gc`](Self::gc), awaiting `between` after the mark and before the sweep: tests
    /// push during a collection at exactly that point.
    #[doc(hidden)]
    pub async fn gc_paused(
        &self,
        options: &GcOptions,
        between: impl std::future::Future<Output = ()>,
    ) -> Result<GcReport> {
        let cutoff = SystemTime::now()
            .checked_sub(options.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let root = self.root().to_path_buf();
        let opts = options.clone();
        let marked = fs::blocking(move || mark(&root, &opts, cutoff)).await?;
        between.await;
        let opts = options.clone();
        let report =
            index::locked(self.root(), move |root| sweep(root, &opts, cutoff, marked)).await?;
        if !options.dry_run && !report.referrers_removed.is_empty() {
            self.referrers
                .remove(report.referrers_removed.iter().cloned().collect());
        }
        Ok(report)
    }
}

/// What the mark found.
struct Marked {
    listed: HashSet<Digest>,
    live: HashSet<Digest>,
    /// Listed manifest → its subject, for those that have one.
    subjects: HashMap<Digest, Digest>,
    /// Referrers whose subject was not listed at the mark.
    orphans: HashSet<Digest>,
    candidates: Vec<(Digest, u64)>,
}

fn mark(root: &Path, options: &GcOptions, cutoff: SystemTime) -> Result<Marked> {
    let listed = listing(root)?;
    let mut subjects = HashMap::new();
    for d in listed.values() {
        if let Some(s) =
            read_manifest(root, d).and_then(|m| m.view().ok().and_then(|v| v.subject.clone()))
        {
            subjects.insert(d.digest.clone(), s.digest);
        }
    }
    let names: HashSet<Digest> = listed.keys().cloned().collect();
    let orphans = if options.delete_referrers_with_subject {
        orphaned(root, &names, &subjects, cutoff)
    } else {
        HashSet::new()
    };
    let mut live = HashSet::new();
    for d in listed.values().filter(|d| !orphans.contains(&d.digest)) {
        reach(root, d, true, &mut live);
    }
    let candidates = blobs(root)
        .into_iter()
        .filter(|(digest, _, modified)| !live.contains(digest) && *modified < cutoff)
        .map(|(digest, size, _)| (digest, size))
        .collect();
    Ok(Marked {
        listed: names,
        live,
        subjects,
        orphans,
        candidates,
    })
}

/// What the index lists (journal included): digest → a descriptor with the entry's media
/// type, which is all the mark reads (its size, not needed, is 0).
fn listing(root: &Path) -> Result<HashMap<Digest, Descriptor>> {
    Ok(index::read(root)?
        .entries
        .into_iter()
        .map(|e| {
            let d = Descriptor::new(e.media_type(), e.digest().clone(), 0);
            (d.digest.clone(), d)
        })
        .collect())
}

/// Mark `desc` and everything it reaches as live. A listed entry (`listed`) is read as a
/// manifest whatever its media type says (umoci leaves it out); a child only when its media
/// type is a manifest's.
fn reach(root: &Path, desc: &Descriptor, listed: bool, live: &mut HashSet<Digest>) {
    let mut todo = vec![(desc.clone(), listed)];
    while let Some((d, force)) = todo.pop() {
        if !live.insert(d.digest.clone()) || !(force || media_type::is_manifest(&d.media_type)) {
            continue;
        }
        if let Some(m) = read_manifest(root, &d)
            && let Ok(view) = m.view()
        {
            todo.extend(view.children().cloned().map(|c| (c, false)));
        }
    }
}

fn read_manifest(root: &Path, d: &Descriptor) -> Option<RawManifest> {
    let path = blob_file(root, &d.digest);
    let meta = std::fs::metadata(&path).ok()?;
    if meta.len() > lineage_oci::manifest::MAX_MANIFEST_SIZE as u64 {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    let hint = media_type::is_manifest(&d.media_type).then_some(d.media_type.as_str());
    RawManifest::verified(bytes::Bytes::from(bytes), &d.digest, hint).ok()
}

/// Listed referrers whose subject is not listed, older than the cutoff, and their referrers
/// in turn.
fn orphaned(
    root: &Path,
    listed: &HashSet<Digest>,
    subjects: &HashMap<Digest, Digest>,
    cutoff: SystemTime,
) -> HashSet<Digest> {
    let old = |d: &Digest| modified(&blob_file(root, d)).is_some_and(|m| m < cutoff);
    let mut orphans: HashSet<Digest> = HashSet::new();
    loop {
        let more: Vec<Digest> = subjects
            .iter()
            .filter(|(r, s)| {
                listed.contains(*r)
                    && !orphans.contains(*r)
                    && (!listed.contains(*s) || orphans.contains(*s))
                    && old(r)
            })
            .map(|(r, _)| r.clone())
            .collect();
        if more.is_empty() {
            return orphans;
        }
        orphans.extend(more);
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Every blob file: digest, size, last modification.
fn blobs(root: &Path) -> Vec<(Digest, u64, SystemTime)> {
    let mut out = Vec::new();
    let Ok(algs) = std::fs::read_dir(root.join("blobs")) else {
        return out;
    };
    for alg in algs.flatten() {
        let Ok(files) = std::fs::read_dir(alg.path()) else {
            continue;
        };
        let alg_name = alg.file_name().to_string_lossy().into_owned();
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let Ok(digest) = format!("{alg_name}:{name}").parse::<Digest>() else {
                continue;
            };
            if let Ok(m) = f.metadata()
                && m.is_file()
            {
                out.push((
                    digest,
                    m.len(),
                    m.modified().unwrap_or_else(|_| SystemTime::now()),
                ));
            }
        }
    }
    out
}

/// The sweep, under the write locks.
fn sweep(
    root: &Path,
    options: &GcOptions,
    cutoff: SystemTime,
    mut marked: Marked,
) -> Result<GcReport> {
    // What was pushed since the mark is live, and so is what it reaches.
    let listed_now = listing(root)?;
    for d in listed_now
        .values()
        .filter(|d| !marked.listed.contains(&d.digest))
    {
        if let Some(s) =
            read_manifest(root, d).and_then(|m| m.view().ok().and_then(|v| v.subject.clone()))
        {
            marked.subjects.insert(d.digest.clone(), s.digest);
        }
        reach(root, d, true, &mut marked.live);
    }
    // Referrers to remove: orphans at the mark that still are (their subject may have been
    // pushed since) and that nothing live reaches. The others are live again.
    let names: HashSet<Digest> = listed_now.keys().cloned().collect();
    let still = orphaned(root, &names, &marked.subjects, cutoff);
    let gone: HashSet<Digest> = marked
        .orphans
        .iter()
        .filter(|d| still.contains(*d) && !marked.live.contains(*d))
        .cloned()
        .collect();
    for d in marked.orphans.iter().filter(|d| !gone.contains(*d)) {
        if let Some(desc) = listed_now.get(d) {
            reach(root, desc, true, &mut marked.live);
        }
    }
    if !options.dry_run && !gone.is_empty() {
        index::update_locked(root, |idx| {
            idx.remove_digests(&gone);
            Ok(())
        })?;
    }
    let mut referrers: Vec<Digest> = gone.into_iter().collect();
    referrers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut report = GcReport {
        dry_run: options.dry_run,
        manifests: listed_now.len() - referrers.len(),
        ..GcReport::default()
    };
    for (digest, size) in std::mem::take(&mut marked.candidates) {
        let path = blob_file(root, &digest);
        // Written again since the mark (uploaded anew, mounted): inside the window now.
        let still_old = modified(&path).is_some_and(|m| m < cutoff);
        if marked.live.contains(&digest) || !still_old {
            continue;
        }
        if !options.dry_run {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(crate::StoreError::io("remove", &path, e)),
            }
        }
        report.bytes_removed += size;
        report.blobs_removed.push(RemovedBlob { digest, size });
    }
    report
        .blobs_removed
        .sort_by(|a, b| a.digest.as_str().cmp(b.digest.as_str()));
    let on_disk = blobs(root).len();
    report.blobs_kept = if options.dry_run {
        on_disk.saturating_sub(report.blobs_removed.len())
    } else {
        on_disk
    };
    report.referrers_removed = referrers;
    Ok(report)
}
