//! Pods of a ReplicaSet: making one from the template, choosing which to
//! delete first, and counting them for the status.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use super::kind::Replicated;

use crate::util::{
    is_pod_active, is_pod_available, is_pod_ready, is_pod_terminating, now, owner_ref, pod_phase,
    ready_condition, seconds_since,
};

/// A new pod for `rs` from its template (the server picks the name).
pub fn pod_from_template<K: Replicated>(rs: &K, template: &PodTemplateSpec) -> Pod {
    let tmeta = template.metadata.clone().unwrap_or_default();
    let prefix = format!("{}-", rs.name_any());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: rs.namespace(),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner_ref(K::API_VERSION, K::KIND, rs.meta())]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

fn phase_rank(p: &Pod) -> u8 {
    match pod_phase(p) {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

fn ready_seconds(p: &Pod) -> f64 {
    match ready_condition(p) {
        Some((true, Some(t))) => seconds_since(t),
        _ => 0.0,
    }
}

/// Order pods so that the ones to delete first come first: unscheduled
/// before scheduled, pending before running, not ready before ready, more
/// pods of the same owner on one node before fewer, ready for less time
/// before longer, more restarts before fewer, newer before older.
pub fn deletion_order(pods: &mut [Arc<Pod>], related: &[Arc<Pod>]) {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for p in related {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_deref())
            && !n.is_empty()
        {
            *per_node.entry(n).or_default() += 1;
        }
    }
    let node = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default()
    };
    let rank = |p: &Pod| {
        let n = node(p);
        if n.is_empty() {
            0
        } else {
            per_node.get(n.as_str()).copied().unwrap_or(0)
        }
    };
    pods.sort_by(|a, b| {
        let (na, nb) = (node(a).is_empty(), node(b).is_empty());
        if na != nb {
            return if na {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let by_phase = phase_rank(a).cmp(&phase_rank(b));
        if by_phase != Ordering::Equal {
            return by_phase;
        }
        let (ra, rb) = (is_pod_ready(a), is_pod_ready(b));
        if ra != rb {
            return if ra {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let by_rank = rank(b).cmp(&rank(a));
        if by_rank != Ordering::Equal {
            return by_rank;
        }
        if ra && rb {
            let (ta, tb) = (ready_seconds(a), ready_seconds(b));
            if (ta - tb).abs() >= 1.0 {
                return ta.total_cmp(&tb);
            }
        }
        let by_restarts = restarts(b).cmp(&restarts(a));
        if by_restarts != Ordering::Equal {
            return by_restarts;
        }
        b.creation_timestamp()
            .cmp(&a.creation_timestamp())
            .then_with(|| b.name_any().cmp(&a.name_any()))
    });
}

/// Whether `labels` carry every label of the template.
fn fully_labeled(pod: &Pod, template_labels: &BTreeMap<String, String>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    template_labels
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The status `rs` should have given the pods it controls and the error of
/// the last create or delete (the ReplicaFailure condition).
pub fn calculate_status(
    rs: &impl Replicated,
    pods: &[Arc<Pod>],
    failure: Option<(&str, String)>,
) -> ReplicaSetStatus {
    let min_ready = rs.min_ready_seconds();
    let template_labels = rs
        .template()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let active: Vec<&Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).collect();
    let count = |f: &dyn Fn(&Pod) -> bool| active.iter().filter(|p| f(p)).count() as i32;
    let old = rs.rs_status().unwrap_or_default();
    let mut conditions: Vec<ReplicaSetCondition> = old
        .conditions
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.type_.as_deref() != Some("ReplicaFailure"))
        .collect();
    if let Some((reason, message)) = failure {
        let existing = old
            .conditions
            .iter()
            .flatten()
            .find(|c| {
                c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True")
            })
            .cloned();
        conditions.push(ReplicaSetCondition {
            type_: Some("ReplicaFailure".into()),
            status: Some("True".into()),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: existing
                .and_then(|c| c.last_transition_time)
                .or_else(|| Some(now())),
        });
    }
    ReplicaSetStatus {
        replicas: active.len() as i32,
        fully_labeled_replicas: Some(count(&|p| fully_labeled(p, &template_labels))),
        ready_replicas: Some(count(&is_pod_ready)),
        available_replicas: Some(count(&|p| is_pod_available(p, min_ready))),
        terminating_replicas: Some(pods.iter().filter(|p| is_pod_terminating(p)).count() as i32),
        observed_generation: rs.meta().generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};

    fn pod(name: &str, node: &str, phase: &str, ready: bool, age_secs: i64) -> Arc<Pod> {
        let created = Time(Timestamp::now() - SignedDuration::from_secs(age_secs));
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: Some(created.clone()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: (!node.is_empty()).then(|| node.to_string()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(created),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        })
    }

    #[test]
    fn unscheduled_then_not_ready_then_newest_go_first() {
        let mut pods = vec![
            pod("old-ready", "n1", "Running", true, 100),
            pod("new-ready", "n2", "Running", true, 10),
            pod("not-ready", "n3", "Running", false, 50),
            pod("unscheduled", "", "Pending", false, 200),
            pod("pending", "n4", "Pending", false, 300),
        ];
        let related = pods.clone();
        deletion_order(&mut pods, &related);
        let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
        assert_eq!(
            names,
            [
                "unscheduled",
                "pending",
                "not-ready",
                "new-ready",
                "old-ready"
            ]
        );
    }
}
