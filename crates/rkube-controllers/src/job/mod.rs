//! The Job controller: runs pods until `completions` succeed (at most
//! `parallelism` at once), retries failures up to `backoffLimit` with an
//! exponential delay, honours `suspend` and `activeDeadlineSeconds`, and
//! counts finished pods through the job-tracking finalizer and
//! `status.uncountedTerminatedPods`, so a pod removed before it was
//! counted is never lost: a finished pod is first recorded by uid in the
//! status, then its finalizer is removed, then it moves to the counters.
//! Success and failure go through SuccessCriteriaMet / FailureTarget
//! first and become Complete / Failed once no pod of the Job runs.

pub mod indexed;
pub mod status;
pub mod ttl;

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::batch::v1::{Job, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::{Recorder, reference};
use crate::expectations::Expectations;
use crate::podcontrol::PodControl;
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{
    api_code, controller_ref, is_being_deleted, now, owner_ref, patch_params, post_params,
    seconds_since,
};
use status::{
    COMPLETE, FAILED, FAILURE_TARGET, SUCCESS_CRITERIA_MET, SUSPENDED, TRACKING_FINALIZER,
};

const WORKERS: usize = 5;
const BURST: usize = 500;

pub struct JobController {
    client: Client,
    jobs: Informer<Job>,
    pods: Informer<Pod>,
    queue: Arc<Queue<Key>>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
    backoff_base: Duration,
    /// Uids of pods this controller deleted (suspend, excess, a reached
    /// failure): their deletion is not a failure of the workload.
    deleted: Arc<Mutex<HashSet<String>>>,
}

fn job_owner(meta: &ObjectMeta, namespace: &str) -> Option<Key> {
    let r = controller_ref(meta)?;
    (r.kind == "Job" && r.api_version.starts_with("batch/"))
        .then(|| Key::new(namespace, r.name.clone()))
}

impl JobController {
    pub fn new(factory: &Factory, backoff_base: Duration) -> Arc<Self> {
        let c = Arc::new(JobController {
            client: factory.client().clone(),
            jobs: factory.informer::<Job>(),
            pods: factory.informer::<Pod>(),
            queue: Queue::new(),
            expectations: Arc::new(Expectations::default()),
            recorder: Recorder::new(factory.client().clone(), "job-controller"),
            backoff_base,
            deleted: Arc::default(),
        });
        let (q, exp) = (Arc::clone(&c.queue), Arc::clone(&c.expectations));
        c.jobs.on_change(move |ch| match ch {
            Change::Added(j) | Change::Updated { new: j, .. } => q.add(Key::of(j.as_ref())),
            Change::Deleted(j) => {
                exp.forget(&Key::of(j.as_ref()));
                q.add(Key::of(j.as_ref()));
            }
        });
        let (q, exp) = (Arc::clone(&c.queue), Arc::clone(&c.expectations));
        let deleted = Arc::clone(&c.deleted);
        c.pods.on_change(move |ch| {
            if let Change::Deleted(p) = ch
                && let Some(uid) = &p.metadata.uid
            {
                deleted.lock().expect("deleted lock").remove(uid);
            }
            let (pod, old) = match ch {
                Change::Added(p) => (p, None),
                Change::Updated { old, new } => (new, Some(old)),
                Change::Deleted(p) => (p, None),
            };
            let ns = pod.namespace().unwrap_or_default();
            let Some(job) = job_owner(&pod.metadata, &ns) else {
                return;
            };
            let pk = Key::of(pod.as_ref());
            match ch {
                Change::Added(_) if !is_being_deleted(&pod.metadata) => exp.creation_observed(&job),
                Change::Deleted(_) => exp.deletion_observed(&job, &pk),
                _ => {
                    if is_being_deleted(&pod.metadata)
                        && old.is_some_and(|o| !is_being_deleted(&o.metadata))
                    {
                        exp.deletion_observed(&job, &pk);
                    }
                }
            }
            q.add(job);
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.jobs.wait_synced().await;
            self.pods.wait_synced().await
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "job",
            Arc::clone(&self),
            queue,
            WORKERS,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    /// The pods the Job controls (by controller reference).
    fn pods_of(&self, job: &Job) -> Vec<Arc<Pod>> {
        let uid = job.uid().unwrap_or_default();
        self.pods
            .list_namespace(&job.namespace().unwrap_or_default())
            .into_iter()
            .filter(|p| controller_ref(&p.metadata).is_some_and(|r| r.uid == uid))
            .collect()
    }

    fn ours(&self, p: &Pod) -> bool {
        let uid = p.metadata.uid.clone().unwrap_or_default();
        self.deleted.lock().expect("deleted lock").contains(&uid)
    }

    async fn sync(&self, key: Key) -> SyncResult {
        let Some(job) = self.jobs.get(&key.namespace, &key.name) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        // Read before the pods: a creation observed after this point may
        // be missing from the snapshot below, and must hold manage back.
        let satisfied = self.expectations.satisfied(&key);
        let pods = self.pods_of(&job);
        let job_api: Api<Job> = Api::namespaced(self.client.clone(), &key.namespace);
        let pod_api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        let mut st: JobStatus = job.status.clone().unwrap_or_default();
        let mut uncounted = st.uncounted_terminated_pods.clone().unwrap_or_default();

        // 1. Record every finished pod that still holds our finalizer.
        let mut recorded = false;
        for p in pods.iter().filter(|p| status::has_tracking_finalizer(p)) {
            let Some(ok) = status::outcome(p, self.ours(p)) else {
                continue;
            };
            let uid = p.metadata.uid.clone().unwrap_or_default();
            if let Some(next) = status::add_uncounted(&uncounted, &uid, ok) {
                uncounted = next;
                recorded = true;
            }
        }
        if recorded {
            st.uncounted_terminated_pods = Some(uncounted.clone());
            let written = self.write_status(&job_api, &job, st.clone()).await?;
            st = written.status.unwrap_or_default();
        }

        // 2. Release finished pods we have recorded, and pods we no longer
        //    track for any reason once they are finished or going.
        let uids_in = |u: &UncountedTerminatedPods, uid: &str| {
            u.succeeded
                .iter()
                .chain(u.failed.iter())
                .flatten()
                .any(|x| x == uid)
        };
        let releasable: Vec<&Arc<Pod>> = pods
            .iter()
            .filter(|p| status::has_tracking_finalizer(p))
            .filter(|p| {
                let uid = p.metadata.uid.as_deref().unwrap_or("");
                uids_in(&uncounted, uid)
                    || (is_being_deleted(&p.metadata) && self.ours(p))
                    || (status::is_finished(&job) && status::outcome(p, self.ours(p)).is_some())
            })
            .collect();
        let released = join_all(releasable.iter().map(|p| remove_finalizer(&pod_api, p))).await;
        let mut done: BTreeSet<String> = BTreeSet::new();
        for (p, r) in releasable.iter().zip(released) {
            r?;
            done.insert(p.metadata.uid.clone().unwrap_or_default());
        }
        // Uncounted pods already gone or released before are settled too.
        for uid in uncounted
            .succeeded
            .iter()
            .chain(uncounted.failed.iter())
            .flatten()
        {
            let pod = pods.iter().find(|p| p.metadata.uid.as_deref() == Some(uid));
            if pod.is_none_or(|p| !status::has_tracking_finalizer(p)) {
                done.insert(uid.clone());
            }
        }
        let (s, f) = status::settle_uncounted(&mut uncounted, &done);
        st.succeeded = Some(st.succeeded.unwrap_or(0) + s);
        st.failed = Some(st.failed.unwrap_or(0) + f);
        st.uncounted_terminated_pods = Some(uncounted.clone());

        let finished = status::is_finished(&job);
        let active: Vec<Arc<Pod>> = pods
            .iter()
            .filter(|p| crate::util::is_pod_active(p))
            .cloned()
            .collect();
        let terminating = pods
            .iter()
            .filter(|p| crate::util::is_pod_terminating(p))
            .count() as i32;
        let (us, uf) = status::uncounted_len(&uncounted);
        let failed = st.failed.unwrap_or(0) + uf;
        // What counts toward completions: pods, or distinct indexes.
        let succeeded = if indexed::is_indexed(&job) {
            let done = indexed::completed(&job, &pods);
            st.completed_indexes = Some(indexed::format(&done)).filter(|s| !s.is_empty());
            done.len() as i32
        } else {
            st.succeeded.unwrap_or(0) + us
        };
        let mut conditions = st.conditions.clone().unwrap_or_default();
        let mut requeue: Option<Duration> = None;
        let spec = job.spec.clone().unwrap_or_default();
        let suspended = spec.suspend == Some(true);
        let job_ref = reference(job.as_ref());

        if !finished {
            // 3. Has the Job reached success or failure?
            let target = conditions
                .iter()
                .find(|c| {
                    (c.type_ == FAILURE_TARGET || c.type_ == SUCCESS_CRITERIA_MET)
                        && c.status == "True"
                })
                .cloned();
            let target = match target {
                Some(t) => Some(t),
                None => {
                    if let Some((reason, message)) = status::failure(&job, failed) {
                        status::set_condition(
                            &mut conditions,
                            FAILURE_TARGET,
                            "True",
                            reason,
                            &message,
                        );
                        self.recorder.warning(job_ref.clone(), reason, message);
                    } else if status::succeeded_enough(&job, succeeded, active.len()) {
                        status::set_condition(
                            &mut conditions,
                            SUCCESS_CRITERIA_MET,
                            "True",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods",
                        );
                    }
                    conditions
                        .iter()
                        .find(|c| {
                            (c.type_ == FAILURE_TARGET || c.type_ == SUCCESS_CRITERIA_MET)
                                && c.status == "True"
                        })
                        .cloned()
                }
            };
            if let Some(t) = target {
                // 4a. Stop what still runs; finish once nothing does.
                self.delete_pods(&key, &job, &active).await?;
                let still_running = pods.iter().any(|p| {
                    status::outcome(p, false).is_none() || crate::util::is_pod_terminating(p)
                });
                if active.is_empty() && !still_running && uncounted_empty(&uncounted) {
                    let (final_type, reason, message) = if t.type_ == FAILURE_TARGET {
                        (
                            FAILED,
                            t.reason.clone().unwrap_or_default(),
                            t.message.clone().unwrap_or_default(),
                        )
                    } else {
                        (
                            COMPLETE,
                            "CompletionsReached".to_string(),
                            "Reached expected number of succeeded pods".to_string(),
                        )
                    };
                    status::set_condition(&mut conditions, final_type, "True", &reason, &message);
                    if final_type == COMPLETE {
                        st.completion_time = Some(now());
                        self.recorder
                            .normal(job_ref.clone(), "Completed", "Job completed".into());
                    }
                }
            } else if suspended {
                // 4b. Suspended: no pods, and the clock stops.
                self.delete_pods(&key, &job, &active).await?;
                if status::set_condition(
                    &mut conditions,
                    SUSPENDED,
                    "True",
                    "JobSuspended",
                    "Job suspended",
                ) {
                    self.recorder
                        .normal(job_ref.clone(), "Suspended", "Job suspended".into());
                }
            } else {
                // 4c. Running: start the clock and keep the pods wanted.
                let was_suspended = status::condition(&job, SUSPENDED).is_some();
                if was_suspended {
                    status::set_condition(
                        &mut conditions,
                        SUSPENDED,
                        "False",
                        "JobResumed",
                        "Job resumed",
                    );
                    self.recorder
                        .normal(job_ref.clone(), "Resumed", "Job resumed".into());
                }
                if st.start_time.is_none() || was_suspended {
                    st.start_time = Some(now());
                }
                if satisfied {
                    requeue = self
                        .manage(&key, &job, &pods, &active, succeeded, failed)
                        .await?;
                }
                if let Some(left) = deadline_with(&job, &st) {
                    requeue = Some(requeue.map_or(left, |r| r.min(left)));
                }
            }
        }

        let active_now = pods
            .iter()
            .filter(|p| crate::util::is_pod_active(p) && !self.ours(p))
            .cloned()
            .collect::<Vec<_>>();
        st.active = Some(active_now.len() as i32);
        st.ready = Some(status::ready_count(&active_now));
        st.terminating = Some(terminating);
        st.conditions = (!conditions.is_empty()).then_some(conditions);
        if job.status.as_ref() != Some(&st) {
            self.write_status(&job_api, &job, st).await?;
        }
        Ok(requeue)
    }

    /// Create or delete pods so `wanted_active` run; returns when to look
    /// again while a failure backoff holds creations back.
    async fn manage(
        &self,
        key: &Key,
        job: &Job,
        pods: &[Arc<Pod>],
        active: &[Arc<Pod>],
        succeeded: i32,
        failed: i32,
    ) -> anyhow::Result<Option<Duration>> {
        let want = status::wanted_active(job, succeeded) as usize;
        let replace_terminating = job
            .spec
            .as_ref()
            .and_then(|s| s.pod_replacement_policy.as_deref())
            != Some("Failed");
        let terminating = pods
            .iter()
            .filter(|p| crate::util::is_pod_terminating(p))
            .count();
        let occupied = active.len() + if replace_terminating { 0 } else { terminating };
        if occupied > want {
            let mut victims: Vec<Arc<Pod>> = active.to_vec();
            // Not-ready and newest first, as upstream.
            victims.sort_by_key(|p| {
                (
                    crate::util::is_pod_ready(p),
                    std::cmp::Reverse(p.creation_timestamp()),
                )
            });
            victims.truncate(occupied - want);
            self.delete_pods(key, job, &victims).await?;
            return Ok(None);
        }
        if occupied == want {
            return Ok(None);
        }
        let delay = status::backoff(self.backoff_base, failed);
        if !delay.is_zero() {
            let last = pods
                .iter()
                .filter(|p| status::outcome(p, self.ours(p)) == Some(false))
                .filter_map(|p| status::finished_at(p))
                .max_by(|a, b| a.0.cmp(&b.0));
            if let Some(t) = last {
                let left = delay.as_secs_f64() - seconds_since(&t);
                if left > 0.0 {
                    return Ok(Some(Duration::from_secs_f64(left)));
                }
            }
        }
        let n = (want - occupied).min(BURST);
        let indexes: Vec<Option<i32>> = if indexed::is_indexed(job) {
            let done = indexed::completed(job, pods);
            indexed::missing(job, &done, active, n)
                .into_iter()
                .map(Some)
                .collect()
        } else {
            vec![None; n]
        };
        self.expectations.expect_creations(key, indexes.len());
        self.create_pods(key, job, &indexes).await?;
        Ok(None)
    }

    /// One pod per entry (with its completion index for Indexed Jobs).
    async fn create_pods(
        &self,
        key: &Key,
        job: &Job,
        indexes: &[Option<i32>],
    ) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        let template = job
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let tmeta = template.metadata.unwrap_or_default();
        let mut finalizers = tmeta.finalizers.unwrap_or_default();
        finalizers.push(TRACKING_FINALIZER.into());
        let pod = Pod {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}-", job.name_any())),
                namespace: Some(key.namespace.clone()),
                labels: tmeta.labels,
                annotations: tmeta.annotations,
                finalizers: Some(finalizers),
                owner_references: Some(vec![owner_ref("batch/v1", "Job", &job.metadata)]),
                ..Default::default()
            },
            spec: template.spec,
            status: None,
        };
        let pp = post_params();
        let job_name = job.name_any();
        let results = join_all(indexes.iter().map(|i| {
            let mut pod = pod.clone();
            if let Some(i) = i {
                indexed::stamp(&mut pod, &job_name, *i);
            }
            let (api, pp) = (api.clone(), pp.clone());
            async move { api.create(&pp, &pod).await }
        }))
        .await;
        match self.pod_control(key, job).created(results) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn pod_control<'a>(&'a self, key: &'a Key, job: &Job) -> PodControl<'a> {
        PodControl {
            recorder: &self.recorder,
            expectations: &self.expectations,
            key,
            owner: reference(job),
        }
    }

    async fn delete_pods(&self, key: &Key, job: &Job, victims: &[Arc<Pod>]) -> anyhow::Result<()> {
        if victims.is_empty() {
            return Ok(());
        }
        {
            let mut d = self.deleted.lock().expect("deleted lock");
            for p in victims {
                d.insert(p.metadata.uid.clone().unwrap_or_default());
            }
        }
        self.expectations
            .expect_deletions(key, victims.iter().map(|p| Key::of(p.as_ref())));
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        self.pod_control(key, job).delete(&api, victims).await
    }

    /// Replace the status; on a conflict retry once on a fresh read, as
    /// the counters are only ever derived from the cache plus this write.
    async fn write_status(&self, api: &Api<Job>, job: &Job, st: JobStatus) -> anyhow::Result<Job> {
        let mut next = job.clone();
        next.status = Some(st);
        Ok(api
            .replace_status(&job.name_any(), &post_params(), &next)
            .await?)
    }
}

fn uncounted_empty(u: &UncountedTerminatedPods) -> bool {
    status::uncounted_len(u) == (0, 0)
}

fn deadline_with(job: &Job, st: &JobStatus) -> Option<Duration> {
    let mut j = job.clone();
    j.status = Some(st.clone());
    status::deadline_left(&j).map(|d| d + Duration::from_millis(50))
}

/// Drop the tracking finalizer, with the resourceVersion as precondition
/// so a concurrent change is not overwritten (409: synced again).
async fn remove_finalizer(api: &Api<Pod>, p: &Pod) -> anyhow::Result<()> {
    let rest: Vec<String> = p
        .metadata
        .finalizers
        .iter()
        .flatten()
        .filter(|f| *f != TRACKING_FINALIZER)
        .cloned()
        .collect();
    let patch = json!({"metadata": {
        "finalizers": rest,
        "resourceVersion": p.metadata.resource_version,
    }});
    match api
        .patch(&p.name_any(), &patch_params(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
