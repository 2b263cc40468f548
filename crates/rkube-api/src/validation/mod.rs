//! Validation, with upstream's field paths and messages.
//!
//! [`validate`] runs what kube-apiserver's registry strategies run for a
//! create (`old` is `None`) or an update: object metadata (name rule per
//! resource, generateName, labels, annotations, owner references,
//! finalizers) and the type's own rules, including what may not change on
//! update. Generic metadata immutability (name, namespace, uid,
//! creationTimestamp, resourceVersion) is the API server's.
//!
//! Objects are expected in their storage version with defaults applied.
//! Upstream reports malformed quantities while decoding, as a 400;
//! [`check_decodable`] gives that message.

pub mod quantity;

mod apps;
mod autoscaling;
mod batch;
mod containers;
mod core;
mod env;
mod events;
mod meta;
mod other;
mod pod;
mod pod_update;
mod service;
mod util;
mod volumes;

use serde_json::Value;

use crate::catalogue::ResourceDef;
use crate::status::Cause;

pub use self::core::MAX_SECRET_SIZE;
pub use batch::parse_schedule as check_cron_schedule;
pub use meta::TOTAL_ANNOTATION_SIZE_LIMIT;

/// "must be greater than or equal to 0".
pub(crate) const IS_NEGATIVE: &str = "must be greater than or equal to 0";

type ValidateFn = fn(&ResourceDef, &Value, Option<&Value>) -> Vec<Cause>;

fn pod_any(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    match old {
        Some(o) => pod_update::update(def, obj, o),
        None => pod::create(def, obj),
    }
}

fn service_any(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    match old {
        Some(o) => service::update(def, obj, o),
        None => service::create(def, obj),
    }
}

/// One table: the validation a (group, kind) gets; others get metadata only.
const TABLE: &[(&str, &str, ValidateFn)] = &[
    ("", "Pod", pod_any),
    ("", "Service", service_any),
    ("", "Namespace", core::namespace),
    ("", "ConfigMap", core::config_map),
    ("", "Secret", core::secret),
    ("", "Node", core::node),
    ("", "ReplicationController", core::replication_controller),
    ("", "PodTemplate", core::pod_template),
    ("", "PersistentVolumeClaim", core::persistent_volume_claim),
    ("", "Event", events::core_event),
    ("events.k8s.io", "Event", events::events_v1),
    ("apps", "Deployment", apps::deployment),
    ("apps", "ReplicaSet", apps::replica_set),
    ("apps", "StatefulSet", apps::stateful_set),
    ("apps", "DaemonSet", apps::daemon_set),
    ("batch", "Job", batch::job),
    ("batch", "CronJob", batch::cron_job),
    ("autoscaling", "HorizontalPodAutoscaler", autoscaling::hpa),
    ("rbac.authorization.k8s.io", "Role", other::role),
    ("rbac.authorization.k8s.io", "ClusterRole", other::role),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        other::role_binding,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        other::role_binding,
    ),
    ("coordination.k8s.io", "Lease", other::lease),
];

/// Check an object (storage version, defaults applied) before it is stored.
/// `old` is the stored object on update, for immutable-field checks.
pub fn validate(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    if !obj.is_object() {
        return Vec::new();
    }
    let f = TABLE
        .iter()
        .find(|(g, k, _)| *g == def.group && *k == def.kind)
        .map_or(core::meta_only as ValidateFn, |(_, _, f)| *f);
    dedup(f(def, obj, old))
}

/// Upstream prints each distinct message once.
fn dedup(causes: Vec<Cause>) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::with_capacity(causes.len());
    for c in causes {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The 400 upstream answers when a body does not decode, for the one case
/// JSON decoding here cannot catch: a malformed resource quantity, e.g.
/// `Pod in version "v1" cannot be handled as a Pod: quantities must match
/// the regular expression '...'`. `version` is the request's version.
pub fn check_decodable(def: &ResourceDef, obj: &Value, version: &str) -> Result<(), String> {
    match first_bad_quantity(def, obj) {
        None => Ok(()),
        Some(e) => Err(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {e}",
            kind = def.kind
        )),
    }
}

fn first_bad_quantity(def: &ResourceDef, obj: &Value) -> Option<quantity::QuantityError> {
    let mut lists: Vec<&Value> = Vec::new();
    let mut specs: Vec<&Value> = Vec::new();
    match (def.group, def.kind) {
        ("", "Pod") => specs.push(&obj["spec"]),
        ("", "PodTemplate") => specs.push(&obj["template"]["spec"]),
        ("apps" | "batch" | "", _) => {
            if let Some(s) = obj.pointer("/spec/template/spec") {
                specs.push(s);
            }
            if let Some(s) = obj.pointer("/spec/jobTemplate/spec/template/spec") {
                specs.push(s);
            }
        }
        _ => {}
    }
    for spec in specs {
        for key in ["containers", "initContainers"] {
            for c in spec
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for which in ["limits", "requests"] {
                    if let Some(l) = c.pointer(&format!("/resources/{which}")) {
                        lists.push(l);
                    }
                }
            }
        }
    }
    for key in [
        "/spec/resources/requests",
        "/status/capacity",
        "/status/allocatable",
        "/spec/hard",
    ] {
        if let Some(l) = obj.pointer(key) {
            lists.push(l);
        }
    }
    lists
        .into_iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.values())
        .find_map(|v| match quantity::from_json(v) {
            Some(Err(e)) => Some(e),
            None if !v.is_null() => Some(quantity::QuantityError::FormatWrong),
            _ => None,
        })
}

#[cfg(test)]
mod tests;
