//! Arbitrary bytes as a Notary Project JWS envelope: reading it (size limits, JWS shape,
//! headers, payload, chain) and verifying it against a strict statement must never panic;
//! whatever is not a valid signature of the subject is rejected with a reason.

#![no_main]

use std::sync::OnceLock;

use chrono::Utc;
use libfuzzer_sys::fuzz_target;
use lineage_oci::{Descriptor, Digest};
use lineage_trust::testing::{KeyKind, LeafOptions, pki, write_policy};
use lineage_trust::{TrustPolicy, Verification, envelope, verify};

/// A strict policy trusting a fresh test root, written once per process.
fn policy() -> &'static TrustPolicy {
    static POLICY: OnceLock<TrustPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lineage-fuzz-envelope-{}", std::process::id()));
        let root = pki(KeyKind::P256, &LeafOptions::default()).root_pem;
        let path = write_policy(&dir, "fuzz", "strict", &["r.example/app"], &["*"], &root);
        TrustPolicy::load(&path).expect("the fuzz policy")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = envelope::summarize(data);
    let statement = policy().statement_for("r.example/app").expect("a statement");
    let subject = Descriptor::new(
        "application/vnd.oci.image.manifest.v1+json",
        Digest::sha256(b"record"),
        6,
    );
    // No fuzzer input is signed by the test root's key: every input is rejected.
    let v = verify(statement, &subject, "application/jose+json", data, Utc::now());
    assert!(matches!(v, Verification::Rejected(_)));
});
