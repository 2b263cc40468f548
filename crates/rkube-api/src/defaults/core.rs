//! Core (legacy group) objects other than Pods.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::pod::pod_template_spec;
use super::{canonical_resource_list, child, default_str, default_value, each, existing, sort_map};

pub(super) fn pod_template(obj: &mut Value) {
    if let Some(t) = child(obj, "template") {
        pod_template_spec(t);
    }
}

/// Selector and object labels come from the template; replicas default to 1.
pub(super) fn replication_controller(obj: &mut Value) {
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned();
    if let Some(labels) = template_labels {
        let spec_selector_empty = obj
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if spec_selector_empty && let Some(spec) = child(obj, "spec") {
            spec["selector"] = Value::Object(labels.clone());
        }
        let labels_empty = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if labels_empty && let Some(md) = child(obj, "metadata") {
            md["labels"] = Value::Object(labels);
        }
    }
    if let Some(spec) = child(obj, "spec") {
        default_value(spec, "replicas", json!(1));
        if let Some(t) = existing(spec, "template") {
            pod_template_spec(t);
        }
    }
}

/// `SetDefaults_Service` plus the IP family fields the service registry
/// fills for a single-stack IPv4 cluster. Cluster IPs themselves are
/// allocated by the API server.
pub(super) fn service(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "sessionAffinity", "None");
    let affinity = spec["sessionAffinity"].as_str().unwrap_or("").to_string();
    if affinity == "None" {
        if let Some(m) = spec.as_object_mut() {
            m.remove("sessionAffinityConfig");
        }
    } else if affinity == "ClientIP" {
        let has_timeout = spec
            .pointer("/sessionAffinityConfig/clientIP/timeoutSeconds")
            .is_some_and(|v| !v.is_null());
        if !has_timeout {
            spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
        }
    }
    default_str(spec, "type", "ClusterIP");
    each(spec, "ports", |p| {
        default_str(p, "protocol", "TCP");
        let target_unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(v) => v.as_i64() == Some(0),
        };
        if target_unset && let Some(port) = p.get("port").cloned() {
            p["targetPort"] = port;
        }
    });
    let ty = spec["type"].as_str().unwrap_or("").to_string();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && has_external_ips);
    if externally_accessible {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        default_value(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default_value(spec, "allocateLoadBalancerNodePorts", json!(true));
        let ingress = obj
            .pointer_mut("/status/loadBalancer/ingress")
            .and_then(Value::as_array_mut);
        for ing in ingress.into_iter().flatten() {
            let has_ip = ing
                .get("ip")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if has_ip {
                default_value(ing, "ipMode", json!("VIP"));
            }
        }
    }
    if let Some(spec) = child(obj, "spec") {
        ip_families(spec, &ty);
    }
}

fn ip_families(spec: &mut Value, ty: &str) {
    if ty == "ExternalName" {
        return;
    }
    // An old client sets only clusterIP: the registry fills clusterIPs.
    let single = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let plural_empty = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if !single.is_empty() && plural_empty {
        spec["clusterIPs"] = json!([single]);
    }
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None")
        || spec.pointer("/clusterIPs/0").and_then(Value::as_str) == Some("None");
    let no_selector = spec
        .get("selector")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    let families_unset = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if ty == "ClusterIP" && headless && no_selector {
        default_value(spec, "ipFamilyPolicy", json!("RequireDualStack"));
        if families_unset {
            spec["ipFamilies"] = json!(["IPv4", "IPv6"]);
        }
        return;
    }
    default_value(spec, "ipFamilyPolicy", json!("SingleStack"));
    if families_unset {
        spec["ipFamilies"] = json!(["IPv4"]);
    }
}

/// Status phase Active and the `kubernetes.io/metadata.name` label.
pub(super) fn namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty()
        && let Some(md) = child(obj, "metadata")
        && let Some(labels) = child(md, "labels")
    {
        let fresh = labels.get("kubernetes.io/metadata.name").is_none();
        labels["kubernetes.io/metadata.name"] = json!(name);
        if fresh {
            sort_map(labels);
        }
    }
    if let Some(status) = child(obj, "status") {
        default_str(status, "phase", "Active");
    }
}

/// The namespace strategy's create-time `kubernetes` finalizer.
pub(super) fn namespace_finalizer(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    let list = spec.get_mut("finalizers").and_then(Value::as_array_mut);
    match list {
        Some(l) if l.iter().any(|f| f == "kubernetes") => {}
        Some(l) => l.push(json!("kubernetes")),
        None => spec["finalizers"] = json!(["kubernetes"]),
    }
}

/// Type Opaque; `stringData` is folded into `data` (base64), as the v1
/// conversion does, and never stored.
pub(super) fn secret(obj: &mut Value) {
    default_str(obj, "type", "Opaque");
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    let Some(string_data) = m.remove("stringData") else {
        return;
    };
    let Some(sd) = string_data.as_object().filter(|sd| !sd.is_empty()) else {
        return;
    };
    let data = m.entry("data").or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let engine = base64::engine::general_purpose::STANDARD;
    for (k, v) in sd {
        let text = v.as_str().unwrap_or_default();
        data[k.as_str()] = json!(engine.encode(text.as_bytes()));
    }
    sort_map(data);
}

/// Allocatable defaults to capacity; podCIDR and podCIDRs are kept in step.
pub(super) fn node(obj: &mut Value) {
    if let Some(spec) = existing(obj, "spec") {
        let single = spec
            .get("podCIDR")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let first = spec
            .pointer("/podCIDRs/0")
            .and_then(Value::as_str)
            .map(str::to_string);
        if !single.is_empty() && first.as_deref() != Some(single.as_str()) {
            spec["podCIDRs"] = json!([single]);
        } else if single.is_empty()
            && let Some(c) = first
        {
            spec["podCIDR"] = json!(c);
        }
    }
    if let Some(status) = existing(obj, "status") {
        canonical_resource_list(status, "capacity");
        canonical_resource_list(status, "allocatable");
        let capacity = status.get("capacity").filter(|c| c.is_object()).cloned();
        if let Some(cap) = capacity {
            default_value(status, "allocatable", cap);
        }
    }
}

/// Status phase Pending and the claim spec defaults.
pub(super) fn persistent_volume_claim(obj: &mut Value) {
    if let Some(spec) = child(obj, "spec") {
        pvc_spec(spec);
    }
    if let Some(status) = child(obj, "status") {
        default_str(status, "phase", "Pending");
        canonical_resource_list(status, "capacity");
        canonical_resource_list(status, "allocatedResources");
    }
}

/// A claim spec (PVCs, ephemeral volumes, StatefulSet claim templates).
pub(crate) fn pvc_spec(spec: &mut Value) {
    default_value(spec, "volumeMode", json!("Filesystem"));
    if let Some(res) = existing(spec, "resources") {
        canonical_resource_list(res, "requests");
        canonical_resource_list(res, "limits");
    }
}

pub(super) fn persistent_volume(obj: &mut Value) {
    if let Some(spec) = child(obj, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_value(spec, "volumeMode", json!("Filesystem"));
        canonical_resource_list(spec, "capacity");
        if let Some(h) = existing(spec, "hostPath") {
            default_value(h, "type", json!(""));
        }
    }
    if let Some(status) = child(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

pub(super) fn endpoints(obj: &mut Value) {
    each(obj, "subsets", |s| {
        each(s, "ports", |p| default_str(p, "protocol", "TCP"));
    });
}

/// Container limits: default and defaultRequest fill from max, default, min.
pub(super) fn limit_range(obj: &mut Value) {
    let Some(spec) = existing(obj, "spec") else {
        return;
    };
    each(spec, "limits", |item| {
        for key in [
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ] {
            canonical_resource_list(item, key);
        }
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            return;
        }
        let get = |item: &Value, key: &str| item.get(key).and_then(Value::as_object).cloned();
        let max = get(item, "max").unwrap_or_default();
        let min = get(item, "min").unwrap_or_default();
        let mut default = get(item, "default").unwrap_or_default();
        for (k, v) in max {
            default.entry(k).or_insert(v);
        }
        let mut request = get(item, "defaultRequest").unwrap_or_default();
        for (k, v) in default.iter().chain(min.iter()) {
            request.entry(k.clone()).or_insert(v.clone());
        }
        item["default"] = Value::Object(default);
        item["defaultRequest"] = Value::Object(request);
    });
}

pub(super) fn resource_quota(obj: &mut Value) {
    if let Some(spec) = existing(obj, "spec") {
        canonical_resource_list(spec, "hard");
    }
    if let Some(status) = existing(obj, "status") {
        canonical_resource_list(status, "hard");
        canonical_resource_list(status, "used");
    }
}

/// The service registry's update-time patching of allocated values: a new
/// spec that leaves out clusterIP(s), node ports or the health check node
/// port keeps the ones already allocated.
pub(super) fn service_keep_allocated(new: &mut Value, old: &Value) {
    let (Some(spec), Some(old_spec)) = (new.get_mut("spec"), old.get("spec")) else {
        return;
    };
    let ty = |s: &Value| {
        s.get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string()
    };
    let (new_ty, old_ty) = (ty(spec), ty(old_spec));
    if new_ty != "ExternalName" && old_ty != "ExternalName" {
        if !is_nonempty(spec.get("clusterIP"))
            && let Some(ip) = old_spec.get("clusterIP").filter(|v| is_nonempty(Some(v)))
        {
            spec["clusterIP"] = ip.clone();
        }
        let plural_empty = spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if plural_empty
            && let Some(ips) = old_spec
                .get("clusterIPs")
                .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        {
            spec["clusterIPs"] = ips.clone();
        }
    }
    let node_ports = |t: &str| t == "NodePort" || t == "LoadBalancer";
    if node_ports(&new_ty) && node_ports(&old_ty) {
        let old_ports: Vec<Value> = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        each(spec, "ports", |p| {
            let unset = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0;
            if !unset {
                return;
            }
            let same_port = old_ports.iter().find(|o| {
                o.get("port") == p.get("port")
                    && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                        == p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
            });
            if let Some(np) = same_port
                .and_then(|o| o.get("nodePort"))
                .filter(|n| n.as_i64().unwrap_or(0) != 0)
            {
                p["nodePort"] = np.clone();
            }
        });
    }
    let hc_unset = spec
        .get("healthCheckNodePort")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        == 0;
    let local_lb = |s: &Value| {
        ty(s) == "LoadBalancer"
            && s.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local")
    };
    if hc_unset
        && local_lb(spec)
        && local_lb(old_spec)
        && let Some(hc) = old_spec
            .get("healthCheckNodePort")
            .filter(|n| n.as_i64().unwrap_or(0) != 0)
    {
        spec["healthCheckNodePort"] = hc.clone();
    }
}

fn is_nonempty(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}
