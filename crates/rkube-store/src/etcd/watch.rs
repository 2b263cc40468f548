//! Watches as etcd watches, resumed across lost connections.
//!
//! etcd's watch carries no state a client must keep other than the last
//! revision it delivered, so when a stream breaks (the member died, lost
//! its leader, or the connection dropped) the watch is opened again from the
//! next revision on whichever member answers. The consumer sees one stream
//! without gap or duplicate; only compaction of the revisions it still
//! needs, or etcd staying unreachable, ends it with an error.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{EventType, WatchOptions, WatchResponse, WatchStream as EtcdStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_stream::wrappers::ReceiverStream;

use super::EtcdBackend;
use super::connection::{bounded, prefix_end};
use super::kv::convert;
use crate::backend::{Event, EventKind, KeyValue, StoreError, WatchStream};

/// How long a broken watch keeps trying to reopen before giving up; longer
/// than an etcd leader election, shorter than a client's patience.
const RESUME_FOR: Duration = Duration::from_secs(20);

/// Events buffered per watcher, as the embedded store's default. Responses
/// are always read from etcd as they come, because every watch shares one
/// HTTP/2 connection with all other requests: a watcher whose unread
/// responses piled up there would get the whole connection closed (h2
/// limits buffered frames), so a consumer further behind than this gets
/// [`StoreError::WatchLagged`] instead, as with the embedded store.
const WATCH_BUFFER: usize = 8192;

struct State {
    backend: Arc<EtcdBackend>,
    key: Vec<u8>,
    end: Vec<u8>,
    stream: Option<EtcdStream>,
    /// The revision of the newest event handed out (or known to be covered).
    last: i64,
    pending: VecDeque<Event>,
    done: bool,
}

/// Opens an etcd watch from `start` (0: from now) and waits for etcd to
/// confirm it, so failures surface from `watch()` itself. Returns the stream
/// and the revision the watch is known to cover up to.
async fn open(
    backend: &EtcdBackend,
    key: &[u8],
    end: &[u8],
    start: i64,
) -> Result<(EtcdStream, i64), StoreError> {
    let mut options = WatchOptions::new()
        .with_range(end.to_vec())
        .with_prev_key()
        .with_progress_notify();
    if start > 0 {
        options = options.with_start_revision(start);
    }
    let timeout = backend.options.request_timeout;
    let mut client = backend.watcher();
    let mut stream = bounded(
        timeout,
        "a watch",
        client.watch(key.to_vec(), Some(options)),
    )
    .await
    .map_err(StoreError::from)?;
    let created = bounded(timeout, "a watch", stream.message())
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| StoreError::Unavailable("etcd closed the watch".into()))?;
    if let Some(e) = cancelled(&created, start) {
        return Err(e);
    }
    let covered = if start > 0 {
        start - 1
    } else {
        created.header().map(|h| h.revision()).unwrap_or(0)
    };
    Ok((stream, covered))
}

/// The error a cancelled watch ends with.
fn cancelled(resp: &WatchResponse, start: i64) -> Option<StoreError> {
    if resp.compact_revision() > 0 {
        return Some(StoreError::Compacted {
            requested: start,
            compacted: resp.compact_revision(),
        });
    }
    resp.canceled().then(|| {
        StoreError::Unavailable(format!(
            "etcd cancelled the watch: {}",
            resp.cancel_reason()
        ))
    })
}

fn event(backend: &EtcdBackend, ev: &etcd_client::Event) -> Result<Event, StoreError> {
    let kv = ev
        .kv()
        .ok_or_else(|| StoreError::Internal("etcd sent an event without a key".into()))?;
    let prev = ev.prev_kv().map(|p| convert(&backend.map, p)).transpose()?;
    let (kind, kv) = match ev.event_type() {
        EventType::Put => (EventKind::Put, convert(&backend.map, kv)?),
        EventType::Delete => (
            EventKind::Delete,
            KeyValue {
                key: backend.map.api_key(kv.key())?,
                value: Bytes::new(),
                create_revision: 0,
                mod_revision: kv.mod_revision(),
            },
        ),
    };
    Ok(Event { kind, kv, prev })
}

impl State {
    /// Reopens from the revision after the last one delivered, for as long
    /// as [`RESUME_FOR`] allows.
    async fn resume(&mut self) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + RESUME_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            match open(&self.backend, &self.key, &self.end, self.last + 1).await {
                Ok((stream, _)) => {
                    self.stream = Some(stream);
                    return Ok(());
                }
                Err(e @ StoreError::Compacted { .. }) => return Err(e),
                Err(e) if tokio::time::Instant::now() + pause >= deadline => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, last = self.last, "etcd watch: retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Takes in one response: events newer than what was delivered (a
    /// resumed watch may repeat nothing, but cannot be trusted to), or the
    /// end of the watch.
    fn absorb(&mut self, resp: WatchResponse) -> Result<(), StoreError> {
        if let Some(e) = cancelled(&resp, self.last + 1) {
            return Err(e);
        }
        if resp.events().is_empty() {
            // A progress notification: nothing up to this revision is
            // pending, so a resume can start after it.
            if !resp.created()
                && let Some(h) = resp.header()
            {
                self.last = self.last.max(h.revision());
            }
            return Ok(());
        }
        let mut newest = self.last;
        for ev in resp.events() {
            let ev = event(&self.backend, ev)?;
            if ev.revision() > self.last {
                newest = newest.max(ev.revision());
                self.pending.push_back(ev);
            }
        }
        self.last = newest;
        Ok(())
    }

    /// etcd 3.4 registers a watch before it records that the watch wants
    /// previous values, so the first events of a watch created while writes
    /// land can come without one. The previous value is then read as etcd
    /// would have, at the revision before the event; if that revision is
    /// compacted there is none, as etcd itself would send.
    async fn with_prev(&self, mut ev: Event) -> Result<Event, StoreError> {
        let created = ev.kind == EventKind::Put && ev.kv.create_revision == ev.kv.mod_revision;
        if ev.prev.is_some() || created {
            return Ok(ev);
        }
        match self.backend.get_key(&ev.kv.key, ev.revision() - 1).await {
            Ok(prev) => ev.prev = prev,
            Err(StoreError::Compacted { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(ev)
    }

    async fn next(&mut self) -> Option<Result<Event, StoreError>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(self.with_prev(ev).await);
            }
            if self.done {
                return None;
            }
            let message = match self.stream.as_mut() {
                Some(stream) => stream.next().await,
                None => None,
            };
            let outcome = match message {
                Some(Ok(resp)) => self.absorb(resp),
                Some(Err(error)) => {
                    tracing::debug!(%error, "etcd watch broke; resuming");
                    self.stream = None;
                    self.resume().await
                }
                None => {
                    self.stream = None;
                    self.resume().await
                }
            };
            if let Err(e) = outcome {
                self.done = true;
                self.stream = None;
                return Some(Err(e));
            }
        }
    }
}

pub(crate) async fn watch(
    backend: Arc<EtcdBackend>,
    prefix: &str,
    after_revision: i64,
) -> Result<WatchStream, StoreError> {
    let (key, end) = if backend.map.contains(prefix) {
        let key = backend.map.etcd_key(prefix)?;
        let end = prefix_end(&key);
        (key, end)
    } else {
        let (_, end) = backend.map.whole();
        (end.clone(), end)
    };
    let start = if after_revision > 0 {
        after_revision + 1
    } else {
        0
    };
    if start > 0 {
        // etcd reports a compacted start revision only later, on the
        // stream; a read at that revision answers now (any key will do,
        // compaction is per revision).
        let at = etcd_client::GetOptions::new()
            .with_revision(start)
            .with_keys_only();
        match backend.read(key.clone(), at, start).await {
            Ok(_) | Err(StoreError::FutureRevision { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let (stream, last) = open(&backend, &key, &end, start).await?;
    let state = State {
        backend,
        key,
        end,
        stream: Some(stream),
        last,
        pending: VecDeque::new(),
        done: false,
    };
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(pump(state, tx));
    Ok(Box::pin(ReceiverStream::new(rx)))
}

/// Moves events from etcd to the consumer until either side ends.
async fn pump(mut state: State, tx: mpsc::Sender<Result<Event, StoreError>>) {
    loop {
        let item = tokio::select! {
            item = state.next() => item,
            _ = tx.closed() => return,
        };
        let Some(item) = item else { return };
        let last = item.is_err();
        match tx.try_send(item) {
            Ok(()) if !last => {}
            Ok(()) | Err(TrySendError::Closed(_)) => return,
            Err(TrySendError::Full(_)) => {
                // Stop reading etcd first, then tell the consumer once it
                // has room: nothing follows the error.
                drop(state);
                let _ = tx.send(Err(StoreError::WatchLagged)).await;
                return;
            }
        }
    }
}
