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

    // kubectl 1.34 and later name the namespace in this line.
    let deleted = s.ok(&k, &["delete", "cm", "settings"]);
    assert!(
        [
            "configmap \"settings\" deleted",
            "configmap \"settings\" deleted from default namespace"
        ]
        .contains(&deleted.trim()),
        "{deleted}"
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
    // A URL longer than HTTP/1.1 request lines may be gets 414.
    let long = format!("{}/api/v1/namespaces?x={}", s.url(), "a".repeat(70_000));
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--http1.1",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &long,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "414");
    // The server is still up after all of that.
    let (code, _) = s.curl("GET", "/api/v1/namespaces", None, "application/json");
    assert_eq!(code, 200);
}

#[test]
fn generator_commands_send_protobuf_and_it_decodes() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    assert_eq!(
        s.ok(&k, &["create", "namespace", "team-a"]).trim(),
        "namespace/team-a created"
    );
    let ns: Value =
        serde_json::from_str(&s.ok(&k, &["get", "ns", "team-a", "-o", "json"])).unwrap();
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["spec"]["finalizers"][0], "kubernetes");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );

    assert_eq!(
        s.ok(
            &k,
            &[
                "create",
                "deployment",
                "nginx",
                "--image=nginx:1",
                "-n",
                "team-a"
            ]
        )
        .trim(),
        "deployment.apps/nginx created"
    );
    let d: Value = serde_json::from_str(&s.ok(
        &k,
        &[
            "get",
            "deploy",
            "nginx",
            "-n",
            "team-a",
            "-o",
            "json",
            "--show-managed-fields",
        ],
    ))
    .unwrap();
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["metadata"]["generation"], 1);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    // The deployment controller's status write may land in the same second;
    // entries are ordered by operation, time, then manager, as upstream's.
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kubectl-create"), "{managers:?}");

    s.ok(
        &k,
        &[
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=user=admin",
        ],
    );
    assert_eq!(
        s.ok(
            &k,
            &["get", "secret", "creds", "-o", "jsonpath={.data.user}"]
        ),
        "YWRtaW4="
    );
    assert_eq!(
        s.ok(&k, &["get", "secret", "creds", "-o", "jsonpath={.type}"]),
        "Opaque"
    );

    s.ok(
        &k,
        &["create", "service", "clusterip", "web", "--tcp=80:8080"],
    );
    let svc: Value = serde_json::from_str(&s.ok(&k, &["get", "svc", "web", "-o", "json"])).unwrap();
    let ip = svc["spec"]["clusterIP"].as_str().unwrap();
    // Inside the default 10.96.0.0/12 (10.96.0.0 - 10.111.255.255).
    let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
    assert!(octets[0] == 10 && (96..=111).contains(&octets[1]), "{ip}");
    assert_ne!(ip, "10.96.0.1");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    let table = s.ok(&k, &["get", "svc", "web"]);
    assert!(table.contains("80/TCP"), "{table}");

    // Deleting in a namespace that is terminating is refused, as upstream.
    s.ok(&k, &["delete", "namespace", "team-a", "--wait=false"]);
    let out = s.kubectl(&k, &["create", "configmap", "late", "-n", "team-a"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("because it is being terminated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn explain_and_validation_read_the_served_openapi() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    let out = s.ok(&k, &["explain", "deployment.spec.strategy"]);
    assert!(out.contains("KIND:       Deployment"), "{out}");
    assert!(out.contains("rollingUpdate"), "{out}");
    // kubectl's default strict validation looks up fieldValidation in the
    // v3 document and then sends the create.
    let good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checked\ndata:\n  a: b\n";
    let out = s.kubectl_stdin(&k, &["create", "-f", "-"], Some(good));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn watch_streams_changes_to_kubectl() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start();
    let child = std::process::Command::new(&k)
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args(["get", "configmaps", "-w", "--request-timeout=8s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.ok(
        &k,
        &["create", "configmap", "watched", "--from-literal=a=b"],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    s.ok(&k, &["delete", "configmap", "watched"]);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("watched")).collect();
    assert!(
        lines.len() >= 2,
        "expected the create and the delete, got:\n{text}"
    );
    assert!(text.lines().next().unwrap().starts_with("NAME"), "{text}");
}
