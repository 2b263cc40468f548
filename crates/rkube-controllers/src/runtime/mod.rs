//! The machinery every controller shares: shared informers, work queues,
//! workers and the shutdown signal.

pub mod informer;
pub mod queue;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::{self, Debug, Display};
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;

use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use informer::{Change, Informer};
pub use queue::{Queue, SyncResult, run_workers};

/// The namespace and name of an object (namespace empty when
/// cluster-scoped).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Key {
        Key {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn of<K: ResourceExt>(obj: &K) -> Key {
        Key::new(obj.namespace().unwrap_or_default(), obj.name_any())
    }
}

impl Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// The shutdown signal, cheap to clone.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal that fires when `fut` completes.
    pub fn from_future(fut: impl Future<Output = ()> + Send + 'static) -> Shutdown {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = fut => { let _ = tx.send(true); }
                _ = tx.closed() => {}
            }
        });
        Shutdown(rx)
    }

    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }
}

/// The life of a queue-driven controller, the same for all of them: wait
/// until its informers have synced (so a sync never acts on a partial
/// cache), stop the queue when `shutdown` fires, and run `workers` workers
/// calling `sync(controller, key)` until the queue is drained.
pub async fn run_controller<C, T, F, Fut>(
    name: &'static str,
    controller: Arc<C>,
    queue: Arc<Queue<T>>,
    workers: usize,
    synced: impl Future<Output = ()>,
    mut shutdown: Shutdown,
    sync: F,
) where
    C: Send + Sync + 'static,
    T: Clone + Eq + std::hash::Hash + Send + Sync + Display + 'static,
    F: Fn(Arc<C>, T) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = SyncResult> + Send,
{
    tokio::select! {
        _ = synced => {}
        _ = shutdown.wait() => return,
    }
    let stop = Arc::clone(&queue);
    tokio::spawn(async move {
        shutdown.wait().await;
        stop.shut_down();
    });
    run_workers(name, queue, workers, move |key| {
        sync(Arc::clone(&controller), key)
    })
    .await;
}

type Starter = Box<dyn FnOnce(Shutdown) -> JoinHandle<()> + Send>;

/// Shared informers: one watch per resource type however many
/// controllers read it.
pub struct Factory {
    client: Client,
    informers: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    starters: Mutex<Vec<Starter>>,
}

impl Factory {
    pub fn new(client: Client) -> Factory {
        Factory {
            client,
            informers: Mutex::new(HashMap::new()),
            starters: Mutex::new(Vec::new()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The shared informer of `K` (all namespaces).
    pub fn informer<K>(&self) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let mut map = self.informers.lock().expect("factory lock");
        if let Some(i) = map.get(&TypeId::of::<K>()) {
            return i
                .downcast_ref::<Informer<K>>()
                .expect("informer type")
                .clone();
        }
        let inf = Informer::<K>::new(Api::all(self.client.clone()));
        map.insert(TypeId::of::<K>(), Box::new(inf.clone()));
        let run = inf.clone();
        self.starters
            .lock()
            .expect("factory lock")
            .push(Box::new(move |sd| tokio::spawn(run.run(sd))));
        inf
    }

    /// Start every informer asked for so far.
    pub fn start(&self, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        let starters: Vec<Starter> =
            std::mem::take(&mut *self.starters.lock().expect("factory lock"));
        starters.into_iter().map(|s| s(shutdown.clone())).collect()
    }
}
