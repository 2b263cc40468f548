//! The article (shared/seed/kubernetes-api-overview.txt), command by
//! command, with the real kubectl and curl against `rkube server` with
//! simulated nodes, checking what each command prints.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, kubectl_path};
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl").args(args).output().expect("curl");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_article_end_to_end() {
    let Some(k) = kubectl_path() else { return };
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), &["--nodes", "3"]);

    // kubectl api-versions
    let versions = s.ok(&k, &["api-versions"]);
    assert!(versions.lines().any(|l| l == "apps/v1"), "{versions}");

    // kubectl get nodes: a control plane and three workers, all Ready.
    let mut nodes = String::new();
    wait_until("four Ready nodes", Duration::from_secs(30), || {
        nodes = s.ok(&k, &["get", "nodes"]);
        nodes
            .lines()
            .skip(1)
            .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
            .count()
            == 4
    });
    let header: Vec<&str> = nodes.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    let control_plane = nodes
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some("control-plane"))
        .unwrap_or_else(|| panic!("no control-plane node:\n{nodes}"));
    assert!(control_plane.ends_with("v1.37.0"), "{control_plane}");
    assert_eq!(
        nodes.lines().filter(|l| l.contains("<none>")).count(),
        3,
        "{nodes}"
    );
    let cp_name = control_plane.split_whitespace().next().unwrap();
    let one = s.ok(&k, &["get", "node", cp_name]);
    assert_eq!(one.lines().count(), 2, "{one}");

    // kubectl api-resources
    assert!(
        s.ok(&k, &["api-resources"])
            .lines()
            .any(|l| l.starts_with("pods "))
    );

    // kubectl proxy --port=N &
    let proxy_port = free_port();
    let mut proxy = Command::new(&k)
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args(["proxy", &format!("--port={proxy_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(
        first.trim(),
        format!("Starting to serve on 127.0.0.1:{proxy_port}")
    );
    let proxied: Value = serde_json::from_str(&curl(&[
        "-s",
        &format!("http://localhost:{proxy_port}/api"),
    ]))
    .unwrap();
    assert_eq!(proxied["kind"], "APIVersions");

    // The cluster name and server from kubectl config view.
    let view = s.ok(
        &k,
        &["config", "view", "-o", r#"jsonpath={"Cluster name\tServer\n"}{range .clusters[*]}{.name}{"\t"}{.cluster.server}{"\n"}{end}"#],
    );
    assert_eq!(view, format!("Cluster name\tServer\nrkube\t{}\n", s.url()));
    let api = s.ok(
        &k,
        &[
            "config",
            "view",
            "-o",
            r#"jsonpath={.clusters[?(@.name=="rkube")].cluster.server}"#,
        ],
    );
    assert_eq!(api, s.url());

    // A service-account token secret, filled in by the token controller.
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: default-token\n  annotations:\n    kubernetes.io/service-account.name: default\ntype: kubernetes.io/service-account-token\n";
    let out = s.kubectl_stdin(&k, &["apply", "-f", "-"], Some(secret));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "secret/default-token created"
    );
    wait_until("the token controller", Duration::from_secs(10), || {
        s.ok(&k, &["describe", "secret", "default-token"])
            .lines()
            .any(|l| l.starts_with("token"))
    });
    let token_b64 = s.ok(
        &k,
        &[
            "get",
            "secret",
            "default-token",
            "-o",
            "jsonpath={.data.token}",
        ],
    );
    use base64::Engine;
    let token = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(token_b64)
            .unwrap(),
    )
    .unwrap();
    let body = curl(&[
        "-s",
        "-X",
        "GET",
        &format!("{api}/api"),
        "--header",
        &format!("Authorization: Bearer {token}"),
        "--insecure",
    ]);
    let versions: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(versions["kind"], "APIVersions");
    assert_eq!(
        versions["serverAddressByClientCIDRs"][0]["clientCIDR"],
        "0.0.0.0/0"
    );

    // create deployment, autoscale to five pods.
    assert_eq!(
        s.ok(&k, &["create", "deployment", "nginx", "--image=nginx:1"])
            .trim(),
        "deployment.apps/nginx created"
    );
    assert_eq!(
        s.ok(
            &k,
            &["autoscale", "deployment", "nginx", "--min=5", "--max=10"]
        )
        .trim(),
        "horizontalpodautoscaler.autoscaling/nginx autoscaled"
    );
    let running = |s: &TestServer| {
        s.ok(&k, &["get", "pods", "-l", "app=nginx"])
            .lines()
            .skip(1)
            .filter(|l| l.contains(" Running ") && l.contains("1/1"))
            .count()
    };
    wait_until("five Running pods", Duration::from_secs(60), || {
        running(&s) == 5
    });

    // set image: old pods terminate while new ones are created.
    assert_eq!(
        s.ok(
            &k,
            &["set", "image", "deployment/nginx", "nginx=nginx:1.21"]
        )
        .trim(),
        "deployment.apps/nginx image updated"
    );
    let mut seen_creating = false;
    let mut seen_terminating = false;
    wait_until(
        "the rollout to show its states",
        Duration::from_secs(60),
        || {
            let pods = s.ok(&k, &["get", "pods"]);
            assert!(pods.starts_with("NAME"), "{pods}");
            seen_creating |= pods.contains("ContainerCreating");
            seen_terminating |= pods.contains("Terminating");
            seen_creating && seen_terminating
        },
    );
    s.ok(
        &k,
        &["rollout", "status", "deployment/nginx", "--timeout=60s"],
    );

    // rollout history lists revisions 1 and 2.
    let history = s.ok(&k, &["rollout", "history", "deployment/nginx"]);
    let revisions: Vec<Vec<&str>> = history
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(revisions.contains(&vec!["1", "<none>"]), "{history}");
    assert!(revisions.contains(&vec!["2", "<none>"]), "{history}");

    // A watch through the proxy with a label selector, started before the
    // undo, sees the pods change.
    let mut watch = Command::new("curl")
        .args(["-sN", "--max-time", "20", &format!("http://localhost:{proxy_port}/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dnginx")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    // undo to revision 1, then rollout status -w until done.
    assert_eq!(
        s.ok(
            &k,
            &["rollout", "undo", "deployment/nginx", "--to-revision=1"]
        )
        .trim(),
        "deployment.apps/nginx rolled back"
    );
    let status = s.ok(
        &k,
        &[
            "rollout",
            "status",
            "-w",
            "deployment/nginx",
            "--timeout=90s",
        ],
    );
    assert!(
        status
            .trim_end()
            .ends_with("deployment \"nginx\" successfully rolled out"),
        "{status}"
    );
    for line in status.lines().filter(|l| l.starts_with("Waiting")) {
        assert!(
            line.starts_with("Waiting for deployment \"nginx\" rollout to finish: "),
            "{line}"
        );
    }
    let image = s.ok(
        &k,
        &[
            "get",
            "deploy",
            "nginx",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "nginx:1");

    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(events.iter().any(|e| e["type"] == "ADDED"), "{text}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "MODIFIED" || e["type"] == "DELETED"),
        "{text}"
    );
    for e in &events {
        let pod = &e["object"];
        assert_eq!(pod["kind"], "Pod");
        assert_eq!(pod["metadata"]["labels"]["app"], "nginx");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert!(
            pod["metadata"]["generateName"]
                .as_str()
                .unwrap()
                .starts_with("nginx-")
        );
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
}
