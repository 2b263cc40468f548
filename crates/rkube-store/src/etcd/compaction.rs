//! Compaction through etcd's own, coordinated between API servers.
//!
//! Several API servers on one etcd each run the compactor on the same
//! schedule, but only one of them should compact per interval. As
//! kube-apiserver does, they agree through the version of one key,
//! `compact_rev_key` (the same key, so rkube and kube-apiserver sharing an
//! etcd also take turns): a server compacts only if it can bump that version
//! from the one it last saw, and one that loses learns the new version and
//! waits for the next interval.

use std::sync::Arc;

use etcd_client::{Compare, CompareOp, GetOptions, Txn, TxnOp, TxnOpResponse};
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::EtcdBackend;
use super::connection::{Failure, bounded};
use crate::backend::{Backend, StoreError};
use crate::compaction::{CompactionPolicy, MIN_INTERVAL};

/// Outside every prefix, at the root of the keyspace, where kube-apiserver
/// keeps it.
const COMPACT_KEY: &str = "compact_rev_key";

impl EtcdBackend {
    pub(crate) async fn compact_to(&self, revision: i64) -> Result<(), StoreError> {
        let mut kv = self.kv();
        match bounded(
            self.options.request_timeout,
            "a compaction",
            kv.compact(revision, None),
        )
        .await
        {
            Ok(_) => Ok(()),
            // Already compacted at or past it: what was asked holds.
            Err(Failure::Compacted) => Ok(()),
            Err(f) => Err(self.revision_error(f, revision).await),
        }
    }

    /// etcd does not report its compacted revision directly. A read at
    /// revision 1 tells whether anything was compacted; if so, a watch from
    /// revision 1 is cancelled with the exact compacted revision.
    pub(crate) async fn compacted_revision_now(&self) -> Result<i64, StoreError> {
        let timeout = self.options.request_timeout;
        let (key, _) = self.map.whole();
        let mut kv = self.kv();
        let at_one = GetOptions::new().with_revision(1).with_keys_only();
        match bounded(timeout, "a read", kv.get(key.clone(), Some(at_one))).await {
            Ok(_) => return Ok(0),
            Err(Failure::Compacted) => {}
            Err(f) => return Err(f.into()),
        }
        let options = etcd_client::WatchOptions::new().with_start_revision(1);
        let mut watch = self.watcher();
        let mut stream = bounded(timeout, "a watch", watch.watch(key, Some(options)))
            .await
            .map_err(StoreError::from)?;
        let found = tokio::time::timeout(timeout, async {
            while let Some(resp) = stream.next().await {
                let resp = resp.map_err(|e| StoreError::from(super::connection::classify(e)))?;
                if resp.compact_revision() > 0 {
                    return Ok(resp.compact_revision());
                }
            }
            Err(StoreError::Unavailable("etcd closed the watch".into()))
        })
        .await;
        found.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "etcd did not report its compacted revision in time".into(),
            ))
        })
    }

    /// Claims this interval's compaction: succeeds only if nobody bumped the
    /// key since `seen`. Returns whether it was claimed and the key's
    /// version now.
    async fn claim(&self, seen: i64, revision: i64) -> Result<(bool, i64), StoreError> {
        let txn = Txn::new()
            .when([Compare::version(COMPACT_KEY, CompareOp::Equal, seen)])
            .and_then([TxnOp::put(COMPACT_KEY, revision.to_string(), None)])
            .or_else([TxnOp::get(COMPACT_KEY, None)]);
        let mut kv = self.kv();
        let resp = bounded(
            self.options.request_timeout,
            "a compaction claim",
            kv.txn(txn),
        )
        .await
        .map_err(StoreError::from)?;
        if resp.succeeded() {
            return Ok((true, seen + 1));
        }
        let version = match resp.op_responses().first() {
            Some(TxnOpResponse::Get(get)) => get.kvs().first().map_or(0, |kv| kv.version()),
            _ => 0,
        };
        Ok((false, version))
    }

    /// Compacts on a schedule until the backend is dropped (or the task is
    /// aborted), taking turns with every other API server on this etcd.
    pub fn spawn_compactor(self: &Arc<Self>, policy: CompactionPolicy) -> JoinHandle<()> {
        let backend = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(policy.interval.max(MIN_INTERVAL));
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut previous: Option<i64> = None;
            let mut version = 0;
            loop {
                ticker.tick().await;
                let Some(backend) = backend.upgrade() else {
                    return;
                };
                let current = match backend.current_revision().await {
                    Ok(rev) => rev,
                    Err(error) => {
                        tracing::warn!(%error, "compactor: cannot read the current revision");
                        continue;
                    }
                };
                if let Some(target) = previous.and_then(|seen| policy.target(seen, current)) {
                    match backend.claim(version, target).await {
                        Ok((true, now)) => {
                            version = now;
                            match backend.compact(target).await {
                                Ok(()) => tracing::debug!(revision = target, "compacted etcd"),
                                Err(error) => tracing::warn!(%error, "compaction failed"),
                            }
                        }
                        Ok((false, now)) => version = now,
                        Err(error) => tracing::warn!(%error, "compaction claim failed"),
                    }
                }
                previous = Some(current);
            }
        })
    }
}
