//! The usage figures behind the resource metrics API, computed from stored
//! objects alone (no I/O here): a pod's annotations or, failing those, its
//! containers' requests; a node's pods plus a fixed base.

use rkube_api::validation::quantity::Quantity;
use serde_json::{Map, Value, json};

/// The pod's CPU usage (a quantity, `250m`), split over its containers.
pub const CPU_ANNOTATION: &str = "metrics.rkube.io/cpu";
/// The pod's memory working set (a quantity, `64Mi`), split likewise.
pub const MEMORY_ANNOTATION: &str = "metrics.rkube.io/memory";

/// Without an annotation a container uses this share of its request:
/// below the 80% an HPA targets by default, so an idle simulated
/// deployment neither grows nor looks dead.
const DEFAULT_PERCENT_OF_REQUEST: i64 = 50;
/// Usage of a container that requests nothing: a small idle process.
const DEFAULT_CPU_MILLI: i64 = 1;
const DEFAULT_MEMORY_BYTES: i64 = 8 << 20;
/// What a node uses besides its pods (kubelet, runtime, system daemons).
pub const NODE_BASE_CPU_MILLI: i64 = 100;
pub const NODE_BASE_MEMORY_BYTES: i64 = 512 << 20;

/// CPU in millicores and memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_milli: i64,
    pub memory_bytes: i64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.cpu_milli = self.cpu_milli.saturating_add(other.cpu_milli);
        self.memory_bytes = self.memory_bytes.saturating_add(other.memory_bytes);
    }

    /// The `usage` map of the metrics types, in the units metrics-server
    /// reports (CPU below a core in millicores, memory in Ki when whole).
    pub fn to_json(self) -> Value {
        json!({"cpu": cpu_text(self.cpu_milli), "memory": memory_text(self.memory_bytes)})
    }
}

fn cpu_text(milli: i64) -> String {
    if milli == 0 {
        "0".into()
    } else {
        format!("{milli}m")
    }
}

fn memory_text(bytes: i64) -> String {
    if bytes != 0 && bytes % 1024 == 0 {
        format!("{}Ki", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// Whether metrics-server would have figures for the pod: only Running
/// pods are scraped (a terminating pod still is, until its phase changes).
pub fn pod_has_metrics(pod: &Value) -> bool {
    pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
}

/// Whether the node reports metrics: it must be Ready (a node that stopped
/// heartbeating is not scraped).
pub fn node_has_metrics(node: &Value) -> bool {
    node.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn quantity(v: Option<&Value>) -> Option<Quantity> {
    Quantity::parse(v?.as_str()?.trim()).ok()
}

fn request(container: &Value, resource: &str) -> Option<Quantity> {
    quantity(container.pointer(&format!("/resources/requests/{resource}")))
}

/// Splits `total` over the containers in proportion to `weights` (evenly
/// when they are all zero); the last container takes the remainder so the
/// parts add up to the annotation exactly.
fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let n = weights.len() as i128;
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    let mut out = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let part = if i + 1 == weights.len() {
            total as i128 - given
        } else if sum > 0 {
            total as i128 * *w as i128 / sum
        } else {
            total as i128 / n
        };
        given += part;
        out.push(part as i64);
    }
    out
}

/// Per-container usage of one resource: the annotation split by request,
/// or each container's default.
fn per_container(
    pod: &Value,
    containers: &[Value],
    annotation: &str,
    resource: &str,
    in_units: fn(&Quantity) -> i64,
    idle: i64,
) -> Vec<i64> {
    let requests: Vec<i64> = containers
        .iter()
        .map(|c| request(c, resource).map_or(0, |q| in_units(&q).max(0)))
        .collect();
    let annotated = pod
        .pointer("/metadata/annotations")
        .and_then(|a| quantity(a.get(annotation)));
    match annotated {
        Some(q) => split(in_units(&q).max(0), &requests),
        None => requests
            .iter()
            .map(|r| {
                if *r > 0 {
                    r * DEFAULT_PERCENT_OF_REQUEST / 100
                } else {
                    idle
                }
            })
            .collect(),
    }
}

/// Each container's name and usage, in spec order.
pub fn container_usage(pod: &Value) -> Vec<(String, Usage)> {
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cpu = per_container(
        pod,
        &containers,
        CPU_ANNOTATION,
        "cpu",
        Quantity::milli_value,
        DEFAULT_CPU_MILLI,
    );
    let memory = per_container(
        pod,
        &containers,
        MEMORY_ANNOTATION,
        "memory",
        Quantity::value,
        DEFAULT_MEMORY_BYTES,
    );
    containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c["name"].as_str().unwrap_or("").to_string();
            (
                name,
                Usage {
                    cpu_milli: cpu[i],
                    memory_bytes: memory[i],
                },
            )
        })
        .collect()
}

/// A node's usage: the base plus its pods that have metrics.
pub fn node_usage<'a>(node_name: &str, pods: impl IntoIterator<Item = &'a Value>) -> Usage {
    let mut total = Usage {
        cpu_milli: NODE_BASE_CPU_MILLI,
        memory_bytes: NODE_BASE_MEMORY_BYTES,
    };
    for pod in pods {
        if pod.pointer("/spec/nodeName").and_then(Value::as_str) != Some(node_name)
            || !pod_has_metrics(pod)
        {
            continue;
        }
        for (_, u) in container_usage(pod) {
            total.add(u);
        }
    }
    total
}

/// `metadata` of a metrics object: the source's name, namespace and
/// labels, created now, as metrics-server fills it.
pub fn metadata(source: &Value, now: &str) -> Value {
    let mut md = Map::new();
    for key in ["name", "namespace", "labels"] {
        if let Some(v) = source["metadata"].get(key).filter(|v| !v.is_null()) {
            md.insert(key.into(), v.clone());
        }
    }
    md.insert("creationTimestamp".into(), json!(now));
    Value::Object(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(annotations: Value, containers: Value) -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default", "annotations": annotations},
            "spec": {"nodeName": "n1", "containers": containers},
            "status": {"phase": "Running"},
        })
    }

    fn c(name: &str, cpu: Option<&str>, memory: Option<&str>) -> Value {
        let mut req = Map::new();
        if let Some(v) = cpu {
            req.insert("cpu".into(), json!(v));
        }
        if let Some(v) = memory {
            req.insert("memory".into(), json!(v));
        }
        json!({"name": name, "resources": {"requests": req}})
    }

    #[test]
    fn defaults_are_half_the_request_or_an_idle_process() {
        let p = pod(
            json!({}),
            json!([c("app", Some("200m"), Some("128Mi")), c("side", None, None)]),
        );
        let u = container_usage(&p);
        assert_eq!(u[0].0, "app");
        assert_eq!(
            u[0].1,
            Usage {
                cpu_milli: 100,
                memory_bytes: 64 << 20
            }
        );
        assert_eq!(
            u[1].1,
            Usage {
                cpu_milli: DEFAULT_CPU_MILLI,
                memory_bytes: DEFAULT_MEMORY_BYTES
            }
        );
    }

    #[test]
    fn annotation_is_split_by_request_and_adds_up() {
        let p = pod(
            json!({CPU_ANNOTATION: "1", MEMORY_ANNOTATION: "300Mi"}),
            json!([c("a", Some("100m"), None), c("b", Some("200m"), None)]),
        );
        let u = container_usage(&p);
        assert_eq!(u[0].1.cpu_milli, 333);
        assert_eq!(u[1].1.cpu_milli, 667);
        // No memory requests: an even split.
        assert_eq!(u[0].1.memory_bytes, 150 << 20);
        assert_eq!(u[0].1.memory_bytes + u[1].1.memory_bytes, 300 << 20);
    }

    #[test]
    fn a_bad_annotation_falls_back_to_the_default() {
        let p = pod(
            json!({CPU_ANNOTATION: "lots"}),
            json!([c("a", Some("100m"), None)]),
        );
        assert_eq!(container_usage(&p)[0].1.cpu_milli, 50);
    }

    #[test]
    fn node_usage_sums_running_pods_on_the_node() {
        let a = pod(json!({CPU_ANNOTATION: "250m"}), json!([c("a", None, None)]));
        let mut pending = a.clone();
        pending["status"]["phase"] = json!("Pending");
        let mut elsewhere = a.clone();
        elsewhere["spec"]["nodeName"] = json!("n2");
        let u = node_usage("n1", [&a, &pending, &elsewhere]);
        assert_eq!(u.cpu_milli, NODE_BASE_CPU_MILLI + 250);
        assert_eq!(
            u.memory_bytes,
            NODE_BASE_MEMORY_BYTES + DEFAULT_MEMORY_BYTES
        );
    }

    #[test]
    fn quantities_read_as_metrics_server_writes_them() {
        let u = Usage {
            cpu_milli: 1500,
            memory_bytes: 64 << 20,
        };
        assert_eq!(u.to_json(), json!({"cpu": "1500m", "memory": "65536Ki"}));
        assert_eq!(
            Usage::default().to_json(),
            json!({"cpu": "0", "memory": "0"})
        );
        assert_eq!(memory_text(1000), "1000");
    }

    #[test]
    fn only_running_pods_and_ready_nodes_have_metrics() {
        let mut p = pod(json!({}), json!([]));
        assert!(pod_has_metrics(&p));
        p["status"]["phase"] = json!("Succeeded");
        assert!(!pod_has_metrics(&p));
        let node = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(node_has_metrics(&node));
        assert!(!node_has_metrics(&json!({"status": {}})));
    }
}
