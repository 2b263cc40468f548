//! The scheduler and simulated nodes against a real `rkube server`, as the
//! article uses them: pods created with kubectl land on workers (never the
//! tainted control plane) and run; pods that fit nowhere wait with a
//! FailedScheduling event until a node changes; a Job's pod completes; an
//! owner's pods spread; and the scheduler's rate on a backlog.

// The real-server harness is shared with rkube-node's tests: one copy.
#[path = "../../rkube-node/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Server, eventually, kubectl_path, stopper};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use rkube_node::{Delays, NodeConfig, cluster_configs};
use serde_json::json;

fn fast(mut cfg: NodeConfig) -> NodeConfig {
    cfg.delays = Delays {
        start: Duration::from_millis(500),
        job_duration: Duration::from_secs(1),
        ..Delays::default()
    };
    cfg
}

fn node_of(p: &Pod) -> Option<String> {
    p.spec.as_ref()?.node_name.clone()
}

async fn events_for(client: &kube::Client, pod: &str, reason: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), "default");
    let Ok(l) = api.list(&ListParams::default()).await else {
        return Vec::new();
    };
    l.items
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(pod) && e.reason.as_deref() == Some(reason)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_article_cluster_schedules_and_runs_pods() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let server = Server::start();
    let client = server.client().await;
    let (stop_nodes, nodes_down) = stopper();
    let (stop_sched, sched_down) = stopper();
    let cfgs = cluster_configs(2).into_iter().map(fast).collect();
    let nodes = tokio::spawn(rkube_node::run_nodes(client.clone(), cfgs, nodes_down));
    let sched = tokio::spawn(rkube_scheduler::run(client.clone(), sched_down));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually("three Ready nodes", Duration::from_secs(20), || async {
        let (_, out, _) = server.kubectl(&kubectl, &["get", "nodes"], None).await;
        (out.matches(" Ready ").count() == 3).then_some(())
    })
    .await;

    // kubectl run: scheduled to a worker, Running 1/1 with an IP.
    server
        .ok(&kubectl, &["run", "web", "--image=nginx:1"], None)
        .await;
    let out = eventually("web 1/1 Running", Duration::from_secs(20), || async {
        let (_, out, _) = server
            .kubectl(&kubectl, &["get", "pod", "web", "-o", "wide"], None)
            .await;
        (out.contains("1/1") && out.contains("Running")).then_some(out)
    })
    .await;
    eprintln!("{out}");
    assert!(out.contains("10.244."), "{out}");
    let web = pods.get("web").await.unwrap();
    let node = node_of(&web).unwrap();
    assert!(node.starts_with("rkube-worker"), "scheduled to {node}");
    let scheduled = eventually("a Scheduled event", Duration::from_secs(10), || async {
        events_for(&client, "web", "Scheduled")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(
        scheduled.message.as_deref(),
        Some(format!("Successfully assigned default/web to {node}").as_str())
    );
    assert_eq!(
        scheduled.reporting_component.as_deref(),
        Some("default-scheduler")
    );
    server
        .ok(&kubectl, &["delete", "pod", "web", "--timeout=20s"], None)
        .await;
    assert!(pods.get_opt("web").await.unwrap().is_none());

    // No node matches: FailedScheduling, Pending, until a node is labelled.
    let picky = "apiVersion: v1\nkind: Pod\nmetadata: {name: picky}\nspec:\n  nodeSelector: {disktype: ssd}\n  containers: [{name: c, image: nginx:1}]\n";
    server
        .ok(&kubectl, &["apply", "-f", "-"], Some(picky))
        .await;
    let failed = eventually("FailedScheduling", Duration::from_secs(10), || async {
        events_for(&client, "picky", "FailedScheduling")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
             2 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    let cond = eventually("PodScheduled=False", Duration::from_secs(10), || async {
        let p = pods.get("picky").await.ok()?;
        let c = p
            .status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "PodScheduled")?;
        (c.status == "False").then_some(c)
    })
    .await;
    assert_eq!(cond.reason.as_deref(), Some("Unschedulable"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let p = pods.get("picky").await.unwrap();
    assert_eq!(node_of(&p), None);
    assert_eq!(p.status.unwrap().phase.as_deref(), Some("Pending"));
    let out = server.ok(&kubectl, &["get", "pod", "picky"], None).await;
    assert!(out.contains("Pending"), "{out}");
    server
        .ok(
            &kubectl,
            &["label", "node", "rkube-worker2", "disktype=ssd"],
            None,
        )
        .await;
    eventually(
        "picky on rkube-worker2",
        Duration::from_secs(10),
        || async {
            let p = pods.get("picky").await.ok()?;
            (node_of(&p)? == "rkube-worker2").then_some(())
        },
    )
    .await;

    // Too big for any node.
    let huge = "apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\nspec:\n  containers: [{name: c, image: nginx:1, resources: {requests: {cpu: '100'}}}]\n";
    server.ok(&kubectl, &["apply", "-f", "-"], Some(huge)).await;
    let failed = eventually(
        "FailedScheduling for huge",
        Duration::from_secs(10),
        || async {
            events_for(&client, "huge", "FailedScheduling")
                .await
                .into_iter()
                .next()
        },
    )
    .await;
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
             2 Insufficient cpu. preemption: 0/3 nodes are available: \
             1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
        )
    );

    // A Job's pod (the Job is suspended so no job controller adds pods).
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
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: once-x1\n  ownerReferences:\n  - {{apiVersion: batch/v1, kind: Job, name: once, uid: {uid}, controller: true}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: c, image: busybox}}]\n"
    );
    server
        .ok(&kubectl, &["apply", "-f", "-"], Some(&job_pod))
        .await;
    eventually("the job pod Completed", Duration::from_secs(15), || async {
        let (_, out, _) = server
            .kubectl(&kubectl, &["get", "pod", "once-x1"], None)
            .await;
        out.contains("Completed").then_some(())
    })
    .await;

    // Six pods of one owner: three on each worker.
    server
        .ok(&kubectl, &["create", "configmap", "owner"], None)
        .await;
    let uid = server
        .ok(
            &kubectl,
            &[
                "get",
                "configmap",
                "owner",
                "-o",
                "jsonpath={.metadata.uid}",
            ],
            None,
        )
        .await;
    for i in 0..6 {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("rep-{i}"), "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "controller": true}
            ]},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &p).await.unwrap();
    }
    let placed = eventually("six replicas placed", Duration::from_secs(10), || async {
        let mut count = BTreeMap::new();
        for i in 0..6 {
            let p = pods.get(&format!("rep-{i}")).await.ok()?;
            *count.entry(node_of(&p)?).or_insert(0) += 1;
        }
        Some(count)
    })
    .await;
    assert_eq!(
        placed,
        BTreeMap::from([
            ("rkube-worker1".to_string(), 3),
            ("rkube-worker2".to_string(), 3)
        ])
    );

    stop_sched.stop();
    stop_nodes.stop();
    for task in [sched, nodes] {
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops")
            .unwrap()
            .unwrap();
    }
    server.stop();
}

async fn create_nodes(client: &kube::Client, count: usize, pods: u32) {
    let nodes: Api<Node> = Api::all(client.clone());
    for i in 0..count {
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": format!("bulk-{i:03}")},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": pods.to_string()}}
        }))
        .unwrap();
        nodes.create(&PostParams::default(), &n).await.unwrap();
    }
}

async fn create_pods(client: &kube::Client, count: usize) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(0..count)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let p: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("bulk-{i:05}")},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1",
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
                }))
                .unwrap();
                pods.create(&PostParams::default(), &p).await.unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
}

/// Pods bound per node, and how many are still unbound.
async fn placement(pods: &Api<Pod>) -> Option<(BTreeMap<String, usize>, usize)> {
    let l = pods.list(&ListParams::default()).await.ok()?;
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    let mut unbound = 0;
    for p in &l.items {
        match node_of(p) {
            Some(n) => *per_node.entry(n).or_default() += 1,
            None => unbound += 1,
        }
    }
    Some((per_node, unbound))
}

/// A backlog bigger than the cluster's pod capacity, on nodes that run
/// nothing (Node objects only): every node fills up to its `pods`, the
/// rest wait with "Too many pods".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_fills_the_nodes_and_the_rest_waits() {
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, 5, 30).await;
    create_pods(&client, 200).await;
    let (stop, shutdown) = stopper();
    let sched = tokio::spawn(rkube_scheduler::run(client.clone(), shutdown));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let per_node = eventually("150 pods bound", Duration::from_secs(60), || async {
        let (per_node, unbound) = placement(&pods).await?;
        (unbound == 50).then_some(per_node)
    })
    .await;
    assert_eq!(per_node.len(), 5, "{per_node:?}");
    assert!(per_node.values().all(|n| *n == 30), "{per_node:?}");
    let waiting = pods
        .list(&ListParams::default().fields("spec.nodeName="))
        .await
        .unwrap();
    let name = waiting.items[0].metadata.name.clone().unwrap();
    let failed = eventually("FailedScheduling", Duration::from_secs(10), || async {
        events_for(&client, &name, "FailedScheduling")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "0/5 nodes are available: 5 Too many pods. \
             preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod."
        )
    );

    // Room frees up (no kubelet runs these nodes, so the pods go at once
    // only without a grace period): the waiting pods take it.
    let bound = pods
        .list(&ListParams::default().fields("spec.nodeName=bulk-000"))
        .await
        .unwrap();
    for p in bound.items.iter().take(10) {
        pods.delete(
            p.metadata.name.as_deref().unwrap(),
            &DeleteParams::default().grace_period(0),
        )
        .await
        .unwrap();
    }
    eventually("10 more bound", Duration::from_secs(30), || async {
        let (_, unbound) = placement(&pods).await?;
        (unbound == 40).then_some(())
    })
    .await;
    stop.stop();
    tokio::time::timeout(Duration::from_secs(5), sched)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
    server.stop();
}

/// User plus system CPU time of a process, in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The scheduler's rate on a backlog: RKUBE_BENCH_PODS pods (default
/// 5,000) on RKUBE_BENCH_NODES nodes (default 100) that run nothing, with
/// events unless RKUBE_BENCH_EVENTS=0. A benchmark, not a check:
///
///     cargo build --release -p rkube
///     RKUBE_BIN=$PWD/target/release/rkube cargo test --release \
///         -p rkube-scheduler --test scheduling -- --ignored --nocapture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_scheduling_rate() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (count, nodes) = (env("RKUBE_BENCH_PODS", 5000), env("RKUBE_BENCH_NODES", 100));
    let events = env("RKUBE_BENCH_EVENTS", 1) != 0;
    let server = Server::start();
    let client = server.client().await;
    create_nodes(&client, nodes, 110).await;
    let t = Instant::now();
    create_pods(&client, count).await;
    eprintln!("created {count} pods in {:?}", t.elapsed());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let (stop, shutdown) = stopper();
    let t = Instant::now();
    let cpu = (cpu_seconds("self"), cpu_seconds(&server.pid().to_string()));
    let config = rkube_scheduler::Config {
        events,
        ..Default::default()
    };
    let sched = tokio::spawn(rkube_scheduler::run_with(client.clone(), config, shutdown));
    // Count bindings from a watch (a LIST with a field selector would read
    // every pod on each poll and cost the server more than the binds).
    let mut stream = kube::runtime::watcher(pods.clone(), Default::default()).boxed();
    let mut bound = std::collections::HashSet::new();
    while bound.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
        let ev = next.expect("no progress for 60 s").expect("watch ended");
        if let Ok(
            kube::runtime::watcher::Event::Apply(p) | kube::runtime::watcher::Event::InitApply(p),
        ) = ev
            && node_of(&p).is_some()
        {
            bound.insert(p.metadata.uid.unwrap());
        }
    }
    let took = t.elapsed();
    eprintln!(
        "events={events}: scheduled {count} pods on {nodes} nodes in {took:?}: {:.0} pods/s \
         (CPU: scheduler and test {:.2}s, server {:.2}s)",
        count as f64 / took.as_secs_f64(),
        cpu_seconds("self") - cpu.0,
        cpu_seconds(&server.pid().to_string()) - cpu.1,
    );
    stop.stop();
    sched.await.unwrap().unwrap();
    server.stop();
}

/// Simulated nodes, the scheduler and a burst of pods, end to end:
/// RKUBE_BENCH_NODES workers (default 1,000) register, then
/// RKUBE_BENCH_PODS pods (default 5,000) are created and run; no events
/// with RKUBE_BENCH_EVENTS=0. A benchmark:
///
///     RKUBE_BIN=$PWD/target/release/rkube cargo test --release \
///         -p rkube-scheduler --test scheduling bench_cluster -- --ignored --nocapture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_cluster_end_to_end() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (count, workers) = (
        env("RKUBE_BENCH_PODS", 5000),
        env("RKUBE_BENCH_NODES", 1000),
    );
    let events = env("RKUBE_BENCH_EVENTS", 1) != 0;
    let server = Server::start();
    let client = server.client().await;
    let (stop_nodes, nodes_down) = stopper();
    let (stop_sched, sched_down) = stopper();
    let t = Instant::now();
    let cpu = (cpu_seconds("self"), cpu_seconds(&server.pid().to_string()));
    let cfgs = cluster_configs(workers as u32)
        .into_iter()
        .map(|c| NodeConfig { events, ..fast(c) })
        .collect();
    let nodes = tokio::spawn(rkube_node::run_nodes(client.clone(), cfgs, nodes_down));
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "kube-node-lease");
    while leases
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len()
        < workers + 1
    {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "nodes did not register"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "{} nodes registered with leases in {:?} (CPU: nodes and test {:.2}s, server {:.2}s)",
        workers + 1,
        t.elapsed(),
        cpu_seconds("self") - cpu.0,
        cpu_seconds(&server.pid().to_string()) - cpu.1,
    );
    let config = rkube_scheduler::Config {
        events,
        ..Default::default()
    };
    let sched = tokio::spawn(rkube_scheduler::run_with(
        client.clone(),
        config,
        sched_down,
    ));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut stream = kube::runtime::watcher(pods.clone(), Default::default()).boxed();
    let t = Instant::now();
    let cpu = (cpu_seconds("self"), cpu_seconds(&server.pid().to_string()));
    let creating = tokio::spawn({
        let client = client.clone();
        async move { create_pods(&client, count).await }
    });
    let mut running = std::collections::HashSet::new();
    while running.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(60), stream.next()).await;
        let ev = next.expect("no progress for 60 s").expect("watch ended");
        if let Ok(kube::runtime::watcher::Event::Apply(p)) = ev
            && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        {
            running.insert(p.metadata.uid.unwrap());
        }
    }
    creating.await.unwrap();
    let took = t.elapsed();
    eprintln!(
        "events={events}: {count} pods created, scheduled and Running in {took:?}: {:.0} pods/s \
         (CPU: nodes, scheduler and test {:.2}s, server {:.2}s)",
        count as f64 / took.as_secs_f64(),
        cpu_seconds("self") - cpu.0,
        cpu_seconds(&server.pid().to_string()) - cpu.1,
    );
    stop_sched.stop();
    stop_nodes.stop();
    sched.await.unwrap().unwrap();
    nodes.await.unwrap().unwrap();
    server.stop();
}
