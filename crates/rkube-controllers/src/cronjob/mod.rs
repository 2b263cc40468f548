//! The CronJob controller: at each scheduled time creates the Job
//! `<cronjob>-<scheduled time in minutes since the epoch>` from the job
//! template (the name makes a second create for the same time fail, so a
//! time never runs twice), honouring concurrencyPolicy (Allow, Forbid:
//! skip while one runs, Replace: delete the running ones first),
//! startingDeadlineSeconds, suspend and timeZone; keeps
//! successful/failedJobsHistoryLimit finished Jobs; reports active,
//! lastScheduleTime and lastSuccessfulTime. Each CronJob is looked at
//! again just after its next scheduled time.

pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};

use crate::events::{Recorder, reference};
use crate::job::status::{COMPLETE, FAILED, condition, is_finished};
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{api_code, controller_ref, is_being_deleted, owner_ref, post_params};
use schedule::Schedule;

pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Past this many missed times the controller stops counting and looks
/// only at the last day (and says so in an event).
const MAX_MISSED: usize = 100;

pub struct CronJobController {
    client: Client,
    cronjobs: Informer<CronJob>,
    jobs: Informer<Job>,
    queue: Arc<Queue<Key>>,
    recorder: Recorder,
}

/// The most recent scheduled time in (earliest, now], and whether more
/// than MAX_MISSED were missed.
pub fn most_recent(
    s: &Schedule,
    tz: &TimeZone,
    earliest: Timestamp,
    now: Timestamp,
) -> (Option<Timestamp>, bool) {
    let mut last = None;
    let mut t = earliest;
    for _ in 0..=MAX_MISSED {
        match s.next(t, tz) {
            Some(n) if n <= now => {
                last = Some(n);
                t = n;
            }
            _ => return (last, false),
        }
    }
    // Too many: only the last day matters for the most recent one.
    let day_ago = now - Duration::from_secs(86_400);
    let mut t = day_ago.max(t);
    while let Some(n) = s.next(t, tz).filter(|n| *n <= now) {
        last = Some(n);
        t = n;
    }
    (last, true)
}

/// The Job's name for a scheduled time.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

fn job_ref(j: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: Some(j.name_any()),
        namespace: j.namespace(),
        uid: j.uid(),
        resource_version: j.resource_version(),
        ..Default::default()
    }
}

fn cronjob_owner(meta: &ObjectMeta, ns: &str) -> Option<Key> {
    let r = controller_ref(meta)?;
    (r.kind == "CronJob" && r.api_version.starts_with("batch/"))
        .then(|| Key::new(ns, r.name.clone()))
}

impl CronJobController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(CronJobController {
            client: factory.client().clone(),
            cronjobs: factory.informer::<CronJob>(),
            jobs: factory.informer::<Job>(),
            queue: Queue::new(),
            recorder: Recorder::new(factory.client().clone(), "cronjob-controller"),
        });
        let q = Arc::clone(&c.queue);
        c.cronjobs.on_change(move |ch| match ch {
            Change::Added(j) | Change::Updated { new: j, .. } | Change::Deleted(j) => {
                q.add(Key::of(j.as_ref()))
            }
        });
        let q = Arc::clone(&c.queue);
        c.jobs.on_change(move |ch| {
            let j = match ch {
                Change::Added(j) | Change::Deleted(j) | Change::Updated { new: j, .. } => j,
            };
            if let Some(k) = cronjob_owner(&j.metadata, &j.namespace().unwrap_or_default()) {
                q.add(k);
            }
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.cronjobs.wait_synced().await;
            self.jobs.wait_synced().await
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "cronjob",
            Arc::clone(&self),
            queue,
            3,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    async fn sync(&self, key: Key) -> SyncResult {
        let Some(cj) = self.cronjobs.get(&key.namespace, &key.name) else {
            return Ok(None);
        };
        let uid = cj.uid().unwrap_or_default();
        let mut jobs: Vec<Arc<Job>> = self
            .jobs
            .list_namespace(&key.namespace)
            .into_iter()
            .filter(|j| controller_ref(&j.metadata).is_some_and(|r| r.uid == uid))
            .collect();
        jobs.sort_by_key(|j| j.creation_timestamp());
        let mut st: CronJobStatus = cj.status.clone().unwrap_or_default();
        let cj_ref = reference(cj.as_ref());

        // Active: the unfinished Jobs we own.
        let mut active: Vec<ObjectReference> = Vec::new();
        for j in jobs
            .iter()
            .filter(|j| !is_finished(j) && !is_being_deleted(&j.metadata))
        {
            active.push(job_ref(j));
        }
        let was_active: Vec<String> = st
            .active
            .iter()
            .flatten()
            .filter_map(|r| r.name.clone())
            .collect();
        for j in jobs.iter().filter(|j| is_finished(j)) {
            if was_active.contains(&j.name_any()) {
                let how = if condition(j, COMPLETE).is_some() {
                    "Completed"
                } else {
                    "Failed"
                };
                self.recorder.normal(
                    cj_ref.clone(),
                    "SawCompletedJob",
                    format!("Saw completed job: {}, condition: {how}", j.name_any()),
                );
            }
        }
        let last_success = jobs
            .iter()
            .filter(|j| condition(j, COMPLETE).is_some())
            .filter_map(|j| j.status.as_ref()?.completion_time.clone())
            .max_by_key(|t| t.0);
        if let Some(t) = last_success
            && st
                .last_successful_time
                .as_ref()
                .is_none_or(|old| old.0 < t.0)
        {
            st.last_successful_time = Some(t);
        }
        self.clean_history(&key, &cj, &jobs).await?;

        let spec = cj.spec.clone();
        let mut requeue = None;
        if !is_being_deleted(&cj.metadata) && spec.suspend != Some(true) {
            requeue = self
                .schedule(&key, &cj, &spec, &jobs, &mut active, &mut st)
                .await?;
        }
        st.active = (!active.is_empty()).then_some(active);
        if cj.status.as_ref() != Some(&st) {
            let api: Api<CronJob> = Api::namespaced(self.client.clone(), &key.namespace);
            let mut next = (*cj).clone();
            next.status = Some(st);
            api.replace_status(&key.name, &post_params(), &next).await?;
        }
        Ok(requeue)
    }

    /// Start the Job of the most recent scheduled time if it is due and
    /// allowed; returns when to look again.
    async fn schedule(
        &self,
        key: &Key,
        cj: &CronJob,
        spec: &k8s_openapi::api::batch::v1::CronJobSpec,
        jobs: &[Arc<Job>],
        active: &mut Vec<ObjectReference>,
        st: &mut CronJobStatus,
    ) -> anyhow::Result<Option<Duration>> {
        let cj_ref = reference(cj);
        let sched = match Schedule::parse(&spec.schedule) {
            Ok(s) => s,
            Err(e) => {
                self.recorder.warning(
                    cj_ref,
                    "InvalidSchedule",
                    format!("invalid schedule: {}: {e}", spec.schedule),
                );
                return Ok(None);
            }
        };
        let tz = match schedule::time_zone(spec.time_zone.as_deref()) {
            Ok(tz) => tz,
            Err(e) => {
                self.recorder.warning(cj_ref, "UnknownTimeZone", e);
                return Ok(None);
            }
        };
        let now = Timestamp::now();
        let earliest = st
            .last_schedule_time
            .as_ref()
            .or(cj.metadata.creation_timestamp.as_ref())
            .map(|t| t.0)
            .unwrap_or(now);
        let requeue = sched.next(now, &tz).map(|n| {
            Duration::from_secs_f64(n.duration_since(now).as_secs_f64().max(0.0))
                + Duration::from_millis(100)
        });
        let (recent, too_many) = most_recent(&sched, &tz, earliest, now);
        let Some(t) = recent else {
            return Ok(requeue);
        };
        if too_many {
            self.recorder.warning(
                cj_ref.clone(),
                "TooManyMissedTimes",
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
            );
        }
        if let Some(d) = spec.starting_deadline_seconds
            && now.duration_since(t).as_secs() > d
        {
            self.recorder.warning(
                cj_ref,
                "MissSchedule",
                format!(
                    "Missed scheduled time to start a job: {}",
                    t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z")
                ),
            );
            return Ok(requeue);
        }
        let name = job_name(&cj.name_any(), t);
        if jobs.iter().any(|j| j.name_any() == name) {
            st.last_schedule_time.get_or_insert(Time(t));
            return Ok(requeue);
        }
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        if policy == "Forbid" && !active.is_empty() {
            self.recorder.normal(
                cj_ref,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            );
            return Ok(requeue);
        }
        let job_api: Api<Job> = Api::namespaced(self.client.clone(), &key.namespace);
        if policy == "Replace" {
            for r in active.drain(..) {
                let n = r.name.clone().unwrap_or_default();
                match job_api.delete(&n, &DeleteParams::background()).await {
                    Ok(_) => self.recorder.normal(
                        cj_ref.clone(),
                        "SuccessfulDelete",
                        format!("Deleted job {n}"),
                    ),
                    Err(e) if api_code(&e) == Some(404) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let template = spec.job_template.clone();
        let tmeta = template.metadata.unwrap_or_default();
        let mut annotations = tmeta.annotations.unwrap_or_default();
        annotations.insert(
            SCHEDULED_TIMESTAMP.into(),
            t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        );
        let job = Job {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(key.namespace.clone()),
                labels: tmeta.labels,
                annotations: Some(annotations),
                owner_references: Some(vec![owner_ref("batch/v1", "CronJob", &cj.metadata)]),
                ..Default::default()
            },
            spec: template.spec,
            status: None,
        };
        match job_api.create(&post_params(), &job).await {
            Ok(j) => {
                self.recorder
                    .normal(cj_ref, "SuccessfulCreate", format!("Created job {name}"));
                active.push(job_ref(&j));
            }
            Err(e) if api_code(&e) == Some(409) => {}
            Err(e) => {
                self.recorder
                    .warning(cj_ref, "FailedCreate", format!("Error creating job: {e}"));
                return Err(e.into());
            }
        }
        st.last_schedule_time = Some(Time(t));
        Ok(requeue)
    }

    /// Delete the oldest finished Jobs beyond the history limits.
    async fn clean_history(
        &self,
        key: &Key,
        cj: &CronJob,
        jobs: &[Arc<Job>],
    ) -> anyhow::Result<()> {
        let spec = cj.spec.clone();
        let api: Api<Job> = Api::namespaced(self.client.clone(), &key.namespace);
        for (kind, limit) in [
            (COMPLETE, spec.successful_jobs_history_limit.unwrap_or(3)),
            (FAILED, spec.failed_jobs_history_limit.unwrap_or(1)),
        ] {
            let mut done: Vec<&Arc<Job>> = jobs
                .iter()
                .filter(|j| condition(j, kind).is_some() && !is_being_deleted(&j.metadata))
                .collect();
            // Oldest first by start time (seconds, so ties are common),
            // then by name; a Job that never started counts as newest, as
            // upstream orders them.
            done.sort_by_key(|j| {
                let start = j.status.as_ref().and_then(|s| s.start_time.clone());
                (start.is_none(), start.map(|t| t.0), j.name_any())
            });
            let excess = done.len().saturating_sub(limit.max(0) as usize);
            for j in done.into_iter().take(excess) {
                match api.delete(&j.name_any(), &DeleteParams::background()).await {
                    Ok(_) => self.recorder.normal(
                        reference(cj),
                        "SuccessfulDelete",
                        format!("Deleted job {}", j.name_any()),
                    ),
                    Err(e) if api_code(&e) == Some(404) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_times_and_names() {
        let s = Schedule::parse("*/5 * * * *").unwrap();
        let tz = TimeZone::UTC;
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let (r, many) = most_recent(
            &s,
            &tz,
            t("2024-01-01T00:00:00Z"),
            t("2024-01-01T00:17:00Z"),
        );
        assert_eq!(r, Some(t("2024-01-01T00:15:00Z")));
        assert!(!many);
        let (r, _) = most_recent(
            &s,
            &tz,
            t("2024-01-01T00:15:00Z"),
            t("2024-01-01T00:17:00Z"),
        );
        assert_eq!(r, None, "nothing new since the last run");
        let (r, many) = most_recent(
            &s,
            &tz,
            t("2023-01-01T00:00:00Z"),
            t("2024-01-01T00:17:00Z"),
        );
        assert_eq!(r, Some(t("2024-01-01T00:15:00Z")));
        assert!(many);
        assert_eq!(
            job_name("hello", t("2024-01-01T00:15:00Z")),
            "hello-28401135"
        );
    }
}
