//! One module per command. Each takes plain values (parsed references, options) and writes
//! data to stdout, messages to stderr.

pub mod attach;
pub mod audit;
pub mod copy;
pub mod delete;
pub mod demo;
pub mod discover;
pub mod lifecycle;
pub mod login;
pub mod manifest;
pub mod probe;
pub mod report;
pub mod resolve;
pub mod serve;
pub mod tags;
pub mod update;
pub mod webhook;

use lineage_oci::{Descriptor, StoreRef};
use lineage_store::ReadStore;

/// Resolve what `r` names in `store`: its tag or digest, or the store's single manifest.
pub async fn resolve_target(store: &dyn ReadStore, r: &StoreRef) -> anyhow::Result<Descriptor> {
    Ok(store.resolve_target(r.target().as_ref()).await?)
}
