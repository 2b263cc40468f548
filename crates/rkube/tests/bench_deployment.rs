//! Issue 4's benchmark: `kubectl create deployment --replicas=1000` on a
//! real `rkube server` with 10 simulated workers and the lifecycle delays
//! set to zero, timed until 1,000 pods are Running. A benchmark, not a
//! check (it is ignored by `cargo test`):
//!
//!     cargo test --release -p rkube --test bench_deployment -- --ignored --nocapture
//!
//! RKUBE_BENCH_PODS changes the replica count.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{TestServer, kubectl_path};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;

async fn client(s: &TestServer) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
async fn deployment_of_1000_pods_on_10_nodes() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let count: usize = std::env::var("RKUBE_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let s = TestServer::start_with(
        tempfile::tempdir().unwrap(),
        &[
            "--nodes",
            "10",
            "--pod-start-delay",
            "0",
            "--pod-ready-delay",
            "0",
        ],
    );
    let c = client(&s).await;
    // Wait for the workers (the control-plane node is tainted).
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(c.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while nodes.list(&Default::default()).await.unwrap().items.len() < 11 {
        assert!(Instant::now() < deadline, "nodes did not register");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let mut stream = watcher(pods, watcher::Config::default()).boxed();
    // The watch is open (its initial list done) before the clock starts.
    while let Some(ev) = stream.next().await {
        if matches!(ev, Ok(watcher::Event::InitDone)) {
            break;
        }
    }
    let started = Instant::now();
    s.ok(
        &kubectl,
        &[
            "create",
            "deployment",
            "bench",
            "--image=nginx",
            &format!("--replicas={count}"),
        ],
    );
    let mut bound: HashMap<String, Duration> = HashMap::new();
    let mut running: HashMap<String, Duration> = HashMap::new();
    let mut first_created: Option<Duration> = None;
    while running.len() < count {
        let ev = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("no progress for 60 s")
            .expect("watch ended");
        let Ok(watcher::Event::Apply(p)) = ev else {
            continue;
        };
        let uid = p.metadata.uid.clone().unwrap();
        let at = started.elapsed();
        first_created.get_or_insert(at);
        if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
            bound.entry(uid.clone()).or_insert(at);
        }
        if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
            running.entry(uid).or_insert(at);
        }
    }
    let took = started.elapsed();
    let last_bound = bound.values().max().copied().unwrap_or_default();
    let first_bound = bound.values().min().copied().unwrap_or_default();
    let span = (last_bound - first_bound).as_secs_f64().max(1e-3);
    eprintln!(
        "{count} pods Running in {took:.2?} (first pod seen at {:.2?}; bound from {first_bound:.2?} \
         to {last_bound:.2?}: {:.0} pods/s scheduled)",
        first_created.unwrap_or_default(),
        bound.len() as f64 / span,
    );
    assert_eq!(running.len(), count);
}
