//! Namespace deletion, default ServiceAccounts and the garbage collector
//! (background, foreground, orphan, dangling owners) against a real rkube
//! server.

mod common;

use std::time::Duration;

use common::{TestServer, labels, pods_with, start_controllers, wait_for};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, Pod, PodSpec, PodTemplateSpec, ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn deployment(name: &str, replicas: i32) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", name)])),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("app", name)])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "c".into(),
                        image: Some("nginx:1".into()),
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

fn config_map(name: &str, owners: Vec<OwnerReference>) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: Some(owners).filter(|o| !o.is_empty()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn owner(kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: if kind == "ConfigMap" { "v1" } else { "apps/v1" }.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: None,
        block_owner_deletion: Some(true),
    }
}

async fn create_ns(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns).await.unwrap();
}

/// A deployment with its ReplicaSet and pods in place.
async fn deployment_with_pods(client: &Client, ns: &str, name: &str) -> (Deployment, ReplicaSet) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d = deployments
        .create(&PostParams::default(), &deployment(name, 2))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    wait_for("2 pods", T, || async {
        (pods_with(&pods, &format!("app={name}")).await.len() == 2).then_some(())
    })
    .await;
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let rs = sets
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .unwrap()
        .items
        .remove(0);
    (d, rs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_empties_and_removes_the_namespace() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, rkube_controllers::CONTROLLERS);
    create_ns(&client, "doomed").await;
    // The ServiceAccount controller gives it a default ServiceAccount.
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "doomed");
    wait_for("default ServiceAccount", T, || async {
        sas.get_opt("default").await.unwrap()
    })
    .await;
    sas.delete("default", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("default ServiceAccount again", T, || async {
        sas.get_opt("default").await.unwrap()
    })
    .await;

    deployment_with_pods(&client, "doomed", "web").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    cms.create(&PostParams::default(), &config_map("plain", vec![]))
        .await
        .unwrap();
    let mut held = config_map("held", vec![]);
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    // Everything goes but the object whose finalizer nobody removes; the
    // conditions say so.
    let conds = wait_for("content remaining", T, || async {
        let ns = namespaces.get_opt("doomed").await.unwrap()?;
        let conds = ns.status?.conditions?;
        let remaining = conds
            .iter()
            .find(|c| c.type_ == "NamespaceContentRemaining")?;
        (remaining.message.as_deref()
            == Some("Some resources are remaining: configmaps has 1 resource instances"))
        .then_some(conds)
    })
    .await;
    let fin = conds
        .iter()
        .find(|c| c.type_ == "NamespaceFinalizersRemaining")
        .unwrap();
    assert_eq!(fin.status, "True");
    assert_eq!(
        fin.message.as_deref(),
        Some(
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        )
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "doomed");
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "doomed");
    assert!(
        sets.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    wait_for("namespace gone", T, || async {
        namespaces
            .get_opt("doomed")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    controllers.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collector_background_foreground_and_orphan() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(&client, &["replicaset", "deployment", "garbagecollector"]);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // Background (the default): the Deployment goes at once, then its
    // ReplicaSet, then the pods.
    let (_, rs) = deployment_with_pods(&client, "default", "bg").await;
    deployments
        .delete("bg", &DeleteParams::default())
        .await
        .unwrap();
    assert!(deployments.get_opt("bg").await.unwrap().is_none());
    wait_for("ReplicaSet and pods collected", T, || async {
        let gone = sets.get_opt(&rs.name_any()).await.unwrap().is_none()
            && pods_with(&pods, "app=bg").await.is_empty();
        gone.then_some(())
    })
    .await;

    // Foreground: the Deployment stays, marked, until its dependents are
    // gone.
    let (_, rs) = deployment_with_pods(&client, "default", "fg").await;
    deployments
        .delete("fg", &DeleteParams::foreground())
        .await
        .unwrap();
    let d = deployments.get("fg").await.unwrap();
    assert!(d.metadata.deletion_timestamp.is_some());
    assert!(d.finalizers().contains(&"foregroundDeletion".to_string()));
    wait_for("foreground deletion done", T, || async {
        let gone = deployments.get_opt("fg").await.unwrap().is_none();
        if gone {
            assert!(sets.get_opt(&rs.name_any()).await.unwrap().is_none());
            assert!(pods_with(&pods, "app=fg").await.is_empty());
        }
        gone.then_some(())
    })
    .await;

    // Orphan: the Deployment goes, its ReplicaSet and pods stay, without
    // the owner reference.
    let (_, rs) = deployment_with_pods(&client, "default", "orph").await;
    deployments
        .delete("orph", &DeleteParams::orphan())
        .await
        .unwrap();
    wait_for("orphaning done", T, || async {
        deployments
            .get_opt("orph")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let left = sets.get(&rs.name_any()).await.unwrap();
    assert!(left.owner_references().is_empty());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pods_with(&pods, "app=orph").await.len(), 2);

    // Dangling owners: removed from an object that has another owner; an
    // object whose only owner never existed is collected.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let keeper = cms
        .create(&PostParams::default(), &config_map("keeper", vec![]))
        .await
        .unwrap();
    let keeper_ref = owner("ConfigMap", "keeper", &keeper.uid().unwrap());
    let ghost = owner("ConfigMap", "ghost", "00000000-0000-0000-0000-000000000001");
    cms.create(
        &PostParams::default(),
        &config_map("two-owners", vec![keeper_ref.clone(), ghost.clone()]),
    )
    .await
    .unwrap();
    cms.create(
        &PostParams::default(),
        &config_map("ghost-only", vec![ghost]),
    )
    .await
    .unwrap();
    wait_for("dangling owner dropped and orphan collected", T, || async {
        let two = cms.get("two-owners").await.unwrap();
        let only = cms.get_opt("ghost-only").await.unwrap();
        (two.owner_references() == [keeper_ref.clone()] && only.is_none()).then_some(())
    })
    .await;
    controllers.stop().await;
    server.stop();
}
