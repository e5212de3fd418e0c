//! The status of an image: its effective lifecycle record plus the lineage check (DESIGN §4).
//!
//! [`decide`](fn@decide) is pure: the caller gathers the facts (the image's annotations, the
//! referrers listing of its digest, what its rolling tag points to) into a [`StatusInput`],
//! and gets a [`Status`] that serialises to the JSON of `lineage status --output json`. The
//! engine gathers them through its fact source and decides over them borrowed
//! (`Engine::status_from`). What a status is lives in `types.rs`, the decision in
//! `decide.rs`, the table people read ([`table`](fn@table)) in `table.rs`.
//!
//! The rules, in order:
//! 1. End-of-life comes from the effective record ([`crate::record::effective`]); only when
//!    the image has no (readable) record, from the manifest's own annotations
//!    ([`crate::manifest_fallback`]). A record without end-of-life therefore also overrides an
//!    end-of-life baked into the manifest.
//! 2. End-of-life at or before `at` is `end-of-life`; else end-of-support at or before `at`
//!    is `end-of-support`; a date still ahead is `scheduled`, with `daysLeft` until the
//!    next one ([`milestones`]).
//! 3. Without end-of-life: when the rolling tag points to a different image whose `created`
//!    is later than this image's `created`, `superseded` (source `lineage`). When either
//!    `created` is missing the order cannot be known and the image is not called superseded.
//! 4. Otherwise `supported` when there is a record (source `referrer`) or a rolling tag
//!    (source `lineage`), else `unknown` (source `none`).
//!
//! 5. An image with a base (issue 17, [`crate::base`]) that would be `supported` or
//!    `unknown` is `base-end-of-life` (source `base`) when its base's state passes on
//!    (`end-of-life`, `superseded`, `base-end-of-life`); its own verdict otherwise comes
//!    first. An image without lifecycle data built on a `supported` or `scheduled` base is
//!    `supported` (source `base`). The base's status is in `base` either way (`inherit.rs`).
//!
//! `record` and `dialect` describe the effective record whenever there is one, even when the
//! lineage decided the state; for source `manifest`, `dialect` names the annotation's
//! vocabulary and `record` is `null`.

mod decide;
mod inherit;
pub mod milestones;
mod table;
mod types;

pub use decide::decide;
pub(crate) use decide::{Facts, decide_from};
pub(crate) use inherit::with_base;
pub use table::table;
pub use types::{RollingTagInfo, Source, State, Status, StatusInput, Successor, UnknownState};

#[cfg(test)]
mod tests;
