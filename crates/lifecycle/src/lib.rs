//! lineage's lifecycle engine: it reads lifecycle records and decides an image's status, and
//! builds and writes records. The decision ([`decide`]) and the record building are pure; the
//! engine reads and writes through the store interface ([`lineage_store::ReadStore`]), and
//! every status, whoever asks, is reached through its one pipeline: three facts read through
//! a fact source, then the decision.
//!
//! - [`profile`]: lifecycle profile v1 names ([`Namespace`], [`Reason`]) and the dialects
//!   lineage reads ([`Dialect`]: the profile in each configured namespace, and Microsoft's);
//! - [`record`]: a [`Record`] read from a referrers listing's descriptor, and the
//!   [`effective`] one (newest `created` wins, across dialects);
//! - [`manifest_fallback`]: end-of-life from the image manifest's own annotations;
//! - [`status`]: [`decide`] turns a [`StatusInput`] into a [`Status`] (DESIGN §4), which
//!   serialises to the JSON of `lineage status --output json`;
//! - [`write`](mod@write): a [`RecordSpec`] becomes record annotations and manifests, and
//!   [`is_same_as`] tells when nothing needs to be written;
//! - [`engine`]: the [`Engine`] runs the status pipeline over a store (`lineage status`,
//!   `lineage history`) and writes records;
//! - `facts`: the interface the engine reads a status's facts through, with the direct store
//!   reads and the caching source as its two implementations;
//! - `once_map`: the generic single-flight cache the caching source is made of;
//! - [`Lookup`]: the batch lookup, the same pipeline over cached facts (the policy routes,
//!   admission, report, audit, update), and [`Lookup::follow_successors`], which follows a
//!   successor chain to the image to move to, and what a browsing client reads besides a
//!   status ([`Lookup::revisions`], [`Lookup::image`]: a lineage's revisions, an image's
//!   referrers);
//! - [`base`]: an image's base, found by evidence (annotations, build provenance, layers
//!   against known bases), and the state it passes on (`base-end-of-life`);
//! - [`release`]: the release flow, which refuses what would damage a lineage;
//! - [`verdict`]: what a status means for its consumers: the admission policy (mode, grace
//!   period, fail open or closed) and the words of a verdict every consumer prints;
//! - [`gc`]: which lifecycle records on a subject are redundant, and their removal;
//! - [`signed`]: which records a trust policy lets count (Notary Project signatures,
//!   issue 16), verified lazily through the fact source and cached with the facts.
//!
//! Malformed lifecycle data never yields a state: it becomes a [`Warning`].
//!
//! ```
//! use std::collections::BTreeMap;
//! use lineage_lifecycle::{decide, Namespace, RecordSpec, Reason, State, StatusInput, WriteOptions};
//! use lineage_oci::{Descriptor, Digest, media_type, time::parse_lenient};
//!
//! let image = Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256(b"image"), 100);
//! let spec = RecordSpec {
//!     created: parse_lenient("2023-07-10T08:00:00Z").unwrap(),
//!     end_of_life: Some(parse_lenient("2023-07-10T08:00:00Z").unwrap()),
//!     reason: Some(Reason::Superseded),
//!     successor: Some("registry.example/app:1.0-20230710".into()),
//!     superseded_by: None,
//!     version: Some("1.0".into()),
//!     revision: Some("20230707".into()),
//!     ..RecordSpec::default()
//! };
//! let record = spec.manifests(&image, &WriteOptions::default()).unwrap().profile;
//!
//! let status = decide(StatusInput {
//!     reference: "registry.example/app:1.0-20230707".into(),
//!     digest: image.digest.clone(),
//!     image_annotations: BTreeMap::new(),
//!     referrers: vec![record.referrer_descriptor()],
//!     namespaces: vec![Namespace::default()],
//!     rolling_tag: None,
//!     at: parse_lenient("2024-01-01").unwrap(),
//! });
//! assert_eq!(status.state, State::EndOfLife);
//! ```

pub mod base;
pub mod engine;
pub mod error;
mod facts;
pub mod gc;
mod lookup;
pub mod manifest_fallback;
mod once_map;
pub mod profile;
pub mod record;
pub mod release;
pub mod scope;
pub mod signed;
pub mod status;
mod successors;
pub mod verdict;
pub mod warning;
pub mod write;

pub use base::{BaseStatus, Evidence, KnownBases};
pub use engine::{Engine, EngineError, Written};
pub use error::LifecycleError;
pub use lookup::{
    ImageFacts, Lookup, LookupError, LookupMetrics, LookupOptions, Revision, StoreOpener, lineages,
};
pub use manifest_fallback::ManifestLifecycle;
pub use profile::{DEFAULT_NAMESPACE, Dialect, Namespace, Reason};
pub use record::{Record, Records, effective};
pub use release::{CreatedFrom, Release, ReleaseRequest};
pub use signed::SignatureStatus;
pub use status::{
    RollingTagInfo, Source, State, Status, StatusInput, Successor, UnknownState, decide,
};
pub use warning::{Effect, Problem, Warning};
pub use write::{RecordManifests, RecordSpec, WriteOptions, is_same_as};
