//! The article's rollout commands with the real kubectl: create, rollout
//! history, rollout undo --to-revision=1, rollout status -w. Skipped (with
//! a message) when kubectl is missing.

mod common;

use std::time::Duration;

use common::{TestServer, fake_kubelet, start_controllers, wait_for};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

const T: Duration = Duration::from_secs(30);

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn rolled_out(api: &Api<Deployment>) {
    wait_for("rollout to finish", T, || async {
        let d = api.get("nginx").await.ok()?;
        let s = d.status.clone()?;
        let want = d.spec.replicas.unwrap_or(1);
        (s.observed_generation >= d.metadata.generation
            && s.updated_replicas == Some(want)
            && s.replicas == Some(want)
            && s.available_replicas == Some(want))
        .then_some(())
    })
    .await
}

fn image(d: &Deployment) -> String {
    d.spec.template.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_history_undo_and_status_as_in_the_article() {
    let server = TestServer::start();
    if server.kubectl(&["version", "--client"]).is_none() {
        return;
    }
    let client = server.client().await;
    let controllers = start_controllers(
        &client,
        &["replicaset", "deployment", "horizontalpodautoscaling"],
    );
    let _kubelet = fake_kubelet(&client, "default", Duration::from_millis(400));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");

    let ok = |args: &[&str]| {
        let out = server.kubectl(args).unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(
        ok(&["create", "deployment", "nginx", "--image=nginx:1"]),
        "deployment.apps/nginx created\n"
    );
    assert_eq!(
        ok(&["autoscale", "deployment", "nginx", "--min=5", "--max=10"]),
        "horizontalpodautoscaler.autoscaling/nginx autoscaled\n"
    );
    wait_for("5 replicas", T, || async {
        let d = deployments.get("nginx").await.ok()?;
        (d.spec.replicas == Some(5)).then_some(())
    })
    .await;
    rolled_out(&deployments).await;
    let first_rs = ok(&["get", "rs", "-o", "name"]);
    eprintln!("first ReplicaSet: {first_rs}");

    assert_eq!(
        ok(&["set", "image", "deployment/nginx", "nginx=nginx:1.21"]),
        "deployment.apps/nginx image updated\n"
    );
    // Mid-rollout, pods of both ReplicaSets are listed.
    let pods = ok(&["get", "pods"]);
    assert!(pods.starts_with("NAME "), "{pods}");
    assert!(
        pods.lines().skip(1).all(|l| l.starts_with("nginx-")),
        "{pods}"
    );
    rolled_out(&deployments).await;
    assert_eq!(
        image(&deployments.get("nginx").await.unwrap()),
        "nginx:1.21"
    );

    let out = server
        .kubectl(&["rollout", "history", "deployment/nginx"])
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let history = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(history.contains("REVISION  CHANGE-CAUSE"), "{history}");
    assert!(history.contains("\n1         <none>\n"), "{history}");
    assert!(history.contains("\n2         <none>\n"), "{history}");

    let out = server
        .kubectl(&["rollout", "undo", "deployment/nginx", "--to-revision=1"])
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deployment.apps/nginx rolled back\n"
    );

    let out = server
        .kubectl(&[
            "rollout",
            "status",
            "-w",
            "deployment/nginx",
            "--timeout=60s",
        ])
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let status = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("{status}");
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("deployment \"nginx\" successfully rolled out")
    );
    let prefix = "Waiting for deployment \"nginx\" rollout to finish: ";
    for l in &lines[..lines.len() - 1] {
        let rest = l
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("unexpected line {l:?}"));
        assert!(
            rest.ends_with(" out of 5 new replicas have been updated...")
                || rest.ends_with(" old replicas are pending termination...")
                || rest.ends_with(" of 5 updated replicas are available..."),
            "unexpected line {l:?}"
        );
    }

    let d = deployments.get("nginx").await.unwrap();
    assert_eq!(image(&d), "nginx:1");
    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "3");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let mut rss = sets.list(&ListParams::default()).await.unwrap().items;
    rss.sort_by_key(|rs| rs.metadata.uid.clone());
    let template_image = |rs: &ReplicaSet| {
        rs.spec
            .template
            .as_ref()
            .unwrap()
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .image
            .clone()
            .unwrap()
    };
    rss.sort_by_key(|rs| template_image(rs) != "nginx:1");
    assert_eq!(rss.len(), 2, "the rollback reuses the first ReplicaSet");
    let first = &rss[0];
    assert_eq!(
        first.annotations()["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(
        first.annotations()["deployment.kubernetes.io/revision-history"],
        "1"
    );
    assert_eq!(first.spec.replicas, Some(5));
    assert_eq!(rss[1].spec.replicas, Some(0));

    let out = server
        .kubectl(&["rollout", "history", "deployment/nginx"])
        .unwrap();
    let history = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(history.contains("\n2         <none>\n"), "{history}");
    assert!(history.contains("\n3         <none>\n"), "{history}");
    assert!(!history.contains("\n1         <none>\n"), "{history}");

    let describe = ok(&["describe", "deployment", "nginx"]);
    assert!(describe.contains("ScalingReplicaSet"), "{describe}");
    assert!(describe.contains("deployment-controller"), "{describe}");
    assert!(first_rs.starts_with("replicaset.apps/nginx-"), "{first_rs}");

    // pause, resume, restart (strategic merge patches).
    assert_eq!(
        ok(&["rollout", "pause", "deployment/nginx"]),
        "deployment.apps/nginx paused\n"
    );
    let out = server
        .kubectl(&["rollout", "undo", "deployment/nginx"])
        .unwrap();
    assert!(
        !out.status.success(),
        "undo of a paused deployment must fail"
    );
    assert_eq!(
        ok(&["rollout", "resume", "deployment/nginx"]),
        "deployment.apps/nginx resumed\n"
    );
    assert_eq!(
        ok(&["rollout", "restart", "deployment/nginx"]),
        "deployment.apps/nginx restarted\n"
    );
    let out = ok(&["rollout", "status", "deployment/nginx", "--timeout=60s"]);
    assert!(
        out.ends_with("deployment \"nginx\" successfully rolled out\n"),
        "{out}"
    );
    let d = deployments.get("nginx").await.unwrap();
    assert_eq!(d.annotations()["deployment.kubernetes.io/revision"], "4");
    controllers.stop().await;
    server.stop();
}
