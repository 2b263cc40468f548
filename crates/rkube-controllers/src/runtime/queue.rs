//! A work queue with client-go's semantics: an item queued many times
//! while it waits is processed once; an item queued while it is being
//! processed is processed again after, never by two workers at once;
//! failed items come back with per-item exponential backoff; items can be
//! queued after a delay.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

const BASE_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(120);

pub struct Queue<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

struct State<T> {
    queue: VecDeque<T>,
    dirty: HashSet<T>,
    processing: HashSet<T>,
    failures: HashMap<T, u32>,
    /// The earliest pending delayed add of each item.
    waiting: HashMap<T, Instant>,
    shutting_down: bool,
}

impl<T: Clone + Eq + Hash + Send + Sync + 'static> Queue<T> {
    pub fn new() -> Arc<Self> {
        Arc::new(Queue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                failures: HashMap::new(),
                waiting: HashMap::new(),
                shutting_down: false,
            }),
            notify: Notify::new(),
        })
    }

    pub fn add(&self, item: T) {
        let mut s = self.state.lock().expect("queue lock");
        if s.shutting_down || !s.dirty.insert(item.clone()) {
            return;
        }
        if !s.processing.contains(&item) {
            s.queue.push_back(item);
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Queue `item` once `delay` has passed (at once when zero).
    pub fn add_after(self: &Arc<Self>, item: T, delay: Duration) {
        if delay.is_zero() {
            self.add(item);
            return;
        }
        let at = Instant::now() + delay;
        {
            let mut s = self.state.lock().expect("queue lock");
            if s.shutting_down {
                return;
            }
            match s.waiting.get(&item) {
                Some(existing) if *existing <= at => return,
                _ => {
                    s.waiting.insert(item.clone(), at);
                }
            }
        }
        let q = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let due = {
                let mut s = q.state.lock().expect("queue lock");
                if s.waiting.get(&item) == Some(&at) {
                    s.waiting.remove(&item);
                    true
                } else {
                    false
                }
            };
            if due {
                q.add(item);
            }
        });
    }

    /// Queue again after this item's next backoff step.
    pub fn add_rate_limited(self: &Arc<Self>, item: T) {
        let n = {
            let mut s = self.state.lock().expect("queue lock");
            let n = s.failures.entry(item.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(31));
        let delay = BASE_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF);
        self.add_after(item, delay);
    }

    /// Reset the backoff of an item that succeeded.
    pub fn forget(&self, item: &T) {
        self.state.lock().expect("queue lock").failures.remove(item);
    }

    /// The next item, or None once the queue is shut down.
    pub async fn get(&self) -> Option<T> {
        loop {
            {
                let mut s = self.state.lock().expect("queue lock");
                if let Some(item) = s.queue.pop_front() {
                    s.dirty.remove(&item);
                    s.processing.insert(item.clone());
                    if !s.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(item);
                }
                if s.shutting_down {
                    self.notify.notify_one();
                    return None;
                }
            }
            self.notify.notified().await;
        }
    }

    /// Mark an item as processed; it is queued again if it was added
    /// meanwhile.
    pub fn done(&self, item: &T) {
        let mut s = self.state.lock().expect("queue lock");
        s.processing.remove(item);
        if s.dirty.contains(item) {
            s.queue.push_back(item.clone());
            drop(s);
            self.notify.notify_one();
        }
    }

    pub fn shut_down(&self) {
        let mut s = self.state.lock().expect("queue lock");
        s.shutting_down = true;
        drop(s);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub fn len(&self) -> usize {
        self.state.lock().expect("queue lock").queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one sync of an item asks for next.
pub type SyncResult = anyhow::Result<Option<Duration>>;

/// Run `workers` workers over `queue` until it shuts down. A sync that
/// fails is retried with backoff; one that returns a delay is queued again
/// after it.
pub async fn run_workers<T, F, Fut>(
    name: &'static str,
    queue: Arc<Queue<T>>,
    workers: usize,
    sync: F,
) where
    T: Clone + Eq + Hash + Send + Sync + std::fmt::Display + 'static,
    F: Fn(T) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = SyncResult> + Send,
{
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let queue = Arc::clone(&queue);
        let sync = sync.clone();
        handles.push(tokio::spawn(async move {
            while let Some(item) = queue.get().await {
                match sync(item.clone()).await {
                    Ok(next) => {
                        queue.forget(&item);
                        if let Some(d) = next {
                            queue.add_after(item.clone(), d);
                        }
                    }
                    Err(e) => {
                        if is_conflict(&e) {
                            tracing::debug!(controller = name, %item, "conflict, retrying: {e:#}");
                        } else {
                            tracing::warn!(controller = name, %item, "sync failed: {e:#}");
                        }
                        queue.add_rate_limited(item.clone());
                    }
                }
                queue.done(&item);
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
}

/// Whether an error is an API 409 (a stale write, retried quietly).
pub fn is_conflict(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<kube::Error>(),
            Some(kube::Error::Api(s)) if s.code == 409
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedups_and_requeues_items_added_while_processing() {
        let q: Arc<Queue<String>> = Queue::new();
        q.add("a".into());
        q.add("a".into());
        q.add("b".into());
        assert_eq!(q.len(), 2);
        let a = q.get().await.unwrap();
        assert_eq!(a, "a");
        q.add("a".into());
        // "a" is being processed: it is not handed out again yet.
        assert_eq!(q.get().await.unwrap(), "b");
        assert_eq!(q.len(), 0);
        q.done(&a);
        assert_eq!(q.get().await.unwrap(), "a");
        q.done(&"a".to_string());
        q.done(&"b".to_string());
        q.shut_down();
        assert_eq!(q.get().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_adds_keep_the_earliest() {
        let q: Arc<Queue<u32>> = Queue::new();
        q.add_after(1, Duration::from_secs(10));
        q.add_after(1, Duration::from_secs(2));
        q.add_after(1, Duration::from_secs(20));
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await, Some(1));
        q.done(&1);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(q.len(), 0);
    }
}
