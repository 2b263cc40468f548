//! A shared informer: one list+watch per resource type (kube-runtime's
//! watcher, which relists on 410 and backs off on errors), an in-memory
//! cache indexed by namespace, and change handlers that see the old and
//! the new object (controllers use them to feed their queues and to
//! observe their own writes).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::Shutdown;

/// One change seen by an informer.
pub enum Change<'a, K> {
    Added(&'a Arc<K>),
    Updated { old: &'a Arc<K>, new: &'a Arc<K> },
    Deleted(&'a Arc<K>),
}

type Handler<K> = Box<dyn Fn(&Change<'_, K>) + Send + Sync>;
type Cache<K> = BTreeMap<String, HashMap<String, Arc<K>>>;
/// (old, new): Added has no old, Deleted no new.
type Pair<K> = (Option<Arc<K>>, Option<Arc<K>>);

pub struct Informer<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Informer {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<K> {
    api: Api<K>,
    cache: RwLock<Cache<K>>,
    handlers: Mutex<Vec<Arc<Handler<K>>>>,
    synced: watch::Sender<bool>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    pub fn new(api: Api<K>) -> Self {
        Informer {
            inner: Arc::new(Inner {
                api,
                cache: RwLock::new(BTreeMap::new()),
                handlers: Mutex::new(Vec::new()),
                synced: watch::channel(false).0,
            }),
        }
    }

    /// Register a handler; register before the informer runs to see
    /// every object.
    pub fn on_change(&self, f: impl Fn(&Change<'_, K>) + Send + Sync + 'static) {
        self.inner
            .handlers
            .lock()
            .expect("handlers lock")
            .push(Arc::new(Box::new(f)));
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let cache = self.inner.cache.read().expect("cache lock");
        cache.get(namespace).and_then(|m| m.get(name)).cloned()
    }

    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let cache = self.inner.cache.read().expect("cache lock");
        cache
            .get(namespace)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn list(&self) -> Vec<Arc<K>> {
        let cache = self.inner.cache.read().expect("cache lock");
        cache.values().flat_map(|m| m.values().cloned()).collect()
    }

    pub fn is_synced(&self) -> bool {
        *self.inner.synced.borrow()
    }

    /// Wait for the first complete list.
    pub async fn wait_synced(&self) {
        let mut rx = self.inner.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// List and watch until shutdown.
    pub async fn run(self, mut shutdown: Shutdown) {
        let stream = watcher(self.inner.api.clone(), watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        let mut buffer: Option<Cache<K>> = None;
        loop {
            let ev = tokio::select! {
                _ = shutdown.wait() => break,
                ev = stream.next() => ev,
            };
            match ev {
                None => break,
                Some(Err(e)) => {
                    tracing::debug!("watch of {} failed: {e}", K::plural(&()));
                }
                Some(Ok(ev)) => self.apply(ev, &mut buffer),
            }
        }
    }

    fn apply(&self, ev: watcher::Event<K>, buffer: &mut Option<Cache<K>>) {
        let mut changes: Vec<Pair<K>> = Vec::new();
        match ev {
            watcher::Event::Init => *buffer = Some(BTreeMap::new()),
            watcher::Event::InitApply(o) => {
                let b = buffer.get_or_insert_with(BTreeMap::new);
                b.entry(o.namespace().unwrap_or_default())
                    .or_default()
                    .insert(o.name_any(), Arc::new(o));
            }
            watcher::Event::InitDone => {
                let new = buffer.take().unwrap_or_default();
                let mut cache = self.inner.cache.write().expect("cache lock");
                for (ns, objs) in &new {
                    for (name, o) in objs {
                        let old = cache.get(ns).and_then(|m| m.get(name));
                        match old {
                            Some(old) if old.resource_version() == o.resource_version() => {}
                            _ => changes.push((old.cloned(), Some(Arc::clone(o)))),
                        }
                    }
                }
                for (ns, objs) in cache.iter() {
                    for (name, o) in objs {
                        if new.get(ns).and_then(|m| m.get(name)).is_none() {
                            changes.push((Some(Arc::clone(o)), None));
                        }
                    }
                }
                *cache = new;
                drop(cache);
                self.inner.synced.send_replace(true);
            }
            watcher::Event::Apply(o) => {
                let o = Arc::new(o);
                let mut cache = self.inner.cache.write().expect("cache lock");
                let old = cache
                    .entry(o.namespace().unwrap_or_default())
                    .or_default()
                    .insert(o.name_any(), Arc::clone(&o));
                drop(cache);
                if old
                    .as_ref()
                    .is_none_or(|old| old.resource_version() != o.resource_version())
                {
                    changes.push((old, Some(o)));
                }
            }
            watcher::Event::Delete(o) => {
                let ns = o.namespace().unwrap_or_default();
                let mut cache = self.inner.cache.write().expect("cache lock");
                if let Some(m) = cache.get_mut(&ns) {
                    m.remove(&o.name_any());
                    if m.is_empty() {
                        cache.remove(&ns);
                    }
                }
                drop(cache);
                changes.push((Some(Arc::new(o)), None));
            }
        }
        if changes.is_empty() {
            return;
        }
        let handlers: Vec<Arc<Handler<K>>> =
            self.inner.handlers.lock().expect("handlers lock").clone();
        for (old, new) in &changes {
            let change = match (old, new) {
                (None, Some(n)) => Change::Added(n),
                (Some(o), Some(n)) => Change::Updated { old: o, new: n },
                (Some(o), None) => Change::Deleted(o),
                (None, None) => continue,
            };
            for h in &handlers {
                h(&change);
            }
        }
    }
}
