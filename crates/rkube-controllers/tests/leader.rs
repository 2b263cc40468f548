//! Two controller managers, one Lease: only the holder acts; when it
//! stops, the other takes over.

mod common;

use std::time::Duration;

use common::{TestServer, labels, pods_with, wait_for};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use rkube_controllers::leader::LeaderElection;
use serde_json::json;
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(30);

fn election(identity: &str) -> LeaderElection {
    LeaderElection {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(200),
        ..LeaderElection::controller_manager(identity)
    }
}

fn manager(
    client: &Client,
    identity: &str,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let (tx, rx) = oneshot::channel::<()>();
    let client = client.clone();
    let e = election(identity);
    let h = tokio::spawn(async move {
        rkube_controllers::run_elected(client, &["replicaset"], e, async move {
            let _ = rx.await;
        })
        .await
    });
    (tx, h)
}

async fn holder(client: &Client) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    api.get_opt("kube-controller-manager")
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_acts_and_the_other_takes_over() {
    let server = TestServer::start();
    let client = server.client().await;
    let (stop_a, a) = manager(&client, "a");
    wait_for("a leads", T, || async {
        (holder(&client).await.as_deref() == Some("a")).then_some(())
    })
    .await;
    let (stop_b, b) = manager(&client, "b");

    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rs = ReplicaSet {
        metadata: ObjectMeta {
            name: Some("web".into()),
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(2),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "web")])),
                ..Default::default()
            },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("app", "web")])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "c".into(),
                        image: Some("nginx".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }),
            ..Default::default()
        },
        status: None,
    };
    sets.create(&PostParams::default(), &rs).await.unwrap();
    wait_for("2 pods", T, || async {
        (pods_with(&pods, "app=web").await.len() == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        pods_with(&pods, "app=web").await.len(),
        2,
        "two managers, no double creates"
    );
    assert_eq!(holder(&client).await.as_deref(), Some("a"));

    // a stops and releases the Lease: b takes over and acts.
    stop_a.send(()).unwrap();
    a.await.unwrap().unwrap();
    wait_for("b leads", T, || async {
        (holder(&client).await.as_deref() == Some("b")).then_some(())
    })
    .await;
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .unwrap();
    wait_for("3 pods", T, || async {
        (pods_with(&pods, "app=web").await.len() == 3).then_some(())
    })
    .await;
    stop_b.send(()).unwrap();
    b.await.unwrap().unwrap();
    server.stop();
}
