//! The one graph copy: an image, index or artifact with everything it points to, and
//! optionally its referrers, from any [`ReadStore`] to any [`Store`].
//!
//! Shaped after oras-go's `CopyGraph`: a node is copied once even when several parents share
//! it; a node the destination already has is skipped (with its sub-graph, unless referrers are
//! wanted); children land before their parent, so a manifest never appears before its blobs;
//! exact manifest bytes are pushed as read. Blob transfers are bounded by a semaphore that is
//! held only while bytes move, never while a node waits for its children, so the pool cannot
//! deadlock. Referrers are copied in a second, breadth-first phase over every manifest copied,
//! with a visited set, so a referrer graph of any shape terminates. With a progress observer,
//! the image's manifests are read first to tell it the total ([`CopyProgress::planned`]); the
//! copy then uses those reads, so no manifest is read twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use base64::Engine as _;
use futures_util::future::{BoxFuture, try_join_all};
use futures_util::{StreamExt, TryFutureExt};
use lineage_oci::{Descriptor, Digest, ManifestKind, RawManifest, TagOrDigest};
use tokio::sync::{OnceCell, Semaphore};

use crate::blob::{self, BlobStream};
use crate::error::StoreError;
use crate::store::{ReadStore, Store};

/// Blob transfers in flight at once; dockerd and containerd use 3, registries cope with more.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Observes a copy as it runs, for progress bars. Every method has a do-nothing default.
pub trait CopyProgress: Send + Sync {
    /// Before any blob moves: the blobs of the image's manifests (config and layers of every
    /// platform), each digest once, with the sum of their sizes. Referrers copied later are
    /// not in it; their blobs arrive through [`CopyProgress::blob_started`] as unplanned.
    fn planned(&self, blobs: &[Descriptor], total_bytes: u64) {
        let _ = (blobs, total_bytes);
    }
    /// A blob transfer started.
    fn blob_started(&self, desc: &Descriptor) {
        let _ = desc;
    }
    /// `n` more bytes of `desc` arrived.
    fn blob_bytes(&self, desc: &Descriptor, n: u64) {
        let _ = (desc, n);
    }
    /// A blob is in the destination; `skipped` when it was there already.
    fn blob_finished(&self, desc: &Descriptor, skipped: bool) {
        let _ = (desc, skipped);
    }
    /// A manifest is in the destination; `skipped` when it was there already.
    fn manifest_finished(&self, desc: &Descriptor, skipped: bool) {
        let _ = (desc, skipped);
    }
}

/// Decides, from a referrer manifest's own bytes, whether a copy with referrers takes it
/// (a promotion leaves out records whose scope may not travel: `lineage_lifecycle::scope`).
/// A referrer left out is not copied, nor are its own referrers.
pub trait ReferrerFilter: Send + Sync {
    /// Whether to copy `referrer` (read from the source, digest verified).
    fn admits(&self, referrer: &RawManifest) -> bool;
}

/// How to copy.
#[derive(Clone)]
pub struct CopyOptions {
    /// Blob transfers in flight at once.
    pub concurrency: usize,
    /// Also copy the referrers of every manifest copied, recursively.
    pub referrers: bool,
    /// When not empty, only referrers of these artifact types.
    pub include_types: Vec<String>,
    /// Never referrers of these artifact types.
    pub exclude_types: Vec<String>,
    /// Progress observer.
    pub progress: Option<Arc<dyn CopyProgress>>,
    /// With `referrers`, a filter on each referrer's manifest, after the type filters.
    pub referrer_filter: Option<Arc<dyn ReferrerFilter>>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            concurrency: DEFAULT_CONCURRENCY,
            referrers: false,
            include_types: Vec::new(),
            exclude_types: Vec::new(),
            progress: None,
            referrer_filter: None,
        }
    }
}

impl fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOptions")
            .field("concurrency", &self.concurrency)
            .field("referrers", &self.referrers)
            .field("include_types", &self.include_types)
            .field("exclude_types", &self.exclude_types)
            .field("referrer_filter", &self.referrer_filter.is_some())
            .finish_non_exhaustive()
    }
}

impl CopyOptions {
    fn wants_referrer(&self, desc: &Descriptor) -> bool {
        let t = desc.artifact_type.as_deref();
        let included = self.include_types.is_empty()
            || t.is_some_and(|t| self.include_types.iter().any(|i| i == t));
        let excluded = t.is_some_and(|t| self.exclude_types.iter().any(|x| x == t));
        included && !excluded
    }
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The descriptor of the root manifest.
    pub root: Descriptor,
    /// Manifests pushed.
    pub manifests_copied: u64,
    /// Manifests the destination already had.
    pub manifests_skipped: u64,
    /// Blobs transferred.
    pub blobs_copied: u64,
    /// Blobs the destination already had.
    pub blobs_skipped: u64,
    /// Bytes of blobs transferred.
    pub bytes_copied: u64,
    /// Referrer manifests reached (copied or already present).
    pub referrers: u64,
    /// Referrers the [`ReferrerFilter`] left out.
    pub referrers_left_out: u64,
}

/// Which side of a copy failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reading from the source.
    Source,
    /// Writing to or checking the destination.
    Destination,
}

/// A copy failed: what was being done, to which digest, on which side.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {digest} {} {store}", match side { Side::Source => "from", Side::Destination => "in" })]
pub struct CopyError {
    /// What was being done (`read blob`, `write manifest`, …).
    pub op: &'static str,
    /// The content involved (a digest, or a tag when resolving).
    pub digest: String,
    /// Which side failed.
    pub side: Side,
    /// The store on that side.
    pub store: String,
    /// The store's error.
    #[source]
    pub source: StoreError,
}

/// Resolve `target` in `src` (or its default manifest), then copy its graph to `dst`,
/// tagging the root `dst_tag` when given.
pub async fn copy(
    src: &dyn ReadStore,
    target: Option<&TagOrDigest>,
    dst: &dyn Store,
    dst_tag: Option<&str>,
    opts: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    let root = src
        .resolve_target(target)
        .await
        .map_err(|source| CopyError {
            op: "resolve",
            digest: target.map_or_else(|| "the default manifest".to_string(), |t| format!("`{t}`")),
            side: Side::Source,
            store: src.name().to_string(),
            source,
        })?;
    copy_graph(src, dst, &root, dst_tag, opts).await
}

/// Copy the manifest `root` and everything it points to, then (with `opts.referrers`) the
/// referrers of every manifest copied. The root is tagged `dst_tag` when given.
pub async fn copy_graph(
    src: &dyn ReadStore,
    dst: &dyn Store,
    root: &Descriptor,
    dst_tag: Option<&str>,
    opts: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    let ctx = Ctx {
        src,
        dst,
        opts,
        root_tag: dst_tag.map(|t| (root.digest.clone(), t.to_string())),
        blobs: Semaphore::new(opts.concurrency.max(1)),
        nodes: StdMutex::new(HashMap::new()),
        manifests_seen: StdMutex::new(Vec::new()),
        fetched: StdMutex::new(HashMap::new()),
        stats: Stats::default(),
    };
    if let Some(p) = ctx.progress() {
        let blobs = plan(&ctx, root).await?;
        let total = blobs.iter().map(|b| b.size).sum();
        p.planned(&blobs, total);
    }
    copy_node(&ctx, root, NodeKind::Manifest).await?;
    if opts.referrers {
        copy_referrers(&ctx).await?;
    }
    let s = &ctx.stats;
    Ok(CopyReport {
        root: root.clone(),
        manifests_copied: s.manifests_copied.load(Ordering::Relaxed),
        manifests_skipped: s.manifests_skipped.load(Ordering::Relaxed),
        blobs_copied: s.blobs_copied.load(Ordering::Relaxed),
        blobs_skipped: s.blobs_skipped.load(Ordering::Relaxed),
        bytes_copied: s.bytes.load(Ordering::Relaxed),
        referrers: s.referrers.load(Ordering::Relaxed),
        referrers_left_out: s.referrers_left_out.load(Ordering::Relaxed),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Manifest,
    Blob,
}

#[derive(Default)]
struct Stats {
    manifests_copied: AtomicU64,
    manifests_skipped: AtomicU64,
    blobs_copied: AtomicU64,
    blobs_skipped: AtomicU64,
    bytes: AtomicU64,
    referrers: AtomicU64,
    referrers_left_out: AtomicU64,
}

struct Ctx<'a> {
    src: &'a dyn ReadStore,
    dst: &'a dyn Store,
    opts: &'a CopyOptions,
    root_tag: Option<(Digest, String)>,
    blobs: Semaphore,
    /// One cell per digest: the first task copies, the others wait for it.
    nodes: StdMutex<HashMap<Digest, Arc<OnceCell<()>>>>,
    /// Manifests reached, in order, for the referrers phase.
    manifests_seen: StdMutex<Vec<Digest>>,
    /// Source manifests read while planning (only with a progress observer), so the copy
    /// reads each once.
    fetched: StdMutex<HashMap<Digest, RawManifest>>,
    stats: Stats,
}

impl Ctx<'_> {
    fn cell(&self, digest: &Digest) -> Arc<OnceCell<()>> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|e| e.into_inner());
        nodes.entry(digest.clone()).or_default().clone()
    }

    /// A function that wraps a store error as a [`CopyError`] of `side`.
    fn err(
        &self,
        side: Side,
        op: &'static str,
        digest: &Digest,
    ) -> impl FnOnce(StoreError) -> CopyError + use<'_> {
        let digest = digest.to_string();
        let store = match side {
            Side::Source => self.src.name(),
            Side::Destination => self.dst.name(),
        };
        move |source| CopyError {
            op,
            digest,
            side,
            store: store.to_string(),
            source,
        }
    }

    fn src_err(
        &self,
        op: &'static str,
        digest: &Digest,
    ) -> impl FnOnce(StoreError) -> CopyError + use<'_> {
        self.err(Side::Source, op, digest)
    }

    fn dst_err(
        &self,
        op: &'static str,
        digest: &Digest,
    ) -> impl FnOnce(StoreError) -> CopyError + use<'_> {
        self.err(Side::Destination, op, digest)
    }

    fn progress(&self) -> Option<&dyn CopyProgress> {
        self.opts.progress.as_deref()
    }

    /// The source manifest `digest`: the one read while planning, else read now.
    async fn source_manifest(&self, digest: &Digest) -> Result<RawManifest, CopyError> {
        let planned = self
            .fetched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(digest);
        match planned {
            Some(raw) => Ok(raw),
            None => self
                .src
                .manifest_get(digest)
                .await
                .map_err(self.src_err("read manifest", digest)),
        }
    }
}

/// The blobs of the manifest graph under `root` in the source (each digest once), reading
/// its manifests into `ctx.fetched` for the copy that follows: what a progress bar needs to
/// know its total before the first byte moves.
async fn plan(ctx: &Ctx<'_>, root: &Descriptor) -> Result<Vec<Descriptor>, CopyError> {
    let mut blobs = Vec::new();
    let mut seen: HashSet<Digest> = HashSet::from([root.digest.clone()]);
    let mut level = vec![root.digest.clone()];
    // One level of the graph at a time, its manifests read at once (as the copy reads them).
    while !level.is_empty() {
        let read = try_join_all(level.iter().map(|d| async move {
            ctx.src
                .manifest_get(d)
                .await
                .map(|raw| (d.clone(), raw))
                .map_err(ctx.src_err("read manifest", d))
        }))
        .await?;
        let mut next = Vec::new();
        for (digest, raw) in read {
            if let Ok(view) = raw.view() {
                let children = view.children().filter(|c| seen.insert(c.digest.clone()));
                match view.kind {
                    ManifestKind::Index => next.extend(children.map(|m| m.digest.clone())),
                    ManifestKind::Image => blobs.extend(children.cloned()),
                }
            }
            ctx.fetched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(digest, raw);
        }
        level = next;
    }
    Ok(blobs)
}

fn copy_node<'c>(
    ctx: &'c Ctx<'_>,
    desc: &'c Descriptor,
    kind: NodeKind,
) -> BoxFuture<'c, Result<(), CopyError>> {
    Box::pin(async move {
        let cell = ctx.cell(&desc.digest);
        cell.get_or_try_init(|| async {
            match kind {
                NodeKind::Manifest => copy_manifest(ctx, desc).await,
                NodeKind::Blob => copy_blob(ctx, desc).await,
            }
        })
        .await?;
        Ok(())
    })
}

async fn copy_manifest(ctx: &Ctx<'_>, desc: &Descriptor) -> Result<(), CopyError> {
    let digest = &desc.digest;
    let tag = ctx
        .root_tag
        .as_ref()
        .filter(|(d, _)| d == digest)
        .map(|(_, t)| t.as_str());
    let exists = ctx
        .dst
        .manifest_exists(digest)
        .await
        .map_err(ctx.dst_err("check manifest", digest))?;
    ctx.manifests_seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(digest.clone());
    if exists && !ctx.opts.referrers && tag.is_none() {
        ctx.stats.manifests_skipped.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = ctx.progress() {
            p.manifest_finished(desc, true);
        }
        return Ok(());
    }
    let raw = ctx.source_manifest(digest).await?;
    if !exists {
        let view = raw.view().map_err(|source| {
            ctx.src_err("read manifest", digest)(StoreError::Manifest {
                store: ctx.src.name().to_string(),
                reference: digest.to_string(),
                source,
            })
        })?;
        let child_kind = match view.kind {
            ManifestKind::Index => NodeKind::Manifest,
            ManifestKind::Image => NodeKind::Blob,
        };
        try_join_all(view.children().map(|c| copy_node(ctx, c, child_kind))).await?;
    } else if ctx.opts.referrers {
        // The destination has this sub-graph; walk it only to find manifests whose referrers
        // may still be missing.
        walk_manifests(ctx, &raw).await?;
    }
    if !exists || tag.is_some() {
        ctx.dst
            .manifest_put(&raw, tag)
            .await
            .map_err(ctx.dst_err("write manifest", digest))?;
    }
    let counter = if exists {
        &ctx.stats.manifests_skipped
    } else {
        &ctx.stats.manifests_copied
    };
    counter.fetch_add(1, Ordering::Relaxed);
    if let Some(p) = ctx.progress() {
        p.manifest_finished(desc, exists);
    }
    Ok(())
}

/// Visit the child manifests of an index the destination already has, without copying blobs.
async fn walk_manifests(ctx: &Ctx<'_>, raw: &RawManifest) -> Result<(), CopyError> {
    if let Ok(view) = raw.view()
        && view.kind == ManifestKind::Index
    {
        try_join_all(
            view.manifests
                .iter()
                .map(|c| copy_node(ctx, c, NodeKind::Manifest)),
        )
        .await?;
    }
    Ok(())
}

async fn copy_blob(ctx: &Ctx<'_>, desc: &Descriptor) -> Result<(), CopyError> {
    let digest = &desc.digest;
    if ctx
        .dst
        .blob_exists(digest)
        .await
        .map_err(ctx.dst_err("check blob", digest))?
    {
        ctx.stats.blobs_skipped.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = ctx.progress() {
            p.blob_finished(desc, true);
        }
        return Ok(());
    }
    let _permit = ctx.blobs.acquire().await.map_err(|_| {
        ctx.dst_err("write blob", digest)(StoreError::Backend {
            kind: crate::ErrorKind::Other,
            message: "copy was shut down".into(),
            source: None,
        })
    })?;
    if let Some(from) = ctx.src.mount_source()
        && ctx.dst.blob_mount(desc, &from).await.unwrap_or(false)
    {
        tracing::debug!(%digest, from = %from.repository, "mounted");
        ctx.stats.blobs_copied.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = ctx.progress() {
            p.blob_finished(desc, false);
        }
        return Ok(());
    }
    if let Some(p) = ctx.progress() {
        p.blob_started(desc);
    }
    // A transfer that fails on the way (a dropped connection, a busy registry) starts again
    // from a fresh source stream.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match transfer_blob(ctx, desc).await {
            Ok(()) => break,
            Err(e) if e.source.is_transient() && attempt < TRANSFER_ATTEMPTS => {
                tracing::debug!(%digest, attempt, error = %e.source, "restarting a blob transfer");
            }
            Err(e) => return Err(e),
        }
    }
    ctx.stats.blobs_copied.fetch_add(1, Ordering::Relaxed);
    ctx.stats.bytes.fetch_add(desc.size, Ordering::Relaxed);
    if let Some(p) = ctx.progress() {
        p.blob_finished(desc, false);
    }
    Ok(())
}

/// Times a blob transfer is attempted before its failure is reported.
const TRANSFER_ATTEMPTS: u32 = 3;

async fn transfer_blob(ctx: &Ctx<'_>, desc: &Descriptor) -> Result<(), CopyError> {
    let digest = &desc.digest;
    let stream = match ctx.src.blob_get(desc).await {
        Ok(s) => s,
        Err(e) if e.is_not_found() && desc.data.is_some() => {
            inline_data(desc, ctx.src.name()).map_err(ctx.src_err("read blob", digest))?
        }
        Err(e) => return Err(ctx.src_err("read blob", digest)(e)),
    };
    let source_failed = Arc::new(AtomicBool::new(false));
    let stream = observe(stream, desc, ctx, source_failed.clone());
    ctx.dst
        .blob_put_verified(desc, stream)
        .map_err(|e| {
            if source_failed.load(Ordering::Relaxed) {
                ctx.src_err("read blob", digest)(e)
            } else {
                ctx.dst_err("write blob", digest)(e)
            }
        })
        .await
}

/// A blob the source does not store but its descriptor embeds (`data`), verified like any
/// other content.
fn inline_data(desc: &Descriptor, store: &str) -> Result<BlobStream, StoreError> {
    let data = desc.data.as_deref().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| StoreError::InvalidInput {
            store: store.to_string(),
            message: format!(
                "the `data` of descriptor {} is not base64: {e}",
                desc.digest
            ),
        })?;
    Ok(blob::verified(blob::from_bytes(bytes.into()), desc, store))
}

/// Count bytes for progress, and note whether an error came from the source side.
fn observe(
    stream: BlobStream,
    desc: &Descriptor,
    ctx: &Ctx<'_>,
    failed: Arc<AtomicBool>,
) -> BlobStream {
    let progress = ctx.opts.progress.clone();
    let desc = desc.clone();
    stream
        .inspect(move |item| match item {
            Ok(chunk) => {
                if let Some(p) = &progress {
                    p.blob_bytes(&desc, chunk.len() as u64);
                }
            }
            Err(_) => failed.store(true, Ordering::Relaxed),
        })
        .boxed()
}

async fn copy_referrers(ctx: &Ctx<'_>) -> Result<(), CopyError> {
    let mut queue: VecDeque<Digest> = VecDeque::new();
    let mut listed: HashSet<Digest> = HashSet::new();
    loop {
        queue.extend(std::mem::take(
            &mut *ctx.manifests_seen.lock().unwrap_or_else(|e| e.into_inner()),
        ));
        let Some(subject) = queue.pop_front() else {
            return Ok(());
        };
        if !listed.insert(subject.clone()) {
            continue;
        }
        let referrers = ctx
            .src
            .referrers(&subject, None)
            .await
            .map_err(ctx.src_err("list referrers of", &subject))?;
        let mut wanted: Vec<&Descriptor> = referrers
            .iter()
            .filter(|r| ctx.opts.wants_referrer(r))
            .collect();
        if let Some(filter) = &ctx.opts.referrer_filter {
            let mut kept = Vec::with_capacity(wanted.len());
            for r in wanted {
                // Decided from the manifest itself; the copy below reuses what was read.
                let raw = ctx.source_manifest(&r.digest).await?;
                let admitted = filter.admits(&raw);
                ctx.fetched
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(r.digest.clone(), raw);
                if admitted {
                    kept.push(r);
                } else {
                    ctx.stats.referrers_left_out.fetch_add(1, Ordering::Relaxed);
                }
            }
            wanted = kept;
        }
        ctx.stats
            .referrers
            .fetch_add(wanted.len() as u64, Ordering::Relaxed);
        try_join_all(
            wanted
                .into_iter()
                .map(|r| copy_node(ctx, r, NodeKind::Manifest)),
        )
        .await?;
    }
}

#[cfg(test)]
mod tests;
