//! The remote registry store of lineage.
//!
//! [`RegistryStore`] implements `lineage-store`'s `ReadStore` and `Store` over the OCI
//! distribution protocol for one repository; [`RegistryClient`] is shared by every repository
//! of a process and holds the HTTP client, credentials, tokens and what each registry supports.

pub mod auth;
pub mod capability;
mod catalog;
mod client;
pub mod credentials;
mod error;
pub mod gc;
pub mod limits;
mod link;
mod options;
pub mod raw;
mod referrers_index;
mod store;

pub use client::RegistryClient;
pub use error::{ErrorInfo, RegistryError};
pub use options::ClientOptions;
pub use store::RegistryStore;
