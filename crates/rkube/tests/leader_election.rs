//! Leader election between real processes: two `rkube controller-manager`
//! processes, each on its own API server of one etcd-backed cluster, and
//! two `rkube scheduler` processes. One of each pair leads through its
//! Lease, and when it is killed the other takes over and the work goes on.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use rkube_store::etcd::launcher::{EtcdCluster, etcd_binary};
use tempfile::TempDir;

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `rkube <subcommand> --kubeconfig K [extra...]` as a child process.
fn component(subcommand: &str, kubeconfig: &Path, extra: &[&str]) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_rkube"))
            .arg(subcommand)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start an rkube component"),
    )
}

/// A controller manager with the cluster's service-account key, so its
/// token controller runs too (kube-controller-manager's flags).
fn controller_manager(kubeconfig: &Path, pki: &Path) -> Proc {
    let key = pki.join("sa.key");
    let ca = pki.join("ca.crt");
    component(
        "controller-manager",
        kubeconfig,
        &[
            "--service-account-private-key-file",
            key.to_str().unwrap(),
            "--root-ca-file",
            ca.to_str().unwrap(),
        ],
    )
}

async fn client(s: &TestServer) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    holder_of(leases, "kube-controller-manager").await
}

async fn holder_of(leases: &Api<Lease>, name: &str) -> Option<String> {
    leases
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
}

/// A data directory holding a copy of `first`'s credentials, for another
/// API server of the same cluster.
fn same_cluster(first: &TestServer) -> TempDir {
    let dir = TempDir::new().unwrap();
    let pki = first.data_dir().join("pki");
    std::fs::create_dir_all(dir.path().join("pki")).unwrap();
    for entry in std::fs::read_dir(&pki).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join("pki").join(entry.file_name())).unwrap();
    }
    dir
}

/// A one-member etcd and its directory; None (and a message, or a failure
/// under CI) without etcd.
async fn etcd() -> Option<(TempDir, EtcdCluster)> {
    if etcd_binary().is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but etcd is not installed"
        );
        eprintln!("SKIPPED: etcd is not installed (apt-get install etcd-server)");
        return None;
    }
    let dir = TempDir::new().unwrap();
    let etcd = EtcdCluster::start(dir.path(), 1).await.expect("etcd");
    Some((dir, etcd))
}

fn replica_set(name: &str) -> ReplicaSet {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    }))
    .unwrap()
}

async fn pods_appear(pods: &Api<Pod>, app: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let lp = ListParams::default().labels(&format!("app={app}"));
        if pods.list(&lp).await.unwrap().items.len() == 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no controller made the pods of {app}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_controller_manager_takes_over_when_the_leader_dies() {
    if etcd_binary().is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but etcd is not installed"
        );
        eprintln!("SKIPPED: etcd is not installed (apt-get install etcd-server)");
        return;
    }
    let etcd_dir = TempDir::new().unwrap();
    let etcd = EtcdCluster::start(etcd_dir.path(), 1).await.expect("etcd");
    let servers = etcd.endpoints().join(",");
    let a = TestServer::start_apiserver(TempDir::new().unwrap(), &["--etcd-servers", &servers]);
    let pki = a.data_dir().join("pki");
    let b = TestServer::start_apiserver(same_cluster(&a), &["--etcd-servers", &servers]);
    let c = client(&b).await;
    let leases: Api<Lease> = Api::namespaced(c.clone(), "kube-system");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(c.clone(), "default");

    // The first one leads (it is alone), then the second one waits.
    let first = controller_manager(&a.kubeconfig, &pki);
    let deadline = Instant::now() + Duration::from_secs(30);
    let leader = loop {
        if let Some(h) = holder(&leases).await {
            break h;
        }
        assert!(Instant::now() < deadline, "nobody took the Lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _second = controller_manager(&b.kubeconfig, &pki);
    sets.create(&PostParams::default(), &replica_set("before"))
        .await
        .unwrap();
    pods_appear(&pods, "before", Duration::from_secs(30)).await;
    assert_eq!(holder(&leases).await.as_deref(), Some(leader.as_str()));

    // kill -9: no release, so the Lease must expire first.
    drop(first);
    let killed = Instant::now();
    let killed_at = k8s_openapi::jiff::Timestamp::now();
    let new_leader = loop {
        match holder(&leases).await {
            Some(h) if h != leader => break h,
            _ => {}
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no takeover after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The new leader's acquireTime is its own clock when it took the
    // Lease, free of this test's polling. The Lease lasts 15 s
    // (kube-controller-manager's default) from the last renewal, which came
    // before the kill, and candidates wake when it runs out; the 250 ms are
    // for waking and reading the Lease on a busy machine.
    let acquired = leases.get("kube-controller-manager").await.unwrap();
    let acquired = acquired.spec.unwrap().acquire_time.unwrap().0;
    let took = acquired.duration_since(killed_at);
    eprintln!(
        "{new_leader} took over from {leader} {took:#} after the kill (seen after {:?})",
        killed.elapsed()
    );
    assert!(
        took <= k8s_openapi::jiff::SignedDuration::from_millis(15_250),
        "takeover took {took:#}"
    );
    sets.create(&PostParams::default(), &replica_set("after"))
        .await
        .unwrap();
    pods_appear(&pods, "after", Duration::from_secs(30)).await;

    // The new leader's token controller fills a token Secret, and the token
    // authenticates at the other API server: one signing key for the
    // cluster.
    let accounts: Api<ServiceAccount> = Api::namespaced(c.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "robot"}})).unwrap();
    accounts.create(&PostParams::default(), &sa).await.unwrap();
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "robot-token",
            "annotations": {"kubernetes.io/service-account.name": "robot"}
        },
        "type": "kubernetes.io/service-account-token"
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        let s = secrets.get("robot-token").await.unwrap();
        if let Some(t) = s.data.and_then(|d| d.get("token").cloned()) {
            break String::from_utf8(t.0).unwrap();
        }
        assert!(Instant::now() < deadline, "the token was never filled in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = Command::new("curl")
        .args(["-sk", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{}/api", a.url()))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("\"kind\":\"APIVersions\""), "{body}");
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap()
}

async fn bound_within(pods: &Api<Pod>, name: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let p = pods.get(name).await.unwrap();
        if p.spec.and_then(|s| s.node_name).is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "pod {name} was not scheduled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Two `rkube scheduler` processes: one holds kube-scheduler's Lease and
/// binds pods; when it is killed the other takes over. (The election does
/// not depend on the backend, so this one runs on the embedded store.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_scheduler_takes_over_when_the_leader_dies() {
    let s = TestServer::start_apiserver(TempDir::new().unwrap(), &[]);
    let c = client(&s).await;
    let leases: Api<Lease> = Api::namespaced(c.clone(), "kube-system");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let _node = component("node", &s.kubeconfig, &["--count", "1"]);
    let first = component("scheduler", &s.kubeconfig, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let leader = loop {
        if let Some(h) = holder_of(&leases, "kube-scheduler").await {
            break h;
        }
        assert!(Instant::now() < deadline, "nobody took the Lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _second = component("scheduler", &s.kubeconfig, &[]);
    pods.create(&PostParams::default(), &pod("before"))
        .await
        .unwrap();
    bound_within(&pods, "before", Duration::from_secs(30)).await;
    assert_eq!(
        holder_of(&leases, "kube-scheduler").await.as_deref(),
        Some(leader.as_str()),
        "the second scheduler must wait while the first holds the Lease"
    );
    drop(first);
    let killed = Instant::now();
    loop {
        match holder_of(&leases, "kube-scheduler").await {
            Some(h) if h != leader => break,
            _ => {}
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no takeover after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pods.create(&PostParams::default(), &pod("after"))
        .await
        .unwrap();
    bound_within(&pods, "after", Duration::from_secs(30)).await;
}

/// Two `rkube server --etcd-servers` processes on one cluster: their
/// controllers, schedulers and simulated nodes each run once, under their
/// Leases, and when the first server dies the second's take over and pods
/// still start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_etcd_run_each_loop_once() {
    let Some((_etcd_dir, etcd)) = etcd().await else {
        return;
    };
    let servers = etcd.endpoints().join(",");
    let flags = ["--etcd-servers", servers.as_str(), "--nodes", "2"];
    let a = TestServer::start_with(TempDir::new().unwrap(), &flags);
    let c = client(&a).await;
    let leases: Api<Lease> = Api::namespaced(c.clone(), "kube-system");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first_holders = Vec::new();
    for name in [
        "kube-controller-manager",
        "kube-scheduler",
        "rkube-simulated-nodes",
    ] {
        let h = loop {
            if let Some(h) = holder_of(&leases, name).await {
                break h;
            }
            assert!(Instant::now() < deadline, "nobody took {name}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        first_holders.push(h);
    }
    let b = TestServer::start_with(same_cluster(&a), &flags);
    let c = client(&b).await;
    let leases: Api<Lease> = Api::namespaced(c.clone(), "kube-system");
    let sets: Api<ReplicaSet> = Api::namespaced(c.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    sets.create(&PostParams::default(), &replica_set("before"))
        .await
        .unwrap();
    running(&pods, "before", Duration::from_secs(30)).await;
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(c.clone());
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );

    drop(a);
    let killed = Instant::now();
    for (name, old) in [
        "kube-controller-manager",
        "kube-scheduler",
        "rkube-simulated-nodes",
    ]
    .iter()
    .zip(&first_holders)
    {
        loop {
            match holder_of(&leases, name).await {
                Some(h) if &h != old => break,
                _ => {}
            }
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "nobody took over {name}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    sets.create(&PostParams::default(), &replica_set("after"))
        .await
        .unwrap();
    running(&pods, "after", Duration::from_secs(30)).await;
}

/// Waits until both pods of the ReplicaSet `app` are Running.
async fn running(pods: &Api<Pod>, app: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let lp = ListParams::default().labels(&format!("app={app}"));
        let list = pods.list(&lp).await.unwrap().items;
        let up = list
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        if up == 2 {
            return;
        }
        assert!(Instant::now() < deadline, "pods of {app} are not Running");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
