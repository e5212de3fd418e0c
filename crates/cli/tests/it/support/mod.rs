//! Helpers for the interop tests: finding the external tools, running them and
//! the `lineage` binary, building fixture images, and checking OCI layouts.
//!
//! Everything here panics with a descriptive message on failure; these are test
//! helpers, and a panic is how a test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The ORAS CLI and crane's registry, built by `scripts/test.sh`.
pub mod peers;
/// Helpers for the tests against real registries (`tests/it/registry.rs`).
pub mod registry;

/// Media types the layout walker follows into.
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Whether the tests run under CI, where a missing tool is a failure, not a skip.
///
/// `CI` counts as set when it is non-empty and not `false` or `0`.
pub fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v.eq_ignore_ascii_case("false") || v == "0"),
        Err(_) => false,
    }
}

/// The full path of an executable called `name` on `PATH`, if any.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Checks that every tool in `tools` is on `PATH`.
///
/// Returns `false` after printing a skip note when one is missing, so the test
/// can `return` early; under CI (see [`in_ci`]) a missing tool fails the test.
#[must_use]
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| on_path(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let note = format!(
        "{test}: required tool(s) not on PATH: {} (scripts/test.sh installs them)",
        missing.join(", ")
    );
    if in_ci() {
        panic!("{note}; CI is set, so this is a failure rather than a skip");
    }
    eprintln!("SKIPPED {note}");
    false
}

/// Whether this process runs as root (umoci and buildah need `--rootless`
/// style options otherwise).
pub fn is_root() -> bool {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .expect("running `id -u`");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion with stdin closed and returns its output,
/// whatever its exit status.
pub fn output(cmd: &mut Command) -> Output {
    let what = describe(cmd);
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not start `{what}`: {e}"))
}

/// Runs `cmd`, panics with its stdout and stderr unless it exits 0, and
/// returns its stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let what = describe(cmd);
    let out = output(cmd);
    assert!(
        out.status.success(),
        "`{what}` failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    out.stdout
}

/// Runs `program` with `args`; see [`run`].
pub fn tool<I, S>(program: &str, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(program).args(args))
}

/// `oci:PATH:TAG`.
pub fn oci(path: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", path.display())
}

/// `oci-archive:PATH:TAG`.
pub fn oci_archive(path: &Path, tag: &str) -> String {
    format!("oci-archive:{}:{tag}", path.display())
}

/// The exact manifest (or index) bytes skopeo reads for `reference`.
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    tool("skopeo", ["inspect", "--raw", reference])
}

/// A `lineage` command for the binary under test, run in `cwd` so that nothing
/// it might create lands in the source tree.
pub fn lineage(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("lineage").expect("the `lineage` binary is built");
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    cmd
}

/// The result of a `lineage` run, with its output as text.
pub struct Run {
    /// What was run, for messages.
    pub what: String,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Stderr, lossily decoded.
    pub stderr: String,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "`{}` exited with {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.code,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }

    /// Panics unless the run exited 0.
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success: {}", self.context());
        self
    }

    /// Stdout as trimmed UTF-8 text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone())
            .unwrap_or_else(|_| panic!("stdout is not UTF-8: {}", self.context()))
            .trim()
            .to_owned()
    }

    /// Asserts a clean failure: exit code 1 or 2, no panic message anywhere,
    /// and exactly one `error: ` headline line on stderr, which it returns.
    pub fn clean_failure(&self) -> String {
        assert!(
            matches!(self.code, Some(1 | 2)),
            "expected exit code 1 or 2: {}",
            self.context()
        );
        let stdout = String::from_utf8_lossy(&self.stdout);
        assert!(
            !self.stderr.contains("panicked") && !stdout.contains("panicked"),
            "lineage panicked: {}",
            self.context()
        );
        let headlines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(
            headlines.len(),
            1,
            "expected exactly one `error: ` headline on stderr: {}",
            self.context()
        );
        let headline = headlines[0];
        assert!(
            headline.len() > "error: ".len(),
            "empty error headline: {}",
            self.context()
        );
        headline.to_owned()
    }

    /// Like [`Run::clean_failure`], and the headline must contain `needle`.
    pub fn fails_naming(&self, needle: &str) {
        let headline = self.clean_failure();
        assert!(
            headline.contains(needle),
            "the error headline does not name `{needle}`: {headline}\n{}",
            self.context()
        );
    }
}

/// Runs `lineage ARGS` in `cwd` and captures the result.
pub fn lineage_run(cwd: &Path, args: &[&str]) -> Run {
    let out = lineage(cwd).args(args).output().expect("running lineage");
    Run {
        what: format!("lineage {}", args.join(" ")),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `lineage ARGS` in `cwd` and panics unless it succeeds.
pub fn lineage_ok(cwd: &Path, args: &[&str]) -> Run {
    lineage_run(cwd, args).success()
}

/// Lowercase hex SHA-256 of `bytes`, computed by coreutils' `sha256sum` so the
/// check does not share code with lineage.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running sha256sum");
    child
        .stdin
        .take()
        .expect("sha256sum stdin")
        .write_all(bytes)
        .expect("writing to sha256sum");
    let out = child.wait_with_output().expect("waiting for sha256sum");
    assert!(out.status.success(), "sha256sum failed");
    parse_sha256sum(&out.stdout)
}

/// Lowercase hex SHA-256 of the file at `path`.
pub fn sha256_file(path: &Path) -> String {
    parse_sha256sum(&tool("sha256sum", [path]))
}

fn parse_sha256sum(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let hex = text.split_whitespace().next().unwrap_or_default();
    assert_eq!(hex.len(), 64, "unexpected sha256sum output: {text}");
    hex.to_owned()
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// The path of the blob `digest` (`sha256:<hex>`) inside `layout`.
pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest
        .split_once(':')
        .unwrap_or_else(|| panic!("not a digest: {digest}"));
    layout.join("blobs").join(alg).join(hex)
}

/// The bytes of blob `digest` in `layout`.
pub fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    let path = blob_path(layout, digest);
    fs::read(&path).unwrap_or_else(|e| panic!("reading blob {}: {e}", path.display()))
}

/// Parses JSON, panicking with `what` in the message.
pub fn json(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// The descriptor in `layout`'s `index.json` whose
/// `org.opencontainers.image.ref.name` is `tag`.
pub fn tagged(layout: &Path, tag: &str) -> Value {
    let index_path = layout.join("index.json");
    let bytes =
        fs::read(&index_path).unwrap_or_else(|e| panic!("reading {}: {e}", index_path.display()));
    let index = json(&bytes, &index_path.display().to_string());
    let found: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no manifests array", index_path.display()))
        .iter()
        .filter(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{} should name tag {tag} exactly once: {index}",
        index_path.display()
    );
    found[0].clone()
}

/// The digest `tag` points to in `layout`.
pub fn tagged_digest(layout: &Path, tag: &str) -> String {
    let desc = tagged(layout, tag);
    desc["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("descriptor without digest: {desc}"))
        .to_owned()
}

/// Every digest reachable from the manifest or index `root` in `layout`: `root`
/// itself, the child manifests of indexes, and every manifest's config and
/// layers. A `subject` is not followed: it points back at other content.
pub fn reachable(layout: &Path, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([root.to_owned()]);
    while let Some(digest) = queue.pop_front() {
        if !seen.insert(digest.clone()) {
            continue;
        }
        let doc = json(&read_blob(layout, &digest), &digest);
        let is_index = doc["manifests"].is_array()
            || doc["mediaType"]
                .as_str()
                .is_some_and(|m| INDEX_TYPES.contains(&m));
        if is_index {
            for child in doc["manifests"].as_array().into_iter().flatten() {
                queue.push_back(descriptor_digest(child));
            }
        } else {
            let config = &doc["config"];
            assert!(config.is_object(), "manifest {digest} has no config: {doc}");
            seen.insert(descriptor_digest(config));
            for layer in doc["layers"].as_array().into_iter().flatten() {
                seen.insert(descriptor_digest(layer));
            }
        }
    }
    seen
}

fn descriptor_digest(desc: &Value) -> String {
    desc["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("descriptor without digest: {desc}"))
        .to_owned()
}

/// Asserts that `layout` is a well-formed image layout on disk: an `oci-layout`
/// file with `imageLayoutVersion`, a JSON `index.json`, and at least one blob,
/// where every file under `blobs/sha256` hashes to its own name.
pub fn assert_layout_integrity(layout: &Path) {
    let marker = layout.join("oci-layout");
    let marker_json = json(
        &fs::read(&marker).unwrap_or_else(|e| panic!("reading {}: {e}", marker.display())),
        &marker.display().to_string(),
    );
    assert!(
        marker_json["imageLayoutVersion"].is_string(),
        "{} lacks imageLayoutVersion: {marker_json}",
        marker.display()
    );
    let index = layout.join("index.json");
    json(
        &fs::read(&index).unwrap_or_else(|e| panic!("reading {}: {e}", index.display())),
        &index.display().to_string(),
    );
    let dir = layout.join("blobs").join("sha256");
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        assert!(path.is_file(), "{} is not a regular file", path.display());
        let name = path
            .file_name()
            .and_then(OsStr::to_str)
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            sha256_file(&path),
            name,
            "blob {} does not hash to its name",
            path.display()
        );
        count += 1;
    }
    assert!(count > 0, "{} holds no blobs", dir.display());
}

/// Asserts that every digest in `digests` is a blob file in `layout` whose
/// content hashes to that digest.
pub fn assert_has_blobs(layout: &Path, digests: &BTreeSet<String>) {
    for digest in digests {
        let path = blob_path(layout, digest);
        assert!(
            path.is_file(),
            "{} is missing blob {digest} (expected {})",
            layout.display(),
            path.display()
        );
        assert_eq!(
            format!("sha256:{}", sha256_file(&path)),
            *digest,
            "blob {} has the wrong content",
            path.display()
        );
    }
}

/// A scratch directory (canonical path, removed on drop) for one test.
pub struct Scratch {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Scratch {
    /// A new scratch directory.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("lineage-interop-")
            .tempdir()
            .expect("creating a temporary directory");
        let path = fs::canonicalize(dir.path()).expect("canonicalizing the temp dir");
        Self { dir, path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

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

/// Asserts two byte strings are equal, showing them as text when they differ.
#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got == want,
        "{what}: bytes differ\n--- got ({} bytes)\n{}\n--- want ({} bytes)\n{}",
        got.len(),
        String::from_utf8_lossy(got),
        want.len(),
        String::from_utf8_lossy(want),
    );
}
/// An HTTP fault proxy: injected 429s, 5xxs and answers cut short.
pub mod faults;
/// The lifecycle scenario in a registry (`tests/it/policy.rs` and the integrations' tests).
pub mod scenario;
pub mod serve;
/// Throw-away CA and server certificates (openssl).
pub mod tls;
/// Toxiproxy between lineage and a registry, for the fault tests.
pub mod toxiproxy;

/// `text` with what changes from run to run replaced, for snapshots: `host` (a test
/// registry's `127.0.0.1:PORT`) by `HOST`, and every `sha256:` digest by `sha256:DIGEST`.
pub fn redacted(text: &str, host: &str) -> String {
    let text = text.replace(host, "HOST");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("sha256:") {
        let hex = &rest[at + 7..];
        let len = hex.chars().take_while(char::is_ascii_hexdigit).count();
        out.push_str(&rest[..at]);
        if len == 64 {
            out.push_str("sha256:DIGEST");
            rest = &hex[64..];
        } else {
            out.push_str("sha256:");
            rest = hex;
        }
    }
    out.push_str(rest);
    out
}
