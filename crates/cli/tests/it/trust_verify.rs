//! Issue 16, the reading side: verdicts use only what a trust policy allows. Records signed
//! by the real `notation` CLI (`LINEAGE_TEST_NOTATION`, with a `notation cert generate-test`
//! certificate and notation's own trust store layout) on `lineage serve` (referrers API) and
//! distribution 2.8 (`LINEAGE_TEST_REGISTRY`, referrers tag schema): strict ignores an
//! unsigned record with its reason and audit counts it; a signed record decides, with
//! `signature` filled, at most five registry requests cold; an untrusted identity, a tampered
//! envelope and a listing whose annotations were rewritten are not believed; admission under
//! strict ignores a forged retirement and the metrics count records by result.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::policy::{Http, admit, fixture, webhook, with_images};
use crate::support::peers;
use crate::support::registry::{fallback_tag, registry_from_env, unique_repo};
use crate::support::scenario::{Scenario, scenario};
use crate::support::serve::Serve;
use crate::support::snapshot::{columns, redacted};
use crate::support::{Scratch, lineage_ok, lineage_run};

const SIGNATURE_TYPE: &str = "application/vnd.cncf.notary.signature";

/// The `notation` CLI with its own configuration directory (in the scratch), holding a
/// `notation cert generate-test` key, its certificate in the trust store `ca/lineage-test`,
/// and trust policies beside it.
struct Notation(peers::Notation);

impl Notation {
    /// `LINEAGE_TEST_NOTATION` with a fresh test key, or `None` after a `SKIPPED` note (a
    /// failure under CI).
    fn new(test: &str, s: &Scratch) -> Option<Notation> {
        let notation = peers::Notation::new(peers::notation(test)?, s.join("notation-home"));
        notation.ok(&["cert", "generate-test", "--default", "lineage-test"]);
        Some(Notation(notation))
    }

    /// notation's directory: its trust store is `DIR/truststore`.
    fn dir(&self) -> PathBuf {
        self.0.dir()
    }

    /// Run `notation ARGS…`, panicking with its output when it fails.
    fn ok(&self, args: &[&str]) -> Vec<u8> {
        self.0.ok(args)
    }

    /// `notation sign` of `reference` (`HOST/REPO@DIGEST`) with the test key, over plain HTTP.
    fn sign(&self, reference: &str) {
        self.ok(&["sign", "--insecure-registry", reference]);
    }

    /// A trust policy `NAME.json` in notation's directory (its trust store beside it): one
    /// statement for every repository at `level`, trusting the test certificate's store and
    /// `identities`.
    fn policy(&self, name: &str, level: &str, identities: &[&str]) -> String {
        let policy = json!({
            "version": "1.0",
            "trustPolicies": [{
                "name": "lineage-test",
                "registryScopes": ["*"],
                "signatureVerification": {"level": level},
                "trustStores": ["ca:lineage-test"],
                "trustedIdentities": identities,
            }]
        });
        let path = self.dir().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
        path.display().to_string()
    }
}

/// `lineage [--trust-policy POLICY] status --output json REF`, the one status.
pub(crate) fn status(s: &Scratch, policy: Option<&str>, reference: &str) -> Value {
    let mut args = vec!["status", "--output", "json", reference];
    if let Some(p) = policy {
        args.extend(["--trust-policy", p]);
    }
    let out = lineage_ok(s.path(), &args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

/// The signature warnings of a status: `(record, reason, effect)`.
fn signature_warnings(status: &Value) -> Vec<(String, String, String)> {
    status["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter(|w| w["key"] == SIGNATURE_TYPE)
                .map(|w| {
                    (
                        w["digest"].as_str().unwrap().to_string(),
                        w["reason"].as_str().unwrap().to_string(),
                        w["effect"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The end-of-life image's record (`sha256:…`), from its status without a policy.
fn record_of(s: &Scratch, reference: &str) -> String {
    let plain = status(s, None, reference);
    assert!(plain.get("signature").is_none(), "no policy: {plain}");
    plain["record"].as_str().unwrap().to_string()
}

/// `HOST/REPO@DIGEST` of the scenario's repository.
fn at_digest(sc: &Scenario, digest: &str) -> String {
    let repo = sc.current.rsplit_once(':').unwrap().0;
    format!("{repo}@{digest}")
}

/// Strict ignores an unsigned record (with its reason, in JSON and in the table), audit
/// counts it with a warning; on `lineage serve` and distribution 2.8.
#[test]
fn strict_ignores_an_unsigned_record_and_audit_counts_it() {
    let test = "strict_ignores_an_unsigned_record_and_audit_counts_it";
    let s = Scratch::new();
    let Some(notation) = Notation::new(test, &s) else {
        return;
    };
    let strict = notation.policy("strict", "strict", &["*"]);
    let audit = notation.policy("audit", "audit", &["*"]);
    let serve = Serve::start(&s.join("root"), &[]);
    let mut repos = vec![(true, serve.reference("trust/app", ""))];
    if let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) {
        repos.push((false, reg.reference(&unique_repo("trust-unsigned"), "")));
    }
    for (snapshot, repo) in repos {
        let sc = scenario(&s, &repo);
        let record = record_of(&s, &sc.eol);

        let ignored = status(&s, Some(&strict), &sc.eol);
        // The record does not count: the lineage alone says a newer revision exists.
        assert_eq!(ignored["state"], "superseded", "{repo}: {ignored}");
        assert_eq!(ignored["record"], Value::Null, "{repo}: {ignored}");
        assert!(ignored.get("signature").is_none(), "{repo}: {ignored}");
        assert_eq!(
            signature_warnings(&ignored),
            [(record.clone(), "unsigned".into(), "record-ignored".into())],
            "{repo}: {ignored}"
        );

        let counted = status(&s, Some(&audit), &sc.eol);
        assert_eq!(counted["state"], "end-of-life", "{repo}: {counted}");
        assert_eq!(
            counted["signature"],
            json!({"verified": false, "identity": null, "signedAt": null}),
            "{repo}: {counted}"
        );
        assert_eq!(
            signature_warnings(&counted),
            [(record.clone(), "unsigned".into(), "record-counted".into())],
            "{repo}: {counted}"
        );

        if snapshot {
            let table = lineage_ok(
                s.path(),
                &["status", "--trust-policy", &strict, &sc.eol, &sc.current],
            );
            insta::assert_snapshot!(
                "trust_status_strict_unsigned",
                columns(&redacted(&table.stdout_text(), &serve.host))
            );
            let history = lineage_ok(s.path(), &["history", "--trust-policy", &strict, &repo]);
            insta::assert_snapshot!(
                "trust_history_strict_unsigned",
                columns(&redacted(&history.stdout_text(), &serve.host))
            );
        }
    }
}

/// A record signed by `notation sign` decides under strict, with `signature` naming the
/// test certificate, in at most five registry requests cold (counted on `lineage serve`'s
/// access log); a policy that trusts another identity ignores it (`untrusted-identity`).
#[test]
fn a_record_signed_by_notation_decides_with_its_signature() {
    let test = "a_record_signed_by_notation_decides_with_its_signature";
    let s = Scratch::new();
    let Some(notation) = Notation::new(test, &s) else {
        return;
    };
    let strict = notation.policy("strict", "strict", &["*"]);
    let someone_else = notation.policy(
        "someone-else",
        "strict",
        &["x509.subject: C=US,ST=WA,O=Example,CN=release-pipeline"],
    );
    let serve = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &serve.reference("signed/app", ""));
    let record = record_of(&s, &sc.eol);
    notation.sign(&at_digest(&sc, &record));

    let before = serve.mark("before");
    let signed = status(&s, Some(&strict), &sc.eol);
    let after = serve.mark("after");
    assert_eq!(signed["state"], "end-of-life", "{signed}");
    assert_eq!(signed["endOfLife"], "2023-07-10T08:00:00Z", "{signed}");
    assert_eq!(signed["record"], record.as_str(), "{signed}");
    assert_eq!(signed["successor"]["reference"], sc.successor, "{signed}");
    let signature = &signed["signature"];
    assert_eq!(signature["verified"], true, "{signed}");
    let identity = signature["identity"].as_str().unwrap();
    assert!(identity.contains("CN=lineage-test"), "{identity}");
    assert!(signature["signedAt"].as_str().is_some(), "{signed}");
    assert!(signed.get("warnings").is_none(), "{signed}");
    let requests = &serve.requests()[before + 1..after];
    // The image by tag, its referrers, the record's signatures, the signature manifest and
    // its envelope: the record rebuilds from the listing and the rolling tag is not needed.
    assert_eq!(
        requests.len(),
        5,
        "a cold status of a signed record: {requests:#?}"
    );

    let untrusted = status(&s, Some(&someone_else), &sc.eol);
    assert_eq!(untrusted["state"], "superseded", "{untrusted}");
    assert_eq!(
        signature_warnings(&untrusted),
        [(record, "untrusted-identity".into(), "record-ignored".into())],
        "{untrusted}"
    );
}

/// Distribution 2.8 keeps referrers in a fallback index anyone who can push may rewrite:
/// annotations changed there are believed without a policy and not under strict, which
/// reads the record as it was signed. A tampered envelope is a bad signature.
#[test]
fn a_forged_listing_and_a_tampered_envelope_are_not_believed() {
    let test = "a_forged_listing_and_a_tampered_envelope_are_not_believed";
    let s = Scratch::new();
    let Some(reg) = registry_from_env(test, "LINEAGE_TEST_REGISTRY", false) else {
        return;
    };
    let Some(notation) = Notation::new(test, &s) else {
        return;
    };
    let strict = notation.policy("strict", "strict", &["*"]);
    let name = unique_repo("trust-forged");
    let sc = scenario(&s, &reg.reference(&name, ""));
    let record = record_of(&s, &sc.eol);
    notation.sign(&at_digest(&sc, &record));
    let http = Http::new(&reg.host);

    // Rewrite the end-of-life in the image's fallback index: un-retire it until 2099.
    let index_path = format!("/v2/{name}/manifests/{}", fallback_tag(&sc.eol_digest));
    let manifest = |tag_or_digest: &str| -> Value {
        let reference = match tag_or_digest.strip_prefix("sha256:") {
            Some(_) => at_digest(&sc, tag_or_digest),
            None => format!("{}:{tag_or_digest}", reg.reference(&name, "")),
        };
        serde_json::from_slice(&lineage_ok(s.path(), &["manifest", &reference]).stdout).unwrap()
    };
    let mut index = manifest(&fallback_tag(&sc.eol_digest));
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["digest"] == record.as_str())
        .unwrap();
    entry["annotations"]["vnd.lineage.image.end-of-life"] = json!("2099-01-01T00:00:00Z");
    let code = http.put(
        &index_path,
        "application/vnd.oci.image.index.v1+json",
        serde_json::to_vec(&index).unwrap(),
    );
    assert_eq!(code, 201);

    let believed = status(&s, None, &sc.eol);
    assert_eq!(
        believed["state"], "scheduled",
        "the forgery took: {believed}"
    );
    let signed = status(&s, Some(&strict), &sc.eol);
    assert_eq!(signed["state"], "end-of-life", "{signed}");
    assert_eq!(signed["endOfLife"], "2023-07-10T08:00:00Z", "{signed}");
    assert_eq!(signed["signature"]["verified"], true, "{signed}");

    // The envelope of that signature, its signature bytes changed, signs a retirement of the
    // current revision: a bad signature (it no longer verifies, and names another record).
    let signatures = manifest(&fallback_tag(&record));
    let signature = signatures["manifests"][0]["digest"].as_str().unwrap();
    let signature = manifest(signature);
    let layer = signature["layers"][0]["digest"].as_str().unwrap();
    let (_, envelope) = http.get(&format!("/v2/{name}/blobs/{layer}"));
    let mut jws: Value = serde_json::from_str(&envelope).unwrap();
    let sig = jws["signature"].as_str().unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    jws["signature"] = json!(format!("{flipped}{}", &sig[1..]));
    let tampered = s.join("tampered.jws");
    std::fs::write(&tampered, serde_json::to_vec(&jws).unwrap()).unwrap();
    lineage_ok(s.path(), &["retire", &sc.current]);
    let retired = status(&s, None, &sc.current);
    let forged_record = retired["record"].as_str().unwrap().to_string();
    lineage_ok(
        s.path(),
        &[
            "attach",
            &at_digest(&sc, &forged_record),
            "--artifact-type",
            SIGNATURE_TYPE,
            &format!("{}:application/jose+json", tampered.display()),
        ],
    );
    let current = status(&s, Some(&strict), &sc.current);
    assert_eq!(current["state"], "supported", "{current}");
    assert_eq!(
        signature_warnings(&current),
        [(
            forged_record,
            "bad-signature".into(),
            "record-ignored".into()
        )],
        "{current}"
    );
}

/// Admission under strict: a retirement anyone pushed (unsigned) does not deny the current
/// revision, which it does without a policy; the signed retirement of the old revision
/// still denies it. The metrics count the records by verification result.
#[test]
fn admission_under_strict_ignores_a_forged_retirement() {
    let test = "admission_under_strict_ignores_a_forged_retirement";
    let s = Scratch::new();
    let Some(notation) = Notation::new(test, &s) else {
        return;
    };
    let strict = notation.policy("strict", "strict", &["*"]);
    let serve = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &serve.reference("admit/app", ""));
    let record = record_of(&s, &sc.eol);
    notation.sign(&at_digest(&sc, &record));
    lineage_ok(s.path(), &["retire", &sc.current]);

    let open = webhook(&[]);
    let guarded = webhook(&["--trust-policy", &strict]);
    let (open, guarded) = (Http::new(&open.host), Http::new(&guarded.host));
    let pod = || fixture("pod-create");
    assert_eq!(
        admit(&open, with_images(pod(), &sc.current))["allowed"],
        false,
        "without a policy the forged retirement denies"
    );
    let r = admit(&guarded, with_images(pod(), &sc.current));
    assert_eq!(r["allowed"], true, "{r}");
    let r = admit(&guarded, with_images(pod(), &sc.eol));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("end-of-life"),
        "{r}"
    );

    let (code, metrics) = guarded.get("/metrics");
    assert_eq!(code, 200);
    let count = |result: &str| -> u64 {
        let prefix = format!("lineage_records_verified_total{{result=\"{result}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix}in {metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(count("verified"), 1, "{metrics}");
    assert_eq!(count("unsigned"), 1, "{metrics}");
    assert_eq!(count("bad-signature"), 0, "{metrics}");
}

/// A trust policy that cannot be read is a usage error naming the file.
#[test]
fn an_unreadable_trust_policy_is_a_usage_error() {
    let s = Scratch::new();
    let missing = s.join("nowhere").join("trustpolicy.json");
    let run = lineage_run(
        s.path(),
        &[
            "status",
            "--trust-policy",
            &missing.display().to_string(),
            "oci:nowhere",
        ],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("trustpolicy.json"), "{}", run.stderr);
}
