//! The HorizontalPodAutoscaler controller holds its target within
//! [minReplicas, maxReplicas], as `kubectl autoscale deployment nginx
//! --min=5 --max=10` in the article expects, and follows CPU usage from the
//! resource metrics API, which the pods' `metrics.rkube.io/cpu` annotation
//! drives.

mod common;

use std::time::Duration;

use common::{TestServer, fake_kubelet, is_ready, labels, pods_with, start_controllers, wait_for};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
    HorizontalPodAutoscalerStatus,
};
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
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

async fn replicas_of(api: &Api<Deployment>, name: &str) -> i32 {
    api.get(name).await.unwrap().spec.replicas.unwrap_or(1)
}

async fn replicas(api: &Api<Deployment>) -> i32 {
    replicas_of(api, "nginx").await
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

fn condition<'a>(s: &'a HorizontalPodAutoscalerStatus, type_: &str) -> Option<(&'a str, &'a str)> {
    let c = s.conditions.iter().flatten().find(|c| c.type_ == type_)?;
    Some((c.status.as_str(), c.reason.as_deref().unwrap_or("")))
}

/// Sets the CPU usage every `app=web` pod reports.
async fn set_cpu(pods: &Api<Pod>, usage: &str) {
    for p in pods_with(pods, "app=web").await {
        let patch = json!({"metadata": {"annotations": {"metrics.rkube.io/cpu": usage}}});
        pods.patch(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    }
}

/// Waits for a SuccessfulRescale event with this message (events are
/// written in the background).
async fn wait_rescale_event(client: &Client, message: &str) {
    wait_for(message, T, || async {
        rescale_messages(client)
            .await
            .iter()
            .any(|m| m == message)
            .then_some(())
    })
    .await;
}

async fn rescale_messages(client: &Client) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("SuccessfulRescale"))
        .filter_map(|e| e.message)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_follows_cpu_utilization() {
    let server = TestServer::start();
    let client = server.client().await;
    let controllers = start_controllers(
        &client,
        &["replicaset", "deployment", "horizontalpodautoscaling"],
    );
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(100));
    let mut web = nginx();
    web.metadata.name = Some("web".into());
    web.spec.selector.match_labels = Some(labels(&[("app", "web")]));
    let template = &mut web.spec.template;
    template.metadata.as_mut().unwrap().labels = Some(labels(&[("app", "web")]));
    template.spec.as_mut().unwrap().containers[0].resources = Some(
        serde_json::from_value(json!({"requests": {"cpu": "100m", "memory": "64Mi"}})).unwrap(),
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &web)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    wait_for("1 ready pod", T, || async {
        let ready = pods_with(&pods, "app=web").await;
        (ready.len() == 1 && ready.iter().all(is_ready)).then_some(())
    })
    .await;

    // 50% of the request is the target; a 20 s scale-down window, longer
    // than one 15 s sync period, so one sync sees it hold.
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 20}},
        },
    }))
    .unwrap();
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "default");
    hpas.create(&PostParams::default(), &hpa).await.unwrap();
    let s = wait_for("metrics in the status", T, || async {
        let s = hpas.get("web").await.unwrap().status?;
        (condition(&s, "ScalingActive")? == ("True", "ValidMetricFound")).then_some(s)
    })
    .await;
    // The default usage is half the request: below target, at the minimum.
    let current = &s.current_metrics.as_ref().unwrap()[0];
    let cpu = current.resource.as_ref().unwrap();
    assert_eq!(cpu.current.average_utilization, Some(50));
    assert_eq!(cpu.current.average_value.as_ref().unwrap().0, "50m");
    assert_eq!(replicas_of(&deployments, "web").await, 1);

    // 150% of the request against 50%: three times the pods, the maximum.
    set_cpu(&pods, "150m").await;
    wait_for("3 replicas", Duration::from_secs(40), || async {
        (replicas_of(&deployments, "web").await == 3).then_some(())
    })
    .await;
    wait_rescale_event(
        &client,
        "New size: 3; reason: cpu resource utilization (percentage of request) above target",
    )
    .await;
    // The status follows the event.
    wait_for("status after the rescale", T, || async {
        let s = hpas.get("web").await.unwrap().status?;
        (s.desired_replicas == 3 && s.last_scale_time.is_some()).then_some(())
    })
    .await;
    if let Some(out) = server.kubectl(&["get", "hpa", "web", "--no-headers"]) {
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[1], "Deployment/web", "{line}");
        assert_eq!(cols[2], "cpu:", "{line}");
        assert!(cols[3].ends_with("%/50%"), "{line}");
        assert_eq!(&cols[4..6], ["1", "3"], "{line}");
    }
    // The new pods use half their request: (150 + 50 + 50) / 300 = 83%
    // asks for 5, which maxReplicas caps.
    let s = wait_for("ScalingLimited", T, || async {
        let s = hpas.get("web").await.unwrap().status?;
        (condition(&s, "ScalingLimited")? == ("True", "TooManyReplicas")).then_some(s)
    })
    .await;
    assert_eq!(s.current_replicas, Some(3));

    // Usage drops: the window holds the scale-down for one sync, then the
    // HPA goes down to what 5% asks for.
    set_cpu(&pods, "5m").await;
    wait_for("ScaleDownStabilized", Duration::from_secs(20), || async {
        let s = hpas.get("web").await.unwrap().status?;
        (condition(&s, "AbleToScale")? == ("True", "ScaleDownStabilized")).then_some(())
    })
    .await;
    assert_eq!(
        replicas_of(&deployments, "web").await,
        3,
        "held by the window"
    );
    wait_for("1 replica", Duration::from_secs(40), || async {
        (replicas_of(&deployments, "web").await == 1).then_some(())
    })
    .await;
    wait_rescale_event(&client, "New size: 1; reason: All metrics below target").await;
    controllers.stop().await;
    server.stop();
}
