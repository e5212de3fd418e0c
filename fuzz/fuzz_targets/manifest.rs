//! Wrap arbitrary bytes as a manifest; parsing, viewing and describing it must never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lineage_oci::RawManifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = RawManifest::from_bytes(data.to_vec(), None) {
        let _ = m.view();
        let _ = m.descriptor();
    }
});
