//! Test images: built with umoci or buildah (real peers), written by hand into a new
//! layout without any tool, or pushed through lineage's store interface.
//!
//! The store-pushed builders ([`push_image`], [`push_index`], [`push_referrer`],
//! [`push_revision`], [`push_blob`]) live in `lineage_store::testing`, the lowest layer whose
//! unit tests need them; they are re-exported here for every other crate's tests.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Command;

use lineage_oci::{RawManifest, media_type};
pub use lineage_store::testing::{
    push_blob, push_image, push_index, push_index_of, push_referrer, push_revision,
};
use lineage_store::{LayoutStore, Store as _};
use serde_json::json;

use crate::layout::blob_path;
use crate::scratch::Scratch;
use crate::tools::{digest_of, is_root, run, tool};

/// The content the fixture images carry in `/etc/hello.txt`.
pub const HELLO: &str = "hello from the lineage interop tests\n";

/// Builds an OCI layout with umoci at `layout`, tag `tag`: `umoci init`, `new`,
/// `insert` of one file as a layer, and `config --config.label a=b`.
pub fn umoci_image(scratch: &Scratch, layout: &Path, tag: &str) {
    let src = scratch.join("umoci-src-hello.txt");
    fs::write(&src, HELLO).expect("writing the umoci source file");
    let image = format!("{}:{tag}", layout.display());
    tool(
        "umoci",
        [
            OsStr::new("init"),
            OsStr::new("--layout"),
            layout.as_os_str(),
        ],
    );
    tool("umoci", ["new", "--image", &image]);
    let mut insert = Command::new("umoci");
    insert.arg("insert");
    if !is_root() {
        insert.arg("--rootless");
    }
    insert
        .args(["--image", &image])
        .arg(&src)
        .arg("/etc/hello.txt");
    run(&mut insert);
    tool(
        "umoci",
        ["config", "--image", &image, "--config.label", "a=b"],
    );
}

/// A `buildah` command using private, vfs-backed storage under `scratch`, so
/// tests neither need nor touch the machine's container storage.
pub fn buildah(scratch: &Scratch) -> Command {
    let mut cmd = Command::new("buildah");
    cmd.arg("--root")
        .arg(scratch.join("buildah-root"))
        .arg("--runroot")
        .arg(scratch.join("buildah-runroot"))
        .args(["--storage-driver", "vfs"]);
    cmd
}

/// Builds a one-layer image in buildah's storage from scratch with a file
/// `/etc/hello-<arch>.txt`, the annotation `k=v` and architecture `arch`, and
/// commits it as OCI to `dest` (any containers-transports destination).
pub fn buildah_image(scratch: &Scratch, arch: &str, dest: &str) {
    let src = scratch.join(&format!("buildah-src-{arch}.txt"));
    fs::write(&src, HELLO).expect("writing the buildah source file");
    let ctr = String::from_utf8(run(buildah(scratch).args(["from", "scratch"])))
        .expect("container name is UTF-8")
        .trim()
        .to_owned();
    assert!(!ctr.is_empty(), "buildah from printed no container name");
    run(buildah(scratch)
        .arg("copy")
        .arg(&ctr)
        .arg(&src)
        .arg(format!("/etc/hello-{arch}.txt")));
    run(buildah(scratch).args([
        "config",
        "--annotation",
        "k=v",
        "--os",
        "linux",
        "--arch",
        arch,
        &ctr,
    ]));
    run(buildah(scratch).args(["commit", "--format", "oci", "--rm", &ctr, dest]));
}

/// A minimal ustar archive holding one regular file.
fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    fn octal(field: &mut [u8], value: u64) {
        let digits = field.len() - 1;
        let s = format!("{value:0digits$o}");
        field[..digits].copy_from_slice(s.as_bytes());
        field[digits] = 0;
    }
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut header[100..108], 0o644); // mode
    octal(&mut header[108..116], 0); // uid
    octal(&mut header[116..124], 0); // gid
    octal(&mut header[124..136], content.len() as u64); // size
    octal(&mut header[136..148], 0); // mtime
    header[156] = b'0'; // regular file
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    let chk = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(chk.as_bytes());

    let mut out = header.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.resize(out.len() + 1024, 0); // end-of-archive marker
    out
}

/// A hand-written image in a new OCI layout, built without any external tool.
pub struct HandmadeImage {
    /// Digest of the manifest.
    pub manifest_digest: String,
    /// The exact manifest bytes.
    pub manifest: Vec<u8>,
    /// Digest of the single (uncompressed tar) layer.
    pub layer_digest: String,
}

/// Writes a one-layer linux/amd64 image into a new layout at `layout`, tagged `tag`.
pub fn handmade_layout(layout: &Path, tag: &str) -> HandmadeImage {
    let write_blob = |bytes: &[u8]| -> String {
        let digest = digest_of(bytes);
        let path = blob_path(layout, &digest);
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        digest
    };
    fs::create_dir_all(layout.join("blobs").join("sha256")).expect("creating blobs/sha256");
    fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("writing oci-layout");

    let layer = tar_one_file("etc/hello.txt", HELLO.as_bytes());
    let layer_digest = write_blob(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"made-by":"lineage-interop"}}}},"rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}}}}"#
    );
    let config_digest = write_blob(config.as_bytes());
    let manifest = format!(
        r#"{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {{
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "{config_digest}",
    "size": {config_size}
  }},
  "layers": [
    {{
      "mediaType": "application/vnd.oci.image.layer.v1.tar",
      "digest": "{layer_digest}",
      "size": {layer_size}
    }}
  ],
  "annotations": {{
    "org.example.interop": "handmade"
  }}
}}
"#,
        config_size = config.len(),
        layer_size = layer.len(),
    )
    .into_bytes();
    let manifest_digest = write_blob(&manifest);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#,
        manifest.len()
    );
    fs::write(layout.join("index.json"), index).expect("writing index.json");
    HandmadeImage {
        manifest_digest,
        manifest,
        layer_digest,
    }
}

/// Small distinct images without a `created` annotation, one per tag, in the layout `dir`
/// (created when missing); the same tag always gives the same image.
pub fn build_images(dir: &Path, tags: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = LayoutStore::open_or_create(dir).unwrap();
        for tag in tags {
            let mut descs = Vec::new();
            for (mt, data) in [
                (
                    media_type::OCI_CONFIG,
                    format!(r#"{{"architecture":"amd64","os":"linux","rev":"{tag}"}}"#),
                ),
                (
                    media_type::OCI_LAYER_TAR,
                    format!("flasksample {tag}\n").repeat(32),
                ),
            ] {
                descs.push(push_blob(&s, mt, data.as_bytes()).await);
            }
            let m = RawManifest::from_canonical(
                &json!({"schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
                "config": descs[0], "layers": [descs[1]]}),
            )
            .unwrap();
            s.manifest_put(&m, Some(tag)).await.unwrap();
        }
    });
}
