//! autoscaling/v2 <-> autoscaling/v1 HorizontalPodAutoscalers.

use serde_json::{Map, Value, json};

use super::hpa_metrics::*;
use super::{
    BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION, METRICS_ANNOTATION,
    ROUND_TRIP_ANNOTATIONS,
};

fn drop_round_trip(md: &mut Value) {
    let Some(m) = md.as_object_mut() else {
        return;
    };
    if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
        for k in ROUND_TRIP_ANNOTATIONS {
            a.remove(*k);
        }
        if a.is_empty() {
            m.remove("annotations");
        }
    }
}

fn set_annotation(md: &mut Value, key: &str, text: String) {
    if !md.is_object() {
        *md = json!({});
    }
    let a = md
        .as_object_mut()
        .expect("object")
        .entry("annotations")
        .or_insert_with(|| json!({}));
    if !a.is_object() {
        *a = json!({});
    }
    a[key] = Value::String(text);
    let mut entries: Vec<(String, Value)> = std::mem::take(a.as_object_mut().expect("object"))
        .into_iter()
        .collect();
    entries.sort_by(|x, y| x.0.cmp(&y.0));
    a.as_object_mut().expect("object").extend(entries);
}

fn is_cpu_resource(m: &Value) -> bool {
    m.get("type").and_then(Value::as_str) == Some("Resource")
        && m.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
}

pub(super) fn hpa_v2_to_v1(obj: &Value) -> Value {
    let spec = get(obj, "spec");
    let status = get(obj, "status");
    let mut md = get(obj, "metadata").clone();
    drop_round_trip(&mut md);
    let metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| {
            !(is_cpu_resource(m)
                && m.pointer("/resource/target/averageUtilization")
                    .is_some_and(|v| !v.is_null()))
        })
        .map(metric_spec_to_v1)
        .collect();
    if !others.is_empty() {
        set_annotation(
            &mut md,
            METRICS_ANNOTATION,
            Value::Array(others).to_string(),
        );
    }
    let current = status
        .get("currentMetrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !current.is_empty() {
        let v1: Vec<Value> = current.iter().map(metric_status_to_v1).collect();
        set_annotation(
            &mut md,
            CURRENT_METRICS_ANNOTATION,
            Value::Array(v1).to_string(),
        );
    }
    if let Some(b) = spec.get("behavior").filter(|v| !v.is_null()) {
        let go = json!({"ScaleUp": rules_go_names(get(b, "scaleUp")), "ScaleDown": rules_go_names(get(b, "scaleDown"))});
        set_annotation(&mut md, BEHAVIOR_ANNOTATION, go.to_string());
    }
    let conditions = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !conditions.is_empty() {
        let v1: Vec<Value> = conditions.iter().map(condition_to_v1).collect();
        set_annotation(&mut md, CONDITIONS_ANNOTATION, Value::Array(v1).to_string());
    }
    let target_cpu = metrics
        .iter()
        .find(|m| is_cpu_resource(m))
        .map(|m| {
            m.pointer("/resource/target/averageUtilization")
                .cloned()
                .unwrap_or(Value::Null)
        })
        .unwrap_or(Value::Null);
    let current_cpu = current
        .iter()
        .filter(|m| is_cpu_resource(m))
        .filter_map(|m| {
            m.pointer("/resource/current/averageUtilization")
                .filter(|v| !v.is_null())
                .cloned()
        })
        .next_back()
        .unwrap_or(Value::Null);
    let mut out = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(v) = obj.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out.insert("metadata".into(), md);
    out.insert(
        "spec".into(),
        object(vec![
            ("scaleTargetRef", cross_ref(get(spec, "scaleTargetRef"))),
            ("minReplicas", get(spec, "minReplicas").clone()),
            (
                "maxReplicas",
                json!(get(spec, "maxReplicas").as_i64().unwrap_or(0)),
            ),
            ("targetCPUUtilizationPercentage", target_cpu),
        ]),
    );
    out.insert(
        "status".into(),
        object(vec![
            (
                "observedGeneration",
                get(status, "observedGeneration").clone(),
            ),
            ("lastScaleTime", get(status, "lastScaleTime").clone()),
            (
                "currentReplicas",
                json!(get(status, "currentReplicas").as_i64().unwrap_or(0)),
            ),
            (
                "desiredReplicas",
                json!(get(status, "desiredReplicas").as_i64().unwrap_or(0)),
            ),
            ("currentCPUUtilizationPercentage", current_cpu),
        ]),
    );
    Value::Object(out)
}

fn annotation_json(md: &Value, key: &str) -> Option<Value> {
    let text = md.pointer("/annotations")?.get(key)?.as_str()?;
    serde_json::from_str(text).ok()
}

pub(super) fn hpa_v1_to_v2(obj: &Value) -> Value {
    let spec = get(obj, "spec");
    let status = get(obj, "status");
    let md_in = get(obj, "metadata");
    let mut metrics: Vec<Value> = Vec::new();
    if let Some(Value::Array(others)) = annotation_json(md_in, METRICS_ANNOTATION) {
        metrics.extend(others.iter().map(metric_spec_from_v1));
    }
    if let Some(cpu) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|v| !v.is_null())
    {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}));
    }
    if metrics.is_empty() {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}));
    }
    let behavior = annotation_json(md_in, BEHAVIOR_ANNOTATION)
        .filter(Value::is_object)
        .map(|b| {
            object(vec![
                ("scaleUp", rules_from_go_names(go_field(&b, "ScaleUp"))),
                ("scaleDown", rules_from_go_names(go_field(&b, "ScaleDown"))),
            ])
        })
        .filter(|b| b.as_object().is_some_and(|m| !m.is_empty()))
        .unwrap_or(Value::Null);
    let mut current: Vec<Value> = match annotation_json(md_in, CURRENT_METRICS_ANNOTATION) {
        Some(Value::Array(list)) => list.iter().map(metric_status_from_v1).collect(),
        _ => Vec::new(),
    };
    if current.is_empty()
        && let Some(cpu) = status
            .get("currentCPUUtilizationPercentage")
            .filter(|v| !v.is_null())
    {
        current.push(json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}));
    }
    let conditions = match annotation_json(md_in, CONDITIONS_ANNOTATION) {
        Some(Value::Array(list)) => Value::Array(list),
        _ => Value::Null,
    };
    let mut md = md_in.clone();
    drop_round_trip(&mut md);
    let mut out = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(v) = obj.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out.insert("metadata".into(), md);
    out.insert(
        "spec".into(),
        object(vec![
            ("scaleTargetRef", cross_ref(get(spec, "scaleTargetRef"))),
            ("minReplicas", get(spec, "minReplicas").clone()),
            (
                "maxReplicas",
                json!(get(spec, "maxReplicas").as_i64().unwrap_or(0)),
            ),
            ("metrics", Value::Array(metrics)),
            ("behavior", behavior),
        ]),
    );
    let status_out = object(vec![
        (
            "observedGeneration",
            get(status, "observedGeneration").clone(),
        ),
        ("lastScaleTime", get(status, "lastScaleTime").clone()),
        (
            "currentReplicas",
            get(status, "currentReplicas")
                .clone()
                .as_i64()
                .filter(|n| *n != 0)
                .map_or(Value::Null, Value::from),
        ),
        (
            "desiredReplicas",
            json!(get(status, "desiredReplicas").as_i64().unwrap_or(0)),
        ),
        (
            "currentMetrics",
            if current.is_empty() {
                Value::Null
            } else {
                Value::Array(current)
            },
        ),
        ("conditions", conditions),
    ]);
    out.insert("status".into(), status_out);
    Value::Object(out)
}
