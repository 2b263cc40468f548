//! autoscaling/v2 HorizontalPodAutoscalers (the storage version).

use serde_json::{Value, json};

use super::{canonical_quantity, child, default_value, each, existing};

/// The scale-up rules used when `behavior` is given without them.
pub(crate) fn default_scale_up() -> Value {
    json!({
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}
        ]
    })
}

/// The scale-down rules used when `behavior` is given without them (no
/// stabilization window: the controller's flag decides it).
pub(crate) fn default_scale_down() -> Value {
    json!({
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    })
}

/// Fill unset fields of one direction's rules from the defaults.
fn rules(given: Option<&Value>, mut defaults: Value) -> Value {
    if let Some(g) = given.and_then(Value::as_object) {
        for key in [
            "selectPolicy",
            "stabilizationWindowSeconds",
            "policies",
            "tolerance",
        ] {
            if let Some(v) = g.get(key).filter(|v| !v.is_null()) {
                defaults[key] = v.clone();
            }
        }
    }
    if let Some(t) = defaults.get_mut("tolerance") {
        canonical_quantity(t, false);
    }
    defaults
}

/// minReplicas 1; 80% CPU when no metric is given; behavior rules filled in
/// when a behavior is given; quantities canonical.
pub(super) fn hpa(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "minReplicas", json!(1));
    let no_metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_metrics {
        spec["metrics"] = json!([{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
        }]);
    }
    each(spec, "metrics", |m| metric_values(m, "target"));
    if let Some(b) = existing(spec, "behavior") {
        let up = rules(b.get("scaleUp"), default_scale_up());
        let down = rules(b.get("scaleDown"), default_scale_down());
        b["scaleUp"] = up;
        b["scaleDown"] = down;
    }
    if let Some(status) = existing(obj, "status") {
        each(status, "currentMetrics", |m| metric_values(m, "current"));
    }
}

/// Canonicalise `value`/`averageValue` of a metric's target or current.
fn metric_values(metric: &mut Value, which: &str) {
    for source in [
        "resource",
        "containerResource",
        "pods",
        "object",
        "external",
    ] {
        if let Some(t) = metric.get_mut(source).and_then(|s| s.get_mut(which)) {
            for key in ["value", "averageValue"] {
                if let Some(q) = t.get_mut(key) {
                    canonical_quantity(q, false);
                }
            }
        }
    }
}
