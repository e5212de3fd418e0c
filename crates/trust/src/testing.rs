//! Test certificates and trust policies (feature `testing`, for this workspace's tests): the
//! throw-away PKIs of [`crate::pki`], failing the test when one cannot be made.

// Test helpers: a failure to make a test certificate is a broken test, so it panics.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

pub use crate::pki::{KeyKind, LeafOptions, Pki};

/// A fresh root CA (`CN=lineage test root`) and a leaf with `options`, both of `kind`.
pub fn pki(kind: KeyKind, options: &LeafOptions) -> Pki {
    crate::pki::generate(kind, options).expect("test certificates")
}

/// Writes a notation configuration directory at `dir` ([`crate::pki::write_notation_dir`]).
/// Returns the policy file's path.
pub fn write_policy(
    dir: &Path,
    name: &str,
    level: &str,
    scopes: &[&str],
    identities: &[&str],
    root_pem: &str,
) -> PathBuf {
    crate::pki::write_notation_dir(dir, name, level, scopes, identities, root_pem)
        .expect("notation configuration directory")
}
