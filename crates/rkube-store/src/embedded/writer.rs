//! The single writer: group commit of conditional writes and compaction.
//!
//! One thread owns every write transaction. It blocks for a request, takes
//! whatever else is already queued (up to a cap), applies the lot in arrival
//! order in one transaction and commits once. The fsync that makes the
//! batch durable is the price of durability; sharing it between every
//! request that queued up while the previous one ran is what lets
//! throughput grow with concurrency instead of being capped at one fsync per
//! write. That fsync is normally the append of the batch to the
//! write-ahead log (see `wal`), followed by a redb commit without
//! durability; every `CHECKPOINT_INTERVAL` a batch commits durably to redb
//! instead and the log starts again. Revisions are handed out inside the
//! transaction, so the order of revisions is the order of application, and
//! events are published only after the batch is durable: a watcher never
//! sees a change that a crash could take back.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redb::{Database, Durability, ReadableTable, Table, WriteTransaction};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::reader::tombstone_kv;
use super::schema::{
    CURRENT, EVENTS, HISTORY, META, META_COMPACTED, META_REVISION, decode_current, encode_current,
    encode_put, encode_tombstone, internal, is_tombstone,
};
use super::wal::Wal;
use crate::backend::{Event, EventKind, KeyValue, StoreError, WriteOutcome};

/// How often a batch commits durably to redb, which lets the write-ahead
/// log start again. Longer means fewer slow commits but a longer replay
/// after a crash and more pages written at each checkpoint.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// A log this large is checkpointed at once, whatever the interval.
const CHECKPOINT_LOG_BYTES: u64 = 64 << 20;

pub(super) enum Op {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: i64,
    },
    Delete {
        key: String,
        expected: i64,
    },
    /// Compact up to `revision`; the caller keeps each step small, since the
    /// whole step runs inside one write transaction and delays other writes.
    Compact {
        revision: i64,
    },
}

pub(super) enum Reply {
    Write(WriteOutcome),
    Compacted,
}

pub(super) struct Request {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Reply, StoreError>>,
}

/// Counters the writer keeps; read through `EmbeddedBackend::stats`.
#[derive(Default)]
pub(super) struct Counters {
    pub commits: AtomicU64,
    pub requests: AtomicU64,
    pub largest_batch: AtomicU64,
    /// Set when a commit failed: redb then refuses further writes until the
    /// file is reopened, so readiness must report it.
    pub failed: AtomicBool,
}

pub(super) struct Writer {
    pub db: Arc<Database>,
    pub requests: mpsc::Receiver<Request>,
    pub events: broadcast::Sender<Event>,
    pub counters: Arc<Counters>,
    pub max_batch: usize,
    pub wal: Wal,
    pub last_checkpoint: Instant,
}

impl Writer {
    /// Runs until every sender is gone (the backend was dropped).
    pub fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = self.requests.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match self.requests.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            // A caller that gave up was never told the write happened; not
            // applying it spares a hidden write that a retry would collide with.
            batch.retain(|r| !r.reply.is_closed());
            if !batch.is_empty() {
                self.process(&mut batch);
            }
            batch.clear();
        }
        // A clean shutdown leaves nothing to replay.
        if self.wal.len() > 0 {
            match apply(&self.db, &[], None) {
                Ok(_) => self.wal.reset(),
                Err(Failure { error, .. }) => {
                    tracing::warn!(%error, "final checkpoint failed; the log is replayed at the next start");
                }
            }
        }
    }

    fn checkpoint_due(&self, ops: &[&Op]) -> bool {
        // Compaction steps rewrite history that the log does not describe,
        // so they always commit durably.
        ops.iter().any(|op| matches!(op, Op::Compact { .. }))
            || self.wal.len() >= CHECKPOINT_LOG_BYTES
            || self.last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL
    }

    fn process(&mut self, batch: &mut Vec<Request>) {
        let ops: Vec<&Op> = batch.iter().map(|r| &r.op).collect();
        let checkpoint = self.checkpoint_due(&ops);
        let wal = (!checkpoint).then_some(&mut self.wal);
        let outcome = apply(&self.db, &ops, wal);
        if checkpoint && outcome.is_ok() {
            self.last_checkpoint = Instant::now();
            self.wal.reset();
        }
        let size = batch.len() as u64;
        self.counters.requests.fetch_add(size, Ordering::Relaxed);
        self.counters
            .largest_batch
            .fetch_max(size, Ordering::Relaxed);
        match outcome {
            Ok((replies, events)) => {
                self.counters.commits.fetch_add(1, Ordering::Relaxed);
                // Publish before answering so that a caller which reads its
                // own write back through a watch-fed cache finds it there.
                for event in events {
                    // No receiver is not an error: nobody is watching.
                    let _ = self.events.send(event);
                }
                for (req, reply) in batch.drain(..).zip(replies) {
                    let _ = req.reply.send(reply);
                }
            }
            Err(Failure { error, commit }) => {
                if commit {
                    self.counters.failed.store(true, Ordering::Relaxed);
                    tracing::error!(%error, "storage commit failed; writes are refused until restart");
                } else {
                    tracing::warn!(%error, "storage write transaction failed");
                }
                for req in batch.drain(..) {
                    let _ = req.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

struct Failure {
    error: StoreError,
    /// The commit itself failed (as opposed to building the transaction).
    commit: bool,
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure {
            error,
            commit: false,
        }
    }
}

type Applied = (Vec<Result<Reply, StoreError>>, Vec<Event>);

/// Applies `ops` in order in one transaction; the whole batch commits or
/// none of it does. With a log, the batch's changes are appended and synced
/// there before the transaction commits without durability; without one,
/// the commit itself is durable (a checkpoint).
fn apply(db: &Database, ops: &[&Op], wal: Option<&mut Wal>) -> Result<Applied, Failure> {
    let mut txn = db.begin_write().map_err(internal)?;
    let durability = if wal.is_some() {
        Durability::None
    } else {
        Durability::Immediate
    };
    txn.set_durability(durability).map_err(internal)?;
    let result = apply_in(&txn, ops)?;
    if let Some(wal) = wal
        && !result.1.is_empty()
    {
        // Dropping the transaction aborts it: nothing of the batch is seen.
        wal.append(&result.1).map_err(|error| Failure {
            error,
            commit: true,
        })?;
    }
    txn.commit().map_err(|e| Failure {
        error: internal(e),
        commit: true,
    })?;
    Ok(result)
}

/// Applies the log's batches that the database does not have yet, in one
/// durable commit; returns how many were applied. Called on open, before
/// the writer starts.
pub(super) fn replay(db: &Database, batches: &[Vec<Event>]) -> Result<usize, StoreError> {
    let mut txn = db.begin_write().map_err(internal)?;
    txn.set_durability(Durability::Immediate)
        .map_err(internal)?;
    let mut applied = 0;
    {
        let mut t = Tables {
            meta: txn.open_table(META).map_err(internal)?,
            current: txn.open_table(CURRENT).map_err(internal)?,
            history: txn.open_table(HISTORY).map_err(internal)?,
            events: txn.open_table(EVENTS).map_err(internal)?,
        };
        let mut revision = read_meta(&t.meta, META_REVISION)?;
        for batch in batches {
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                continue;
            };
            if last.revision() <= revision {
                continue;
            }
            if first.revision() != revision + 1 {
                return Err(StoreError::Unavailable(format!(
                    "the write-ahead log continues at revision {} but the database is at {revision}",
                    first.revision()
                )));
            }
            for event in batch {
                record(&mut t, event)?;
            }
            revision = last.revision();
            applied += 1;
        }
        t.meta.insert(META_REVISION, revision).map_err(internal)?;
    }
    txn.commit().map_err(internal)?;
    Ok(applied)
}

struct Tables<'t> {
    meta: Table<'t, &'static str, i64>,
    current: Table<'t, &'static str, &'static [u8]>,
    history: Table<'t, (&'static str, i64), &'static [u8]>,
    events: Table<'t, i64, &'static str>,
}

fn apply_in(txn: &WriteTransaction, ops: &[&Op]) -> Result<Applied, StoreError> {
    let mut t = Tables {
        meta: txn.open_table(META).map_err(internal)?,
        current: txn.open_table(CURRENT).map_err(internal)?,
        history: txn.open_table(HISTORY).map_err(internal)?,
        events: txn.open_table(EVENTS).map_err(internal)?,
    };
    let start = read_meta(&t.meta, META_REVISION)?;
    let mut revision = start;
    let mut replies = Vec::with_capacity(ops.len());
    let mut events = Vec::new();
    for op in ops {
        let reply = match op {
            // Storage errors abort the whole transaction (`?`): a half-done
            // compaction or write must never be committed. Errors that
            // concern one request alone are answered to that request.
            Op::Compact { revision: target } if *target > revision => {
                Err(StoreError::FutureRevision {
                    requested: *target,
                    current: revision,
                })
            }
            Op::Compact { revision: target } => {
                compact(&mut t, *target)?;
                Ok(Reply::Compacted)
            }
            write => match write_one(&mut t, write, revision + 1)? {
                Written::Refused(error) => Err(error),
                Written::Conflict(current) => Ok(Reply::Write(WriteOutcome::Conflict { current })),
                Written::Done(event) => {
                    revision += 1;
                    let outcome = WriteOutcome::Written {
                        revision,
                        previous: event.prev.clone(),
                    };
                    events.push(event);
                    Ok(Reply::Write(outcome))
                }
            },
        };
        replies.push(reply);
    }
    if revision != start {
        t.meta.insert(META_REVISION, revision).map_err(internal)?;
    }
    Ok((replies, events))
}

fn read_meta(meta: &Table<'_, &'static str, i64>, name: &str) -> Result<i64, StoreError> {
    meta.get(name)
        .map_err(internal)?
        .map(|v| v.value())
        .ok_or_else(|| StoreError::Internal(format!("store metadata {name:?} is missing")))
}

enum Written {
    /// Nothing was changed; this request alone fails (e.g. its key's record
    /// is unreadable), the rest of the batch goes on.
    Refused(StoreError),
    Conflict(Option<KeyValue>),
    Done(Event),
}

/// One create, update or delete, which gets `revision` if it succeeds.
fn write_one(t: &mut Tables<'_>, op: &Op, revision: i64) -> Result<Written, StoreError> {
    let (key, expected) = match op {
        Op::Create { key, .. } => (key, None),
        Op::Update { key, expected, .. } | Op::Delete { key, expected } => (key, Some(*expected)),
        Op::Compact { .. } => {
            return Ok(Written::Refused(StoreError::Internal(
                "compaction is not a write".into(),
            )));
        }
    };
    let current = match t.current.get(key.as_str()).map_err(internal)? {
        Some(raw) => match decode_current(key, raw.value()) {
            Ok(kv) => Some(kv),
            Err(error) => return Ok(Written::Refused(error)),
        },
        None => None,
    };
    let matches = match (op, &current, expected) {
        (Op::Create { .. }, None, _) => true,
        (Op::Delete { .. }, Some(_), Some(0)) => true,
        (_, Some(cur), Some(want)) => cur.mod_revision == want,
        _ => false,
    };
    if !matches {
        return Ok(Written::Conflict(current));
    }
    let event = match op {
        Op::Create { value, .. } | Op::Update { value, .. } => {
            let create_revision = current.as_ref().map_or(revision, |c| c.create_revision);
            Event {
                kind: EventKind::Put,
                kv: KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision,
                    mod_revision: revision,
                },
                prev: current,
            }
        }
        _ => Event {
            kind: EventKind::Delete,
            kv: tombstone_kv(key, revision),
            prev: current,
        },
    };
    record(t, &event)?;
    Ok(Written::Done(event))
}

/// Writes one change into the tables: the same for a new write and for
/// one replayed from the log, so that both leave identical state.
fn record(t: &mut Tables<'_>, event: &Event) -> Result<(), StoreError> {
    let kv = &event.kv;
    let (key, revision) = (kv.key.as_str(), kv.mod_revision);
    t.events.insert(revision, key).map_err(internal)?;
    match event.kind {
        EventKind::Put => {
            t.current
                .insert(
                    key,
                    encode_current(kv.create_revision, revision, &kv.value).as_slice(),
                )
                .map_err(internal)?;
            t.history
                .insert(
                    (key, revision),
                    encode_put(kv.create_revision, &kv.value).as_slice(),
                )
                .map_err(internal)?;
        }
        EventKind::Delete => {
            t.current.remove(key).map_err(internal)?;
            t.history
                .insert((key, revision), encode_tombstone().as_slice())
                .map_err(internal)?;
        }
    }
    Ok(())
}

/// Makes `target` the oldest readable revision.
///
/// Reads at `target` or later need, per key, the newest version before
/// `target` (unless that was a delete) and everything from `target` on; the
/// event at `target` itself needs the same older version as its `prev`. So
/// what goes is: every version before `target` except each key's newest, and
/// that one too when it is a tombstone; and the event log before `target`.
/// Only keys written since the previous compaction can have more than one
/// old version, and the event log names exactly those, so the work is
/// proportional to the history being dropped, not to the size of the store.
fn compact(t: &mut Tables<'_>, target: i64) -> Result<(), StoreError> {
    let compacted = read_meta(&t.meta, META_COMPACTED)?;
    if target <= compacted {
        return Ok(());
    }
    let mut touched = BTreeSet::new();
    for entry in t.events.range(..target).map_err(internal)? {
        let (_, key) = entry.map_err(internal)?;
        touched.insert(key.value().to_owned());
    }
    for key in &touched {
        let mut drop = Vec::new();
        let mut newest = None;
        for entry in t
            .history
            .range((key.as_str(), i64::MIN)..(key.as_str(), target))
            .map_err(internal)?
        {
            let (k, v) = entry.map_err(internal)?;
            let revision = k.value().1;
            if let Some(older) = newest.replace((revision, is_tombstone(key, v.value())?)) {
                drop.push(older.0);
            }
        }
        if let Some((revision, true)) = newest {
            drop.push(revision);
        }
        for revision in drop {
            t.history
                .remove((key.as_str(), revision))
                .map_err(internal)?;
        }
    }
    t.events
        .retain_in(..target, |_, _| false)
        .map_err(internal)?;
    t.meta.insert(META_COMPACTED, target).map_err(internal)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_record_fails_only_its_own_request() {
        let dir = tempfile::TempDir::new().unwrap();
        let db = Database::create(dir.path().join("state.redb")).unwrap();
        super::super::initialize(&db).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(CURRENT)
            .unwrap()
            .insert("/bad", [1u8, 2].as_slice())
            .unwrap();
        txn.commit().unwrap();

        let ops = [
            Op::Update {
                key: "/bad".into(),
                value: Bytes::new(),
                expected: 2,
            },
            Op::Create {
                key: "/good".into(),
                value: Bytes::new(),
            },
            Op::Compact { revision: 99 },
        ];
        let ops: Vec<&Op> = ops.iter().collect();
        let Ok((replies, events)) = apply(&db, &ops, None) else {
            panic!("the batch failed")
        };
        assert!(matches!(replies[0], Err(StoreError::Internal(_))));
        assert!(matches!(
            replies[1],
            Ok(Reply::Write(WriteOutcome::Written { revision: 2, .. }))
        ));
        assert!(matches!(
            replies[2],
            Err(StoreError::FutureRevision {
                requested: 99,
                current: 2
            })
        ));
        assert_eq!(events.len(), 1);
        assert!(super::super::reader::get(&db, "/bad", 0).is_err());
        assert_eq!(
            super::super::reader::snapshot_bounds(&db).unwrap().current,
            2
        );
    }
}
