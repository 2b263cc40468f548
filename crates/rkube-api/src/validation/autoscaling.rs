//! autoscaling: HorizontalPodAutoscalers (checked in their v2 form).

use serde_json::Value;

use super::containers::parse_quantity;
use super::meta;
use super::util::{
    arr, each_msg, forbidden, get, has, int, invalid_raw, invalid_str, not_supported, required_msg,
    s,
};
use crate::catalogue::ResourceDef;
use crate::names::{check_dns1123_label, check_path_segment_name};
use crate::status::Cause;

const MAX_PERIOD_SECONDS: i64 = 1800;
const MAX_STABILIZATION_SECONDS: i64 = 3600;
const SOURCE_TYPES: &[&str] = &[
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];

fn object_reference(r: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for key in ["kind", "name"] {
        let v = s(r, key);
        if v.is_empty() {
            errs.push(required_msg(format!("{path}.{key}"), ""));
        } else {
            errs.extend(each_msg(
                &format!("{path}.{key}"),
                v,
                check_path_segment_name(v),
            ));
        }
    }
    errs
}

fn metric_identifier(id: &Value, path: &str) -> Vec<Cause> {
    let name = s(id, "name");
    if name.is_empty() {
        vec![required_msg(
            format!("{path}.name"),
            "must specify a metric name",
        )]
    } else {
        each_msg(&format!("{path}.name"), name, check_path_segment_name(name))
    }
}

fn target(t: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ty = s(t, "type");
    if ty.is_empty() {
        errs.push(required_msg(
            format!("{path}.type"),
            "must specify a metric target type",
        ));
    }
    if !matches!(ty, "Utilization" | "Value" | "AverageValue") {
        errs.push(invalid_str(
            format!("{path}.type"),
            ty,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for key in ["value", "averageValue"] {
        if let Some(q) = t.get(key).filter(|v| !v.is_null()) {
            match parse_quantity(q, &format!("{path}.{key}")) {
                Ok(q) if q.signum() != 1 => errs.push(invalid_raw(
                    format!("{path}.{key}"),
                    &q.canonical(),
                    "must be positive",
                )),
                Ok(_) => {}
                Err(c) => errs.push(c),
            }
        }
    }
    if let Some(u) = int(t, "averageUtilization").filter(|u| *u < 1) {
        errs.push(invalid_raw(
            format!("{path}.averageUtilization"),
            &u.to_string(),
            "must be greater than 0",
        ));
    }
    errs
}

fn source(key: &str, src: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let t = get(src, "target");
    let tp = format!("{path}.target");
    match key {
        "object" => {
            errs.extend(object_reference(
                get(src, "describedObject"),
                &format!("{path}.describedObject"),
            ));
            errs.extend(metric_identifier(
                get(src, "metric"),
                &format!("{path}.metric"),
            ));
            errs.extend(target(t, &tp));
            if !has(t, "value") && !has(t, "averageValue") {
                errs.push(required_msg(
                    format!("{tp}.averageValue"),
                    "must set either a target value or averageValue",
                ));
            }
        }
        "pods" => {
            errs.extend(metric_identifier(
                get(src, "metric"),
                &format!("{path}.metric"),
            ));
            errs.extend(target(t, &tp));
            if !has(t, "averageValue") {
                errs.push(required_msg(
                    format!("{tp}.averageValue"),
                    "must specify a positive target averageValue",
                ));
            }
        }
        "external" => {
            errs.extend(metric_identifier(
                get(src, "metric"),
                &format!("{path}.metric"),
            ));
            errs.extend(target(t, &tp));
            if !has(t, "value") && !has(t, "averageValue") {
                errs.push(required_msg(
                    format!("{tp}.averageValue"),
                    "must set either a target value for metric or a per-pod target",
                ));
            }
            if has(t, "value") && has(t, "averageValue") {
                errs.push(forbidden(
                    format!("{tp}.value"),
                    "may not set both a target value for metric and a per-pod target",
                ));
            }
        }
        _ => {
            if s(src, "name").is_empty() {
                errs.push(required_msg(
                    format!("{path}.name"),
                    "must specify a resource name",
                ));
            }
            if key == "containerResource" {
                let c = s(src, "container");
                if c.is_empty() {
                    errs.push(required_msg(
                        format!("{path}.container"),
                        "must specify a container",
                    ));
                } else {
                    errs.extend(each_msg(
                        &format!("{path}.container"),
                        c,
                        check_dns1123_label(c),
                    ));
                }
            }
            errs.extend(target(t, &tp));
            if !has(t, "averageUtilization") && !has(t, "averageValue") {
                errs.push(required_msg(
                    format!("{tp}.averageUtilization"),
                    "must set either a target raw value or a target utilization",
                ));
            }
            if has(t, "averageUtilization") && has(t, "averageValue") {
                errs.push(forbidden(
                    format!("{tp}.averageValue"),
                    "may not set both a target raw value and a target utilization",
                ));
            }
        }
    }
    errs
}

fn metric(m: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ty = s(m, "type");
    if ty.is_empty() {
        errs.push(required_msg(
            format!("{path}.type"),
            "must specify a metric source type",
        ));
    }
    if !SOURCE_TYPES.contains(&ty) {
        errs.push(not_supported(
            format!("{path}.type"),
            get(m, "type"),
            SOURCE_TYPES,
        ));
    }
    let keys = [
        ("Object", "object"),
        ("Pods", "pods"),
        ("Resource", "resource"),
        ("External", "external"),
        ("ContainerResource", "containerResource"),
    ];
    let present: Vec<&str> = keys.iter().map(|(_, k)| *k).filter(|k| has(m, k)).collect();
    let expected = keys.iter().find(|(t, _)| *t == ty).map(|(_, k)| *k);
    match expected {
        Some(k) if !has(m, k) => {
            errs.push(required_msg(
                format!("{path}.{k}"),
                "must populate information for the given metric source",
            ));
        }
        Some(_) => {}
        None => errs.push(not_supported(
            format!("{path}.type"),
            get(m, "type"),
            SOURCE_TYPES,
        )),
    }
    if present.len() != 1 {
        for k in present.iter().filter(|k| Some(**k) != expected) {
            errs.push(forbidden(
                format!("{path}.{k}"),
                "must populate the given metric source only",
            ));
        }
    }
    for k in [
        "object",
        "pods",
        "resource",
        "external",
        "containerResource",
    ] {
        if let Some(src) = m.get(k).filter(|v| !v.is_null()) {
            errs.extend(source(k, src, &format!("{path}.{k}")));
        }
    }
    errs
}

fn rules(r: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if r.is_null() {
        return errs;
    }
    if let Some(w) = int(r, "stabilizationWindowSeconds") {
        if w < 0 {
            errs.push(invalid_raw(
                format!("{path}.stabilizationWindowSeconds"),
                &w.to_string(),
                "must be greater than or equal to zero",
            ));
        }
        if w > MAX_STABILIZATION_SECONDS {
            errs.push(invalid_raw(
                format!("{path}.stabilizationWindowSeconds"),
                &w.to_string(),
                &format!("must be less than or equal to {MAX_STABILIZATION_SECONDS}"),
            ));
        }
    }
    if has(r, "selectPolicy") && !matches!(s(r, "selectPolicy"), "Max" | "Min" | "Disabled") {
        errs.push(not_supported(
            format!("{path}.selectPolicy"),
            get(r, "selectPolicy"),
            &["Disabled", "Max", "Min"],
        ));
    }
    let policies = arr(r, "policies");
    if policies.is_empty() {
        errs.push(required_msg(
            format!("{path}.policies"),
            "must specify at least one Policy",
        ));
    }
    for (i, p) in policies.iter().enumerate() {
        let pp = format!("{path}.policies[{i}]");
        if !matches!(s(p, "type"), "Pods" | "Percent") {
            errs.push(not_supported(
                format!("{pp}.type"),
                get(p, "type"),
                &["Percent", "Pods"],
            ));
        }
        let value = int(p, "value").unwrap_or(0);
        if value <= 0 {
            errs.push(invalid_raw(
                format!("{pp}.value"),
                &value.to_string(),
                "must be greater than zero",
            ));
        }
        let period = int(p, "periodSeconds").unwrap_or(0);
        if period <= 0 {
            errs.push(invalid_raw(
                format!("{pp}.periodSeconds"),
                &period.to_string(),
                "must be greater than zero",
            ));
        }
        if period > MAX_PERIOD_SECONDS {
            errs.push(invalid_raw(
                format!("{pp}.periodSeconds"),
                &period.to_string(),
                &format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
    if let Some(t) = r.get("tolerance").filter(|v| !v.is_null()) {
        match parse_quantity(t, &format!("{path}.tolerance")) {
            Ok(q) if q.signum() < 0 => errs.push(invalid_raw(
                format!("{path}.tolerance"),
                &q.canonical(),
                "must be greater than or equal to zero",
            )),
            Ok(_) => {}
            Err(c) => errs.push(c),
        }
    }
    errs
}

pub(crate) fn hpa(def: &ResourceDef, h: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = match old {
        Some(o) => meta::update(def, h, o),
        None => meta::create(def, h),
    };
    let spec = get(h, "spec");
    let min = int(spec, "minReplicas");
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(invalid_raw(
            "spec.minReplicas",
            &m.to_string(),
            "must be greater than or equal to 1",
        ));
    }
    let max = int(spec, "maxReplicas").unwrap_or(0);
    if max < 1 {
        errs.push(invalid_raw(
            "spec.maxReplicas",
            &max.to_string(),
            "must be greater than 0",
        ));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(invalid_raw(
            "spec.maxReplicas",
            &max.to_string(),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errs.extend(object_reference(
        get(spec, "scaleTargetRef"),
        "spec.scaleTargetRef",
    ));
    for (i, m) in arr(spec, "metrics").iter().enumerate() {
        errs.extend(metric(m, &format!("spec.metrics[{i}]")));
    }
    if let Some(b) = spec.get("behavior").filter(|v| !v.is_null()) {
        errs.extend(rules(get(b, "scaleUp"), "spec.behavior.scaleUp"));
        errs.extend(rules(get(b, "scaleDown"), "spec.behavior.scaleDown"));
    }
    errs
}
