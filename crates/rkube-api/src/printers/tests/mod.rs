use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::*;

mod pods;
use crate::catalogue::{RESOURCES, lookup};

pub(super) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-08-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A timestamp `secs` seconds before `now()`.
pub(super) fn ago(secs: i64) -> String {
    (now() - TimeDelta::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub(super) fn row(group: &str, version: &str, plural: &str, obj: &Value) -> Vec<Value> {
    let def = lookup(group, version, plural).expect("in catalogue");
    let cells = cells(def, obj, now());
    assert_eq!(
        cells.len(),
        columns(def).len(),
        "{plural}: one cell per column"
    );
    cells
}

pub(super) fn names(group: &str, plural: &str) -> Vec<&'static str> {
    let def = RESOURCES
        .iter()
        .find(|d| d.group == group && d.plural == plural)
        .unwrap();
    columns(def).iter().map(|c| c.name).collect()
}

#[test]
fn ages_read_like_kubectl() {
    let cases: &[(i64, &str)] = &[
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (399, "6m39s"),
        (599, "9m59s"),
        (600, "10m"),
        (151 * 60 + 30, "151m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600 + 59 * 60, "8h"),
        (22 * 3600 + 1, "22h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (730 * 86400, "2y"),
        (760 * 86400, "2y30d"),
        (9 * 365 * 86400, "9y"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_duration(TimeDelta::seconds(*secs)), *want, "{secs}s");
    }
    // Sub-second parts do not round up.
    assert_eq!(human_duration(TimeDelta::milliseconds(1999)), "1s");
    assert_eq!(human_duration(TimeDelta::milliseconds(-1500)), "0s");
    let r = Row {
        obj: &Value::Null,
        now: now(),
    };
    assert_eq!(r.since(""), "<unknown>");
    assert_eq!(r.since(&ago(90)), "90s");
    assert_eq!(r.since("2026-08-01T11:59:30.123456Z"), "29s");
}

#[test]
fn deployments() {
    assert_eq!(
        names("apps", "deployments"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let d = json!({
        "metadata": {"name": "web", "creationTimestamp": ago(45)},
        "spec": {"replicas": 3,
            "selector": {"matchLabels": {"tier": "front", "app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "canary"]},
                                     {"key": "legacy", "operator": "DoesNotExist"}]},
            "template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    });
    let c = row("apps", "v1", "deployments", &d);
    assert_eq!(
        c,
        [
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("45s"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web,env in (canary,prod),!legacy,tier=front")
        ]
    );
    // An empty selector prints as nothing for deployments, <none> elsewhere.
    let bare = json!({"metadata": {"name": "x"}, "spec": {"selector": {}}});
    assert_eq!(row("apps", "v1", "deployments", &bare)[7], "");
    assert_eq!(row("apps", "v1", "replicasets", &bare)[7], "<none>");
    let bad = json!({"metadata": {"name": "x"}, "spec": {"selector": {"matchExpressions": [
        {"key": "a", "operator": "In", "values": []}]}}});
    assert_eq!(row("apps", "v1", "deployments", &bad)[7], "<invalid>");
    assert_eq!(row("apps", "v1", "replicasets", &bad)[7], "<error>");
}

fn service(spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "svc", "creationTimestamp": ago(7200)}, "spec": spec, "status": status})
}

#[test]
fn services() {
    assert_eq!(
        names("", "services"),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    let s = service(
        json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            "selector": {"k8s-app": "kube-dns"}}),
        json!({}),
    );
    assert_eq!(
        row("", "v1", "services", &s),
        [
            "svc",
            "ClusterIP",
            "10.96.0.10",
            "<none>",
            "53/UDP,53/TCP",
            "120m",
            "k8s-app=kube-dns"
        ]
    );
    let s = service(
        json!({"type": "NodePort", "clusterIPs": ["10.96.1.1"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
        json!({}),
    );
    let c = row("", "v1", "services", &s);
    assert_eq!(
        (c[4].as_str().unwrap(), c[6].as_str().unwrap()),
        ("80:30080/TCP", "<none>")
    );
    let lb = service(
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.1.2"], "ports": []}),
        json!({}),
    );
    let c = row("", "v1", "services", &lb);
    assert_eq!(
        (c[3].as_str().unwrap(), c[4].as_str().unwrap()),
        ("<pending>", "<none>")
    );
    let lb = service(
        json!({"type": "LoadBalancer", "externalIPs": ["198.51.100.9"], "ports": [{"port": 443, "protocol": "TCP"}]}),
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.7"}]}}),
    );
    assert_eq!(
        row("", "v1", "services", &lb)[3],
        "203.0.113.7,lb.example.com,198.51.100.9"
    );
    let en = service(
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
        json!({}),
    );
    let c = row("", "v1", "services", &en);
    assert_eq!(
        (c[2].as_str().unwrap(), c[3].as_str().unwrap()),
        ("<none>", "db.example.com")
    );
    let headless = service(json!({"type": "ClusterIP", "clusterIP": "None"}), json!({}));
    assert_eq!(row("", "v1", "services", &headless)[2], "None");
}

#[test]
fn simple_core_tables() {
    let ns = json!({"metadata": {"name": "default", "creationTimestamp": ago(60)}, "status": {"phase": "Active"}});
    assert_eq!(
        row("", "v1", "namespaces", &ns),
        ["default", "Active", "60s"]
    );
    let cm = json!({"metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(
        row("", "v1", "configmaps", &cm),
        [json!("cfg"), json!(3), json!("<unknown>")]
    );
    let secret = json!({"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
    assert_eq!(
        row("", "v1", "secrets", &secret)[1..3],
        [json!("kubernetes.io/tls"), json!(2)]
    );
    let sa = json!({"metadata": {"name": "default"}});
    assert_eq!(row("", "v1", "serviceaccounts", &sa)[1], json!(0));
    let ep = json!({"metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
        "ports": [{"port": 80}, {"port": 443}]}]});
    assert_eq!(
        row("", "v1", "endpoints", &ep)[1],
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."
    );
    assert_eq!(
        row("", "v1", "endpoints", &json!({"metadata": {"name": "x"}}))[1],
        "<none>"
    );
}

#[test]
fn events_in_both_groups() {
    let core = json!({
        "metadata": {"name": "web.17f", "creationTimestamp": ago(600)},
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "Pulled", "message": "  Pulled image  ", "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 4,
    });
    assert_eq!(
        row("", "v1", "events", &core),
        [
            json!("30s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Pulled image"),
            json!("10m"),
            json!(4),
            json!("web.17f")
        ]
    );
    let v1 = json!({
        "metadata": {"name": "web.18a"}, "regarding": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet", "note": "Scaled up", "type": "Normal",
        "eventTime": "2026-08-01T11:59:00.000000Z", "reportingController": "deployment-controller",
    });
    let c = row("events.k8s.io", "v1", "events", &v1);
    assert_eq!(
        &c[..4],
        ["60s", "Normal", "ScalingReplicaSet", "deployment/web"]
    );
    assert_eq!(
        &c[5..9],
        [
            json!("deployment-controller"),
            json!("Scaled up"),
            json!("60s"),
            json!(1)
        ]
    );
}

#[test]
fn default_table_for_resources_without_printer() {
    let def = lookup("rbac.authorization.k8s.io", "v1", "roles").unwrap();
    let cols = columns(def);
    assert_eq!(cols.len(), 2);
    assert_eq!(
        (cols[0].name, cols[0].type_, cols[0].format),
        ("Name", "string", "name")
    );
    assert_eq!(
        (cols[1].name, cols[1].type_, cols[1].format),
        ("Created At", "date", "")
    );
    let role = json!({"metadata": {"name": "reader", "creationTimestamp": "2026-07-01T10:00:00Z"}});
    assert_eq!(cells(def, &role, now()), ["reader", "2026-07-01T10:00:00Z"]);
    assert_eq!(
        cells(def, &json!({"metadata": {"name": "x"}}), now())[1],
        Value::Null
    );
}

#[test]
fn every_printer_is_a_served_resource_with_one_cell_per_column() {
    for p in all_printers() {
        let def = RESOURCES
            .iter()
            .find(|d| d.group == p.group && d.plural == p.plural)
            .unwrap_or_else(|| panic!("{}/{} is not in the catalogue", p.group, p.plural));
        assert_eq!(
            all_printers()
                .filter(|q| q.group == p.group && q.plural == p.plural)
                .count(),
            1,
            "{}: one printer per resource",
            def.qualified_name()
        );
        for obj in [
            json!({}),
            json!({"metadata": {"name": "x", "creationTimestamp": ago(1)}, "spec": {}, "status": {}}),
        ] {
            assert_eq!(
                cells(def, &obj, now()).len(),
                p.columns.len(),
                "{}",
                def.qualified_name()
            );
        }
        for c in p.columns {
            assert!(
                ["string", "integer", "boolean", "date", "number"].contains(&c.type_),
                "{}",
                c.name
            );
            assert!(
                !c.description.is_empty(),
                "{}: {}",
                def.qualified_name(),
                c.name
            );
        }
        assert!(
            p.columns.iter().any(|c| c.name == "Name"),
            "{}",
            def.qualified_name()
        );
    }
}

#[test]
fn other_tables() {
    let job = json!({"metadata": {"name": "pi"}, "spec": {"completions": 1, "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
        "status": {"succeeded": 1, "startTime": ago(100), "completionTime": ago(40),
            "conditions": [{"type": "Complete", "status": "True"}]}});
    assert_eq!(
        row("batch", "v1", "jobs", &job)[1..4],
        ["Complete", "1/1", "60s"]
    );
    let hpa = json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 50}}}]},
        "status": {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}});
    assert_eq!(
        row("autoscaling", "v2", "horizontalpodautoscalers", &hpa)[1..6],
        [
            json!("Deployment/web"),
            json!("cpu: 12%/50%"),
            json!("1"),
            json!(10),
            json!(2)
        ]
    );
    let v1 = json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "maxReplicas": 4, "targetCPUUtilizationPercentage": 80}, "status": {"currentReplicas": 1}});
    assert_eq!(
        row("autoscaling", "v1", "horizontalpodautoscalers", &v1)[2..4],
        ["cpu: <unknown>/80%", "<unset>"]
    );
    let sc = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
    assert_eq!(
        row("storage.k8s.io", "v1", "storageclasses", &sc)[..5],
        [
            json!("standard (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("WaitForFirstConsumer"),
            json!(false)
        ]
    );
    let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"}]});
    let c = row("rbac.authorization.k8s.io", "v1", "rolebindings", &rb);
    assert_eq!(
        (
            c[1].as_str().unwrap(),
            c[3].as_str().unwrap(),
            c[5].as_str().unwrap()
        ),
        ("ClusterRole/view", "alice", "ci/bot")
    );
    let lease =
        json!({"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": "node-1_abc"}});
    assert_eq!(
        row("coordination.k8s.io", "v1", "leases", &lease)[1],
        "node-1_abc"
    );
    let crd = json!({"metadata": {"name": "foos.example.com", "creationTimestamp": "2026-07-01T10:00:00Z"},
        "spec": {"group": "example.com", "scope": "Namespaced", "versions": [
            {"name": "v1", "served": true}, {"name": "v1beta1", "served": true}, {"name": "v1alpha1", "served": false}]}});
    assert_eq!(
        row(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            &crd
        ),
        [
            "foos.example.com",
            "example.com",
            "Namespaced",
            "v1,v1beta1",
            "2026-07-01T10:00:00Z"
        ]
    );
}
