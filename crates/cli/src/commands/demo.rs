//! `lineage demo`: the original lifecycle walkthrough, one command per step, on an embedded
//! `lineage serve` in a temporary directory (or on `--registry HOST`). Each step calls the
//! engine and the libraries itself and prints with the same functions as the command it
//! shows.
//!
//! Revision 1 of `flasksample` (created 2023-07-07T00:00:00-08:00) is released as `1.0` and
//! `1.0-20230707`; revision 2 (created 2023-07-10T00:00:00-08:00) as `1.0-20230710`, moving
//! `1.0`, which records end-of-life on revision 1. Both releases sign their records (`--sign`)
//! with a throw-away key and certificate chain the demo makes ([`lineage_trust::pki`]), beside
//! a notation trust policy (`trustpolicy.json`, `truststore/`) trusting it. Then both
//! statuses, the lineage's history and revision 1's referrer tree are shown, then what acts on
//! them: the admission webhook's answer for a Deployment pinned to revision 1, and `lineage
//! update`'s diff for a Dockerfile that pins it. Last, what signing is for (issue 16): a forged
//! end-of-life record on revision 2, written without the key as anyone with push access could,
//! decides its status without a trust policy, and is ignored (`unsigned`) under the strict one.

use anyhow::Context as _;
use bytes::Bytes;
use lineage_oci::{Descriptor, Digest, RawManifest, media_type};
use lineage_store::{LayoutStore, Store, blob};
use serde_json::json;

use lineage_server::policy::AdmissionReview;

use std::sync::Arc;

use lineage_integrations::update::FileKind;
use lineage_lifecycle::{Engine, Namespace, ReleaseRequest};
use lineage_server::policy::AdmissionSettings;
use lineage_server::policy::routes::PolicyState;
use lineage_server::policy::scope::Scope;
use lineage_store::copy::CopyOptions;

use crate::args::{DemoArgs, DiscoverOutput, Output};
use crate::commands::{discover, lifecycle, push, sign, update};
use crate::open::{self, Connection, Opener};
use crate::output::Printer;

fn step(printer: Printer, text: &str) {
    printer.message(format_args!("\n==> {text}"));
}

async fn put(store: &LayoutStore, mt: &str, data: Vec<u8>) -> anyhow::Result<Descriptor> {
    let d = Descriptor::new(mt, Digest::sha256(&data), data.len() as u64);
    store
        .blob_put(&d, blob::from_bytes(Bytes::from(data)))
        .await?;
    Ok(d)
}

/// A small image for revision `revision`, created at `created`, tagged `tag` in `store`.
async fn build(
    store: &LayoutStore,
    revision: &str,
    created: &str,
    tag: &str,
) -> anyhow::Result<()> {
    let config = put(
        store,
        media_type::OCI_CONFIG,
        serde_json::to_vec(
            &json!({"architecture": "amd64", "os": "linux", "created": created,
            "config": {"Cmd": ["flask", "run"], "Labels": {"revision": revision}},
            "rootfs": {"type": "layers", "diff_ids": []}}),
        )?,
    )
    .await?;
    let layer = put(
        store,
        media_type::OCI_LAYER_TAR,
        format!("flasksample app, revision {revision}\n")
            .repeat(64)
            .into_bytes(),
    )
    .await?;
    let manifest = RawManifest::from_canonical(
        &json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": config, "layers": [layer],
        "annotations": {"org.opencontainers.image.created": created, "org.opencontainers.image.title": "flasksample"}}),
    )?;
    store.manifest_put(&manifest, Some(tag)).await?;
    Ok(())
}

/// The demo's signer: the throw-away leaf's subject (the default of
/// [`lineage_trust::pki::LeafOptions`]).
const SUBJECT: &str = "C=US, ST=WA, O=Example, CN=release-pipeline";

/// The demo's throw-away signing material in `dir` (`key.pem`, `chain.pem`) and a notation
/// configuration directory beside it trusting its root, strict for `repository` only; the
/// key and chain files and the trust policy file.
fn trust_material(
    dir: &std::path::Path,
    repository: &str,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> {
    use lineage_trust::pki;
    let made = pki::generate(pki::KeyKind::P256, &pki::LeafOptions::default())?;
    std::fs::create_dir_all(dir)?;
    let (key, chain) = (dir.join("key.pem"), dir.join("chain.pem"));
    std::fs::write(&key, &made.key_pem)?;
    std::fs::write(&chain, made.chain_pem())?;
    let policy = pki::write_notation_dir(
        dir,
        "demo",
        "strict",
        &[repository],
        &[&format!("x509.subject: {SUBJECT}")],
        &made.root_pem,
    )
    .with_context(|| format!("cannot write the demo's trust policy in {}", dir.display()))?;
    Ok((key, chain, policy))
}

/// Run the walkthrough.
pub async fn run(namespace: &Namespace, printer: Printer, a: DemoArgs) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("lineage-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let (host, server) = match a.registry {
        Some(h) => (h, None),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let config = lineage_server::ServeConfig {
                root: work.path().join("registry"),
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                policy: lineage_server::Policy::default(),
                htpasswd: None,
                tls: None,
                policy_routes: None,
                limits: lineage_server::ConnectionLimits::default(),
                admission_without_auth: false,
            };
            let task = tokio::spawn(lineage_server::serve(config, move |addr, _| {
                let _ = tx.send(addr);
            }));
            let addr = rx.await.context("the embedded registry did not start")?;
            step(
                printer,
                &format!(
                    "an embedded `lineage serve` listens on {addr} (root {})",
                    work.path().join("registry").display()
                ),
            );
            (addr.to_string(), Some(task))
        }
    };
    let opener = Opener::new(Connection::default());
    // The walkthrough reads every record, whatever trust policy the config file names; the
    // last steps show the demo's own policy.
    let engine = Engine {
        trust: None,
        ..lifecycle::engine(namespace, None)
    };
    // The demo's release steps always say what they did, `--quiet` or not.
    let loud = Printer::new(false);
    let builds = LayoutStore::open_or_create(work.path().join("builds"))?;
    let layout = |tag: &str| format!("oci:{}:{tag}", work.path().join("builds").display());
    let repo = format!("{host}/flasksample");
    let repository = open::parse(&repo)?;
    let trust = work.path().join("notation");
    let (key, chain, policy_file) = trust_material(&trust, &repo)?;
    step(
        printer,
        &format!(
            "a throw-away signing key and certificate chain ({SUBJECT}, issued by a throw-away root CA) in {}, and a notation trust policy beside them (trustpolicy.json, truststore/x509/ca/demo/): strict for {repo}, trusting that signer",
            trust.display()
        ),
    );
    let signer = sign::load_signer(
        Some(&key),
        Some(&chain),
        &(None, None),
        ("--signing-key", "--signing-cert"),
    )?;

    for (revision, created, tag, before) in [
        (
            "20230707",
            "2023-07-07T00:00:00-08:00",
            "rev1",
            "build revision 1 of flasksample (created 2023-07-07T00:00:00-08:00)",
        ),
        (
            "20230710",
            "2023-07-10T00:00:00-08:00",
            "rev2",
            "vulnerabilities are found; build revision 2 (created 2023-07-10T00:00:00-08:00)",
        ),
    ] {
        step(printer, before);
        build(&builds, revision, created, tag).await?;
        step(
            printer,
            &format!(
                "lineage release {} {repo} --version 1.0 --revision {revision} --sign --signing-key {} --signing-cert {}",
                layout(tag),
                key.display(),
                chain.display()
            ),
        );
        let request = ReleaseRequest {
            version: "1.0".into(),
            revision: Some(revision.into()),
            created: None,
            eol_at: None,
            now: lineage_oci::time::now(),
            rollback: false,
            copy: CopyOptions::default(),
            ..ReleaseRequest::default()
        };
        let source = open::parse(&layout(tag))?;
        let (done, name) =
            push::release_into(&opener, &engine, loud, &source, &repository, request).await?;
        let signed = push::sign_release(&opener, &repository, &signer, &done).await?;
        outln!("{}", done.image.digest)?;
        push::report_release(loud, &name, &done);
        sign::report(loud, &signer, &signed);
    }

    let old = format!("{repo}:1.0-20230707");
    let new = format!("{repo}:1.0-20230710");
    let now = lineage_oci::time::now();
    step(printer, &format!("lineage status {old} {new} {repo}:1.0"));
    let refs = [old.as_str(), new.as_str(), &format!("{repo}:1.0")]
        .into_iter()
        .map(open::parse)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows = lifecycle::statuses(&opener, &engine, &refs, now).await;
    lifecycle::print_statuses(&rows, Output::Text, printer)?;
    step(printer, &format!("lineage status --output json {old}"));
    let rows = lifecycle::statuses(&opener, &engine, &refs[..1], now).await;
    lifecycle::print_statuses(&rows, Output::Json, printer)?;
    step(printer, &format!("lineage history {repo} --version 1.0"));
    let history = lifecycle::history_of(&opener, &engine, &repository, Some("1.0"), now).await?;
    out!("{}", lifecycle::table(history.iter().map(Ok)))?;
    step(printer, &format!("lineage discover {old}"));
    discover::run(
        &opener,
        &refs[0],
        None,
        None,
        discover::DEFAULT_MAX_NODES,
        DiscoverOutput::Tree,
    )
    .await?;
    step(
        printer,
        &format!(
            "a cluster admits a Deployment pinned to {old}: the admission webhook (POST /admission/v1/validate, enforce mode) answers"
        ),
    );
    // In process, reachable by nobody else: any registry.
    let policy = PolicyState::new(
        opener.lookup(namespace).await?,
        AdmissionSettings::default(),
        Arc::new(Scope::webhook(&[])?),
    );
    let review = AdmissionReview::parse(&serde_json::to_vec(&deployment_review(&old))?)
        .context("the demo's AdmissionReview")?;
    let answer = policy.admit(&review).await;
    match &answer.response.status {
        Some(s) if !answer.response.allowed => outln!("denied ({}): {}", s.code, s.message)?,
        _ => outln!("allowed")?,
    }

    let dockerfile_dir = work.path().join("app");
    std::fs::create_dir_all(&dockerfile_dir)?;
    let dockerfile = dockerfile_dir.join("Dockerfile");
    let text = format!("FROM {old}\nCOPY . /app\nCMD [\"flask\", \"run\"]\n");
    std::fs::write(&dockerfile, &text)?;
    step(
        printer,
        &format!(
            "a Dockerfile still says FROM {old}; lineage update proposes the successor (--write would apply it)"
        ),
    );
    let scan = lineage_integrations::update::scan(FileKind::Dockerfile, &text);
    let keys: Vec<String> = scan.occurrences.iter().map(|o| o.key()).collect();
    let statuses = opener.statuses(namespace, &keys, now).await?;
    let plan = lineage_integrations::update::plan(&text, &scan, &statuses);
    if let Some(updated) = &plan.updated {
        out!(
            "{}",
            lineage_integrations::update::unified_diff(&update::shown(&dockerfile), &text, updated)
        )?;
    }
    forged_and_ignored(&opener, &engine, printer, &refs[..2], &policy_file).await?;
    step(
        printer,
        "done: anyone holding 1.0-20230707 or its digest now learns it is end-of-life and that 1.0-20230710 replaces it; under the trust policy, only what the release pipeline signed counts",
    );
    if let Some(task) = server {
        task.abort();
    }
    Ok(())
}

/// Issue 16's attack and its answer: an end-of-life record on revision 2 (`refs[1]`) written
/// without the key, as `lineage retire` without `--sign` writes one (as anyone who can push
/// could), then both revisions' status without a trust policy (the forged record decides:
/// end-of-life) and under `policy_file` (strict: it is ignored as `unsigned`; revision 1's
/// signed record still decides).
async fn forged_and_ignored(
    opener: &Opener,
    engine: &Engine,
    printer: Printer,
    refs: &[lineage_oci::StoreRef],
    policy_file: &std::path::Path,
) -> anyhow::Result<()> {
    let [old, new] = refs else {
        anyhow::bail!("the demo shows two revisions");
    };
    let retire = ["retire", &new.to_string(), "--reason", "withdrawn"].map(String::from);
    step(
        printer,
        &format!(
            "someone with push access but without the signing key writes an end-of-life record on {new}: lineage {}",
            retire.join(" ")
        ),
    );
    // The record that very command writes (`lineage retire`'s own spec, no `--sign`).
    let parsed = <crate::args::Cli as clap::Parser>::try_parse_from(
        std::iter::once("lineage".to_string()).chain(retire),
    )?;
    let crate::args::Command::Retire(args) = parsed.command else {
        anyhow::bail!("the demo's retire step is not `lineage retire`");
    };
    let spec = lifecycle::retire_spec(&args, lineage_oci::time::now());
    lifecycle::record(
        opener,
        engine,
        new,
        spec,
        "retire",
        Printer::new(false),
        None,
    )
    .await?;
    let now = lineage_oci::time::now();
    step(
        printer,
        &format!("lineage status {old} {new} (no trust policy: every record counts)"),
    );
    let rows = lifecycle::statuses(opener, engine, refs, now).await;
    lifecycle::print_statuses(&rows, Output::Text, printer)?;
    step(
        printer,
        &format!(
            "lineage --trust-policy {} status {old} {new} (strict: only records signed by a trusted identity count)",
            policy_file.display()
        ),
    );
    let policy = lineage_trust::TrustPolicy::load(policy_file).with_context(|| {
        format!(
            "cannot load the demo's trust policy {}",
            policy_file.display()
        )
    })?;
    let trusted = Engine {
        trust: Some(Arc::new(policy)),
        ..engine.clone()
    };
    let rows = lifecycle::statuses(opener, &trusted, refs, now).await;
    lifecycle::print_statuses(&rows, Output::Text, printer)?;
    Ok(())
}

/// An AdmissionReview as the API server sends it for a Deployment running `image`.
fn deployment_review(image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "d3b07384-d9a0-4c9b-8a2e-5e1f3c7a9b10",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "namespace": "shop",
            "name": "flasksample",
            "operation": "CREATE",
            "object": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "flasksample", "namespace": "shop"},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}
            },
            "dryRun": false
        }
    })
}
