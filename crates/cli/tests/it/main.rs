//! The integration tests of this crate, one binary: each module is one area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use lineage_test_support as support;

mod audit;
mod conformance;
mod copy;
mod gc;
mod inherited;
mod interop;
mod lifecycle;
mod output;
mod policy;
mod probe;
mod registry;
mod report;
mod richer_lifecycle;
mod robustness;
mod serve;
mod trust_sign;
mod trust_verify;
mod ui;
mod update;
