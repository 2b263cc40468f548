//! The real kubectl against a real `rkube server`: reads and writes on the
//! resources users touch first, every output format, and bad input.

mod common;

use common::{TestServer, kubectl_path};
use serde_json::Value;

#[test]
fn namespaces_exist_from_the_first_start() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    let out = s.ok(&k, &["get", "namespaces"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "AGE"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        let row = rows
            .iter()
            .find(|r| r[0] == ns)
            .unwrap_or_else(|| panic!("{ns} missing:\n{out}"));
        assert_eq!(row[1], "Active");
    }
    let svc = s.ok(&k, &["get", "service", "kubernetes", "-o", "json"]);
    let svc: Value = serde_json::from_str(&svc).unwrap();
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.1");
    assert_eq!(svc["spec"]["ports"][0]["port"], 443);
}

#[test]
fn configmap_lifecycle_with_every_output_format() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels:\n    app: web\ndata:\n  color: blue\n";
    let out = s.kubectl_stdin(&k, &["create", "-f", "-"], Some(manifest));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "configmap/settings created"
    );

    let table = s.ok(&k, &["get", "configmaps", "settings"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "DATA", "AGE"]);
    assert!(table.lines().nth(1).unwrap().starts_with("settings"));

    let json: Value =
        serde_json::from_str(&s.ok(&k, &["get", "cm", "settings", "-o", "json"])).unwrap();
    assert_eq!(json["data"]["color"], "blue");
    assert_eq!(json["metadata"]["namespace"], "default");
    assert!(json["metadata"]["uid"].as_str().unwrap().len() == 36);
    let rv: i64 = json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv > 0);

    let yaml = s.ok(&k, &["get", "cm", "settings", "-o", "yaml"]);
    assert!(yaml.contains("color: blue"), "{yaml}");
    assert_eq!(
        s.ok(&k, &["get", "cm", "-l", "app=web", "-o", "name"])
            .trim(),
        "configmap/settings"
    );
    assert_eq!(
        s.ok(&k, &["get", "cm", "-l", "app!=web", "-o", "name"])
            .trim(),
        ""
    );
    assert_eq!(
        s.ok(
            &k,
            &["get", "cm", "settings", "-o", "jsonpath={.data.color}"]
        ),
        "blue"
    );
    let cols = s.ok(
        &k,
        &[
            "get",
            "cm",
            "settings",
            "-o",
            "custom-columns=N:.metadata.name,C:.data.color",
        ],
    );
    assert_eq!(
        cols.lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["settings", "blue"]
    );

    // merge patch, then json patch, then replace
    s.ok(
        &k,
        &[
            "patch",
            "cm",
            "settings",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"size":"xl"}}"#,
        ],
    );
    s.ok(
        &k,
        &[
            "patch",
            "cm",
            "settings",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/data/color","value":"red"}]"#,
        ],
    );
    let json: Value =
        serde_json::from_str(&s.ok(&k, &["get", "cm", "settings", "-o", "json"])).unwrap();
    assert_eq!(json["data"]["color"], "red");
    assert_eq!(json["data"]["size"], "xl");
    let new_rv: i64 = json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(new_rv > rv);

    let mut edited = json.clone();
    edited["data"]["color"] = "green".into();
    let out = s.kubectl_stdin(&k, &["replace", "-f", "-"], Some(&edited.to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same stale resourceVersion again is a conflict.
    let out = s.kubectl_stdin(&k, &["replace", "-f", "-"], Some(&edited.to_string()));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the object has been modified"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        s.ok(&k, &["delete", "cm", "settings"]).trim(),
        "configmap \"settings\" deleted"
    );
    let out = s.kubectl(&k, &["get", "cm", "settings"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("configmaps \"settings\" not found"));
}

#[test]
fn client_dry_run_and_server_dry_run_store_nothing() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    let out = s.ok(
        &k,
        &[
            "create",
            "configmap",
            "dry",
            "--from-literal=a=b",
            "--dry-run=client",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["a"], "b");
    let out = s.kubectl(&k, &["get", "cm", "dry"]);
    assert!(!out.status.success());
}

#[test]
fn api_versions_and_resources_come_from_the_catalogue() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    let versions = s.ok(&k, &["api-versions"]);
    for gv in [
        "v1",
        "apps/v1",
        "autoscaling/v1",
        "autoscaling/v2",
        "batch/v1",
        "coordination.k8s.io/v1",
    ] {
        assert!(
            versions.lines().any(|l| l == gv),
            "{gv} missing from:\n{versions}"
        );
    }
    let resources = s.ok(&k, &["api-resources"]);
    let pods: Vec<&str> = resources
        .lines()
        .find(|l| l.starts_with("pods "))
        .expect("pods listed")
        .split_whitespace()
        .collect();
    assert_eq!(pods, ["pods", "po", "v1", "true", "Pod"]);
    let deploy: Vec<&str> = resources
        .lines()
        .find(|l| l.starts_with("deployments "))
        .expect("deployments listed")
        .split_whitespace()
        .collect();
    assert_eq!(
        deploy,
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
}

#[test]
fn bad_input_gets_upstream_status() {
    let Some(_) = kubectl_path() else { return };
    let s = TestServer::start();
    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("{not json"),
        "application/json",
    );
    assert_eq!(code, 400, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "BadRequest");

    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#),
        "application/json",
    );
    assert_eq!(code, 400, "{body}");

    let (code, body) = s.curl(
        "PUT",
        "/api/v1/namespaces/default/configmaps/one",
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"two"}}"#),
        "application/json",
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("does not match the name on the URL"),
        "{body}"
    );

    let (code, body) = s.curl(
        "GET",
        "/api/v1/namespaces/default/widgets",
        None,
        "application/json",
    );
    assert_eq!(code, 404, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["reason"], "NotFound");

    let (code, _) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("{}"),
        "text/plain",
    );
    assert_eq!(code, 415);

    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(3 * 1024 * 1024 + 10)
    );
    let path = s.data_dir().join("big.json");
    std::fs::write(&path, big).unwrap();
    let (code, _) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&format!("@{}", path.display())),
        "application/json",
    );
    assert_eq!(code, 413);

    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/missing/configmaps",
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#),
        "application/json",
    );
    assert_eq!(code, 404, "{body}");
    assert!(
        body.contains(r#"namespaces \"missing\" not found"#),
        "{body}"
    );

    // Unauthenticated requests are refused, health is public.
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/api", s.url()),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let out = std::process::Command::new("curl")
        .args(["-sk", &format!("{}/readyz", s.url())])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok");
    // The server is still up after all of that.
    let (code, _) = s.curl("GET", "/api/v1/namespaces", None, "application/json");
    assert_eq!(code, 200);
}
