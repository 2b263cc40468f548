//! Smaller groups: RBAC, storage, scheduling, discovery.

use serde_json::{Value, json};

use super::{child, default_str, default_value, each};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// roleRef.apiGroup and each subject's apiGroup (by kind).
pub(super) fn role_binding(obj: &mut Value) {
    if let Some(role_ref) = child(obj, "roleRef") {
        default_str(role_ref, "apiGroup", RBAC_GROUP);
    }
    each(obj, "subjects", |s| {
        let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "User" | "Group") {
            default_str(s, "apiGroup", RBAC_GROUP);
        }
    });
}

pub(super) fn storage_class(obj: &mut Value) {
    default_value(obj, "reclaimPolicy", json!("Delete"));
    default_value(obj, "volumeBindingMode", json!("Immediate"));
}

pub(super) fn csi_driver(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "attachRequired", json!(true));
    default_value(spec, "podInfoOnMount", json!(false));
    default_value(spec, "storageCapacity", json!(false));
    default_value(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
    let modes_empty = spec
        .get("volumeLifecycleModes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if modes_empty {
        spec["volumeLifecycleModes"] = json!(["Persistent"]);
    }
    default_value(spec, "requiresRepublish", json!(false));
    default_value(spec, "seLinuxMount", json!(false));
}

pub(super) fn priority_class(obj: &mut Value) {
    default_value(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
}

pub(super) fn endpoint_slice(obj: &mut Value) {
    each(obj, "ports", |p| {
        default_value(p, "name", json!(""));
        default_value(p, "protocol", json!("TCP"));
    });
}
