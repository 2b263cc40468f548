//! batch/v1: Jobs and CronJobs.

use serde_json::{Map, Value, json};

use super::pod::pod_template_spec;
use super::{child, default_str, default_value, each, existing, sort_map};

fn pod_failure_policy(spec: &mut Value) {
    if let Some(pfp) = existing(spec, "podFailurePolicy") {
        each(pfp, "rules", |rule| {
            each(rule, "onPodConditions", |pattern| {
                default_str(pattern, "status", "True");
            });
        });
    }
}

/// Job labels come from the template labels when the Job has none.
fn labels_from_template(obj: &mut Value) {
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned();
    let own_empty = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if let Some(labels) = template_labels
        && own_empty
        && let Some(md) = child(obj, "metadata")
    {
        md["labels"] = Value::Object(labels);
    }
}

/// `SetDefaults_Job`.
pub(super) fn job(obj: &mut Value) {
    labels_from_template(obj);
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    let unset = |spec: &Value, k: &str| spec.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec["completions"] = json!(1);
    }
    default_value(spec, "parallelism", json!(1));
    let limit = if unset(spec, "backoffLimitPerIndex") {
        6
    } else {
        i32::MAX as i64
    };
    default_value(spec, "backoffLimit", json!(limit));
    default_value(spec, "completionMode", json!("NonIndexed"));
    default_value(spec, "suspend", json!(false));
    pod_failure_policy(spec);
    let replacement = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    default_value(spec, "podReplacementPolicy", json!(replacement));
    default_value(spec, "manualSelector", json!(false));
    if let Some(t) = child(spec, "template") {
        pod_template_spec(t);
    }
}

/// `SetDefaults_CronJob`; the job template's pod template gets pod defaults.
pub(super) fn cron_job(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "concurrencyPolicy", "Allow");
    default_value(spec, "suspend", json!(false));
    default_value(spec, "successfulJobsHistoryLimit", json!(3));
    default_value(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = spec
        .pointer_mut("/jobTemplate/spec")
        .filter(|v| v.is_object())
    {
        pod_failure_policy(job_spec);
        if let Some(t) = child(job_spec, "template") {
            pod_template_spec(t);
        }
    }
}

/// The Job strategy's create-time selector: unless `spec.manualSelector` is
/// true, the pod template gets the `job-name` and `controller-uid` labels
/// (legacy and `batch.kubernetes.io/` forms) and the selector matches
/// `batch.kubernetes.io/controller-uid=<uid>`. Needs `metadata.uid` set;
/// labels the user already gave are kept (validation reports conflicts).
pub fn generate_job_selector(obj: &mut Value) {
    labels_from_template(obj);
    let manual = obj
        .pointer("/spec/manualSelector")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if manual {
        return;
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if let Some(labels) = child(spec, "template")
        .and_then(|t| child(t, "metadata"))
        .and_then(|m| child(m, "labels"))
    {
        for (key, value) in [
            ("job-name", &name),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("batch.kubernetes.io/controller-uid", &uid),
        ] {
            if labels.get(key).is_none() {
                labels[key] = json!(value);
            }
        }
        sort_map(labels);
    }
    if let Some(ml) = child(spec, "selector").and_then(|s| child(s, "matchLabels"))
        && ml.get("batch.kubernetes.io/controller-uid").is_none()
    {
        ml["batch.kubernetes.io/controller-uid"] = json!(uid);
        sort_map(ml);
    }
}
