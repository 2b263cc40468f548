//! The garbage collector. It watches the metadata of every resource that
//! can be listed, watched and deleted (found through discovery, checked
//! again every 30 seconds so new resources are picked up), keeps the
//! ownership graph, and:
//!
//! - deletes (in the background) objects whose owners are all gone,
//!   and removes references to owners that are gone from objects that
//!   still have others;
//! - for an owner deleted in the foreground (`foregroundDeletion`
//!   finalizer) deletes its dependents and removes the finalizer once no
//!   dependent with `blockOwnerDeletion` remains;
//! - for an owner deleted with the orphan policy (`orphan` finalizer)
//!   removes the references to it from its dependents, then the
//!   finalizer.
//!
//! An owner absent from the graph is confirmed absent with a live read
//! before anything is deleted.

pub mod graph;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, Preconditions, PropagationPolicy};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiResource, Scope, verbs};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::sync::watch;

use crate::mapper::Mapper;
use crate::runtime::{Queue, Shutdown, SyncResult, run_workers};
use crate::util::{api_code, patch_params};
use graph::{FOREGROUND, Graph, Ident, Node, ORPHAN, Work};

const RESYNC_MONITORS: Duration = Duration::from_secs(30);
const INITIAL_SYNC_TIMEOUT: Duration = Duration::from_secs(60);
const DELETE_WORKERS: usize = 4;
const ORPHAN_WORKERS: usize = 2;

/// Resources the collector does not watch (as upstream: events are many
/// and never owners).
const IGNORED: &[(&str, &str)] = &[("", "events"), ("events.k8s.io", "events")];

pub struct GarbageCollector {
    client: Client,
    mapper: Mapper,
    graph: Mutex<Graph>,
    deletes: Arc<Queue<String>>,
    orphans: Arc<Queue<String>>,
}

/// What the owners of one object are.
#[derive(Default)]
struct Owners {
    solid: Vec<OwnerReference>,
    dangling: Vec<OwnerReference>,
    waiting: Vec<OwnerReference>,
}

impl GarbageCollector {
    pub fn new(client: Client) -> Arc<Self> {
        Arc::new(GarbageCollector {
            mapper: Mapper::new(client.clone()),
            client,
            graph: Mutex::new(Graph::default()),
            deletes: Queue::new(),
            orphans: Queue::new(),
        })
    }

    fn apply(&self, work: Work) {
        for uid in work.attempt_delete {
            self.deletes.add(uid);
        }
        for uid in work.orphan {
            self.orphans.add(uid);
        }
    }

    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) -> anyhow::Result<()> {
        let (ready_tx, mut ready_rx) = watch::channel(false);
        let monitors = tokio::spawn(Arc::clone(&self).keep_monitors(ready_tx, shutdown.clone()));
        tokio::select! {
            _ = async { let _ = ready_rx.wait_for(|r| *r).await; } => {}
            _ = shutdown.wait() => {
                let _ = monitors.await;
                return Ok(());
            }
        }
        let (d, o) = (Arc::clone(&self.deletes), Arc::clone(&self.orphans));
        let mut sd = shutdown.clone();
        tokio::spawn(async move {
            sd.wait().await;
            d.shut_down();
            o.shut_down();
        });
        let me = Arc::clone(&self);
        let deletes = run_workers(
            "garbagecollector",
            Arc::clone(&self.deletes),
            DELETE_WORKERS,
            move |uid| {
                let me = Arc::clone(&me);
                async move { me.attempt_delete(uid).await }
            },
        );
        let me = Arc::clone(&self);
        let orphans = run_workers(
            "garbagecollector-orphan",
            Arc::clone(&self.orphans),
            ORPHAN_WORKERS,
            move |uid| {
                let me = Arc::clone(&me);
                async move { me.attempt_orphan(uid).await }
            },
        );
        futures::join!(deletes, orphans);
        let _ = monitors.await;
        Ok(())
    }

    /// Start a monitor per eligible resource, now and every 30 seconds;
    /// say `ready` once the first set has listed (or after a minute).
    async fn keep_monitors(self: Arc<Self>, ready: watch::Sender<bool>, mut shutdown: Shutdown) {
        let mut running: HashMap<(String, String), tokio::task::JoinHandle<()>> = HashMap::new();
        let mut first = true;
        loop {
            let mut synced = Vec::new();
            match self.mapper.preferred(RESYNC_MONITORS).await {
                Ok(resources) => {
                    let mut wanted = HashSet::new();
                    for (ar, caps) in resources {
                        let eligible = [verbs::LIST, verbs::WATCH, verbs::DELETE]
                            .iter()
                            .all(|v| caps.supports_operation(v))
                            && !IGNORED.contains(&(ar.group.as_str(), ar.plural.as_str()));
                        if !eligible {
                            continue;
                        }
                        let key = (ar.group.clone(), ar.plural.clone());
                        wanted.insert(key.clone());
                        if running.contains_key(&key) {
                            continue;
                        }
                        let (tx, rx) = watch::channel(false);
                        synced.push(rx);
                        let me = Arc::clone(&self);
                        let cluster = caps.scope == Scope::Cluster;
                        running.insert(
                            key,
                            tokio::spawn(me.monitor(ar, cluster, tx, shutdown.clone())),
                        );
                    }
                    running.retain(|k, h| {
                        let keep = wanted.contains(k);
                        if !keep {
                            h.abort();
                        }
                        keep
                    });
                }
                Err(e) => tracing::warn!("garbage collector discovery failed: {e}"),
            }
            if first && !running.is_empty() {
                first = false;
                let all = futures::future::join_all(synced.iter_mut().map(|rx| async move {
                    let _ = rx.wait_for(|s| *s).await;
                }));
                let _ = tokio::time::timeout(INITIAL_SYNC_TIMEOUT, all).await;
                let _ = ready.send(true);
            }
            // Until discovery first works, try again soon.
            let wait = if running.is_empty() {
                Duration::from_secs(2)
            } else {
                RESYNC_MONITORS
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => break,
            }
        }
        for (_, h) in running {
            h.abort();
        }
    }

    /// Watch the metadata of one resource into the graph.
    async fn monitor(
        self: Arc<Self>,
        ar: ApiResource,
        cluster: bool,
        synced: watch::Sender<bool>,
        mut shutdown: Shutdown,
    ) {
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(self.client.clone(), &ar);
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        let mut known: HashSet<String> = HashSet::new();
        let mut relist: Option<HashSet<String>> = None;
        loop {
            let ev = tokio::select! {
                _ = shutdown.wait() => break,
                ev = stream.next() => ev,
            };
            let ev = match ev {
                None => break,
                Some(Err(e)) => {
                    tracing::debug!("garbage collector watch of {}: {e}", ar.plural);
                    continue;
                }
                Some(Ok(ev)) => ev,
            };
            let upsert = |m: &ObjectMeta| {
                let mut m = m.clone();
                if cluster {
                    m.namespace = None;
                }
                let w = self.graph.lock().expect("graph lock").upsert(&ar, &m);
                self.apply(w);
            };
            match ev {
                watcher::Event::Init => relist = Some(HashSet::new()),
                watcher::Event::InitApply(o) => {
                    if let Some(uid) = &o.metadata.uid {
                        relist.get_or_insert_with(HashSet::new).insert(uid.clone());
                    }
                    upsert(&o.metadata);
                }
                watcher::Event::InitDone => {
                    let now = relist.take().unwrap_or_default();
                    for gone in known.difference(&now) {
                        let w = self.graph.lock().expect("graph lock").remove(gone);
                        self.apply(w);
                    }
                    known = now;
                    let _ = synced.send(true);
                }
                watcher::Event::Apply(o) => {
                    if let Some(uid) = &o.metadata.uid {
                        known.insert(uid.clone());
                    }
                    upsert(&o.metadata);
                }
                watcher::Event::Delete(o) => {
                    if let Some(uid) = &o.metadata.uid {
                        known.remove(uid);
                        let w = self.graph.lock().expect("graph lock").remove(uid);
                        self.apply(w);
                    }
                }
            }
        }
    }

    fn node(&self, uid: &str) -> Option<Node> {
        self.graph
            .lock()
            .expect("graph lock")
            .nodes
            .get(uid)
            .cloned()
    }

    /// The API of `ident`'s resource (None if the kind is not served).
    async fn api_of(&self, id: &Ident) -> anyhow::Result<Option<Api<DynamicObject>>> {
        let (ar, cluster) = match &id.resource {
            Some(ar) => {
                let cluster = id.namespace.is_empty();
                (ar.clone(), cluster)
            }
            None => match self.mapper.resolve(&id.api_version, &id.kind).await? {
                Some((ar, caps)) => (ar, caps.scope == Scope::Cluster),
                None => return Ok(None),
            },
        };
        Ok(Some(if cluster {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), &id.namespace, &ar)
        }))
    }

    /// The live metadata of an object if it exists with `uid`.
    async fn live(&self, id: &Ident) -> anyhow::Result<Option<ObjectMeta>> {
        let Some(api) = self.api_of(id).await? else {
            anyhow::bail!("no resource serves {} {}", id.api_version, id.kind);
        };
        Ok(api
            .get_metadata_opt(&id.name)
            .await?
            .map(|m| m.metadata)
            .filter(|m| m.uid.as_deref() == Some(id.uid.as_str())))
    }

    fn owner_ident(&self, r: &OwnerReference, dependent: &Ident) -> Ident {
        match self.node(&r.uid) {
            Some(n) => n.id,
            None => Ident {
                resource: None,
                api_version: r.api_version.clone(),
                kind: r.kind.clone(),
                namespace: dependent.namespace.clone(),
                name: r.name.clone(),
                uid: r.uid.clone(),
            },
        }
    }

    async fn classify(&self, node: &Node) -> anyhow::Result<Owners> {
        let mut out = Owners::default();
        for r in &node.owners {
            let meta = match self.node(&r.uid).filter(|n| !n.virtual_) {
                Some(owner) => Some((owner.deleting, owner.has_finalizer(FOREGROUND))),
                None => {
                    let id = self.owner_ident(r, &node.id);
                    self.live(&id).await?.map(|m| {
                        let fg = m.finalizers.iter().flatten().any(|f| f == FOREGROUND);
                        (m.deletion_timestamp.is_some(), fg)
                    })
                }
            };
            match meta {
                None => out.dangling.push(r.clone()),
                Some((true, true)) => out.waiting.push(r.clone()),
                Some(_) => out.solid.push(r.clone()),
            }
        }
        Ok(out)
    }

    async fn attempt_delete(&self, uid: String) -> SyncResult {
        let Some(node) = self.node(&uid) else {
            return Ok(None);
        };
        if node.virtual_ {
            // Referenced but never seen: is it there at all?
            match self.live(&node.id).await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    let deps = self.graph.lock().expect("graph lock").forget_virtual(&uid);
                    for d in deps {
                        self.deletes.add(d);
                    }
                }
            }
            return Ok(None);
        }
        if node.deleting_dependents() {
            return self.process_foreground(&node).await;
        }
        if node.deleting || node.owners.is_empty() {
            return Ok(None);
        }
        let owners = self.classify(&node).await?;
        if !owners.solid.is_empty() {
            if owners.dangling.is_empty() && owners.waiting.is_empty() {
                return Ok(None);
            }
            let drop: HashSet<String> = owners
                .dangling
                .iter()
                .chain(owners.waiting.iter())
                .map(|r| r.uid.clone())
                .collect();
            self.rewrite_owner_refs(&node.id, |refs| refs.retain(|r| !drop.contains(&r.uid)))
                .await?;
            return Ok(None);
        }
        let policy = if !owners.waiting.is_empty() && !node.dependents.is_empty() {
            // An owner waits for it and it has dependents of its own: it
            // goes in the foreground too (keeping its owner waiting). If a
            // dependent also waits for its dependents, stop blocking the
            // owners first, so that a cycle cannot deadlock.
            let cycle = {
                let g = self.graph.lock().expect("graph lock");
                node.dependents
                    .iter()
                    .any(|d| g.nodes.get(d).is_some_and(Node::deleting_dependents))
            };
            if cycle {
                let waiting: HashSet<String> =
                    owners.waiting.iter().map(|r| r.uid.clone()).collect();
                self.rewrite_owner_refs(&node.id, |refs| {
                    for r in refs.iter_mut().filter(|r| waiting.contains(&r.uid)) {
                        r.block_owner_deletion = Some(false);
                    }
                })
                .await?;
            }
            PropagationPolicy::Foreground
        } else if node.has_finalizer(ORPHAN) {
            PropagationPolicy::Orphan
        } else if node.has_finalizer(FOREGROUND) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        let Some(api) = self.api_of(&node.id).await? else {
            return Ok(None);
        };
        let dp = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        tracing::debug!(
            "garbage collector deletes {} {}/{}",
            node.id.kind,
            node.id.namespace,
            node.id.name
        );
        match api.delete(&node.id.name, &dp).await {
            Ok(_) => Ok(None),
            Err(e) if matches!(api_code(&e), Some(404) | Some(409)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// An owner deleted in the foreground: delete its dependents, then
    /// let it go once none blocks it.
    async fn process_foreground(&self, node: &Node) -> SyncResult {
        let (blocking, pending): (Vec<String>, Vec<String>) = {
            let g = self.graph.lock().expect("graph lock");
            let mut blocking = Vec::new();
            let mut pending = Vec::new();
            for d in &node.dependents {
                let Some(dep) = g.nodes.get(d) else { continue };
                let blocks = dep
                    .owners
                    .iter()
                    .any(|r| r.uid == node.id.uid && r.block_owner_deletion == Some(true));
                if blocks {
                    blocking.push(d.clone());
                }
                if !dep.deleting {
                    pending.push(d.clone());
                }
            }
            (blocking, pending)
        };
        for d in pending {
            self.deletes.add(d);
        }
        if blocking.is_empty() {
            self.remove_finalizer(&node.id, FOREGROUND).await?;
        }
        Ok(None)
    }

    /// An owner deleted with the orphan policy: unlink its dependents,
    /// then remove the finalizer.
    async fn attempt_orphan(&self, uid: String) -> SyncResult {
        let Some(node) = self.node(&uid) else {
            return Ok(None);
        };
        let deps: Vec<Ident> = {
            let g = self.graph.lock().expect("graph lock");
            node.dependents
                .iter()
                .filter_map(|d| g.nodes.get(d).map(|n| n.id.clone()))
                .collect()
        };
        for d in deps {
            self.rewrite_owner_refs(&d, |refs| refs.retain(|r| r.uid != uid))
                .await?;
        }
        self.remove_finalizer(&node.id, ORPHAN).await?;
        Ok(None)
    }

    /// Change an object's owner references on a fresh read (uid and
    /// resourceVersion as preconditions; a conflict is retried).
    async fn rewrite_owner_refs(
        &self,
        id: &Ident,
        change: impl FnOnce(&mut Vec<OwnerReference>),
    ) -> anyhow::Result<()> {
        let Some(api) = self.api_of(id).await? else {
            return Ok(());
        };
        let Some(meta) = self.live(id).await? else {
            return Ok(());
        };
        let before = meta.owner_references.clone().unwrap_or_default();
        let mut refs = before.clone();
        change(&mut refs);
        if refs == before {
            return Ok(());
        }
        let refs = if refs.is_empty() {
            serde_json::Value::Null
        } else {
            json!(refs)
        };
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "uid": meta.uid,
            "resourceVersion": meta.resource_version,
        }});
        match api
            .patch(&id.name, &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if api_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_finalizer(&self, id: &Ident, finalizer: &str) -> anyhow::Result<()> {
        let Some(api) = self.api_of(id).await? else {
            return Ok(());
        };
        let Some(meta) = self.live(id).await? else {
            return Ok(());
        };
        let before = meta.finalizers.clone().unwrap_or_default();
        if !before.iter().any(|f| f == finalizer) {
            return Ok(());
        }
        let after: Vec<&String> = before.iter().filter(|f| *f != finalizer).collect();
        let value = if after.is_empty() {
            serde_json::Value::Null
        } else {
            json!(after)
        };
        let patch = json!({"metadata": {
            "finalizers": value,
            "uid": meta.uid,
            "resourceVersion": meta.resource_version,
        }});
        match api
            .patch(&id.name, &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if api_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
