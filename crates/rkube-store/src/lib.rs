//! A revisioned key-value store with the semantics of etcd v3, which is what
//! kube-apiserver's storage layer assumes: one global revision counter,
//! per-key create and modification revisions, compare-and-swap writes, reads
//! at a past revision, watches from a revision, and compaction.
//!
//! The API server only talks to [`Backend`]; `embedded` is the default
//! implementation (one redb file), and `etcd` stores the same keys in an etcd
//! v3 cluster, which several API servers can share.

pub mod backend;
pub mod compaction;
pub mod embedded;
pub mod etcd;

pub use backend::{
    Backend, Event, EventKind, KeyValue, RangeRequest, RangeResult, StoreError, WatchStream,
    WriteOutcome,
};
pub use compaction::CompactionPolicy;
