//! Signing lifecycle records: `lineage sign REF` and `--sign` on `release`, `retire` and
//! `restore`. The signature itself (envelope and manifest, as `notation sign` writes them) is
//! `lineage-trust`'s; this module finds the records to sign and pushes each signature the
//! way records are written: the empty config and the envelope blob, then the manifest whose
//! `subject` is the record, which each store makes findable (the referrers API, or the tag
//! schema on a registry without it).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use lineage_lifecycle::{Dialect, Namespace, Written};
use lineage_oci::manifest::ManifestKind;
use lineage_oci::{Descriptor, Digest, RawManifest, StoreRef, media_type};
use lineage_store::{ReadStore, Store, blob};
use lineage_trust::{SIGNATURE_ARTIFACT_TYPE, Signer};
use serde_json::json;

use crate::args::{Output, SignArgs, SignFlags};
use crate::commands::lifecycle::usage;
use crate::commands::resolve_target;
use crate::open::Opener;
use crate::output::Printer;

/// The config file's `signingKey` and `signingCert` ([`crate::settings::Settings::signing`]).
pub type SigningDefaults = (Option<PathBuf>, Option<PathBuf>);

/// The signer for a key and chain given as flags (named `flags`, for messages), else the
/// config file's `signingKey` and `signingCert`. Missing files are a usage error; a key
/// that does not fit the chain names both files (never the key's content).
pub fn load_signer(
    key: Option<&Path>,
    cert: Option<&Path>,
    defaults: &SigningDefaults,
    flags: (&str, &str),
) -> anyhow::Result<Signer> {
    let key = key.or(defaults.0.as_deref()).ok_or_else(|| {
        usage(anyhow::anyhow!(
            "signing needs a key: `{} FILE`, or `signingKey` in the config file",
            flags.0
        ))
    })?;
    let cert = cert.or(defaults.1.as_deref()).ok_or_else(|| {
        usage(anyhow::anyhow!(
            "signing needs a certificate chain: `{} FILE`, or `signingCert` in the config file",
            flags.1
        ))
    })?;
    Signer::load(key, cert).with_context(|| {
        format!(
            "cannot sign with the key `{}` and the certificate chain `{}`",
            key.display(),
            cert.display()
        )
    })
}

/// The signer `--sign` asks for, or `None` without `--sign`.
pub fn signer_for(flags: &SignFlags, defaults: &SigningDefaults) -> anyhow::Result<Option<Signer>> {
    if !flags.sign {
        return Ok(None);
    }
    load_signer(
        flags.signing_key.as_deref(),
        flags.signing_cert.as_deref(),
        defaults,
        ("--signing-key", "--signing-cert"),
    )
    .map(Some)
}

/// One signature pushed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The record signed.
    pub record: Descriptor,
    /// The signature manifest's digest.
    pub signature: Digest,
}

/// Signs `record` (a manifest in `store`) and pushes the signature as its referrer.
pub async fn sign_record(
    store: &dyn Store,
    signer: &Signer,
    record: &Descriptor,
) -> anyhow::Result<Signed> {
    let signature = signer
        .sign(record, lineage_oci::time::now())
        .with_context(|| format!("cannot sign the record {}", record.digest))?;
    let config = Descriptor::empty();
    if !store.blob_exists(&config.digest).await? {
        store
            .blob_put(
                &config,
                blob::from_bytes(Bytes::from(signature.config.clone())),
            )
            .await
            .with_context(|| format!("cannot upload the empty config to {}", store.name()))?;
    }
    let layer = Descriptor::new(
        lineage_trust::JWS_MEDIA_TYPE,
        Digest::sha256(&signature.envelope),
        signature.envelope.len() as u64,
    );
    if !store.blob_exists(&layer.digest).await? {
        store
            .blob_put(&layer, blob::from_bytes(Bytes::from(signature.envelope)))
            .await
            .with_context(|| format!("cannot upload a signature envelope to {}", store.name()))?;
    }
    let manifest = RawManifest::from_bytes(
        Bytes::from(signature.manifest),
        Some(media_type::OCI_MANIFEST),
    )?;
    store.manifest_put(&manifest, None).await.with_context(|| {
        format!(
            "cannot push the signature of {} to {}",
            record.digest,
            store.name()
        )
    })?;
    Ok(Signed {
        record: record.clone(),
        signature: manifest.digest().clone(),
    })
}

/// Whether `record` has a Notary Project signature among its referrers.
async fn is_signed(store: &dyn ReadStore, record: &Digest) -> anyhow::Result<bool> {
    Ok(!store
        .referrers(record, Some(SIGNATURE_ARTIFACT_TYPE))
        .await
        .with_context(|| format!("cannot list the signatures of {record}"))?
        .is_empty())
}

/// The descriptor of the manifest `digest` in `store` (media type, digest, size).
async fn descriptor_of(store: &dyn ReadStore, digest: &Digest) -> anyhow::Result<Descriptor> {
    Ok(store
        .manifest_get(digest)
        .await
        .with_context(|| format!("cannot read the record {digest}"))?
        .descriptor())
}

/// Signs the records a write reported (`--sign`): each record pushed with its Microsoft
/// companion, and each record that already said the same but has no signature yet.
pub async fn sign_written(
    store: &dyn Store,
    signer: &Signer,
    written: &[Written],
) -> anyhow::Result<Vec<Signed>> {
    let mut out = Vec::new();
    for w in written {
        let (Written::Pushed(d) | Written::Unchanged(d) | Written::Companion(d)) = w;
        if matches!(w, Written::Unchanged(_)) && is_signed(store, d).await? {
            continue;
        }
        let record = descriptor_of(store, d).await?;
        out.push(sign_record(store, signer, &record).await?);
    }
    Ok(out)
}

/// `Signed record sha256:… (signature sha256:…) as CN=…` on stderr, per signature.
pub fn report(printer: Printer, signer: &Signer, signed: &[Signed]) {
    for s in signed {
        note!(
            printer,
            "Signed record {} (signature {}) as {}",
            s.record.digest,
            s.signature,
            signer.subject()
        );
    }
}

/// The lifecycle records of `image` (and of its platform manifests) without a signature.
async fn unsigned_records(
    store: &dyn ReadStore,
    image: &Descriptor,
    namespaces: &[Namespace],
) -> anyhow::Result<(usize, Vec<Descriptor>)> {
    let mut subjects = vec![image.digest.clone()];
    let manifest = store.manifest_get(&image.digest).await?;
    if let Ok(view) = manifest.view()
        && view.kind == ManifestKind::Index
    {
        subjects.extend(view.manifests.iter().map(|c| c.digest.clone()));
    }
    let mut found = 0;
    let mut out = Vec::new();
    for subject in subjects {
        let listing = store
            .referrers(&subject, None)
            .await
            .with_context(|| format!("cannot list the referrers of {subject}"))?;
        for r in listing {
            let is_record = r
                .artifact_type
                .as_deref()
                .is_some_and(|t| Dialect::for_artifact_type(t, namespaces).is_some());
            if !is_record {
                continue;
            }
            found += 1;
            if !is_signed(store, &r.digest).await? {
                out.push(Descriptor::new(
                    r.media_type.clone(),
                    r.digest.clone(),
                    r.size,
                ));
            }
        }
    }
    Ok((found, out))
}

/// `lineage sign REF --key FILE --cert FILE`: signs the record REF names, or every unsigned
/// lifecycle record of the image REF names; prints each signature's digest.
pub async fn run(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: SignArgs,
    defaults: &SigningDefaults,
) -> anyhow::Result<()> {
    let signer = load_signer(
        a.key.as_deref(),
        a.cert.as_deref(),
        defaults,
        ("--key", "--cert"),
    )?;
    let r: &StoreRef = &a.reference;
    let store = opener.write(r).await?;
    let target = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot sign `{r}`"))?;
    let manifest = store
        .manifest_get(&target.digest)
        .await
        .with_context(|| format!("cannot sign `{r}`"))?;
    let artifact_type = manifest
        .view()
        .ok()
        .and_then(|v| v.effective_artifact_type().map(str::to_string));
    let namespaces = std::slice::from_ref(namespace);
    let records = match artifact_type.as_deref() {
        Some(t) if Dialect::for_artifact_type(t, namespaces).is_some() => vec![target.clone()],
        Some(SIGNATURE_ARTIFACT_TYPE) => {
            return Err(usage(anyhow::anyhow!(
                "`{r}` is a signature; give the record it signs, or the image"
            )));
        }
        _ => {
            let (found, unsigned) = unsigned_records(store.as_ref(), &target, namespaces)
                .await
                .with_context(|| format!("cannot sign the records of `{r}`"))?;
            if found == 0 {
                anyhow::bail!("`{r}` has no lifecycle record to sign");
            }
            if unsigned.is_empty() {
                note!(
                    printer,
                    "Every lifecycle record of `{r}` is signed already ({found})"
                );
            }
            unsigned
        }
    };
    let mut signed = Vec::new();
    for record in &records {
        signed.push(sign_record(store.as_ref(), &signer, record).await?);
    }
    store.flush().await?;
    match a.output {
        Output::Text => {
            for s in &signed {
                outln!("{}", s.signature)?;
            }
        }
        Output::Json => crate::output::json(&json!(
            signed
                .iter()
                .map(|s| json!({
                    "record": s.record,
                    "signature": s.signature,
                    "identity": signer.subject(),
                }))
                .collect::<Vec<_>>()
        ))?,
    }
    report(printer, &signer, &signed);
    Ok(())
}
