//! The storage backends against etcd v3's semantics: the shared tests run on
//! the embedded store (real redb files) and on a real etcd (listed in
//! `on_every_backend!`); the others are about the embedded store's own
//! machinery (group commit, replay, lag, file handling).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::TestBackend;
use futures::StreamExt;
use rkube_store::embedded::{CompactionPolicy, EmbeddedBackend, EmbeddedOptions};
use rkube_store::{
    Backend, Event, EventKind, KeyValue, RangeRequest, StoreError, WatchStream, WriteOutcome,
};
use tempfile::TempDir;

async fn open(dir: &TempDir) -> Arc<EmbeddedBackend> {
    EmbeddedBackend::open(&dir.path().join("state.redb"))
        .await
        .expect("open")
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// The revision a successful write got.
fn written(outcome: WriteOutcome) -> i64 {
    match outcome {
        WriteOutcome::Written { revision, .. } => revision,
        other => panic!("expected a write, got {other:?}"),
    }
}

async fn put(s: &dyn Backend, key: &str, value: &str) -> i64 {
    match s.get(key, 0).await.unwrap() {
        None => written(s.create(key, b(value)).await.unwrap()),
        Some(kv) => written(s.update(key, b(value), kv.mod_revision).await.unwrap()),
    }
}

fn range(prefix: &str) -> RangeRequest {
    RangeRequest {
        prefix: prefix.into(),
        ..Default::default()
    }
}

async fn next(w: &mut WatchStream) -> Event {
    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
        Ok(Some(Ok(ev))) => ev,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn nothing_pending(w: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(100), w.next()).await {
        panic!("expected no event, got {item:?}");
    }
}

on_every_backend!(
    cas_conflicts,
    revisions_monotonic,
    read_at_past_revision,
    range_limit_start_after_count,
    watch_replay_then_live_without_gaps_or_duplicates,
    watch_from_now_and_delete_carries_previous,
    compaction_rejects_old_reads_and_keeps_newer,
    reopen_keeps_data_revisions_and_history,
    scheduled_compactor_keeps_the_window,
    a_range_larger_than_grpc_default_limit,
);

/// Eight values of 1 MiB read as one range: 8 MiB in one response, twice
/// gRPC's default 4 MiB message limit, as a LIST of many objects is.
async fn a_range_larger_than_grpc_default_limit(t: TestBackend) {
    let s = t.store();
    let value = "x".repeat(1 << 20);
    for i in 0..8 {
        s.create(&format!("/registry/configmaps/default/big{i}"), b(&value))
            .await
            .unwrap();
    }
    let all = s.range(range("/registry/configmaps/")).await.unwrap();
    assert_eq!(all.kvs.len(), 8);
    assert!(all.kvs.iter().all(|kv| kv.value.len() == 1 << 20));
}

async fn cas_conflicts(t: TestBackend) {
    let s = t.store();

    let r1 = written(s.create("/registry/pods/default/a", b("v1")).await.unwrap());
    match s
        .create("/registry/pods/default/a", b("again"))
        .await
        .unwrap()
    {
        WriteOutcome::Conflict { current: Some(kv) } => {
            assert_eq!(kv.value, b("v1"));
            assert_eq!(kv.mod_revision, r1);
        }
        other => panic!("create over an existing key: {other:?}"),
    }

    // A stale update is refused and reports the current state.
    let r2 = written(
        s.update("/registry/pods/default/a", b("v2"), r1)
            .await
            .unwrap(),
    );
    match s
        .update("/registry/pods/default/a", b("lost"), r1)
        .await
        .unwrap()
    {
        WriteOutcome::Conflict { current: Some(kv) } => assert_eq!(kv.mod_revision, r2),
        other => panic!("stale update: {other:?}"),
    }
    assert_eq!(
        s.update("/registry/pods/default/missing", b("x"), r1)
            .await
            .unwrap(),
        WriteOutcome::Conflict { current: None }
    );

    // Deletes: stale refused, missing refused, 0 is unconditional.
    match s.delete("/registry/pods/default/a", r1).await.unwrap() {
        WriteOutcome::Conflict { current: Some(kv) } => assert_eq!(kv.value, b("v2")),
        other => panic!("stale delete: {other:?}"),
    }
    assert_eq!(
        s.delete("/registry/pods/default/missing", 0).await.unwrap(),
        WriteOutcome::Conflict { current: None }
    );
    match s.delete("/registry/pods/default/a", 0).await.unwrap() {
        WriteOutcome::Written {
            revision,
            previous: Some(prev),
        } => {
            assert_eq!(revision, r2 + 1);
            assert_eq!(prev.value, b("v2"));
            assert_eq!(prev.mod_revision, r2);
        }
        other => panic!("unconditional delete: {other:?}"),
    }
    assert_eq!(s.get("/registry/pods/default/a", 0).await.unwrap(), None);
    // Conflicts did not use up revisions.
    assert_eq!(s.current_revision().await.unwrap(), r2 + 1);

    // Re-creating starts a new life: create revision is reset.
    let r4 = written(s.create("/registry/pods/default/a", b("v3")).await.unwrap());
    let kv = s.get("/registry/pods/default/a", 0).await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision), (r4, r4));
}

async fn revisions_monotonic(t: TestBackend) {
    let s = t.store();
    assert_eq!(
        s.current_revision().await.unwrap(),
        1,
        "an empty store is at revision 1"
    );

    let first = written(s.create("/k/a", b("1")).await.unwrap());
    assert_eq!(first, 2, "the first write gets revision 2");
    let second = written(s.update("/k/a", b("2"), first).await.unwrap());
    let third = written(s.create("/k/b", b("1")).await.unwrap());
    let fourth = written(s.delete("/k/a", second).await.unwrap());
    assert_eq!((second, third, fourth), (3, 4, 5));

    let kv = s.get("/k/a", second).await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision), (first, second));
    assert_eq!(s.current_revision().await.unwrap(), 5);
    assert_eq!(s.range(range("/k/")).await.unwrap().revision, 5);
}

async fn read_at_past_revision(t: TestBackend) {
    let s = t.store();
    let r_a1 = put(&*s, "/r/a", "a1").await;
    let r_b1 = put(&*s, "/r/b", "b1").await;
    let r_a2 = put(&*s, "/r/a", "a2").await;
    let r_del = written(s.delete("/r/b", 0).await.unwrap());
    let r_c1 = put(&*s, "/r/c", "c1").await;

    let at = |kv: Option<KeyValue>| kv.map(|kv| String::from_utf8(kv.value.to_vec()).unwrap());
    assert_eq!(
        at(s.get("/r/a", r_a1).await.unwrap()).as_deref(),
        Some("a1")
    );
    assert_eq!(
        at(s.get("/r/a", r_b1).await.unwrap()).as_deref(),
        Some("a1")
    );
    assert_eq!(
        at(s.get("/r/a", r_a2).await.unwrap()).as_deref(),
        Some("a2")
    );
    assert_eq!(
        at(s.get("/r/b", r_a1).await.unwrap()),
        None,
        "not yet created"
    );
    assert_eq!(
        at(s.get("/r/b", r_a2).await.unwrap()).as_deref(),
        Some("b1")
    );
    assert_eq!(at(s.get("/r/b", r_del).await.unwrap()), None, "deleted");

    let list = |r: i64| {
        let s = Arc::clone(&s);
        async move {
            let res = s
                .range(RangeRequest {
                    revision: r,
                    ..range("/r/")
                })
                .await
                .unwrap();
            assert_eq!(res.revision, r);
            res.kvs
                .into_iter()
                .map(|kv| {
                    format!(
                        "{}={}@{}",
                        kv.key,
                        String::from_utf8_lossy(&kv.value),
                        kv.mod_revision
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(r_b1).await,
        [format!("/r/a=a1@{r_a1}"), format!("/r/b=b1@{r_b1}")]
    );
    assert_eq!(
        list(r_a2).await,
        [format!("/r/a=a2@{r_a2}"), format!("/r/b=b1@{r_b1}")]
    );
    assert_eq!(list(r_del).await, [format!("/r/a=a2@{r_a2}")]);
    assert_eq!(
        list(r_c1).await,
        [format!("/r/a=a2@{r_a2}"), format!("/r/c=c1@{r_c1}")]
    );

    match s.get("/r/a", r_c1 + 1).await {
        Err(StoreError::FutureRevision { requested, current }) => {
            assert_eq!((requested, current), (r_c1 + 1, r_c1));
        }
        other => panic!("future read: {other:?}"),
    }
    assert!(matches!(
        s.range(RangeRequest {
            revision: 1000,
            ..range("/r/")
        })
        .await,
        Err(StoreError::FutureRevision { .. })
    ));
}

async fn range_limit_start_after_count(t: TestBackend) {
    let s = t.store();
    for name in ["e", "a", "c", "b", "d"] {
        put(&*s, &format!("/registry/pods/ns1/{name}"), name).await;
    }
    // Neighbours that share a string prefix but not the key prefix.
    put(&*s, "/registry/pods/ns10/x", "x").await;
    put(&*s, "/registry/pods/ns0/y", "y").await;
    put(&*s, "/registry/podsecurity/z", "z").await;
    let names = |kvs: &[KeyValue]| {
        kvs.iter()
            .map(|kv| kv.key.rsplit('/').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    let all = s.range(range("/registry/pods/ns1/")).await.unwrap();
    assert_eq!(names(&all.kvs), ["a", "b", "c", "d", "e"]);
    assert_eq!((all.count, all.more), (5, false));

    let page = s
        .range(RangeRequest {
            limit: 2,
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(names(&page.kvs), ["a", "b"]);
    assert_eq!((page.count, page.more), (5, true));

    let page2 = s
        .range(RangeRequest {
            limit: 2,
            start_after: Some("/registry/pods/ns1/b".into()),
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(names(&page2.kvs), ["c", "d"]);
    assert_eq!(
        (page2.count, page2.more),
        (3, true),
        "count is from the start point"
    );

    let last = s
        .range(RangeRequest {
            limit: 2,
            start_after: Some("/registry/pods/ns1/d".into()),
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(names(&last.kvs), ["e"]);
    assert_eq!((last.count, last.more), (1, false));

    // A start key that is not itself stored, and one before the prefix.
    let mid = s
        .range(RangeRequest {
            start_after: Some("/registry/pods/ns1/bb".into()),
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(names(&mid.kvs), ["c", "d", "e"]);
    let before = s
        .range(RangeRequest {
            start_after: Some("/a".into()),
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(before.count, 5);
    let beyond = s
        .range(RangeRequest {
            start_after: Some("/z".into()),
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!((beyond.count, beyond.kvs.len()), (0, 0));

    let counted = s
        .range(RangeRequest {
            count_only: true,
            ..range("/registry/pods/")
        })
        .await
        .unwrap();
    assert!(counted.kvs.is_empty());
    assert_eq!(counted.count, 7);
    assert_eq!(s.range(range("/registry/")).await.unwrap().count, 8);
    assert_eq!(s.range(range("")).await.unwrap().count, 8);

    // The same pagination at a past revision, after more changes.
    let then = s.current_revision().await.unwrap();
    s.delete("/registry/pods/ns1/a", 0).await.unwrap();
    put(&*s, "/registry/pods/ns1/c", "c2").await;
    put(&*s, "/registry/pods/ns1/f", "f").await;
    let old = s
        .range(RangeRequest {
            limit: 2,
            revision: then,
            start_after: Some("/registry/pods/ns1/a".into()),
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(names(&old.kvs), ["b", "c"]);
    assert_eq!(old.kvs[1].value, b("c"));
    assert_eq!((old.count, old.more, old.revision), (4, true, then));
    let old_count = s
        .range(RangeRequest {
            count_only: true,
            revision: then,
            ..range("/registry/pods/ns1/")
        })
        .await
        .unwrap();
    assert_eq!(old_count.count, 5);
    let now = s.range(range("/registry/pods/ns1/")).await.unwrap();
    assert_eq!(names(&now.kvs), ["b", "c", "d", "e", "f"]);
}

/// Reads `w` until revision `end`, checking that every revision after
/// `from` arrives exactly once and in order, and that each event's prev is
/// the state this watcher last saw for the key.
async fn expect_contiguous(w: &mut WatchStream, from: i64, end: i64) {
    let mut state: BTreeMap<String, KeyValue> = BTreeMap::new();
    for expected in from + 1..=end {
        let ev = next(w).await;
        assert_eq!(
            ev.revision(),
            expected,
            "watch from {from}: every revision once, in order"
        );
        if let Some(seen) = state.get(&ev.kv.key) {
            assert_eq!(ev.prev.as_ref(), Some(seen), "prev of {}", ev.revision());
        }
        match ev.kind {
            EventKind::Put => {
                state.insert(ev.kv.key.clone(), ev.kv.clone());
            }
            EventKind::Delete => {
                assert!(ev.prev.is_some(), "a delete carries the deleted object");
                assert!(ev.kv.value.is_empty());
                state.remove(&ev.kv.key);
            }
        }
    }
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(10), w.next()).await {
        panic!("expected no event after {end}, got {item:?}");
    }
}

async fn watch_replay_then_live_without_gaps_or_duplicates(t: TestBackend) {
    let s = t.store();
    let writers = 4;
    let per_writer = 200;
    let total = writers * per_writer;

    let mut tasks = Vec::new();
    for w in 0..writers {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let key = format!("/w/{w}/{}", i % 10);
                put(&*s, &key, &format!("{i}")).await;
                if i % 7 == 0 {
                    s.delete(&key, 0).await.unwrap();
                }
            }
        }));
    }
    // Open watchers all through the writes, each from some revision in the
    // past (or from "now"): each replays part of the history and gets the
    // rest live, and the switch happens while commits are landing.
    let mut watchers = Vec::new();
    let mut i: i64 = 0;
    while tasks.iter().any(|t| !t.is_finished()) {
        let current = s.current_revision().await.unwrap();
        let from = match i % 4 {
            0 => 0,
            1 => current,
            _ => (current - i * 7).max(1),
        };
        let w = s.watch("/w/", from).await.unwrap();
        // "From now" starts somewhere between the revision read before the
        // call and the one read after it.
        let opened = s.current_revision().await.unwrap();
        let from = if from == 0 { current } else { from };
        watchers.push((from, opened, i % 4 == 0, w));
        i += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let end = s.current_revision().await.unwrap();
    let deletes = (0..per_writer).filter(|i| i % 7 == 0).count() * writers;
    assert_eq!(end, 1 + (total + deletes) as i64);
    assert!(
        watchers.len() >= 8,
        "only {} watchers were opened",
        watchers.len()
    );

    for (from, opened, from_now, mut w) in watchers {
        if from_now && opened == end {
            // Every write had landed by the time the call returned, so the
            // watch may have begun after the last one (nothing to deliver)
            // or before some (then they come, contiguous up to the end).
            match tokio::time::timeout(Duration::from_secs(2), w.next()).await {
                Err(_) => {}
                Ok(Some(Ok(ev))) => {
                    assert!(ev.revision() > from);
                    expect_contiguous(&mut w, ev.revision(), end).await;
                }
                Ok(other) => panic!("expected an event or none, got {other:?}"),
            }
        } else if from_now {
            // The exact start is unknown (writes raced the call), but what
            // arrives must still be contiguous up to the end.
            let first = next(&mut w).await.revision();
            assert!(first > from);
            expect_contiguous(&mut w, first, end).await;
        } else {
            expect_contiguous(&mut w, from, end).await;
        }
    }

    // A narrower prefix sees exactly its keys, in order.
    let mut narrow = s.watch("/w/1/", 10).await.unwrap();
    let mut last = 10;
    let mut count = 0;
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(200), narrow.next()).await
    {
        let ev = item.unwrap();
        assert!(ev.kv.key.starts_with("/w/1/"));
        assert!(ev.revision() > last);
        last = ev.revision();
        count += 1;
    }
    assert!(count > 0 && last <= end);
}

async fn watch_from_now_and_delete_carries_previous(t: TestBackend) {
    let s = t.store();
    let r1 = put(&*s, "/x/a", "1").await;
    let mut w = s.watch("/x/", 0).await.unwrap();
    nothing_pending(&mut w).await;

    let r2 = put(&*s, "/x/a", "2").await;
    put(&*s, "/y/ignored", "-").await;
    let r3 = written(s.delete("/x/a", r2).await.unwrap());

    let ev = next(&mut w).await;
    assert_eq!((ev.kind, ev.revision()), (EventKind::Put, r2));
    assert_eq!(ev.kv.create_revision, r1);
    assert_eq!(ev.prev.as_ref().map(|p| p.mod_revision), Some(r1));
    let ev = next(&mut w).await;
    assert_eq!((ev.kind, ev.revision()), (EventKind::Delete, r3));
    let prev = ev.prev.expect("deleted object");
    assert_eq!((prev.value, prev.mod_revision), (b("2"), r2));
    nothing_pending(&mut w).await;

    // The same two events replayed from history look identical.
    let mut replay = s.watch("/x/", r1).await.unwrap();
    let a = next(&mut replay).await;
    let d = next(&mut replay).await;
    assert_eq!((a.revision(), d.revision()), (r2, r3));
    assert_eq!(d.prev.map(|p| p.value), Some(b("2")));
    assert_eq!(a.prev.map(|p| p.value), Some(b("1")));
    nothing_pending(&mut replay).await;
}

async fn compaction_rejects_old_reads_and_keeps_newer(t: TestBackend) {
    let s = t.store();
    let r_a1 = put(&*s, "/c/a", "a1").await; // 2
    let r_b1 = put(&*s, "/c/b", "b1").await; // 3
    let r_a2 = put(&*s, "/c/a", "a2").await; // 4
    let r_bd = written(s.delete("/c/b", 0).await.unwrap()); // 5
    let r_d1 = put(&*s, "/c/d", "d1").await; // 6
    let r_a3 = put(&*s, "/c/a", "a3").await; // 7
    let r_dd = written(s.delete("/c/d", 0).await.unwrap()); // 8
    let before_compaction = s
        .range(RangeRequest {
            revision: r_d1,
            ..range("/c/")
        })
        .await
        .unwrap();

    s.compact(r_d1).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), r_d1);

    // Older reads and watches fail.
    for rev in [r_a1, r_b1, r_a2, r_bd] {
        assert!(
            matches!(s.get("/c/a", rev).await, Err(StoreError::Compacted { compacted, .. }) if compacted == r_d1),
            "get at {rev}"
        );
        assert!(matches!(
            s.range(RangeRequest {
                revision: rev,
                ..range("/c/")
            })
            .await,
            Err(StoreError::Compacted { .. })
        ));
    }
    match s.watch("/c/", r_a2).await {
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => {
            assert_eq!((requested, compacted), (r_a2 + 1, r_d1));
        }
        Err(e) => panic!("watch before the window: {e}"),
        Ok(_) => panic!("watch before the window succeeded"),
    }

    // The compacted revision itself is still readable, exactly as before.
    let at = s
        .range(RangeRequest {
            revision: r_d1,
            ..range("/c/")
        })
        .await
        .unwrap();
    assert_eq!(at.kvs, before_compaction.kvs);
    assert_eq!(s.get("/c/b", r_d1).await.unwrap(), None);
    assert_eq!(s.get("/c/a", r_d1).await.unwrap().unwrap().value, b("a2"));

    // A watch from just before the compacted revision replays it, with prev.
    let mut w = s.watch("/c/", r_d1 - 1).await.unwrap();
    let ev = next(&mut w).await;
    assert_eq!(
        (ev.revision(), ev.kind, ev.prev),
        (r_d1, EventKind::Put, None)
    );
    let ev = next(&mut w).await;
    assert_eq!(ev.revision(), r_a3);
    assert_eq!(ev.prev.map(|p| p.value), Some(b("a2")));
    let ev = next(&mut w).await;
    assert_eq!((ev.revision(), ev.kind), (r_dd, EventKind::Delete));
    assert_eq!(ev.prev.map(|p| p.value), Some(b("d1")));

    // Compacting again is harmless; a future revision is refused.
    s.compact(r_a1).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), r_d1);
    assert!(matches!(
        s.compact(100).await,
        Err(StoreError::FutureRevision { .. })
    ));

    // Compacting everything leaves the current state intact.
    let end = s.current_revision().await.unwrap();
    s.compact(end).await.unwrap();
    let now = s.range(range("/c/")).await.unwrap();
    assert_eq!(now.kvs.len(), 1);
    assert_eq!(now.kvs[0].value, b("a3"));
    assert_eq!(
        s.get("/c/a", end).await.unwrap().unwrap().mod_revision,
        r_a3
    );
    assert_eq!(s.get("/c/d", end).await.unwrap(), None);
    let mut w = s.watch("/c/", end).await.unwrap();
    let r = put(&*s, "/c/a", "a4").await;
    let ev = next(&mut w).await;
    assert_eq!(ev.revision(), r);
    assert_eq!(ev.prev.map(|p| p.value), Some(b("a3")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_mid_replay_ends_the_watch_with_compacted() {
    let dir = TempDir::new().unwrap();
    let s = open(&dir).await;
    for i in 0..2000 {
        put(&*s, &format!("/m/{}", i % 50), "v").await;
    }
    let mut w = s.watch("/m/", 1).await.unwrap();
    // The first replay step is read; then the history under it goes away.
    let first = next(&mut w).await;
    assert_eq!(first.revision(), 2);
    s.compact(1500).await.unwrap();
    let mut last = first.revision();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .unwrap()
        {
            Some(Ok(ev)) => {
                assert_eq!(ev.revision(), last + 1);
                last = ev.revision();
            }
            Some(Err(StoreError::Compacted { compacted, .. })) => {
                assert_eq!(compacted, 1500);
                break;
            }
            other => panic!("expected events then Compacted, got {other:?}"),
        }
    }
    assert!(w.next().await.is_none(), "the stream ends after the error");
}

async fn reopen_keeps_data_revisions_and_history(mut t: TestBackend) {
    let (r_a1, r_a2, r_del, r_c) = {
        let s = t.store();
        let r_a1 = put(&*s, "/p/a", "a1").await;
        let r_a2 = put(&*s, "/p/a", "a2").await;
        put(&*s, "/p/b", "b").await;
        let r_del = written(s.delete("/p/b", 0).await.unwrap());
        s.compact(r_a2).await.unwrap();
        let r_c = put(&*s, "/p/c", "c").await;
        // The newest write being a delete must not lose its revision.
        let r_cd = written(s.delete("/p/c", 0).await.unwrap());
        assert_eq!(s.current_revision().await.unwrap(), r_cd);
        (r_a1, r_a2, r_del, r_c)
    };
    t.reopen().await;
    let s = t.store();
    assert_eq!(s.current_revision().await.unwrap(), r_c + 1);
    assert_eq!(s.compacted_revision().await.unwrap(), r_a2);
    let a = s.get("/p/a", 0).await.unwrap().unwrap();
    assert_eq!(
        (a.value, a.create_revision, a.mod_revision),
        (b("a2"), r_a1, r_a2)
    );
    assert!(matches!(
        s.get("/p/a", r_a1).await,
        Err(StoreError::Compacted { .. })
    ));
    assert_eq!(
        s.get("/p/b", r_del - 1).await.unwrap().unwrap().value,
        b("b")
    );
    assert_eq!(s.get("/p/c", r_c).await.unwrap().unwrap().value, b("c"));

    let next_rev = put(&*s, "/p/d", "d").await;
    assert_eq!(next_rev, r_c + 2, "revisions continue");

    let mut w = s.watch("/p/", r_a2).await.unwrap();
    let revs: Vec<i64> = [
        next(&mut w).await,
        next(&mut w).await,
        next(&mut w).await,
        next(&mut w).await,
        next(&mut w).await,
    ]
    .iter()
    .map(Event::revision)
    .collect();
    assert_eq!(revs, (r_a2 + 1..=next_rev).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_writers() {
    let dir = TempDir::new().unwrap();
    let s = open(&dir).await;
    let writers = 64;
    let per_writer = 20;
    let before = s.stats();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..per_writer {
                revs.push(written(
                    s.create(&format!("/g/{w}/{i}"), b("x")).await.unwrap(),
                ));
            }
            revs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let n = (writers * per_writer) as i64;
    assert_eq!(
        all,
        (2..2 + n).collect::<Vec<_>>(),
        "every write got its own revision"
    );

    let stats = s.stats();
    let commits = stats.commits - before.commits;
    let requests = stats.requests - before.requests;
    assert_eq!(requests, n as u64);
    assert!(
        commits < requests / 2,
        "{commits} commits for {requests} writes"
    );
    assert!(stats.largest_batch > 1);
    assert_eq!(s.range(range("/g/")).await.unwrap().count, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_watcher_gets_watch_lagged() {
    let dir = TempDir::new().unwrap();
    let options = EmbeddedOptions {
        watch_buffer: 8,
        ..Default::default()
    };
    let s = EmbeddedBackend::open_with(&dir.path().join("state.redb"), options)
        .await
        .unwrap();
    let mut w = s.watch("/l/", 0).await.unwrap();
    for i in 0..50 {
        put(&*s, &format!("/l/{i}"), "v").await;
    }
    let mut saw_lagged = false;
    while let Some(item) = w.next().await {
        match item {
            Ok(_) => assert!(!saw_lagged, "nothing after the error"),
            Err(StoreError::WatchLagged) => saw_lagged = true,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(saw_lagged);
}

async fn scheduled_compactor_keeps_the_window(t: TestBackend) {
    let s = t.store();
    let policy = CompactionPolicy {
        interval: Duration::from_millis(100),
        min_retained_revisions: 5,
    };
    for i in 0..30 {
        put(&*s, &format!("/s/{}", i % 3), "v").await;
    }
    let task = t.spawn_compactor(policy);
    // The first tick notes the revision, a later one compacts to it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.compacted_revision().await.unwrap() <= 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the compactor never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let compacted = s.compacted_revision().await.unwrap();
    let current = s.current_revision().await.unwrap();
    assert!(compacted > 1, "compacted to {compacted}");
    assert!(
        compacted <= current - 5,
        "kept at least 5 revisions ({compacted} of {current})"
    );
    assert_eq!(s.range(range("/s/")).await.unwrap().count, 3);

    // The task ends once the backend is gone.
    drop(s);
    drop(t);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
}

/// Drops the backend and opens the same file again in the same process: the
/// writer must have released the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_releases_the_file() {
    let dir = TempDir::new().unwrap();
    for round in 0..3 {
        let s = open(&dir).await;
        put(&*s, "/f/a", &format!("{round}")).await;
    }
    let s = open(&dir).await;
    assert_eq!(s.get("/f/a", 0).await.unwrap().unwrap().value, b("2"));
    assert!(s.ready().await.is_ok());
}
