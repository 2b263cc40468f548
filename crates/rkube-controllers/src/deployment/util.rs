//! Deployment arithmetic: surge and unavailability budgets, revisions and
//! annotations, template comparison, conditions and status.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::Value;

use crate::util::now;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const HASH_LABEL: &str = "pod-template-hash";

/// Deployment annotations that are not copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

pub fn rs_status<T: Default>(
    rs: &ReplicaSet,
    f: impl Fn(&k8s_openapi::api::apps::v1::ReplicaSetStatus) -> T,
) -> T {
    rs.status.as_ref().map(f).unwrap_or_default()
}

pub fn is_recreate(d: &Deployment) -> bool {
    d.spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate")
}

pub fn is_paused(d: &Deployment) -> bool {
    d.spec.paused == Some(true)
}

pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .progress_deadline_seconds
        .is_some_and(|s| s != i32::MAX)
}

/// An int-or-percent against `total`, percentages rounded up or down.
pub fn scaled_value(v: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match v {
        None => 0,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let Some(p) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                return s.parse().unwrap_or(0);
            };
            let n = p * i64::from(total);
            let v = if round_up {
                (n + 99).div_euclid(100)
            } else {
                n.div_euclid(100)
            };
            v as i32
        }
    }
}

/// (maxSurge, maxUnavailable) as pod counts; both zero would deadlock, so
/// maxUnavailable is then 1.
fn fenceposts(d: &Deployment) -> (i32, i32) {
    if is_recreate(d) {
        return (0, 0);
    }
    let ru = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.clone())
        .unwrap_or_default();
    let desired = replicas(d);
    let quarter = IntOrString::String("25%".into());
    let surge = scaled_value(
        Some(ru.max_surge.as_ref().unwrap_or(&quarter)),
        desired,
        true,
    );
    let unavailable = scaled_value(
        Some(ru.max_unavailable.as_ref().unwrap_or(&quarter)),
        desired,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub fn max_surge(d: &Deployment) -> i32 {
    fenceposts(d).0
}

pub fn max_unavailable(d: &Deployment) -> i32 {
    if is_recreate(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.annotations()
        .get(REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Drop nulls, empty maps and empty lists, so that templates compare as
/// upstream's semantic equality does (nil and empty are equal).
fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                normalize(x);
            }
            m.retain(|_, x| match x {
                Value::Null => false,
                Value::Object(o) => !o.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            });
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// Whether two templates are equal apart from the pod-template-hash label.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(l) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            l.remove(HASH_LABEL);
        }
        let mut v = serde_json::to_value(t).unwrap_or_default();
        normalize(&mut v);
        v
    };
    strip(a) == strip(b)
}

/// The ReplicaSet whose template is the Deployment's (the oldest, if
/// several are).
pub fn find_new<'a>(d: &Deployment, sets: &'a [ReplicaSet]) -> Option<&'a ReplicaSet> {
    let mut sorted: Vec<&ReplicaSet> = sets.iter().collect();
    sort_oldest_first(&mut sorted);
    sorted.into_iter().find(|rs| {
        rs.spec
            .template
            .as_ref()
            .is_some_and(|t| equal_ignore_hash(t, &d.spec.template))
    })
}

pub fn sort_oldest_first(sets: &mut [&ReplicaSet]) {
    sets.sort_by(|a, b| {
        a.creation_timestamp()
            .cmp(&b.creation_timestamp())
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
}

fn set_annotation(ann: &mut BTreeMap<String, String>, k: &str, v: String) -> bool {
    if ann.get(k) == Some(&v) {
        return false;
    }
    ann.insert(k.into(), v);
    true
}

/// Record the desired and maximum pod counts on a ReplicaSet.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let a = set_annotation(ann, DESIRED_REPLICAS, desired.to_string());
    let b = set_annotation(ann, MAX_REPLICAS, max.to_string());
    a || b
}

/// Copy the Deployment's annotations, and set the revision (keeping the
/// old one in the history when a rollback makes an old ReplicaSet new).
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = false;
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in d.annotations() {
        if NOT_COPIED.contains(&k.as_str()) {
            continue;
        }
        changed |= set_annotation(ann, k, v.clone());
    }
    let old = ann.get(REVISION).cloned().unwrap_or_default();
    let old_num: i64 = old.parse().unwrap_or(0);
    if old_num < new_revision {
        ann.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = match ann.get(REVISION_HISTORY) {
                Some(h) if !h.is_empty() => format!("{h},{old}"),
                _ => old,
            };
            ann.insert(REVISION_HISTORY.into(), history);
        }
    }
    if !exists {
        changed |= set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d));
    }
    changed
}

pub fn condition<'a>(s: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    s.conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some(type_))
}

pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) -> DeploymentCondition {
    let t = now();
    DeploymentCondition {
        type_: Some(type_.into()),
        status: Some(status.into()),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(t.clone()),
        last_transition_time: Some(t),
    }
}

/// Set a condition; one with the same status and reason is left as is,
/// and a status that does not change keeps its transition time.
pub fn set_condition(s: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = condition(s, c.type_.as_deref().unwrap_or("")) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(s, c.type_.clone().unwrap_or_default().as_str());
    s.conditions.get_or_insert_with(Vec::new).push(c);
}

pub fn remove_condition(s: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = s.conditions.as_mut() {
        cs.retain(|c| c.type_.as_deref() != Some(type_));
        if cs.is_empty() {
            s.conditions = None;
        }
    }
}

/// Every pod updated, available, and no old ones, for the latest spec.
pub fn is_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = replicas(d);
    s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether the rollout moved since the last status.
pub fn is_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
    let new_old = new.replicas.unwrap_or(0) - new.updated_replicas.unwrap_or(0);
    new.updated_replicas.unwrap_or(0) > old.updated_replicas.unwrap_or(0)
        || new_old < old_old
        || new.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
        || new.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0)
}

/// Seconds left before the progress deadline (None: no deadline running).
pub fn deadline_left(d: &Deployment, s: &DeploymentStatus) -> Option<f64> {
    if !has_progress_deadline(d) {
        return None;
    }
    let c = condition(s, PROGRESSING)?;
    if matches!(
        c.reason.as_deref(),
        Some(NEW_RS_AVAILABLE) | Some(TIMED_OUT)
    ) {
        return None;
    }
    let from = c.last_update_time.as_ref()?;
    let limit = f64::from(d.spec.progress_deadline_seconds.unwrap_or(600));
    Some(limit - crate::util::seconds_since(from))
}

/// The status the ReplicaSets add up to (conditions other than Available
/// are carried over).
pub fn calculate_status(
    sets: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
    d: &Deployment,
) -> DeploymentStatus {
    let sum = |f: &dyn Fn(&ReplicaSet) -> i32| sets.iter().map(|rs| f(rs)).sum::<i32>();
    let available = sum(&|rs| rs_status(rs, |s| s.available_replicas.unwrap_or(0)));
    let total_spec = sum(&rs_replicas);
    let terminating = sets
        .iter()
        .map(|rs| rs.status.as_ref().and_then(|s| s.terminating_replicas))
        .try_fold(0, |acc, t| t.map(|t| acc + t));
    let old = d.status.clone().unwrap_or_default();
    let mut s = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(sum(&|rs| rs_status(rs, |s| s.replicas))),
        updated_replicas: Some(new.map(|rs| rs_status(rs, |s| s.replicas)).unwrap_or(0)),
        ready_replicas: Some(sum(&|rs| rs_status(rs, |s| s.ready_replicas.unwrap_or(0)))),
        available_replicas: Some(available),
        unavailable_replicas: Some((total_spec - available).max(0)),
        terminating_replicas: terminating,
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
    };
    if available >= replicas(d) - max_unavailable(d) {
        set_condition(
            &mut s,
            new_condition(
                AVAILABLE,
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            ),
        );
    } else {
        set_condition(
            &mut s,
            new_condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            ),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentStrategy, RollingUpdateDeployment};

    fn deploy(replicas: i32, surge: &str, unavailable: &str) -> Deployment {
        let mut d = Deployment::default();
        d.spec.replicas = Some(replicas);
        d.spec.strategy = Some(DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::String(surge.into())),
                max_unavailable: Some(IntOrString::String(unavailable.into())),
            }),
        });
        d
    }

    #[test]
    fn budgets_round_surge_up_and_unavailability_down() {
        let d = deploy(5, "25%", "25%");
        assert_eq!(max_surge(&d), 2);
        assert_eq!(max_unavailable(&d), 1);
        let d = deploy(10, "0%", "0%");
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 1));
        let d = deploy(3, "1", "5");
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 3));
    }

    #[test]
    fn rollback_keeps_the_old_revision_in_the_history() {
        let d = deploy(1, "1", "1");
        let mut rs = ReplicaSet::default();
        assert!(set_new_rs_annotations(&d, &mut rs, 1, false));
        assert_eq!(rs.annotations()[REVISION], "1");
        assert_eq!(rs.annotations()[DESIRED_REPLICAS], "1");
        assert_eq!(rs.annotations()[MAX_REPLICAS], "2");
        assert!(!set_new_rs_annotations(&d, &mut rs, 1, true));
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        assert_eq!(rs.annotations()[REVISION], "3");
        assert_eq!(rs.annotations()[REVISION_HISTORY], "1");
        assert!(set_new_rs_annotations(&d, &mut rs, 5, true));
        assert_eq!(rs.annotations()[REVISION_HISTORY], "1,3");
    }

    #[test]
    fn conditions_keep_transition_time_when_status_stays() {
        let mut s = DeploymentStatus::default();
        let mut first = new_condition(PROGRESSING, "True", "NewReplicaSetCreated", "a".into());
        first.last_transition_time = Some(crate::util::now());
        let t0 = first.last_transition_time.clone();
        set_condition(&mut s, first);
        set_condition(
            &mut s,
            new_condition(PROGRESSING, "True", "ReplicaSetUpdated", "b".into()),
        );
        let c = condition(&s, PROGRESSING).unwrap();
        assert_eq!(c.reason.as_deref(), Some("ReplicaSetUpdated"));
        assert_eq!(c.last_transition_time, t0);
        assert_eq!(s.conditions.as_ref().unwrap().len(), 1);
    }
}
