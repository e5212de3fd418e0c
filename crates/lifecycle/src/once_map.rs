//! A generic single-flight cache: [`OnceMap`] maps keys to values that are fetched once, kept
//! for a time to live, and shared by every caller that asks for the same key meanwhile.
//!
//! [`OnceMap::get_or_fetch`] answers a key from a fresh value, from a fetch another caller
//! already started (the callers *coalesce*: one fetch runs and every waiter gets its outcome),
//! or by running the caller's own fetch. A failure is handed to the callers that waited for
//! it and kept no longer: the next caller fetches again. The map holds at most about
//! `max_entries` entries: when a shard is full, expired and failed entries go first, then the
//! oldest eighth; fetches in flight always stay. Each map counts its own hits, misses and
//! coalesced waits ([`OnceMapStats`]).
//!
//! Ages are read from tokio's clock ([`tokio::time::Instant`]), so a test can drive the time
//! to live with a paused clock.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// A fetch's outcome and when it completed.
struct Fetched<V, E> {
    result: Result<V, E>,
    at: Instant,
}

/// An entry: a fetch in flight (the cell is empty) or done.
type Slot<V, E> = Arc<OnceCell<Fetched<V, E>>>;

/// One lock's worth of a map.
type Shard<K, V, E> = Mutex<HashMap<K, Slot<V, E>>>;

/// What the map holds for a key when a caller asks.
enum Claim<V, E> {
    /// A fresh value.
    Fresh(V),
    /// A fetch another caller started.
    InFlight(Slot<V, E>),
    /// An expired value, a failure, or nothing.
    Missing,
}

/// Up to this many shards, so callers asking for different keys rarely wait for one lock.
const SHARDS: usize = 16;

/// What a [`OnceMap`] has counted since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OnceMapStats {
    /// Calls answered from a fresh value.
    pub(crate) hits: u64,
    /// Calls that started a fetch (the key was missing, expired, or had failed).
    pub(crate) misses: u64,
    /// Calls that waited for a fetch another call had started.
    pub(crate) coalesced: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
}

/// A sharded single-flight map of keys to fetched values, with one time to live (see the
/// module documentation).
pub(crate) struct OnceMap<K, V, E> {
    shards: Box<[Shard<K, V, E>]>,
    hasher: RandomState,
    ttl: Duration,
    shard_cap: usize,
    counters: Counters,
}

impl<K: Hash + Eq, V: Clone, E: Clone> OnceMap<K, V, E> {
    /// An empty map whose values are fresh for `ttl` (`Duration::ZERO`: fetched on every
    /// call that does not coalesce, `Duration::MAX`: for good), holding about `max_entries`
    /// entries at most (at least 1).
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        let max_entries = max_entries.max(1);
        let n = SHARDS.min(max_entries);
        OnceMap {
            shards: (0..n).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            ttl,
            shard_cap: max_entries.div_ceil(n),
            counters: Counters::default(),
        }
    }

    fn shard(&self, key: &K) -> &Shard<K, V, E> {
        let i = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        &self.shards[i]
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    /// The value of `key`: fresh from the map, from a fetch already in flight, or from
    /// `fetch`. The lock is never held across an await. Every waiter brings its own `fetch`:
    /// one runs, and if its caller is dropped midway, another waiter's takes over.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: K, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            let mut shard = self
                .shard(&key)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let claim = match shard.get(&key) {
                Some(s) => match s.get() {
                    Some(Fetched { result: Ok(v), at }) if self.fresh(*at) => {
                        Claim::Fresh(v.clone())
                    }
                    Some(_) => Claim::Missing,
                    None => Claim::InFlight(s.clone()),
                },
                None => Claim::Missing,
            };
            match claim {
                Claim::Fresh(v) => {
                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(v);
                }
                Claim::InFlight(s) => {
                    self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                    s
                }
                Claim::Missing => {
                    self.make_room(&mut shard);
                    self.counters.misses.fetch_add(1, Ordering::Relaxed);
                    let s = Slot::default();
                    shard.insert(key, s.clone());
                    s
                }
            }
        };
        let fetched = slot
            .get_or_init(|| async {
                let result = fetch().await;
                Fetched {
                    result,
                    at: Instant::now(),
                }
            })
            .await;
        fetched.result.clone()
    }

    /// Hold `value` for `key` as if it had just been fetched, unless the map already holds a
    /// fresh value or a fetch in flight for it (those stay). Neither a hit nor a miss: a
    /// value learnt while fetching another key.
    pub(crate) fn insert(&self, key: K, value: V) {
        let mut shard = self
            .shard(&key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.get(&key).is_some_and(|s| self.keep(s)) {
            return;
        }
        self.make_room(&mut shard);
        let fetched = Fetched {
            result: Ok(value),
            at: Instant::now(),
        };
        shard.insert(key, Arc::new(OnceCell::new_with(Some(fetched))));
    }

    /// Whether an entry is worth keeping: in flight, or fetched successfully and fresh.
    fn keep(&self, slot: &Slot<V, E>) -> bool {
        slot.get()
            .is_none_or(|f| f.result.is_ok() && self.fresh(f.at))
    }

    /// Make room for one entry in a full shard: drop expired and failed entries, then, if
    /// that is not enough, the oldest eighth. Fetches in flight stay.
    fn make_room(&self, shard: &mut HashMap<K, Slot<V, E>>) {
        if shard.len() < self.shard_cap {
            return;
        }
        shard.retain(|_, s| self.keep(s));
        if shard.len() < self.shard_cap {
            return;
        }
        let mut times: Vec<Instant> = shard
            .values()
            .filter_map(|s| s.get().map(|f| f.at))
            .collect();
        if times.is_empty() {
            return;
        }
        // The `n`-th oldest completion time: entries up to it go.
        let n = (self.shard_cap / 8).clamp(1, times.len());
        let (_, cutoff, _) = times.select_nth_unstable(n - 1);
        let cutoff = *cutoff;
        shard.retain(|_, s| s.get().is_none_or(|f| f.at > cutoff));
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> OnceMapStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        OnceMapStats {
            hits: get(&self.counters.hits),
            misses: get(&self.counters.misses),
            coalesced: get(&self.counters.coalesced),
        }
    }

    /// The entries held now, in flight or done.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::Semaphore;

    use super::*;

    type Map = OnceMap<String, u32, Arc<str>>;

    #[tokio::test]
    async fn a_fresh_value_is_a_hit_and_a_new_key_a_miss() {
        let map = Map::new(Duration::from_secs(60), 8);
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            let v = map
                .get_or_fetch("k".into(), || async {
                    calls.fetch_add(1, Ordering::Relaxed);
                    Ok(7)
                })
                .await;
            assert_eq!(v, Ok(7));
        }
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(
            map.stats(),
            OnceMapStats {
                hits: 2,
                misses: 1,
                coalesced: 0
            }
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_calls_for_one_key_share_one_fetch_and_are_counted() {
        let map = Arc::new(Map::new(Duration::from_secs(60), 8));
        let gate = Arc::new(Semaphore::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (map, gate, calls) = (map.clone(), gate.clone(), calls.clone());
                tokio::spawn(async move {
                    map.get_or_fetch("k".into(), || async move {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let _p = gate.acquire().await.unwrap();
                        Ok(42)
                    })
                    .await
                })
            })
            .collect();
        // The first fetch waits at the gate until the 19 others wait for it.
        let run = async {
            while map.stats().coalesced < 19 {
                tokio::task::yield_now().await;
            }
            gate.add_permits(Semaphore::MAX_PERMITS);
            let mut out = Vec::new();
            for task in tasks {
                out.push(task.await.unwrap());
            }
            out
        };
        let out = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("calls finish");
        assert!(out.iter().all(|v| *v == Ok(42)));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(
            map.stats(),
            OnceMapStats {
                hits: 0,
                misses: 1,
                coalesced: 19
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_value_expires_after_its_time_to_live() {
        let map = Map::new(Duration::from_secs(30), 8);
        let calls = AtomicUsize::new(0);
        let get = || {
            map.get_or_fetch("k".into(), || async {
                Ok(u32::try_from(calls.fetch_add(1, Ordering::Relaxed)).unwrap())
            })
        };
        assert_eq!(get().await, Ok(0));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(get().await, Ok(0), "still fresh");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(get().await, Ok(1), "expired: fetched again");
        assert_eq!(get().await, Ok(1));
        let stats = map.stats();
        assert_eq!((stats.hits, stats.misses), (2, 2));

        // A zero time to live fetches on every call.
        let zero = Map::new(Duration::ZERO, 8);
        for i in 0..3 {
            assert_eq!(
                zero.get_or_fetch("k".into(), || async move { Ok(i) }).await,
                Ok(i)
            );
        }
        assert_eq!(zero.stats().misses, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn max_entries_bounds_the_map_expired_first_then_oldest() {
        let map = Map::new(Duration::from_secs(3600), 64);
        for i in 0..1000u32 {
            let v = map
                .get_or_fetch(format!("k{i}"), || async move { Ok(i) })
                .await;
            assert_eq!(v, Ok(i));
            assert!(map.len() <= 64);
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        // The newest entry survived; the oldest went and is fetched again.
        let again = || async { Ok(u32::MAX) };
        assert_eq!(map.get_or_fetch("k999".into(), again).await, Ok(999));
        assert_eq!(map.get_or_fetch("k0".into(), again).await, Ok(u32::MAX));

        // Expired entries go before fresh ones: with a full shard of expired entries, a new
        // key replaces them and the map stays at its cap.
        let one = Map::new(Duration::from_secs(10), 1);
        one.get_or_fetch("a".into(), || async { Ok(1) })
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(11)).await;
        one.get_or_fetch("b".into(), || async { Ok(2) })
            .await
            .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one.get_or_fetch("b".into(), again).await, Ok(2));

        let expired = Map::new(Duration::ZERO, 4);
        for i in 0..10u32 {
            expired
                .get_or_fetch(format!("k{i}"), || async move { Ok(i) })
                .await
                .unwrap();
            assert!(expired.len() <= 4);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_inserted_value_is_a_hit_and_never_replaces_a_fresh_one() {
        let map = Map::new(Duration::from_secs(60), 8);
        map.insert("k".into(), 1);
        let v = map
            .get_or_fetch("k".into(), || async { Ok(2) })
            .await
            .unwrap();
        assert_eq!(v, 1, "the inserted value answers");
        map.insert("k".into(), 3);
        let v = map
            .get_or_fetch("k".into(), || async { Ok(4) })
            .await
            .unwrap();
        assert_eq!(v, 1, "a fresh value stays");
        tokio::time::advance(Duration::from_secs(61)).await;
        map.insert("k".into(), 5);
        let v = map
            .get_or_fetch("k".into(), || async { Ok(6) })
            .await
            .unwrap();
        assert_eq!(v, 5, "an expired value is replaced");
        assert_eq!(
            map.stats(),
            OnceMapStats {
                hits: 3,
                misses: 0,
                coalesced: 0
            }
        );
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let map = Map::new(Duration::from_secs(3600), 8);
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            let r = map
                .get_or_fetch("k".into(), || async {
                    calls.fetch_add(1, Ordering::Relaxed);
                    Err(Arc::from("boom"))
                })
                .await;
            assert_eq!(r, Err(Arc::from("boom")));
        }
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        let ok = map.get_or_fetch("k".into(), || async { Ok(7) }).await;
        assert_eq!(ok, Ok(7));
        let hit = map.get_or_fetch("k".into(), || async { Ok(8) }).await;
        assert_eq!(hit, Ok(7));
        assert_eq!(map.stats().misses, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_fetch_is_taken_over_by_the_next_caller() {
        let map = Map::new(Duration::from_secs(60), 8);
        // A fetch that never finishes, abandoned by its caller.
        let stuck = map.get_or_fetch("k".into(), std::future::pending);
        assert!(
            tokio::time::timeout(Duration::from_millis(1), stuck)
                .await
                .is_err()
        );
        let v = map.get_or_fetch("k".into(), || async { Ok(5) }).await;
        assert_eq!(v, Ok(5));
        assert_eq!(map.stats().coalesced, 1);
    }
}
