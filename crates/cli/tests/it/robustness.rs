//! Issue 22: how `lineage` behaves at the edges of a run — a reader that goes away
//! (`| head`), Ctrl-C in the middle of a copy, and the modes of the files it leaves.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Scratch, digest_of, handmade_layout, lineage_ok};

const TEMP_PREFIX: &str = ".lineage-tmp-";

fn lineage_command(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lineage"));
    c.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    c
}

/// Run `lineage ARGS` with stdout a pipe whose reader is already closed, so that every write
/// to stdout fails with a broken pipe; returns the exit code and stderr.
fn with_closed_stdout(cwd: &Path, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = lineage_command(cwd)
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn assert_quiet_success(args: &[&str], (code, stderr): (Option<i32>, String)) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "`lineage {}` into a closed pipe: {stderr}",
        args.join(" ")
    );
    assert_eq!(
        code,
        Some(0),
        "`lineage {}` into a closed pipe: {stderr}",
        args.join(" ")
    );
}

// Item 6: `status … | true`, `resolve`, `history`, `latest`, `attach` panicked with "failed
// printing to stdout: Broken pipe" (exit 101).
#[test]
fn commands_end_quietly_when_stdout_is_closed() {
    let s = Scratch::new();
    handmade_layout(&s.join("app"), "1.0");
    let image = format!("oci:{}:1.0", s.join("app").display());
    let repo = format!("oci:{}", s.join("app").display());
    // A record, so that the lifecycle commands have something to print.
    lineage_ok(s.path(), &["retire", &image, "--at", "2030-01-01"]);
    fs::write(s.join("sbom.json"), b"{}").unwrap();
    let sbom = s.join("sbom.json").display().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["status", &image],
        vec!["status", "--output", "json", &image],
        vec!["history", &repo],
        vec!["resolve", &image],
        vec!["tags", &repo],
        vec!["manifest", &image],
        vec!["discover", &image],
        vec![
            "attach",
            &image,
            "--artifact-type",
            "application/x.sbom",
            &sbom,
        ],
    ];
    for args in &runs {
        assert_quiet_success(args, with_closed_stdout(s.path(), args));
    }
    // `latest` has no supported revision to print here; it must fail cleanly, not panic.
    let (code, stderr) = with_closed_stdout(s.path(), &["latest", &image]);
    assert!(
        matches!(code, Some(0 | 1)) && !stderr.contains("panicked"),
        "{code:?}: {stderr}"
    );
}

// Item 6: `lineage demo | head -3` panicked.
#[test]
fn demo_ends_quietly_when_stdout_is_closed() {
    let s = Scratch::new();
    assert_quiet_success(&["demo"], with_closed_stdout(s.path(), &["demo"]));
}

/// Every entry named like a lineage temporary file under `dir`, at any depth.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(temporaries(&path));
        }
    }
    found
}

/// A layout whose one layer is a named pipe, declared far larger than what the test feeds
/// it: a copy from it blocks mid-blob, with its temporary file in place, for as long as the
/// test wants.
fn layout_with_a_fifo_layer(layout: &Path) -> PathBuf {
    let blobs = layout.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let put = |bytes: &[u8]| {
        let digest = digest_of(bytes);
        fs::write(blobs.join(&digest["sha256:".len()..]), bytes).unwrap();
        digest
    };
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = put(config);
    let layer_digest = digest_of(b"a layer that never arrives in full");
    let fifo = blobs.join(&layer_digest["sha256:".len()..]);
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{FIFO_LAYER_SIZE}}}]}}"#,
        config.len()
    );
    let manifest_digest = put(manifest.as_bytes());
    fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"v1"}}}}]}}"#,
            manifest.len()
        ),
    )
    .unwrap();
    fifo
}

/// The size the FIFO layer declares; the feeder never writes this much.
const FIFO_LAYER_SIZE: u64 = 1 << 30;

/// Feed the FIFO: one chunk at once (the copy reads it and waits for more), the rest once
/// `go` says so, until the reader has gone. Never the whole declared size, so the copy
/// cannot finish on its own.
fn feed(fifo: PathBuf, go: std::sync::mpsc::Receiver<()>) {
    std::thread::spawn(move || {
        // Blocks until lineage opens the blob.
        let Ok(mut pipe) = fs::OpenOptions::new().write(true).open(&fifo) else {
            return;
        };
        let chunk = vec![0u8; 64 * 1024];
        if pipe.write_all(&chunk).is_err() || go.recv().is_err() {
            return;
        }
        // Enough to unblock the read in flight, bounded in case lineage ignores the signal.
        for _ in 0..(256 * 1024 * 1024 / chunk.len()) {
            if pipe.write_all(&chunk).is_err() {
                return;
            }
        }
    });
}

/// Copy from a layout whose layer never completes into `destination`, send SIGINT once a
/// temporary file has appeared under `watched`, and check the interrupted run.
fn interrupt_a_copy(s: &Scratch, destination: &str, watched: &Path) {
    let fifo = layout_with_a_fifo_layer(&s.join("src"));
    let (go, went) = std::sync::mpsc::channel();
    feed(fifo, went);
    let source = format!("oci:{}:v1", s.join("src").display());
    let mut child = lineage_command(s.path())
        .args(["copy", &source, destination])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    while temporaries(watched).iter().all(|p| !p.is_file()) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the copy ended before it was interrupted: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "no temporary file appeared under {}",
            watched.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    go.send(()).unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the copy did not end after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.lines().any(|l| l == "interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let left = temporaries(s.path());
    assert!(left.is_empty(), "left behind: {left:?}");
}

// Item 7: Ctrl-C during `copy` left `.lineage-tmp-*` files in the layout.
#[test]
fn an_interrupted_copy_into_a_layout_leaves_no_temporaries() {
    let s = Scratch::new();
    let dst = s.join("dst");
    interrupt_a_copy(&s, &format!("oci:{}:v1", dst.display()), &dst);
}

// Item 7: Ctrl-C during `copy` left the archive's staging directory beside it.
#[test]
fn an_interrupted_copy_into_an_archive_leaves_no_temporaries() {
    let s = Scratch::new();
    fs::create_dir(s.join("out")).unwrap();
    let tar = s.join("out").join("app.tar");
    interrupt_a_copy(
        &s,
        &format!("oci-archive:{}:v1", tar.display()),
        &s.join("out"),
    );
    assert!(!tar.exists(), "an interrupted copy wrote the archive");
}

/// The process umask, from `/proc/self/status`.
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
}

#[track_caller]
fn assert_modes(dir: &Path, umask: u32) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o777 } else { 0o666 } & !umask;
        assert_eq!(
            mode,
            want,
            "{} is {mode:o}, not {want:o} (umask {umask:o})",
            entry.path().display()
        );
        if meta.is_dir() {
            assert_modes(&entry.path(), umask);
        }
    }
}

// Item 8: `-rw------- app.tar` and `index.json` whatever the umask.
#[test]
fn copies_are_readable_as_the_umask_allows() {
    let s = Scratch::new();
    handmade_layout(&s.join("src"), "v1");
    let source = format!("oci:{}:v1", s.join("src").display());
    fs::create_dir(s.join("out")).unwrap();
    let layout = s.join("out").join("layout");
    let tar = s.join("out").join("app.tar");
    lineage_ok(
        s.path(),
        &["copy", &source, &format!("oci:{}:v1", layout.display())],
    );
    lineage_ok(
        s.path(),
        &[
            "copy",
            &source,
            &format!("oci-archive:{}:v1", tar.display()),
        ],
    );
    assert!(layout.join("index.json").is_file() && tar.is_file());
    let umask = umask();
    // With the usual umask (022) these are 0644 and 0755.
    assert_modes(&s.join("out"), umask);
}

mod help {
    //! The help a new user reads: global options under their own heading, examples that
    //! paste (no line wrapped mid-command), every command in the README's table. The texts
    //! are snapshots (`tests/snapshots/`): a change to one is a change to review.

    use std::path::Path;

    use super::lineage_command;

    /// The subcommands `lineage --help` lists.
    fn commands() -> Vec<String> {
        let out = lineage_command(Path::new("."))
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            // A command's line; deeper indents continue a wrapped description.
            .filter(|l| !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(String::from)
            .collect()
    }

    fn help(args: &[&str]) -> String {
        let out = lineage_command(Path::new("."))
            .args(args)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?} --help failed");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn help_texts() {
        let commands = commands();
        assert!(commands.len() >= 20, "{commands:?}");
        insta::assert_snapshot!("lineage", help(&[]));
        for command in &commands {
            let text = help(&[command]);
            // Global options stand apart from the command's own.
            let global_flag = text
                .match_indices("--plain-http")
                .map(|(i, _)| i)
                .find(|i| !text[i + "--plain-http".len()..].starts_with('-'));
            if let Some(at) = global_flag {
                let global = text.find("Global options:").unwrap_or(usize::MAX);
                assert!(at > global, "{command}: {text}");
            }
            // An example line is a command or its continuation, never cut mid-word.
            if let Some(examples) = text.split("Example").nth(1) {
                for line in examples.lines().skip(1).filter(|l| !l.trim().is_empty()) {
                    assert!(line.len() <= 80, "{command}: example line too long: {line}");
                }
            }
            insta::assert_snapshot!(format!("lineage-{command}"), text);
        }
    }

    /// Every long option of every command is documented: in the README's command table, or
    /// for the policy routes' settings in docs/policy.md or docs/security.md.
    #[test]
    fn every_option_is_documented() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let docs: String = ["README.md", "docs/policy.md", "docs/security.md"]
            .iter()
            .map(|f| std::fs::read_to_string(root.join(f)).unwrap())
            .collect();
        let mut missing = Vec::new();
        for command in commands() {
            let text = help(&[&command]);
            let own = text.split("Global options:").next().unwrap_or_default();
            for line in own.lines() {
                let Some(flag) = line
                    .split_whitespace()
                    .find(|w| w.starts_with("--"))
                    .map(|w| w.trim_end_matches(',').to_string())
                else {
                    continue;
                };
                // Options are listed at the start of a line; descriptions mention others.
                if !line.trim_start().starts_with('-') || flag == "--help" {
                    continue;
                }
                if !docs.contains(&flag) {
                    missing.push(format!("{command} {flag}"));
                }
            }
        }
        assert!(missing.is_empty(), "undocumented options: {missing:?}");
    }

    #[test]
    fn every_command_is_in_the_readme() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
                .unwrap();
        let missing: Vec<String> = commands()
            .into_iter()
            .filter(|c| !readme.contains(&format!("`lineage {c}")))
            .collect();
        assert!(
            missing.is_empty(),
            "README's command table lacks {missing:?}"
        );
    }
}
