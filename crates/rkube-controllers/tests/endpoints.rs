//! The Endpoints and EndpointSlice controllers against a real server:
//! pods run on simulated nodes (so they have real pod IPs), a Service with
//! a named targetPort selects them, and `kubectl get endpoints` shows them.

mod common;

use std::time::Duration;

use common::{TestServer, start_controllers, start_default_cluster, wait_for};
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

fn pod(name: &str, port: i32, never_ready: bool) -> Pod {
    let mut c = json!({
        "name": "web",
        "image": "nginx:1",
        "ports": [{"name": "web", "containerPort": port}]
    });
    if never_ready {
        c["readinessProbe"] = json!({"initialDelaySeconds": 600, "httpGet": {"port": port}});
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "web"}, "finalizers": ["rkube.io/test-hold"]},
        "spec": {"containers": [c]}
    }))
    .unwrap()
}

fn ip_of(p: &Pod) -> Option<String> {
    p.status.as_ref()?.pod_ip.clone()
}

async fn release(pods: &Api<Pod>, name: &str) {
    let _ = pods
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
}

async fn slices_of(api: &Api<EndpointSlice>, svc: &str) -> Vec<EndpointSlice> {
    api.list(&ListParams::default().labels(&format!("kubernetes.io/service-name={svc}")))
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_and_slices_follow_pod_readiness() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers(&client, &["endpoint", "endpointslice"]);
    let _cluster = start_default_cluster(&client, 2);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();

    for (name, ready) in [("web-a", true), ("web-b", true), ("web-slow", false)] {
        pods.create(&pp, &pod(name, 8080, !ready)).await.unwrap();
    }
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"tier": "front"}},
        "spec": {"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "web"}
        ]}
    }))
    .unwrap();
    services.create(&pp, &svc).await.unwrap();

    let running = wait_for("three pods with IPs", T, || async {
        let l = pods.list(&ListParams::default()).await.ok()?.items;
        (l.len() == 3 && l.iter().all(|p| ip_of(p).is_some())).then_some(l)
    })
    .await;
    let ip = |n: &str| {
        running
            .iter()
            .find(|p| p.name_any() == n)
            .and_then(ip_of)
            .unwrap()
    };
    let mut ready_ips = vec![ip("web-a"), ip("web-b")];
    ready_ips.sort();

    let ep = wait_for("Endpoints with both ready pods", T, || async {
        let e = endpoints.get_opt("web").await.ok()??;
        let s = e.subsets.clone()?.into_iter().next()?;
        let ips: Vec<String> = s.addresses.iter().flatten().map(|a| a.ip.clone()).collect();
        let not_ready = s.not_ready_addresses.clone().unwrap_or_default();
        (ips == ready_ips && not_ready.len() == 1).then_some(e)
    })
    .await;
    let subset = &ep.subsets.as_ref().unwrap()[0];
    let ports = subset.ports.as_ref().unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].name.as_deref(), Some("http"));
    assert_eq!(ports[0].port, 8080, "the named targetPort resolved");
    assert_eq!(ports[0].protocol.as_deref(), Some("TCP"));
    let nr = &subset.not_ready_addresses.as_ref().unwrap()[0];
    assert_eq!(nr.ip, ip("web-slow"));
    let a = &subset.addresses.as_ref().unwrap()[0];
    let target = a.target_ref.as_ref().unwrap();
    assert_eq!(target.kind.as_deref(), Some("Pod"));
    assert!(target.uid.is_some());
    assert!(a.node_name.as_deref().unwrap().starts_with("rkube-worker"));
    assert_eq!(ep.labels().get("tier").map(String::as_str), Some("front"));

    let slice = wait_for("an EndpointSlice with three endpoints", T, || async {
        let s = slices_of(&slices, "web").await;
        (s.len() == 1 && s[0].endpoints.as_ref().map_or(0, Vec::len) == 3).then(|| s[0].clone())
    })
    .await;
    assert_eq!(slice.address_type, "IPv4");
    assert_eq!(
        slice
            .labels()
            .get("endpointslice.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    let owner = &slice.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Service", "web")
    );
    let sp = &slice.ports.as_ref().unwrap()[0];
    assert_eq!((sp.name.as_deref(), sp.port), (Some("http"), Some(8080)));
    for e in slice.endpoints.as_ref().unwrap() {
        let c = e.conditions.clone().unwrap();
        let slow = e.addresses[0] == ip("web-slow");
        assert_eq!(c.ready, Some(!slow), "{:?}", e.addresses);
        assert_eq!(c.serving, Some(!slow));
        assert_eq!(c.terminating, Some(false));
    }

    if let Some(out) = server.kubectl(&["get", "endpoints", "web"]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.starts_with("NAME"), "{text}");
        for ip in &ready_ips {
            assert!(text.contains(&format!("{ip}:8080")), "{text}");
        }
        assert!(
            !text.contains(&ip("web-slow")),
            "not-ready pods are not shown: {text}"
        );
    }

    // A terminating pod leaves Endpoints but stays in the slice, marked.
    pods.delete("web-a", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("web-a to leave Endpoints", T, || async {
        let e = endpoints.get("web").await.ok()?;
        let ips: Vec<String> = e
            .subsets
            .iter()
            .flatten()
            .flat_map(|s| s.addresses.iter().flatten())
            .map(|a| a.ip.clone())
            .collect();
        (ips == vec![ip("web-b")]).then_some(())
    })
    .await;
    wait_for("web-a terminating in the slice", T, || async {
        let s = slices_of(&slices, "web").await;
        let e = s
            .first()?
            .endpoints
            .iter()
            .flatten()
            .find(|e| e.addresses[0] == ip("web-a"))?
            .clone();
        let c = e.conditions?;
        (c.terminating == Some(true) && c.ready == Some(false)).then_some(())
    })
    .await;
    release(&pods, "web-a").await;
    wait_for("web-a gone from the slice", T, || async {
        let s = slices_of(&slices, "web").await;
        (s.first()?.endpoints.as_ref().map_or(0, Vec::len) == 2).then_some(())
    })
    .await;

    // The controllers leave the selector-less `kubernetes` Service alone.
    if let Some(e) = endpoints.get_opt("kubernetes").await.unwrap() {
        assert!(
            !e.labels()
                .contains_key("endpoints.kubernetes.io/managed-by"),
            "the API server's endpoints are not ours"
        );
    }
    assert!(slices_of(&slices, "kubernetes").await.iter().all(|s| {
        s.labels()
            .get("endpointslice.kubernetes.io/managed-by")
            .map(String::as_str)
            != Some("endpointslice-controller.k8s.io")
    }));

    // Deleting the Service removes its Endpoints.
    services
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the Endpoints to go with the Service", T, || async {
        endpoints.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    for n in ["web-b", "web-slow"] {
        release(&pods, n).await;
    }
}
