//! The node lifecycle controller: watches each node's heartbeats (its
//! Lease renewals and its Ready condition's lastHeartbeatTime, timed by
//! this controller's own clock so skew does not matter). A node silent
//! for longer than the grace period gets its conditions set to Unknown,
//! its pods marked not Ready, and the `unreachable` NoExecute and
//! NoSchedule taints (a node reporting Ready=False gets `not-ready`
//! instead); the taints go again once it reports Ready. Pods on a node
//! with a NoExecute taint are evicted (deleted) when their matching
//! toleration's seconds have run out since the taint was added (the API
//! server gives every pod 300 s for these two), at once without a
//! matching toleration, never with an unlimited one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use kube::api::{Api, DeleteParams, Patch};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::{Recorder, reference};
use crate::runtime::{Change, Factory, Informer, Shutdown};
use crate::util::{api_code, now, patch_params, seconds_since};

pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Timings (upstream: 40 s grace, 5 s period).
#[derive(Debug, Clone)]
pub struct Timing {
    pub grace_period: Duration,
    pub monitor_period: Duration,
}

pub struct NodeLifecycleController {
    client: Client,
    nodes: Informer<Node>,
    leases: Informer<Lease>,
    pods: Informer<Pod>,
    timing: Timing,
    /// Per node: what was last seen of its heartbeats, and when (ours).
    probes: Arc<Mutex<HashMap<String, Probe>>>,
    recorder: Recorder,
}

#[derive(Default, Clone)]
struct Probe {
    heartbeat: Option<String>,
    renew: Option<String>,
    at: Option<Instant>,
}

fn ready_status(node: &Node) -> Option<(String, Option<String>)> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| {
            (
                c.status.clone(),
                c.last_heartbeat_time.as_ref().map(|t| format!("{:?}", t.0)),
            )
        })
}

fn taints(node: &Node) -> Vec<Taint> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
}

/// Whether `tol` tolerates `taint`.
pub fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    let effect_ok = tol
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key_ok = match tol.key.as_deref() {
        None | Some("") => tol.operator.as_deref() == Some("Exists"),
        Some(k) => k == taint.key,
    };
    let value_ok = tol.operator.as_deref() == Some("Exists")
        || tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("");
    effect_ok && key_ok && value_ok
}

/// How long after now `pod` may stay on a node with `taints` (the
/// NoExecute ones): None forever, zero at once.
pub fn eviction_delay(pod: &Pod, taints: &[Taint]) -> Option<Duration> {
    let tols = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let mut delay: Option<Duration> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> = tols.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(Duration::ZERO);
        }
        // The shortest bounded toleration wins; unbounded ones never evict.
        let Some(secs) = matching.iter().filter_map(|t| t.toleration_seconds).min() else {
            continue;
        };
        let since = taint.time_added.as_ref().map_or(0.0, seconds_since);
        let left = Duration::from_secs_f64((secs.max(0) as f64 - since).max(0.0));
        delay = Some(delay.map_or(left, |d| d.min(left)));
    }
    delay
}

impl NodeLifecycleController {
    pub fn new(factory: &Factory, timing: Timing) -> Arc<Self> {
        let c = Arc::new(NodeLifecycleController {
            client: factory.client().clone(),
            nodes: factory.informer::<Node>(),
            leases: factory.informer::<Lease>(),
            pods: factory.informer::<Pod>(),
            timing,
            probes: Arc::default(),
            recorder: Recorder::new(factory.client().clone(), "node-controller"),
        });
        let probes = Arc::clone(&c.probes);
        c.nodes.on_change(move |ch| match ch {
            Change::Added(n) | Change::Updated { new: n, .. } => {
                let hb = ready_status(n).and_then(|r| r.1);
                let mut p = probes.lock().expect("probes lock");
                let e = p.entry(n.name_any()).or_default();
                if e.at.is_none() || e.heartbeat != hb {
                    e.heartbeat = hb;
                    e.at = Some(Instant::now());
                }
            }
            Change::Deleted(n) => {
                probes.lock().expect("probes lock").remove(&n.name_any());
            }
        });
        let probes = Arc::clone(&c.probes);
        c.leases.on_change(move |ch| {
            if let Change::Added(l) | Change::Updated { new: l, .. } = ch
                && l.namespace().as_deref() == Some(LEASE_NAMESPACE)
            {
                let renew = l
                    .spec
                    .as_ref()
                    .and_then(|s| s.renew_time.as_ref())
                    .map(|t| format!("{:?}", t.0));
                let mut p = probes.lock().expect("probes lock");
                let e = p.entry(l.name_any()).or_default();
                if e.renew != renew {
                    e.renew = renew;
                    e.at = Some(Instant::now());
                }
            }
        });
        c
    }

    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        tokio::select! {
            _ = async {
                self.nodes.wait_synced().await;
                self.leases.wait_synced().await;
                self.pods.wait_synced().await;
            } => {}
            _ = shutdown.wait() => return,
        }
        loop {
            let next = match self.monitor().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::debug!("node lifecycle: {e:#}");
                    self.timing.monitor_period
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(next) => {}
                _ = shutdown.wait() => return,
            }
        }
    }

    /// One pass over every node; returns when to look again.
    async fn monitor(&self) -> anyhow::Result<Duration> {
        let mut next = self.timing.monitor_period;
        for node in self.nodes.list() {
            let name = node.name_any();
            let silent_for = self
                .probes
                .lock()
                .expect("probes lock")
                .get(&name)
                .and_then(|p| p.at)
                .map_or(Duration::ZERO, |at| at.elapsed());
            let ready = ready_status(&node).map(|r| r.0);
            let node =
                if silent_for > self.timing.grace_period && ready.as_deref() != Some("Unknown") {
                    self.mark_unknown(&node).await?
                } else {
                    (*node).clone()
                };
            let node = self.reconcile_taints(&node).await?;
            if let Some(d) = self.evict(&node).await? {
                next = next.min(d);
            }
        }
        Ok(next.max(Duration::from_millis(20)))
    }

    async fn mark_unknown(&self, node: &Node) -> anyhow::Result<Node> {
        let name = node.name_any();
        let t = now();
        let conditions: Vec<serde_json::Value> = node
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .map(|c| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                if c.status != "Unknown" {
                    v["status"] = json!("Unknown");
                    v["reason"] = json!("NodeStatusUnknown");
                    v["message"] = json!("Kubelet stopped posting node status.");
                    v["lastTransitionTime"] = json!(t);
                }
                v
            })
            .collect();
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"status": {"conditions": conditions}});
        let updated = api
            .patch_status(&name, &patch_params(), &Patch::Merge(&patch))
            .await?;
        self.recorder.normal(
            reference(node),
            "NodeNotReady",
            format!("Node {name} status is now: NodeNotReady"),
        );
        // Its pods can no longer be trusted to serve.
        for p in self.pods_on(&name) {
            let Some(conds) = p.status.as_ref().and_then(|s| s.conditions.clone()) else {
                continue;
            };
            if !conds
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
            {
                continue;
            }
            let conds: Vec<serde_json::Value> = conds
                .iter()
                .map(|c| {
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    if c.type_ == "Ready" {
                        v["status"] = json!("False");
                        v["lastTransitionTime"] = json!(t);
                    }
                    v
                })
                .collect();
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &p.namespace().unwrap_or_default());
            let body = json!({"status": {"conditions": conds}});
            match api
                .patch_status(&p.name_any(), &patch_params(), &Patch::Merge(&body))
                .await
            {
                Ok(_) => {}
                Err(e) if api_code(&e) == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(updated)
    }

    fn pods_on(&self, node: &str) -> Vec<Arc<Pod>> {
        self.pods
            .list()
            .into_iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
            .collect()
    }

    /// Add or remove the condition taints to match the Ready condition.
    async fn reconcile_taints(&self, node: &Node) -> anyhow::Result<Node> {
        let ready = ready_status(node).map(|r| r.0);
        let key = match ready.as_deref() {
            Some("Unknown") => Some(UNREACHABLE),
            Some("False") => Some(NOT_READY),
            _ => None,
        };
        let current = taints(node);
        let mut next: Vec<Taint> = current
            .iter()
            .filter(|t| {
                let ours = t.key == UNREACHABLE || t.key == NOT_READY;
                !ours || Some(t.key.as_str()) == key
            })
            .cloned()
            .collect();
        if let Some(key) = key {
            for effect in ["NoSchedule", "NoExecute"] {
                if !next.iter().any(|t| t.key == key && t.effect == effect) {
                    next.push(Taint {
                        key: key.into(),
                        effect: effect.into(),
                        time_added: (effect == "NoExecute").then(now),
                        value: None,
                    });
                }
            }
        }
        if next == current {
            return Ok(node.clone());
        }
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({
            "metadata": {"resourceVersion": node.resource_version()},
            "spec": {"taints": next},
        });
        Ok(api
            .patch(&node.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await?)
    }

    /// Evict the pods whose tolerations ran out; returns the time until
    /// the next one is due.
    async fn evict(&self, node: &Node) -> anyhow::Result<Option<Duration>> {
        let taints: Vec<Taint> = taints(node)
            .into_iter()
            .filter(|t| t.effect == "NoExecute")
            .collect();
        if taints.is_empty() {
            return Ok(None);
        }
        let mut next: Option<Duration> = None;
        for p in self.pods_on(&node.name_any()) {
            if p.metadata.deletion_timestamp.is_some() {
                continue;
            }
            match eviction_delay(&p, &taints) {
                None => {}
                Some(d) if d.is_zero() => {
                    let api: Api<Pod> =
                        Api::namespaced(self.client.clone(), &p.namespace().unwrap_or_default());
                    match api.delete(&p.name_any(), &DeleteParams::default()).await {
                        Ok(_) => self.recorder.normal(
                            reference(p.as_ref()),
                            "TaintManagerEviction",
                            format!(
                                "Marking for deletion Pod {}/{}",
                                p.namespace().unwrap_or_default(),
                                p.name_any()
                            ),
                        ),
                        Err(e) if api_code(&e) == Some(404) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(tols: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": tols}}),
        )
        .unwrap()
    }

    #[test]
    fn toleration_seconds_decide_when_a_pod_is_evicted() {
        let taint = Taint {
            key: UNREACHABLE.into(),
            effect: "NoExecute".into(),
            time_added: Some(now()),
            value: None,
        };
        let t = [taint];
        assert_eq!(eviction_delay(&pod(json!([])), &t), Some(Duration::ZERO));
        let d = eviction_delay(
            &pod(json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])),
            &t,
        )
        .unwrap();
        assert!(d > Duration::from_secs(298) && d <= Duration::from_secs(300));
        assert_eq!(
            eviction_delay(&pod(json!([{"operator": "Exists"}])), &t),
            None,
            "an unbounded toleration never evicts"
        );
        assert_eq!(
            eviction_delay(
                &pod(
                    json!([{"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}])
                ),
                &t
            ),
            Some(Duration::ZERO),
            "a toleration for another taint does not help"
        );
    }
}
