//! Issue 14 item 4: silent, half-sent and stalled connections are closed, and connections
//! beyond the cap wait until one closes. The server runs through `lineage_server::serve`, as
//! `lineage serve` runs it, with tiny limits where a limit has to run out.

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::read_head;
use lineage_server::{ConnectionLimits, Policy, ServeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something that should happen at once; only a broken server
/// reaches it.
const DEADLINE: Duration = Duration::from_secs(20);

async fn start(limits: ConnectionLimits) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        root: dir.path().to_path_buf(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        policy: Policy::default(),
        htpasswd: None,
        tls: None,
        policy_routes: None,
        limits,
        admission_without_auth: false,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(lineage_server::serve(config, move |addr, _| {
        let _ = tx.send(addr);
    }));
    (rx.await.unwrap(), dir)
}

/// Read until the server closes the connection (a reset counts as closed); panics when
/// it is still open at the deadline.
async fn assert_closed_by_server(s: &mut TcpStream) {
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, s.read_to_end(&mut sink)).await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open (read so far: {:?})",
        String::from_utf8_lossy(&sink)
    );
}

const GET_BASE: &[u8] = b"GET /v2/ HTTP/1.1\r\nHost: registry\r\n\r\n";

#[tokio::test]
async fn a_half_sent_request_line_is_closed_after_the_header_timeout() {
    let (addr, _dir) = start(ConnectionLimits {
        header_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(3600),
        ..ConnectionLimits::default()
    })
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /v2/ HT").await.unwrap();
    assert_closed_by_server(&mut s).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let (addr, _dir) = start(ConnectionLimits {
        header_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(3600),
        ..ConnectionLimits::default()
    })
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert_closed_by_server(&mut s).await;
}

#[tokio::test]
async fn a_stalled_request_body_is_closed_after_the_idle_timeout() {
    let (addr, _dir) = start(ConnectionLimits {
        header_timeout: Duration::from_secs(3600),
        idle_timeout: Duration::from_millis(200),
        ..ConnectionLimits::default()
    })
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /v2/r/blobs/uploads/ HTTP/1.1\r\nHost: registry\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nten bytes.",
    )
    .await
    .unwrap();
    assert_closed_by_server(&mut s).await;
}

#[tokio::test]
async fn a_connection_beyond_the_cap_is_served_once_another_closes() {
    let (addr, _dir) = start(ConnectionLimits {
        max_connections: 2,
        ..ConnectionLimits::default()
    })
    .await;
    // Two kept-alive connections, each served once: both slots are taken.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(GET_BASE).await.unwrap();
        let head = read_head(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(GET_BASE).await.unwrap();
    // Not accepted, so nothing can have been answered yet.
    let mut byte = [0u8; 1];
    assert_eq!(
        third.try_read(&mut byte).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the third connection was served while two were open"
    );

    drop(held.remove(0));
    let head = tokio::time::timeout(DEADLINE, read_head(&mut third))
        .await
        .expect("the third connection is served once a slot frees");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
