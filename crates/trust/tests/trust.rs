//! Signing and verification end to end with fresh test certificates: the wire format as
//! notation writes it, every rejection reason, and notation's trust policy rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use lineage_oci::{Descriptor, Digest};
use lineage_trust::testing::{KeyKind, LeafOptions, Pki, pki, write_policy};
use lineage_trust::{
    Check, Level, Reason, Signer, TrustError, TrustPolicy, Verification, envelope, verify,
};
use serde_json::{Value, json};

const RECORD: &str = "application/vnd.oci.image.manifest.v1+json";
const IDENTITY: &str = "x509.subject: C=US, ST=WA, O=Example, CN=release-pipeline";
const SCOPE: &str = "registry.example/app";

fn record() -> Descriptor {
    Descriptor::new(RECORD, Digest::sha256(b"a record"), 8)
}

struct Fixture {
    pki: Pki,
    _dir: tempfile::TempDir,
    policy: TrustPolicy,
}

fn fixture(kind: KeyKind, options: &LeafOptions, identities: &[&str]) -> Fixture {
    let pki = pki(kind, options);
    let dir = tempfile::tempdir().unwrap();
    let path = write_policy(
        dir.path(),
        "release",
        "strict",
        &[SCOPE],
        identities,
        &pki.root_pem,
    );
    let policy = TrustPolicy::load(&path).unwrap();
    Fixture {
        pki,
        _dir: dir,
        policy,
    }
}

fn check(f: &Fixture, subject: &Descriptor, envelope: &[u8]) -> Verification {
    let statement = f.policy.statement_for(SCOPE).unwrap();
    verify(
        statement,
        subject,
        "application/jose+json",
        envelope,
        Utc::now(),
    )
}

fn rejected(v: Verification) -> (Reason, String) {
    match v {
        Verification::Rejected(r) => (r.reason, r.detail),
        Verification::Verified(v) => panic!("verified: {v:?}"),
    }
}

fn signer(p: &Pki) -> Signer {
    Signer::from_pem(p.key_pem.as_bytes(), p.chain_pem().as_bytes()).unwrap()
}

#[test]
fn each_key_kind_signs_what_verifies_with_who_and_when() {
    for kind in [KeyKind::P256, KeyKind::P384, KeyKind::Rsa2048] {
        let f = fixture(kind, &LeafOptions::default(), &[IDENTITY]);
        let at = Utc::now() - Duration::minutes(5);
        let sig = signer(&f.pki).sign(&record(), at).unwrap();
        match check(&f, &record(), &sig.envelope) {
            Verification::Verified(v) => {
                assert_eq!(
                    v.identity, "CN=release-pipeline,O=Example,ST=WA,C=US",
                    "{kind:?}"
                );
                assert_eq!(v.signed_at.timestamp(), at.timestamp(), "{kind:?}");
            }
            other => panic!("{kind:?}: {other:?}"),
        }
    }
}

fn decode_json(b64: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(b64).unwrap()).unwrap()
}

#[test]
fn the_envelope_and_manifest_are_shaped_as_notation_writes_them() {
    let f = fixture(KeyKind::P256, &LeafOptions::default(), &[IDENTITY]);
    let at = Utc::now();
    let sig = signer(&f.pki)
        .with_expiry(Duration::days(7))
        .sign(&record(), at)
        .unwrap();
    let env: Value = serde_json::from_slice(&sig.envelope).unwrap();
    let protected = decode_json(env["protected"].as_str().unwrap());
    assert_eq!(protected["alg"], "ES256");
    assert_eq!(
        protected["cty"],
        "application/vnd.cncf.notary.payload.v1+json"
    );
    assert_eq!(protected["io.cncf.notary.signingScheme"], "notary.x509");
    assert_eq!(
        protected["crit"],
        json!(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"])
    );
    assert!(
        protected["io.cncf.notary.signingTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(protected["io.cncf.notary.expiry"].is_string());
    let payload = decode_json(env["payload"].as_str().unwrap());
    assert_eq!(
        payload,
        json!({"targetArtifact": {"mediaType": RECORD, "digest": record().digest.to_string(), "size": 8}})
    );
    let x5c = env["header"]["x5c"].as_array().unwrap();
    assert_eq!(x5c.len(), 2);
    let leaf_der = STANDARD.decode(x5c[0].as_str().unwrap()).unwrap();
    let root_der = STANDARD.decode(x5c[1].as_str().unwrap()).unwrap();
    assert!(
        env["header"]["io.cncf.notary.signingAgent"]
            .as_str()
            .unwrap()
            .starts_with("lineage/")
    );

    let m: Value = serde_json::from_slice(&sig.manifest).unwrap();
    assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(m["artifactType"], "application/vnd.cncf.notary.signature");
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(m["config"]["digest"], Digest::sha256(b"{}").to_string());
    assert_eq!(sig.config, b"{}");
    assert_eq!(m["layers"][0]["mediaType"], "application/jose+json");
    assert_eq!(
        m["layers"][0]["digest"],
        Digest::sha256(&sig.envelope).to_string()
    );
    assert_eq!(m["layers"][0]["size"], sig.envelope.len());
    assert_eq!(m["subject"]["digest"], record().digest.to_string());
    let thumbprints: Vec<String> = serde_json::from_str(
        m["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        thumbprints,
        vec![
            Digest::sha256(&leaf_der).encoded().to_string(),
            Digest::sha256(&root_der).encoded().to_string()
        ]
    );
    assert!(m["annotations"]["org.opencontainers.image.created"].is_string());
    assert_eq!(sig.manifest_digest(), Digest::sha256(&sig.manifest));

    let summary = envelope::summarize(&sig.envelope).unwrap();
    assert_eq!(summary.alg, "ES256");
    assert_eq!(summary.chain_length, 2);
    assert_eq!(summary.target.digest, record().digest);
}

/// Re-encodes an envelope after `change` edits its JSON.
fn edited(envelope: &[u8], change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(envelope).unwrap();
    change(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn reprotect(v: &mut Value, change: impl FnOnce(&mut Value)) {
    let mut p = decode_json(v["protected"].as_str().unwrap());
    change(&mut p);
    v["protected"] = json!(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&p).unwrap()));
}

#[test]
fn tampering_and_other_artifacts_are_bad_signatures() {
    let f = fixture(KeyKind::P256, &LeafOptions::default(), &[IDENTITY]);
    let sig = signer(&f.pki).sign(&record(), Utc::now()).unwrap();
    let other = Descriptor::new(RECORD, Digest::sha256(b"another record"), 14);
    let (reason, detail) = rejected(check(&f, &other, &sig.envelope));
    assert_eq!(reason, Reason::BadSignature);
    assert!(detail.contains("payload names"), "{detail}");

    let mut bigger = record();
    bigger.size += 1;
    assert_eq!(
        rejected(check(&f, &bigger, &sig.envelope)).0,
        Reason::BadSignature
    );

    let forged = edited(&sig.envelope, |v| {
        let payload = json!({"targetArtifact": {"mediaType": RECORD, "digest": other.digest.to_string(), "size": 14}});
        v["payload"] = json!(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap()));
    });
    let (reason, detail) = rejected(check(&f, &other, &forged));
    assert_eq!(reason, Reason::BadSignature);
    assert!(detail.contains("does not verify"), "{detail}");

    let statement = f.policy.statement_for(SCOPE).unwrap();
    let (reason, detail) = rejected(verify(
        statement,
        &record(),
        "application/cose",
        &sig.envelope,
        Utc::now(),
    ));
    assert_eq!(reason, Reason::BadSignature);
    assert!(detail.contains("media type"), "{detail}");
}

#[test]
fn unknown_critical_headers_and_malformed_envelopes_are_rejected_never_a_panic() {
    let f = fixture(KeyKind::P256, &LeafOptions::default(), &[IDENTITY]);
    let sig = signer(&f.pki).sign(&record(), Utc::now()).unwrap();
    let unknown_crit = edited(&sig.envelope, |v| {
        reprotect(v, |p| {
            p["crit"] = json!(["io.cncf.notary.signingScheme", "x-unknown"]);
            p["x-unknown"] = json!(1);
        })
    });
    let (reason, detail) = rejected(check(&f, &record(), &unknown_crit));
    assert_eq!(reason, Reason::BadSignature);
    assert!(detail.contains("x-unknown"), "{detail}");

    let leaf_b64 =
        serde_json::from_slice::<Value>(&sig.envelope).unwrap()["header"]["x5c"][0].clone();
    let long_chain = edited(&sig.envelope, |v| {
        v["header"]["x5c"] = json!(vec![leaf_b64; 11])
    });
    let header =
        |key: &str, value: Value| edited(&sig.envelope, |v| reprotect(v, |p| p[key] = value));
    let envelope = |change: &dyn Fn(&mut Value)| edited(&sig.envelope, change);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("not json", b"\xff\xfe garbage".to_vec()),
        ("array", b"[]".to_vec()),
        ("too large", vec![b' '; envelope::MAX_ENVELOPE_BYTES + 1]),
        ("no x5c", envelope(&|v| v["header"] = json!({}))),
        ("empty x5c", envelope(&|v| v["header"]["x5c"] = json!([]))),
        (
            "x5c not base64",
            envelope(&|v| v["header"]["x5c"] = json!(["%%"])),
        ),
        (
            "x5c not a cert",
            envelope(&|v| v["header"]["x5c"] = json!(["AAAA"])),
        ),
        ("chain too long", long_chain),
        (
            "padded payload",
            envelope(&|v| v["payload"] = json!("e30=")),
        ),
        (
            "signature cut",
            envelope(&|v| v["signature"] = json!("AAAA")),
        ),
        ("no crit", header("crit", Value::Null)),
        ("wrong cty", header("cty", json!("text/plain"))),
        (
            "other scheme",
            header(
                "io.cncf.notary.signingScheme",
                json!("notary.x509.signingAuthority"),
            ),
        ),
        (
            "bad time",
            header("io.cncf.notary.signingTime", json!("yesterday")),
        ),
        (
            "expiry not critical",
            header("io.cncf.notary.expiry", json!("2099-01-01T00:00:00Z")),
        ),
        ("alg mismatch", header("alg", json!("PS256"))),
    ];
    for (name, bytes) in cases {
        let (reason, detail) = rejected(check(&f, &record(), &bytes));
        assert_eq!(reason, Reason::BadSignature, "{name}: {detail}");
        assert!(!detail.is_empty(), "{name}");
    }
}

#[test]
fn another_root_or_another_identity_is_untrusted() {
    let f = fixture(KeyKind::P256, &LeafOptions::default(), &[IDENTITY]);
    let stranger = pki(KeyKind::P256, &LeafOptions::default());
    let sig = signer(&stranger).sign(&record(), Utc::now()).unwrap();
    let (reason, detail) = rejected(check(&f, &record(), &sig.envelope));
    assert_eq!(reason, Reason::UntrustedIdentity);
    assert!(detail.contains("ca:release"), "{detail}");

    let g = fixture(
        KeyKind::P256,
        &LeafOptions::default(),
        &["x509.subject: C=US, ST=WA, O=Example, CN=someone-else"],
    );
    let sig = signer(&g.pki).sign(&record(), Utc::now()).unwrap();
    let (reason, detail) = rejected(check(&g, &record(), &sig.envelope));
    assert_eq!(reason, Reason::UntrustedIdentity);
    assert!(detail.contains("CN=release-pipeline"), "{detail}");

    let any = fixture(KeyKind::P256, &LeafOptions::default(), &["*"]);
    let sig = signer(&any.pki).sign(&record(), Utc::now()).unwrap();
    assert!(matches!(
        check(&any, &record(), &sig.envelope),
        Verification::Verified(_)
    ));
}

#[test]
fn expiry_and_certificate_validity_are_expired() {
    let f = fixture(KeyKind::P256, &LeafOptions::default(), &[IDENTITY]);
    let sig = signer(&f.pki)
        .with_expiry(Duration::hours(1))
        .sign(&record(), Utc::now() - Duration::hours(2))
        .unwrap();
    let (reason, detail) = rejected(check(&f, &record(), &sig.envelope));
    assert_eq!(reason, Reason::Expired);
    assert!(detail.contains("expired"), "{detail}");
    assert_eq!(reason.check(), Check::Expiry);

    let short = LeafOptions {
        not_before: Utc::now() - Duration::days(3),
        not_after: Utc::now() - Duration::days(1),
        ..LeafOptions::default()
    };
    let g = fixture(KeyKind::P256, &short, &[IDENTITY]);
    let sig = signer(&g.pki)
        .sign(&record(), Utc::now() - Duration::days(2))
        .unwrap();
    let (reason, detail) = rejected(check(&g, &record(), &sig.envelope));
    assert_eq!(reason, Reason::Expired);
    assert!(detail.contains("not valid now"), "{detail}");
    // Signing outside the validity is refused up front.
    assert!(signer(&g.pki).sign(&record(), Utc::now()).is_err());
}

#[test]
fn signers_refuse_mismatched_keys_unfit_certificates_and_never_show_the_key() {
    let a = pki(KeyKind::P256, &LeafOptions::default());
    let b = pki(KeyKind::P256, &LeafOptions::default());
    let err = Signer::from_pem(b.key_pem.as_bytes(), a.chain_pem().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let rsa = pki(KeyKind::Rsa2048, &LeafOptions::default());
    assert!(Signer::from_pem(rsa.key_pem.as_bytes(), a.chain_pem().as_bytes()).is_err());
    assert!(Signer::from_pem(b"", a.chain_pem().as_bytes()).is_err());
    assert!(Signer::from_pem(a.key_pem.as_bytes(), b"").is_err());

    let ca_leaf = pki(
        KeyKind::P256,
        &LeafOptions {
            ca: true,
            ..LeafOptions::default()
        },
    );
    let err =
        Signer::from_pem(ca_leaf.key_pem.as_bytes(), ca_leaf.chain_pem().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("CA"), "{err}");
    let tls = pki(
        KeyKind::P256,
        &LeafOptions {
            server_auth: true,
            ..LeafOptions::default()
        },
    );
    let err = Signer::from_pem(tls.key_pem.as_bytes(), tls.chain_pem().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("serverAuth"), "{err}");
    // Leaf without its root: the chain must end in a self-signed root.
    assert!(Signer::from_pem(a.key_pem.as_bytes(), a.leaf_pem.as_bytes()).is_err());

    let s = signer(&a);
    let shown = format!("{s:?}");
    assert!(
        shown.contains("redacted") && shown.contains("release-pipeline"),
        "{shown}"
    );
    let key_body: String = a.key_pem.lines().nth(1).unwrap().chars().take(20).collect();
    assert!(!shown.contains(&key_body));
}

/// A notation configuration directory whose trust store `ca:release` holds a fresh root;
/// its policy is for the test to write.
fn release_store() -> (tempfile::TempDir, Pki) {
    let p = pki(KeyKind::P256, &LeafOptions::default());
    let dir = tempfile::tempdir().unwrap();
    write_policy(
        dir.path(),
        "release",
        "strict",
        &[SCOPE],
        &[IDENTITY],
        &p.root_pem,
    );
    (dir, p)
}

fn policy_error(doc: Value) -> String {
    let (dir, _) = release_store();
    let path = dir.path().join("trustpolicy.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    match TrustPolicy::load(&path) {
        Err(e @ TrustError::Invalid { .. }) => {
            let s = e.to_string();
            assert!(s.contains("trustpolicy.json"), "{s}");
            s
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted {doc}"),
    }
}

fn statement(extra: Value) -> Value {
    let mut s = json!({
        "name": "release",
        "registryScopes": [SCOPE],
        "signatureVerification": {"level": "strict"},
        "trustStores": ["ca:release"],
        "trustedIdentities": [IDENTITY],
    });
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

#[test]
fn policies_notation_rejects_are_rejected_naming_statement_and_field() {
    let doc = |statements: Vec<Value>| json!({"version": "1.0", "trustPolicies": statements});
    let cases = [
        (
            json!({"version": "2.0", "trustPolicies": [statement(json!({}))]}),
            "version",
        ),
        (json!({"trustPolicies": [statement(json!({}))]}), "version"),
        (doc(vec![]), "no statement"),
        (
            doc(vec![
                statement(json!({})),
                statement(json!({"registryScopes": ["r.example/other"]})),
            ]),
            "named \"release\"",
        ),
        (
            doc(vec![statement(json!({})), statement(json!({"name": "b"}))]),
            "more than one statement",
        ),
        (
            doc(vec![statement(json!({"registryScopes": ["*", SCOPE]}))]),
            "wildcard",
        ),
        (
            doc(vec![statement(
                json!({"registryScopes": ["no-repository"]}),
            )]),
            "registryScopes",
        ),
        (
            doc(vec![statement(json!({"registryScopes": []}))]),
            "registryScopes",
        ),
        (
            doc(vec![statement(
                json!({"signatureVerification": {"level": "lax"}}),
            )]),
            "level",
        ),
        (
            doc(vec![statement(
                json!({"signatureVerification": {"level": "skip"}}),
            )]),
            "skip",
        ),
        (
            doc(vec![statement(
                json!({"signatureVerification": {"level": "strict", "override": {"integrity": "log"}}}),
            )]),
            "integrity",
        ),
        (
            doc(vec![statement(
                json!({"signatureVerification": {"level": "strict", "override": {"expiry": "skip"}}}),
            )]),
            "skipped",
        ),
        (
            doc(vec![statement(json!({"trustStores": []}))]),
            "trustStores",
        ),
        (
            doc(vec![statement(json!({"trustStores": ["release"]}))]),
            "TYPE:NAME",
        ),
        (
            doc(vec![statement(json!({"trustStores": ["x509:release"]}))]),
            "type",
        ),
        (
            doc(vec![statement(json!({"trustStores": ["ca:a/b"]}))]),
            "store name",
        ),
        (
            doc(vec![statement(
                json!({"trustedIdentities": ["*", IDENTITY]}),
            )]),
            "wildcard",
        ),
        (
            doc(vec![statement(
                json!({"trustedIdentities": ["x509.subject: O=Example"]}),
            )]),
            "ST",
        ),
        (
            doc(vec![statement(
                json!({"trustedIdentities": ["x509.subject: C=US, ST=WA, O=Example", IDENTITY]}),
            )]),
            "overlaps",
        ),
        (
            doc(vec![statement(json!({"trustedIdentities": ["no prefix"]}))]),
            "prefix",
        ),
    ];
    for (doc, needle) in cases {
        let e = policy_error(doc.clone());
        assert!(e.contains(needle), "{doc}: {e}");
    }
    // A missing store names its directory.
    let e = policy_error(doc(vec![statement(json!({"trustStores": ["ca:absent"]}))]));
    assert!(e.contains("absent") || e.contains("cannot read"), "{e}");
}

#[test]
fn scopes_pick_the_exact_statement_before_the_wildcard_and_skip_takes_nothing() {
    let (dir, p) = release_store();
    let doc = json!({"version": "1.0", "trustPolicies": [
        statement(json!({})),
        {"name": "rest", "registryScopes": ["*"], "signatureVerification": {"level": "audit", "override": {"authenticity": "enforce"}},
         "trustStores": ["ca:release"], "trustedIdentities": ["*"]},
        {"name": "legacy", "registryScopes": ["registry.example/legacy"], "signatureVerification": {"level": "skip"}},
    ]});
    // notation 1.2+ reads trustpolicy.oci.json; a directory finds it.
    std::fs::write(
        dir.path().join("trustpolicy.oci.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    let policy = TrustPolicy::load(dir.path()).unwrap();
    assert!(policy.path().ends_with("trustpolicy.oci.json"));
    let exact = policy.statement_for(SCOPE).unwrap();
    assert_eq!(
        (exact.name.as_str(), exact.level),
        ("release", Level::Strict)
    );
    let rest = policy.statement_for("registry.example/other").unwrap();
    assert_eq!((rest.name.as_str(), rest.level), ("rest", Level::Audit));
    assert_eq!(
        rest.action(Check::Authenticity),
        lineage_trust::Action::Enforce
    );
    assert_eq!(rest.action(Check::Expiry), lineage_trust::Action::Log);
    assert_eq!(exact.action(Check::Expiry), lineage_trust::Action::Enforce);
    assert_eq!(
        policy
            .statement_for("registry.example/legacy")
            .unwrap()
            .level,
        Level::Skip
    );

    let only_exact = tempfile::tempdir().unwrap();
    let path = write_policy(
        only_exact.path(),
        "release",
        "permissive",
        &[SCOPE],
        &[IDENTITY],
        &p.root_pem,
    );
    let policy = TrustPolicy::load(&path).unwrap();
    assert!(policy.statement_for("registry.example/other").is_none());
    assert_eq!(
        policy.statement_for(SCOPE).unwrap().action(Check::Expiry),
        lineage_trust::Action::Log
    );
}
