//! apps/v1: Deployments, ReplicaSets, StatefulSets and DaemonSets.

use serde_json::{Value, json};

use super::core::pvc_spec;
use super::pod::pod_template_spec;
use super::{child, default_str, default_value, each, existing};

fn template(spec: &mut Value) {
    if let Some(t) = child(spec, "template") {
        pod_template_spec(t);
    }
}

/// Replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10,
/// progressDeadlineSeconds 600.
pub(super) fn deployment(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "replicas", json!(1));
    if let Some(strategy) = child(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if strategy["type"] == "RollingUpdate"
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            default_value(ru, "maxUnavailable", json!("25%"));
            default_value(ru, "maxSurge", json!("25%"));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_value(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

pub(super) fn replica_set(obj: &mut Value) {
    if let Some(spec) = child(obj, "spec") {
        default_value(spec, "replicas", json!(1));
        template(spec);
    }
}

/// OrderedReady, RollingUpdate with partition 0, Retain/Retain claim
/// retention, replicas 1, revisionHistoryLimit 10; claim templates are full
/// PVC objects and get their defaults (and apiVersion/kind) too.
pub(super) fn stateful_set(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(us) = child(spec, "updateStrategy") {
        let was_unset = us
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty();
        if was_unset {
            us["type"] = json!("RollingUpdate");
            default_value(us, "rollingUpdate", json!({}));
        }
        if us["type"] == "RollingUpdate"
            && let Some(ru) = existing(us, "rollingUpdate")
        {
            default_value(ru, "partition", json!(0));
        }
    }
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(policy, "whenDeleted", "Retain");
        default_str(policy, "whenScaled", "Retain");
    }
    default_value(spec, "replicas", json!(1));
    default_value(spec, "revisionHistoryLimit", json!(10));
    template(spec);
    each(spec, "volumeClaimTemplates", |pvc| {
        default_str(pvc, "apiVersion", "v1");
        default_str(pvc, "kind", "PersistentVolumeClaim");
        if let Some(s) = child(pvc, "spec") {
            pvc_spec(s);
        }
        if let Some(status) = child(pvc, "status") {
            default_str(status, "phase", "Pending");
        }
    });
}

/// RollingUpdate with maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10.
pub(super) fn daemon_set(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if let Some(us) = child(spec, "updateStrategy") {
        default_str(us, "type", "RollingUpdate");
        if us["type"] == "RollingUpdate"
            && let Some(ru) = child(us, "rollingUpdate")
        {
            default_value(ru, "maxUnavailable", json!(1));
            default_value(ru, "maxSurge", json!(0));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    template(spec);
}
