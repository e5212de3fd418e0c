//! A small HTTP fault proxy for what toxiproxy (TCP) cannot do: answer some requests itself
//! with `429` + `Retry-After` or a `5xx`, or cut an answer short. Every other request is
//! forwarded to the upstream with `Connection: close`, one connection per request, so each
//! request is seen.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

/// What the proxy does to the requests a rule matches.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// `429 Too Many Requests` with `Retry-After: 1`.
    TooManyRequests,
    /// A `503 Service Unavailable` with a distribution error body.
    Unavailable,
    /// The upstream's answer with its body cut after `n` bytes, then the connection closed.
    CutAfter(usize),
}

/// Which requests a fault hits: those whose request line contains `needle` (a method and
/// a path part, e.g. `PUT /v2/`), every `every`-th of them, at most `limit` times.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What the request line must contain.
    pub needle: String,
    /// Hit one in this many matching requests (1: every one).
    pub every: usize,
    /// Stop after this many hits.
    pub limit: usize,
    /// What to do.
    pub fault: Fault,
}

/// A running fault proxy; stops accepting when dropped.
pub struct FaultProxy {
    /// `127.0.0.1:PORT` to use instead of the upstream.
    pub host: String,
    /// Faults injected so far.
    pub injected: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(&self.host);
    }
}

impl FaultProxy {
    /// Start a proxy to `upstream` (`host:port`) applying `rules` in order (first match).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fault proxy");
        let host = listener.local_addr().expect("its address").to_string();
        let injected = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (inj, st, up) = (injected.clone(), stop.clone(), upstream.to_string());
        let seen: Arc<Vec<AtomicUsize>> =
            Arc::new(rules.iter().map(|_| AtomicUsize::new(0)).collect());
        let hits: Arc<Vec<AtomicUsize>> =
            Arc::new(rules.iter().map(|_| AtomicUsize::new(0)).collect());
        let rules = Arc::new(rules);
        thread::spawn(move || {
            for client in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let (rules, seen, hits, inj, up) = (
                    rules.clone(),
                    seen.clone(),
                    hits.clone(),
                    inj.clone(),
                    up.clone(),
                );
                thread::spawn(move || {
                    let _ = handle(client, &up, &rules, &seen, &hits, &inj);
                });
            }
        });
        FaultProxy {
            host,
            injected,
            stop,
        }
    }
}

/// Read up to the end of the request head; the head and what came after it.
fn read_head(stream: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        // Not HTTP (a TLS handshake: lineage tries HTTPS first on loopback): hang up at
        // once, as a plain-HTTP registry would, so the client falls back without waiting.
        if buf.is_empty() && !chunk[0].is_ascii_uppercase() {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    rules: &[Rule],
    seen: &[AtomicUsize],
    hits: &[AtomicUsize],
    injected: &AtomicUsize,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let (head, rest) = read_head(&mut client)?;
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or_default().to_string();
    let mut fault = None;
    for (i, rule) in rules.iter().enumerate() {
        if line.contains(&rule.needle) {
            let n = seen[i].fetch_add(1, Ordering::SeqCst) + 1;
            if n.is_multiple_of(rule.every.max(1)) && hits[i].load(Ordering::SeqCst) < rule.limit {
                hits[i].fetch_add(1, Ordering::SeqCst);
                fault = Some(rule.fault);
            }
            break;
        }
    }
    let answer = |client: &mut TcpStream, status: &str, extra: &str| -> std::io::Result<()> {
        let body = r#"{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}"#;
        write!(
            client,
            "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        client.shutdown(Shutdown::Both)
    };
    match fault {
        Some(Fault::TooManyRequests) => {
            injected.fetch_add(1, Ordering::SeqCst);
            return answer(&mut client, "429 Too Many Requests", "Retry-After: 1\r\n");
        }
        Some(Fault::Unavailable) => {
            injected.fetch_add(1, Ordering::SeqCst);
            return answer(&mut client, "503 Service Unavailable", "");
        }
        _ => {}
    }
    // Forward with `Connection: close`, so the next request comes on a new connection.
    let mut forwarded: Vec<u8> = Vec::new();
    for l in text.trim_end_matches("\r\n\r\n").split("\r\n") {
        if l.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        forwarded.extend_from_slice(l.as_bytes());
        forwarded.extend_from_slice(b"\r\n");
    }
    forwarded.extend_from_slice(b"Connection: close\r\n\r\n");
    forwarded.extend_from_slice(&rest);
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&forwarded)?;
    // The rest of the request body, client → upstream.
    let (mut from_client, mut to_up) = (client.try_clone()?, up.try_clone()?);
    let pump = thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_up);
    });
    // The answer, upstream → client, cut short when asked.
    let mut sent = 0usize;
    let mut chunk = [0u8; 8192];
    let mut header_end: Option<usize> = None;
    let mut seen_bytes: Vec<u8> = Vec::new();
    loop {
        let n = match up.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(Fault::CutAfter(limit)) = fault {
            if header_end.is_none() {
                seen_bytes.extend_from_slice(&chunk[..n]);
                header_end = seen_bytes
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map(|p| p + 4);
            }
            if let Some(h) = header_end
                && sent + n > h + limit
            {
                let keep = (h + limit).saturating_sub(sent);
                client.write_all(&chunk[..keep])?;
                injected.fetch_add(1, Ordering::SeqCst);
                let _ = client.shutdown(Shutdown::Both);
                let _ = up.shutdown(Shutdown::Both);
                let _ = pump.join();
                return Ok(());
            }
        }
        client.write_all(&chunk[..n])?;
        sent += n;
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.shutdown(Shutdown::Both);
    let _ = pump.join();
    Ok(())
}
