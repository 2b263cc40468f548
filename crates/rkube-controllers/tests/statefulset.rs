//! The StatefulSet controller against a real server with simulated nodes
//! and the scheduler: ordered creation, identity labels, claims, rolling
//! update from the highest ordinal, scale-down order, Parallel creation,
//! and `kubectl rollout status`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, is_ready, start_controllers, start_default_cluster, wait_for};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

const T: Duration = Duration::from_secs(90);

fn set(name: &str, replicas: i32, policy: &str, never_ready: bool) -> StatefulSet {
    let mut c = json!({"name": "nginx", "image": "nginx:1"});
    if never_ready {
        c["readinessProbe"] = json!({"initialDelaySeconds": 600, "tcpSocket": {"port": 80}});
    }
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "podManagementPolicy": policy,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [c]}},
            "volumeClaimTemplates": [{"metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]
        }
    }))
    .unwrap()
}

/// Every change of the namespace's pods, in order: (name, ready,
/// revision label, being deleted).
type Log = Arc<Mutex<Vec<(String, bool, String, bool)>>>;

fn record(pods: Api<Pod>) -> (Log, tokio::task::JoinHandle<()>) {
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    let h = tokio::spawn(async move {
        let s = watcher(pods, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(s);
        while let Some(Ok(p)) = s.next().await {
            let rev = p
                .labels()
                .get("controller-revision-hash")
                .cloned()
                .unwrap_or_default();
            l.lock().unwrap().push((
                p.name_any(),
                is_ready(&p),
                rev,
                p.metadata.deletion_timestamp.is_some(),
            ));
        }
    });
    (log, h)
}

async fn settled(api: &Api<StatefulSet>, name: &str, n: i32) -> StatefulSet {
    wait_for(&format!("{name} to settle at {n}"), T, || async {
        let s = api.get(name).await.ok()?;
        let st = s.status.clone()?;
        (st.observed_generation == s.metadata.generation
            && st.replicas == n
            && st.ready_replicas == Some(n)
            && st.updated_replicas == Some(n)
            && st.current_revision == st.update_revision)
            .then_some(s)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_creation_rolling_update_and_scale_down() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers(&client, &["statefulset"]);
    let _cluster = start_default_cluster(&client, 2);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let revs: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let (log, watch) = record(pods.clone());

    sets.create(
        &PostParams::default(),
        &set("web", 3, "OrderedReady", false),
    )
    .await
    .unwrap();
    let s = settled(&sets, "web", 3).await;
    let st = s.status.clone().unwrap();
    let rev1 = st.update_revision.clone().unwrap();
    assert!(rev1.starts_with("web-"), "{rev1}");
    assert_eq!(st.current_replicas, Some(3));
    assert_eq!(st.available_replicas, Some(3));
    assert_eq!(st.collision_count, Some(0));

    // OrderedReady: web-N appears only after web-(N-1) was seen Ready.
    {
        let log = log.lock().unwrap();
        let first_seen = |n: &str| log.iter().position(|e| e.0 == n).unwrap();
        let first_ready = |n: &str| log.iter().position(|e| e.0 == n && e.1).unwrap();
        assert!(first_ready("web-0") < first_seen("web-1"), "{log:?}");
        assert!(first_ready("web-1") < first_seen("web-2"), "{log:?}");
    }
    for i in 0..3 {
        let p = pods.get(&format!("web-{i}")).await.unwrap();
        let l = p.labels();
        assert_eq!(l["statefulset.kubernetes.io/pod-name"], format!("web-{i}"));
        assert_eq!(l["apps.kubernetes.io/pod-index"], i.to_string());
        assert_eq!(l["controller-revision-hash"], rev1);
        let spec = p.spec.unwrap();
        assert_eq!(spec.hostname, Some(format!("web-{i}")));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let claim = spec
            .volumes
            .unwrap()
            .into_iter()
            .find(|v| v.name == "www")
            .unwrap();
        assert_eq!(
            claim.persistent_volume_claim.unwrap().claim_name,
            format!("www-web-{i}")
        );
        pvcs.get(&format!("www-web-{i}"))
            .await
            .expect("claim created");
    }
    let r = revs.get(&rev1).await.expect("the ControllerRevision");
    assert_eq!(r.revision, Some(1));

    if let Some(out) = server.kubectl(&["rollout", "status", "statefulset/web", "--timeout=60s"]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("partitioned roll out complete")
                || text.contains("rolling update complete 3 pods"),
            "{text}"
        );
    }

    // Rolling update: replaced from the highest ordinal down.
    log.lock().unwrap().clear();
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:2"}]}}}})),
    )
    .await
    .unwrap();
    if let Some(out) = server.kubectl(&["rollout", "status", "statefulset/web", "--timeout=60s"]) {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // kubectl words it by whether a partition is set (defaulted to 0).
        assert!(
            text.contains("partitioned roll out complete: 3 new pods have been updated")
                || text.contains("statefulset rolling update complete 3 pods at revision web-"),
            "{text}"
        );
    }
    let s = settled(&sets, "web", 3).await;
    let rev2 = s.status.unwrap().update_revision.unwrap();
    assert_ne!(rev1, rev2);
    {
        let log = log.lock().unwrap();
        let deleted_at = |n: &str| log.iter().position(|e| e.0 == n && e.3).unwrap();
        assert!(deleted_at("web-2") < deleted_at("web-1"), "{log:?}");
        assert!(deleted_at("web-1") < deleted_at("web-0"), "{log:?}");
        // Each replaced only after the one above it ran the new revision.
        let ready_new = |n: &str| {
            log.iter()
                .position(|e| e.0 == n && e.1 && e.2 == rev2)
                .unwrap()
        };
        assert!(ready_new("web-2") < deleted_at("web-1"), "{log:?}");
    }
    let owned = revs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(owned.len(), 2, "two ControllerRevisions");

    // Scale down: the highest ordinal goes first; claims stay.
    log.lock().unwrap().clear();
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .unwrap();
    settled(&sets, "web", 1).await;
    wait_for("web-1 and web-2 gone", T, || async {
        let names: Vec<String> = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .ok()?
            .items
            .iter()
            .map(|p| p.name_any())
            .collect();
        (names == vec!["web-0".to_string()]).then_some(())
    })
    .await;
    {
        let log = log.lock().unwrap();
        let deleted_at = |n: &str| log.iter().position(|e| e.0 == n && e.3).unwrap();
        assert!(deleted_at("web-2") < deleted_at("web-1"), "{log:?}");
    }
    let claims = pvcs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(claims.len(), 3, "claims are retained on scale-down");
    watch.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_every_pod_without_waiting() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers(&client, &["statefulset"]);
    let _cluster = start_default_cluster(&client, 2);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();

    // None of these pods ever turns Ready.
    sets.create(&pp, &set("par", 3, "Parallel", true))
        .await
        .unwrap();
    sets.create(&pp, &set("ord", 3, "OrderedReady", true))
        .await
        .unwrap();
    let names = wait_for("three Parallel pods", T, || async {
        let l = pods
            .list(&ListParams::default().labels("app=par"))
            .await
            .ok()?
            .items;
        let running = l
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        (running.count() == 3).then(|| {
            let mut n: Vec<String> = l.iter().map(|p| p.name_any()).collect();
            n.sort();
            n
        })
    })
    .await;
    assert_eq!(names, ["par-0", "par-1", "par-2"]);
    // OrderedReady holds at the first pod that is not Ready.
    wait_for("ord-0 running", T, || async {
        let p = pods.get("ord-0").await.ok()?;
        (p.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    let s = wait_for("ord status", T, || async {
        let s = sets.get("ord").await.ok()?;
        (s.status.as_ref()?.replicas == 1).then_some(s)
    })
    .await;
    assert_eq!(s.status.unwrap().ready_replicas, Some(0));
    let ord: BTreeMap<String, Pod> = pods
        .list(&ListParams::default().labels("app=ord"))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| (p.name_any(), p))
        .collect();
    assert_eq!(
        ord.keys().collect::<Vec<_>>(),
        ["ord-0"],
        "OrderedReady waits for ord-0"
    );
}
