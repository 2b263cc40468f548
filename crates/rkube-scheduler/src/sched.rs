//! The scheduling loop: watches feed an in-memory view of nodes and of
//! what pods take on them; pending pods wait in a queue; each is placed
//! from memory (no API call), assumed on its node at once so the next pod
//! sees the room it took, and bound in the background.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::Config;
use crate::events::Recorder;
use crate::placement::find_node;
use crate::predicates::{self, NodeInfo, PodReq};

/// Pods taken from the queue per turn of the loop.
const BATCH: usize = 64;
/// Unschedulable pods are retried at least this often.
const FLUSH_UNSCHEDULABLE: Duration = Duration::from_secs(300);
/// A repeated FailedScheduling event waits this long.
const EVENT_REPEAT: Duration = Duration::from_secs(60);
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Unschedulable(Instant),
    Backoff,
    Binding,
}

struct Pending {
    pod: Arc<Pod>,
    req: PodReq,
    generation: i64,
    state: State,
    attempts: u32,
    last_event: Option<(String, Instant)>,
}

struct Assigned {
    node: String,
    req: PodReq,
    assumed: bool,
}

struct BindDone {
    uid: String,
    pod: Arc<Pod>,
    node: String,
    result: Result<(), (u16, String)>,
}

struct Scheduler {
    client: kube::Client,
    config: Config,
    nodes: HashMap<String, NodeInfo>,
    order: Vec<String>,
    next_start: usize,
    assigned: HashMap<String, Assigned>,
    pending: HashMap<String, Pending>,
    active: VecDeque<String>,
    backoff: BTreeSet<(Instant, String)>,
    binds: JoinSet<BindDone>,
    writes: JoinSet<()>,
    recorder: Recorder,
    wake: bool,
    last_flush: Instant,
    pods_synced: bool,
    nodes_synced: bool,
    pod_relist: Option<HashSet<String>>,
    node_relist: Option<HashSet<String>>,
}

fn uid_of(pod: &Pod) -> Option<String> {
    pod.metadata.uid.clone()
}

impl Scheduler {
    fn on_node_event(&mut self, ev: Event<Node>) {
        match ev {
            Event::Init => self.node_relist = Some(HashSet::new()),
            Event::InitApply(n) | Event::Apply(n) => {
                if let (Some(seen), Some(name)) = (&mut self.node_relist, &n.metadata.name) {
                    seen.insert(name.clone());
                }
                self.upsert_node(&n);
            }
            Event::InitDone => {
                self.nodes_synced = true;
                if let Some(seen) = self.node_relist.take() {
                    let gone: Vec<String> = self
                        .order
                        .iter()
                        .filter(|n| !seen.contains(*n))
                        .cloned()
                        .collect();
                    for name in gone {
                        self.remove_node(&name);
                    }
                }
            }
            Event::Delete(n) => {
                if let Some(name) = &n.metadata.name {
                    self.remove_node(name);
                }
            }
        }
    }

    fn upsert_node(&mut self, node: &Node) {
        let Some(name) = node.metadata.name.clone() else {
            return;
        };
        let info = self.nodes.entry(name.clone()).or_default();
        let mut changed = info.update(node);
        if !info.present {
            info.present = true;
            self.order.push(name);
            changed = true;
        }
        if changed {
            self.wake = true;
        }
    }

    fn remove_node(&mut self, name: &str) {
        if let Some(info) = self.nodes.get_mut(name) {
            info.present = false;
            if info.requested.pods <= 0 {
                self.nodes.remove(name);
            }
        }
        self.order.retain(|n| n != name);
    }

    fn on_pod_event(&mut self, ev: Event<Pod>) {
        match ev {
            Event::Init => self.pod_relist = Some(HashSet::new()),
            Event::InitApply(p) | Event::Apply(p) => {
                if let (Some(seen), Some(uid)) = (&mut self.pod_relist, &p.metadata.uid) {
                    seen.insert(uid.clone());
                }
                self.upsert_pod(p);
            }
            Event::InitDone => {
                self.pods_synced = true;
                if let Some(seen) = self.pod_relist.take() {
                    let gone: Vec<String> = self
                        .assigned
                        .keys()
                        .chain(self.pending.keys())
                        .filter(|u| !seen.contains(*u))
                        .cloned()
                        .collect();
                    for uid in gone {
                        self.pending.remove(&uid);
                        self.unaccount(&uid);
                    }
                }
            }
            Event::Delete(p) => {
                if let Some(uid) = uid_of(&p) {
                    self.pending.remove(&uid);
                    self.unaccount(&uid);
                }
            }
        }
    }

    fn upsert_pod(&mut self, pod: Pod) {
        let Some(uid) = uid_of(&pod) else { return };
        let spec = pod.spec.as_ref();
        let node = spec.and_then(|s| s.node_name.clone()).unwrap_or_default();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let terminal = matches!(phase, Some("Succeeded" | "Failed"));
        if !node.is_empty() {
            if self
                .pending
                .get(&uid)
                .is_some_and(|p| p.state != State::Binding)
            {
                self.pending.remove(&uid);
            }
            if terminal {
                self.unaccount(&uid);
            } else {
                self.account(&uid, &node, &pod);
            }
            return;
        }
        let ours = spec
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or(crate::DEFAULT_SCHEDULER_NAME)
            == self.config.scheduler_name;
        let gated = spec
            .and_then(|s| s.scheduling_gates.as_ref())
            .is_some_and(|g| !g.is_empty());
        if terminal || !ours || gated || pod.metadata.deletion_timestamp.is_some() {
            self.pending.remove(&uid);
            return;
        }
        let generation = pod.metadata.generation.unwrap_or(0);
        match self.pending.get_mut(&uid) {
            Some(p) => {
                let respec = p.generation != generation;
                p.pod = Arc::new(pod);
                if respec {
                    p.generation = generation;
                    p.req = predicates::pod_request(&p.pod);
                    if matches!(p.state, State::Unschedulable(_)) {
                        p.state = State::Active;
                        self.active.push_back(uid);
                    }
                }
            }
            None => {
                let req = predicates::pod_request(&pod);
                self.pending.insert(
                    uid.clone(),
                    Pending {
                        pod: Arc::new(pod),
                        req,
                        generation,
                        state: State::Active,
                        attempts: 0,
                        last_event: None,
                    },
                );
                self.active.push_back(uid);
            }
        }
    }

    /// Count a bound pod on its node (confirming an assumed one).
    fn account(&mut self, uid: &str, node: &str, pod: &Pod) {
        if let Some(a) = self.assigned.get_mut(uid) {
            if a.node == node {
                a.assumed = false;
                return;
            }
            self.unaccount(uid);
        }
        let req = predicates::pod_request(pod);
        self.nodes
            .entry(node.to_string())
            .or_insert_with(|| NodeInfo {
                name: node.to_string(),
                ..NodeInfo::default()
            })
            .add(&req);
        self.assigned.insert(
            uid.to_string(),
            Assigned {
                node: node.to_string(),
                req,
                assumed: false,
            },
        );
    }

    fn assume(&mut self, uid: &str, node: &str, req: &PodReq) {
        if let Some(info) = self.nodes.get_mut(node) {
            info.add(req);
        }
        self.assigned.insert(
            uid.to_string(),
            Assigned {
                node: node.to_string(),
                req: req.clone(),
                assumed: true,
            },
        );
    }

    fn unaccount(&mut self, uid: &str) {
        let Some(a) = self.assigned.remove(uid) else {
            return;
        };
        if let Some(info) = self.nodes.get_mut(&a.node) {
            info.remove(&a.req);
            if !info.present && info.requested.pods <= 0 {
                self.nodes.remove(&a.node);
            }
        }
        self.wake = true;
    }

    fn ready(&self) -> bool {
        self.pods_synced
            && self.nodes_synced
            && !self.active.is_empty()
            && self.binds.len() < self.config.max_in_flight
    }

    fn schedule_batch(&mut self) {
        for _ in 0..BATCH {
            if self.binds.len() >= self.config.max_in_flight {
                return;
            }
            let Some(uid) = self.active.pop_front() else {
                return;
            };
            let Some(p) = self.pending.get_mut(&uid) else {
                continue;
            };
            if p.state != State::Active {
                continue;
            }
            p.attempts += 1;
            let (pod, req) = (p.pod.clone(), p.req.clone());
            match find_node(&self.nodes, &self.order, self.next_start, &pod, &req) {
                Ok((node, examined)) => {
                    p.state = State::Binding;
                    self.next_start = (self.next_start + examined) % self.order.len().max(1);
                    self.assume(&uid, &node, &req);
                    self.bind(uid, pod, node);
                }
                Err(err) => {
                    p.state = State::Unschedulable(Instant::now());
                    let message = err.message();
                    self.unschedulable(&uid, message);
                }
            }
        }
    }

    fn bind(&mut self, uid: String, pod: Arc<Pod>, node: String) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns),
                uid: Some(uid.clone()),
                ..ObjectMeta::default()
            },
            target: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: Some(node.clone()),
                ..ObjectReference::default()
            },
        };
        self.binds.spawn(async move {
            let r: Result<serde_json::Value, _> = api
                .create_subresource("binding", &name, &PostParams::default(), &binding)
                .await;
            let result = r.map(|_| ()).map_err(|e| match e {
                kube::Error::Api(s) => (s.code, s.message),
                e => (0, e.to_string()),
            });
            BindDone {
                uid,
                pod,
                node,
                result,
            }
        });
    }

    fn bound(&mut self, done: BindDone) {
        let BindDone {
            uid,
            pod,
            node,
            result,
        } = done;
        match result {
            Ok(()) => {
                self.pending.remove(&uid);
                if self.config.events {
                    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
                    let name = pod.metadata.name.as_deref().unwrap_or_default();
                    let msg = format!("Successfully assigned {ns}/{name} to {node}");
                    self.recorder
                        .pod_event(&pod, "Normal", "Scheduled", "Binding", msg);
                }
            }
            Err((code, message)) => {
                if self
                    .assigned
                    .get(&uid)
                    .is_some_and(|a| a.assumed && a.node == node)
                {
                    self.unaccount(&uid);
                }
                if code == 404 || code == 409 {
                    // Gone, being deleted, or bound by someone else.
                    self.pending.remove(&uid);
                    return;
                }
                tracing::warn!("binding pod {uid} to {node}: {code} {message}");
                if let Some(p) = self.pending.get_mut(&uid) {
                    p.state = State::Backoff;
                    let wait = Duration::from_millis(250 << p.attempts.min(7));
                    self.backoff.insert((Instant::now() + wait, uid));
                }
            }
        }
    }

    /// Tell the pod (condition) and its owner (event) why it waits.
    fn unschedulable(&mut self, uid: &str, message: String) {
        let Some(p) = self.pending.get_mut(uid) else {
            return;
        };
        let now = Instant::now();
        let repeat = p
            .last_event
            .as_ref()
            .is_some_and(|(m, at)| *m == message && now.duration_since(*at) < EVENT_REPEAT);
        if !repeat && self.config.events {
            self.recorder.pod_event(
                &p.pod,
                "Warning",
                "FailedScheduling",
                "Scheduling",
                message.clone(),
            );
            p.last_event = Some((message.clone(), now));
        }
        let conditions = p
            .pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let current = conditions.iter().find(|c| c.type_ == "PodScheduled");
        if current.is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(&message)) {
            return;
        }
        let mut list: Vec<serde_json::Value> = conditions
            .iter()
            .filter(|c| c.type_ != "PodScheduled")
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect();
        list.push(json!({
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastProbeTime": null,
            "lastTransitionTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }));
        let name = p.pod.metadata.name.clone().unwrap_or_default();
        let ns = p.pod.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let body = json!({"status": {"conditions": list}});
        self.writes.spawn(async move {
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
                .await
            {
                tracing::debug!("marking {ns}/{name} unschedulable: {e}");
            }
        });
    }

    fn tick(&mut self) {
        while self.writes.try_join_next().is_some() {}
        let now = Instant::now();
        while let Some((at, _)) = self.backoff.first() {
            if *at > now {
                break;
            }
            let Some((_, uid)) = self.backoff.pop_first() else {
                break;
            };
            if let Some(p) = self.pending.get_mut(&uid)
                && p.state == State::Backoff
            {
                p.state = State::Active;
                self.active.push_back(uid);
            }
        }
        let flush = now.duration_since(self.last_flush) >= FLUSH_UNSCHEDULABLE / 10;
        if !(self.wake || flush) {
            return;
        }
        let wake = std::mem::take(&mut self.wake);
        if flush {
            self.last_flush = now;
        }
        for (uid, p) in &mut self.pending {
            if let State::Unschedulable(since) = p.state
                && (wake || now.duration_since(since) >= FLUSH_UNSCHEDULABLE)
            {
                p.state = State::Active;
                self.active.push_back(uid.clone());
            }
        }
    }
}

struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

pub(crate) async fn run(
    client: kube::Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let (recorder, workers) = Recorder::start(client.clone(), &config.scheduler_name);
    let _workers = AbortOnDrop(workers);
    let nodes = watcher::watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
        .default_backoff();
    let pods = watcher::watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
        .default_backoff();
    futures::pin_mut!(nodes, pods);
    let mut s = Scheduler {
        client,
        config,
        nodes: HashMap::new(),
        order: Vec::new(),
        next_start: 0,
        assigned: HashMap::new(),
        pending: HashMap::new(),
        active: VecDeque::new(),
        backoff: BTreeSet::new(),
        binds: JoinSet::new(),
        writes: JoinSet::new(),
        recorder,
        wake: false,
        last_flush: Instant::now(),
        pods_synced: false,
        nodes_synced: false,
        pod_relist: None,
        node_relist: None,
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            ev = nodes.next() => match ev {
                Some(Ok(ev)) => s.on_node_event(ev),
                Some(Err(e)) => tracing::warn!("watching nodes: {e}"),
                None => anyhow::bail!("the node watch ended"),
            },
            ev = pods.next() => match ev {
                Some(Ok(ev)) => s.on_pod_event(ev),
                Some(Err(e)) => tracing::warn!("watching pods: {e}"),
                None => anyhow::bail!("the pod watch ended"),
            },
            Some(done) = s.binds.join_next(), if !s.binds.is_empty() => match done {
                Ok(done) => s.bound(done),
                Err(e) => tracing::warn!("bind task: {e}"),
            },
            _ = tick.tick() => s.tick(),
            _ = std::future::ready(()), if s.ready() => s.schedule_batch(),
        }
    }
}
