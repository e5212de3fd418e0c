//! Running `lineage serve` for a test: on a free port, in a scratch root, killed on drop.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `lineage serve`.
pub struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// The root directory.
    pub root: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Start `lineage serve --root ROOT --addr 127.0.0.1:0 EXTRA…` and wait for the line that
    /// says where it listens.
    pub fn start(root: &Path, extra: &[&str]) -> Serve {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("lineage"));
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--root"])
            .arg(root)
            .args(extra);
        Serve::spawn(command, root, "lineage serve")
    }

    /// Start `lineage SUBCOMMAND ARGS…`, a server that prints the same `listening on` line as
    /// `lineage serve` (such as `lineage webhook --addr 127.0.0.1:0`), and wait for that line.
    /// Its [`Serve::root`] is empty.
    pub fn start_command(subcommand: &str, args: &[&str]) -> Serve {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("lineage"));
        command.arg(subcommand).args(args);
        Serve::spawn(command, Path::new(""), &format!("lineage {subcommand}"))
    }

    fn spawn(mut command: Command, root: &Path, what: &str) -> Serve {
        let mut child = command
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let host = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let url = rest.split_whitespace().next().unwrap_or("");
                        break url
                            .trim_start_matches("http://")
                            .trim_start_matches("https://")
                            .to_string();
                    }
                    seen.push(line);
                }
                _ => {
                    let _ = child.kill();
                    panic!("{what} exited before listening:\n{}", seen.join("\n"));
                }
            }
        };
        // Keep draining the access log so the server never blocks on a full pipe, and keep
        // it for tests that count requests.
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(mut l) = sink.lock() {
                    l.push(line);
                }
            }
        });
        Serve {
            child,
            host,
            root: root.to_path_buf(),
            log,
        }
    }

    /// `host/repo` + suffix.
    pub fn reference(&self, repo: &str, suffix: &str) -> String {
        format!("{}/{repo}{suffix}", self.host)
    }

    /// The access-log lines (one per request) so far.
    pub fn requests(&self) -> Vec<String> {
        self.log
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|x| x.contains(" request ") && x.contains("method="))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Send `GET /v2/LABEL/tags/list` and wait until the access log has its line; returns
    /// that line's index in [`Serve::requests`]. Every request the server answered before it
    /// is then in the log too, so two marks delimit exactly the requests made between them.
    pub fn mark(&self, label: &str) -> usize {
        let path = format!("/v2/{label}/tags/list");
        let mut stream = TcpStream::connect(&self.host)
            .unwrap_or_else(|e| panic!("connecting to {} for a marker: {e}", self.host));
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host
        )
        .unwrap_or_else(|e| panic!("sending the marker {path}: {e}"));
        let _ = stream.read_to_end(&mut Vec::new());
        let needle = format!("path={path} ");
        // The test's patience, not a timing assertion: a hung server fails the test.
        let patience = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(i) = self.requests().iter().position(|l| l.contains(&needle)) {
                return i;
            }
            assert!(
                Instant::now() < patience,
                "the marker request {path} never reached the access log: {:#?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every line the server printed on stderr after its `listening on` line.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stop the server with SIGTERM, as an operator would, and wait (a minute at most) for
    /// it to exit; its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        crate::run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        // The test's patience, not a timing assertion: a server that ignores SIGTERM fails.
        let patience = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for lineage serve") {
                return status;
            }
            assert!(
                Instant::now() < patience,
                "lineage serve did not exit within a minute of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill the server with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
