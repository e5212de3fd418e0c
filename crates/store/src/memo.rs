//! [`Memo`]: a map with a fixed capacity that forgets its oldest entry to make room, for
//! what lineage remembers per registry or repository (schemes, credentials, auth methods,
//! tokens, referrers support, concurrency limits). Such maps are keyed by names that
//! callers choose, so without a cap a server asked about many registries grows for good
//! (issue 14 item 7). Forgetting is always safe: the fact is learned again when needed.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map holding at most `capacity` entries; inserting a new key into a full map first
/// removes the entry inserted longest ago.
#[derive(Debug, Clone)]
pub struct Memo<K, V> {
    capacity: usize,
    /// Key → (its insertion number, value).
    entries: HashMap<K, (u64, V)>,
    /// Insertion numbers and keys, oldest first; an item whose number no longer matches
    /// its key's entry is stale and skipped.
    order: VecDeque<(u64, K)>,
    next: u64,
}

impl<K, V> Memo<K, V> {
    /// Default capacity: 1024 registries (or repositories) remembered at once.
    pub const DEFAULT_CAPACITY: usize = 1024;
}

impl<K: Hash + Eq + Clone, V> Memo<K, V> {
    /// An empty map that holds at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        Memo {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
        }
    }

    /// The value of `key`, if remembered.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|(_, v)| v)
    }

    /// Remember `value` for `key` (replacing an older value, which keeps its place in the
    /// order), forgetting the oldest entry if the map is full.
    pub fn insert(&mut self, key: K, value: V) {
        if let Some(slot) = self.entries.get_mut(&key) {
            slot.1 = value;
            return;
        }
        while self.entries.len() >= self.capacity {
            let Some((n, oldest)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&oldest).is_some_and(|(m, _)| *m == n) {
                self.entries.remove(&oldest);
            }
        }
        let n = self.next;
        self.next += 1;
        self.order.push_back((n, key.clone()));
        self.entries.insert(key, (n, value));
        // Removals leave stale items behind; drop them before they outnumber the entries.
        if self.order.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.order
                .retain(|(n, k)| entries.get(k).is_some_and(|(m, _)| m == n));
        }
    }

    /// Forget `key`.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.remove(key).map(|(_, v)| v)
    }

    /// Entries remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Hash + Eq + Clone, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo::new(Self::DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_memo_forgets_its_oldest_entry() {
        let mut m = Memo::new(3);
        for i in 0..10 {
            m.insert(format!("registry-{i}.example"), i);
            assert!(m.len() <= 3);
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("registry-0.example"), None);
        assert_eq!(m.get("registry-9.example"), Some(&9));
        assert_eq!(m.get("registry-7.example"), Some(&7));
        // Replacing a value keeps the size; a removed key frees its place.
        m.insert("registry-9.example".to_string(), 90);
        assert_eq!((m.len(), m.get("registry-9.example")), (3, Some(&90)));
        assert_eq!(m.remove("registry-8.example"), Some(8));
        m.insert("new".to_string(), 0);
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("registry-7.example"), Some(&7));
    }

    #[test]
    fn removals_and_reinsertions_keep_the_order_bounded() {
        let mut m = Memo::new(2);
        for i in 0..1000 {
            m.insert("a", i);
            m.remove("a");
        }
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("c", 3);
        assert!(m.order.len() <= 4);
        assert_eq!((m.len(), m.get("a"), m.get("c")), (2, None, Some(&3)));
    }
}
