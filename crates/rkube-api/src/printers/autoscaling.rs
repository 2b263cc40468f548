//! `autoscaling`: horizontal pod autoscalers, in either served version.

use serde_json::{Value, json};

use super::format::{arr, has, i, s, text};
use super::{AGE, Column, NAME, Printer, Row, col};

pub(crate) const PRINTERS: &[Printer] = &[Printer {
    group: "autoscaling",
    plural: "horizontalpodautoscalers",
    columns: HPA_COLUMNS,
    cells: hpa_cells,
}];

const HPA_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Reference",
        "string",
        "The object whose scale the autoscaler sets, as Kind/name.",
    ),
    col(
        "Targets",
        "string",
        "Current and target values of the first metrics.",
    ),
    col(
        "MinPods",
        "string",
        "The lowest replica count the autoscaler may set.",
    ),
    col(
        "MaxPods",
        "string",
        "The highest replica count the autoscaler may set.",
    ),
    col("Replicas", "string", "The replica count last observed."),
    AGE,
];

const UNKNOWN: &str = "<unknown>";

/// A quantity, `<unknown>` when the status has none.
fn current(status: Option<&Value>, ptr: &str) -> String {
    match status.and_then(|s| s.pointer(ptr)) {
        Some(v) if !v.is_null() => text(Some(v)),
        _ => UNKNOWN.to_string(),
    }
}

fn percent(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_i64).map(|p| format!("{p}%"))
}

/// One metric as `current/target`, the way upstream's HPA table prints it.
fn format_metric(spec: &Value, status: Option<&Value>) -> String {
    // The status entry of the same type, if it is there.
    let st = |key: &str| status.and_then(|x| x.get(key)).filter(|x| !x.is_null());
    let target = |src: &str, field: &str| text(spec.pointer(&format!("/{src}/target/{field}")));
    match s(spec, "/type") {
        kind @ ("External" | "Object") => {
            let src = if kind == "External" {
                "external"
            } else {
                "object"
            };
            if has(spec, &format!("/{src}/target/averageValue")) {
                let cur = current(st(src), "/current/averageValue");
                format!("{cur}/{} (avg)", target(src, "averageValue"))
            } else {
                let cur = match st(src) {
                    Some(x) => or_zero(x.pointer("/current/value")),
                    None => UNKNOWN.to_string(),
                };
                format!(
                    "{cur}/{}",
                    or_zero(spec.pointer(&format!("/{src}/target/value")))
                )
            }
        }
        "Pods" => {
            let cur = match st("pods") {
                Some(x) => or_zero(x.pointer("/current/averageValue")),
                None => UNKNOWN.to_string(),
            };
            format!(
                "{cur}/{}",
                or_zero(spec.pointer("/pods/target/averageValue"))
            )
        }
        kind @ ("Resource" | "ContainerResource") => {
            let src = if kind == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let name = s(spec, &format!("/{src}/name"));
            if has(spec, &format!("/{src}/target/averageValue")) {
                let cur = match st(src) {
                    Some(x) => or_zero(x.pointer("/current/averageValue")),
                    None => UNKNOWN.to_string(),
                };
                format!("{name}: {cur}/{}", target(src, "averageValue"))
            } else {
                let cur = percent(st(src).and_then(|x| x.pointer("/current/averageUtilization")))
                    .unwrap_or_else(|| UNKNOWN.to_string());
                let tgt = percent(spec.pointer(&format!("/{src}/target/averageUtilization")))
                    .unwrap_or_else(|| "<auto>".to_string());
                format!("{name}: {cur}/{tgt}")
            }
        }
        _ => "<unknown type>".to_string(),
    }
}

/// A quantity that upstream reads from a non-pointer field: `0` when unset.
fn or_zero(v: Option<&Value>) -> String {
    match text(v) {
        t if t.is_empty() => "0".to_string(),
        t => t,
    }
}

/// Metric specs and statuses; `autoscaling/v1` objects only know CPU.
fn metrics(hpa: &Value) -> (Vec<Value>, Vec<Value>) {
    if has(hpa, "/spec/metrics") || !has(hpa, "/spec/targetCPUUtilizationPercentage") {
        return (
            arr(hpa, "/spec/metrics").to_vec(),
            arr(hpa, "/status/currentMetrics").to_vec(),
        );
    }
    let spec = json!({"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization",
        "averageUtilization": hpa.pointer("/spec/targetCPUUtilizationPercentage"),
    }}});
    let status = match hpa.pointer("/status/currentCPUUtilizationPercentage") {
        Some(v) if !v.is_null() => {
            vec![
                json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": v}}}),
            ]
        }
        _ => Vec::new(),
    };
    (vec![spec], status)
}

/// Up to two metrics, then ` + N more...`; `<none>` without metrics.
fn format_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 2;
    let list: Vec<String> = specs
        .iter()
        .take(MAX)
        .enumerate()
        .map(|(n, spec)| format_metric(spec, statuses.get(n)))
        .collect();
    let joined = list.join(", ");
    if specs.len() > MAX {
        format!("{joined} + {} more...", specs.len() - MAX)
    } else {
        joined
    }
}

fn hpa_cells(row: &Row) -> Vec<Value> {
    let hpa = row.obj;
    let (specs, statuses) = metrics(hpa);
    let reference = format!(
        "{}/{}",
        s(hpa, "/spec/scaleTargetRef/kind"),
        s(hpa, "/spec/scaleTargetRef/name")
    );
    let min = if has(hpa, "/spec/minReplicas") {
        i(hpa, "/spec/minReplicas").to_string()
    } else {
        "<unset>".to_string()
    };
    vec![
        row.name(),
        json!(reference),
        json!(format_metrics(&specs, &statuses)),
        json!(min),
        json!(i(hpa, "/spec/maxReplicas")),
        json!(i(hpa, "/status/currentReplicas")),
        row.age(),
    ]
}
