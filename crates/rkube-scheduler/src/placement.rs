//! Placing one pod: filter nodes (stopping once enough fit, as
//! kube-scheduler's adaptive percentageOfNodesToScore), score the ones
//! that fit, and explain in kube-scheduler's words when none does.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::Pod;

use crate::predicates::{self, NodeInfo, PodReq, Reason};

/// Why no node fits: per reason message, how many nodes; and how many
/// nodes failed only for reasons preemption could address.
#[derive(Debug)]
pub(crate) struct FitError {
    nodes: usize,
    reasons: BTreeMap<String, usize>,
    preemptable: usize,
}

impl FitError {
    pub(crate) fn message(&self) -> String {
        if self.nodes == 0 {
            return "no nodes available to schedule pods".into();
        }
        let mut parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        parts.sort();
        let mut pre = Vec::new();
        if self.preemptable > 0 {
            pre.push(format!(
                "{} No preemption victims found for incoming pod",
                self.preemptable
            ));
        }
        if self.nodes > self.preemptable {
            pre.push(format!(
                "{} Preemption is not helpful for scheduling",
                self.nodes - self.preemptable
            ));
        }
        pre.sort();
        format!(
            "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {}.",
            parts.join(", "),
            pre.join(", "),
            n = self.nodes
        )
    }
}

/// How many feasible nodes to look for before scoring, as kube-scheduler's
/// adaptive percentageOfNodesToScore.
pub(crate) fn feasible_to_find(n: usize) -> usize {
    if n < 100 {
        return n;
    }
    let pct = 50usize.saturating_sub(n / 125).max(5);
    (n * pct / 100).max(100)
}

/// Pick a node for `pod`, starting the search at `start` in `order`.
/// Returns the node and how many nodes were examined.
pub(crate) fn find_node(
    nodes: &HashMap<String, NodeInfo>,
    order: &[String],
    start: usize,
    pod: &Pod,
    req: &PodReq,
) -> Result<(String, usize), FitError> {
    let n = order.len();
    let want = feasible_to_find(n);
    let mut feasible: Vec<&NodeInfo> = Vec::new();
    let mut err = FitError {
        nodes: n,
        reasons: BTreeMap::new(),
        preemptable: 0,
    };
    let mut examined = 0;
    for i in 0..n {
        if feasible.len() >= want {
            break;
        }
        examined += 1;
        let Some(node) = nodes.get(&order[(start + i) % n]) else {
            continue;
        };
        match predicates::fits(pod, req, node) {
            Ok(()) => feasible.push(node),
            Err(reasons) => {
                if reasons.iter().all(Reason::preemptable) {
                    err.preemptable += 1;
                }
                for r in reasons {
                    *err.reasons.entry(r.message()).or_default() += 1;
                }
            }
        }
    }
    if feasible.is_empty() {
        return Err(err);
    }
    let owned = |node: &NodeInfo| -> i64 {
        req.owner
            .as_ref()
            .and_then(|o| node.owners.get(o))
            .map_or(0, |c| i64::from(*c))
    };
    let max_owned = feasible.iter().map(|n| owned(n)).max().unwrap_or(0);
    let prefs: Vec<i64> = feasible
        .iter()
        .map(|n| predicates::preference(pod, n))
        .collect();
    let (pmin, pmax) = (
        prefs.iter().copied().min().unwrap_or(0),
        prefs.iter().copied().max().unwrap_or(0),
    );
    let mut best: Option<(i64, &NodeInfo)> = None;
    let mut ties = 0u32;
    for (node, pref) in feasible.iter().zip(prefs) {
        let spread = if max_owned == 0 {
            100
        } else {
            (max_owned - owned(node)) * 100 / max_owned
        };
        let preferred = if pmax > pmin {
            (pref - pmin) * 100 / (pmax - pmin)
        } else {
            0
        };
        let score = predicates::least_allocated(req, node) + 2 * spread + 2 * preferred;
        match best {
            Some((b, _)) if score < b => {}
            Some((b, _)) if score == b => {
                ties += 1;
                if rand::random_range(0..=ties) == 0 {
                    best = Some((score, node));
                }
            }
            _ => {
                ties = 0;
                best = Some((score, node));
            }
        }
    }
    let (_, node) = best.expect("a feasible node");
    Ok((node.name.clone(), examined))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failure_messages_read_like_kube_scheduler() {
        let mut reasons = BTreeMap::new();
        reasons.insert(
            "node(s) didn't match Pod's node affinity/selector".to_string(),
            3,
        );
        reasons.insert(
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }".to_string(),
            1,
        );
        let e = FitError {
            nodes: 4,
            reasons,
            preemptable: 0,
        };
        assert_eq!(
            e.message(),
            "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
             3 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
        );
        let none = FitError {
            nodes: 0,
            reasons: BTreeMap::new(),
            preemptable: 0,
        };
        assert_eq!(none.message(), "no nodes available to schedule pods");
    }

    #[test]
    fn adaptive_feasible_node_count() {
        assert_eq!(feasible_to_find(3), 3);
        assert_eq!(feasible_to_find(99), 99);
        assert_eq!(feasible_to_find(1000), 420);
        assert_eq!(feasible_to_find(5000), 500);
        assert_eq!(feasible_to_find(100_000), 5000);
    }

    fn node(name: &str) -> NodeInfo {
        NodeInfo::new(
            &serde_json::from_value(json!({
                "metadata": {"name": name},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
            }))
            .unwrap(),
        )
    }

    #[test]
    fn replicas_spread_across_nodes() {
        let mut nodes = HashMap::new();
        let order: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        for n in &order {
            nodes.insert(n.clone(), node(n));
        }
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs1", "controller": true}
            ]},
            "spec": {"containers": [{"name": "c"}]}
        }))
        .unwrap();
        let req = predicates::pod_request(&pod);
        let mut placed = Vec::new();
        for i in 0..6 {
            let (n, _) = find_node(&nodes, &order, i, &pod, &req).unwrap();
            nodes.get_mut(&n).unwrap().add(&req);
            placed.push(n);
        }
        for n in &order {
            assert_eq!(placed.iter().filter(|p| *p == n).count(), 2, "{placed:?}");
        }
    }
}
