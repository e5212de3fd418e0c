//! The store interface of lineage and its local stores.
//!
//! The main types are the [`ReadStore`] and [`Store`] traits, implemented by [`LayoutStore`]
//! (an OCI image layout directory), [`ArchiveStore`] (a tar of one) and, in
//! `lineage-registry-client`, the remote registry. [`copy`] moves an image, or a whole graph
//! with its referrers, between any two of them with one algorithm.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lineage_store::StoreError> {
//! use lineage_oci::TagOrDigest;
//! use lineage_store::{LayoutStore, copy::{copy, CopyOptions}};
//! let src = LayoutStore::open("src-layout")?;
//! let dst = LayoutStore::open_or_create("dst-layout")?;
//! let tag = TagOrDigest::Tag("v1".into());
//! copy(&src, Some(&tag), &dst, Some("v1"), &CopyOptions::default()).await.map_err(|e| e.source)?;
//! # Ok(()) }
//! ```

pub mod archive;
pub mod blob;
pub mod copy;
mod error;
pub mod fs;
pub mod layout;
pub mod memo;
pub mod overlay;
pub mod prune;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use archive::ArchiveStore;
pub use blob::BlobStream;
pub use error::{ErrorKind, Result, StoreError, one_line};
pub use layout::LayoutStore;
pub use memo::Memo;
pub use store::{MountSource, PushResult, ReadStore, Store};
