//! Watch streams: replay from the event log, then follow the live broadcast.
//!
//! The receiver is subscribed before the snapshot whose revision bounds the
//! replay is taken. Every event up to that revision is in the snapshot and
//! every later one was committed after it, hence published after the
//! subscription: replaying `(after, snapshot]` and then taking live events
//! above the last revision seen leaves no gap and repeats nothing.

use std::collections::VecDeque;
use std::sync::Weak;

use futures::stream;
use redb::Database;
use tokio::sync::broadcast::{self, error::RecvError};

use super::reader;
use crate::backend::{Event, StoreError, WatchStream};

/// Events examined per replay read; bounds how long one blocking read runs
/// and how much one step buffers.
const REPLAY_SCAN: usize = 512;

enum Phase {
    /// Replaying the log up to this revision.
    Replay {
        upto: i64,
    },
    Live,
    Done,
}

struct State {
    /// Weak, so that a forgotten watch stream does not keep the file open
    /// (and locked) after the backend is gone.
    db: Weak<Database>,
    live: broadcast::Receiver<Event>,
    prefix: String,
    /// The newest revision delivered or passed over; everything up to it
    /// has been dealt with.
    cursor: i64,
    phase: Phase,
    buffered: VecDeque<Event>,
}

/// A stream of every event under `prefix` after `after`, given a receiver
/// subscribed before the snapshot at revision `snapshot` was read.
pub(super) fn stream(
    db: Weak<Database>,
    live: broadcast::Receiver<Event>,
    prefix: String,
    after: i64,
    snapshot: i64,
) -> WatchStream {
    let phase = if after < snapshot {
        Phase::Replay { upto: snapshot }
    } else {
        Phase::Live
    };
    let state = State {
        db,
        live,
        prefix,
        cursor: after,
        phase,
        buffered: VecDeque::new(),
    };
    Box::pin(stream::unfold(state, |mut st| async move {
        let item = st.next().await?;
        if item.is_err() {
            st.phase = Phase::Done;
            st.buffered.clear();
        }
        Some((item, st))
    }))
}

impl State {
    async fn next(&mut self) -> Option<Result<Event, StoreError>> {
        loop {
            if let Some(event) = self.buffered.pop_front() {
                return Some(Ok(event));
            }
            match self.phase {
                Phase::Done => return None,
                Phase::Replay { upto } => {
                    if self.cursor >= upto {
                        self.phase = Phase::Live;
                        continue;
                    }
                    match self.replay_step(upto).await {
                        Ok(()) => {}
                        Err(e) => return Some(Err(e)),
                    }
                }
                Phase::Live => match self.live.recv().await {
                    Ok(event) => {
                        if event.revision() <= self.cursor {
                            continue;
                        }
                        self.cursor = event.revision();
                        if event.kv.key.starts_with(&self.prefix) {
                            return Some(Ok(event));
                        }
                    }
                    Err(RecvError::Lagged(_)) => return Some(Err(StoreError::WatchLagged)),
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    async fn replay_step(&mut self, upto: i64) -> Result<(), StoreError> {
        let db = self
            .db
            .upgrade()
            .ok_or_else(|| StoreError::Unavailable("storage is closed".into()))?;
        let (prefix, after) = (self.prefix.clone(), self.cursor);
        let (events, last) = tokio::task::spawn_blocking(move || {
            reader::replay_chunk(&db, &prefix, after, upto, REPLAY_SCAN)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("replay task failed: {e}")))??;
        self.cursor = last;
        self.buffered.extend(events);
        Ok(())
    }
}
