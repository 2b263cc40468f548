//! Core group: pods, nodes, and what holds pod templates (pod templates,
//! replication controllers).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{arr, b, containers, i, labels, map, or, parse_time, s};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Printer, Row, col, wide};

pub(crate) const PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "pods",
        columns: POD_COLUMNS,
        cells: pod_cells,
    },
    Printer {
        group: "",
        plural: "nodes",
        columns: NODE_COLUMNS,
        cells: node_cells,
    },
    Printer {
        group: "",
        plural: "podtemplates",
        columns: PODTEMPLATE_COLUMNS,
        cells: podtemplate_cells,
    },
    Printer {
        group: "",
        plural: "replicationcontrollers",
        columns: RC_COLUMNS,
        cells: rc_cells,
    },
];

const POD_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "How many of the pod's containers are ready, out of how many.",
    ),
    col(
        "Status",
        "string",
        "A one-word summary of the state of the pod's containers.",
    ),
    col(
        "Restarts",
        "string",
        "How often the pod's containers have restarted, and how long ago the last restart was.",
    ),
    AGE,
    wide(
        "IP",
        "string",
        "The IP address allocated to the pod (the first of its pod IPs).",
    ),
    wide("Node", "string", "The node the pod is bound to."),
    wide(
        "Nominated Node",
        "string",
        "The node the scheduler expects the pod to run on once preemption victims are gone.",
    ),
    wide(
        "Readiness Gates",
        "string",
        "How many of the pod's readiness gate conditions are true, out of how many.",
    ),
];

/// A sidecar: an init container that keeps running (`restartPolicy: Always`).
fn is_restartable(init: &[Value], name: &str) -> bool {
    init.iter()
        .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
}

fn has_condition(status: &Value, type_: &str) -> bool {
    arr(status, "/conditions")
        .iter()
        .find(|c| s(c, "/type") == type_)
        .is_some_and(|c| s(c, "/status") == "True")
}

/// The later of two optional times.
fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// When a container last terminated before its current run.
fn last_termination(status: &Value) -> Option<DateTime<Utc>> {
    parse_time(s(status, "/lastState/terminated/finishedAt"))
}

/// `Signal:9` / `ExitCode:1` for a terminated state without a reason.
fn exit_text(term: &Value) -> String {
    match i(term, "/signal") {
        0 => format!("ExitCode:{}", i(term, "/exitCode")),
        sig => format!("Signal:{sig}"),
    }
}

struct PodSummary {
    ready: usize,
    total: usize,
    reason: String,
    restarts: i64,
    last_restart: Option<DateTime<Utc>>,
}

fn summarize_pod(pod: &Value) -> PodSummary {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let phase = s(status, "/phase");
    let mut reason = or(s(status, "/reason"), phase);
    if arr(status, "/conditions")
        .iter()
        .any(|c| s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }

    let init_specs = arr(spec, "/initContainers");
    let total = arr(spec, "/containers").len()
        + init_specs
            .iter()
            .filter(|c| s(c, "/restartPolicy") == "Always")
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut last_restart = None;
    let mut sidecar_restarts = 0;
    let mut sidecar_last_restart = None;

    let mut initializing = false;
    for (n, cs) in arr(status, "/initContainerStatuses").iter().enumerate() {
        let sidecar = is_restartable(init_specs, s(cs, "/name"));
        restarts += i(cs, "/restartCount");
        last_restart = later(last_restart, last_termination(cs));
        if sidecar {
            sidecar_restarts += i(cs, "/restartCount");
            sidecar_last_restart = later(sidecar_last_restart, last_termination(cs));
        }
        let terminated = cs.pointer("/state/terminated").filter(|t| !t.is_null());
        let waiting_reason = s(cs, "/state/waiting/reason");
        if terminated.is_some_and(|t| i(t, "/exitCode") == 0) {
            continue;
        }
        if sidecar && b(cs, "/started") {
            if b(cs, "/ready") {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            match s(t, "/reason") {
                "" => format!("Init:{}", exit_text(t)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{n}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || has_condition(status, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut has_running = false;
        for cs in arr(status, "/containerStatuses").iter().rev() {
            restarts += i(cs, "/restartCount");
            last_restart = later(last_restart, last_termination(cs));
            let waiting_reason = s(cs, "/state/waiting/reason");
            let terminated = cs.pointer("/state/terminated").filter(|t| !t.is_null());
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = match s(t, "/reason") {
                    "" => exit_text(t),
                    r => r.to_string(),
                };
            } else if b(cs, "/ready") && cs.pointer("/state/running").is_some_and(|r| !r.is_null())
            {
                has_running = true;
                ready += 1;
            }
        }
        // A container still runs: the pod is not "Completed" yet.
        if reason == "Completed" && has_running {
            reason = if has_condition(status, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    if deleting && s(status, "/reason") == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }
    PodSummary {
        ready,
        total,
        reason,
        restarts,
        last_restart,
    }
}

fn pod_cells(row: &Row) -> Vec<Value> {
    let pod = row.obj;
    let sum = summarize_pod(pod);
    let restarts = match sum.last_restart {
        Some(t) if sum.restarts != 0 => format!(
            "{} ({} ago)",
            sum.restarts,
            super::format::human_duration(row.now - t)
        ),
        _ => sum.restarts.to_string(),
    };
    let status = &pod["status"];
    let ip = arr(status, "/podIPs")
        .first()
        .map(|p| s(p, "/ip"))
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| s(status, "/podIP"));
    let gates = arr(pod, "/spec/readinessGates");
    let gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = arr(status, "/conditions");
        let true_gates = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| s(c, "/type") == s(g, "/conditionType"))
                    .is_some_and(|c| s(c, "/status") == "True")
            })
            .count();
        format!("{true_gates}/{}", gates.len())
    };
    vec![
        row.name(),
        json!(format!("{}/{}", sum.ready, sum.total)),
        json!(sum.reason),
        json!(restarts),
        row.age(),
        json!(or(ip, "<none>")),
        json!(or(s(pod, "/spec/nodeName"), "<none>")),
        json!(or(s(status, "/nominatedNodeName"), "<none>")),
        json!(gates),
    ]
}

const NODE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Status",
        "string",
        "Whether the node is ready, and whether scheduling on it is disabled.",
    ),
    col(
        "Roles",
        "string",
        "The node's roles, from its node-role.kubernetes.io/ labels.",
    ),
    AGE,
    col("Version", "string", "The kubelet version the node reports."),
    wide(
        "Internal-IP",
        "string",
        "The node's first InternalIP address.",
    ),
    wide(
        "External-IP",
        "string",
        "The node's first ExternalIP address.",
    ),
    wide(
        "OS-Image",
        "string",
        "The OS image the node reports (from /etc/os-release).",
    ),
    wide(
        "Kernel-Version",
        "string",
        "The kernel version the node reports (uname -r).",
    ),
    wide(
        "Container-Runtime",
        "string",
        "The container runtime and version the node reports.",
    ),
];

const ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const ROLE_LABEL: &str = "kubernetes.io/role";

/// Roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role`
/// labels, sorted and without duplicates.
pub(crate) fn node_roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    if let Some(l) = map(node, "/metadata/labels") {
        for (k, v) in l {
            let role = match k.strip_prefix(ROLE_PREFIX) {
                Some(r) => r,
                None if k == ROLE_LABEL => v.as_str().unwrap_or(""),
                None => "",
            };
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

fn node_address(node: &Value, type_: &str) -> String {
    arr(node, "/status/addresses")
        .iter()
        .find(|a| s(a, "/type") == type_)
        .map(|a| s(a, "/address").to_string())
        .unwrap_or_else(|| "<none>".to_string())
}

fn node_cells(row: &Row) -> Vec<Value> {
    let node = row.obj;
    let mut status: Vec<&str> = Vec::new();
    // Only the Ready condition counts; the last one of that type wins.
    if let Some(c) = arr(node, "/status/conditions")
        .iter()
        .rev()
        .find(|c| s(c, "/type") == "Ready")
    {
        status.push(if s(c, "/status") == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    }
    if status.is_empty() {
        status.push("Unknown");
    }
    if b(node, "/spec/unschedulable") {
        status.push("SchedulingDisabled");
    }
    let roles = node_roles(node).join(",");
    let info = |field: &str| or(s(node, &format!("/status/nodeInfo/{field}")), "<unknown>");
    vec![
        row.name(),
        json!(status.join(",")),
        json!(or(&roles, "<none>")),
        row.age(),
        json!(s(node, "/status/nodeInfo/kubeletVersion")),
        json!(node_address(node, "InternalIP")),
        json!(node_address(node, "ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

// ---- pod templates, replication controllers ----

const PODTEMPLATE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Containers",
        "string",
        "Names of each container in the template.",
    ),
    col(
        "Images",
        "string",
        "Images referenced by each container in the template.",
    ),
    col("Pod Labels", "string", "The labels of the pod template."),
];

fn podtemplate_cells(row: &Row) -> Vec<Value> {
    let template = &row.obj["template"];
    let (names, images) = containers(arr(template, "/spec/containers"));
    vec![
        row.name(),
        json!(names),
        json!(images),
        json!(labels(template.pointer("/metadata/labels"))),
    ]
}

const RC_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "How many pods the controller should run.",
    ),
    col(
        "Current",
        "integer",
        "How many pods the controller runs now.",
    ),
    col("Ready", "integer", "How many of its pods are ready."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "The labels of the pods the controller manages.",
    ),
];

fn rc_cells(row: &Row) -> Vec<Value> {
    let rc = row.obj;
    let (names, images) = containers(arr(rc, "/spec/template/spec/containers"));
    vec![
        row.name(),
        json!(i(rc, "/spec/replicas")),
        json!(i(rc, "/status/replicas")),
        json!(i(rc, "/status/readyReplicas")),
        row.age(),
        json!(names),
        json!(images),
        json!(labels(rc.pointer("/spec/selector"))),
    ]
}
