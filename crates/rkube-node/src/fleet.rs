//! The loop that drives pods on a set of simulated nodes: one pod watch,
//! per-pod state in memory, a timer queue for the delays, and status
//! writes in the background (at most a fixed number in flight).
//!
//! Each step is decided from the pod as last seen (from the watch or from
//! the answer to our own write, whichever is newer) plus when this loop
//! first saw it in its current stage, so decisions are idempotent and a
//! restarted node picks up where the pods stand.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::NodeConfig;
use crate::events::Recorder;
use crate::ipam::Ipam;
use crate::node::{self, now_secs};
use crate::status::{self, Observed, Step};

/// Status writes and deletes in flight at once.
const MAX_WRITES: usize = 64;
const RETRY: Duration = Duration::from_secs(1);

struct NodeRt {
    cfg: Arc<NodeConfig>,
    ipam: Ipam,
    host_ip: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Creating,
    Running,
    Complete,
    Delete,
}

enum Outcome {
    Patched(Box<Pod>),
    /// Deleted, or already gone or replaced.
    Gone,
    Failed(String),
}

enum Next {
    Idle,
    At(Instant),
    Now(Action),
}

struct Tracked {
    pod: Pod,
    rv: u64,
    node: String,
    inflight: bool,
    wake_at: Option<Instant>,
    retry_at: Option<Instant>,
    creating_since: Option<Instant>,
    running_since: Option<Instant>,
    deleting_since: Option<Instant>,
    ip: Option<Ipv4Addr>,
    started_announced: bool,
    killing_announced: bool,
    gone: bool,
}

fn rv_of(pod: &Pod) -> u64 {
    pod.metadata
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}

/// A duration as Go prints one ("2s", "1.5s").
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0'))
    }
}

/// What to do next with a pod, and when.
fn decide(t: &mut Tracked, cfg: &NodeConfig, now: Instant) -> Next {
    if t.pod.metadata.deletion_timestamp.is_some() {
        let since = *t.deleting_since.get_or_insert(now);
        let grace = t
            .pod
            .metadata
            .deletion_grace_period_seconds
            .unwrap_or(0)
            .max(0) as f64;
        let fraction = cfg.delays.terminate_fraction.clamp(0.0, 1.0);
        let wait = Duration::from_secs_f64(grace * fraction).min(cfg.delays.terminate_max);
        return at_or_now(since + wait, now, Action::Delete);
    }
    match status::observe(&t.pod) {
        Observed::Fresh => Next::Now(Action::Creating),
        Observed::Creating => {
            let since = *t.creating_since.get_or_insert(now);
            at_or_now(since + cfg.delays.start, now, Action::Running)
        }
        Observed::Running { ready } => {
            let since = *t.running_since.get_or_insert(now);
            let mut next: Option<Instant> = None;
            if status::runs_to_completion(&t.pod) {
                let done = since + status::run_time(&t.pod, cfg.delays.job_duration);
                if done <= now {
                    return Next::Now(Action::Complete);
                }
                next = Some(done);
            }
            let want = ready_flags(&t.pod, cfg, since, now);
            if want != ready {
                return Next::Now(Action::Running);
            }
            for c in status::containers(&t.pod) {
                let at = since + status::ready_delay(c, cfg.delays.ready);
                if at > now {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
            next.map_or(Next::Idle, Next::At)
        }
        Observed::Terminal => Next::Idle,
    }
}

fn at_or_now(at: Instant, now: Instant, action: Action) -> Next {
    if at <= now {
        Next::Now(action)
    } else {
        Next::At(at)
    }
}

fn ready_flags(pod: &Pod, cfg: &NodeConfig, since: Instant, now: Instant) -> Vec<bool> {
    status::containers(pod)
        .iter()
        .map(|c| since + status::ready_delay(c, cfg.delays.ready) <= now)
        .collect()
}

struct Fleet {
    client: kube::Client,
    nodes: HashMap<String, NodeRt>,
    pods: HashMap<String, Tracked>,
    timers: BTreeSet<(Instant, String)>,
    writes: JoinSet<(String, Action, Outcome)>,
    limit: Arc<Semaphore>,
    recorder: Recorder,
    relist: Option<HashSet<String>>,
}

impl Fleet {
    fn handle(&mut self, ev: Event<Pod>) {
        match ev {
            Event::Init => self.relist = Some(HashSet::new()),
            Event::InitApply(p) | Event::Apply(p) => {
                if let (Some(seen), Some(uid)) = (&mut self.relist, &p.metadata.uid) {
                    seen.insert(uid.clone());
                }
                self.upsert(p);
            }
            Event::InitDone => {
                if let Some(seen) = self.relist.take() {
                    let stale: Vec<String> = self
                        .pods
                        .keys()
                        .filter(|k| !seen.contains(*k))
                        .cloned()
                        .collect();
                    for uid in stale {
                        self.forget(&uid);
                    }
                }
            }
            Event::Delete(p) => {
                if let Some(uid) = &p.metadata.uid {
                    self.forget(uid);
                }
            }
        }
    }

    fn upsert(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let Some(node) = self.nodes.get_mut(&node_name) else {
            return;
        };
        let rv = rv_of(&pod);
        match self.pods.get_mut(&uid) {
            Some(t) => {
                if rv >= t.rv {
                    t.pod = pod;
                    t.rv = rv;
                }
            }
            None => {
                // A pod already running (we restarted): keep its IP.
                let ip = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.pod_ip.as_deref())
                    .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                    .filter(|ip| !host_network(&pod) && node.ipam.claim(*ip));
                let running = matches!(
                    status::observe(&pod),
                    Observed::Running { .. } | Observed::Terminal
                );
                self.pods.insert(
                    uid.clone(),
                    Tracked {
                        pod,
                        rv,
                        node: node_name,
                        inflight: false,
                        wake_at: None,
                        retry_at: None,
                        creating_since: None,
                        running_since: None,
                        deleting_since: None,
                        ip,
                        started_announced: running,
                        killing_announced: false,
                        gone: false,
                    },
                );
            }
        }
        self.step(&uid);
    }

    fn forget(&mut self, uid: &str) {
        if let Some(t) = self.pods.remove(uid)
            && let (Some(ip), Some(node)) = (t.ip, self.nodes.get_mut(&t.node))
        {
            node.ipam.release(ip);
        }
    }

    fn schedule(timers: &mut BTreeSet<(Instant, String)>, t: &mut Tracked, uid: &str, at: Instant) {
        if t.wake_at.is_some_and(|w| w <= at) {
            return;
        }
        t.wake_at = Some(at);
        timers.insert((at, uid.to_string()));
    }

    /// Decide and act on one pod.
    fn step(&mut self, uid: &str) {
        let now = Instant::now();
        let Some(t) = self.pods.get_mut(uid) else {
            return;
        };
        if t.inflight || t.gone {
            return;
        }
        if let Some(r) = t.retry_at {
            if r > now {
                Self::schedule(&mut self.timers, t, uid, r);
                return;
            }
            t.retry_at = None;
        }
        let Some(node) = self.nodes.get(&t.node) else {
            return;
        };
        let cfg = node.cfg.clone();
        if t.pod.metadata.deletion_timestamp.is_some() && !t.killing_announced {
            t.killing_announced = true;
            if cfg.events && t.started_announced {
                for c in status::containers(&t.pod) {
                    let msg = format!("Stopping container {}", c.name);
                    self.recorder
                        .pod_event(&t.pod, &cfg.name, Some(&c.name), "Killing", msg);
                }
            }
        }
        match decide(t, &cfg, now) {
            Next::Idle => {}
            Next::At(at) => Self::schedule(&mut self.timers, t, uid, at),
            Next::Now(action) => self.perform(uid, action, now),
        }
    }

    fn perform(&mut self, uid: &str, action: Action, now: Instant) {
        let Some(t) = self.pods.get_mut(uid) else {
            return;
        };
        let Some(node) = self.nodes.get_mut(&t.node) else {
            return;
        };
        let cfg = node.cfg.clone();
        let host_ip = node.host_ip.clone();
        let stamp = now_secs();
        let name = t.pod.metadata.name.clone().unwrap_or_default();
        let ns = t.pod.metadata.namespace.clone().unwrap_or_default();
        let body = match action {
            Action::Delete => None,
            Action::Creating => Some(status::patch(
                &t.pod,
                Step::Creating,
                &host_ip,
                None,
                &stamp,
            )),
            Action::Running | Action::Complete => {
                let ip = if host_network(&t.pod) {
                    host_ip.clone()
                } else {
                    if t.ip.is_none() {
                        t.ip = node.ipam.allocate();
                    }
                    match t.ip {
                        Some(ip) => ip.to_string(),
                        None => {
                            tracing::warn!(
                                "node {}: pod CIDR exhausted; {ns}/{name} waits",
                                cfg.name
                            );
                            t.retry_at = Some(now + RETRY * 5);
                            Self::schedule(&mut self.timers, t, uid, now + RETRY * 5);
                            return;
                        }
                    }
                };
                let since = *t.running_since.get_or_insert(now);
                let flags = ready_flags(&t.pod, &cfg, since, now);
                let step = if action == Action::Complete {
                    Step::Completed {
                        exit_code: status::exit_code(&t.pod),
                    }
                } else {
                    Step::Running { ready: &flags }
                };
                Some(status::patch(&t.pod, step, &host_ip, Some(&ip), &stamp))
            }
        };
        t.inflight = true;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let limit = self.limit.clone();
        let uid_owned = uid.to_string();
        self.writes.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let outcome = match body {
                Some(body) => {
                    match api
                        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
                        .await
                    {
                        Ok(p) => Outcome::Patched(Box::new(p)),
                        Err(kube::Error::Api(s)) if s.code == 404 => Outcome::Gone,
                        Err(e) => Outcome::Failed(format!("updating status of {ns}/{name}: {e}")),
                    }
                }
                None => {
                    let dp = DeleteParams {
                        grace_period_seconds: Some(0),
                        preconditions: Some(Preconditions {
                            uid: Some(uid_owned.clone()),
                            resource_version: None,
                        }),
                        ..DeleteParams::default()
                    };
                    match api.delete(&name, &dp).await {
                        Ok(_) => Outcome::Gone,
                        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Outcome::Gone,
                        Err(e) => Outcome::Failed(format!("deleting {ns}/{name}: {e}")),
                    }
                }
            };
            (uid_owned, action, outcome)
        });
    }

    fn written(&mut self, uid: String, action: Action, outcome: Outcome) {
        let Some(t) = self.pods.get_mut(&uid) else {
            return;
        };
        t.inflight = false;
        match outcome {
            Outcome::Patched(p) => {
                let rv = rv_of(&p);
                if rv >= t.rv {
                    t.pod = *p;
                    t.rv = rv;
                }
                if let Some(node) = self.nodes.get_mut(&t.node) {
                    announce(&self.recorder, t, &node.cfg, action);
                    // A finished pod's sandbox is gone: its IP is free again
                    // (the status keeps showing it, as upstream).
                    if action == Action::Complete
                        && let Some(ip) = t.ip.take()
                    {
                        node.ipam.release(ip);
                    }
                }
            }
            Outcome::Gone => t.gone = true,
            Outcome::Failed(e) => {
                tracing::warn!("{e}");
                t.retry_at = Some(Instant::now() + RETRY);
            }
        }
        self.step(&uid);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(first) = self.timers.first() {
            if first.0 > now {
                break;
            }
            let Some((at, uid)) = self.timers.pop_first() else {
                break;
            };
            if let Some(t) = self.pods.get_mut(&uid)
                && t.wake_at == Some(at)
            {
                t.wake_at = None;
                self.step(&uid);
            }
        }
    }
}

/// Events for a step that was just written.
fn announce(recorder: &Recorder, t: &mut Tracked, cfg: &NodeConfig, action: Action) {
    if !cfg.events {
        return;
    }
    let containers = status::containers(&t.pod);
    match action {
        Action::Creating => {
            for c in containers {
                let image = c.image.clone().unwrap_or_default();
                let msg = format!("Pulling image \"{image}\"");
                recorder.pod_event(&t.pod, &cfg.name, Some(&c.name), "Pulling", msg);
            }
        }
        Action::Running if !t.started_announced => {
            t.started_announced = true;
            let took = go_duration(cfg.delays.start);
            for c in containers {
                let image = c.image.clone().unwrap_or_default();
                let size = status::image_size(&image);
                let pulled = format!(
                    "Successfully pulled image \"{image}\" in {took} ({took} including waiting). Image size: {size} bytes."
                );
                recorder.pod_event(&t.pod, &cfg.name, Some(&c.name), "Pulled", pulled);
                let created = format!("Created container: {}", c.name);
                recorder.pod_event(&t.pod, &cfg.name, Some(&c.name), "Created", created);
                let started = format!("Started container {}", c.name);
                recorder.pod_event(&t.pod, &cfg.name, Some(&c.name), "Started", started);
            }
        }
        _ => {}
    }
}

/// Aborts a background task when dropped.
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
    cfgs: Vec<NodeConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    anyhow::ensure!(!cfgs.is_empty(), "no nodes to run");
    let mut nodes = HashMap::new();
    let cfgs: Vec<Arc<NodeConfig>> = cfgs.into_iter().map(Arc::new).collect();
    for cfg in &cfgs {
        let rt = NodeRt {
            cfg: cfg.clone(),
            ipam: Ipam::new(&cfg.pod_cidr)?,
            host_ip: cfg.internal_ip.to_string(),
        };
        anyhow::ensure!(
            nodes.insert(cfg.name.clone(), rt).is_none(),
            "node {} is configured twice",
            cfg.name
        );
    }
    tokio::pin!(shutdown);
    let since = now_secs();
    let uids = tokio::select! {
        _ = &mut shutdown => return Ok(()),
        uids = node::register_all(&client, &cfgs, &since) => uids,
    };
    tracing::info!("{} simulated node(s) registered", cfgs.len());
    let paired = cfgs.iter().cloned().zip(uids).collect();
    let mut background = vec![
        tokio::spawn(node::maintain(client.clone(), paired, since.clone())),
        tokio::spawn(node::reassert_ready(client.clone(), cfgs.clone(), since)),
    ];
    let (recorder, workers) = Recorder::start(client.clone());
    background.extend(workers);
    let _background = AbortOnDrop(background);

    let selector = if cfgs.len() == 1 {
        format!("spec.nodeName={}", cfgs[0].name)
    } else {
        "spec.nodeName!=".to_string()
    };
    let api: Api<Pod> = Api::all(client.clone());
    let stream =
        watcher::watcher(api, watcher::Config::default().fields(&selector)).default_backoff();
    futures::pin_mut!(stream);
    let mut fleet = Fleet {
        client,
        nodes,
        pods: HashMap::new(),
        timers: BTreeSet::new(),
        writes: JoinSet::new(),
        limit: Arc::new(Semaphore::new(MAX_WRITES)),
        recorder,
        relist: None,
    };
    loop {
        let next_timer = fleet.timers.first().map(|(at, _)| *at);
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            ev = stream.next() => match ev {
                Some(Ok(ev)) => fleet.handle(ev),
                Some(Err(e)) => tracing::warn!("watching pods: {e}"),
                None => anyhow::bail!("the pod watch ended"),
            },
            Some(done) = fleet.writes.join_next(), if !fleet.writes.is_empty() => match done {
                Ok((uid, action, outcome)) => fleet.written(uid, action, outcome),
                Err(e) => tracing::warn!("pod write task: {e}"),
            },
            _ = tokio::time::sleep_until(next_timer.unwrap_or_else(Instant::now)), if next_timer.is_some() => {
                fleet.fire_timers();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(2)), "2s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(250)), "0.25s");
    }
}
