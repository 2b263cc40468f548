//! Random operations against each backend and a plain in-memory model of
//! etcd's semantics, checking that they agree on every answer: writes and
//! their conflicts, reads and lists at any readable revision, watches from any
//! watchable revision, through compactions and reopens.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use common::TestBackend;
use futures::StreamExt;
use rkube_store::{Backend, EventKind, KeyValue, RangeRequest, StoreError, WriteOutcome};

/// A small deterministic generator, so a failure can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Every version of every key, as (revision, value-or-tombstone).
#[derive(Default)]
struct Model {
    revision: i64,
    compacted: i64,
    versions: BTreeMap<String, Vec<(i64, Option<KeyValue>)>>,
    /// revision -> (key, kind, kv, prev)
    log: BTreeMap<i64, (EventKind, KeyValue, Option<KeyValue>)>,
}

impl Model {
    fn at(&self, key: &str, rev: i64) -> Option<KeyValue> {
        self.versions
            .get(key)?
            .iter()
            .rev()
            .find(|(r, _)| *r <= rev)
            .and_then(|(_, kv)| kv.clone())
    }

    fn write(&mut self, key: &str, kv: Option<KeyValue>) -> i64 {
        self.revision += 1;
        let rev = self.revision;
        let prev = self.at(key, rev - 1);
        let (kind, ev_kv) = match &kv {
            Some(kv) => (EventKind::Put, kv.clone()),
            None => (
                EventKind::Delete,
                KeyValue {
                    key: key.into(),
                    value: Bytes::new(),
                    create_revision: 0,
                    mod_revision: rev,
                },
            ),
        };
        self.log.insert(rev, (kind, ev_kv, prev));
        self.versions.entry(key.into()).or_default().push((rev, kv));
        rev
    }
}

fn keys() -> Vec<String> {
    let mut keys = Vec::new();
    for ns in ["a", "ab", "b"] {
        for name in ["x", "y", "z", "zz"] {
            keys.push(format!("/registry/things/{ns}/{name}"));
        }
    }
    keys
}

async fn check_reads(s: &dyn Backend, m: &Model, rng: &mut Rng, keys: &[String]) {
    let span = (m.revision - m.compacted.max(1) + 1).max(1) as u64;
    let rev = m.compacted.max(1) + rng.below(span) as i64;
    let key = &keys[rng.below(keys.len() as u64) as usize];
    assert_eq!(
        s.get(key, rev).await.unwrap(),
        m.at(key, rev),
        "get {key} at {rev}"
    );

    let prefixes = [
        "",
        "/registry/things/",
        "/registry/things/a",
        "/registry/things/ab/",
        "/registry/things/b/",
    ];
    let prefix = prefixes[rng.below(prefixes.len() as u64) as usize];
    let start_after = match rng.below(3) {
        0 => None,
        _ => Some(keys[rng.below(keys.len() as u64) as usize].clone()),
    };
    let limit = rng.below(4) as usize;
    let count_only = rng.below(5) == 0;
    let req = RangeRequest {
        prefix: prefix.into(),
        start_after: start_after.clone(),
        limit,
        revision: if rng.below(3) == 0 { 0 } else { rev },
        count_only,
    };
    let got = s.range(req.clone()).await.unwrap();
    let at = if req.revision == 0 { m.revision } else { rev };
    let matching: Vec<KeyValue> = m
        .versions
        .keys()
        .filter(|k| k.starts_with(prefix))
        .filter(|k| start_after.as_ref().is_none_or(|s| *k > s))
        .filter_map(|k| m.at(k, at))
        .collect();
    assert_eq!(got.revision, at, "{req:?}");
    assert_eq!(got.count, matching.len() as i64, "{req:?}");
    assert_eq!(got.more, limit > 0 && matching.len() > limit, "{req:?}");
    let want: Vec<KeyValue> = if count_only {
        Vec::new()
    } else if limit > 0 {
        matching.into_iter().take(limit).collect()
    } else {
        matching
    };
    assert_eq!(got.kvs, want, "{req:?}");
}

async fn check_watch(s: &dyn Backend, m: &Model, rng: &mut Rng, prev_at_compacted: bool) {
    let low = (m.compacted - 1).max(1);
    let after = low + rng.below((m.revision - low + 1) as u64) as i64;
    let prefix = ["/registry/things/", "/registry/things/a"][rng.below(2) as usize];
    let want: Vec<_> = m
        .log
        .range(after + 1..)
        .filter(|(_, (_, kv, _))| kv.key.starts_with(prefix))
        .map(|(_, e)| e.clone())
        .collect();
    let mut w = s.watch(prefix, after).await.unwrap();
    for (kind, kv, mut prev) in want {
        if kv.mod_revision == m.compacted && !prev_at_compacted {
            prev = None;
        }
        let ev = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event");
        assert_eq!(
            (ev.kind, &ev.kv, &ev.prev),
            (kind, &kv, &prev),
            "watch {prefix} after {after}"
        );
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(20), w.next())
            .await
            .is_err(),
        "no extra events"
    );
    if m.compacted > 1 {
        assert!(matches!(
            s.watch(prefix, m.compacted - 2).await,
            Err(StoreError::Compacted { .. })
        ));
    }
}

async fn run(t: &mut TestBackend, seed: u64, steps: usize) {
    let mut s = t.store();
    let mut m = Model {
        revision: 1,
        ..Default::default()
    };
    let mut rng = Rng(seed);
    let keys = keys();
    for step in 0..steps {
        let key = &keys[rng.below(keys.len() as u64) as usize];
        let current = m.at(key, m.revision);
        // Mostly the right precondition, sometimes a stale or absurd one.
        let expected = match (rng.below(4), &current) {
            (0, _) => rng.below(m.revision as u64 + 2) as i64,
            (_, Some(kv)) => kv.mod_revision,
            (_, None) => 0,
        };
        let value = Bytes::from(format!("v{step}"));
        match rng.below(10) {
            0..=3 => {
                let got = s.create(key, value.clone()).await.unwrap();
                let want = match &current {
                    Some(_) => WriteOutcome::Conflict {
                        current: current.clone(),
                    },
                    None => {
                        let rev = m.revision + 1;
                        let kv = KeyValue {
                            key: key.clone(),
                            value,
                            create_revision: rev,
                            mod_revision: rev,
                        };
                        WriteOutcome::Written {
                            revision: m.write(key, Some(kv)),
                            previous: None,
                        }
                    }
                };
                assert_eq!(got, want, "create {key} (seed {seed}, step {step})");
            }
            4..=7 => {
                let got = s.update(key, value.clone(), expected).await.unwrap();
                let want = match &current {
                    Some(cur) if cur.mod_revision == expected => {
                        let kv = KeyValue {
                            key: key.clone(),
                            value,
                            create_revision: cur.create_revision,
                            mod_revision: m.revision + 1,
                        };
                        WriteOutcome::Written {
                            revision: m.write(key, Some(kv)),
                            previous: current.clone(),
                        }
                    }
                    _ => WriteOutcome::Conflict {
                        current: current.clone(),
                    },
                };
                assert_eq!(
                    got, want,
                    "update {key} at {expected} (seed {seed}, step {step})"
                );
            }
            8 => {
                let expected = if rng.below(2) == 0 { 0 } else { expected };
                let got = s.delete(key, expected).await.unwrap();
                let want = match &current {
                    Some(cur) if expected == 0 || cur.mod_revision == expected => {
                        WriteOutcome::Written {
                            revision: m.write(key, None),
                            previous: current.clone(),
                        }
                    }
                    _ => WriteOutcome::Conflict {
                        current: current.clone(),
                    },
                };
                assert_eq!(
                    got, want,
                    "delete {key} at {expected} (seed {seed}, step {step})"
                );
            }
            _ => match rng.below(8) {
                0 => {
                    let low = m.compacted.max(1);
                    let target = low + rng.below((m.revision - low + 1) as u64) as i64;
                    s.compact(target).await.unwrap();
                    m.compacted = m.compacted.max(target);
                    m.log.retain(|rev, _| *rev >= m.compacted);
                }
                1 => {
                    drop(s);
                    t.reopen().await;
                    s = t.store();
                }
                _ => check_watch(s.as_ref(), &m, &mut rng, t.prev_at_compacted()).await,
            },
        }
        assert_eq!(s.current_revision().await.unwrap(), m.revision);
        check_reads(s.as_ref(), &m, &mut rng, &keys).await;
    }
    // Revision 1 is the first there is, so having compacted to it removes
    // nothing and etcd cannot tell it from never having compacted.
    assert_eq!(
        s.compacted_revision().await.unwrap().max(1),
        m.compacted.max(1)
    );
}

on_every_backend!(random_operations_agree_with_the_model);

/// Each seed on a fresh store (a new file, or a new etcd), so revisions start
/// at 1 as the model's do.
async fn random_operations_agree_with_the_model(mut t: TestBackend) {
    for (i, seed) in [0x9e37_79b9_7f4a_7c15, 0x2545_f491_4f6c_dd1d, 7]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            t = t.fresh().await;
        }
        run(&mut t, seed, 400).await;
    }
}
