//! The ReplicaSet controller against a real rkube server.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, fake_kubelet, labels, pods_with, start_controllers, wait_for};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

fn replica_set(name: &str, replicas: i32, app: &str) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", app)])),
                ..Default::default()
            },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("app", app), ("pod-template-hash", "abc")])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "nginx".into(),
                        image: Some("nginx:1".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }),
            ..Default::default()
        },
        status: None,
    }
}

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_set_keeps_its_pods_and_replaces_a_deleted_one() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset"]);
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(100));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");

    // Every pod name ever created, from a watch started before the RS.
    let created: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen = Arc::clone(&created);
    let watch_api = pods.clone();
    let watch = tokio::spawn(async move {
        let s = watcher(watch_api, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(s);
        while let Some(Ok(p)) = s.next().await {
            seen.lock().unwrap().insert(p.name_any());
        }
    });

    let rs = sets
        .create(&PostParams::default(), &replica_set("web", 3, "web"))
        .await
        .unwrap();
    let list = wait_for("3 ready pods", T, || async {
        let ps = pods_with(&pods, "app=web").await;
        (ps.len() == 3 && ps.iter().all(common::is_ready)).then_some(ps)
    })
    .await;
    for p in &list {
        assert!(p.name_any().starts_with("web-"), "{}", p.name_any());
        assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(
            p.labels().get("pod-template-hash").map(String::as_str),
            Some("abc")
        );
        let owner = &p.owner_references()[0];
        assert_eq!(owner.api_version, "apps/v1");
        assert_eq!(owner.kind, "ReplicaSet");
        assert_eq!(owner.name, "web");
        assert_eq!(owner.uid, rs.uid().unwrap());
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
        // As in the article's watch output.
        let mf = &p.metadata.managed_fields.as_ref().expect("managedFields")[0];
        assert_eq!(mf.manager.as_deref(), Some("kube-controller-manager"));
        assert_eq!(mf.operation.as_deref(), Some("Update"));
    }
    let status = wait_for("status with 3 available", T, || async {
        let s = sets.get_status("web").await.unwrap().status?;
        (s.available_replicas == Some(3)).then_some(s)
    })
    .await;
    assert_eq!(status.replicas, 3);
    assert_eq!(status.fully_labeled_replicas, Some(3));
    assert_eq!(status.ready_replicas, Some(3));
    assert_eq!(status.observed_generation, Some(1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(created.lock().unwrap().len(), 3, "no pod created twice");

    // Delete one: a new one replaces it.
    let victim = list[0].name_any();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    wait_for("a replacement pod", T, || async {
        let ps = pods_with(&pods, "app=web").await;
        (ps.len() == 3 && ps.iter().all(|p| p.name_any() != victim)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(created.lock().unwrap().len(), 4, "exactly one replacement");

    // Scale down to 1: two go, the status follows.
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .unwrap();
    wait_for("1 pod and status", T, || async {
        let ps = pods_with(&pods, "app=web").await;
        let s = sets.get_status("web").await.unwrap().status?;
        (ps.len() == 1 && s.replicas == 1 && s.observed_generation == Some(2)).then_some(())
    })
    .await;

    // Events as the replicaset-controller writes them.
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let evs = events.list(&ListParams::default()).await.unwrap().items;
    let create_ev = evs
        .iter()
        .find(|e| e.reason.as_deref() == Some("SuccessfulCreate"))
        .expect("SuccessfulCreate event");
    assert!(
        create_ev
            .message
            .as_deref()
            .unwrap()
            .starts_with("Created pod: web-")
    );
    assert_eq!(
        create_ev
            .source
            .as_ref()
            .and_then(|s| s.component.as_deref()),
        Some("replicaset-controller")
    );
    assert_eq!(
        create_ev.reporting_component.as_deref(),
        Some("replicaset-controller")
    );
    assert_eq!(
        create_ev.involved_object.kind.as_deref(),
        Some("ReplicaSet")
    );
    assert!(evs.iter().any(|e| {
        e.reason.as_deref() == Some("SuccessfulDelete")
            && e.message
                .as_deref()
                .unwrap()
                .starts_with("Deleted pod: web-")
    }));

    watch.abort();
    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_set_adopts_orphans_and_releases_pods_it_no_longer_selects() {
    let server = TestServer::start();
    let client = server.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    // Two orphans that match, made before the controller runs.
    for i in 0..2 {
        let mut p = common_pod(&format!("orphan-{i}"), "api");
        p.metadata.labels = Some(labels(&[("app", "api")]));
        pods.create(&PostParams::default(), &p).await.unwrap();
    }
    let rs = sets
        .create(&PostParams::default(), &replica_set("api", 3, "api"))
        .await
        .unwrap();
    let controllers = start_controllers(&client, &["replicaset"]);
    let ps = wait_for("3 owned pods", T, || async {
        let ps = pods_with(&pods, "app=api").await;
        let owned = ps
            .iter()
            .filter(|p| {
                p.owner_references()
                    .iter()
                    .any(|r| Some(&r.uid) == rs.uid().as_ref())
            })
            .count();
        (ps.len() == 3 && owned == 3).then_some(ps)
    })
    .await;
    assert!(ps.iter().any(|p| p.name_any() == "orphan-0"));
    assert!(ps.iter().any(|p| p.name_any() == "orphan-1"));

    // Relabel one: it is released and replaced.
    pods.patch(
        "orphan-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .unwrap();
    wait_for("release and replacement", T, || async {
        let p = pods.get("orphan-0").await.unwrap();
        let ps = pods_with(&pods, "app=api").await;
        (p.owner_references().is_empty() && ps.len() == 3).then_some(())
    })
    .await;
    controllers.stop().await;
    server.stop();
}

fn common_pod(name: &str, app: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels(&[("app", app)])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    }
}
