//! A real `rkube apiserver` (the workspace's built binary, `cargo build -p
//! rkube`) on a free loopback port in a temporary directory, controllers
//! run in-process against it, and a stand-in kubelet that marks pods
//! Running and Ready (there are no simulated nodes in these tests).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::oneshot;

pub struct TestServer {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub kubeconfig: PathBuf,
}

fn rkube_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("RKUBE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let bin = target.join("debug/rkube");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p rkube` first (or set RKUBE_BIN)",
        bin.display()
    );
    bin
}

impl TestServer {
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(rkube_binary())
            // The API server alone: these tests run the controllers
            // in-process (`rkube server` would run its own as well).
            .args([
                "apiserver",
                "--secure-port",
                "0",
                "--nodes",
                "0",
                "--data-dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start rkube server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut port = 0;
        for line in lines.by_ref() {
            let line = line.expect("read server output");
            if let Some(p) = line.strip_prefix("listening on port ") {
                port = p.trim().parse().expect("port");
            }
            if line.starts_with("ready in") {
                break;
            }
        }
        assert!(port != 0, "server did not print its port");
        std::thread::spawn(move || for _ in lines {});
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        TestServer {
            child: Some(child),
            dir,
            port,
            kubeconfig,
        }
    }

    pub async fn client(&self) -> Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        let client = Client::try_from(cfg).expect("client");
        // Wait until the API answers.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if client.apiserver_version().await.is_ok() {
                return client;
            }
            assert!(Instant::now() < deadline, "server not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stop with SIGTERM.
    pub fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Run kubectl against this server (None when kubectl is missing).
    pub fn kubectl(&self, args: &[&str]) -> Option<std::process::Output> {
        let path = std::env::var_os("KUBECTL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
        if !path.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "kubectl ({}) is required in CI",
                path.display()
            );
            eprintln!("SKIPPED kubectl step: {} not found", path.display());
            return None;
        }
        Some(
            Command::new(path)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args)
                .env("HOME", self.dir.path())
                .output()
                .expect("run kubectl"),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Controllers running in-process; stopped when dropped.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let r = tokio::time::timeout(Duration::from_secs(10), h)
                .await
                .expect("controllers stop within 10s");
            r.expect("join").expect("controllers ran without error");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn start_controllers(client: &Client, names: &[&'static str]) -> Running {
    let (tx, rx) = oneshot::channel::<()>();
    let client = client.clone();
    let names: Vec<&'static str> = names.to_vec();
    let handle = tokio::spawn(async move {
        rkube_controllers::run(client, &names, async move {
            let _ = rx.await;
        })
        .await
    });
    Running {
        stop: Some(tx),
        handle: Some(handle),
    }
}

/// `start_controllers` with non-default timings.
pub fn start_controllers_with(
    client: &Client,
    names: &[&'static str],
    settings: rkube_controllers::Settings,
) -> Running {
    let (tx, rx) = oneshot::channel::<()>();
    let client = client.clone();
    let names: Vec<&'static str> = names.to_vec();
    let handle = tokio::spawn(async move {
        rkube_controllers::run_with(client, &names, settings, async move {
            let _ = rx.await;
        })
        .await
    });
    Running {
        stop: Some(tx),
        handle: Some(handle),
    }
}

/// Simulated nodes and the scheduler, in-process, each node on its own
/// task so a test can stop one (its Lease and heartbeats stop with it).
pub struct Cluster {
    nodes: Vec<(String, Option<oneshot::Sender<()>>)>,
    scheduler: Option<oneshot::Sender<()>>,
}

impl Cluster {
    /// Stop node `name`: it no longer renews its Lease nor touches pods.
    pub fn stop_node(&mut self, name: &str) {
        for (n, stop) in &mut self.nodes {
            if n == name
                && let Some(s) = stop.take()
            {
                let _ = s.send(());
            }
        }
    }

    /// Start a node (again: a stopped node coming back re-registers).
    pub fn start_node(&mut self, client: &Client, cfg: rkube_node::NodeConfig) {
        let (tx, rx) = oneshot::channel::<()>();
        let name = cfg.name.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let stop = async move {
                let _ = rx.await;
            };
            if let Err(e) = rkube_node::run_node(client, cfg, stop).await {
                eprintln!("simulated node: {e:#}");
            }
        });
        self.nodes.push((name, Some(tx)));
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|(n, _)| n.clone()).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, s) in &mut self.nodes {
            if let Some(s) = s.take() {
                let _ = s.send(());
            }
        }
        if let Some(s) = self.scheduler.take() {
            let _ = s.send(());
        }
    }
}

/// Fast lifecycle delays for tests.
pub fn fast_delays() -> rkube_node::Delays {
    rkube_node::Delays {
        start: Duration::from_millis(200),
        job_duration: Duration::from_millis(500),
        terminate_max: Duration::from_millis(200),
        ..rkube_node::Delays::default()
    }
}

/// Start the given node configs (one task each) and the scheduler.
pub fn start_cluster(client: &Client, cfgs: Vec<rkube_node::NodeConfig>) -> Cluster {
    let mut cluster = Cluster {
        nodes: Vec::new(),
        scheduler: None,
    };
    for cfg in cfgs {
        cluster.start_node(client, cfg);
    }
    let (tx, rx) = oneshot::channel::<()>();
    let sched_client = client.clone();
    tokio::spawn(async move {
        let stop = async move {
            let _ = rx.await;
        };
        if let Err(e) = rkube_scheduler::run(sched_client, stop).await {
            eprintln!("scheduler: {e:#}");
        }
    });
    cluster.scheduler = Some(tx);
    cluster
}

/// The control-plane node and `workers` workers with `fast_delays`.
pub fn start_default_cluster(client: &Client, workers: u32) -> Cluster {
    let cfgs = rkube_node::cluster_configs(workers)
        .into_iter()
        .map(|mut c| {
            c.delays = fast_delays();
            c.events = false;
            c
        })
        .collect();
    start_cluster(client, cfgs)
}

/// Poll `check` every 50 ms until it returns Some, or panic after
/// `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn pods_with(api: &Api<Pod>, selector: &str) -> Vec<Pod> {
    api.list(&ListParams::default().labels(selector))
        .await
        .expect("list pods")
        .items
}

pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A stand-in kubelet: every pod in `namespace` becomes Running and Ready
/// `delay` after it is first seen (unless it is being deleted). Pods whose
/// first container's image is in `hold` are left alone (a broken image).
pub struct FakeKubelet {
    pub hold: Arc<Mutex<HashSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn fake_kubelet(client: &Client, namespace: &str, delay: Duration) -> FakeKubelet {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let hold: Arc<Mutex<HashSet<String>>> = Arc::default();
    let held = Arc::clone(&hold);
    let task = tokio::spawn(async move {
        let mut seen = HashSet::new();
        let stream = watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(stream);
        while let Some(Ok(pod)) = stream.next().await {
            let name = pod.name_any();
            if pod.metadata.deletion_timestamp.is_some() || is_ready(&pod) {
                continue;
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            let image = pod
                .spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            let api = api.clone();
            let held = Arc::clone(&held);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if held.lock().unwrap().contains(&image) {
                    return;
                }
                if let Err(e) = mark_ready(&api, &name).await {
                    eprintln!("fake kubelet: marking {name} ready: {e}");
                }
            });
        }
    });
    FakeKubelet { hold, task }
}

/// Set a pod Running and Ready through pods/status.
pub async fn mark_ready(api: &Api<Pod>, name: &str) -> kube::Result<()> {
    for attempt in 0..20 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
        }
        let Some(mut pod) = api.get_opt(name).await? else {
            return Ok(());
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let cond = |t: &str| PodCondition {
            type_: t.into(),
            status: "True".into(),
            last_transition_time: Some(now.clone()),
            ..Default::default()
        };
        let mut status = pod.status.clone().unwrap_or_default();
        status.phase = Some("Running".into());
        status.conditions = Some(vec![
            cond("PodScheduled"),
            cond("Initialized"),
            cond("ContainersReady"),
            cond("Ready"),
        ]);
        status.start_time = Some(now.clone());
        pod.status = Some(PodStatus { ..status });
        match api.replace_status(name, &PostParams::default(), &pod).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                continue;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
