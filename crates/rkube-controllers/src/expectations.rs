//! Expectations: what a controller has asked the API server to create and
//! delete but has not yet seen through its informer. While any are
//! outstanding the controller does not act on its (stale) cache, so it
//! never creates or deletes twice for one need. Records expire after five
//! minutes so a lost watch event cannot block a controller forever.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::runtime::Key;

const TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Expectations {
    map: Mutex<HashMap<Key, Record>>,
}

struct Record {
    adds: i64,
    deletes: HashSet<Key>,
    at: Instant,
}

impl Expectations {
    /// Whether the controller's cache reflects all its writes for `owner`.
    pub fn satisfied(&self, owner: &Key) -> bool {
        let map = self.map.lock().expect("expectations lock");
        match map.get(owner) {
            None => true,
            Some(r) => (r.adds <= 0 && r.deletes.is_empty()) || r.at.elapsed() > TIMEOUT,
        }
    }

    /// Expect `adds` new pods for `owner`.
    pub fn expect_creations(&self, owner: &Key, adds: usize) {
        let mut map = self.map.lock().expect("expectations lock");
        map.insert(
            owner.clone(),
            Record {
                adds: adds as i64,
                deletes: HashSet::new(),
                at: Instant::now(),
            },
        );
    }

    /// Expect these pods of `owner` to go.
    pub fn expect_deletions(&self, owner: &Key, pods: impl IntoIterator<Item = Key>) {
        let mut map = self.map.lock().expect("expectations lock");
        map.insert(
            owner.clone(),
            Record {
                adds: 0,
                deletes: pods.into_iter().collect(),
                at: Instant::now(),
            },
        );
    }

    /// A pod of `owner` appeared (or a create failed: it never will).
    pub fn creation_observed(&self, owner: &Key) {
        let mut map = self.map.lock().expect("expectations lock");
        if let Some(r) = map.get_mut(owner) {
            r.adds -= 1;
        }
    }

    /// A pod of `owner` is going (or its delete failed).
    pub fn deletion_observed(&self, owner: &Key, pod: &Key) {
        let mut map = self.map.lock().expect("expectations lock");
        if let Some(r) = map.get_mut(owner) {
            r.deletes.remove(pod);
        }
    }

    /// Forget `owner` (it was deleted).
    pub fn forget(&self, owner: &Key) {
        self.map.lock().expect("expectations lock").remove(owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_and_deletions_are_counted_down() {
        let e = Expectations::default();
        let rs = Key::new("default", "rs");
        assert!(e.satisfied(&rs));
        e.expect_creations(&rs, 2);
        assert!(!e.satisfied(&rs));
        e.creation_observed(&rs);
        assert!(!e.satisfied(&rs));
        e.creation_observed(&rs);
        assert!(e.satisfied(&rs));
        let p = Key::new("default", "p");
        e.expect_deletions(&rs, [p.clone()]);
        assert!(!e.satisfied(&rs));
        e.deletion_observed(&rs, &Key::new("default", "other"));
        assert!(!e.satisfied(&rs));
        e.deletion_observed(&rs, &p);
        assert!(e.satisfied(&rs));
    }
}
