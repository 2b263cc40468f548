//! Defaulting, as kube-apiserver applies it on create and update, so an
//! object created through rkube reads back as it would from upstream.
//!
//! What "defaults" covers here:
//! - the versioned defaulting functions and `+default` markers of each type
//!   (`SetDefaults_Pod`, `SetDefaults_Deployment`, ...);
//! - what the round trip through upstream's internal types leaves behind
//!   (`resources: {}` on containers, `serviceAccount` mirroring
//!   `serviceAccountName`, `stringData` folded into `data`, quantities in
//!   canonical form, `divisor: "0"`);
//! - for Pods only, the mutations of the admission plugins every cluster
//!   runs (ServiceAccount, DefaultTolerationSeconds, Priority), so a pod
//!   reads back like one from a stock kube-apiserver. See [`pod_admission`].
//!
//! Strategy-level create-only mutations that must not run on update (the
//! namespace's `kubernetes` finalizer, a Job's generated selector) are in
//! [`prepare_for_create`], for the API server to call before [`apply`].
//!
//! Every function here is idempotent: applying it to its own output changes
//! nothing, so the API server may call [`apply`] on update as well.

use serde_json::{Map, Value, json};

use crate::catalogue::ResourceDef;
use crate::validation::quantity;

mod apps;
mod autoscaling;
mod batch;
mod core;
mod networking;
mod other;
mod pod;

pub use batch::generate_job_selector;
pub use pod::{apply_pod_admission as pod_admission, pod_template_spec};

type DefaultFn = fn(&mut Value);

/// One table: which defaulting function a (group, kind) gets.
const TABLE: &[(&str, &str, DefaultFn)] = &[
    ("", "Pod", pod::pod),
    ("", "PodTemplate", core::pod_template),
    ("", "ReplicationController", core::replication_controller),
    ("", "Service", core::service),
    ("", "Namespace", core::namespace),
    ("", "Secret", core::secret),
    ("", "Node", core::node),
    ("", "PersistentVolumeClaim", core::persistent_volume_claim),
    ("", "PersistentVolume", core::persistent_volume),
    ("", "Endpoints", core::endpoints),
    ("", "LimitRange", core::limit_range),
    ("", "ResourceQuota", core::resource_quota),
    ("apps", "Deployment", apps::deployment),
    ("apps", "ReplicaSet", apps::replica_set),
    ("apps", "StatefulSet", apps::stateful_set),
    ("apps", "DaemonSet", apps::daemon_set),
    ("batch", "Job", batch::job),
    ("batch", "CronJob", batch::cron_job),
    ("autoscaling", "HorizontalPodAutoscaler", autoscaling::hpa),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        networking::network_policy,
    ),
    (
        "networking.k8s.io",
        "IngressClass",
        networking::ingress_class,
    ),
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
    ("storage.k8s.io", "StorageClass", other::storage_class),
    ("storage.k8s.io", "CSIDriver", other::csi_driver),
    ("scheduling.k8s.io", "PriorityClass", other::priority_class),
    ("discovery.k8s.io", "EndpointSlice", other::endpoint_slice),
];

/// Fill in defaults on an object in its storage version.
pub fn apply(def: &ResourceDef, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    if let Some((_, _, f)) = TABLE
        .iter()
        .find(|(g, k, _)| *g == def.group && *k == def.kind)
    {
        f(obj);
    }
}

/// Create-only mutations of upstream's registry strategies that make an
/// object read back as upstream's does, but must not be re-applied on
/// update: a Namespace gets the `kubernetes` finalizer (the namespace
/// controller removes it later), a Job without `manualSelector: true` gets
/// its generated selector and labels (needs `metadata.uid` set).
pub fn prepare_for_create(def: &ResourceDef, obj: &mut Value) {
    match (def.group, def.kind) {
        ("", "Namespace") => core::namespace_finalizer(obj),
        ("batch", "Job") => generate_job_selector(obj),
        _ => {}
    }
}

/// Update-time mutations of upstream's registry strategies that the
/// validation of updates relies on: a Service update that leaves out its
/// allocated cluster IPs, node ports or health check node port keeps the
/// old ones (as the service registry patches them in). Call before
/// [`apply`] and validation.
pub fn prepare_for_update(def: &ResourceDef, obj: &mut Value, old: &Value) {
    if def.group.is_empty() && def.kind == "Service" {
        core::service_keep_allocated(obj, old);
    }
}

// ---- JSON helpers shared by the defaulting files ----

fn unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Set `key` when it is absent or null (a Go pointer field).
pub(crate) fn default_value(obj: &mut Value, key: &str, val: Value) {
    if let Some(m) = obj.as_object_mut()
        && unset(m.get(key))
    {
        m.insert(key.to_string(), val);
    }
}

/// Set a string `key` when it is absent, null or "" (a Go string field).
pub(crate) fn default_str(obj: &mut Value, key: &str, val: &str) {
    if let Some(m) = obj.as_object_mut() {
        let empty = match m.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if empty {
            m.insert(key.to_string(), json!(val));
        }
    }
}

/// Set an integer `key` when it is absent, null or 0 (a Go int field).
pub(crate) fn default_int(obj: &mut Value, key: &str, val: i64) {
    if let Some(m) = obj.as_object_mut() {
        let zero = match m.get(key) {
            None | Some(Value::Null) => true,
            Some(v) => v.as_i64() == Some(0),
        };
        if zero {
            m.insert(key.to_string(), json!(val));
        }
    }
}

/// The object under `key`, created as `{}` when absent or null.
pub(crate) fn child<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = obj.as_object_mut()?;
    let slot = m.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.is_object().then_some(slot)
}

/// The object under `key` when it exists (never created).
pub(crate) fn existing<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    obj.get_mut(key).filter(|v| v.is_object())
}

/// Run `f` on each object of the array under `key`.
pub(crate) fn each(obj: &mut Value, key: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(items) = obj.get_mut(key).and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter(|i| i.is_object()) {
            f(item);
        }
    }
}

pub(crate) fn is_nonempty_str(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// Rewrite a quantity in canonical form; `milli` also rounds it up to
/// thousandths as v1 resource lists are. Unparsable values are left for
/// validation to report.
pub(crate) fn canonical_quantity(v: &mut Value, milli: bool) {
    if let Some(Ok(mut q)) = quantity::from_json(v) {
        if milli {
            q.round_up(-3);
        }
        *v = Value::String(q.canonical());
    }
}

/// Canonicalise every quantity of a resource list (`{cpu: ..., memory: ...}`).
pub(crate) fn canonical_resource_list(obj: &mut Value, key: &str) {
    if let Some(m) = obj.get_mut(key).and_then(Value::as_object_mut) {
        for v in m.values_mut() {
            canonical_quantity(v, true);
        }
    }
}

/// A quantity field that is a non-pointer struct upstream: absent reads as "0".
pub(crate) fn quantity_or_zero(obj: &mut Value, key: &str) {
    if let Some(m) = obj.as_object_mut() {
        match m.get_mut(key) {
            None | Some(Value::Null) => {
                m.insert(key.to_string(), json!("0"));
            }
            Some(v) => canonical_quantity(v, false),
        }
    }
}

/// Re-insert a label/annotation map's keys in sorted order, as Go writes maps.
pub(crate) fn sort_map(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        m.extend(entries);
    }
}

#[cfg(test)]
mod tests;
