//! The Job and TTL-after-finished controllers against a real server, with
//! simulated nodes running the pods to completion (or failure) and the
//! real scheduler binding them.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, start_controllers_with, start_default_cluster, wait_for};
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use rkube_controllers::Settings;
use serde_json::json;

const T: Duration = Duration::from_secs(60);

fn settings() -> Settings {
    Settings {
        job_backoff: Duration::from_millis(100),
        ..Settings::default()
    }
}

fn job(name: &str, spec: serde_json::Value, annotations: serde_json::Value) -> Job {
    let mut v = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "pi", "image": "perl:5.34"}]
                }
            }
        }
    });
    for (k, val) in spec.as_object().unwrap() {
        v["spec"][k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn condition(j: &Job, t: &str) -> Option<(String, Option<String>)> {
    j.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t && c.status == "True")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

fn job_pods(pods: &[Pod], j: &Job) -> Vec<Pod> {
    let uid = j.uid().unwrap();
    pods.iter()
        .filter(|p| {
            p.owner_references()
                .iter()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_runs_its_completions_within_parallelism_and_completes() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers_with(&client, &["job"], settings());
    let _cluster = start_default_cluster(&client, 2);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // Most pods of the Job running at once, and every pod seen, from a
    // watch started before the Job.
    let max_running = Arc::new(Mutex::new(0usize));
    let seen: Arc<Mutex<BTreeMap<String, Pod>>> = Arc::default();
    let (m, s, watch_api) = (Arc::clone(&max_running), Arc::clone(&seen), pods.clone());
    let watch = tokio::spawn(async move {
        let stream = watcher(watch_api, watcher::Config::default())
            .default_backoff()
            .applied_objects();
        futures::pin_mut!(stream);
        let mut live: HashSet<String> = HashSet::new();
        while let Some(Ok(p)) = stream.next().await {
            let phase = p.status.as_ref().and_then(|s| s.phase.clone());
            let name = p.name_any();
            if matches!(phase.as_deref(), Some("Succeeded" | "Failed"))
                || p.metadata.deletion_timestamp.is_some()
            {
                live.remove(&name);
            } else {
                live.insert(name.clone());
            }
            let mut max = m.lock().unwrap();
            *max = (*max).max(live.len());
            s.lock().unwrap().entry(name).or_insert(p);
        }
    });

    let created = jobs
        .create(
            &PostParams::default(),
            &job("pi", json!({"completions": 4, "parallelism": 2}), json!({})),
        )
        .await
        .unwrap();

    let done = wait_for("the Job to complete", T, || async {
        let j = jobs.get("pi").await.ok()?;
        condition(&j, "Complete").map(|_| j)
    })
    .await;
    let st = done.status.clone().unwrap();
    assert_eq!(st.succeeded, Some(4));
    assert_eq!(st.failed.unwrap_or(0), 0);
    assert_eq!(st.active.unwrap_or(0), 0);
    assert!(st.start_time.is_some() && st.completion_time.is_some());
    assert_eq!(
        condition(&done, "SuccessCriteriaMet").map(|c| c.1),
        Some(Some("CompletionsReached".into()))
    );
    let uncounted = st.uncounted_terminated_pods.unwrap_or_default();
    assert!(uncounted.succeeded.unwrap_or_default().is_empty());
    assert!(uncounted.failed.unwrap_or_default().is_empty());

    watch.abort();
    assert!(
        *max_running.lock().unwrap() <= 2,
        "at most parallelism=2 pods ran at once, saw {}",
        max_running.lock().unwrap()
    );
    // The pods as first created: labels and the tracking finalizer.
    let first: Vec<Pod> = seen.lock().unwrap().values().cloned().collect();
    let first = job_pods(&first, &created);
    assert_eq!(first.len(), 4, "exactly 4 pods for 4 completions");
    let uid = created.uid().unwrap();
    for p in &first {
        let l = p.labels();
        assert_eq!(
            l.get("batch.kubernetes.io/job-name").map(String::as_str),
            Some("pi")
        );
        assert_eq!(l.get("batch.kubernetes.io/controller-uid"), Some(&uid));
        assert_eq!(l.get("job-name").map(String::as_str), Some("pi"));
        assert!(
            p.finalizers()
                .iter()
                .any(|f| f == "batch.kubernetes.io/job-tracking"),
            "pod {} was created with the tracking finalizer",
            p.name_any()
        );
    }
    // Now: all Succeeded and released.
    let now = pods.list(&ListParams::default()).await.unwrap().items;
    let now = job_pods(&now, &created);
    assert_eq!(now.len(), 4);
    for p in &now {
        assert_eq!(
            p.status.as_ref().unwrap().phase.as_deref(),
            Some("Succeeded")
        );
        assert!(
            p.finalizers().is_empty(),
            "{} still has finalizers",
            p.name_any()
        );
    }

    // kubectl wait, as a user would.
    if let Some(out) = server.kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=30s",
    ]) {
        assert!(
            out.status.success(),
            "kubectl wait: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "job.batch/pi condition met\n"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pods_exhaust_the_backoff_limit() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers_with(&client, &["job"], settings());
    let _cluster = start_default_cluster(&client, 1);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    let created = jobs
        .create(
            &PostParams::default(),
            &job(
                "fails",
                json!({"backoffLimit": 1}),
                json!({"rkube.io/exit-code": "1"}),
            ),
        )
        .await
        .unwrap();
    let failed = wait_for("the Job to fail", T, || async {
        let j = jobs.get("fails").await.ok()?;
        condition(&j, "Failed").map(|_| j)
    })
    .await;
    assert_eq!(
        condition(&failed, "Failed").unwrap().1.as_deref(),
        Some("BackoffLimitExceeded")
    );
    assert!(condition(&failed, "FailureTarget").is_some());
    assert!(condition(&failed, "Complete").is_none());
    let st = failed.status.unwrap();
    assert_eq!(
        st.failed,
        Some(2),
        "backoffLimit 1: the second failure ends it"
    );
    assert_eq!(st.succeeded.unwrap_or(0), 0);
    let all = job_pods(
        &pods.list(&ListParams::default()).await.unwrap().items,
        &created,
    );
    assert_eq!(all.len(), 2, "no pod after the limit");
    for p in &all {
        let s = p.status.as_ref().unwrap();
        assert_eq!(s.phase.as_deref(), Some("Failed"));
        let term = s.container_statuses.as_ref().unwrap()[0]
            .state
            .as_ref()
            .unwrap()
            .terminated
            .clone()
            .unwrap();
        assert_eq!(term.exit_code, 1);
        assert!(p.finalizers().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_suspend_and_ttl() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers_with(
        &client,
        &["job", "ttl-after-finished", "garbagecollector"],
        settings(),
    );
    let _cluster = start_default_cluster(&client, 2);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pp = PostParams::default();

    // activeDeadlineSeconds: pods that run 60 s are stopped after 2.
    let slow = jobs
        .create(
            &pp,
            &job(
                "slow",
                json!({"activeDeadlineSeconds": 2, "parallelism": 2, "completions": 2}),
                json!({"rkube.io/run-seconds": "60"}),
            ),
        )
        .await
        .unwrap();
    let failed = wait_for("the deadline to fail the Job", T, || async {
        let j = jobs.get("slow").await.ok()?;
        condition(&j, "Failed").map(|_| j)
    })
    .await;
    assert_eq!(
        condition(&failed, "Failed").unwrap().1.as_deref(),
        Some("DeadlineExceeded")
    );
    assert_eq!(failed.status.as_ref().unwrap().active.unwrap_or(0), 0);
    let elapsed = {
        let st = failed.status.as_ref().unwrap();
        let start = st.start_time.as_ref().unwrap().0;
        let at = failed
            .status
            .as_ref()
            .unwrap()
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Failed")
            .unwrap()
            .last_transition_time
            .clone()
            .unwrap()
            .0;
        at.duration_since(start).as_secs_f64()
    };
    assert!(
        (2.0..20.0).contains(&elapsed),
        "failed {elapsed}s after start, deadline 2 s"
    );
    wait_for("the slow Job's pods to go", T, || async {
        let all = pods.list(&ListParams::default()).await.ok()?.items;
        job_pods(&all, &slow).is_empty().then_some(())
    })
    .await;

    // Suspended: no pods and a Suspended condition; resumed: runs.
    let sus = jobs
        .create(
            &pp,
            &job(
                "later",
                json!({"suspend": true, "ttlSecondsAfterFinished": 3}),
                json!({}),
            ),
        )
        .await
        .unwrap();
    let j = wait_for("the Suspended condition", T, || async {
        let j = jobs.get("later").await.ok()?;
        condition(&j, "Suspended").map(|_| j)
    })
    .await;
    assert!(j.status.as_ref().unwrap().start_time.is_none());
    let all = pods.list(&ListParams::default()).await.unwrap().items;
    assert!(
        job_pods(&all, &sus).is_empty(),
        "a suspended Job runs nothing"
    );
    jobs.patch(
        "later",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    let done = wait_for("the resumed Job to complete", T, || async {
        let j = jobs.get("later").await.ok()?;
        condition(&j, "Complete").map(|_| j)
    })
    .await;
    let resumed = done
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Suspended")
        .cloned()
        .unwrap();
    assert_eq!(resumed.status, "False");
    assert_eq!(resumed.reason.as_deref(), Some("JobResumed"));

    // ttlSecondsAfterFinished: 3 s later the Job and its pods are gone (not
    // less: finish times are whole seconds, so the Job may go well before
    // the TTL has passed since this test saw it complete).
    wait_for("the finished Job to be deleted by its TTL", T, || async {
        jobs.get_opt("later").await.ok()?.is_none().then_some(())
    })
    .await;
    wait_for("its pods to be collected", T, || async {
        let all = pods.list(&ListParams::default()).await.ok()?.items;
        job_pods(&all, &sus).is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_job_runs_each_index_once() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers_with(&client, &["job"], settings());
    let _cluster = start_default_cluster(&client, 2);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    let created = jobs
        .create(
            &PostParams::default(),
            &job(
                "idx",
                json!({"completions": 3, "parallelism": 2, "completionMode": "Indexed"}),
                json!({}),
            ),
        )
        .await
        .unwrap();
    let done = wait_for("the Indexed Job to complete", T, || async {
        let j = jobs.get("idx").await.ok()?;
        condition(&j, "Complete").map(|_| j)
    })
    .await;
    let st = done.status.unwrap();
    assert_eq!(st.completed_indexes.as_deref(), Some("0-2"));
    assert_eq!(st.succeeded, Some(3));
    let all = job_pods(
        &pods.list(&ListParams::default()).await.unwrap().items,
        &created,
    );
    let mut seen: Vec<String> = Vec::new();
    for p in &all {
        let i = p.annotations()["batch.kubernetes.io/job-completion-index"].clone();
        assert_eq!(p.labels()["batch.kubernetes.io/job-completion-index"], i);
        assert!(
            p.name_any().starts_with(&format!("idx-{i}-")),
            "{}",
            p.name_any()
        );
        let spec = p.spec.as_ref().unwrap();
        assert_eq!(spec.hostname, Some(format!("idx-{i}")));
        let env = spec.containers[0].env.as_ref().unwrap();
        assert!(env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"));
        seen.push(i);
    }
    seen.sort();
    assert_eq!(seen, ["0", "1", "2"], "one pod per index");
}
