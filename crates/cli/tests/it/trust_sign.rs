//! Issue 16, signing records, with the Notary Project's own CLI (`notation` 1.3.2, built by
//! `scripts/test.sh` into `LINEAGE_TEST_NOTATION`) on `lineage serve` (referrers API) and
//! distribution 2.8 (`LINEAGE_TEST_REGISTRY`, the referrers tag schema):
//! - `notation verify` accepts the records `lineage release --sign`, `retire --sign`,
//!   `restore --sign` and `lineage sign` signed, under a strict policy in an isolated
//!   notation configuration directory, and refuses one signed by a stranger;
//! - a record `notation sign` signed (key from `notation cert generate-test`) verifies with
//!   `lineage_trust::verify` under the same policy and trust store, and a tampered envelope
//!   or another record does not.

use std::path::Path;

use chrono::Utc;
use lineage_oci::{Descriptor, Digest};
use lineage_trust::testing::{KeyKind, LeafOptions, Pki, pki, write_policy};
use lineage_trust::{Reason, TrustPolicy, Verification, verify};
use serde_json::Value;

use crate::richer_lifecycle::bulk_retire;
use crate::support::peers::{Notation, notation};
use crate::support::registry::{registry_from_env, unique_repo};
use crate::support::scenario::build_revisions;
use crate::support::serve::Serve;
use crate::support::{Scratch, lineage_ok, lineage_run};
use crate::trust_verify::status;

const SIGNATURE_TYPE: &str = "application/vnd.cncf.notary.signature";
const IDENTITY: &str = "x509.subject: C=US, ST=WA, O=Example, CN=release-pipeline";

/// The registries of these tests: a fresh `lineage serve`, and distribution 2.8 when
/// `scripts/test.sh` started it. Each is `(label, host, serve)`.
fn registries(test: &str, s: &Scratch) -> Vec<(&'static str, String, Option<Serve>)> {
    let serve = Serve::start(&s.join("serve-root"), &[]);
    let mut out = vec![("lineage serve", serve.host.clone(), Some(serve))];
    if let Some(r) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) {
        out.push(("distribution 2.8", r.host, None));
    }
    out
}

/// Plain HTTP reads of a test registry (not lineage's client): what a peer sees.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    host: String,
    repo: String,
}

impl Http {
    fn new(host: &str, repo: &str) -> Http {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
            host: host.into(),
            repo: repo.into(),
        }
    }

    /// `GET /v2/REPO/{kind}/{reference}`: status, content type and body.
    fn get(&self, kind: &str, reference: &str, accept: &str) -> (u16, String, Vec<u8>) {
        self.rt.block_on(async {
            let r = self
                .client
                .get(format!(
                    "http://{}/v2/{}/{kind}/{reference}",
                    self.host, self.repo
                ))
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (status, ct, r.bytes().await.unwrap().to_vec())
        })
    }

    /// The descriptor of the manifest `digest`, as the registry serves it.
    fn manifest_descriptor(&self, digest: &str) -> Descriptor {
        let (status, ct, body) = self.get(
            "manifests",
            digest,
            "application/vnd.oci.image.manifest.v1+json",
        );
        assert_eq!(status, 200, "manifest {digest}");
        assert_eq!(Digest::sha256(&body).to_string(), digest);
        Descriptor::new(ct, digest.parse().unwrap(), body.len() as u64)
    }

    /// The referrers of `digest` with `artifact_type`: the referrers API where the registry
    /// answers it, else the referrers tag.
    fn referrers(&self, digest: &str, artifact_type: &str) -> Vec<Value> {
        let accept = "application/vnd.oci.image.index.v1+json";
        let (status, _, body) = self.get("referrers", digest, accept);
        let index: Value = if status == 200 {
            serde_json::from_slice(&body).unwrap()
        } else {
            let (status, _, body) = self.get("manifests", &digest.replace(':', "-"), accept);
            if status == 404 {
                return Vec::new();
            }
            serde_json::from_slice(&body).unwrap()
        };
        index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d["artifactType"] == artifact_type)
            .collect()
    }

    /// The envelope of the one signature of `record`: its layer's media type and bytes.
    fn envelope(&self, record: &str) -> (String, Vec<u8>) {
        let sigs = self.referrers(record, SIGNATURE_TYPE);
        assert_eq!(sigs.len(), 1, "signatures of {record}: {sigs:?}");
        let digest = sigs[0]["digest"].as_str().unwrap();
        let (_, _, body) = self.get(
            "manifests",
            digest,
            "application/vnd.oci.image.manifest.v1+json",
        );
        let m: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(m["subject"]["digest"], record, "{m}");
        let layer = &m["layers"][0];
        let (status, _, blob) = self.get("blobs", layer["digest"].as_str().unwrap(), "*/*");
        assert_eq!(status, 200);
        (layer["mediaType"].as_str().unwrap().to_string(), blob)
    }
}

/// `lineage release oci:BUILDS:TAG REPO --version 1.0 --revision REVISION EXTRA…`.
fn release_revision(
    s: &Scratch,
    builds: &Path,
    repo: &str,
    tag: &str,
    revision: &str,
    extra: &[&str],
) -> crate::support::Run {
    let src = format!("oci:{}:{tag}", builds.display());
    let mut args = vec![
        "release",
        &src,
        repo,
        "--version",
        "1.0",
        "--revision",
        revision,
    ];
    args.extend_from_slice(extra);
    lineage_ok(s.path(), &args)
}

fn write_pki(s: &Scratch, name: &str, p: &Pki) -> (String, String) {
    let key = s.join(&format!("{name}.key"));
    let cert = s.join(&format!("{name}.crt"));
    std::fs::write(&key, &p.key_pem).unwrap();
    std::fs::write(&cert, p.chain_pem()).unwrap();
    (key.display().to_string(), cert.display().to_string())
}

/// The digests of the records `lineage retire`/`restore`/`sign` printed on stdout.
fn digests(out: &crate::support::Run) -> Vec<String> {
    out.stdout_text()
        .lines()
        .filter(|l| l.starts_with("sha256:"))
        .map(str::to_string)
        .collect()
}

/// The lifecycle records of `image` (by plain HTTP), newest last as the registry lists them.
fn records_of(http: &Http, image: &str) -> Vec<String> {
    http.referrers(image, "application/vnd.lineage.image.lifecycle.metadata")
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn notation_verifies_what_lineage_signed() {
    let test = "notation_verifies_what_lineage_signed";
    let Some(bin) = notation(test) else {
        return;
    };
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    let release = pki(KeyKind::P256, &LeafOptions::default());
    let (key, cert) = write_pki(&s, "release", &release);
    let stranger = pki(KeyKind::P384, &LeafOptions::default());
    let (stranger_key, stranger_cert) = write_pki(&s, "stranger", &stranger);
    for (label, host, _serve) in registries(test, &s) {
        let name = unique_repo("signed");
        let repo = format!("{host}/{name}");
        let http = Http::new(&host, &name);
        let notation = Notation::new(
            bin.clone(),
            s.join(&format!("notation-{}", label.replace(' ', "-"))),
        );
        write_policy(
            &notation.dir(),
            "lineage",
            "strict",
            &[&repo],
            &[IDENTITY],
            &release.root_pem,
        );
        release_revision(&s, &builds, &repo, "rev1", "rev1", &[]);
        // The release of rev2 retires rev1, and signs that record.
        let signing = ["--sign", "--signing-key", &key, "--signing-cert", &cert];
        let out = release_revision(&s, &builds, &repo, "rev2", "rev2", &signing);
        assert!(
            out.stderr.contains("Signed record"),
            "{label}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("CN=release-pipeline"),
            "{label}: {}",
            out.stderr
        );
        let rev1 = http.digest_of_tag("1.0-rev1");
        let retired = records_of(&http, &rev1);
        assert_eq!(retired.len(), 1, "{label}: {retired:?}");

        // `restore --sign` and `retire --sign` sign the record each writes.
        let restored = digests(&lineage_ok(
            s.path(),
            &[
                "restore",
                &format!("{repo}:1.0-rev1"),
                "--sign",
                "--signing-key",
                &key,
                "--signing-cert",
                &cert,
            ],
        ));
        // An unsigned retire, then `lineage sign IMAGE` signs just that record.
        let unsigned = digests(&lineage_ok(
            s.path(),
            &[
                "retire",
                &format!("{repo}:1.0-rev2"),
                "--reason",
                "vulnerable",
            ],
        ));
        assert_eq!(unsigned.len(), 1);
        let signed = lineage_ok(
            s.path(),
            &[
                "sign",
                &format!("{repo}:1.0-rev2"),
                "--key",
                &key,
                "--cert",
                &cert,
            ],
        );
        assert_eq!(digests(&signed).len(), 1, "{label}: {}", signed.stderr);
        let again = lineage_ok(
            s.path(),
            &[
                "sign",
                &format!("{repo}:1.0-rev2"),
                "--key",
                &key,
                "--cert",
                &cert,
            ],
        );
        assert!(digests(&again).is_empty(), "{label}: signed twice");
        assert!(
            again.stderr.contains("signed already"),
            "{label}: {}",
            again.stderr
        );
        if label == "lineage serve" {
            // What `lineage sign` tells people: the signature on stdout, who signed what on
            // stderr; then that nothing is left to sign.
            let shown = |run: &crate::support::Run| {
                format!(
                    "$ lineage sign REPO:1.0-rev2\nstdout: {}\nstderr: {}",
                    run.stdout_text().trim_end(),
                    run.stderr
                )
            };
            let text = format!("{}{}", shown(&signed), shown(&again));
            insta::assert_snapshot!(
                "lineage-sign-output",
                crate::support::redacted(&text.replace(&repo, "REPO"), &host)
            );
        }

        for record in retired.iter().chain(&restored).chain(&unsigned) {
            let reference = format!("{repo}@{record}");
            let out = String::from_utf8_lossy(&notation.ok(&[
                "verify",
                "--insecure-registry",
                &reference,
            ]))
            .into_owned();
            assert!(
                out.contains("Successfully verified"),
                "{label}: {reference}: {out}"
            );
            // lineage's own verification of the bytes the registry serves agrees.
            let (media_type, envelope) = http.envelope(record);
            let policy = TrustPolicy::load(&notation.dir().join("trustpolicy.json")).unwrap();
            let statement = policy.statement_for(&repo).unwrap();
            let subject = http.manifest_descriptor(record);
            assert!(
                matches!(
                    verify(statement, &subject, &media_type, &envelope, Utc::now()),
                    Verification::Verified(_)
                ),
                "{label}: {reference}"
            );
        }

        // A record signed by a key the trust store does not know: notation refuses it.
        let forged = digests(&lineage_ok(
            s.path(),
            &[
                "retire",
                &format!("{repo}:1.0-rev1"),
                "--reason",
                "withdrawn",
            ],
        ));
        let reference = format!("{repo}@{}", forged[0]);
        lineage_ok(
            s.path(),
            &[
                "sign",
                &reference,
                "--key",
                &stranger_key,
                "--cert",
                &stranger_cert,
            ],
        );
        let out = notation.run(&["verify", "--insecure-registry", &reference]);
        assert!(
            !out.status.success(),
            "{label}: notation accepted a stranger's signature"
        );
    }
}

impl Http {
    fn digest_of_tag(&self, tag: &str) -> String {
        let (status, _, body) = self.get(
            "manifests",
            tag,
            "application/vnd.oci.image.manifest.v1+json",
        );
        assert_eq!(status, 200, "tag {tag}");
        Digest::sha256(&body).to_string()
    }
}

#[test]
fn lineage_verifies_what_notation_signed() {
    let test = "lineage_verifies_what_notation_signed";
    let Some(bin) = notation(test) else {
        return;
    };
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    for (label, host, _serve) in registries(test, &s) {
        let name = unique_repo("notation-signed");
        let repo = format!("{host}/{name}");
        let http = Http::new(&host, &name);
        let notation = Notation::new(
            bin.clone(),
            s.join(&format!("notation-{}", label.replace(' ', "-"))),
        );
        notation.ok(&["cert", "generate-test", "--default", "interop"]);
        // The policy beside notation's own trust store (notation's layout), naming the
        // test certificate's subject.
        let policy_path = notation.dir().join("trustpolicy.json");
        let policy = serde_json::json!({"version": "1.0", "trustPolicies": [{
            "name": "interop", "registryScopes": [repo],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:interop"],
            "trustedIdentities": ["x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=interop"],
        }]});
        std::fs::write(&policy_path, serde_json::to_vec(&policy).unwrap()).unwrap();

        release_revision(&s, &builds, &repo, "rev1", "1", &[]);
        let record = digests(&lineage_ok(
            s.path(),
            &["retire", &format!("{repo}:1.0-1"), "--reason", "vulnerable"],
        ))
        .remove(0);
        let other = digests(&lineage_ok(
            s.path(),
            &["restore", &format!("{repo}:1.0-1")],
        ))
        .remove(0);
        let reference = format!("{repo}@{record}");
        notation.ok(&["sign", "--insecure-registry", &reference]);
        notation.ok(&["verify", "--insecure-registry", &reference]);

        let (media_type, envelope) = http.envelope(&record);
        assert_eq!(media_type, "application/jose+json", "{label}");
        let policy = TrustPolicy::load(&policy_path).unwrap();
        let statement = policy.statement_for(&repo).unwrap();
        let subject = http.manifest_descriptor(&record);
        match verify(statement, &subject, &media_type, &envelope, Utc::now()) {
            Verification::Verified(v) => {
                assert!(v.identity.contains("CN=interop"), "{label}: {v:?}");
                assert!(v.identity.contains("L=Seattle"), "{label}: {v:?}");
            }
            Verification::Rejected(r) => panic!("{label}: {r:?}"),
        }
        // The same envelope does not vouch for another record.
        let another = http.manifest_descriptor(&other);
        let Verification::Rejected(r) =
            verify(statement, &another, &media_type, &envelope, Utc::now())
        else {
            panic!("{label}: verified for another record");
        };
        assert_eq!(r.reason, Reason::BadSignature, "{label}: {r:?}");
        // A flipped byte in the signature does not verify.
        let mut env: Value = serde_json::from_slice(&envelope).unwrap();
        let sig = env["signature"].as_str().unwrap().to_string();
        let first = if sig.starts_with('A') { "B" } else { "A" };
        let flipped = format!("{first}{}", &sig[1..]);
        env["signature"] = Value::String(flipped);
        let tampered = serde_json::to_vec(&env).unwrap();
        let Verification::Rejected(r) =
            verify(statement, &subject, &media_type, &tampered, Utc::now())
        else {
            panic!("{label}: a tampered envelope verified");
        };
        assert_eq!(r.reason, Reason::BadSignature, "{label}: {r:?}");
        // `lineage sign IMAGE` counts notation's signature: only the restore record is
        // left to sign.
        let (key, cert) = write_pki(&s, "mine", &pki(KeyKind::Rsa2048, &LeafOptions::default()));
        let image = format!("{repo}:1.0-1");
        let signed = lineage_ok(
            s.path(),
            &[
                "sign", &image, "--key", &key, "--cert", &cert, "--output", "json",
            ],
        );
        let signed: Value = serde_json::from_slice(&signed.stdout).unwrap();
        assert_eq!(
            signed.as_array().map(Vec::len),
            Some(1),
            "{label}: {signed}"
        );
        assert_eq!(
            signed[0]["record"]["digest"],
            other.as_str(),
            "{label}: {signed}"
        );
        // Missing key files are named.
        let missing = lineage_run(
            s.path(),
            &["sign", &image, "--key", "/nonexistent.key", "--cert", &cert],
        );
        assert_eq!(missing.code, Some(1), "{label}: {}", missing.stderr);
        assert!(
            missing.stderr.contains("/nonexistent.key"),
            "{label}: {}",
            missing.stderr
        );
    }
}

/// Runs `lineage ARGS` in `s` with `config` as its config file.
fn lineage_with_config(s: &Scratch, config: &Path, args: &[&str]) -> crate::support::Run {
    let out = crate::support::lineage(s.path())
        .env("LINEAGE_CONFIG", config)
        .args(args)
        .output()
        .unwrap();
    crate::support::Run {
        what: format!("lineage {}", args.join(" ")),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The config file's `signingKey` and `signingCert` stand in for the flags; a missing key
/// is a usage error naming both ways to give one, a key that does not fit the chain names
/// both files and writes nothing, and no error shows key material. Without notation: the
/// signatures are checked with `lineage_trust::verify` on the bytes the registry serves.
#[test]
fn signing_keys_from_the_config_file_and_clear_refusals() {
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    let serve = Serve::start(&s.join("serve-root"), &[]);
    let repo = format!("{}/configured", serve.host);
    let http = Http::new(&serve.host, "configured");
    let release = pki(KeyKind::P384, &LeafOptions::default());
    let (key, cert) = write_pki(&s, "release", &release);
    let other = pki(KeyKind::P384, &LeafOptions::default());
    let (other_key, _) = write_pki(&s, "other", &other);
    let config = s.join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"signingKey": key, "signingCert": cert}).to_string(),
    )
    .unwrap();
    let empty_config = s.join("empty.json");
    std::fs::write(&empty_config, "{}").unwrap();

    release_revision(&s, &builds, &repo, "rev1", "1", &[]);
    let image = format!("{repo}:1.0-1");
    let image_digest = http.digest_of_tag("1.0-1");

    // No key anywhere: a usage error (exit 2) before anything is written.
    let missing = lineage_with_config(&s, &empty_config, &["retire", &image, "--sign"]);
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("--signing-key") && missing.stderr.contains("signingKey"),
        "{}",
        missing.stderr
    );
    // A key that does not fit the chain: both files named, no key material shown.
    let mismatch = lineage_with_config(
        &s,
        &empty_config,
        &[
            "retire",
            &image,
            "--sign",
            "--signing-key",
            &other_key,
            "--signing-cert",
            &cert,
        ],
    );
    assert_eq!(mismatch.code, Some(1), "{}", mismatch.stderr);
    assert!(
        mismatch.stderr.contains(&other_key) && mismatch.stderr.contains(&cert),
        "{}",
        mismatch.stderr
    );
    assert!(
        mismatch.stderr.contains("does not match"),
        "{}",
        mismatch.stderr
    );
    let key_line = other.key_pem.lines().nth(1).unwrap();
    assert!(!mismatch.stderr.contains(key_line));
    assert!(
        records_of(&http, &image_digest).is_empty(),
        "a refused --sign wrote a record"
    );

    // The config file's key and chain sign the record retire writes.
    let out = lineage_with_config(
        &s,
        &config,
        &["retire", &image, "--sign", "--reason", "vulnerable"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let record = digests(&out).remove(0);
    assert!(
        out.stderr.contains(&format!("Signed record {record}")),
        "{}",
        out.stderr
    );
    let (media_type, envelope) = http.envelope(&record);
    let policy_dir = s.join("policy");
    let path = write_policy(
        &policy_dir,
        "release",
        "strict",
        &[&repo],
        &[IDENTITY],
        &release.root_pem,
    );
    let policy = TrustPolicy::load(&path).unwrap();
    let subject = http.manifest_descriptor(&record);
    match verify(
        policy.statement_for(&repo).unwrap(),
        &subject,
        &media_type,
        &envelope,
        Utc::now(),
    ) {
        Verification::Verified(v) => {
            assert_eq!(v.identity, "CN=release-pipeline,O=Example,ST=WA,C=US")
        }
        Verification::Rejected(r) => panic!("{r:?}"),
    }
    // `lineage sign` with the config file's key: nothing left to sign; a signature is not
    // a record.
    let again = lineage_with_config(&s, &config, &["sign", &image]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(digests(&again).is_empty());
    let sig = http.referrers(&record, SIGNATURE_TYPE)[0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = lineage_with_config(&s, &config, &["sign", &format!("{repo}@{sig}")]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("is a signature"),
        "{}",
        refused.stderr
    );
}

/// `retire --filter … --sign` signs what the bulk retire writes (and the unsigned record of
/// an image retired already), its summary says how many; `--dialect microsoft --sign` signs
/// the Microsoft companion record too, so a strict policy finds nothing unsigned. On
/// `lineage serve` and distribution 2.8.
#[test]
fn bulk_retires_and_microsoft_companions_are_signed() {
    let test = "bulk_retires_and_microsoft_companions_are_signed";
    let s = Scratch::new();
    let builds = s.join("builds");
    build_revisions(&builds);
    let release = pki(KeyKind::P256, &LeafOptions::default());
    let (key, cert) = write_pki(&s, "release", &release);
    let signing = ["--sign", "--signing-key", &key, "--signing-cert", &cert];
    for (label, host, _serve) in registries(test, &s) {
        let name = unique_repo("bulksigned");
        let repo = format!("{host}/{name}");
        let http = Http::new(&host, &name);
        let notation_dir = s.join(&format!("policy-{}", label.replace(' ', "-")));
        let policy = write_policy(
            &notation_dir,
            "lineage",
            "strict",
            &[&repo],
            &[IDENTITY],
            &release.root_pem,
        );
        let policy = policy.display().to_string();
        // rev2's release retires rev1 with an unsigned record, which the strict policy
        // ignores: rev1 is only superseded.
        release_revision(
            &s,
            &builds,
            &repo,
            "rev1",
            "rev1",
            &["--created", "2023-07-07T08:00:00Z"],
        );
        release_revision(
            &s,
            &builds,
            &repo,
            "rev2",
            "rev2",
            &["--created", "2023-07-10T08:00:00Z"],
        );
        let rev1 = format!("{repo}:1.0-rev1");
        let rev2 = format!("{repo}:1.0-rev2");
        let unsigned = status(&s, Some(&policy), &rev1);
        assert_eq!(unsigned["state"], "superseded", "{label}: {unsigned}");
        assert!(
            unsigned["warnings"].to_string().contains("unsigned"),
            "{label}: {unsigned}"
        );

        let bulk = |extra: &[&str]| -> Value {
            let flags = [&["--tags", "1\\.0-.*", "--reason", "vulnerable"], extra].concat();
            bulk_retire(&s, &name, &flags, &host)
        };
        let first = bulk(&signing);
        assert_eq!(first["recordsWritten"], 2, "{label}: {first}");
        assert_eq!(first["signed"]["signaturesWritten"], 2, "{label}: {first}");
        assert!(
            first["signed"]["identity"]
                .as_str()
                .unwrap()
                .contains("CN=release-pipeline"),
            "{label}: {first}"
        );
        for reference in [&rev1, &rev2] {
            let status = status(&s, Some(&policy), reference);
            assert_eq!(status["state"], "end-of-life", "{label}: {status}");
            assert_eq!(status["signature"]["verified"], true, "{label}: {status}");
            assert_eq!(status["reason"], "vulnerable", "{label}: {status}");
        }
        // The rerun writes nothing and has nothing left to sign.
        let again = bulk(&signing);
        assert_eq!(again["recordsWritten"], 0, "{label}: {again}");
        assert_eq!(again["alreadyRetired"], 2, "{label}: {again}");
        assert_eq!(again["signed"]["signaturesWritten"], 0, "{label}: {again}");
        // Without `--sign`, the summary has no `signed`.
        let unsigned_run = bulk(&["--dry-run"]);
        assert!(
            unsigned_run.get("signed").is_none(),
            "{label}: {unsigned_run}"
        );

        // `--dialect microsoft --sign`: the companion record is signed as well.
        let mut args = vec![
            "retire",
            rev2.as_str(),
            "--reason",
            "withdrawn",
            "--dialect",
            "microsoft",
        ];
        args.extend_from_slice(&signing);
        let out = lineage_ok(s.path(), &args);
        assert_eq!(
            out.stderr.matches("Signed record").count(),
            2,
            "{label}: {}",
            out.stderr
        );
        let image = http.digest_of_tag("1.0-rev2");
        let companions = http.referrers(&image, "application/vnd.microsoft.artifact.lifecycle");
        assert_eq!(companions.len(), 1, "{label}: {companions:?}");
        let companion = companions[0]["digest"].as_str().unwrap();
        let (media_type, envelope) = http.envelope(companion);
        let policy_file = TrustPolicy::load(&notation_dir.join("trustpolicy.json")).unwrap();
        let statement = policy_file.statement_for(&repo).unwrap();
        assert!(
            matches!(
                verify(
                    statement,
                    &http.manifest_descriptor(companion),
                    &media_type,
                    &envelope,
                    Utc::now()
                ),
                Verification::Verified(_)
            ),
            "{label}: the companion's signature"
        );
        let status = status(&s, Some(&policy), &rev2);
        assert_eq!(status["reason"], "withdrawn", "{label}: {status}");
        assert_eq!(status["signature"]["verified"], true, "{label}: {status}");
        // No warning: no record of the image is left unsigned, the companion included.
        assert!(status.get("warnings").is_none(), "{label}: {status}");
    }
}
