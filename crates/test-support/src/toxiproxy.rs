//! Shopify's toxiproxy (`LINEAGE_TEST_TOXIPROXY`, built by `scripts/test.sh`) between
//! lineage and a registry: a TCP proxy whose faults ("toxics": resets, silence, latency,
//! slicing, cut-offs) are switched on and off through its HTTP API.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::in_ci;

/// A running toxiproxy server; stopped when dropped.
pub struct Toxiproxy {
    api: String,
    child: Child,
}

impl Drop for Toxiproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (the listener is closed before the port is used).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Toxiproxy {
    /// Start toxiproxy, or `None` after a `SKIPPED` note (a failure under CI).
    pub fn start(test: &str) -> Option<Toxiproxy> {
        let Some(bin) = std::env::var_os("LINEAGE_TEST_TOXIPROXY")
            .map(PathBuf::from)
            .filter(|p| p.is_file())
        else {
            let note = format!(
                "{test}: LINEAGE_TEST_TOXIPROXY is not set (scripts/test.sh builds toxiproxy)"
            );
            assert!(
                !in_ci(),
                "{note}; CI is set, so this is a failure rather than a skip"
            );
            eprintln!("SKIPPED {note}");
            return None;
        };
        let port = free_port();
        let child = Command::new(bin)
            .args(["-host", "127.0.0.1", "-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting toxiproxy");
        let proxy = Toxiproxy {
            api: format!("127.0.0.1:{port}"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while proxy.request("GET", "/version", None).is_err() {
            assert!(
                Instant::now() < deadline,
                "toxiproxy did not answer on {}",
                proxy.api
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(proxy)
    }

    /// One API call; the answer's status and body.
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(&self.api)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.api,
            body.len()
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) {
        let (status, answer) = self
            .request(method, path, body.as_ref())
            .unwrap_or_else(|e| panic!("toxiproxy {method} {path}: {e}"));
        assert!(
            (200..300).contains(&status),
            "toxiproxy {method} {path}: {status} {answer}"
        );
    }

    /// A proxy called `name` from a new loopback port to `upstream` (`host:port`); returns
    /// the `host:port` to use instead of the upstream.
    pub fn proxy(&self, name: &str, upstream: &str) -> String {
        let listen = format!("127.0.0.1:{}", free_port());
        self.call(
            "POST",
            "/proxies",
            Some(json!({"name": name, "listen": listen, "upstream": upstream, "enabled": true})),
        );
        listen
    }

    /// Add the toxic `kind` (`reset_peer`, `timeout`, `latency`, `slicer`, `limit_data`,
    /// `bandwidth`) with `attributes` to `proxy`'s `stream` (`upstream` or `downstream`).
    pub fn add(&self, proxy: &str, kind: &str, stream: &str, attributes: Value) {
        self.call(
            "POST",
            &format!("/proxies/{proxy}/toxics"),
            Some(
                json!({"name": kind, "type": kind, "stream": stream, "toxicity": 1.0,
                "attributes": attributes}),
            ),
        );
    }

    /// Remove the toxic `kind` from `proxy`.
    pub fn remove(&self, proxy: &str, kind: &str) {
        self.call("DELETE", &format!("/proxies/{proxy}/toxics/{kind}"), None);
    }
}
