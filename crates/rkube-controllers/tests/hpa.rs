//! The HorizontalPodAutoscaler controller holds its target within
//! [minReplicas, maxReplicas], as `kubectl autoscale deployment nginx
//! --min=5 --max=10` in the article expects.

mod common;

use std::time::Duration;

use common::{TestServer, labels, pods_with, start_controllers, wait_for};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn nginx() -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("nginx".into()),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(1),
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

async fn replicas(api: &Api<Deployment>) -> i32 {
    api.get("nginx").await.unwrap().spec.replicas.unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_enforces_min_and_max_at_once() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(
        &client,
        &["replicaset", "deployment", "horizontalpodautoscaling"],
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &nginx())
        .await
        .unwrap();

    let kubectl = server.kubectl(&["autoscale", "deployment", "nginx", "--min=5", "--max=10"]);
    match kubectl {
        Some(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "horizontalpodautoscaler.autoscaling/nginx autoscaled\n"
            );
        }
        None => {
            let hpa = HorizontalPodAutoscaler {
                metadata: ObjectMeta {
                    name: Some("nginx".into()),
                    ..Default::default()
                },
                spec: HorizontalPodAutoscalerSpec {
                    min_replicas: Some(5),
                    max_replicas: 10,
                    scale_target_ref: CrossVersionObjectReference {
                        api_version: Some("apps/v1".into()),
                        kind: "Deployment".into(),
                        name: "nginx".into(),
                    },
                    ..Default::default()
                },
                status: None,
            };
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "default");
            api.create(&PostParams::default(), &hpa).await.unwrap();
        }
    }
    // At once: well before the 15 s resync.
    wait_for("5 replicas", Duration::from_secs(5), || async {
        (replicas(&deployments).await == 5).then_some(())
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    wait_for("5 pods", T, || async {
        (pods_with(&pods, "app=nginx").await.len() == 5).then_some(())
    })
    .await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "default");
    let s = wait_for("HPA status", T, || async {
        let s = hpas.get("nginx").await.unwrap().status?;
        (s.desired_replicas == 5).then_some(s)
    })
    .await;
    assert!(matches!(s.current_replicas, Some(1) | Some(5)), "{s:?}");
    assert!(s.last_scale_time.is_some());
    let able = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "AbleToScale")
        .unwrap();
    assert_eq!(able.status, "True");
    let events = server
        .kubectl(&[
            "get",
            "events",
            "--field-selector",
            "reason=SuccessfulRescale",
            "-o",
            "name",
        ])
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
    if let Some(ev) = events {
        assert!(ev.contains("event/nginx."), "{ev}");
    }

    // Above the maximum: back to 10.
    deployments
        .patch(
            "nginx",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 12}})),
        )
        .await
        .unwrap();
    wait_for("10 replicas", Duration::from_secs(5), || async {
        (replicas(&deployments).await == 10).then_some(())
    })
    .await;
    // Within bounds nothing changes, and the HPA says it has no metrics.
    let s = wait_for("ScalingActive=False", T, || async {
        let s = hpas.get("nginx").await.unwrap().status?;
        let c = s
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "ScalingActive")?
            .clone();
        (s.current_replicas == Some(10)).then_some(c)
    })
    .await;
    assert_eq!(s.status, "False");
    assert_eq!(s.reason.as_deref(), Some("FailedGetResourceMetric"));
    assert_eq!(replicas(&deployments).await, 10);
    controllers.stop().await;
    server.stop();
}
