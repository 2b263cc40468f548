//! Scheduled compaction.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::EmbeddedBackend;
use crate::backend::Backend;
pub use crate::compaction::CompactionPolicy;
use crate::compaction::MIN_INTERVAL;

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
                if let Some(target) = previous.and_then(|seen| policy.target(seen, current)) {
                    match backend.compact(target).await {
                        Ok(()) => tracing::debug!(revision = target, "compacted storage"),
                        Err(error) => tracing::warn!(%error, "compaction failed"),
                    }
                }
                previous = Some(current);
            }
        })
    }
}
