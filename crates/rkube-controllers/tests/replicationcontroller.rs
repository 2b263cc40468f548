//! The ReplicationController manager (the ReplicaSet controller over the
//! v1 kind) against a real server: pods by generateName with controller
//! references, an equality selector, adoption of a matching orphan,
//! replacement of a deleted pod, status counts, and `kubectl scale rc`.

mod common;

use std::time::Duration;

use common::{TestServer, fake_kubelet, pods_with, start_controllers, wait_for};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

async fn settled(api: &Api<ReplicationController>, n: i32) -> ReplicationController {
    wait_for(&format!("{n} ready replicas"), T, || async {
        let rc = api.get("nginx").await.ok()?;
        let s = rc.status.clone()?;
        (s.observed_generation == rc.metadata.generation
            && s.replicas == n
            && s.ready_replicas == Some(n)
            && s.available_replicas == Some(n)
            && s.fully_labeled_replicas == Some(n))
        .then_some(rc)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_controller_keeps_adopts_and_scales() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers(&client, &["replicationcontroller"]);
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(100));
    let rcs: Api<ReplicationController> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();

    // An orphan the selector matches, there first.
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "stray", "labels": {"app": "nginx"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}
    }))
    .unwrap();
    pods.create(&pp, &orphan).await.unwrap();
    let rc: ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "nginx"},
        "spec": {"replicas": 3, "selector": {"app": "nginx"},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}}}
    }))
    .unwrap();
    let rc = rcs.create(&pp, &rc).await.unwrap();
    settled(&rcs, 3).await;
    let list = pods_with(&pods, "app=nginx").await;
    assert_eq!(list.len(), 3, "the orphan counts as one of three");
    for p in &list {
        let o = &p.owner_references()[0];
        assert_eq!(
            (o.api_version.as_str(), o.kind.as_str(), o.name.as_str()),
            ("v1", "ReplicationController", "nginx")
        );
        assert_eq!(o.uid, rc.uid().unwrap());
        assert_eq!(o.controller, Some(true));
        if p.name_any() != "stray" {
            assert!(p.name_any().starts_with("nginx-"), "{}", p.name_any());
        }
    }
    assert!(list.iter().any(|p| p.name_any() == "stray"), "adopted");

    // A deleted pod is replaced.
    let victim = list
        .iter()
        .find(|p| p.name_any() != "stray")
        .unwrap()
        .name_any();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    wait_for("a replacement", T, || async {
        let l = pods_with(&pods, "app=nginx").await;
        let live: Vec<&Pod> = l
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        (live.len() == 3 && live.iter().all(|p| p.name_any() != victim)).then_some(())
    })
    .await;
    settled(&rcs, 3).await;

    // Scale down through the scale subresource, as kubectl does.
    if let Some(out) = server.kubectl(&["scale", "rc", "nginx", "--replicas=1"]) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        settled(&rcs, 1).await;
        let out = server.kubectl(&["get", "rc", "nginx"]).unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(&row[..4], ["nginx", "1", "1", "1"], "{text}");
    }
}
