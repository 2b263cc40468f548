//! What a Job's pods add up to: which finished pods still have to be
//! counted, how many should run, and which condition the Job has reached.
//! Pure functions over the cached Job and its pods, so the controller's
//! decisions can be tested without a server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobCondition, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::util::{now, pod_phase, seconds_since};

/// The finalizer that keeps a Job's finished pod around until the Job
/// has counted it, so a pod removed early (by the node, the GC or a
/// user) is never lost from `succeeded`/`failed`.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

pub const COMPLETE: &str = "Complete";
pub const FAILED: &str = "Failed";
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
pub const FAILURE_TARGET: &str = "FailureTarget";
pub const SUSPENDED: &str = "Suspended";

pub fn has_tracking_finalizer(p: &Pod) -> bool {
    p.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

/// The condition of `type_` when it is True.
pub fn condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// Complete or Failed: nothing more will run.
pub fn is_finished(job: &Job) -> bool {
    condition(job, COMPLETE).is_some() || condition(job, FAILED).is_some()
}

/// When the Job finished, for the TTL controller.
pub fn finish_time(job: &Job) -> Option<Time> {
    let c = condition(job, COMPLETE).or_else(|| condition(job, FAILED))?;
    job.status
        .as_ref()
        .and_then(|s| s.completion_time.clone())
        .or_else(|| c.last_transition_time.clone())
}

/// How a finished pod counts: Some(true) succeeded, Some(false) failed,
/// None still running. A pod being deleted before it succeeded is a
/// failure, unless this controller deleted it on purpose (`ours`).
pub fn outcome(p: &Pod, ours: bool) -> Option<bool> {
    match pod_phase(p) {
        "Succeeded" => Some(true),
        "Failed" => Some(false),
        _ if p.metadata.deletion_timestamp.is_some() && !ours => Some(false),
        _ => None,
    }
}

/// The uncounted set with `uid` added to the right list; None when it is
/// already there.
pub fn add_uncounted(
    u: &UncountedTerminatedPods,
    uid: &str,
    succeeded: bool,
) -> Option<UncountedTerminatedPods> {
    let in_list = |l: &Option<Vec<String>>| l.iter().flatten().any(|x| x == uid);
    if in_list(&u.succeeded) || in_list(&u.failed) {
        return None;
    }
    let mut next = u.clone();
    let list = if succeeded {
        &mut next.succeeded
    } else {
        &mut next.failed
    };
    list.get_or_insert_with(Vec::new).push(uid.to_string());
    Some(next)
}

/// Move the uids in `done` (their finalizer is gone) from the uncounted
/// lists to the counters. Returns how many succeeded and failed moved.
pub fn settle_uncounted(u: &mut UncountedTerminatedPods, done: &BTreeSet<String>) -> (i32, i32) {
    let take = |l: &mut Option<Vec<String>>| {
        let before = l.as_ref().map_or(0, Vec::len);
        if let Some(v) = l.as_mut() {
            v.retain(|uid| !done.contains(uid));
        }
        let after = l.as_ref().map_or(0, Vec::len);
        if after == 0 {
            *l = None;
        }
        (before - after) as i32
    };
    let s = take(&mut u.succeeded);
    let f = take(&mut u.failed);
    (s, f)
}

pub fn uncounted_len(u: &UncountedTerminatedPods) -> (i32, i32) {
    (
        u.succeeded.as_ref().map_or(0, Vec::len) as i32,
        u.failed.as_ref().map_or(0, Vec::len) as i32,
    )
}

/// How many pods should be running now: parallelism, capped by the
/// completions still missing; for a work-queue Job (no completions) none
/// once one has succeeded.
pub fn wanted_active(job: &Job, succeeded: i32) -> i32 {
    let parallelism = job.spec.as_ref().and_then(|s| s.parallelism).unwrap_or(1);
    match job.spec.as_ref().and_then(|s| s.completions) {
        Some(c) => parallelism.min((c - succeeded).max(0)),
        None if succeeded > 0 => 0,
        None => parallelism,
    }
    .max(0)
}

/// Whether the Job's success criteria are met.
pub fn succeeded_enough(job: &Job, succeeded: i32, active: usize) -> bool {
    match job.spec.as_ref().and_then(|s| s.completions) {
        Some(c) => succeeded >= c,
        None => succeeded > 0 && active == 0,
    }
}

/// The reason and message of a failure the Job has reached, if any.
pub fn failure(job: &Job, failed: i32) -> Option<(&'static str, String)> {
    let spec = job.spec.as_ref()?;
    let limit = spec.backoff_limit.unwrap_or(6);
    if failed > limit {
        return Some((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit".into(),
        ));
    }
    if let Some(left) = deadline_left(job)
        && left.is_zero()
    {
        return Some((
            "DeadlineExceeded",
            "Job was active longer than specified deadline".into(),
        ));
    }
    None
}

/// Time left until activeDeadlineSeconds (zero when past), None without
/// a deadline or a start time.
pub fn deadline_left(job: &Job) -> Option<Duration> {
    let secs = job.spec.as_ref()?.active_deadline_seconds?;
    let start = job.status.as_ref()?.start_time.as_ref()?;
    let left = secs as f64 - seconds_since(start);
    Some(Duration::from_secs_f64(left.max(0.0)))
}

/// The delay before the next pod may be created after `failures`
/// failures: `base`, doubled per failure, at most six minutes.
pub fn backoff(base: Duration, failures: i32) -> Duration {
    if failures <= 0 || base.is_zero() {
        return Duration::ZERO;
    }
    let factor = 2u32.saturating_pow((failures - 1).min(16) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(360))
}

/// When a failed pod last finished (its containers' finishedAt, else its
/// Ready condition's last change).
pub fn finished_at(p: &Pod) -> Option<Time> {
    let s = p.status.as_ref()?;
    let from_containers = s
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.clone())
        .max();
    from_containers.or_else(|| {
        s.conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .and_then(|c| c.last_transition_time.clone())
    })
}

/// `conditions` with `type_` set to `status`; the transition time kept
/// when the status did not change. Returns whether anything changed.
pub fn set_condition(
    conditions: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> bool {
    let t = now();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) if c.status == status && c.reason.as_deref() == Some(reason) => false,
        Some(c) => {
            if c.status != status {
                c.last_transition_time = Some(t.clone());
            }
            c.status = status.into();
            c.reason = Some(reason.into());
            c.message = Some(message.into());
            c.last_probe_time = Some(t);
            true
        }
        None => {
            conditions.push(JobCondition {
                type_: type_.into(),
                status: status.into(),
                reason: Some(reason.into()),
                message: Some(message.into()),
                last_probe_time: Some(t.clone()),
                last_transition_time: Some(t),
            });
            true
        }
    }
}

/// Pods the Job should count as ready.
pub fn ready_count(active: &[Arc<Pod>]) -> i32 {
    active
        .iter()
        .filter(|p| crate::util::is_pod_ready(p))
        .count() as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::JobSpec;

    fn job(completions: Option<i32>, parallelism: i32) -> Job {
        Job {
            spec: Some(JobSpec {
                completions,
                parallelism: Some(parallelism),
                backoff_limit: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn active_pods_are_capped_by_missing_completions() {
        assert_eq!(wanted_active(&job(Some(5), 2), 0), 2);
        assert_eq!(wanted_active(&job(Some(5), 2), 4), 1);
        assert_eq!(wanted_active(&job(Some(5), 2), 5), 0);
        assert_eq!(wanted_active(&job(None, 3), 0), 3);
        assert_eq!(wanted_active(&job(None, 3), 1), 0);
        assert!(succeeded_enough(&job(Some(2), 1), 2, 0));
        assert!(!succeeded_enough(&job(None, 2), 1, 1));
        assert!(succeeded_enough(&job(None, 2), 1, 0));
    }

    #[test]
    fn the_backoff_limit_fails_the_job_after_one_more_failure() {
        let j = job(Some(1), 1);
        assert!(failure(&j, 2).is_none());
        assert_eq!(failure(&j, 3).unwrap().0, "BackoffLimitExceeded");
        assert_eq!(backoff(Duration::from_secs(10), 0), Duration::ZERO);
        assert_eq!(backoff(Duration::from_secs(10), 3), Duration::from_secs(40));
        assert_eq!(
            backoff(Duration::from_secs(10), 30),
            Duration::from_secs(360)
        );
    }

    #[test]
    fn uncounted_pods_are_recorded_once_and_settled() {
        let u = UncountedTerminatedPods::default();
        let u = add_uncounted(&u, "a", true).unwrap();
        let mut u = add_uncounted(&u, "b", false).unwrap();
        assert!(add_uncounted(&u, "a", false).is_none());
        assert_eq!(uncounted_len(&u), (1, 1));
        let done: BTreeSet<String> = ["a".to_string()].into();
        assert_eq!(settle_uncounted(&mut u, &done), (1, 0));
        assert_eq!(u.succeeded, None);
        assert_eq!(uncounted_len(&u), (0, 1));
    }

    #[test]
    fn conditions_keep_their_transition_time() {
        let mut cs = Vec::new();
        assert!(set_condition(
            &mut cs,
            SUSPENDED,
            "True",
            "JobSuspended",
            "m"
        ));
        let t = cs[0].last_transition_time.clone();
        assert!(!set_condition(
            &mut cs,
            SUSPENDED,
            "True",
            "JobSuspended",
            "m"
        ));
        assert_eq!(cs[0].last_transition_time, t);
        assert!(set_condition(
            &mut cs,
            SUSPENDED,
            "False",
            "JobResumed",
            "m"
        ));
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].status, "False");
    }
}
