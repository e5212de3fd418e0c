//! `lineage attach REF --artifact-type T [--annotation K=V]… [FILE[:MEDIATYPE]]…`: push an
//! artifact whose `subject` is REF, packed as `oras attach` packs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures_util::StreamExt;
use lineage_oci::artifact::{self, ANNOTATION_CREATED, ANNOTATION_TITLE};
use lineage_oci::{Descriptor, Digest, StoreRef, media_type};
use lineage_store::{Store, StoreError, blob};
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::args::Output;
use crate::commands::resolve_target;
use crate::error::UsageError;
use crate::open::Opener;

/// What `lineage attach` was asked to do.
pub struct AttachRequest {
    /// The subject.
    pub reference: StoreRef,
    /// The artifact type.
    pub artifact_type: String,
    /// `KEY=VALUE` annotations.
    pub annotations: Vec<String>,
    /// `FILE[:MEDIATYPE]` arguments.
    pub files: Vec<String>,
    /// Result format.
    pub output: Output,
}

/// A file argument: path and media type.
fn parse_file(arg: &str) -> (PathBuf, String) {
    // As oras does, the last `:` separates a media type (which always has a `/`), unless the
    // whole argument names an existing file.
    if Path::new(arg).exists() {
        return (PathBuf::from(arg), media_type::OCI_LAYER_TAR.to_string());
    }
    if let Some((path, mt)) = arg.rsplit_once(':')
        && mt.contains('/')
        && !path.is_empty()
    {
        return (PathBuf::from(path), mt.to_string());
    }
    (PathBuf::from(arg), media_type::OCI_LAYER_TAR.to_string())
}

/// `KEY=VALUE` pairs into a map.
pub fn parse_annotations(args: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            anyhow::bail!(UsageError(anyhow::anyhow!(
                "annotation `{a}` is not KEY=VALUE"
            )));
        };
        if k.is_empty() {
            anyhow::bail!(UsageError(anyhow::anyhow!(
                "annotation `{a}` has an empty key"
            )));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// Hash a file without holding it in memory.
async fn describe(path: &Path, media_type: &str) -> anyhow::Result<Descriptor> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut hasher = lineage_oci::Algorithm::Sha256.hasher();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let mut d = Descriptor::new(media_type, hasher.finish(), size);
    let title = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    d.set_annotation(ANNOTATION_TITLE, title);
    Ok(d)
}

async fn upload(store: &dyn Store, path: &Path, desc: &Descriptor) -> anyhow::Result<()> {
    if store.blob_exists(&desc.digest).await? {
        return Ok(());
    }
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    let shown = path.to_path_buf();
    let stream = tokio_util::io::ReaderStream::new(file)
        .map(move |r| r.map_err(|e| StoreError::io("read", shown.clone(), e)))
        .boxed();
    // The file may change between hashing and upload; verify what is sent.
    let stream = blob::verified(stream, desc, &path.display().to_string());
    store
        .blob_put(desc, stream)
        .await
        .with_context(|| format!("cannot upload `{}` to {}", path.display(), store.name()))
}

/// Push the artifact and print its digest.
pub async fn run(opener: &Opener, req: AttachRequest) -> anyhow::Result<()> {
    let mut annotations = parse_annotations(&req.annotations)?;
    let files: Vec<(PathBuf, String)> = req.files.iter().map(|f| parse_file(f)).collect();
    let store = opener.write(&req.reference).await?;
    let subject = resolve_target(store.as_ref(), &req.reference)
        .await
        .with_context(|| format!("cannot attach to `{}`", req.reference))?;

    let mut layers = Vec::new();
    for (path, mt) in &files {
        let desc = describe(path, mt).await?;
        upload(store.as_ref(), path, &desc).await?;
        layers.push(desc);
    }
    let empty = Descriptor::empty();
    if !store.blob_exists(&empty.digest).await? {
        store
            .blob_put(
                &empty,
                blob::from_bytes(bytes::Bytes::from_static(
                    lineage_oci::descriptor::EMPTY_JSON,
                )),
            )
            .await
            .with_context(|| format!("cannot upload the empty config to {}", store.name()))?;
    }
    annotations
        .entry(ANNOTATION_CREATED.to_string())
        .or_insert_with(|| lineage_oci::time::format_rfc3339(&lineage_oci::time::now()));
    let manifest = artifact::manifest(&req.artifact_type, &subject, &layers, &annotations)?;
    store
        .manifest_put(&manifest, None)
        .await
        .with_context(|| format!("cannot push the artifact to {}", store.name()))?;
    store.flush().await?;
    print(&req, &subject.digest, &manifest.descriptor())
}

fn print(req: &AttachRequest, subject: &Digest, desc: &Descriptor) -> anyhow::Result<()> {
    match req.output {
        Output::Text => outln!("{}", desc.digest)?,
        Output::Json => crate::output::json(&json!({
            "reference": req.reference.with_target(Some(lineage_oci::TagOrDigest::Digest(desc.digest.clone()))).to_string(),
            "mediaType": desc.media_type,
            "digest": desc.digest,
            "size": desc.size,
            "artifactType": req.artifact_type,
            "subject": subject,
        }))?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_arguments() {
        assert_eq!(
            parse_file("sbom.json:application/spdx+json"),
            (PathBuf::from("sbom.json"), "application/spdx+json".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a:text/plain");
        std::fs::create_dir_all(odd.parent().unwrap()).unwrap();
        std::fs::write(&odd, b"x").unwrap();
        let arg = odd.display().to_string();
        assert_eq!(
            parse_file(&arg),
            (odd.clone(), media_type::OCI_LAYER_TAR.into())
        );
        assert_eq!(parse_file("missing:text/plain").1, "text/plain");
        assert_eq!(
            parse_file("plain"),
            (PathBuf::from("plain"), media_type::OCI_LAYER_TAR.into())
        );
    }

    #[test]
    fn annotation_arguments() {
        let m = parse_annotations(&["a=1".into(), "b=x=y".into(), "c=".into()]).unwrap();
        assert_eq!(m["b"], "x=y");
        assert_eq!(m["c"], "");
        assert!(parse_annotations(&["novalue".into()]).is_err());
        assert!(parse_annotations(&["=v".into()]).is_err());
    }
}
