//! The DaemonSet controller against a real server with simulated nodes
//! and the scheduler: one pod per eligible worker (the tainted
//! control-plane node excluded), pinned by node affinity, a rolling update
//! that never has more than maxUnavailable daemons down, `kubectl rollout
//! status`, and a nodeSelector that narrows the nodes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, is_ready, start_controllers, start_default_cluster, wait_for};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

const T: Duration = Duration::from_secs(90);

fn daemon_set() -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "agent", "image": "fluentd:1"}]}}
        }
    }))
    .unwrap()
}

async fn rolled_out(api: &Api<DaemonSet>, n: i32) -> DaemonSet {
    wait_for(&format!("the DaemonSet on {n} nodes"), T, || async {
        let d = api.get("agent").await.ok()?;
        let s = d.status.clone()?;
        (s.observed_generation == d.metadata.generation
            && s.desired_number_scheduled == n
            && s.current_number_scheduled == n
            && s.number_ready == n
            && s.updated_number_scheduled == Some(n)
            && s.number_available == Some(n)
            && s.number_misscheduled == 0)
            .then_some(d)
    })
    .await
}

async fn live_pods(api: &Api<Pod>) -> Vec<Pod> {
    api.list(&ListParams::default().labels("app=agent"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pod_per_worker_rolling_update_and_node_selector() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers(&client, &["daemonset"]);
    let _cluster = start_default_cluster(&client, 3);
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<Node> = Api::all(client.clone());
    wait_for("four nodes", T, || async {
        (nodes.list(&ListParams::default()).await.ok()?.items.len() == 4).then_some(())
    })
    .await;

    sets.create(&PostParams::default(), &daemon_set())
        .await
        .unwrap();
    rolled_out(&sets, 3).await;
    let placed: BTreeSet<String> = live_pods(&pods)
        .await
        .iter()
        .map(|p| p.spec.as_ref().unwrap().node_name.clone().unwrap())
        .collect();
    assert_eq!(
        placed,
        ["rkube-worker1", "rkube-worker2", "rkube-worker3"]
            .map(String::from)
            .into(),
        "one daemon per worker, none on the tainted control plane"
    );
    for p in live_pods(&pods).await {
        let spec = p.spec.clone().unwrap();
        let node = spec.node_name.clone().unwrap();
        let terms = spec
            .affinity
            .unwrap()
            .node_affinity
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .unwrap()
            .node_selector_terms;
        let f = &terms[0].match_fields.as_ref().unwrap()[0];
        assert_eq!(f.key, "metadata.name");
        assert_eq!(
            f.values.as_ref().unwrap(),
            &vec![node],
            "pinned to its node"
        );
        let tols = spec.tolerations.unwrap();
        for (k, e) in [
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ] {
            assert!(
                tols.iter()
                    .any(|t| t.key.as_deref() == Some(k) && t.effect.as_deref() == Some(e)),
                "default toleration {k}:{e}"
            );
        }
        assert!(p.labels().contains_key("controller-revision-hash"));
    }
    let first_hash = live_pods(&pods).await[0].labels()["controller-revision-hash"].clone();
    if let Some(out) = server.kubectl(&["rollout", "status", "ds/agent", "--timeout=60s"]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("daemon set \"agent\" successfully rolled out"),
            "{text}"
        );
    }

    // Rolling update: count unavailable daemons continuously.
    let ready: Arc<Mutex<BTreeMap<String, bool>>> = Arc::default();
    let worst = Arc::new(Mutex::new(usize::MAX));
    let (r, w, api) = (Arc::clone(&ready), Arc::clone(&worst), pods.clone());
    let sampler = tokio::spawn(async move {
        let s = watcher(api, watcher::Config::default().labels("app=agent"))
            .default_backoff()
            .touched_objects();
        futures::pin_mut!(s);
        // Measure from the moment the initial list shows all three ready.
        let mut armed = false;
        while let Some(Ok(p)) = s.next().await {
            let mut m = r.lock().unwrap();
            let gone = p.metadata.deletion_timestamp.is_some();
            if gone {
                m.remove(&p.name_any());
            } else {
                m.insert(p.name_any(), is_ready(&p));
            }
            let n = m.values().filter(|v| **v).count();
            armed |= n == 3;
            if !armed {
                continue;
            }
            let mut worst = w.lock().unwrap();
            *worst = (*worst).min(n);
        }
    });
    wait_for("the sampler to see three ready daemons", T, || async {
        (*worst.lock().unwrap() == 3).then_some(())
    })
    .await;
    sets.patch(
        "agent",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "fluentd:2"}]}}}})),
    )
    .await
    .unwrap();
    if let Some(out) = server.kubectl(&["rollout", "status", "ds/agent", "--timeout=60s"]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("successfully rolled out"), "{text}");
    }
    rolled_out(&sets, 3).await;
    sampler.abort();
    let live = live_pods(&pods).await;
    assert_eq!(live.len(), 3);
    let hashes: BTreeSet<String> = live
        .iter()
        .map(|p| p.labels()["controller-revision-hash"].clone())
        .collect();
    assert_eq!(hashes.len(), 1, "every daemon runs the new revision");
    assert_ne!(Some(&first_hash), hashes.first(), "a new revision hash");
    for p in &live {
        assert_eq!(
            p.spec.as_ref().unwrap().containers[0].image.as_deref(),
            Some("fluentd:2")
        );
    }
    let worst = *worst.lock().unwrap();
    assert!(
        worst >= 2,
        "maxUnavailable=1: at least 2 of 3 ready throughout, saw {worst}"
    );
    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    assert_eq!(
        revs.list(&ListParams::default()).await.unwrap().items.len(),
        2
    );

    // nodeSelector: only the labelled worker keeps its daemon.
    nodes
        .patch(
            "rkube-worker2",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"disk": "ssd"}}})),
        )
        .await
        .unwrap();
    sets.patch(
        "agent",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}})),
    )
    .await
    .unwrap();
    rolled_out(&sets, 1).await;
    wait_for("daemons off the other workers", T, || async {
        let on: Vec<String> = live_pods(&pods)
            .await
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.clone())
            .collect();
        (on == vec!["rkube-worker2".to_string()]).then_some(())
    })
    .await;
}
