//! The etcd v3 backend: the store kube-apiserver itself runs on, through
//! the same [`Backend`] trait as the embedded store.
//!
//! The mapping is the one kube-apiserver's etcd3 storage uses, so the data
//! is laid out as a Kubernetes cluster's would be:
//!
//! - keys are the API server's keys with its root replaced by the prefix
//!   (see [`EtcdOptions::key_root`]); values are stored as given;
//! - a key's resourceVersion is its etcd mod revision, and the global
//!   revision is etcd's;
//! - create, update and delete are transactions comparing the create or
//!   mod revision, with a read of the key as the failure branch;
//! - reads at revision 0 are linearizable (etcd's default), so a list on
//!   any API server sees every write acknowledged by any other;
//! - watches are etcd watches with the previous value, resumed after
//!   connection loss from the last delivered revision (`watch`);
//! - compaction is etcd's, on the shared schedule, coordinated so that one
//!   API server of several compacts per interval (`compaction`).
//!
//! Every request is bounded by [`EtcdOptions::request_timeout`]: with etcd
//! down or without a leader, callers get [`StoreError::Unavailable`] (a 503)
//! promptly, and the backend recovers by itself when etcd is back.

mod compaction;
mod connection;
mod kv;
pub mod launcher;
mod watch;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::Client;

pub use connection::{EtcdOptions, EtcdTls};

use crate::backend::{
    Backend, KeyValue, RangeRequest, RangeResult, StoreError, WatchStream, WriteOutcome,
};
use connection::KeyMap;

/// kube-apiserver's etcd client allows responses up to 2 GiB.
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;

pub struct EtcdBackend {
    client: Client,
    options: EtcdOptions,
    map: KeyMap,
    /// A handle on itself, so that watches (which outlive the call that made
    /// them) can reopen through the same client.
    this: Weak<EtcdBackend>,
}

impl std::fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("endpoints", &self.options.endpoints)
            .field("prefix", &self.options.prefix)
            .finish_non_exhaustive()
    }
}

impl EtcdBackend {
    /// Makes the client; etcd need not be up yet (see [`Backend::ready`]).
    pub async fn connect(options: EtcdOptions) -> Result<Arc<EtcdBackend>, StoreError> {
        let client = connection::connect(&options).await?;
        let map = KeyMap::new(&options.key_root, &options.prefix);
        Ok(Arc::new_cyclic(|this| EtcdBackend {
            client,
            options,
            map,
            this: this.clone(),
        }))
    }

    /// A KV client that accepts responses of any size: a LIST of many
    /// objects is one range response, far over gRPC's 4 MiB default
    /// (kube-apiserver lifts the same limit on its etcd client).
    fn kv(&self) -> etcd_client::KvClient {
        self.client
            .kv_client()
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// A watch client with the same unbounded response size (one watch
    /// response may carry many events).
    fn watcher(&self) -> etcd_client::WatchClient {
        self.client
            .watch_client()
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    fn handle(&self) -> Result<Arc<EtcdBackend>, StoreError> {
        self.this
            .upgrade()
            .ok_or_else(|| StoreError::Unavailable("the etcd backend is closing".into()))
    }
}

#[async_trait]
impl Backend for EtcdBackend {
    async fn get(&self, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError> {
        self.get_key(key, revision).await
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResult, StoreError> {
        self.range_keys(req).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<WriteOutcome, StoreError> {
        self.create_key(key, value).await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: i64,
    ) -> Result<WriteOutcome, StoreError> {
        self.update_key(key, value, expected_mod_revision).await
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: i64,
    ) -> Result<WriteOutcome, StoreError> {
        self.delete_key(key, expected_mod_revision).await
    }

    /// `after_revision <= 0` means "from now".
    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream, StoreError> {
        watch::watch(self.handle()?, prefix, after_revision).await
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        self.revision_now().await
    }

    /// 0 until something is compacted: etcd cannot tell a compaction to
    /// revision 1 (which removes nothing) from none.
    async fn compacted_revision(&self) -> Result<i64, StoreError> {
        self.compacted_revision_now().await
    }

    /// Idempotent, like the embedded store: compacting to a revision at or
    /// below the compacted one succeeds (etcd's ErrCompacted is success
    /// here); a revision above the current one is
    /// [`StoreError::FutureRevision`].
    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        self.compact_to(revision).await
    }

    /// A linearizable read needs a live quorum, which is what readiness
    /// means for an API server on etcd.
    async fn ready(&self) -> Result<(), StoreError> {
        self.revision_now().await.map(|_| ())
    }
}
