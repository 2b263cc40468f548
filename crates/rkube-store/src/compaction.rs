//! The compaction schedule every backend follows.

use std::time::Duration;

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

impl CompactionPolicy {
    /// What to compact to, given the revision seen at the previous tick and
    /// the current one; None when nothing may go yet.
    pub fn target(&self, seen: i64, current: i64) -> Option<i64> {
        let target = seen.min(current.saturating_sub(self.min_retained_revisions.max(0)));
        (target > 0).then_some(target)
    }
}

/// Shortest interval accepted; a zero period would make tokio panic.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(10);
