//! Scheduled compaction.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::EmbeddedBackend;
use crate::backend::Backend;

/// How much history the scheduled compactor keeps.
///
/// Like kube-apiserver's compactor, each tick compacts to the revision seen
/// at the previous tick, so between one and two intervals of history remain:
/// a watch that disconnects can resume with its last resourceVersion for at
/// least `interval`. On top of that, at least `min_retained_revisions`
/// revisions are always kept, so a burst of writes does not push a briefly
/// disconnected watcher out of the window.
#[derive(Debug, Clone, Copy)]
pub struct CompactionPolicy {
    /// Time between compactions; kube-apiserver uses 5 minutes.
    pub interval: Duration,
    /// Never compact within this many revisions of the current one.
    pub min_retained_revisions: i64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy {
            interval: Duration::from_secs(300),
            min_retained_revisions: 1000,
        }
    }
}

/// Shortest interval accepted; a zero period would make tokio panic.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl EmbeddedBackend {
    /// Compacts on a schedule until the backend is dropped (or the returned
    /// task is aborted). The task holds only a weak reference, so it does
    /// not keep the store open.
    pub fn spawn_compactor(self: &Arc<Self>, policy: CompactionPolicy) -> JoinHandle<()> {
        let backend = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(policy.interval.max(MIN_INTERVAL));
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut previous: Option<i64> = None;
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
                if let Some(seen) = previous {
                    let target =
                        seen.min(current.saturating_sub(policy.min_retained_revisions.max(0)));
                    if target > 0 {
                        match backend.compact(target).await {
                            Ok(()) => tracing::debug!(revision = target, "compacted storage"),
                            Err(error) => tracing::warn!(%error, "compaction failed"),
                        }
                    }
                }
                previous = Some(current);
            }
        })
    }
}
