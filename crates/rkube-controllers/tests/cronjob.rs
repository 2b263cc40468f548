//! The CronJob controller against a real server, with the Job controller,
//! simulated nodes and the scheduler. A schedule's missed time is produced
//! without waiting for the clock: the CronJob is created suspended, its
//! lastScheduleTime set minutes back, then resumed, so the most recent
//! minute is due at once (as after a controller outage).

mod common;

use std::time::Duration;

use common::{TestServer, start_controllers_with, start_default_cluster, wait_for};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use rkube_controllers::Settings;
use serde_json::json;

const T: Duration = Duration::from_secs(60);

fn cronjob(name: &str, policy: &str, run_seconds: &str) -> CronJob {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "schedule": "* * * * *",
            "suspend": true,
            "concurrencyPolicy": policy,
            "successfulJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": {"cron": name}},
                "spec": {"template": {
                    "metadata": {"annotations": {"rkube.io/run-seconds": run_seconds}},
                    "spec": {"restartPolicy": "Never",
                             "containers": [{"name": "hello", "image": "busybox:1"}]}}}
            }
        }
    }))
    .unwrap()
}

/// Pretend the last run was minutes ago, then resume.
async fn resume_after_a_gap(api: &Api<CronJob>, name: &str) -> Timestamp {
    let back = Timestamp::now() - Duration::from_secs(180);
    let stamp = back.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"lastScheduleTime": stamp}})),
    )
    .await
    .unwrap();
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    back
}

fn complete(j: &Job) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        })
}

fn kubectl_ok(server: &TestServer, args: &[&str]) -> bool {
    match server.kubectl(args) {
        Some(out) => {
            assert!(
                out.status.success(),
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            true
        }
        None => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_time_runs_once_and_history_is_trimmed() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers_with(&client, &["cronjob", "job"], Settings::default());
    let _cluster = start_default_cluster(&client, 2);
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), "default");
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");

    cronjobs
        .create(&PostParams::default(), &cronjob("hello", "Allow", "0.3"))
        .await
        .unwrap();
    // Suspended: nothing runs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        jobs.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let back = resume_after_a_gap(&cronjobs, "hello").await;
    let cj = wait_for("a scheduled run", T, || async {
        let cj = cronjobs.get("hello").await.ok()?;
        let last = cj.status.as_ref()?.last_schedule_time.clone()?;
        (last.0 > back).then_some(cj)
    })
    .await;
    let last = cj
        .status
        .as_ref()
        .unwrap()
        .last_schedule_time
        .clone()
        .unwrap()
        .0;
    assert_eq!(last.as_second() % 60, 0, "a minute boundary");
    assert!(last <= Timestamp::now());
    let name = format!("hello-{}", last.as_second() / 60);
    let job = jobs
        .get(&name)
        .await
        .expect("the Job named after its minute");
    let owner = &job.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("CronJob", "hello")
    );
    assert_eq!(job.labels().get("cron").map(String::as_str), Some("hello"));
    assert!(
        job.annotations()
            .contains_key("batch.kubernetes.io/cronjob-scheduled-timestamp")
    );
    // Only the most recent missed time runs, once.
    assert_eq!(
        jobs.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );

    let cj = wait_for("lastSuccessfulTime", T, || async {
        let cj = cronjobs.get("hello").await.ok()?;
        let s = cj.status.clone()?;
        (s.last_successful_time.is_some() && s.active.is_none()).then_some(cj)
    })
    .await;
    assert!(cj.status.unwrap().last_successful_time.unwrap().0 >= last);

    // Manual runs from the CronJob (the kubectl way, else the same API
    // object) count toward the history limit of 1.
    for m in ["manual-1", "manual-2"] {
        if !kubectl_ok(&server, &["create", "job", m, "--from=cronjob/hello"]) {
            let mut j: Job = serde_json::from_value(json!({
                "metadata": {"name": m, "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob", "name": "hello",
                    "uid": cronjobs.get("hello").await.unwrap().uid(), "controller": true}]},
            }))
            .unwrap();
            j.spec = cronjobs.get("hello").await.unwrap().spec.job_template.spec;
            jobs.create(&PostParams::default(), &j).await.unwrap();
        }
        wait_for(&format!("{m} to complete"), T, || async {
            jobs.get_opt(m).await.ok()?.filter(complete).map(|_| ())
        })
        .await;
    }
    wait_for(
        "history trimmed to the newest successful Job",
        T,
        || async {
            let names: Vec<String> = jobs
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .iter()
                .filter(|j| j.metadata.deletion_timestamp.is_none())
                .map(|j| j.name_any())
                .collect();
            (names == vec!["manual-2".to_string()]).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_waits_for_the_running_job_and_replace_replaces_it() {
    let server = TestServer::start();
    let client = server.client().await;
    let _controllers = start_controllers_with(&client, &["cronjob", "job"], Settings::default());
    let _cluster = start_default_cluster(&client, 2);
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), "default");
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");

    cronjobs
        .create(&PostParams::default(), &cronjob("busy", "Forbid", "600"))
        .await
        .unwrap();
    let cj = cronjobs.get("busy").await.unwrap();
    // A long run started by hand, owned by the CronJob.
    let mut manual: Job = serde_json::from_value(json!({
        "metadata": {"name": "busy-manual", "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": "busy",
            "uid": cj.uid(), "controller": true, "blockOwnerDeletion": true}]},
    }))
    .unwrap();
    manual.spec = cj.spec.job_template.spec.clone();
    jobs.create(&PostParams::default(), &manual).await.unwrap();
    wait_for("the manual Job to be active", T, || async {
        let j = jobs.get("busy-manual").await.ok()?;
        (j.status?.active? == 1).then_some(())
    })
    .await;

    let back = resume_after_a_gap(&cronjobs, "busy").await;
    let cj = wait_for("the CronJob to list the running Job", T, || async {
        let cj = cronjobs.get("busy").await.ok()?;
        let active = cj.status.as_ref()?.active.clone()?;
        (active.len() == 1 && active[0].name.as_deref() == Some("busy-manual")).then_some(cj)
    })
    .await;
    // Forbid: the due time is skipped while the manual Job runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let names: Vec<String> = jobs
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|j| j.name_any())
        .collect();
    assert_eq!(
        names,
        vec!["busy-manual".to_string()],
        "Forbid started nothing"
    );
    let still = cronjobs.get("busy").await.unwrap();
    assert!(
        still.status.unwrap().last_schedule_time.unwrap().0 <= back + Duration::from_secs(1),
        "the skipped time is not recorded as run"
    );
    drop(cj);

    // Replace: the running Job goes and the due one starts.
    cronjobs
        .patch(
            "busy",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"concurrencyPolicy": "Replace"}})),
        )
        .await
        .unwrap();
    let cj = wait_for("the replacement run", T, || async {
        let cj = cronjobs.get("busy").await.ok()?;
        let active = cj.status.as_ref()?.active.clone()?;
        (active.len() == 1 && active[0].name.as_deref() != Some("busy-manual")).then_some(cj)
    })
    .await;
    let last = cj.status.unwrap().last_schedule_time.unwrap().0;
    jobs.get(&format!("busy-{}", last.as_second() / 60))
        .await
        .expect("the scheduled Job");
    wait_for("the manual Job deleted", T, || async {
        let j = jobs.get_opt("busy-manual").await.ok()?;
        j.is_none_or(|j| j.metadata.deletion_timestamp.is_some())
            .then_some(())
    })
    .await;
}
