//! Limits on client connections, so silent, half-sent or stalled connections cannot hold the
//! server's file descriptors for ever (issue 14 item 4).
//!
//! [`ConnectionLimits`] holds the three knobs `lineage serve` and `lineage webhook` expose;
//! [`LimitedListener`] applies two of them below HTTP:
//!
//! - at most `max_connections` connections are accepted at once. The listener takes a slot
//!   *before* it calls `accept`, so connections beyond the cap wait in the kernel's listen
//!   backlog, holding no descriptor of this process, and are served in turn as slots free;
//! - each accepted stream closes itself (a `TimedOut` error to hyper) once no byte has moved
//!   either way for `idle_timeout`: a client that stops sending a request body, or stops
//!   reading its response.
//!
//! The header timeout is hyper's own (`header_read_timeout`, which also bounds the wait for
//! the next request on a kept-alive connection) together with axum-server's first-request
//! timeout (which also covers the protocol detection before hyper's HTTP/1 code runs); see
//! `run` in the crate root. docs/security.md lists the defaults.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum_server::{AddrListener, Address};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How long a connection may take and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's line and headers must arrive within this time from when the server
    /// starts waiting for them (on a kept-alive connection: from the end of the previous
    /// response), or the connection is closed.
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// Default header timeout: 30 s, hyper's own default.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default idle timeout: 120 s, long enough for a slow network to resume a transfer.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
    /// Default connection cap: 1024, far below common descriptor limits.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The peer address of a connection accepted by a [`LimitedListener`]; handlers see it as
/// a plain `ConnectInfo<SocketAddr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl Address for PeerAddr {
    type Stream = LimitedStream;
    type Listener = LimitedListener;
}

impl Connected<PeerAddr> for SocketAddr {
    fn connect_info(target: PeerAddr) -> Self {
        target.0
    }
}

/// A TCP listener that accepts at most `max_connections` connections at once and hands
/// out streams that close when idle.
#[derive(Debug)]
pub struct LimitedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
    idle_timeout: Duration,
}

impl LimitedListener {
    /// Wrap a bound listener (non-blocking, inside a tokio runtime).
    pub fn new(listener: std::net::TcpListener, limits: &ConnectionLimits) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        Ok(LimitedListener {
            listener: TcpListener::from_std(listener)?,
            slots: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            idle_timeout: limits.idle_timeout,
        })
    }

    /// Connections accepted and not yet closed.
    pub fn open_connections(&self) -> usize {
        self.max_connections - self.slots.available_permits()
    }

    /// Wait for a free slot, then accept a connection into it.
    pub async fn accept(&self) -> io::Result<(LimitedStream, PeerAddr)> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        let (stream, peer) = self.listener.accept().await?;
        Ok((
            LimitedStream {
                inner: stream,
                idle: IdleTimer::new(self.idle_timeout),
                _slot: slot,
            },
            PeerAddr(peer),
        ))
    }
}

impl AddrListener<LimitedStream, PeerAddr> for LimitedListener {
    async fn bind_to(addr: PeerAddr) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr.0)?;
        LimitedListener::new(listener, &ConnectionLimits::default())
    }

    fn accept_stream(
        &self,
    ) -> impl std::future::Future<Output = io::Result<(LimitedStream, PeerAddr)>> + Send {
        self.accept()
    }

    fn get_local_addr(&self) -> io::Result<PeerAddr> {
        self.listener.local_addr().map(PeerAddr)
    }
}

/// Closes a stream on which nothing moved for a while. The timer is re-armed lazily: I/O
/// only records when it happened, and the sleep, once due, checks that record.
#[derive(Debug)]
struct IdleTimer {
    timeout: Duration,
    last_activity: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    fn new(timeout: Duration) -> Self {
        let now = Instant::now();
        IdleTimer {
            timeout,
            last_activity: now,
            sleep: Box::pin(tokio::time::sleep_until(now + timeout)),
        }
    }

    fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    /// `Err(TimedOut)` once the stream has been idle for the timeout; otherwise registers
    /// the waker for when it would be.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Ok(());
            }
            let due = self.last_activity + self.timeout;
            if due <= Instant::now() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was idle too long",
                ));
            }
            self.sleep.as_mut().reset(due);
        }
    }
}

/// An accepted connection: its TCP stream, its idle timer and its slot under the cap,
/// which frees when the stream is dropped.
#[derive(Debug)]
pub struct LimitedStream {
    inner: TcpStream,
    idle: IdleTimer,
    _slot: OwnedSemaphorePermit,
}

impl LimitedStream {
    fn after<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
        moved: bool,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(Ok(v)) => {
                if moved {
                    self.idle.touch();
                }
                Poll::Ready(Ok(v))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.idle.poll_expired(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        this.after(cx, poll, moved)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.after(cx, poll, moved)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.after(cx, poll, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.after(cx, poll, false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.after(cx, poll, false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use futures_util::FutureExt as _;

    fn limits(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections,
            ..ConnectionLimits::default()
        }
    }

    #[tokio::test]
    async fn a_connection_beyond_the_cap_is_accepted_only_when_one_closes() {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = LimitedListener::new(std_listener, &limits(2)).unwrap();
        let _c1 = TcpStream::connect(addr).await.unwrap();
        let _c2 = TcpStream::connect(addr).await.unwrap();
        let c3 = TcpStream::connect(addr).await.unwrap();
        let (first, _) = listener.accept().await.unwrap();
        let (_second, _) = listener.accept().await.unwrap();
        assert_eq!(listener.open_connections(), 2);

        // Both slots are taken: the third accept waits for one, whatever the socket does.
        let mut third = Box::pin(listener.accept());
        assert!((&mut third).now_or_never().is_none());

        drop(first);
        let (_third, peer) = tokio::time::timeout(Duration::from_secs(10), third)
            .await
            .expect("the third connection is accepted once a slot frees")
            .unwrap();
        assert_eq!(peer.0, c3.local_addr().unwrap());
        assert_eq!(listener.open_connections(), 2);
    }
}
