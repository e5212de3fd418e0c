//! A `lineage serve` registry in this process, on a free loopback port, with a clock the test
//! moves, and the few raw HTTP/1.1 steps reqwest cannot take (`Expect: 100-continue`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lineage_server::registry::Clock;
use lineage_server::{Policy, Registry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A clock that stands still until the test moves it.
pub struct TestClock {
    start: Instant,
    secs: AtomicU64,
}

impl TestClock {
    /// Move the clock `secs` seconds on.
    pub fn advance(&self, secs: u64) {
        self.secs.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.start + Duration::from_secs(self.secs.load(Ordering::SeqCst))
    }
}

/// A running registry.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    /// The registry's root.
    pub root: PathBuf,
    /// The registry's clock.
    pub clock: Arc<TestClock>,
    /// A client for it.
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Start a registry with `policy` in a fresh root.
    pub async fn start(policy: Policy) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(TestClock {
            start: Instant::now(),
            secs: AtomicU64::new(0),
        });
        let registry = Registry::open(dir.path(), policy)
            .await
            .unwrap()
            .with_clock(clock.clone());
        let root = registry.root().to_path_buf();
        let app = lineage_server::app(Arc::new(registry), None, None, false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            base: format!("http://{addr}"),
            addr,
            root,
            clock,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST a new upload session to `repo`; its `Location` path.
    pub async fn open_upload(&self, repo: &str) -> String {
        let r = self
            .client
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        r.headers()["location"].to_str().unwrap().to_string()
    }

    /// Push `data` as a blob of `repo` in one POST.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> lineage_oci::Digest {
        let digest = lineage_oci::Digest::sha256(data);
        let r = self
            .client
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        digest
    }

    /// The file of blob `digest` in `repo`.
    pub fn blob_file(&self, repo: &str, digest: &lineage_oci::Digest) -> PathBuf {
        self.root
            .join(repo)
            .join("blobs/sha256")
            .join(digest.encoded())
    }

    /// The files of upload sessions.
    pub fn upload_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.root.join(".lineage-uploads"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    /// Open a connection and send a request head with `Expect: 100-continue`.
    pub async fn raw_head(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> TcpStream {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nexpect: 100-continue\r\n",
            self.addr
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s
    }
}

/// Read one response head (through its blank line) from `s`.
pub async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "the connection closed inside a response head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// The first error code of an error response.
pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    (
        status,
        body["errors"][0]["code"].as_str().unwrap_or("").to_string(),
    )
}
