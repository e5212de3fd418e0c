//! One module per command. Each takes the typed values clap parsed ([`crate::args`]), the
//! resolved settings it needs (the lifecycle [`lineage_lifecycle::Namespace`], the
//! [`crate::output::Printer`]), and writes data to stdout, messages to stderr through the
//! printer.

pub mod attach;
pub mod audit;
pub mod bulk_retire;
pub mod copy;
pub mod delete;
pub mod demo;
pub mod discover;
pub mod gc;
pub mod lifecycle;
pub mod login;
pub mod manifest;
pub mod probe;
pub mod push;
pub mod report;
pub mod resolve;
pub mod serve;
pub mod serve_gc;
pub mod sign;
pub mod tags;
pub mod targets;
pub mod update;
pub mod webhook;

use lineage_oci::{Descriptor, StoreRef};
use lineage_store::ReadStore;

/// Resolve what `r` names in `store`: its tag or digest, or the store's single manifest.
/// When a registry reference without a tag names nothing, the error says that `latest` was
/// assumed.
pub async fn resolve_target(store: &dyn ReadStore, r: &StoreRef) -> anyhow::Result<Descriptor> {
    match store.resolve_target(r.target().as_ref()).await {
        Ok(d) => Ok(d),
        Err(e) if e.is_not_found() && matches!(r, StoreRef::Registry(i) if i.tag_defaulted()) => {
            Err(anyhow::Error::new(crate::error::Hinted {
                error: anyhow::Error::new(e),
                hint: format!(
                    "`{repo}` names no tag, so `latest` was assumed; name the tag or digest you \
                     mean (`lineage tags {repo}` lists the tags)",
                    repo = r.with_target(None)
                ),
            }))
        }
        Err(e) => Err(e.into()),
    }
}
