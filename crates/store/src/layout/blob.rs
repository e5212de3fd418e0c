//! Blobs of a layout: verified streaming reads, and writes that become visible only once
//! the content matches its digest.

use futures_util::StreamExt;
use lineage_oci::{Descriptor, Verifier};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::LayoutStore;
use crate::blob::{self, BlobStream};
use crate::error::{Result, StoreError};
use crate::fs;
use crate::store::ReadStore;

const CHUNK: usize = 256 * 1024;

/// Bytes gathered before a write reaches the file: network chunks are small (16 KiB), and
/// every write of a tokio file is a trip to the blocking pool.
const WRITE_BUFFER: usize = 1024 * 1024;

/// Whether [`put`] hashes what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Hash the stream and refuse it unless it matches the descriptor.
    Verify,
    /// The stream fails by itself unless it matches ([`crate::blob::verified`]); count its
    /// bytes only.
    AlreadyVerified,
}

pub(super) async fn get(store: &LayoutStore, desc: &Descriptor) -> Result<BlobStream> {
    let path = store.blob_path(&desc.digest);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::BlobNotFound {
                store: store.name().to_string(),
                digest: desc.digest.clone(),
            },
            _ => StoreError::io("open", &path, e),
        })?;
    let stream = ReaderStream::with_capacity(file, CHUNK)
        .map(move |r| r.map_err(|e| StoreError::io("read", path.clone(), e)))
        .boxed();
    Ok(blob::verified(stream, desc, store.name()))
}

pub(super) async fn put(
    store: &LayoutStore,
    desc: &Descriptor,
    mut data: BlobStream,
    check: Check,
) -> Result<()> {
    let target = store.blob_path(&desc.digest);
    if tokio::fs::metadata(&target)
        .await
        .is_ok_and(|m| m.is_file() && m.len() == desc.size)
    {
        let t = target.clone();
        return fs::blocking(move || {
            touch(&t);
            Ok(())
        })
        .await;
    }
    let dir = target.parent().unwrap_or(store.root()).to_path_buf();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| StoreError::io("create", &dir, e))?;
    let root = store.root().to_path_buf();
    let tmp = fs::blocking(move || fs::temp_file_in(&root)).await?;
    let std_file = tmp
        .reopen()
        .map_err(|e| StoreError::io("open", tmp.path(), e))?;
    let mut file =
        tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(std_file));
    let mut verifier = Verifier::new(desc.digest.clone(), Some(desc.size));
    let mut written = 0u64;
    while let Some(chunk) = data.next().await {
        let chunk = chunk?;
        written += chunk.len() as u64;
        if check == Check::Verify {
            verifier
                .update(&chunk)
                .map_err(|source| StoreError::Verify {
                    store: store.name().to_string(),
                    source,
                })?;
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| StoreError::io("write", tmp.path(), e))?;
    }
    if check == Check::Verify {
        verifier.finish().map_err(|source| StoreError::Verify {
            store: store.name().to_string(),
            source,
        })?;
    } else if written != desc.size {
        // The stream's own check failed to run: never trust a short or long blob.
        return Err(StoreError::Verify {
            store: store.name().to_string(),
            source: lineage_oci::VerifyError::Size {
                digest: desc.digest.clone(),
                expected: desc.size,
                actual: written,
            },
        });
    }
    file.flush()
        .await
        .map_err(|e| StoreError::io("write", tmp.path(), e))?;
    drop(file);
    fs::blocking(move || fs::persist(tmp, &target)).await
}

/// Mark a stored blob as written now: pushed again (or mounted), it is inside garbage
/// collection's grace window again ([`super::gc`]), as a fresh upload would be, until the
/// manifest that names it comes. A mount's hard link shares the inode, so the source's time
/// moves too, which only keeps it longer.
fn touch(path: &std::path::Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

impl LayoutStore {
    /// Make `file`, whose content the caller has verified hashes to `digest`, the layout's
    /// blob `digest` without copying it (fsync, hard link, removal of `file`, fsync of the
    /// directory). `file` must be on the layout's file system, and nothing may hold it open
    /// for writing: once adopted it *is* the blob. The registry server finishes uploads with
    /// this.
    ///
    /// A stored blob is never replaced (DESIGN §2.1: raw bytes are authoritative, and a
    /// reader or a later writer must never see a digest's file change): a hard link fails
    /// when the target exists, where a rename would silently replace it. When the blob is
    /// already there, `file` is removed and the answer is `false`; `true` means `file`
    /// became the blob.
    pub fn blob_adopt_verified(
        &self,
        digest: &lineage_oci::Digest,
        file: &std::path::Path,
    ) -> crate::Result<bool> {
        let target = self.blob_path(digest);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
        }
        let f = std::fs::File::open(file).map_err(|e| StoreError::io("open", file, e))?;
        f.sync_all().map_err(|e| StoreError::io("sync", file, e))?;
        drop(f);
        let adopted = match std::fs::hard_link(file, &target) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                touch(&target);
                false
            }
            Err(e) => return Err(StoreError::io("link an upload to", &target, e)),
        };
        match std::fs::remove_file(file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove", file, e)),
        }
        if adopted {
            fs::sync_dir(&target)?;
        }
        Ok(adopted)
    }

    /// Make the blob `digest` of `other` (a layout on the same file system) present here,
    /// by hard link where possible and by copy otherwise. Returns whether `other` had it.
    pub fn blob_link_from(
        &self,
        other: &LayoutStore,
        digest: &lineage_oci::Digest,
    ) -> crate::Result<bool> {
        let source = other.blob_path(digest);
        if !source.is_file() {
            return Ok(false);
        }
        let target = self.blob_path(digest);
        if target.is_file() {
            touch(&target);
            return Ok(true);
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
        }
        match std::fs::hard_link(&source, &target) {
            Ok(()) => touch(&target),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => touch(&target),
            Err(_) => {
                let tmp = fs::temp_file_in(self.root())?;
                std::fs::copy(&source, tmp.path())
                    .map_err(|e| StoreError::io("copy", &source, e))?;
                fs::persist(tmp, &target)?;
            }
        }
        fs::sync_dir(&target)?;
        Ok(true)
    }
}
