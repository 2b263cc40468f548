//! Pods and nodes.

use serde_json::{Value, json};

use super::{ago, names, row};
use crate::catalogue::lookup;
use crate::printers::columns;

fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "creationTimestamp": ago(300)},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
        "status": status,
    })
}

fn pod_status(p: &Value) -> (String, String, String) {
    let c = row("", "v1", "pods", p);
    (
        c[1].as_str().unwrap().to_string(),
        c[2].as_str().unwrap().to_string(),
        c[3].as_str().unwrap().to_string(),
    )
}

#[test]
fn pod_columns() {
    assert_eq!(
        names("", "pods"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let def = lookup("", "v1", "pods").unwrap();
    let cols = columns(def);
    assert_eq!((cols[0].format, cols[0].type_), ("name", "string"));
    assert!(cols[..5].iter().all(|c| c.priority == 0));
    assert!(cols[5..].iter().all(|c| c.priority == 1));
}

#[test]
fn pod_pending_and_creating() {
    let p = pod(json!({"phase": "Pending"}));
    assert_eq!(pod_status(&p), ("0/1".into(), "Pending".into(), "0".into()));
    let c = row("", "v1", "pods", &p);
    assert_eq!(c[0], "web");
    assert_eq!(c[4], "5m");
    assert_eq!(&c[5..], ["<none>", "<none>", "<none>", "<none>"]);

    let p = pod(json!({"phase": "Pending", "containerStatuses": [
        {"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
    ]}));
    assert_eq!(pod_status(&p).1, "ContainerCreating");

    let p = pod(json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
    ]}));
    assert_eq!(pod_status(&p).1, "SchedulingGated");
}

#[test]
fn pod_running_and_terminating() {
    let status = json!({
        "phase": "Running",
        "podIP": "10.0.0.5",
        "podIPs": [{"ip": "10.0.0.5"}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
            "state": {"running": {"startedAt": ago(200)}}}],
    });
    let mut p = pod(status);
    p["spec"]["nodeName"] = json!("node-1");
    assert_eq!(pod_status(&p), ("1/1".into(), "Running".into(), "0".into()));
    let c = row("", "v1", "pods", &p);
    assert_eq!(&c[5..7], ["10.0.0.5", "node-1"]);

    p["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(pod_status(&p).1, "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(pod_status(&p).1, "Unknown");
}

#[test]
fn pod_completed_failed_evicted() {
    let p = pod(
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "ready": false,
        "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    assert_eq!(
        pod_status(&p),
        ("0/1".into(), "Completed".into(), "0".into())
    );
    // A finished pod being deleted keeps its final status.
    let mut deleted = p.clone();
    deleted["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(pod_status(&deleted).1, "Completed");

    let p = pod(
        json!({"phase": "Failed", "containerStatuses": [{"name": "app",
        "state": {"terminated": {"exitCode": 137}}}]}),
    );
    assert_eq!(pod_status(&p).1, "ExitCode:137");
    let p = pod(
        json!({"phase": "Failed", "containerStatuses": [{"name": "app",
        "state": {"terminated": {"exitCode": 0, "signal": 9}}}]}),
    );
    assert_eq!(pod_status(&p).1, "Signal:9");
    let p = pod(json!({"phase": "Failed", "reason": "Evicted"}));
    assert_eq!(pod_status(&p).1, "Evicted");
}

#[test]
fn pod_crashloop_with_restarts() {
    let p = pod(
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": false,
        "restartCount": 5,
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(330)}},
        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
    );
    assert_eq!(
        pod_status(&p),
        (
            "0/1".into(),
            "CrashLoopBackOff".into(),
            "5 (5m30s ago)".into()
        )
    );
    // Restarts without a known last termination: the count alone.
    let p = pod(
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": true,
        "restartCount": 2, "state": {"running": {}}}]}),
    );
    assert_eq!(pod_status(&p).2, "2");
}

#[test]
fn pod_init_containers() {
    let mut p = pod(json!({"phase": "Pending",
        "initContainerStatuses": [
            {"name": "init-a", "state": {"waiting": {"reason": "PodInitializing"}}},
            {"name": "init-b", "state": {"waiting": {"reason": "PodInitializing"}}},
        ],
        "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}]}));
    p["spec"]["initContainers"] = json!([{"name": "init-a"}, {"name": "init-b"}]);
    assert_eq!(pod_status(&p).1, "Init:0/2");

    p["status"]["initContainerStatuses"][0]["state"] =
        json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
    p["status"]["initContainerStatuses"][1]["state"] = json!({"running": {}});
    assert_eq!(pod_status(&p).1, "Init:1/2");

    p["status"]["initContainerStatuses"][1]["state"] =
        json!({"waiting": {"reason": "CrashLoopBackOff"}});
    p["status"]["initContainerStatuses"][1]["restartCount"] = json!(3);
    assert_eq!(
        pod_status(&p),
        ("0/1".into(), "Init:CrashLoopBackOff".into(), "3".into())
    );

    p["status"]["initContainerStatuses"][1]["state"] =
        json!({"terminated": {"exitCode": 2, "reason": "Error"}});
    assert_eq!(pod_status(&p).1, "Init:Error");
    p["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 2}});
    assert_eq!(pod_status(&p).1, "Init:ExitCode:2");
}

#[test]
fn pod_sidecars_and_completed_with_running() {
    // A started, ready sidecar counts toward READY and the total.
    let mut p = pod(json!({"phase": "Running",
        "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true,
            "restartCount": 1, "state": {"running": {}}}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}],
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]}));
    p["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
    assert_eq!(pod_status(&p), ("2/2".into(), "Running".into(), "1".into()));

    // One container completed, another still runs: Running when the pod
    // is ready, NotReady otherwise.
    let mut p = pod(json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "state": {"running": {}}},
        {"name": "job", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
    ], "conditions": [{"type": "Ready", "status": "True"}]}));
    p["spec"]["containers"] = json!([{"name": "app"}, {"name": "job"}]);
    assert_eq!(pod_status(&p), ("1/2".into(), "Running".into(), "0".into()));
    p["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
    assert_eq!(pod_status(&p).1, "NotReady");
}

#[test]
fn pod_wide_cells() {
    let mut p = pod(
        json!({"phase": "Pending", "podIPs": [{"ip": "fd00::5"}, {"ip": "10.0.0.5"}],
        "nominatedNodeName": "node-2",
        "conditions": [{"type": "example.com/gate", "status": "True"}]}),
    );
    p["spec"]["readinessGates"] =
        json!([{"conditionType": "example.com/gate"}, {"conditionType": "other"}]);
    let c = row("", "v1", "pods", &p);
    assert_eq!(&c[5..], ["fd00::5", "<none>", "node-2", "1/2"]);
}

fn node(labels: Value, conditions: Value, unschedulable: bool) -> Value {
    json!({
        "metadata": {"name": "node-1", "creationTimestamp": ago(86400 * 3), "labels": labels},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": conditions,
            "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
            "nodeInfo": {"kubeletVersion": "v1.37.0", "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://2.0.0"},
        },
    })
}

#[test]
fn nodes() {
    assert_eq!(
        names("", "nodes"),
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "Internal-IP",
            "External-IP",
            "OS-Image",
            "Kernel-Version",
            "Container-Runtime"
        ]
    );
    let ready =
        json!([{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]);
    let n = node(
        json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "infra"}),
        ready.clone(),
        false,
    );
    let c = row("", "v1", "nodes", &n);
    assert_eq!(
        c,
        [
            "node-1",
            "Ready",
            "control-plane,infra,worker",
            "3d",
            "v1.37.0",
            "10.0.0.1",
            "<none>",
            "<unknown>",
            "6.8.0",
            "containerd://2.0.0"
        ]
    );
    let c = row("", "v1", "nodes", &node(json!({}), ready, true));
    assert_eq!(
        (c[1].as_str().unwrap(), c[2].as_str().unwrap()),
        ("Ready,SchedulingDisabled", "<none>")
    );
    let c = row(
        "",
        "v1",
        "nodes",
        &node(
            json!({}),
            json!([{"type": "Ready", "status": "Unknown"}]),
            false,
        ),
    );
    assert_eq!(c[1], "NotReady");
    let c = row("", "v1", "nodes", &node(json!({}), json!([]), true));
    assert_eq!(c[1], "Unknown,SchedulingDisabled");
}
