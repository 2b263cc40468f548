//! Pods, pod templates, containers and volumes.

use serde_json::{Value, json};

use super::{
    canonical_quantity, canonical_resource_list, child, default_int, default_str, default_value,
    each, existing, is_nonempty_str, quantity_or_zero,
};

/// A Pod object: its type defaults, then the admission-plugin mutations.
pub(super) fn pod(obj: &mut Value) {
    if let Some(spec) = child(obj, "spec") {
        pod_only_spec(spec);
        pod_spec(spec);
    }
    if let Some(status) = existing(obj, "status") {
        pod_status(status);
    }
    apply_pod_admission(obj);
}

/// A `PodTemplateSpec` (the `template` of workloads): the pod spec defaults
/// without the Pod-only ones and without admission.
pub fn pod_template_spec(template: &mut Value) {
    if let Some(spec) = child(template, "spec") {
        pod_spec(spec);
    }
}

/// `SetDefaults_Pod`: only for Pod objects, not templates.
fn pod_only_spec(spec: &mut Value) {
    let host_network = spec
        .get("hostNetwork")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for key in ["containers", "initContainers"] {
        each(spec, key, |c| {
            requests_from_limits(c);
            if host_network {
                each(c, "ports", |p| {
                    let container_port = p.get("containerPort").cloned();
                    if let Some(cp) = container_port {
                        let unset = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0;
                        if unset {
                            p["hostPort"] = cp;
                        }
                    }
                });
            }
        });
    }
    default_value(spec, "enableServiceLinks", json!(true));
}

/// Requests default to limits, resource by resource.
fn requests_from_limits(container: &mut Value) {
    let Some(res) = existing(container, "resources") else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if let Some(requests) = child(res, "requests").and_then(Value::as_object_mut) {
        for (k, v) in limits {
            requests.entry(k).or_insert(v);
        }
    }
}

/// `SetDefaults_PodSpec` and everything below a pod spec.
pub(super) fn pod_spec(spec: &mut Value) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_value(spec, "securityContext", json!({}));
    default_value(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    each(spec, "volumes", volume);
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        each(spec, key, container);
    }
    canonical_resource_list(spec, "overhead");
    if let Some(res) = existing(spec, "resources") {
        canonical_resource_list(res, "limits");
        canonical_resource_list(res, "requests");
    }
    // The v1 conversion mirrors serviceAccountName into the deprecated
    // serviceAccount field (and reads the old field when the new is empty).
    let name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| spec.get("serviceAccount").and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    if let Some(m) = spec.as_object_mut() {
        if name.is_empty() {
            m.remove("serviceAccount");
        } else {
            m.insert("serviceAccountName".into(), json!(name));
            m.insert("serviceAccount".into(), json!(name));
        }
    }
}

/// `SetDefaults_Container`, declarative port defaults, probes, handlers,
/// env sources and resource lists.
fn container(c: &mut Value) {
    if !is_nonempty_str(c.get("imagePullPolicy")) {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = if image_tag(image).as_deref() == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        c["imagePullPolicy"] = json!(policy);
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    each(c, "ports", |p| default_str(p, "protocol", "TCP"));
    if let Some(res) = child(c, "resources") {
        canonical_resource_list(res, "limits");
        canonical_resource_list(res, "requests");
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing(c, key) {
            probe(p);
        }
    }
    if let Some(lc) = existing(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(h) = existing(lc, key) {
                handler(h);
            }
        }
    }
    each(c, "env", |e| {
        if let Some(from) = existing(e, "valueFrom") {
            field_sources(from);
        }
    });
}

/// Field and resource references (env `valueFrom`, downward API items).
fn field_sources(v: &mut Value) {
    if let Some(f) = existing(v, "fieldRef") {
        default_str(f, "apiVersion", "v1");
    }
    if let Some(r) = existing(v, "resourceFieldRef") {
        quantity_or_zero(r, "divisor");
    }
}

fn probe(p: &mut Value) {
    default_int(p, "timeoutSeconds", 1);
    default_int(p, "periodSeconds", 10);
    default_int(p, "successThreshold", 1);
    default_int(p, "failureThreshold", 3);
    handler(p);
}

/// Probe and lifecycle handlers: `httpGet` path and scheme, `grpc` service.
fn handler(h: &mut Value) {
    if let Some(get) = existing(h, "httpGet") {
        default_str(get, "path", "/");
        default_str(get, "scheme", "HTTP");
    }
    if let Some(grpc) = existing(h, "grpc") {
        default_value(grpc, "service", json!(""));
    }
}

/// The volume source keys a `Volume` may carry besides its name.
fn has_source(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.iter().any(|(k, val)| k != "name" && !val.is_null()))
}

fn volume(v: &mut Value) {
    if !has_source(v) {
        v["emptyDir"] = json!({});
    }
    for key in ["secret", "configMap"] {
        if let Some(s) = existing(v, key) {
            default_value(s, "defaultMode", json!(420));
        }
    }
    if let Some(d) = existing(v, "downwardAPI") {
        default_value(d, "defaultMode", json!(420));
        each(d, "items", field_sources);
    }
    if let Some(p) = existing(v, "projected") {
        default_value(p, "defaultMode", json!(420));
        each(p, "sources", |src| {
            if let Some(t) = existing(src, "serviceAccountToken") {
                default_value(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = existing(src, "downwardAPI") {
                each(d, "items", field_sources);
            }
        });
    }
    if let Some(h) = existing(v, "hostPath") {
        default_value(h, "type", json!(""));
    }
    if let Some(e) = existing(v, "emptyDir")
        && let Some(limit) = e.get_mut("sizeLimit")
    {
        canonical_quantity(limit, false);
    }
    if let Some(spec) = v.pointer_mut("/ephemeral/volumeClaimTemplate/spec") {
        super::core::pvc_spec(spec);
    }
    if let Some(i) = existing(v, "iscsi") {
        default_str(i, "iscsiInterface", "default");
    }
    if let Some(r) = existing(v, "rbd") {
        default_str(r, "pool", "rbd");
        default_str(r, "user", "admin");
        default_str(r, "keyring", "/etc/ceph/keyring");
    }
    if let Some(a) = existing(v, "azureDisk") {
        default_value(a, "cachingMode", json!("ReadWrite"));
        default_value(a, "fsType", json!("ext4"));
        default_value(a, "readOnly", json!(false));
        default_value(a, "kind", json!("Shared"));
    }
    if let Some(s) = existing(v, "scaleIO") {
        default_str(s, "storageMode", "ThinProvisioned");
        default_str(s, "fsType", "xfs");
    }
}

/// The v1 conversion keeps `podIP`/`podIPs` and `hostIP`/`hostIPs` in step:
/// the singular field wins when both are set and differ.
fn pod_status(status: &mut Value) {
    for (one, many) in [("podIP", "podIPs"), ("hostIP", "hostIPs")] {
        let single = status
            .get(one)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let first = status
            .pointer(&format!("/{many}/0/ip"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if !single.is_empty() && first.as_deref() != Some(single.as_str()) {
            status[many] = json!([{"ip": single}]);
        } else if single.is_empty()
            && let Some(ip) = first
        {
            status[one] = json!(ip);
        }
    }
}

/// The tag the kubelet would pull for `image`, as upstream's image name
/// parsing finds it: "latest" when neither tag nor digest is given, `None`
/// when the reference does not parse.
pub(crate) fn image_tag(image: &str) -> Option<String> {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d.split_once(':')?;
        if algo.is_empty() || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && (t.as_bytes()[0].is_ascii_alphanumeric() || t.starts_with('_'))
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return None;
        }
    }
    if !valid_repository(repo) {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some("latest".to_string()),
    }
}

fn valid_repository(repo: &str) -> bool {
    if repo.is_empty() {
        return false;
    }
    let (domain, path) = match repo.split_once('/') {
        Some((d, rest)) if d.contains(['.', ':']) || d == "localhost" || d.to_lowercase() != d => {
            (Some(d), rest)
        }
        _ => (None, repo),
    };
    if let Some(d) = domain {
        let host = d.split_once(':').map_or(d, |(h, port)| {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                ""
            } else {
                h
            }
        });
        let host_ok = !host.is_empty()
            && host.split('.').all(|part| {
                let b = part.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            });
        if !host_ok {
            return false;
        }
    }
    path.split('/').all(|comp| {
        let b = comp.as_bytes();
        !b.is_empty()
            && lower_alnum(b[0])
            && lower_alnum(b[b.len() - 1])
            && b.iter()
                .all(|c| lower_alnum(*c) || matches!(c, b'.' | b'_' | b'-'))
            && !comp.contains("..")
            && !comp.contains("___")
    })
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// The create-time mutations of three admission plugins every cluster runs,
/// applied to Pods only (never to templates):
/// - ServiceAccount: `serviceAccountName` (and the mirrored
///   `serviceAccount`) default to "default" (mirror pods are skipped).
///   Upstream also adds the projected `kube-api-access-xxxxx` volume and its
///   mounts; that needs a generated name and token projection and is left to
///   the API server's admission chain.
/// - DefaultTolerationSeconds: tolerate the not-ready and unreachable
///   NoExecute taints for 300 seconds unless a toleration already covers them.
/// - Priority: pods without a class get priority 0; the two built-in system
///   classes resolve to their values; `preemptionPolicy` defaults to
///   PreemptLowerPriority. Other class names need a PriorityClass lookup,
///   which is the API server's.
pub fn apply_pod_admission(pod: &mut Value) {
    let mirror = pod
        .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
        .is_some();
    let Some(spec) = child(pod, "spec") else {
        return;
    };
    if !mirror && !is_nonempty_str(spec.get("serviceAccountName")) {
        spec["serviceAccountName"] = json!("default");
        spec["serviceAccount"] = json!("default");
    }
    default_tolerations(spec);
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let priority = match class {
        "" => Some(0),
        "system-node-critical" => Some(2_000_001_000),
        "system-cluster-critical" => Some(2_000_000_000),
        _ => None,
    };
    if let Some(p) = priority {
        default_value(spec, "priority", json!(p));
        default_value(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

fn default_tolerations(spec: &mut Value) {
    let mut covers_not_ready = false;
    let mut covers_unreachable = false;
    if let Some(ts) = spec.get("tolerations").and_then(Value::as_array) {
        for t in ts {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            if effect == "NoExecute" || effect.is_empty() {
                covers_not_ready |= key == NOT_READY || key.is_empty();
                covers_unreachable |= key == UNREACHABLE || key.is_empty();
            }
        }
    }
    let mut add = Vec::new();
    for (key, covered) in [
        (NOT_READY, covers_not_ready),
        (UNREACHABLE, covers_unreachable),
    ] {
        if !covered {
            add.push(json!({
                "key": key,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300
            }));
        }
    }
    if add.is_empty() {
        return;
    }
    match spec.get_mut("tolerations").and_then(Value::as_array_mut) {
        Some(list) => list.extend(add),
        None => spec["tolerations"] = Value::Array(add),
    }
}
