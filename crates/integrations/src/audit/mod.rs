//! The fleet audit behind `lineage audit`: one row per distinct image in use, with its
//! lifecycle state, end-of-life and successor, and where it is used.
//!
//! The flow, all pure but the lookup in the middle, which the caller does:
//!
//! 1. [`read`] tells the input's [`Format`] (Kubernetes JSON such as `kubectl get pods -A -o
//!    json`, YAML manifests, or one image per line) and yields every [`Use`] of an image,
//!    with its [`Place`] and, for pods, the digest that runs ([`kubernetes`] says how);
//! 2. [`group`] makes one [`Image`] per distinct image ([`fleet`] says what counts as one);
//! 3. the caller looks every [`Image::reference`] up (the lifecycle engine's batch lookup:
//!    at most three registry requests per distinct image);
//! 4. [`rows`] joins the statuses in, worst state first (a failed lookup is `unknown` with its
//!    error), [`fails`] answers `--fail-on`, and [`table`], [`markdown`] and [`json`] render.
//!
//! ```
//! use std::collections::HashMap;
//! use lineage_integrations::{LookupFailed, Looked, audit};
//!
//! let images = audit::images("nginx\ndocker.io/library/nginx:latest\nghcr.io/o/app:1.0\n").unwrap();
//! assert_eq!(images.len(), 2);
//! assert_eq!(images[0].reference, "docker.io/library/nginx:latest");
//! let looked: HashMap<String, Looked> = images
//!     .iter()
//!     .map(|i| (i.reference.clone(), Err(LookupFailed::NotLookedUp(i.reference.clone()))))
//!     .collect();
//! let rows = audit::rows(images, &looked);
//! // Both are unknown (their lookups failed), so they sort by image.
//! assert_eq!((rows[1].image.as_str(), rows[1].uses.len()), ("nginx", 2));
//! assert!(audit::json(&rows).contains("\"error\": \"`ghcr.io/o/app:1.0` was not looked up\""));
//! ```

pub mod fleet;
pub mod input;
pub mod kubernetes;
pub mod render;

pub use fleet::{Image, Row, fails, group, rows, severity};
pub use input::{Format, InputError, Place, Use, detect, read};
pub use render::{json, markdown, summary, table, where_used};

/// The distinct images used in `text`: [`read`], then [`group`].
pub fn images(text: &str) -> Result<Vec<Image>, InputError> {
    Ok(group(read(text)?))
}
