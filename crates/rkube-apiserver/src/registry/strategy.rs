//! What differs between resources on the generic write path. Each quirk of
//! a resource lives here, keyed by its group and plural, so the handlers
//! stay generic.

use rkube_api::catalogue::ResourceDef;
use rkube_api::status::{ApiError, ApiResult, Cause};
use serde_json::{Map, Value, json};

use super::Registry;

/// Whether `metadata.generation` counts spec changes for this resource.
pub fn tracks_generation(def: &ResourceDef) -> bool {
    !matches!(
        (def.group, def.plural),
        ("", "namespaces")
            | ("", "nodes")
            | ("", "configmaps")
            | ("", "secrets")
            | ("", "serviceaccounts")
            | ("", "events")
            | ("", "endpoints")
            | ("", "services")
            | ("coordination.k8s.io", "leases")
            | ("events.k8s.io", "events")
    ) && def.stored
}

fn has_status(def: &ResourceDef) -> bool {
    def.subresource("status").is_some()
}

/// Set what the server owns on a new object: status starts over for
/// resources whose status is written through the status subresource.
pub fn prepare_for_create(def: &ResourceDef, obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    match (def.group, def.plural) {
        ("", "pods") => {
            let qos = pod_qos_class(map.get("spec").unwrap_or(&Value::Null));
            map.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
        ("", "namespaces") => {
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        ("", "services") => {
            map.insert("status".into(), json!({"loadBalancer": {}}));
        }
        // Nodes register with their status; keep what the client sent.
        ("", "nodes") => {}
        _ if has_status(def) => {
            map.insert("status".into(), json!({}));
        }
        _ => {}
    }
}

/// The QoS class a pod's requests and limits put it in.
pub fn pod_qos_class(spec: &Value) -> &'static str {
    let containers = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["initContainers"].as_array().into_iter().flatten());
    let mut any = false;
    let mut guaranteed = true;
    let mut count = 0;
    for c in containers {
        count += 1;
        let req = c["resources"]["requests"].as_object();
        let lim = c["resources"]["limits"].as_object();
        if req.is_some_and(|r| !r.is_empty()) || lim.is_some_and(|l| !l.is_empty()) {
            any = true;
        }
        for r in ["cpu", "memory"] {
            let l = lim.and_then(|l| l.get(r));
            let q = req.and_then(|q| q.get(r)).or(l);
            if l.is_none() || q != l {
                guaranteed = false;
            }
        }
    }
    if !any || count == 0 {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The main resource: everything but status (where status is a
    /// subresource).
    Main,
    /// The status subresource: status only.
    Status,
}

/// Carry over what this kind of write may not change, and bump generation
/// when the spec changed.
pub fn prepare_for_update(def: &ResourceDef, new: &mut Value, old: &Value, part: Part) {
    match part {
        Part::Status => {
            let status = new.get("status").cloned();
            let mut merged = old.clone();
            if let Some(map) = merged.as_object_mut() {
                match status {
                    Some(s) => map.insert("status".into(), s),
                    None => map.remove("status"),
                };
            }
            // Metadata written through status is limited to what the
            // object's owner would change there; keep the stored metadata.
            *new = merged;
        }
        Part::Main => {
            if has_status(def)
                && let Some(map) = new.as_object_mut()
            {
                match old.get("status") {
                    Some(s) => map.insert("status".into(), s.clone()),
                    None => map.remove("status"),
                };
            }
        }
    }
    if tracks_generation(def) {
        let old_gen = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let changed = spec_of(new) != spec_of(old)
            || (new["metadata"]["deletionTimestamp"].is_string()
                && !old["metadata"]["deletionTimestamp"].is_string());
        let gen_value = if changed { old_gen + 1 } else { old_gen };
        rkube_api::meta::metadata_mut(new).insert("generation".into(), json!(gen_value));
    }
}

/// Everything outside metadata and status.
fn spec_of(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "kind" | "apiVersion")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Allocate what a new object needs from shared ranges (Service cluster
/// IPs and node ports). On error nothing stays allocated.
pub fn allocate(reg: &Registry, def: &ResourceDef, obj: &mut Value) -> ApiResult<()> {
    if (def.group, def.plural) != ("", "services") {
        return Ok(());
    }
    let name = rkube_api::meta::name(obj).to_string();
    let spec = obj
        .get_mut("spec")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ApiError::invalid("", "Service", &name, vec![Cause::required("spec")]))?;
    let svc_type = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let mut allocated_ip = None;
    let invalid = |field: &str, value: Value, msg: String| {
        ApiError::invalid(
            "",
            "Service",
            &name,
            vec![Cause::invalid(field, &value, &msg)],
        )
    };
    if svc_type != "ExternalName" {
        let requested = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
        if requested != "None" {
            let want = if requested.is_empty() {
                None
            } else {
                Some(requested.parse().map_err(|_| {
                    invalid(
                        "spec.clusterIPs",
                        json!([requested]),
                        "must be a valid IP address".into(),
                    )
                })?)
            };
            let ip = reg
                .services
                .allocate_ip(want)
                .map_err(|m| invalid("spec.clusterIPs", json!([requested]), m))?;
            allocated_ip = Some(ip.to_string());
            spec.insert("clusterIP".into(), json!(ip.to_string()));
            spec.insert("clusterIPs".into(), json!([ip.to_string()]));
        } else {
            spec.insert("clusterIPs".into(), json!(["None"]));
        }
    }
    if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer") {
        let mut taken = Vec::new();
        let ports = spec.get_mut("ports").and_then(Value::as_array_mut);
        for (i, port) in ports.into_iter().flatten().enumerate() {
            let requested = port
                .get("nodePort")
                .and_then(Value::as_u64)
                .map(|p| p as u16);
            match reg.services.allocate_port(requested) {
                Ok(p) => {
                    taken.push(p);
                    port["nodePort"] = json!(p);
                }
                Err(m) => {
                    for p in taken {
                        reg.services.release_port(p);
                    }
                    if let Some(ip) = &allocated_ip {
                        reg.services.release_ip(ip);
                    }
                    return Err(invalid(
                        &format!("spec.ports[{i}].nodePort"),
                        json!(requested.unwrap_or(0)),
                        m,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Give back what `allocate` took (after a delete or a failed create).
pub fn release(reg: &Registry, def: &ResourceDef, obj: &Value) {
    if (def.group, def.plural) != ("", "services") {
        return;
    }
    if let Some(ip) = obj["spec"]["clusterIP"].as_str() {
        reg.services.release_ip(ip);
    }
    for port in obj["spec"]["ports"].as_array().into_iter().flatten() {
        if let Some(p) = port["nodePort"].as_u64() {
            reg.services.release_port(p as u16);
        }
    }
}

/// Record what stored objects already hold (at start).
pub fn mark_allocated(reg: &Registry, def: &ResourceDef, obj: &Value) {
    if (def.group, def.plural) != ("", "services") {
        return;
    }
    if let Some(ip) = obj["spec"]["clusterIP"].as_str() {
        reg.services.mark_ip(ip);
    }
    for port in obj["spec"]["ports"].as_array().into_iter().flatten() {
        if let Some(p) = port["nodePort"].as_u64() {
            reg.services.mark_port(p as u16);
        }
    }
}

/// The grace period a delete without one gets; None deletes at once.
/// Only pods delete gracefully, and only once they are bound to a node
/// (an unscheduled pod has no kubelet to wait for).
pub fn default_grace_period(def: &ResourceDef, obj: &Value) -> Option<i64> {
    if (def.group, def.plural) != ("", "pods") {
        return None;
    }
    if obj["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
        return Some(0);
    }
    let phase = obj["status"]["phase"].as_str().unwrap_or("");
    if phase == "Succeeded" || phase == "Failed" {
        return Some(0);
    }
    Some(
        obj["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30),
    )
}

/// Namespaces are finalized by the namespace controller: deleting one
/// marks it Terminating.
pub fn on_graceful_delete(def: &ResourceDef, obj: &mut Value) {
    if (def.group, def.plural) == ("", "namespaces") {
        obj["status"]["phase"] = json!("Terminating");
    }
}

/// Finalizers a resource's own deletion waits for beyond
/// metadata.finalizers (a namespace's spec.finalizers).
pub fn has_pending_spec_finalizers(def: &ResourceDef, obj: &Value) -> bool {
    (def.group, def.plural) == ("", "namespaces")
        && obj["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
}

/// Whether a finished delete answers with the deleted object (pods,
/// services, namespaces) or with a Success Status (everything else).
pub fn returns_deleted_object(def: &ResourceDef) -> bool {
    matches!(
        (def.group, def.plural),
        ("", "pods")
            | ("", "services")
            | ("", "namespaces")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
    )
}
