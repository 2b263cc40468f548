//! Metric, condition and behavior shapes of autoscaling/v1 (annotation
//! format) and autoscaling/v2, and the JSON helpers the HPA conversion uses.

use serde_json::{Map, Value, json};

pub(super) fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.get(key).unwrap_or(&NULL)
}

/// Build an object from (key, value) pairs, leaving out nulls (omitempty).
pub(super) fn object(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

pub(super) fn or_zero(v: &Value) -> Value {
    if v.is_null() { json!("0") } else { v.clone() }
}

pub(super) fn cross_ref(r: &Value) -> Value {
    object(vec![
        (
            "kind",
            json!(r.get("kind").and_then(Value::as_str).unwrap_or("")),
        ),
        (
            "name",
            json!(r.get("name").and_then(Value::as_str).unwrap_or("")),
        ),
        ("apiVersion", get(r, "apiVersion").clone()),
    ])
}

/// A v2 metric spec in the v1 (annotation) format.
pub(super) fn metric_spec_to_v1(m: &Value) -> Value {
    let t = |src: &Value| get(src, "target").clone();
    let mut pairs = vec![("type", get(m, "type").clone())];
    if let Some(o) = m.get("object").filter(|v| !v.is_null()) {
        let tg = t(o);
        pairs.push((
            "object",
            object(vec![
                ("target", cross_ref(get(o, "describedObject"))),
                ("metricName", or_empty(get(get(o, "metric"), "name"))),
                ("targetValue", or_zero(get(&tg, "value"))),
                ("selector", get(get(o, "metric"), "selector").clone()),
                ("averageValue", get(&tg, "averageValue").clone()),
            ]),
        ));
    }
    if let Some(p) = m.get("pods").filter(|v| !v.is_null()) {
        pairs.push((
            "pods",
            object(vec![
                ("metricName", or_empty(get(get(p, "metric"), "name"))),
                ("targetAverageValue", or_zero(get(&t(p), "averageValue"))),
                ("selector", get(get(p, "metric"), "selector").clone()),
            ]),
        ));
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(r) = m.get(key).filter(|v| !v.is_null()) {
            let tg = t(r);
            let mut fields = vec![
                ("name", or_empty(get(r, "name"))),
                (
                    "targetAverageUtilization",
                    get(&tg, "averageUtilization").clone(),
                ),
                ("targetAverageValue", get(&tg, "averageValue").clone()),
            ];
            if container {
                fields.push(("container", or_empty(get(r, "container"))));
            }
            pairs.push((key, object(fields)));
        }
    }
    if let Some(e) = m.get("external").filter(|v| !v.is_null()) {
        let tg = t(e);
        pairs.push((
            "external",
            object(vec![
                ("metricName", or_empty(get(get(e, "metric"), "name"))),
                ("metricSelector", get(get(e, "metric"), "selector").clone()),
                ("targetValue", get(&tg, "value").clone()),
                ("targetAverageValue", get(&tg, "averageValue").clone()),
            ]),
        ));
    }
    object(pairs)
}

pub(super) fn or_empty(v: &Value) -> Value {
    if v.is_null() { json!("") } else { v.clone() }
}

/// A v2 metric status in the v1 (annotation) format.
pub(super) fn metric_status_to_v1(m: &Value) -> Value {
    let c = |src: &Value| get(src, "current").clone();
    let mut pairs = vec![("type", get(m, "type").clone())];
    if let Some(o) = m.get("object").filter(|v| !v.is_null()) {
        let cur = c(o);
        pairs.push((
            "object",
            object(vec![
                ("target", cross_ref(get(o, "describedObject"))),
                ("metricName", or_empty(get(get(o, "metric"), "name"))),
                ("currentValue", or_zero(get(&cur, "value"))),
                ("selector", get(get(o, "metric"), "selector").clone()),
                ("averageValue", get(&cur, "averageValue").clone()),
            ]),
        ));
    }
    if let Some(p) = m.get("pods").filter(|v| !v.is_null()) {
        pairs.push((
            "pods",
            object(vec![
                ("metricName", or_empty(get(get(p, "metric"), "name"))),
                ("currentAverageValue", or_zero(get(&c(p), "averageValue"))),
                ("selector", get(get(p, "metric"), "selector").clone()),
            ]),
        ));
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(r) = m.get(key).filter(|v| !v.is_null()) {
            let cur = c(r);
            let mut fields = vec![
                ("name", or_empty(get(r, "name"))),
                (
                    "currentAverageUtilization",
                    get(&cur, "averageUtilization").clone(),
                ),
                ("currentAverageValue", or_zero(get(&cur, "averageValue"))),
            ];
            if container {
                fields.push(("container", or_empty(get(r, "container"))));
            }
            pairs.push((key, object(fields)));
        }
    }
    if let Some(e) = m.get("external").filter(|v| !v.is_null()) {
        let cur = c(e);
        pairs.push((
            "external",
            object(vec![
                ("metricName", or_empty(get(get(e, "metric"), "name"))),
                ("metricSelector", get(get(e, "metric"), "selector").clone()),
                ("currentValue", or_zero(get(&cur, "value"))),
                ("currentAverageValue", get(&cur, "averageValue").clone()),
            ]),
        ));
    }
    object(pairs)
}

pub(super) fn condition_to_v1(c: &Value) -> Value {
    json!({
        "type": or_empty(get(c, "type")),
        "status": or_empty(get(c, "status")),
        "lastTransitionTime": get(c, "lastTransitionTime").clone(),
    })
    .as_object()
    .cloned()
    .map(|mut m| {
        for key in ["reason", "message"] {
            if let Some(v) = c
                .get(key)
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            {
                m.insert(key.to_string(), v.clone());
            }
        }
        Value::Object(m)
    })
    .unwrap_or(Value::Null)
}

/// Scaling rules with the Go field names of upstream's internal type.
pub(super) fn rules_go_names(r: &Value) -> Value {
    if r.is_null() {
        return Value::Null;
    }
    let policies = match r.get("policies") {
        Some(Value::Array(ps)) => Value::Array(
            ps.iter()
                .map(|p| {
                    json!({
                        "Type": or_empty(get(p, "type")),
                        "Value": get(p, "value").as_i64().unwrap_or(0),
                        "PeriodSeconds": get(p, "periodSeconds").as_i64().unwrap_or(0),
                    })
                })
                .collect(),
        ),
        _ => Value::Null,
    };
    json!({
        "StabilizationWindowSeconds": get(r, "stabilizationWindowSeconds").clone(),
        "SelectPolicy": get(r, "selectPolicy").clone(),
        "Policies": policies,
        "Tolerance": get(r, "tolerance").clone(),
    })
}

pub(super) fn target(
    ty_if: &str,
    ty_else: &str,
    pick_if: bool,
    pairs: Vec<(&str, Value)>,
) -> Value {
    let ty = if pick_if { ty_if } else { ty_else };
    let mut all = vec![("type", json!(ty))];
    all.extend(pairs);
    object(all)
}

pub(super) fn identifier(name: &Value, selector: &Value) -> Value {
    object(vec![
        ("name", or_empty(name)),
        ("selector", selector.clone()),
    ])
}

/// A v1 (annotation format) metric spec in v2 form.
pub(super) fn metric_spec_from_v1(m: &Value) -> Value {
    let mut pairs = vec![("type", get(m, "type").clone())];
    if let Some(o) = m.get("object").filter(|v| !v.is_null()) {
        let avg = get(o, "averageValue");
        pairs.push((
            "object",
            object(vec![
                ("describedObject", cross_ref(get(o, "target"))),
                (
                    "target",
                    target(
                        "Value",
                        "AverageValue",
                        avg.is_null(),
                        vec![
                            ("value", or_zero(get(o, "targetValue"))),
                            ("averageValue", avg.clone()),
                        ],
                    ),
                ),
                (
                    "metric",
                    identifier(get(o, "metricName"), get(o, "selector")),
                ),
            ]),
        ));
    }
    if let Some(p) = m.get("pods").filter(|v| !v.is_null()) {
        pairs.push((
            "pods",
            object(vec![
                (
                    "metric",
                    identifier(get(p, "metricName"), get(p, "selector")),
                ),
                (
                    "target",
                    target(
                        "AverageValue",
                        "",
                        true,
                        vec![("averageValue", or_zero(get(p, "targetAverageValue")))],
                    ),
                ),
            ]),
        ));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = m.get(key).filter(|v| !v.is_null()) {
            let util = get(r, "targetAverageUtilization");
            let mut fields = vec![
                ("name", or_empty(get(r, "name"))),
                (
                    "target",
                    target(
                        "AverageValue",
                        "Utilization",
                        util.is_null(),
                        vec![
                            ("averageUtilization", util.clone()),
                            ("averageValue", get(r, "targetAverageValue").clone()),
                        ],
                    ),
                ),
            ];
            if key == "containerResource" {
                fields.push(("container", or_empty(get(r, "container"))));
            }
            pairs.push((key, object(fields)));
        }
    }
    if let Some(e) = m.get("external").filter(|v| !v.is_null()) {
        let value = get(e, "targetValue");
        pairs.push((
            "external",
            object(vec![
                (
                    "metric",
                    identifier(get(e, "metricName"), get(e, "metricSelector")),
                ),
                (
                    "target",
                    target(
                        "AverageValue",
                        "Value",
                        value.is_null(),
                        vec![
                            ("value", value.clone()),
                            ("averageValue", get(e, "targetAverageValue").clone()),
                        ],
                    ),
                ),
            ]),
        ));
    }
    object(pairs)
}

/// A v1 (annotation format) metric status in v2 form.
pub(super) fn metric_status_from_v1(m: &Value) -> Value {
    let mut pairs = vec![("type", get(m, "type").clone())];
    if let Some(o) = m.get("object").filter(|v| !v.is_null()) {
        pairs.push((
            "object",
            object(vec![
                (
                    "metric",
                    identifier(get(o, "metricName"), get(o, "selector")),
                ),
                (
                    "current",
                    object(vec![
                        ("value", or_zero(get(o, "currentValue"))),
                        ("averageValue", get(o, "averageValue").clone()),
                    ]),
                ),
                ("describedObject", cross_ref(get(o, "target"))),
            ]),
        ));
    }
    if let Some(p) = m.get("pods").filter(|v| !v.is_null()) {
        pairs.push((
            "pods",
            object(vec![
                (
                    "metric",
                    identifier(get(p, "metricName"), get(p, "selector")),
                ),
                (
                    "current",
                    object(vec![(
                        "averageValue",
                        or_zero(get(p, "currentAverageValue")),
                    )]),
                ),
            ]),
        ));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = m.get(key).filter(|v| !v.is_null()) {
            let mut fields = vec![
                ("name", or_empty(get(r, "name"))),
                (
                    "current",
                    object(vec![
                        ("averageValue", or_zero(get(r, "currentAverageValue"))),
                        (
                            "averageUtilization",
                            get(r, "currentAverageUtilization").clone(),
                        ),
                    ]),
                ),
            ];
            if key == "containerResource" {
                fields.push(("container", or_empty(get(r, "container"))));
            }
            pairs.push((key, object(fields)));
        }
    }
    if let Some(e) = m.get("external").filter(|v| !v.is_null()) {
        pairs.push((
            "external",
            object(vec![
                (
                    "metric",
                    identifier(get(e, "metricName"), get(e, "metricSelector")),
                ),
                (
                    "current",
                    object(vec![
                        ("value", or_zero(get(e, "currentValue"))),
                        ("averageValue", get(e, "currentAverageValue").clone()),
                    ]),
                ),
            ]),
        ));
    }
    object(pairs)
}

/// A field of an object decoded the way Go's decoder matches keys
/// (case-insensitively).
pub(super) fn go_field<'a>(v: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.as_object()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .unwrap_or(&NULL)
}

pub(super) fn rules_from_go_names(r: &Value) -> Value {
    if !r.is_object() {
        return Value::Null;
    }
    let policies = match go_field(r, "Policies") {
        Value::Array(ps) => Value::Array(
            ps.iter()
                .map(|p| {
                    json!({
                        "type": or_empty(go_field(p, "Type")),
                        "value": go_field(p, "Value").as_i64().unwrap_or(0),
                        "periodSeconds": go_field(p, "PeriodSeconds").as_i64().unwrap_or(0),
                    })
                })
                .collect(),
        ),
        _ => Value::Null,
    };
    object(vec![
        (
            "stabilizationWindowSeconds",
            go_field(r, "StabilizationWindowSeconds").clone(),
        ),
        ("selectPolicy", go_field(r, "SelectPolicy").clone()),
        ("policies", policies),
        ("tolerance", go_field(r, "Tolerance").clone()),
    ])
}
