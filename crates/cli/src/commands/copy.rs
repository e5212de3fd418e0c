//! `lineage copy SRC DST`: one graph copy between any two stores.

use std::sync::Arc;

use anyhow::Context as _;
use lineage_oci::quantity::plural;
use lineage_oci::{StoreRef, TagOrDigest};
use lineage_store::copy::{CopyOptions, CopyProgress, CopyReport, copy};
use serde_json::json;

use crate::args::Output;
use crate::error::UsageError;
use crate::open::Opener;
use crate::output::Printer;

/// What `lineage copy` was asked to do.
pub struct CopyRequest {
    /// Source reference.
    pub source: StoreRef,
    /// Destination reference.
    pub destination: StoreRef,
    /// Copy options.
    pub options: CopyOptions,
    /// Result format.
    pub output: Output,
}

/// Run the copy.
pub async fn run(opener: &Opener, printer: Printer, mut req: CopyRequest) -> anyhow::Result<()> {
    let dst_tag = destination_tag(&req.source, &req.destination)?;
    // Failures below name the store, digest and operation themselves, so each is its own
    // headline. A destination this command creates is removed again if the copy fails, so
    // a failed copy leaves nothing behind; an existing one keeps what it had.
    let src = opener.read(&req.source).await?;
    let created = req
        .destination
        .path()
        .filter(|p| !p.exists())
        .map(|p| p.to_path_buf());
    let dst = opener.write(&req.destination).await?;

    let bar = printer.bar("copying");
    if let Some(b) = &bar {
        req.options.progress = Some(b.clone() as Arc<dyn CopyProgress>);
    }
    let source_target = req.source.target();
    let result = copy(
        src.as_ref(),
        source_target.as_ref(),
        dst.as_ref(),
        dst_tag.as_deref(),
        &req.options,
    )
    .await;
    if let Some(b) = &bar {
        b.finish();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            drop(dst);
            if let Some(path) = created {
                remove_created(&path);
            }
            return Err(e.into());
        }
    };
    if let Some(TagOrDigest::Digest(want)) = req.destination.target()
        && want != report.root.digest
    {
        anyhow::bail!(UsageError(anyhow::anyhow!(
            "the destination names digest {want}, but the source is {}",
            report.root.digest
        )));
    }
    dst.flush()
        .await
        .with_context(|| format!("cannot write `{}`", req.destination))?;
    print(&req, printer, dst_tag.as_deref(), &report)
}

/// Remove a layout directory or archive file this command created.
fn remove_created(path: &std::path::Path) {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the destination of a failed copy");
    }
}

/// The tag to give the copy: the destination's, else the source's, else none.
fn destination_tag(source: &StoreRef, destination: &StoreRef) -> anyhow::Result<Option<String>> {
    Ok(match destination.written_target() {
        Some(TagOrDigest::Tag(t)) => Some(t),
        Some(TagOrDigest::Digest(_)) => None,
        None => source
            .written_target()
            .and_then(|t| t.tag().map(String::from)),
    })
}

fn print(
    req: &CopyRequest,
    printer: Printer,
    tag: Option<&str>,
    report: &CopyReport,
) -> anyhow::Result<()> {
    match req.output {
        Output::Json => {
            let value = json!({
                "source": req.source.to_string(),
                "destination": req.destination.to_string(),
                "tag": tag,
                "digest": report.root.digest.to_string(),
                "mediaType": report.root.media_type,
                "size": report.root.size,
                "manifestsCopied": report.manifests_copied,
                "manifestsSkipped": report.manifests_skipped,
                "blobsCopied": report.blobs_copied,
                "blobsSkipped": report.blobs_skipped,
                "bytesCopied": report.bytes_copied,
                "referrers": report.referrers,
                "referrersLeftOut": report.referrers_left_out,
            });
            crate::output::json(&value)?;
        }
        Output::Text => outln!("{}", report.root.digest)?,
    }
    note!(
        printer,
        "Copied `{}` to `{}` ({}, {}, {}; {} already present{})",
        req.source,
        req.destination,
        plural(report.manifests_copied, "manifest"),
        plural(report.blobs_copied, "blob"),
        human_bytes(report.bytes_copied),
        report.manifests_skipped + report.blobs_skipped,
        match (req.options.referrers, report.referrers_left_out) {
            (false, _) => String::new(),
            (true, 0) => format!(", {}", plural(report.referrers, "referrer")),
            (true, out) => format!(
                ", {}, {out} left out by scope",
                plural(report.referrers, "referrer")
            ),
        }
    );
    Ok(())
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> StoreRef {
        StoreRef::parse(s).unwrap()
    }

    #[test]
    fn picks_the_destination_tag() {
        assert_eq!(
            destination_tag(&r("oci:a:v1"), &r("oci:b:v2"))
                .unwrap()
                .as_deref(),
            Some("v2")
        );
        assert_eq!(
            destination_tag(&r("oci:a:v1"), &r("oci:b"))
                .unwrap()
                .as_deref(),
            Some("v1")
        );
        let d = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(
            destination_tag(&r(&format!("oci:a@{d}")), &r("oci:b")).unwrap(),
            None
        );
        assert_eq!(destination_tag(&r("oci:a"), &r("oci:b")).unwrap(), None);
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
