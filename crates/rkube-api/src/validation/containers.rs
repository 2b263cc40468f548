//! Containers: names, images, ports, env, mounts, resources, probes.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::quantity::{self, Quantity};
use super::util::{
    arr, duplicate, duplicate_raw, each_msg, forbidden, get, go_quote, has, invalid, invalid_int,
    invalid_raw, invalid_str, nonnegative, not_supported, obj, required, required_msg, s,
};
use crate::names::{check_dns1123_label, check_port_name, check_port_num, check_qualified_name};
use crate::status::Cause;

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const STANDARD_CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// Which list a container is in; they differ in what they may set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    Init,
}

/// Checks every container gets: name, image, termination message policy,
/// ports, env, mounts, pull policy, resources.
fn common(c: &Value, path: &str, volumes: &HashSet<String>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = s(c, "name");
    if name.is_empty() {
        errs.push(required(format!("{path}.name")));
    } else {
        errs.extend(each_msg(
            &format!("{path}.name"),
            name,
            check_dns1123_label(name),
        ));
    }
    if s(c, "image").is_empty() {
        errs.push(required(format!("{path}.image")));
    }
    match s(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(required(format!("{path}.terminationMessagePolicy"))),
        _ => errs.push(not_supported(
            format!("{path}.terminationMessagePolicy"),
            get(c, "terminationMessagePolicy"),
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(ports(c, &format!("{path}.ports")));
    errs.extend(super::env::env(c, &format!("{path}.env")));
    errs.extend(super::env::env_from(c, &format!("{path}.envFrom")));
    errs.extend(super::env::mounts(
        c,
        &format!("{path}.volumeMounts"),
        volumes,
    ));
    match s(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(required(format!("{path}.imagePullPolicy"))),
        _ => errs.push(not_supported(
            format!("{path}.imagePullPolicy"),
            get(c, "imagePullPolicy"),
            PULL_POLICIES,
        )),
    }
    errs.extend(resources(get(c, "resources"), &format!("{path}.resources")));
    errs
}

/// A list of regular or init containers. `seen` carries the names already
/// used (regular containers, when checking init containers).
pub(crate) fn list(
    containers: &[Value],
    path: &str,
    kind: Kind,
    volumes: &HashSet<String>,
    seen: &mut HashSet<String>,
) -> Vec<Cause> {
    let mut errs = Vec::new();
    if kind == Kind::Regular && containers.is_empty() {
        errs.push(required(path));
        return errs;
    }
    let mut host_ports = HashSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = format!("{path}[{i}]");
        errs.extend(common(c, &p, volumes));
        let name = s(c, "name");
        let sidecar = kind == Kind::Init && s(c, "restartPolicy") == "Always";
        if kind == Kind::Init && has(c, "restartPolicy") && !sidecar {
            errs.push(not_supported(
                format!("{p}.restartPolicy"),
                get(c, "restartPolicy"),
                &["Always"],
            ));
        }
        if seen.contains(name) {
            errs.push(duplicate(format!("{p}.name"), get(c, "name")));
        } else if kind == Kind::Regular || !name.is_empty() {
            seen.insert(name.to_string());
        }
        if kind == Kind::Init {
            errs.extend(host_port_conflicts(
                std::slice::from_ref(c),
                path,
                i,
                &mut HashSet::new(),
            ));
        }
        if kind == Kind::Regular || sidecar {
            if let Some(lc) = c.get("lifecycle").filter(|v| !v.is_null()) {
                for hook in ["postStart", "preStop"] {
                    if let Some(h) = lc.get(hook).filter(|v| !v.is_null()) {
                        errs.extend(handler(h, &format!("{p}.lifecycle.{hook}")));
                    }
                }
            }
            for probe_key in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(pr) = c.get(probe_key).filter(|v| !v.is_null()) {
                    errs.extend(probe(pr, &format!("{p}.{probe_key}")));
                }
            }
        } else {
            for key in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if has(c, key) {
                    errs.push(forbidden(
                        format!("{p}.{key}"),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
        if kind == Kind::Regular && has(c, "restartPolicy") {
            errs.push(forbidden(
                format!("{p}.restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    if kind == Kind::Regular {
        for (i, c) in containers.iter().enumerate() {
            errs.extend(host_port_conflicts(
                std::slice::from_ref(c),
                path,
                i,
                &mut host_ports,
            ));
        }
    }
    errs
}

fn host_port_conflicts(
    cs: &[Value],
    path: &str,
    index: usize,
    seen: &mut HashSet<String>,
) -> Vec<Cause> {
    let mut errs = Vec::new();
    for c in cs {
        for (j, p) in arr(c, "ports").iter().enumerate() {
            let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{hp}", s(p, "protocol"), s(p, "hostIP"));
            if !seen.insert(key.clone()) {
                errs.push(duplicate_raw(
                    format!("{path}[{index}].ports[{j}].hostPort"),
                    &go_quote(&key),
                ));
            }
        }
    }
    errs
}

fn ports(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut names = HashSet::new();
    for (i, p) in arr(c, "ports").iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = s(p, "name");
        if !name.is_empty() {
            let msgs = check_port_name(name);
            if !msgs.is_empty() {
                errs.extend(each_msg(&format!("{ip}.name"), name, msgs));
            } else if !names.insert(name.to_string()) {
                errs.push(duplicate(format!("{ip}.name"), get(p, "name")));
            }
        }
        match p.get("containerPort").and_then(Value::as_i64).unwrap_or(0) {
            0 => errs.push(required(format!("{ip}.containerPort"))),
            n => errs.extend(
                check_port_num(n)
                    .iter()
                    .map(|m| invalid_int(format!("{ip}.containerPort"), n, m)),
            ),
        }
        let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if hp != 0 {
            errs.extend(
                check_port_num(hp)
                    .iter()
                    .map(|m| invalid_int(format!("{ip}.hostPort"), hp, m)),
            );
        }
        match s(p, "protocol") {
            "" => errs.push(required(format!("{ip}.protocol"))),
            proto if !PROTOCOLS.contains(&proto) => errs.push(not_supported(
                format!("{ip}.protocol"),
                get(p, "protocol"),
                PROTOCOLS,
            )),
            _ => {}
        }
    }
    errs
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_extended(name: &str) -> bool {
    if is_native(name) || name.starts_with("requests.") {
        return false;
    }
    check_qualified_name(&format!("requests.{name}")).is_empty()
}

/// Resource names in a container's requests or limits.
fn container_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let msgs = check_qualified_name(name);
    if !msgs.is_empty() {
        return each_msg(path, name, msgs);
    }
    let mut errs = Vec::new();
    if !name.contains('/') {
        if !STANDARD_RESOURCES.contains(&name) && !is_hugepages(name) {
            errs.push(invalid_str(
                path,
                name,
                "must be a standard resource type or fully qualified",
            ));
            return errs;
        }
        if !STANDARD_CONTAINER_RESOURCES.contains(&name) && !is_hugepages(name) {
            errs.push(invalid_str(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(invalid_str(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
    errs
}

/// A parsed quantity, or a cause for the value that does not parse.
pub(crate) fn parse_quantity(v: &Value, path: &str) -> Result<Quantity, Cause> {
    match quantity::from_json(v) {
        Some(Ok(q)) => Ok(q),
        Some(Err(e)) => Err(invalid(path, v, &e.to_string())),
        None => Err(invalid(
            path,
            v,
            &quantity::QuantityError::FormatWrong.to_string(),
        )),
    }
}

/// A quantity must not be negative; integer resources must be whole.
pub(crate) fn quantity_value(name: &str, q: &Quantity, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if q.signum() < 0 {
        errs.push(invalid_str(path, &q.canonical(), super::IS_NEGATIVE));
    }
    let integer =
        !is_native(name) || matches!(name, "pods" | "services" | "secrets" | "configmaps");
    if integer && q.milli_value() % 1000 != 0 {
        errs.push(invalid_raw(path, &q.canonical(), "must be an integer"));
    }
    errs
}

/// Requests and limits: names, values, requests within limits.
pub(crate) fn resources(res: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut limits: HashMap<String, Quantity> = HashMap::new();
    if let Some(lim) = obj(res, "limits") {
        for (name, v) in lim {
            let p = format!("{path}.limits[{name}]");
            errs.extend(container_resource_name(name, &p));
            match parse_quantity(v, &p) {
                Ok(q) => {
                    errs.extend(quantity_value(name, &q, &p));
                    limits.insert(name.clone(), q);
                }
                Err(c) => errs.push(c),
            }
        }
    }
    if let Some(req) = obj(res, "requests") {
        for (name, v) in req {
            let p = format!("{path}.requests[{name}]");
            errs.extend(container_resource_name(name, &p));
            let q = match parse_quantity(v, &p) {
                Ok(q) => q,
                Err(c) => {
                    errs.push(c);
                    continue;
                }
            };
            errs.extend(quantity_value(name, &q, &p));
            let overcommit = is_native(name) && !is_hugepages(name);
            match limits.get(name) {
                Some(l) if !overcommit && q.cmp(l) != std::cmp::Ordering::Equal => {
                    errs.push(invalid_str(
                        format!("{path}.requests"),
                        &q.canonical(),
                        &format!("must be equal to {name} limit of {}", l.canonical()),
                    ))
                }
                Some(l) if q > *l => errs.push(invalid_str(
                    format!("{path}.requests"),
                    &q.canonical(),
                    &format!(
                        "must be less than or equal to {name} limit of {}",
                        l.canonical()
                    ),
                )),
                None if !overcommit => errs.push(required_msg(
                    format!("{path}.limits"),
                    "Limit must be set for non overcommitable resources",
                )),
                _ => {}
            }
        }
    }
    errs
}

/// Probe handler and timing fields.
pub(crate) fn probe(p: &Value, path: &str) -> Vec<Cause> {
    let mut errs = handler(p, path);
    for key in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        errs.extend(nonnegative(
            &format!("{path}.{key}"),
            p.get(key).and_then(Value::as_i64),
        ));
    }
    if let Some(g) = p
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        && g <= 0
    {
        errs.push(invalid_int(
            format!("{path}.terminationGracePeriodSeconds"),
            g,
            "must be greater than 0",
        ));
    }
    errs
}

/// Exactly one of exec, httpGet, tcpSocket, grpc, sleep.
pub(crate) fn handler(h: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut n = 0;
    for key in ["exec", "httpGet", "tcpSocket", "grpc", "sleep"] {
        let Some(a) = h.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let p = format!("{path}.{key}");
        if n > 0 {
            errs.push(forbidden(p, "may not specify more than 1 handler type"));
            continue;
        }
        n += 1;
        match key {
            "exec" if arr(a, "command").is_empty() => errs.push(required(format!("{p}.command"))),
            "httpGet" => {
                if s(a, "path").is_empty() {
                    errs.push(required(format!("{p}.path")));
                }
                errs.extend(port_num_or_name(get(a, "port"), &format!("{p}.port")));
                let scheme = s(a, "scheme");
                if scheme != "HTTP" && scheme != "HTTPS" {
                    errs.push(not_supported(
                        format!("{p}.scheme"),
                        get(a, "scheme"),
                        &["HTTP", "HTTPS"],
                    ));
                }
            }
            "tcpSocket" | "grpc" => {
                errs.extend(port_num_or_name(get(a, "port"), &format!("{p}.port")))
            }
            _ => {}
        }
    }
    if n == 0 {
        errs.push(required_msg(path, "must specify a handler type"));
    }
    errs
}

/// An IntOrString port: a number in range or a valid port name.
pub(crate) fn port_num_or_name(v: &Value, path: &str) -> Vec<Cause> {
    match v {
        Value::String(name) => each_msg(path, name, check_port_name(name)),
        other => {
            let n = other.as_i64().unwrap_or(0);
            check_port_num(n)
                .iter()
                .map(|m| invalid_int(path, n, m))
                .collect()
        }
    }
}
