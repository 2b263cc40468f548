//! Conversion between the served versions of one resource and its storage
//! version. Of the built-in resources only HorizontalPodAutoscalers are
//! served in versions with different schemas (autoscaling/v2, stored, and
//! autoscaling/v1), and events.k8s.io/v1 Events are stored as core/v1
//! Events (see `events`); every other conversion just sets `apiVersion`.
//!
//! autoscaling/v1 carries only a CPU utilization target. As upstream does,
//! what v1 cannot express travels in annotations: other metrics
//! (`autoscaling.alpha.kubernetes.io/metrics`, in the v1 metric format),
//! current metrics (`.../current-metrics`), conditions (`.../conditions`)
//! and the scaling behavior (`.../behavior`, which upstream writes with the
//! Go field names of its internal type). Converting back reads them and
//! drops them.

use serde_json::Value;

mod events;
mod hpa;
mod hpa_metrics;

use crate::catalogue::ResourceDef;

pub const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP_ANNOTATIONS: &[&str] = &[
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
    "autoscaling.alpha.kubernetes.io/scale-down-tolerance",
    "autoscaling.alpha.kubernetes.io/scale-up-tolerance",
];

/// The version `obj` is in: its apiVersion when `def` serves it, else the
/// storage version.
fn source_version<'a>(def: &ResourceDef, obj: &'a Value) -> &'a str {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let version = match api_version.split_once('/') {
        Some((g, v)) if g == def.group => v,
        None if def.group.is_empty() => api_version,
        _ => "",
    };
    if def.serves(version) { version } else { "" }
}

/// events.k8s.io Events share the core Events' store, in the core form.
fn stored_as_core_event(def: &ResourceDef) -> bool {
    def.group == "events.k8s.io" && def.kind == "Event"
}

/// Whether an object read from storage is served as `version` unchanged
/// (but for `apiVersion`, which storage already holds).
pub fn is_identity(def: &ResourceDef, version: &str) -> bool {
    version == def.storage_version && !stored_as_core_event(def)
}

/// `obj`, in any served version of `def`, in the form it is stored in.
pub fn to_storage(def: &ResourceDef, obj: Value) -> Value {
    if stored_as_core_event(def) {
        let mut core = if obj.get("apiVersion").and_then(Value::as_str) == Some("v1") {
            obj
        } else {
            events::events_to_core(obj)
        };
        if let Some(map) = core.as_object_mut() {
            map.insert("apiVersion".into(), Value::String("v1".into()));
        }
        return core;
    }
    if obj.get("apiVersion").and_then(Value::as_str)
        == Some(def.group_version(def.storage_version).as_str())
    {
        obj
    } else {
        convert(def, obj, def.storage_version)
    }
}

/// Convert `obj` (any served version of `def`, or its stored form) to
/// `to_version`. Also sets `apiVersion`.
pub fn convert(def: &ResourceDef, obj: Value, to_version: &str) -> Value {
    if stored_as_core_event(def) {
        let mut out = if obj.get("apiVersion").and_then(Value::as_str) == Some("v1") {
            events::core_to_events(obj)
        } else {
            obj
        };
        if let Some(map) = out.as_object_mut() {
            map.insert(
                "apiVersion".into(),
                Value::String(def.group_version(to_version)),
            );
        }
        return out;
    }
    let from = match source_version(def, &obj) {
        "" => def.storage_version.to_string(),
        v => v.to_string(),
    };
    let mut out = if def.group == "autoscaling" && def.kind == "HorizontalPodAutoscaler" {
        match (from.as_str(), to_version) {
            ("v2", "v1") => hpa::hpa_v2_to_v1(&obj),
            ("v1", "v2") => hpa::hpa_v1_to_v2(&obj),
            _ => obj,
        }
    } else {
        obj
    };
    if let Some(map) = out.as_object_mut() {
        map.insert(
            "apiVersion".to_string(),
            Value::String(def.group_version(to_version)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::lookup;
    use serde_json::json;

    fn hpa_def() -> &'static ResourceDef {
        lookup("autoscaling", "v2", "horizontalpodautoscalers").expect("hpa in catalogue")
    }

    fn stored() -> Value {
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
                ],
                "behavior": {"scaleDown": {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}
            },
            "status": {"currentReplicas": 2, "desiredReplicas": 3,
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "120m", "averageUtilization": 60}}}],
                "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "ReadyForNewScale"}]}
        })
    }

    #[test]
    fn identity_sets_api_version() {
        let def = lookup("", "v1", "pods").unwrap();
        let out = convert(def, json!({"apiVersion": "v1", "kind": "Pod"}), "v1");
        assert_eq!(out["apiVersion"], "v1");
    }

    #[test]
    fn v2_to_v1_keeps_what_v1_cannot_say_in_annotations() {
        let v1 = convert(hpa_def(), stored(), "v1");
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(
            v1["spec"],
            json!({
            "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
            "minReplicas": 1, "maxReplicas": 10, "targetCPUUtilizationPercentage": 50})
        );
        assert_eq!(
            v1["status"],
            json!({"currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 60})
        );
        let a = &v1["metadata"]["annotations"];
        assert_eq!(a["team"], "a");
        assert_eq!(
            a[METRICS_ANNOTATION],
            r#"[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#
        );
        assert_eq!(
            a[CURRENT_METRICS_ANNOTATION],
            r#"[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":60,"currentAverageValue":"120m"}}]"#
        );
        assert_eq!(
            a[BEHAVIOR_ANNOTATION],
            r#"{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":null,"SelectPolicy":"Max","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null}}"#
        );
        assert_eq!(
            a[CONDITIONS_ANNOTATION],
            r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"ReadyForNewScale"}]"#
        );
    }

    #[test]
    fn round_trip_through_v1() {
        let original = stored();
        let back = convert(hpa_def(), convert(hpa_def(), original.clone(), "v1"), "v2");
        assert_eq!(back["apiVersion"], "autoscaling/v2");
        assert_eq!(back["metadata"]["annotations"], json!({"team": "a"}));
        let metrics = back["spec"]["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 2);
        assert_eq!(
            metrics[0]["pods"]["target"],
            json!({"type": "AverageValue", "averageValue": "10"})
        );
        assert_eq!(metrics[1], original["spec"]["metrics"][0]);
        assert_eq!(
            back["spec"]["behavior"]["scaleDown"]["policies"],
            original["spec"]["behavior"]["scaleDown"]["policies"]
        );
        assert_eq!(
            back["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
            60
        );
        assert_eq!(
            back["status"]["conditions"],
            original["status"]["conditions"]
        );
    }

    #[test]
    fn plain_v1_gets_default_cpu_target() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "x"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 3}});
        let v2 = convert(hpa_def(), v1, "v2");
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert!(v2["metadata"].get("annotations").is_none());
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"}, "maxReplicas": 3, "targetCPUUtilizationPercentage": 70},
            "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 12}});
        let v2 = convert(hpa_def(), v1, "v2");
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
        assert_eq!(
            v2["status"]["currentMetrics"][0]["resource"]["current"],
            json!({"averageUtilization": 12})
        );
    }
}
