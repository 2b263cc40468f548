//! A revisioned key-value store with the semantics of etcd v3, which is what
//! kube-apiserver's storage layer assumes: one global revision counter,
//! per-key create and modification revisions, compare-and-swap writes, reads
//! at a past revision, watches from a revision, and compaction.
//!
//! The API server only talks to [`Backend`]; `embedded` is the default
//! implementation (one redb file), and an etcd implementation fits the same
//! trait.

pub mod backend;
pub mod embedded;

pub use backend::{
    Backend, Event, EventKind, KeyValue, RangeRequest, RangeResult, StoreError, WatchStream,
    WriteOutcome,
};
