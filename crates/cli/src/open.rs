//! Turning a CLI reference into a store. The only place that knows which kinds of store
//! exist; everything after works through the store traits.

use anyhow::Context as _;
use lineage_oci::StoreRef;
use lineage_store::{ArchiveStore, LayoutStore, ReadStore, Store};

use crate::error::{Hinted, UsageError};

/// Parse a reference given on the command line; a bad one is a usage error.
pub fn parse(input: &str) -> anyhow::Result<StoreRef> {
    StoreRef::parse(input).map_err(|e| anyhow::Error::new(UsageError(anyhow::Error::new(e))))
}

/// Open the store `r` names for reading.
pub async fn read_store(r: &StoreRef) -> anyhow::Result<Box<dyn ReadStore>> {
    Ok(match r {
        StoreRef::Layout { path, .. } => Box::new(LayoutStore::open(path)?),
        StoreRef::Archive { path, .. } => Box::new(ArchiveStore::open(path).await?),
        StoreRef::Registry(_) => return Err(registry_unavailable(r)),
    })
}

/// Open the store `r` names for writing, creating a layout or archive that does not exist.
pub async fn write_store(r: &StoreRef) -> anyhow::Result<Box<dyn Store>> {
    Ok(match r {
        StoreRef::Layout { path, .. } => Box::new(LayoutStore::open_or_create(path)?),
        StoreRef::Archive { path, .. } => Box::new(ArchiveStore::open_or_create(path).await?),
        StoreRef::Registry(_) => return Err(registry_unavailable(r)),
    })
}

fn registry_unavailable(_r: &StoreRef) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        error: anyhow::anyhow!("registry references are not supported by this build yet"),
        hint: "use an OCI layout (`oci:DIR:TAG`) or archive (`oci-archive:FILE:TAG`); registry access comes with the registry client".into(),
    })
}

/// Open for reading, with the reference in the error.
pub async fn read(r: &StoreRef) -> anyhow::Result<Box<dyn ReadStore>> {
    read_store(r)
        .await
        .with_context(|| format!("cannot open `{r}`"))
}

/// Open for writing, with the reference in the error.
pub async fn write(r: &StoreRef) -> anyhow::Result<Box<dyn Store>> {
    write_store(r)
        .await
        .with_context(|| format!("cannot open `{r}`"))
}
