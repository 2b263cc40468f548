//! networking.k8s.io/v1: NetworkPolicies and IngressClasses.

use serde_json::{Value, json};

use super::{child, default_value, each};

/// Ports default to TCP; policyTypes default to Ingress, plus Egress when
/// egress rules are given.
pub(super) fn network_policy(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    for dir in ["ingress", "egress"] {
        each(spec, dir, |rule| {
            each(rule, "ports", |p| {
                default_value(p, "protocol", json!("TCP"))
            });
        });
    }
    let types_empty = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if types_empty {
        let has_egress = spec
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty());
        spec["policyTypes"] = if has_egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
    }
}

/// Parameters default to cluster scope.
pub(super) fn ingress_class(obj: &mut Value) {
    if let Some(params) = obj
        .pointer_mut("/spec/parameters")
        .filter(|p| p.is_object())
    {
        default_value(params, "scope", json!("Cluster"));
    }
}
