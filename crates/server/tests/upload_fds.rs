#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 14 item 5: open upload sessions hold no file descriptors, so abandoned uploads
//! cannot exhaust them. A test binary of its own because it counts the whole process's
//! descriptors, which other tests running beside it would change.

#[path = "it/support/mod.rs"]
mod support;

use lineage_server::Policy;
use support::Server;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_upload_sessions_hold_no_file_descriptors() {
    let server = Server::start(Policy::default()).await;
    // One session first, so the client's connection is open before counting.
    let mut sessions = vec![server.open_upload("r").await];
    let before = open_fds();
    for _ in 0..50 {
        sessions.push(server.open_upload("r").await);
    }
    let after = open_fds();
    assert!(
        after < before + 10,
        "50 idle sessions hold {} more descriptors ({before} → {after})",
        after.saturating_sub(before)
    );
    assert_eq!(server.upload_files().len(), 51);
    // And they are all still usable.
    let r = server
        .client
        .get(server.url(&sessions[50]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}
