//! What lineage's tests share, in one place: the lifecycle scenario, test images, the
//! registry harness and a status builder.
//!
//! - [`scenario`]: the original write-up's `flasksample` lifecycle released into a registry.
//! - [`images`]: test images, from real tools (umoci, buildah), by hand, or through the store.
//! - the registry harness: [`registry`] (test registries from `LINEAGE_TEST_*` variables,
//!   unique repository names, a private `DOCKER_CONFIG`), [`serve`] (`lineage serve` on a
//!   free port), [`peers`] (the ORAS CLI, crane's registry), [`faults`] and [`toxiproxy`]
//!   (injected faults), [`tls`] (throw-away certificates), [`Scratch`] directories.
//! - [`status`]: statuses as the engine gives them, for what reads them.
//! - [`cli`] (running the `lineage` binary), [`layout`] (checking a layout from the outside),
//!   [`tools`] (external tools), [`snapshot`] (redacting output for `insta`).
//!
//! A dev-dependency only, never published. Everything here panics with a descriptive
//! message on failure: these are test helpers, and a panic is how a test fails. The most
//! used helpers are re-exported at the root.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// `Scratch::new` and `Ctx::new` create directories: a `Default` would hide that.
#![allow(clippy::new_without_default)]

pub mod cli;
pub mod faults;
pub mod images;
pub mod layout;
pub mod peers;
pub mod registry;
pub mod scenario;
pub mod scratch;
pub mod serve;
pub mod snapshot;
pub mod status;
pub mod tls;
pub mod tools;
pub mod toxiproxy;

pub use cli::{Run, lineage, lineage_ok, lineage_run};
pub use images::{HELLO, HandmadeImage, buildah, buildah_image, handmade_layout, umoci_image};
pub use layout::{
    assert_has_blobs, assert_layout_integrity, assert_same_bytes, blob_path, json, oci,
    oci_archive, reachable, read_blob, tagged, tagged_digest,
};
pub use scratch::Scratch;
pub use snapshot::{columns, redacted};
pub use tools::{
    digest_of, in_ci, is_root, on_path, output, require_tools, run, sha256_file, sha256_files,
    sha256_hex, skopeo_raw, tool,
};
