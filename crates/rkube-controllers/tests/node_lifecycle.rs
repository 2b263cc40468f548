//! The node lifecycle controller against a real server: a simulated node
//! whose heartbeats stop (its in-process node loop is stopped) turns
//! Unknown and is tainted unreachable, its pods turn not Ready and are
//! evicted when their tolerationSeconds run out (not before, and never
//! with an unbounded toleration); when it comes back the taints go.

mod common;

use std::time::Duration;

use common::{TestServer, fast_delays, is_ready, start_cluster, start_controllers_with, wait_for};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use rkube_controllers::Settings;
use rkube_node::NodeConfig;
use serde_json::json;

const T: Duration = Duration::from_secs(60);

fn node(i: u32) -> NodeConfig {
    let mut c = NodeConfig::worker(i);
    c.delays = fast_delays();
    c.events = false;
    c.lease_renew_interval = Duration::from_millis(200);
    c
}

fn pod(name: &str, node: &str, tolerations: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"nodeName": node, "tolerations": tolerations,
                 "containers": [{"name": "c", "image": "nginx:1"}]}
    }))
    .unwrap()
}

fn ready_condition(n: &Node) -> String {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

fn taint_keys(n: &Node) -> Vec<(String, String)> {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.effect))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_is_tainted_and_its_pods_evicted_by_toleration() {
    let server = TestServer::start();
    let client = server.client().await;
    let settings = Settings {
        node_monitor_grace_period: Duration::from_secs(2),
        node_monitor_period: Duration::from_millis(200),
        ..Settings::default()
    };
    let _controllers = start_controllers_with(&client, &["nodelifecycle"], settings);
    let mut cluster = start_cluster(&client, vec![node(1), node(2)]);
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();
    let w1 = "rkube-worker1";
    let short = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                        "effect": "NoExecute", "tolerationSeconds": 3}]);
    let forever = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                          "effect": "NoExecute"}]);
    pods.create(&pp, &pod("short", w1, short)).await.unwrap();
    pods.create(&pp, &pod("forever", w1, forever))
        .await
        .unwrap();
    pods.create(&pp, &pod("defaulted", w1, json!(null)))
        .await
        .unwrap();
    pods.create(&pp, &pod("elsewhere", "rkube-worker2", json!(null)))
        .await
        .unwrap();
    wait_for("four ready pods", T, || async {
        let l = pods.list(&Default::default()).await.ok()?.items;
        (l.len() == 4 && l.iter().all(is_ready)).then_some(())
    })
    .await;
    // Healthy nodes stay Ready well past the grace period.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for n in nodes.list(&Default::default()).await.unwrap() {
        assert_eq!(ready_condition(&n), "True", "healthy {:?}", n.metadata.name);
        assert!(taint_keys(&n).is_empty());
    }

    cluster.stop_node(w1);
    let tainted = wait_for("worker1 Unknown and tainted", T, || async {
        let n = nodes.get(w1).await.ok()?;
        let keys = taint_keys(&n);
        (ready_condition(&n) == "Unknown"
            && keys.contains(&("node.kubernetes.io/unreachable".into(), "NoExecute".into()))
            && keys.contains(&("node.kubernetes.io/unreachable".into(), "NoSchedule".into())))
        .then_some(n)
    })
    .await;
    let reason = tainted
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .reason
        .clone();
    assert_eq!(reason.as_deref(), Some("NodeStatusUnknown"));
    let added = tainted
        .spec
        .unwrap()
        .taints
        .unwrap()
        .into_iter()
        .find(|t| t.effect == "NoExecute")
        .unwrap()
        .time_added
        .unwrap()
        .0;
    wait_for("worker1's pods not Ready", T, || async {
        let p = pods.get("defaulted").await.ok()?;
        (!is_ready(&p)).then_some(())
    })
    .await;

    let evicted = wait_for("the 3 s pod evicted", T, || async {
        let p = pods.get_opt("short").await.ok()?;
        match p {
            None => Some(k8s_openapi::jiff::Timestamp::now()),
            Some(p) => p.metadata.deletion_timestamp.map(|t| t.0),
        }
    })
    .await;
    let after = evicted.duration_since(added).as_secs_f64();
    assert!(
        after >= 2.0,
        "evicted {after}s after the taint, tolerationSeconds 3"
    );
    for n in ["forever", "defaulted", "elsewhere"] {
        let p = pods.get(n).await.unwrap();
        assert!(
            p.metadata.deletion_timestamp.is_none(),
            "{n} stays (300 s or unbounded)"
        );
    }
    let w2 = nodes.get("rkube-worker2").await.unwrap();
    assert_eq!(ready_condition(&w2), "True");
    assert!(taint_keys(&w2).is_empty());

    // Back again: Ready, untainted, and the evicted pod finally goes.
    cluster.start_node(&client, node(1));
    wait_for("worker1 Ready and untainted", T, || async {
        let n = nodes.get(w1).await.ok()?;
        (ready_condition(&n) == "True" && taint_keys(&n).is_empty()).then_some(())
    })
    .await;
    wait_for("the evicted pod removed by its node", T, || async {
        pods.get_opt("short").await.ok()?.is_none().then_some(())
    })
    .await;
}
