//! OCI core types for lineage, with no other lineage dependencies.
//!
//! Everything above this crate names content with these types: a [`Digest`] names bytes, a
//! [`Descriptor`] points at them, a [`RawManifest`] holds a manifest's exact bytes (DESIGN
//! §2.1: raw bytes are authoritative), an [`ImageRef`] is a registry reference normalised as
//! `distribution/reference` does, and a [`StoreRef`] is any reference the CLI accepts
//! (registry, `oci:` layout, `oci-archive:` tar). Two small modules serve every crate's
//! wording: [`time`] (reading and writing lifecycle times, and the clock records use) and
//! [`quantity`] (`1 manifest`, `2 manifests`).
//!
//! ```
//! use lineage_oci::{Digest, RawManifest};
//! let m = RawManifest::from_bytes(br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(), None).unwrap();
//! assert_eq!(m.media_type(), lineage_oci::media_type::OCI_INDEX);
//! assert_eq!(m.digest(), &Digest::sha256(m.bytes()));
//! ```

pub mod artifact;
pub mod descriptor;
pub mod digest;
pub mod errcode;
pub mod json;
pub mod manifest;
pub mod media_type;
pub mod quantity;
pub mod reference;
pub mod referrers;
pub mod store_ref;
pub mod time;

pub use descriptor::{Descriptor, Platform};
pub use digest::{Algorithm, Digest, DigestError, Hasher, Verifier, VerifyError};
pub use manifest::{ManifestError, ManifestKind, ManifestView, RawManifest};
pub use reference::{ImageRef, ReferenceError, TagOrDigest};
pub use store_ref::StoreRef;
