//! The default backend: one redb file with etcd v3's revision semantics.
//!
//! # Table layout
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | name | i64: `revision` (newest handed out), `compacted` (oldest readable), `format` |
//! | `current` | key | create revision, mod revision, value |
//! | `history` | (key, revision) | put (create revision, value) or tombstone |
//! | `events` | revision | key |
//!
//! Why four tables:
//!
//! - `current` answers the common case (reads and lists at the latest
//!   revision, and the compare-and-swap check of every write) with one
//!   lookup or one contiguous scan, instead of picking the newest version of
//!   each key out of the history. It duplicates the newest version's value;
//!   that costs space but keeps lists, the hottest path, a straight scan.
//! - `history` makes reads at a past revision possible: ordering by key and
//!   then revision puts all versions of a key side by side, so "the newest
//!   version at or before R" is one backwards step, and a prefix scan visits
//!   keys in the order a list returns them. Deletes are recorded as
//!   tombstones: without one, a read after a delete would find the version
//!   the delete removed.
//! - `events` is the same history in revision order, which is what a watch
//!   replays and what compaction walks. It holds only the key; the value and
//!   the previous value come from `history`, so nothing is stored twice.
//! - `meta` persists the revision counter, so revisions continue after a
//!   restart even when the newest write was a delete, and the compacted
//!   revision, so a restarted server still refuses reads it cannot answer.
//!
//! # Writes and durability
//!
//! Writes go through one writer thread (see `writer`) which applies queued
//! requests in one transaction and makes it durable before answering any of
//! them: an acknowledged write survives `kill -9`, and one fsync is shared
//! by every write in the batch. That fsync is usually an append to a
//! write-ahead log beside the database file (see `wal`), with a durable
//! redb commit once a second as a checkpoint. A storage error fails the
//! whole batch (nothing of it is committed); a failed precondition or an
//! unreadable record fails only its own request. Reads never wait for the
//! writer; each runs in its own read transaction on tokio's blocking pool.
//!
//! # Compaction
//!
//! After `compact(R)`, reads at R or later and watches from R-1 or later keep
//! working; older ones fail with [`StoreError::Compacted`]. Large compactions
//! are split into steps so that writes are never held up for long.
//! [`EmbeddedBackend::spawn_compactor`] runs it on a schedule.

mod compactor;
mod reader;
mod schema;
mod wal;
mod watch;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, DatabaseError, Durability, ReadableTable};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use compactor::CompactionPolicy;

use crate::backend::{
    Backend, Event, KeyValue, RangeRequest, RangeResult, StoreError, WatchStream, WriteOutcome,
};
use schema::{
    CURRENT, EVENTS, FORMAT_VERSION, HISTORY, INITIAL_REVISION, META, META_COMPACTED, META_FORMAT,
    META_REVISION, internal,
};
use writer::{Counters, Op, Reply, Request, Writer};

/// Tuning knobs; the defaults suit a single API server.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedOptions {
    /// Most requests applied in one transaction. Larger batches share an
    /// fsync more widely but make the first request in them wait longer.
    pub max_batch: usize,
    /// Requests that may wait for the writer before callers are slowed down.
    pub queue_depth: usize,
    /// Live events buffered per watcher; a watcher further behind than this
    /// gets [`StoreError::WatchLagged`]. Values are shared, not copied, so
    /// this costs little while watchers keep up.
    pub watch_buffer: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            max_batch: 256,
            queue_depth: 4096,
            watch_buffer: 8192,
        }
    }
}

/// What the writer has done since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// Transactions committed by the writer (one fsync each).
    pub commits: u64,
    /// Requests (writes, including those that failed their precondition,
    /// and compaction steps) handled by the writer.
    pub requests: u64,
    /// The most requests handled in one transaction.
    pub largest_batch: u64,
}

/// Revisions compacted per writer transaction.
const COMPACT_STEP: i64 = 10_000;

pub struct EmbeddedBackend {
    db: Arc<Database>,
    /// Taken in `Drop` to tell the writer to finish.
    requests: Option<mpsc::Sender<Request>>,
    events: broadcast::Sender<Event>,
    counters: Arc<Counters>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// Opens (or creates) the store at `path`, a file such as
    /// `<data-dir>/state.redb`, with default options.
    pub async fn open(path: &Path) -> Result<Arc<EmbeddedBackend>, StoreError> {
        Self::open_with(path, EmbeddedOptions::default()).await
    }

    pub async fn open_with(
        path: &Path,
        options: EmbeddedOptions,
    ) -> Result<Arc<EmbeddedBackend>, StoreError> {
        let path = path.to_owned();
        // Opening may replay a crashed commit (redb repairs on open), which is
        // blocking file work.
        let (db, wal) = tokio::task::spawn_blocking(move || open_database(&path))
            .await
            .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel(options.queue_depth.max(1));
        let (events, _) = broadcast::channel(options.watch_buffer.max(1));
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            db: Arc::clone(&db),
            requests: rx,
            events: events.clone(),
            counters: Arc::clone(&counters),
            max_batch: options.max_batch.max(1),
            wal,
            last_checkpoint: std::time::Instant::now(),
        };
        let handle = std::thread::Builder::new()
            .name("rkube-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Internal(format!("starting the storage writer: {e}")))?;
        Ok(Arc::new(EmbeddedBackend {
            db,
            requests: Some(tx),
            events,
            counters,
            writer: Some(handle),
        }))
    }

    /// Counters of the writer, e.g. to see how well group commit batches.
    pub fn stats(&self) -> EmbeddedStats {
        EmbeddedStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            requests: self.counters.requests.load(Ordering::Relaxed),
            largest_batch: self.counters.largest_batch.load(Ordering::Relaxed),
        }
    }

    async fn submit(&self, op: Op) -> Result<Reply, StoreError> {
        let closed = || StoreError::Unavailable("the storage writer has stopped".into());
        let requests = self.requests.as_ref().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request { op, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    async fn write(&self, op: Op) -> Result<WriteOutcome, StoreError> {
        match self.submit(op).await? {
            Reply::Write(outcome) => Ok(outcome),
            Reply::Compacted => Err(StoreError::Internal("writer answered out of kind".into())),
        }
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }
}

/// Opens the database and its write-ahead log (`<name>.wal` beside it), and
/// applies what the log holds beyond the database's last durable commit.
fn open_database(path: &Path) -> Result<(Database, wal::Wal), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable(format!("creating {}: {e}", dir.display())))?;
    }
    let db = Database::create(path).map_err(|e| match e {
        DatabaseError::DatabaseAlreadyOpen => {
            StoreError::Unavailable(format!("{} is already open", path.display()))
        }
        e => StoreError::Unavailable(format!("opening {}: {e}", path.display())),
    })?;
    initialize(&db)?;
    let (mut wal, batches) = wal::Wal::open(&path.with_extension("wal"))?;
    if !batches.is_empty() {
        let applied = writer::replay(&db, &batches)?;
        tracing::info!(applied, "replayed the write-ahead log");
        wal.reset();
    }
    Ok((db, wal))
}

/// Creates the tables and the counters of a new store, and checks the
/// format of an existing one.
fn initialize(db: &Database) -> Result<(), StoreError> {
    let mut txn = db.begin_write().map_err(internal)?;
    txn.set_durability(Durability::Immediate)
        .map_err(internal)?;
    {
        let mut meta = txn.open_table(META).map_err(internal)?;
        let format = meta.get(META_FORMAT).map_err(internal)?.map(|v| v.value());
        match format {
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(StoreError::Unavailable(format!(
                    "storage format {other} is not supported (this build reads {FORMAT_VERSION})"
                )));
            }
            None => {
                meta.insert(META_FORMAT, FORMAT_VERSION).map_err(internal)?;
                meta.insert(META_REVISION, INITIAL_REVISION)
                    .map_err(internal)?;
                meta.insert(META_COMPACTED, 0).map_err(internal)?;
            }
        }
        txn.open_table(CURRENT).map_err(internal)?;
        txn.open_table(HISTORY).map_err(internal)?;
        txn.open_table(EVENTS).map_err(internal)?;
    }
    txn.commit().map_err(internal)
}

impl Drop for EmbeddedBackend {
    /// Waits for the writer to finish what it holds, so that the file is
    /// closed (and can be reopened) once the last handle is gone. No caller
    /// can be waiting on a write at this point, so the wait is at most one
    /// commit of abandoned requests.
    fn drop(&mut self) {
        self.requests.take();
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::error!("the storage writer panicked");
        }
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    async fn get(&self, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_owned();
        self.read(move |db| reader::get(db, &key, revision)).await
    }

    /// `revision` of the result is the revision read: the current one, or
    /// the one asked for (which is what a list at an exact resourceVersion
    /// reports).
    async fn range(&self, req: RangeRequest) -> Result<RangeResult, StoreError> {
        self.read(move |db| reader::range(db, &req)).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<WriteOutcome, StoreError> {
        self.write(Op::Create {
            key: key.to_owned(),
            value,
        })
        .await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<WriteOutcome, StoreError> {
        self.write(Op::Update {
            key: key.to_owned(),
            value,
            expected: expected_mod_revision,
        })
        .await
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: i64,
    ) -> Result<WriteOutcome, StoreError> {
        self.write(Op::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        })
        .await
    }

    /// `after_revision <= 0` means "from now".
    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream, StoreError> {
        // Subscribe before taking the snapshot; see `watch` for why.
        let live = self.events.subscribe();
        let bounds = self.read(reader::snapshot_bounds).await?;
        let after = if after_revision <= 0 {
            bounds.current
        } else {
            after_revision
        };
        if after.saturating_add(1) < bounds.compacted {
            return Err(StoreError::Compacted {
                requested: after.saturating_add(1),
                compacted: bounds.compacted,
            });
        }
        Ok(watch::stream(
            Arc::downgrade(&self.db),
            live,
            prefix.to_owned(),
            after,
            bounds.current,
        ))
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        Ok(self.read(reader::snapshot_bounds).await?.current)
    }

    async fn compacted_revision(&self) -> Result<i64, StoreError> {
        Ok(self.read(reader::snapshot_bounds).await?.compacted)
    }

    /// Idempotent: compacting to a revision at or below the compacted one
    /// succeeds without effect (etcd would answer ErrCompacted). A revision
    /// above the current one gives [`StoreError::FutureRevision`].
    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        let bounds = self.read(reader::snapshot_bounds).await?;
        if revision > bounds.current {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: bounds.current,
            });
        }
        let mut done = bounds.compacted;
        while done < revision {
            let step = revision.min(done.saturating_add(COMPACT_STEP));
            match self.submit(Op::Compact { revision: step }).await? {
                Reply::Compacted => done = step,
                Reply::Write(_) => {
                    return Err(StoreError::Internal("writer answered out of kind".into()));
                }
            }
        }
        Ok(())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        if self.counters.failed.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable(
                "a commit failed; restart to let the store recover".into(),
            ));
        }
        if self.requests.as_ref().is_none_or(|r| r.is_closed()) {
            return Err(StoreError::Unavailable(
                "the storage writer has stopped".into(),
            ));
        }
        self.read(reader::snapshot_bounds).await.map(|_| ())
    }
}
