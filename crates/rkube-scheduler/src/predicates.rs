//! What the scheduler knows of a node and a pod, whether a pod fits a node
//! (unschedulable, taints, node selector and required affinity, resources,
//! pod count), and how well (least allocated, spread of an owner's pods,
//! preferred affinity, PreferNoSchedule taints). Pure functions.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Node, NodeSelectorTerm, Pod, Taint, Toleration};

use crate::quantity;

/// Requests the scoring assumes for a container that states none, as
/// kube-scheduler does (100m CPU, 200MB memory).
const DEFAULT_MILLI_CPU: i64 = 100;
const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;
const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Res {
    pub cpu: i64,
    pub memory: i64,
    pub storage: i64,
    pub pods: i64,
}

/// What a pod asks of a node.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PodReq {
    pub res: Res,
    pub nonzero_cpu: i64,
    pub nonzero_memory: i64,
    /// The controller owning the pod (its uid), for spreading.
    pub owner: Option<String>,
}

fn request(
    c_req: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
    c_lim: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
    name: &str,
) -> Option<i64> {
    let q = c_req
        .and_then(|r| r.get(name))
        .or_else(|| c_lim.and_then(|l| l.get(name)))?;
    if name == "cpu" {
        quantity::milli(&q.0)
    } else {
        quantity::units(&q.0)
    }
}

/// The pod's effective requests: the larger of its containers' sum (plus
/// sidecars) and its biggest init container, plus overhead.
pub(crate) fn pod_request(pod: &Pod) -> PodReq {
    let mut sum = Res::default();
    let (mut nz_cpu, mut nz_mem) = (0, 0);
    let mut init_max = Res::default();
    if let Some(spec) = &pod.spec {
        let add = |sum: &mut Res,
                   nz: Option<(&mut i64, &mut i64)>,
                   c: &k8s_openapi::api::core::v1::Container| {
            let r = c.resources.as_ref();
            let (req, lim) = (
                r.and_then(|r| r.requests.as_ref()),
                r.and_then(|r| r.limits.as_ref()),
            );
            let cpu = request(req, lim, "cpu");
            let mem = request(req, lim, "memory");
            sum.cpu += cpu.unwrap_or(0);
            sum.memory += mem.unwrap_or(0);
            sum.storage += request(req, lim, "ephemeral-storage").unwrap_or(0);
            if let Some((nc, nm)) = nz {
                *nc += cpu.filter(|v| *v != 0).unwrap_or(DEFAULT_MILLI_CPU);
                *nm += mem.filter(|v| *v != 0).unwrap_or(DEFAULT_MEMORY);
            }
        };
        for c in &spec.containers {
            add(&mut sum, Some((&mut nz_cpu, &mut nz_mem)), c);
        }
        for c in spec.init_containers.iter().flatten() {
            if c.restart_policy.as_deref() == Some("Always") {
                add(&mut sum, Some((&mut nz_cpu, &mut nz_mem)), c);
            } else {
                let mut one = Res::default();
                add(&mut one, None, c);
                init_max.cpu = init_max.cpu.max(one.cpu);
                init_max.memory = init_max.memory.max(one.memory);
                init_max.storage = init_max.storage.max(one.storage);
            }
        }
        sum.cpu = sum.cpu.max(init_max.cpu);
        sum.memory = sum.memory.max(init_max.memory);
        sum.storage = sum.storage.max(init_max.storage);
        if let Some(o) = &spec.overhead {
            sum.cpu += request(Some(o), None, "cpu").unwrap_or(0);
            sum.memory += request(Some(o), None, "memory").unwrap_or(0);
        }
    }
    sum.pods = 1;
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone());
    PodReq {
        res: sum,
        nonzero_cpu: nz_cpu.max(sum.cpu),
        nonzero_memory: nz_mem.max(sum.memory),
        owner,
    }
}

/// A node as the scheduler keeps it: what it offers and what the pods
/// bound (or being bound) to it take.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeInfo {
    pub name: String,
    /// Seen in the node watch (false: only known from pods bound to it).
    pub present: bool,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Res,
    pub requested: Res,
    pub nonzero_cpu: i64,
    pub nonzero_memory: i64,
    pub owners: HashMap<String, u32>,
}

impl NodeInfo {
    #[cfg(test)]
    pub(crate) fn new(node: &Node) -> NodeInfo {
        let mut info = NodeInfo::default();
        info.update(node);
        info
    }

    /// Take the node's labels, taints and capacity; true when something
    /// that decides where pods fit changed.
    pub(crate) fn update(&mut self, node: &Node) -> bool {
        let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
        let get = |name: &str| request(alloc, None, name).unwrap_or(0);
        let allocatable = Res {
            cpu: get("cpu"),
            memory: get("memory"),
            storage: get("ephemeral-storage"),
            pods: get("pods"),
        };
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let spec = node.spec.as_ref();
        let taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
        let unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        let name = node.metadata.name.clone().unwrap_or_default();
        let changed = allocatable != self.allocatable
            || labels != self.labels
            || taints != self.taints
            || unschedulable != self.unschedulable
            || name != self.name;
        self.name = name;
        self.allocatable = allocatable;
        self.labels = labels;
        self.taints = taints;
        self.unschedulable = unschedulable;
        changed
    }

    pub(crate) fn add(&mut self, req: &PodReq) {
        self.requested.cpu += req.res.cpu;
        self.requested.memory += req.res.memory;
        self.requested.storage += req.res.storage;
        self.requested.pods += 1;
        self.nonzero_cpu += req.nonzero_cpu;
        self.nonzero_memory += req.nonzero_memory;
        if let Some(o) = &req.owner {
            *self.owners.entry(o.clone()).or_default() += 1;
        }
    }

    pub(crate) fn remove(&mut self, req: &PodReq) {
        self.requested.cpu -= req.res.cpu;
        self.requested.memory -= req.res.memory;
        self.requested.storage -= req.res.storage;
        self.requested.pods -= 1;
        self.nonzero_cpu -= req.nonzero_cpu;
        self.nonzero_memory -= req.nonzero_memory;
        if let Some(o) = &req.owner
            && let Some(n) = self.owners.get_mut(o)
        {
            *n -= 1;
            if *n == 0 {
                self.owners.remove(o);
            }
        }
    }
}

/// Why a node does not fit a pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Reason {
    Unschedulable,
    Taint { key: String, value: String },
    NodeAffinity,
    Insufficient(&'static str),
    TooManyPods,
}

impl Reason {
    pub(crate) fn message(&self) -> String {
        match self {
            Reason::Unschedulable => "node(s) were unschedulable".into(),
            Reason::Taint { key, value } => {
                format!("node(s) had untolerated taint {{{key}: {value}}}")
            }
            Reason::NodeAffinity => "node(s) didn't match Pod's node affinity/selector".into(),
            Reason::Insufficient(r) => format!("Insufficient {r}"),
            Reason::TooManyPods => "Too many pods".into(),
        }
    }

    /// Whether evicting lower-priority pods could make room.
    pub(crate) fn preemptable(&self) -> bool {
        matches!(self, Reason::Insufficient(_) | Reason::TooManyPods)
    }
}

pub(crate) fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" => {
            !key.is_empty()
                && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let ok = |op: &str, actual: Option<&str>, values: &[String]| -> bool {
        match op {
            "In" => actual.is_some_and(|a| values.iter().any(|v| v == a)),
            "NotIn" => actual.is_none_or(|a| !values.iter().any(|v| v == a)),
            "Exists" => actual.is_some(),
            "DoesNotExist" => actual.is_none(),
            "Gt" | "Lt" => {
                let (Some(a), Some(v)) = (
                    actual.and_then(|a| a.parse::<i64>().ok()),
                    values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if op == "Gt" { a > v } else { a < v }
            }
            _ => false,
        }
    };
    exprs.iter().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        ok(
            &e.operator,
            node.labels.get(&e.key).map(String::as_str),
            values,
        )
    }) && fields.iter().all(|f| {
        let values = f.values.as_deref().unwrap_or_default();
        let actual = (f.key == "metadata.name").then_some(node.name.as_str());
        f.key == "metadata.name" && ok(&f.operator, actual, values)
    })
}

fn matches_selector_and_affinity(pod: &Pod, node: &NodeInfo) -> bool {
    let Some(spec) = &pod.spec else { return true };
    if let Some(sel) = &spec.node_selector
        && !sel.iter().all(|(k, v)| node.labels.get(k) == Some(v))
    {
        return false;
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match required {
        Some(r) => r.node_selector_terms.iter().any(|t| term_matches(t, node)),
        None => true,
    }
}

fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

/// Whether `pod` fits `node`, in kube-scheduler's filter order; the
/// reasons are those of the first filter that fails.
pub(crate) fn fits(pod: &Pod, req: &PodReq, node: &NodeInfo) -> Result<(), Vec<Reason>> {
    let tols = tolerations(pod);
    if node.unschedulable {
        let t = Taint {
            key: UNSCHEDULABLE_TAINT.into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        };
        if !tols.iter().any(|tol| tolerates(tol, &t)) {
            return Err(vec![Reason::Unschedulable]);
        }
    }
    for taint in &node.taints {
        if (taint.effect == "NoSchedule" || taint.effect == "NoExecute")
            && !tols.iter().any(|t| tolerates(t, taint))
        {
            return Err(vec![Reason::Taint {
                key: taint.key.clone(),
                value: taint.value.clone().unwrap_or_default(),
            }]);
        }
    }
    if !matches_selector_and_affinity(pod, node) {
        return Err(vec![Reason::NodeAffinity]);
    }
    let mut reasons = Vec::new();
    if node.requested.pods + 1 > node.allocatable.pods {
        reasons.push(Reason::TooManyPods);
    }
    let (want, free) = (&req.res, |used: i64, alloc: i64| alloc - used);
    if want.cpu > 0 && want.cpu > free(node.requested.cpu, node.allocatable.cpu) {
        reasons.push(Reason::Insufficient("cpu"));
    }
    if want.memory > 0 && want.memory > free(node.requested.memory, node.allocatable.memory) {
        reasons.push(Reason::Insufficient("memory"));
    }
    if want.storage > 0 && want.storage > free(node.requested.storage, node.allocatable.storage) {
        reasons.push(Reason::Insufficient("ephemeral-storage"));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// 0..=100: how much of the node stays free with the pod on it.
pub(crate) fn least_allocated(req: &PodReq, node: &NodeInfo) -> i64 {
    let part = |used: i64, alloc: i64| {
        if alloc <= 0 || used > alloc {
            0
        } else {
            (alloc - used) * 100 / alloc
        }
    };
    let cpu = part(node.nonzero_cpu + req.nonzero_cpu, node.allocatable.cpu);
    let mem = part(
        node.nonzero_memory + req.nonzero_memory,
        node.allocatable.memory,
    );
    (cpu + mem) / 2
}

/// Sum of the weights of the preferred affinity terms the node matches,
/// minus 10 per PreferNoSchedule taint the pod does not tolerate.
pub(crate) fn preference(pod: &Pod, node: &NodeInfo) -> i64 {
    let preferred = pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .as_deref()
        })
        .unwrap_or_default();
    let weights: i64 = preferred
        .iter()
        .filter(|p| term_matches(&p.preference, node))
        .map(|p| i64::from(p.weight))
        .sum();
    let tols = tolerations(pod);
    let intolerable = node
        .taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule" && !tols.iter().any(|tol| tolerates(tol, t)))
        .count() as i64;
    weights - 10 * intolerable
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> NodeInfo {
        NodeInfo::new(&serde_json::from_value(v).unwrap())
    }

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec})).unwrap()
    }

    fn worker(name: &str) -> NodeInfo {
        node(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "disk": "ssd"}},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "3"}}
        }))
    }

    #[test]
    fn requests_sum_containers_and_take_the_largest_init() {
        let p = pod(json!({
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "3"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}}},
                {"name": "b", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
                {"name": "c"}
            ]
        }));
        let r = pod_request(&p);
        assert_eq!(r.res.cpu, 3000);
        assert_eq!(r.res.memory, (64 << 20) + (1 << 30));
        assert_eq!(r.nonzero_cpu, 3000);
        assert_eq!(r.nonzero_memory, (64 << 20) + (1 << 30) + DEFAULT_MEMORY);
    }

    #[test]
    fn taints_need_tolerations() {
        let n = node(json!({
            "metadata": {"name": "cp"},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}
        }));
        let plain = pod(json!({"containers": [{"name": "a"}]}));
        let err = fits(&plain, &pod_request(&plain), &n).unwrap_err();
        assert_eq!(
            err[0].message(),
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
        );
        let tolerant = pod(json!({"containers": [{"name": "a"}], "tolerations": [
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
        ]}));
        assert!(fits(&tolerant, &pod_request(&tolerant), &n).is_ok());
        let everything =
            pod(json!({"containers": [{"name": "a"}], "tolerations": [{"operator": "Exists"}]}));
        assert!(fits(&everything, &pod_request(&everything), &n).is_ok());
    }

    #[test]
    fn selectors_and_affinity() {
        let n = worker("w1");
        let sel = |s| pod(json!({"containers": [{"name": "a"}], "nodeSelector": s}));
        assert!(fits(&sel(json!({"disk": "ssd"})), &PodReq::default(), &n).is_ok());
        assert_eq!(
            fits(&sel(json!({"disk": "hdd"})), &PodReq::default(), &n),
            Err(vec![Reason::NodeAffinity])
        );
        let aff = |terms| {
            pod(
                json!({"containers": [{"name": "a"}], "affinity": {"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
                }}}),
            )
        };
        let ok = aff(json!([
            {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["nvme"]}]},
            {"matchExpressions": [{"key": "disk", "operator": "Exists"}, {"key": "gpu", "operator": "DoesNotExist"}]}
        ]));
        assert!(fits(&ok, &PodReq::default(), &n).is_ok());
        let by_name = aff(
            json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w2"]}]}]),
        );
        assert!(fits(&by_name, &PodReq::default(), &n).is_err());
        assert!(fits(&by_name, &PodReq::default(), &worker("w2")).is_ok());
    }

    #[test]
    fn resources_and_pod_count() {
        let mut n = worker("w1");
        let big = pod(
            json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "1500m", "memory": "3Gi"}}}]}),
        );
        let req = pod_request(&big);
        assert!(fits(&big, &req, &n).is_ok());
        n.add(&req);
        assert_eq!(
            fits(&big, &req, &n),
            Err(vec![
                Reason::Insufficient("cpu"),
                Reason::Insufficient("memory")
            ])
        );
        n.remove(&req);
        let small = PodReq {
            res: Res {
                pods: 1,
                ..Res::default()
            },
            ..PodReq::default()
        };
        for _ in 0..3 {
            n.add(&small);
        }
        assert_eq!(fits(&big, &req, &n), Err(vec![Reason::TooManyPods,]));
    }

    #[test]
    fn cordoned_nodes_take_only_tolerating_pods() {
        let mut n = worker("w1");
        n.unschedulable = true;
        let p = pod(json!({"containers": [{"name": "a"}]}));
        assert_eq!(
            fits(&p, &PodReq::default(), &n),
            Err(vec![Reason::Unschedulable])
        );
        let t = pod(json!({"containers": [{"name": "a"}], "tolerations": [
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
        ]}));
        assert!(fits(&t, &PodReq::default(), &n).is_ok());
    }

    #[test]
    fn emptier_nodes_score_higher() {
        let mut busy = worker("busy");
        let idle = worker("idle");
        let p = pod(
            json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}),
        );
        let req = pod_request(&p);
        busy.add(&req);
        assert!(least_allocated(&req, &idle) > least_allocated(&req, &busy));
    }
}
