//! The integration tests of this crate, one binary: each module is one area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod connections;
mod deploy;
mod registry;
mod scale;
