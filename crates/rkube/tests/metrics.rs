//! The resource metrics API rkube serves itself (metrics.k8s.io/v1beta1),
//! through the real kubectl (`kubectl top`) and curl, and the errors of
//! `kubectl logs` and `kubectl exec` on simulated pods.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestServer, kubectl_path};
use serde_json::Value;

const WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: app
        image: nginx:1.27
        resources:
          requests:
            cpu: 200m
            memory: 128Mi
      - name: sidecar
        image: busybox
        resources:
          requests:
            cpu: 50m
            memory: 32Mi
";

/// A pod no node accepts: it stays Pending.
const STUCK: &str = "apiVersion: v1
kind: Pod
metadata:
  name: stuck
spec:
  nodeSelector:
    nowhere: \"true\"
  containers:
  - name: app
    image: nginx
";

fn apply(s: &TestServer, k: &Path, manifest: &str) {
    let out = s.kubectl_stdin(k, &["apply", "-f", "-"], Some(manifest));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Names of the Running pods with `app=web`, once there are `n`.
fn running_web_pods(s: &TestServer, k: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = s.ok(k, &["get", "pods", "-l", "app=web", "-o", "json"]);
        let list: Value = serde_json::from_str(&out).unwrap();
        let mut names: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        if names.len() == n {
            names.sort();
            return names;
        }
        assert!(Instant::now() < deadline, "pods not running:\n{out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Rows of a kubectl table, split on whitespace, header first.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn row<'a>(table: &'a [Vec<String>], name: &str) -> &'a [String] {
    table
        .iter()
        .find(|r| r.first().is_some_and(|c| c == name))
        .unwrap_or_else(|| panic!("no row {name} in {table:?}"))
}

fn failed(s: &TestServer, k: &Path, args: &[&str]) -> String {
    let out = s.kubectl(k, args);
    assert!(!out.status.success(), "kubectl {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn kubectl_top_reads_annotations_and_defaults() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), &["--nodes", "1"]);
    apply(&s, &k, WEB);
    let pods = running_web_pods(&s, &k, 2);
    let (a, b) = (&pods[0], &pods[1]);

    // Defaults: half of each container's request.
    let top = rows(&s.ok(&k, &["top", "pods"]));
    assert_eq!(top[0], ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    assert_eq!(row(&top, a)[1..], ["125m", "80Mi"]);

    // The annotations set the pod's usage, split by request (4:1).
    s.ok(
        &k,
        &[
            "annotate",
            "pod",
            a,
            "metrics.rkube.io/cpu=1",
            "metrics.rkube.io/memory=1000Mi",
        ],
    );
    let top = rows(&s.ok(&k, &["top", "pod", a]));
    assert_eq!(row(&top, a)[1..], ["1000m", "1000Mi"]);
    let containers = rows(&s.ok(&k, &["top", "pods", "--containers"]));
    assert_eq!(
        containers[0],
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    );
    let mine: Vec<&Vec<String>> = containers.iter().filter(|r| &r[0] == a).collect();
    assert_eq!(mine[0][1..], ["app", "800m", "800Mi"]);
    assert_eq!(mine[1][1..], ["sidecar", "200m", "200Mi"]);

    // Label selectors reach the metrics API.
    let selected = rows(&s.ok(&k, &["top", "pods", "-l", "app=web"]));
    assert_eq!(selected.len(), 3, "{selected:?}");
    let none = s.kubectl(&k, &["top", "pods", "-l", "app=none"]);
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("No resources found"),
        "{none:?}"
    );

    // Nodes: 100m + 512Mi of their own plus their pods'. The control-plane
    // node runs nothing (NoSchedule).
    let nodes = rows(&s.ok(&k, &["top", "nodes"]));
    assert_eq!(
        nodes[0],
        ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    );
    assert_eq!(row(&nodes, "rkube-control-plane")[1], "100m");
    let worker = row(&nodes, "rkube-worker1");
    assert_eq!(worker[1], "1225m", "{worker:?}");
    assert_eq!(worker[3], "1592Mi", "{worker:?}");
    assert!(worker[2].ends_with('%') && worker[4].ends_with('%'));
    let _ = b;
}

#[test]
fn metrics_api_over_http() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), &["--nodes", "1"]);
    apply(&s, &k, WEB);
    apply(&s, &k, STUCK);
    let pods = running_web_pods(&s, &k, 2);
    let base = "/apis/metrics.k8s.io/v1beta1";

    let (code, body) = s.curl(
        "GET",
        &format!("{base}/namespaces/default/pods/{}", pods[0]),
        None,
        "application/json",
    );
    assert_eq!(code, 200, "{body}");
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["kind"], "PodMetrics");
    assert_eq!(m["metadata"]["labels"]["app"], "web");
    assert_eq!(m["window"], "10s");
    assert_eq!(m["containers"][0]["usage"]["cpu"], "100m");
    assert_eq!(m["containers"][0]["usage"]["memory"], "65536Ki");

    // Lists: namespaced and across namespaces, with a field selector.
    let (code, body) = s.curl(
        "GET",
        &format!(
            "{base}/namespaces/default/pods?fieldSelector=metadata.name%3D{}",
            pods[1]
        ),
        None,
        "application/json",
    );
    assert_eq!(code, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["kind"], "PodMetricsList");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["metadata"]["name"], pods[1].as_str());
    let (_, body) = s.curl("GET", &format!("{base}/pods"), None, "application/json");
    let all: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metadata"]["namespace"] == "default")
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [pods[0].as_str(), pods[1].as_str()],
        "stuck is Pending"
    );

    // Not running: metrics-server's NotFound; no such pod: the pods' own.
    let (code, body) = s.curl(
        "GET",
        &format!("{base}/namespaces/default/pods/stuck"),
        None,
        "application/json",
    );
    assert_eq!(code, 404);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        st["message"],
        "podmetrics.metrics.k8s.io \"default/stuck\" not found"
    );
    let (code, body) = s.curl(
        "GET",
        &format!("{base}/namespaces/default/pods/nope"),
        None,
        "application/json",
    );
    assert_eq!(code, 404);
    assert!(body.contains("pods \\\"nope\\\" not found"), "{body}");

    // Nodes, and no watch.
    let (code, body) = s.curl(
        "GET",
        &format!("{base}/nodes/rkube-worker1"),
        None,
        "application/json",
    );
    assert_eq!(code, 200, "{body}");
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(n["kind"], "NodeMetrics");
    assert_eq!(n["usage"]["cpu"], "350m");
    let (code, _) = s.curl(
        "GET",
        &format!("{base}/pods?watch=true"),
        None,
        "application/json",
    );
    assert_eq!(code, 405);

    // Discovery lists the group as metrics-server's registration does.
    let (_, body) = s.curl("GET", base, None, "application/json");
    let rl: Value = serde_json::from_str(&body).unwrap();
    let kinds: Vec<(&str, &str, bool)> = rl["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["kind"].as_str().unwrap(),
                r["namespaced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("nodes", "NodeMetrics", false),
            ("pods", "PodMetrics", true)
        ]
    );
    let ar = rows(&s.ok(&k, &["api-resources", "--api-group=metrics.k8s.io"]));
    assert_eq!(ar.len(), 3, "{ar:?}");
    assert_eq!(
        row(&ar, "pods")[1..],
        ["metrics.k8s.io/v1beta1", "true", "PodMetrics"]
    );
}

#[test]
fn logs_and_exec_say_the_pod_is_simulated() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), &["--nodes", "1"]);
    apply(&s, &k, WEB);
    let pod = running_web_pods(&s, &k, 2)[0].clone();

    let err = failed(&s, &k, &["logs", &pod, "-c", "app"]);
    assert_eq!(
        err.trim(),
        format!(
            "Error from server (BadRequest): pod \"{pod}\" is simulated by rkube and has no containers to read logs from"
        )
    );
    let err = failed(&s, &k, &["exec", &pod, "-c", "app", "--", "ls"]);
    assert!(
        err.contains(&format!(
            "pod \"{pod}\" is simulated by rkube and has no containers to run commands in"
        )),
        "{err}"
    );
    let err = failed(&s, &k, &["logs", "nope"]);
    assert!(err.contains("pods \"nope\" not found"), "{err}");

    // The API itself: 404 for a missing pod, 400 otherwise, and a bad
    // container named as upstream names it.
    let path = "/api/v1/namespaces/default/pods";
    let (code, _) = s.curl("GET", &format!("{path}/nope/log"), None, "application/json");
    assert_eq!(code, 404);
    let (code, body) = s.curl(
        "GET",
        &format!("{path}/{pod}/log?container=bad"),
        None,
        "application/json",
    );
    assert_eq!(code, 400);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        st["message"],
        format!("container bad is not valid for pod {pod}")
    );
    for (method, sub, what) in [
        ("POST", "exec?command=ls", "run commands in"),
        ("POST", "attach", "attach to"),
        ("POST", "portforward", "forward ports to"),
    ] {
        let (code, body) = s.curl(
            method,
            &format!("{path}/{pod}/{sub}"),
            None,
            "application/json",
        );
        assert_eq!(code, 400, "{sub}: {body}");
        let st: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(st["reason"], "BadRequest");
        assert!(st["message"].as_str().unwrap().ends_with(what), "{body}");
    }

    // The subresources are in discovery, as upstream lists them.
    let (_, body) = s.curl("GET", "/api/v1", None, "application/json");
    let rl: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = rl["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for sub in ["pods/log", "pods/exec", "pods/attach", "pods/portforward"] {
        assert!(names.contains(&sub), "{sub} missing");
    }
}
