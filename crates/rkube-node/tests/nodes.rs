//! Simulated nodes against a real `rkube server`: registration, Leases,
//! heartbeats, and the lifecycle of pods bound to them, checked with
//! kube-rs and the real kubectl.

mod common;

use std::time::{Duration, Instant};

use common::{Server, eventually, kubectl_path, stopper};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ListParams};
use rkube_node::{Delays, NodeConfig, cluster_configs};

fn fast(mut cfg: NodeConfig) -> NodeConfig {
    cfg.delays = Delays {
        start: Duration::from_millis(1500),
        ..Delays::default()
    };
    cfg.lease_renew_interval = Duration::from_secs(1);
    cfg.status_update_interval = Duration::from_secs(2);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_register_ready_and_keep_their_leases() {
    let server = Server::start();
    let client = server.client().await;
    let (stop, shutdown) = stopper();
    let cfgs = cluster_configs(2).into_iter().map(fast).collect();
    let nodes = tokio::spawn(rkube_node::run_nodes(client.clone(), cfgs, shutdown));

    let api: Api<Node> = Api::all(client.clone());
    let listed = eventually("three nodes", Duration::from_secs(20), || async {
        let l = api.list(&ListParams::default()).await.ok()?;
        (l.items.len() == 3).then_some(l.items)
    })
    .await;
    let cp = listed
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some("rkube-control-plane"))
        .expect("control-plane node");
    let spec = cp.spec.as_ref().unwrap();
    assert_eq!(spec.pod_cidr.as_deref(), Some("10.244.0.0/24"));
    assert_eq!(
        spec.taints.as_ref().unwrap()[0].key,
        "node-role.kubernetes.io/control-plane"
    );
    let status = cp.status.as_ref().unwrap();
    let info = status.node_info.as_ref().unwrap();
    assert_eq!(info.kubelet_version, "v1.37.0");
    assert_eq!(info.operating_system, "linux");
    assert_eq!(status.capacity.as_ref().unwrap()["pods"].0, "110");
    let conds = status.conditions.as_ref().unwrap();
    let ready = conds.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("True", Some("KubeletReady"))
    );
    for kind in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
        assert_eq!(
            conds.iter().find(|c| c.type_ == kind).unwrap().status,
            "False"
        );
    }

    if let Some(kubectl) = kubectl_path() {
        let out = server.ok(&kubectl, &["get", "nodes"], None).await;
        eprintln!("{out}");
        let rows: Vec<Vec<&str>> = out
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows.len(), 3, "{out}");
        assert_eq!(
            rows[0][..3],
            ["rkube-control-plane", "Ready", "control-plane"],
            "{out}"
        );
        assert_eq!(rows[1][..3], ["rkube-worker1", "Ready", "<none>"], "{out}");
        assert_eq!(rows[2][..3], ["rkube-worker2", "Ready", "<none>"], "{out}");
        assert!(rows.iter().all(|r| r[4] == "v1.37.0"), "{out}");
    }

    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease = eventually("a lease", Duration::from_secs(10), || async {
        leases.get("rkube-worker1").await.ok()
    })
    .await;
    let spec = lease.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("rkube-worker1"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let owner = &lease.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Node", "rkube-worker1")
    );
    let first = spec.renew_time.unwrap();
    eventually("a renewed lease", Duration::from_secs(10), || async {
        let l = leases.get("rkube-worker1").await.ok()?;
        (l.spec?.renew_time? != first).then_some(())
    })
    .await;
    let beat = |n: &Node| {
        n.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == "Ready")?
            .last_heartbeat_time
            .clone()
    };
    let before = beat(&api.get("rkube-worker2").await.unwrap());
    eventually("a node heartbeat", Duration::from_secs(10), || async {
        let now = beat(&api.get("rkube-worker2").await.ok()?);
        (now != before).then_some(())
    })
    .await;

    stop.stop();
    tokio::time::timeout(Duration::from_secs(5), nodes)
        .await
        .expect("nodes stop")
        .unwrap()
        .unwrap();
    server.stop();
}

const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: rkube-worker1
  containers:
  - name: nginx
    image: nginx:1
    readinessProbe:
      initialDelaySeconds: 3
      httpGet: {path: /, port: 80}
"#;

fn pod_phase(p: &Pod) -> Option<&str> {
    p.status.as_ref()?.phase.as_deref()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_pods_start_get_ready_complete_and_go_away() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let server = Server::start();
    let client = server.client().await;
    let (stop, shutdown) = stopper();
    let node = tokio::spawn(rkube_node::run_node(
        client.clone(),
        fast(NodeConfig::worker(1)),
        shutdown,
    ));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    server.ok(&kubectl, &["apply", "-f", "-"], Some(WEB)).await;
    let creating = eventually("ContainerCreating", Duration::from_secs(10), || async {
        let p = pods.get("web").await.ok()?;
        let cs = p
            .status
            .as_ref()?
            .container_statuses
            .as_ref()?
            .first()?
            .clone();
        let waiting = cs.state?.waiting?.reason?;
        Some((p, waiting))
    })
    .await;
    assert_eq!(creating.1, "ContainerCreating");
    let status = creating.0.status.unwrap();
    assert_eq!(status.host_ip.as_deref(), Some("172.18.0.3"));
    assert!(status.start_time.is_some());
    let cond = |s: &k8s_openapi::api::core::v1::PodStatus, t: &str| {
        s.conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == t)
            .map(|c| c.status.clone())
    };
    assert_eq!(cond(&status, "PodScheduled").as_deref(), Some("True"));
    assert_eq!(cond(&status, "Initialized").as_deref(), Some("True"));
    assert_eq!(cond(&status, "ContainersReady").as_deref(), Some("False"));
    assert_eq!(
        cond(&status, "PodReadyToStartContainers").as_deref(),
        Some("False")
    );

    // Running first, Ready once the probe's initial delay has passed.
    let running = eventually(
        "Running, not yet ready",
        Duration::from_secs(10),
        || async {
            let p = pods.get("web").await.ok()?;
            (pod_phase(&p) == Some("Running")).then_some(p)
        },
    )
    .await;
    let s = running.status.unwrap();
    let cs = &s.container_statuses.as_ref().unwrap()[0];
    assert_eq!(cs.started, Some(true));
    let started_at = cs
        .state
        .clone()
        .unwrap()
        .running
        .unwrap()
        .started_at
        .unwrap()
        .0;
    let id = cs.container_id.as_deref().unwrap();
    assert!(
        id.starts_with("containerd://") && id.len() == 13 + 64,
        "{id}"
    );
    assert!(cs.image_id.starts_with("docker.io/library/nginx@sha256:"));
    let ip = s.pod_ip.unwrap();
    assert!(ip.starts_with("10.244.1."), "{ip}");
    let wide = eventually("1/1 Running", Duration::from_secs(10), || async {
        let (_, out, _) = server
            .kubectl(&kubectl, &["get", "pod", "web", "-o", "wide"], None)
            .await;
        out.contains("1/1").then_some(out)
    })
    .await;
    eprintln!("{wide}");
    let ready = pods
        .get("web")
        .await
        .unwrap()
        .status
        .unwrap()
        .conditions
        .unwrap();
    let ready_at = ready.iter().find(|c| c.type_ == "Ready").unwrap();
    let ready_at = ready_at.last_transition_time.clone().unwrap().0;
    // Timestamps have whole seconds: a 3 s delay shows as at least 2 s.
    let waited = ready_at.duration_since(started_at).as_secs_f64();
    assert!(
        waited >= 2.0,
        "ready {waited} s after the start, before the probe's delay"
    );
    assert!(
        wide.contains("Running") && wide.contains(&ip) && wide.contains("rkube-worker1"),
        "{wide}"
    );

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    eventually("kubelet events", Duration::from_secs(10), || async {
        let l = events.list(&ListParams::default()).await.ok()?;
        let reasons: Vec<_> = l.items.iter().filter_map(|e| e.reason.clone()).collect();
        ["Pulling", "Pulled", "Created", "Started"]
            .iter()
            .all(|r| reasons.iter().any(|x| x == r))
            .then_some(())
    })
    .await;
    let l = events.list(&ListParams::default()).await.unwrap();
    let started_ev = l
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("Started"))
        .unwrap();
    assert_eq!(started_ev.reporting_component.as_deref(), Some("kubelet"));
    let source = started_ev.source.as_ref().unwrap();
    assert_eq!(source.component.as_deref(), Some("kubelet"));
    assert_eq!(source.host.as_deref(), Some("rkube-worker1"));

    // Deleted: Terminating briefly, then gone.
    let t = Instant::now();
    server
        .ok(&kubectl, &["delete", "pod", "web", "--timeout=20s"], None)
        .await;
    eventually("web to go", Duration::from_secs(10), || async {
        matches!(pods.get_opt("web").await, Ok(None)).then_some(())
    })
    .await;
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "took {:?}",
        t.elapsed()
    );

    // A Job's pod runs to completion. The Job is suspended so no job
    // controller adds pods of its own.
    server
        .ok(
            &kubectl,
            &["apply", "-f", "-"],
            Some("apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  suspend: true\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n"),
        )
        .await;
    let uid = server
        .ok(
            &kubectl,
            &["get", "job", "once", "-o", "jsonpath={.metadata.uid}"],
            None,
        )
        .await;
    let job_pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: once-abcde\n  ownerReferences:\n  - {{apiVersion: batch/v1, kind: Job, name: once, uid: {uid}, controller: true}}\nspec:\n  nodeName: rkube-worker1\n  restartPolicy: Never\n  containers: [{{name: c, image: busybox}}]\n"
    );
    server
        .ok(&kubectl, &["apply", "-f", "-"], Some(&job_pod))
        .await;
    let done = eventually(
        "the job pod to succeed",
        Duration::from_secs(15),
        || async {
            let p = pods.get("once-abcde").await.ok()?;
            (pod_phase(&p) == Some("Succeeded")).then_some(p)
        },
    )
    .await;
    let term = done.status.unwrap().container_statuses.unwrap()[0]
        .clone()
        .state
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (0, Some("Completed"))
    );
    let out = server
        .ok(&kubectl, &["get", "pod", "once-abcde"], None)
        .await;
    assert!(out.contains("Completed") && out.contains("0/1"), "{out}");

    stop.stop();
    tokio::time::timeout(Duration::from_secs(5), node)
        .await
        .expect("node stops")
        .unwrap()
        .unwrap();
    server.stop();
}

/// A node marked Unknown behind its back (as the node lifecycle
/// controller does after missed heartbeats) reports Ready again at once
/// rather than after its status interval; and a pod annotated with an
/// exit code fails with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reassert_ready_and_annotated_pods_fail() {
    use kube::api::{Patch, PatchParams, PostParams};
    let server = Server::start();
    let client = server.client().await;
    let (stop, shutdown) = stopper();
    let mut cfg = fast(NodeConfig::worker(1));
    cfg.status_update_interval = Duration::from_secs(600);
    let nodes = tokio::spawn(rkube_node::run_node(client.clone(), cfg, shutdown));
    let api: Api<Node> = Api::all(client.clone());
    let ready_of = |n: &Node| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.clone())
    };
    eventually("the node", Duration::from_secs(20), || async {
        let n = api.get("rkube-worker1").await.ok()?;
        (ready_of(&n).as_deref() == Some("True")).then_some(())
    })
    .await;
    let unknown = serde_json::json!({"status": {"conditions": [
        {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]}});
    api.patch_status(
        "rkube-worker1",
        &PatchParams::default(),
        &Patch::Merge(&unknown),
    )
    .await
    .unwrap();
    let started = Instant::now();
    eventually("Ready again", Duration::from_secs(20), || async {
        let n = api.get("rkube-worker1").await.ok()?;
        (ready_of(&n).as_deref() == Some("True")).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not the 600 s status interval"
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "fails", "annotations": {
            rkube_node::EXIT_CODE_ANNOTATION: "2", rkube_node::RUN_SECONDS_ANNOTATION: "0.2"}},
        "spec": {"nodeName": "rkube-worker1", "restartPolicy": "Never",
                 "containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let failed = eventually("the pod to fail", Duration::from_secs(20), || async {
        let p = pods.get("fails").await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Failed")).then_some(p)
    })
    .await;
    let term = failed.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!((term.exit_code, term.reason.as_deref()), (2, Some("Error")));
    stop.stop();
    let _ = nodes.await;
}
