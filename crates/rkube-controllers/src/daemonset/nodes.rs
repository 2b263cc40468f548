//! Which nodes a DaemonSet's pod belongs on, and the pod it puts there:
//! the template with the tolerations every daemon pod gets (so a node
//! going NotReady, unreachable or under pressure does not evict or
//! exclude it) and a required node affinity to exactly its node, so the
//! scheduler binds it there and nowhere else.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Taint, Toleration,
};
use kube::ResourceExt;

/// (key, effect) of the tolerations added to every daemon pod.
const DEFAULT_TOLERATIONS: &[(&str, &str)] = &[
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];
const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

/// The template's pod spec with the daemon tolerations added (each only
/// when no toleration for that key and effect is there already).
pub fn with_default_tolerations(mut spec: PodSpec) -> PodSpec {
    let host_network = spec.host_network == Some(true);
    let tols = spec.tolerations.get_or_insert_with(Vec::new);
    let mut add = |key: &str, effect: &str| {
        let present = tols
            .iter()
            .any(|t| t.key.as_deref() == Some(key) && t.effect.as_deref() == Some(effect));
        if !present {
            tols.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some(effect.into()),
                ..Default::default()
            });
        }
    };
    for (k, e) in DEFAULT_TOLERATIONS {
        add(k, e);
    }
    if host_network {
        add(NETWORK_UNAVAILABLE, "NoSchedule");
    }
    spec
}

/// Pin `spec` to `node` through a required node affinity on
/// `metadata.name`, replacing any required terms (the node was already
/// checked against them).
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let na = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_fields: Some(vec![NodeSelectorRequirement {
                key: "metadata.name".into(),
                operator: "In".into(),
                values: Some(vec![node.into()]),
            }]),
            match_expressions: None,
        }],
    });
}

/// The node a daemon pod is for: where it is bound, else its affinity.
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name" && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first().cloned())
}

fn tolerates(tols: &[Toleration], taint: &Taint) -> bool {
    tols.iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == taint.effect);
        let key_ok = match t.key.as_deref() {
            None | Some("") => t.operator.as_deref() == Some("Exists"),
            Some(k) => k == taint.key,
        };
        let value_ok = match t.operator.as_deref() {
            Some("Exists") => true,
            _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        };
        effect_ok && key_ok && value_ok
    })
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// Whether the node satisfies the pod's nodeSelector and required node
/// affinity.
fn selects_node(spec: &PodSpec, node: &Node) -> bool {
    let labels = node.labels();
    for (k, v) in spec.node_selector.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|s| s.node_selector_terms.as_slice());
    let Some(terms) = terms else {
        return true;
    };
    let name = node.name_any();
    terms.iter().any(|t| {
        let exprs = t.match_expressions.as_deref().unwrap_or_default();
        let fields = t.match_fields.as_deref().unwrap_or_default();
        (!exprs.is_empty() || !fields.is_empty())
            && exprs
                .iter()
                .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
            && fields
                .iter()
                .all(|r| r.key == "metadata.name" && requirement_matches(r, Some(name.as_str())))
    })
}

/// (should run, should keep running): a new daemon pod goes on the node
/// when it selects the node and tolerates its NoSchedule and NoExecute
/// taints; a running one stays unless the node stops matching or has a
/// NoExecute taint it does not tolerate.
pub fn placement(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let spec = with_default_tolerations(ds.spec.template.spec.clone().unwrap_or_default());
    if !selects_node(&spec, node) {
        return (false, false);
    }
    let tols = spec.tolerations.as_deref().unwrap_or_default();
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let untolerated = |effect: &str| {
        taints
            .iter()
            .filter(|t| t.effect == effect)
            .any(|t| !tolerates(tols, t))
    };
    let keep = !untolerated("NoExecute");
    (keep && !untolerated("NoSchedule"), keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "n1", "labels": labels},
            "spec": {"taints": taints}
        }))
        .unwrap()
    }

    fn ds(spec: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({
            "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}, "spec": spec}}
        }))
        .unwrap()
    }

    #[test]
    fn taints_selectors_and_default_tolerations_decide_placement() {
        let plain = ds(json!({"containers": [{"name": "c"}]}));
        let cp = node(
            json!({"role": "cp"}),
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
        );
        assert_eq!(placement(&plain, &cp), (false, true));
        let tolerant = ds(json!({"containers": [{"name": "c"}],
            "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}));
        assert_eq!(placement(&tolerant, &cp), (true, true));
        // Default tolerations: unreachable and unschedulable nodes keep daemons.
        let sick = node(
            json!({}),
            json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
                   {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        );
        assert_eq!(placement(&plain, &sick), (true, true));
        let evicting = node(json!({}), json!([{"key": "x", "effect": "NoExecute"}]));
        assert_eq!(placement(&plain, &evicting), (false, false));
        let picky = ds(json!({"containers": [{"name": "c"}], "nodeSelector": {"disk": "ssd"}}));
        assert_eq!(
            placement(&picky, &node(json!({"disk": "ssd"}), json!([]))),
            (true, true)
        );
        assert_eq!(
            placement(&picky, &node(json!({}), json!([]))),
            (false, false)
        );
    }

    #[test]
    fn pods_are_pinned_by_affinity() {
        let mut spec = PodSpec::default();
        pin_to_node(&mut spec, "w1");
        let pod = Pod {
            spec: Some(spec),
            ..Default::default()
        };
        assert_eq!(target_node(&pod).as_deref(), Some("w1"));
        let tols = with_default_tolerations(PodSpec::default())
            .tolerations
            .unwrap();
        assert_eq!(tols.len(), 6);
    }
}
