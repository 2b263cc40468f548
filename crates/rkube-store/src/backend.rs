//! The storage contract shared by every backend.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

/// One key as stored, with etcd's revision bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created this key (since its last deletion).
    pub create_revision: i64,
    /// Revision of the last write to this key; this is what the API server
    /// reports as `metadata.resourceVersion`.
    pub mod_revision: i64,
}

/// A prefix scan, optionally at a past revision and resuming after a key.
#[derive(Debug, Clone, Default)]
pub struct RangeRequest {
    /// Every key that starts with this prefix.
    pub prefix: String,
    /// Only keys strictly greater than this one (for `continue` tokens).
    pub start_after: Option<String>,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Read the state as of this revision; 0 means the current state.
    /// Older than the compacted revision gives [`StoreError::Compacted`];
    /// newer than the current revision gives [`StoreError::FutureRevision`].
    pub revision: i64,
    /// Count only, return no keys (etcd's count_only).
    pub count_only: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    /// More keys matched than `limit` allowed.
    pub more: bool,
    /// How many keys in the prefix are left from `start_after` (inclusive of
    /// the returned ones), as etcd's count; used for `remainingItemCount`.
    pub count: i64,
    /// The revision this read observed.
    pub revision: i64,
}

/// The result of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write happened; the key now has this mod revision. For deletes,
    /// the revision of the delete and the value that was deleted.
    Written {
        revision: i64,
        previous: Option<KeyValue>,
    },
    /// The precondition failed; this is the key's current state (None when
    /// the key does not exist), so the caller can report a conflict or retry.
    Conflict { current: Option<KeyValue> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change, as a watch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// For a put: the new value (mod_revision = revision of this event).
    /// For a delete: the key with an empty value and mod_revision = the
    /// revision of the delete.
    pub kv: KeyValue,
    /// The value before this change, when there was one. On etcd, the
    /// event at exactly the compacted revision has none: etcd reads it at
    /// the revision before, which compaction made unreadable.
    pub prev: Option<KeyValue>,
}

impl Event {
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Event, StoreError>> + Send>>;

#[derive(Debug, thiserror::Error, Clone)]
pub enum StoreError {
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted { requested: i64, compacted: i64 },
    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision { requested: i64, current: i64 },
    /// The watcher fell too far behind the writers and was dropped; it must
    /// re-list or resume from its last revision.
    #[error("watch fell behind and was closed")]
    WatchLagged,
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Internal(String),
}

/// The store the API server runs on. Every method is linearizable with
/// respect to the global revision.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// One key at the current revision (or at `revision` when non-zero).
    async fn get(&self, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError>;

    async fn range(&self, req: RangeRequest) -> Result<RangeResult, StoreError>;

    /// Create `key` only if it does not exist.
    async fn create(&self, key: &str, value: Bytes) -> Result<WriteOutcome, StoreError>;

    /// Replace `key` only if its mod revision is `expected_mod_revision`.
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<WriteOutcome, StoreError>;

    /// Delete `key` only if its mod revision is `expected_mod_revision`
    /// (0 means unconditionally, if it exists).
    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: i64,
    ) -> Result<WriteOutcome, StoreError>;

    /// Every change to keys under `prefix` with revision > `after_revision`,
    /// in revision order, each exactly once, then live changes as they
    /// happen. `after_revision` older than the compacted revision gives
    /// [`StoreError::Compacted`] (immediately, not as a stream item).
    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream, StoreError>;

    /// The latest revision.
    async fn current_revision(&self) -> Result<i64, StoreError>;

    /// The oldest revision still readable (reads and watches before it fail).
    async fn compacted_revision(&self) -> Result<i64, StoreError>;

    /// Forget history up to and including `revision`.
    async fn compact(&self, revision: i64) -> Result<(), StoreError>;

    /// Whether the store answers (for /readyz).
    async fn ready(&self) -> Result<(), StoreError>;
}
