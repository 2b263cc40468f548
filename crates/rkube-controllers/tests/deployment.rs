//! The Deployment controller (with the ReplicaSet controller) against a
//! real rkube server: creation, rolling updates within their budget,
//! Recreate, pause, scaling, history limits, deadlines, and kubectl's
//! rollout history / undo / status.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, fake_kubelet, labels, pods_with, start_controllers, wait_for};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, ReplicaSet};
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// What `kubectl create deployment nginx --image=nginx:1 --replicas=N`
/// sends.
fn nginx(replicas: i32, image: &str) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("nginx".into()),
            labels: Some(labels(&[("app", "nginx")])),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "nginx")])),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("app", "nginx")])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "nginx".into(),
                        image: Some(image.into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        status: None,
    }
}

async fn set_image(api: &Api<Deployment>, image: &str) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}});
    api.patch("nginx", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Wait until the rollout of the latest spec is complete.
async fn rolled_out(api: &Api<Deployment>) -> Deployment {
    wait_for("rollout to finish", T, || async {
        let d = api.get("nginx").await.unwrap();
        if std::env::var("DEBUG_ROLLOUT").is_ok() {
            eprintln!("{:?} gen {:?}", d.status, d.metadata.generation);
        }
        let s = d.status.clone()?;
        let want = d.spec.replicas.unwrap_or(1);
        (s.observed_generation >= d.metadata.generation
            && s.updated_replicas == Some(want)
            && s.replicas == Some(want)
            && s.available_replicas == Some(want))
        .then_some(d)
    })
    .await
}

async fn replica_sets(client: &Client) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let mut v = api.list(&ListParams::default()).await.unwrap().items;
    // By revision: creation timestamps have whole seconds only.
    v.sort_by_key(|rs| revision(rs).parse::<i64>().unwrap_or(0));
    v
}

fn revision(rs: &ReplicaSet) -> &str {
    rs.annotations()
        .get("deployment.kubernetes.io/revision")
        .map(String::as_str)
        .unwrap_or("")
}

#[derive(Default, Debug)]
struct Sample {
    max_active: usize,
    min_ready: usize,
    max_old_and_new: usize,
    events: usize,
}

/// Watch the nginx pods and record, after every change, how many are
/// active and how many of those are ready.
fn sample_pods(client: &Client) -> (Arc<Mutex<Sample>>, tokio::task::JoinHandle<()>) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sample = Arc::new(Mutex::new(Sample {
        min_ready: usize::MAX,
        ..Default::default()
    }));
    let out = Arc::clone(&sample);
    let task = tokio::spawn(async move {
        let mut pods: HashMap<String, Pod> = HashMap::new();
        let mut listing = false;
        let s = watcher(api, watcher::Config::default().labels("app=nginx"));
        futures::pin_mut!(s);
        while let Some(ev) = s.next().await {
            let Ok(ev) = ev else { continue };
            match ev {
                watcher::Event::Init => {
                    listing = true;
                    pods.clear();
                }
                watcher::Event::InitApply(p) => {
                    pods.insert(p.name_any(), p);
                }
                watcher::Event::InitDone => listing = false,
                watcher::Event::Apply(p) => {
                    pods.insert(p.name_any(), p);
                }
                watcher::Event::Delete(p) => {
                    pods.remove(&p.name_any());
                }
            }
            if listing {
                continue;
            }
            let active: Vec<&Pod> = pods
                .values()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            let ready = active.iter().filter(|p| common::is_ready(p)).count();
            let hashes: std::collections::HashSet<&str> = active
                .iter()
                .filter_map(|p| p.labels().get("pod-template-hash").map(String::as_str))
                .collect();
            let mut s = out.lock().unwrap();
            s.events += 1;
            s.max_active = s.max_active.max(active.len());
            s.min_ready = s.min_ready.min(ready);
            s.max_old_and_new = s.max_old_and_new.max(hashes.len());
        }
    });
    (sample, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_creates_its_replica_set_and_pods() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment"]);
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(100));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &nginx(5, "nginx:1"))
        .await
        .unwrap();
    let d = rolled_out(&deployments).await;

    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 1);
    let rs = &sets[0];
    let hash = rs.labels()["pod-template-hash"].clone();
    assert_eq!(rs.name_any(), format!("nginx-{hash}"));
    assert!(
        hash.len() <= 10 && hash.chars().all(|c| "456789bcdf".contains(c)),
        "{hash}"
    );
    assert_eq!(revision(rs), "1");
    assert_eq!(
        rs.annotations()["deployment.kubernetes.io/desired-replicas"],
        "5"
    );
    assert_eq!(
        rs.annotations()["deployment.kubernetes.io/max-replicas"],
        "7"
    );
    assert_eq!(
        rs.spec.selector.match_labels.as_ref().unwrap()["pod-template-hash"],
        hash
    );
    let owner = &rs.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Deployment", "nginx")
    );
    assert_eq!(owner.controller, Some(true));
    assert_eq!(owner.block_owner_deletion, Some(true));

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let ps = pods_with(&pods, "app=nginx").await;
    assert_eq!(ps.len(), 5);
    assert!(
        ps.iter()
            .all(|p| p.name_any().starts_with(&format!("nginx-{hash}-")))
    );

    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "1");
    let s = d.status.unwrap();
    assert_eq!(s.observed_generation, d.metadata.generation);
    assert_eq!(s.ready_replicas, Some(5));
    assert_eq!(s.unavailable_replicas.unwrap_or(0), 0);
    let cond = |t: &str| {
        s.conditions
            .iter()
            .flatten()
            .find(|c| c.type_.as_deref() == Some(t))
            .cloned()
            .unwrap()
    };
    let available = cond("Available");
    assert_eq!(available.status.as_deref(), Some("True"));
    assert_eq!(
        available.reason.as_deref(),
        Some("MinimumReplicasAvailable")
    );
    // The final Progressing reason may lag the counts by one write.
    let progressing = wait_for("NewReplicaSetAvailable", T, || async {
        let d = deployments.get("nginx").await.unwrap();
        d.status?.conditions?.into_iter().find(|c| {
            c.type_.as_deref() == Some("Progressing")
                && c.reason.as_deref() == Some("NewReplicaSetAvailable")
        })
    })
    .await;
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("ReplicaSet \"nginx-{hash}\" has successfully progressed.").as_str())
    );

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let evs = events.list(&ListParams::default()).await.unwrap().items;
    let scaled = evs
        .iter()
        .find(|e| e.reason.as_deref() == Some("ScalingReplicaSet"))
        .expect("ScalingReplicaSet event");
    assert_eq!(
        scaled.message.as_deref(),
        Some(format!("Scaled up replica set nginx-{hash} from 0 to 5").as_str())
    );
    assert_eq!(
        scaled.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("deployment-controller")
    );
    assert_eq!(scaled.involved_object.kind.as_deref(), Some("Deployment"));

    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_stays_within_max_surge_and_max_unavailable() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment"]);
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(300));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    // 25%/25% of 5: at most 7 pods, at least 4 ready.
    deployments
        .create(&PostParams::default(), &nginx(5, "nginx:1"))
        .await
        .unwrap();
    rolled_out(&deployments).await;
    let (sample, task) = sample_pods(&client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_image(&deployments, "nginx:1.21").await;
    let d = rolled_out(&deployments).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    task.abort();
    let s = std::mem::take(&mut *sample.lock().unwrap());
    eprintln!("rolling update sample: {s:?}");
    assert!(s.events > 10, "sampled {s:?}");
    assert!(s.max_active <= 7, "more than replicas+maxSurge pods: {s:?}");
    assert!(
        s.min_ready >= 4,
        "fewer than replicas-maxUnavailable ready: {s:?}"
    );
    assert_eq!(s.max_old_and_new, 2, "{s:?}");

    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 2);
    assert_eq!(revision(&sets[0]), "1");
    assert_eq!(sets[0].spec.replicas, Some(0));
    assert_eq!(revision(&sets[1]), "2");
    assert_eq!(sets[1].spec.replicas, Some(5));
    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "2");
    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_removes_old_pods_before_creating_new_ones() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment"]);
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(100));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let mut d = nginx(3, "nginx:1");
    d.spec.strategy = Some(DeploymentStrategy {
        type_: Some("Recreate".into()),
        rolling_update: None,
    });
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    rolled_out(&deployments).await;
    let (sample, task) = sample_pods(&client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_image(&deployments, "nginx:1.21").await;
    rolled_out(&deployments).await;
    task.abort();
    let s = std::mem::take(&mut *sample.lock().unwrap());
    assert_eq!(s.max_old_and_new, 1, "old and new pods together: {s:?}");
    assert!(s.max_active <= 3, "{s:?}");
    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_deployments_scale_but_do_not_roll_out() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment"]);
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(50));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &nginx(2, "nginx:1"))
        .await
        .unwrap();
    rolled_out(&deployments).await;
    let pause = json!({"spec": {"paused": true}});
    deployments
        .patch("nginx", &PatchParams::default(), &Patch::Merge(&pause))
        .await
        .unwrap();
    wait_for("DeploymentPaused", T, || async {
        let d = deployments.get("nginx").await.unwrap();
        d.status?
            .conditions?
            .into_iter()
            .find(|c| c.reason.as_deref() == Some("DeploymentPaused"))
    })
    .await;
    set_image(&deployments, "nginx:1.21").await;
    let scale = json!({"spec": {"replicas": 4}});
    deployments
        .patch("nginx", &PatchParams::default(), &Patch::Merge(&scale))
        .await
        .unwrap();
    let s = wait_for("scaled while paused", T, || async {
        let d = deployments.get("nginx").await.unwrap();
        let s = d.status?;
        (s.observed_generation >= d.metadata.generation && s.available_replicas == Some(4))
            .then_some(s)
    })
    .await;
    // No ReplicaSet has the new template: none of the pods is updated.
    assert_eq!(s.updated_replicas, Some(0));
    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 1, "no new ReplicaSet while paused");
    assert_eq!(sets[0].spec.replicas, Some(4));
    let resume = json!({"spec": {"paused": false}});
    deployments
        .patch("nginx", &PatchParams::default(), &Patch::Merge(&resume))
        .await
        .unwrap();
    let d = rolled_out(&deployments).await;
    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "2");
    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[1].spec.replicas, Some(4));
    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_limit_and_progress_deadline() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment"]);
    let kubelet = fake_kubelet(&client, "default", Duration::from_millis(50));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let mut d = nginx(1, "nginx:1");
    d.spec.revision_history_limit = Some(1);
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    rolled_out(&deployments).await;
    for image in ["nginx:1.20", "nginx:1.21", "nginx:1.22"] {
        set_image(&deployments, image).await;
        rolled_out(&deployments).await;
    }
    let sets = wait_for("old ReplicaSets cleaned up", T, || async {
        let sets = replica_sets(&client).await;
        (sets.len() == 2).then_some(sets)
    })
    .await;
    assert_eq!(revision(&sets[0]), "3");
    assert_eq!(revision(&sets[1]), "4");

    // No pod of the next revision ever turns ready: the deadline passes.
    drop(kubelet);
    let patch = json!({"spec": {"progressDeadlineSeconds": 2}});
    deployments
        .patch("nginx", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    set_image(&deployments, "nginx:broken").await;
    let c = wait_for("ProgressDeadlineExceeded", T, || async {
        let d = deployments.get("nginx").await.unwrap();
        d.status?
            .conditions?
            .into_iter()
            .find(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    })
    .await;
    assert_eq!(c.status.as_deref(), Some("False"));
    assert!(c.message.unwrap().ends_with("has timed out progressing."));
    if let Some(out) = server.kubectl(&["rollout", "status", "deployment/nginx", "--timeout=20s"]) {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("deployment \"nginx\" exceeded its progress deadline"),
            "{err}"
        );
    }
    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_a_stuck_rollout_is_proportional() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment"]);
    let kubelet = fake_kubelet(&client, "default", Duration::from_millis(50));
    kubelet.hold.lock().unwrap().insert("nginx:broken".into());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let mut d = nginx(10, "nginx:1");
    d.spec.strategy = Some(DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(k8s_openapi::api::apps::v1::RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(3)),
            max_unavailable: Some(IntOrString::Int(2)),
        }),
    });
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    rolled_out(&deployments).await;
    set_image(&deployments, "nginx:broken").await;
    // Stuck: the new pods never turn ready; 8 old stay available.
    let stuck = wait_for("stuck rollout", T, || async {
        let sets = replica_sets(&client).await;
        let sizes: Vec<i32> = sets
            .iter()
            .map(|rs| rs.spec.replicas.unwrap_or(0))
            .collect();
        (sizes == [8, 5]).then_some(sizes)
    })
    .await;
    assert_eq!(stuck, [8, 5]);
    let scale = json!({"spec": {"replicas": 15}});
    deployments
        .patch("nginx", &PatchParams::default(), &Patch::Merge(&scale))
        .await
        .unwrap();
    // 15 + 3 allowed: the 5 extra go 3 to the old ReplicaSet (8 of 13)
    // and 2 to the new one (5 of 13).
    let sets = wait_for("proportional scale", T, || async {
        let sets = replica_sets(&client).await;
        let sizes: Vec<i32> = sets
            .iter()
            .map(|rs| rs.spec.replicas.unwrap_or(0))
            .collect();
        (sizes.iter().sum::<i32>() == 18).then_some(sets)
    })
    .await;
    let sizes: Vec<i32> = sets
        .iter()
        .map(|rs| rs.spec.replicas.unwrap_or(0))
        .collect();
    assert_eq!(sizes, [11, 7]);
    for rs in &sets {
        assert_eq!(
            rs.annotations()["deployment.kubernetes.io/desired-replicas"],
            "15"
        );
        assert_eq!(
            rs.annotations()["deployment.kubernetes.io/max-replicas"],
            "18"
        );
    }
    controllers.stop().await;
    server.stop();
}
