//! The table of upload sessions: each session a small state machine (open, then closed for
//! good) behind its own lock, with an idle expiry and a cap on how many are open.
//!
//! - **No file is held between requests.** A session is a temporary file under
//!   `ROOT/.lineage-uploads` plus its offset and running hash; each request opens the file,
//!   appends and closes it, so idle sessions cost no file descriptors.
//! - **Closing is atomic.** Finishing, cancelling and expiring a session first mark it closed
//!   under its lock and take it out of the table; a request that found the session before
//!   that sees it closed once it gets the lock, and answers `BLOB_UPLOAD_UNKNOWN`. So no
//!   request can write to a file after it has become a blob.
//! - **Idle sessions expire.** A session that no request has opened or added to for
//!   [`Policy::upload_idle_timeout`](super::Policy) (one hour by default; `lineage serve
//!   --upload-idle-timeout`; status queries do not count) is closed and its file removed,
//!   by the next request on it (which answers `BLOB_UPLOAD_UNKNOWN`) or by
//!   [`Sessions::expire`], which runs whenever a session is opened and periodically in
//!   `serve`. A session in use is never expired.
//! - **At most [`Policy::max_uploads`](super::Policy) sessions are open** (1024 by default;
//!   `--max-uploads`); one more answers 429 `TOOMANYREQUESTS`.
//!
//! Time comes from a [`Clock`], so tests can move it instead of sleeping.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use lineage_oci::{Algorithm, Hasher};
use tokio::sync::Mutex;

use super::error::{OciError, internal};

/// Where the registry's time comes from.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// An upload in progress: its file, how much it holds, and the hash of that much.
pub(crate) struct Session {
    /// The temporary file.
    pub path: PathBuf,
    /// Bytes received so far.
    pub offset: u64,
    /// SHA-256 of the bytes received so far.
    pub hasher: Hasher,
    last_used: Instant,
    closed: bool,
}

impl Session {
    fn new(path: PathBuf, now: Instant) -> Session {
        Session {
            path,
            offset: 0,
            hasher: Algorithm::Sha256.hasher(),
            last_used: now,
            closed: false,
        }
    }

    /// `BLOB_UPLOAD_UNKNOWN` when the session was finished, cancelled or expired while the
    /// caller waited for its lock.
    pub(crate) fn ensure_open(&self) -> Result<(), OciError> {
        if self.closed {
            Err(OciError::upload_unknown())
        } else {
            Ok(())
        }
    }
}

struct Entry {
    name: String,
    session: Arc<Mutex<Session>>,
}

/// The upload sessions of a registry.
pub(crate) struct Sessions {
    dir: PathBuf,
    idle: Duration,
    max: usize,
    clock: Arc<dyn Clock>,
    table: StdMutex<HashMap<String, Entry>>,
}

impl Sessions {
    /// Sessions with files in `dir`, expiring after `idle`, at most `max` open.
    pub(crate) fn new(dir: PathBuf, idle: Duration, max: usize, clock: Arc<dyn Clock>) -> Sessions {
        Sessions {
            dir,
            idle,
            max,
            clock,
            table: StdMutex::new(HashMap::new()),
        }
    }

    /// Use `clock` from now on.
    pub(crate) fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// How long a session may stay idle.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle
    }

    /// The directory of the sessions' files.
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// How many sessions are open.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.len())
    }

    /// Whether no session is open.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.last_used) >= self.idle
    }

    /// Open a session for repository `name`; its id and the session. Expired sessions are
    /// removed first, and none is opened when [`Sessions::new`]'s `max` are open.
    pub(crate) async fn open(&self, name: &str) -> Result<(String, Arc<Mutex<Session>>), OciError> {
        self.expire().await;
        let id = new_id();
        let path = self.dir.join(&id);
        {
            let mut table = self.table.lock().map_err(|_| poisoned())?;
            if table.len() >= self.max {
                return Err(OciError::too_many_requests(format!(
                    "{} uploads are open, the most this registry allows; finish or cancel one",
                    table.len()
                )));
            }
            let session = Arc::new(Mutex::new(Session::new(path.clone(), self.clock.now())));
            table.insert(
                id.clone(),
                Entry {
                    name: name.to_string(),
                    session: session.clone(),
                },
            );
        }
        if let Err(e) = tokio::fs::File::create(&path).await {
            self.forget(&id);
            return Err(internal("cannot create an upload file", &e));
        }
        let session = self.get(name, &id)?;
        Ok((id, session))
    }

    /// A session outside the table, for an upload that starts and ends in one request.
    pub(crate) async fn detached(&self) -> Result<Session, OciError> {
        let path = self.dir.join(new_id());
        tokio::fs::File::create(&path)
            .await
            .map_err(|e| internal("cannot create an upload file", &e))?;
        Ok(Session::new(path, self.clock.now()))
    }

    /// The open session `id` of repository `name`. The caller must lock it and check
    /// [`Session::ensure_open`]: it may close before the lock is had.
    pub(crate) fn get(&self, name: &str, id: &str) -> Result<Arc<Mutex<Session>>, OciError> {
        let table = self.table.lock().map_err(|_| poisoned())?;
        match table.get(id) {
            Some(e) if e.name == name => Ok(e.session.clone()),
            _ => Err(OciError::upload_unknown()),
        }
    }

    /// Lock session `id` of `name` for a request: `BLOB_UPLOAD_UNKNOWN` when it is unknown,
    /// closed, or idle for too long (then it is closed and its file removed).
    pub(crate) async fn lock(
        &self,
        name: &str,
        id: &str,
    ) -> Result<tokio::sync::OwnedMutexGuard<Session>, OciError> {
        let session = self.get(name, id)?;
        let mut s = session.lock_owned().await;
        s.ensure_open()?;
        if self.expired(&s, self.clock.now()) {
            self.close(id, &mut s);
            remove_file(&s.path).await;
            return Err(OciError::upload_unknown());
        }
        Ok(s)
    }

    /// Note that `s` was used now (its idle time starts again).
    pub(crate) fn touch(&self, s: &mut Session) {
        s.last_used = self.clock.now();
    }

    /// Close `s` (session `id`) for good and take it out of the table. Its file is the
    /// caller's to adopt or remove.
    pub(crate) fn close(&self, id: &str, s: &mut Session) {
        s.closed = true;
        self.forget(id);
    }

    fn forget(&self, id: &str) {
        if let Ok(mut table) = self.table.lock() {
            table.remove(id);
        }
    }

    /// Close every session idle for longer than the timeout and remove its file; sessions
    /// in use (locked by a request) are left alone. Returns how many expired.
    pub(crate) async fn expire(&self) -> usize {
        let now = self.clock.now();
        let mut paths = Vec::new();
        if let Ok(mut table) = self.table.lock() {
            table.retain(|_, e| {
                let Ok(mut s) = e.session.try_lock() else {
                    return true;
                };
                if !s.closed && !self.expired(&s, now) {
                    return true;
                }
                s.closed = true;
                paths.push(s.path.clone());
                false
            });
        }
        for p in &paths {
            remove_file(p).await;
        }
        if !paths.is_empty() {
            tracing::info!(count = paths.len(), "expired idle uploads");
        }
        paths.len()
    }
}

/// Remove an upload file that may already be gone.
pub(crate) async fn remove_file(path: &std::path::Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove an upload file")
        }
    }
}

fn poisoned() -> OciError {
    tracing::error!("the upload table's lock is poisoned");
    OciError::internal()
}

/// A new session id: 128 unpredictable bits, in hex.
fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher as _};
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_usize(i);
        *p = h.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    struct TestClock {
        start: Instant,
        secs: AtomicU64,
    }

    impl Clock for TestClock {
        fn now(&self) -> Instant {
            self.start + Duration::from_secs(self.secs.load(Ordering::SeqCst))
        }
    }

    fn sessions(dir: &std::path::Path, max: usize) -> (Sessions, Arc<TestClock>) {
        let clock = Arc::new(TestClock {
            start: Instant::now(),
            secs: AtomicU64::new(0),
        });
        let s = Sessions::new(
            dir.to_path_buf(),
            Duration::from_secs(60),
            max,
            clock.clone(),
        );
        (s, clock)
    }

    #[tokio::test]
    async fn a_request_that_waited_for_a_closing_session_finds_it_closed() {
        let dir = tempfile::tempdir().unwrap();
        let (table, _) = sessions(dir.path(), 10);
        let (id, session) = table.open("r").await.unwrap();
        // A PATCH found the session, then a finishing PUT locked and closed it first.
        let waiting = table.get("r", &id).unwrap();
        {
            let mut s = session.lock().await;
            table.close(&id, &mut s);
        }
        let s = waiting.lock().await;
        assert_eq!(s.ensure_open().unwrap_err().code, "BLOB_UPLOAD_UNKNOWN");
        assert_eq!(table.lock("r", &id).await.err().unwrap().status, 404);
        assert!(table.is_empty());
    }

    #[tokio::test]
    async fn idle_sessions_expire_but_busy_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (table, clock) = sessions(dir.path(), 10);
        let (idle, idle_session) = table.open("r").await.unwrap();
        let (busy, busy_session) = table.open("r").await.unwrap();
        let idle_path = idle_session.lock().await.path.clone();
        assert!(idle_path.is_file());
        clock.secs.store(61, Ordering::SeqCst);
        let held = busy_session.lock().await;
        assert_eq!(table.expire().await, 1);
        assert!(!idle_path.exists(), "an expired session's file is removed");
        assert!(table.get("r", &idle).is_err());
        drop(held);
        assert!(table.get("r", &busy).is_ok(), "a session in use stays");
        // Used again, the busy one is expired by the request that finds it idle.
        assert_eq!(
            table.lock("r", &busy).await.err().unwrap().code,
            "BLOB_UPLOAD_UNKNOWN"
        );
        assert!(table.is_empty());
    }

    #[tokio::test]
    async fn the_cap_refuses_one_more_and_expired_sessions_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let (table, clock) = sessions(dir.path(), 2);
        table.open("r").await.unwrap();
        table.open("r").await.unwrap();
        let err = table.open("r").await.err().unwrap();
        assert_eq!(
            (err.status.as_u16(), err.code.as_str()),
            (429, "TOOMANYREQUESTS")
        );
        clock.secs.store(60, Ordering::SeqCst);
        assert!(table.open("r").await.is_ok());
        assert_eq!(table.len(), 1);
    }

    #[tokio::test]
    async fn a_session_of_another_repository_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let (table, _) = sessions(dir.path(), 2);
        let (id, _) = table.open("a").await.unwrap();
        assert!(table.get("b", &id).is_err());
        assert!(table.get("a", &id).is_ok());
    }
}
