//! Pods and pod templates: the pod spec, volumes, tolerations, and what a
//! pod update may change.

use std::collections::HashSet;

use serde_json::Value;

use super::containers::{self, Kind};
use super::meta;
use super::util::{
    arr, each_msg, forbidden, get, has, int, invalid_int, invalid_str, not_supported, required,
    required_msg, s,
};
use crate::catalogue::ResourceDef;
use crate::names::{
    check_dns1123_label, check_dns1123_subdomain, check_label_value, check_qualified_name,
    inclusive_range_error,
};
use crate::status::Cause;

/// Tolerations: keys, operators, values, effects.
pub(crate) fn tolerations(list: &[Value], path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let key = s(t, "key");
        if !key.is_empty() {
            errs.extend(each_msg(
                &format!("{p}.key"),
                key,
                check_qualified_name(key),
            ));
        }
        let op = s(t, "operator");
        if key.is_empty() && op != "Exists" {
            errs.push(invalid_str(
                format!("{p}.operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        let effect = s(t, "effect");
        if has(t, "tolerationSeconds") && effect != "NoExecute" {
            errs.push(invalid_str(
                format!("{p}.effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let value = s(t, "value");
                let msgs = check_label_value(value);
                if !msgs.is_empty() {
                    errs.push(invalid_str(format!("{p}.operator"), value, &msgs.join(";")));
                }
            }
            "Exists" => {
                if !s(t, "value").is_empty() {
                    errs.push(super::util::invalid_raw(
                        format!("{p}.operator"),
                        &go_toleration(t),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            _ => errs.push(not_supported(
                format!("{p}.operator"),
                get(t, "operator"),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            errs.extend(taint_effect(t, &format!("{p}.effect")));
        }
    }
    errs
}

fn go_toleration(t: &Value) -> String {
    let secs = int(t, "tolerationSeconds")
        .map_or("(*int64)(nil)".to_string(), |n| format!("(*int64)({n})"));
    format!(
        "core.Toleration{{Key:{}, Operator:{}, Value:{}, Effect:{}, TolerationSeconds:{secs}}}",
        super::util::go_quote(s(t, "key")),
        super::util::go_quote(s(t, "operator")),
        super::util::go_quote(s(t, "value")),
        super::util::go_quote(s(t, "effect")),
    )
}

/// A taint or toleration effect.
pub(crate) fn taint_effect(t: &Value, path: &str) -> Vec<Cause> {
    match s(t, "effect") {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        _ => vec![not_supported(
            path,
            get(t, "effect"),
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )],
    }
}

fn enum_field(spec: &Value, key: &str, path: &str, allowed: &[&str]) -> Vec<Cause> {
    match s(spec, key) {
        "" => vec![required(format!("{path}.{key}"))],
        v if allowed.contains(&v) => Vec::new(),
        _ => vec![not_supported(
            format!("{path}.{key}"),
            get(spec, key),
            allowed,
        )],
    }
}

fn name_field(spec: &Value, key: &str, path: &str, check: fn(&str) -> Vec<String>) -> Vec<Cause> {
    let v = s(spec, key);
    if v.is_empty() {
        Vec::new()
    } else {
        each_msg(&format!("{path}.{key}"), v, check(v))
    }
}

/// A pod spec at `path` (`spec` or `spec.template.spec`). `is_pod` adds
/// the rules only Pod objects get.
pub(crate) fn pod_spec(spec: &Value, path: &str, is_pod: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    if !has(spec, "terminationGracePeriodSeconds") {
        errs.push(required(format!("{path}.terminationGracePeriodSeconds")));
    }
    let (vols, verrs) = super::volumes::volumes(spec, &format!("{path}.volumes"));
    errs.extend(verrs);
    let mut seen = HashSet::new();
    errs.extend(containers::list(
        arr(spec, "containers"),
        &format!("{path}.containers"),
        Kind::Regular,
        &vols,
        &mut seen,
    ));
    errs.extend(containers::list(
        arr(spec, "initContainers"),
        &format!("{path}.initContainers"),
        Kind::Init,
        &vols,
        &mut seen,
    ));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for (i, c) in arr(spec, "containers").iter().enumerate() {
            for (j, p) in arr(c, "ports").iter().enumerate() {
                let hp = int(p, "hostPort").unwrap_or(0);
                let cp = int(p, "containerPort").unwrap_or(0);
                if (is_pod || hp != 0) && hp != cp {
                    errs.push(invalid_int(
                        format!("{path}.containers[{i}].ports[{j}].hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    errs.extend(enum_field(
        spec,
        "restartPolicy",
        path,
        &["Always", "OnFailure", "Never"],
    ));
    errs.extend(enum_field(
        spec,
        "dnsPolicy",
        path,
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    ));
    errs.extend(meta::labels(
        spec.get("nodeSelector"),
        &format!("{path}.nodeSelector"),
    ));
    if s(spec, "dnsPolicy") == "None" && !has(spec, "dnsConfig") {
        errs.push(required_msg(
            format!("{path}.dnsConfig"),
            "must provide `dnsConfig` when `dnsPolicy` is None",
        ));
    }
    errs.extend(name_field(
        spec,
        "serviceAccountName",
        path,
        check_dns1123_subdomain,
    ));
    errs.extend(name_field(spec, "nodeName", path, check_dns1123_subdomain));
    if let Some(ads) = int(spec, "activeDeadlineSeconds")
        && !(1..=i32::MAX as i64).contains(&ads)
    {
        errs.push(invalid_int(
            format!("{path}.activeDeadlineSeconds"),
            ads,
            &inclusive_range_error(1, i32::MAX as i64),
        ));
    }
    errs.extend(name_field(spec, "hostname", path, check_dns1123_label));
    errs.extend(name_field(spec, "subdomain", path, check_dns1123_label));
    errs.extend(tolerations(
        arr(spec, "tolerations"),
        &format!("{path}.tolerations"),
    ));
    errs.extend(name_field(
        spec,
        "priorityClassName",
        path,
        check_dns1123_subdomain,
    ));
    errs.extend(name_field(
        spec,
        "runtimeClassName",
        path,
        check_dns1123_subdomain,
    ));
    if has(spec, "preemptionPolicy") {
        errs.extend(enum_field(
            spec,
            "preemptionPolicy",
            path,
            &["PreemptLowerPriority", "Never"],
        ));
    }
    if let Some(os) = spec.get("os").filter(|v| !v.is_null()) {
        match s(os, "name") {
            "" => errs.push(required(format!("{path}.os.name"))),
            "linux" | "windows" => {}
            _ => errs.push(not_supported(
                format!("{path}.os.name"),
                get(os, "name"),
                &["linux", "windows"],
            )),
        }
    }
    errs
}

/// A `PodTemplateSpec` at `path` (e.g. `spec.template`). Its labels are
/// reported under `<path>.labels`, as upstream does.
pub(crate) fn template(t: &Value, path: &str) -> Vec<Cause> {
    let md = get(t, "metadata");
    let mut errs = meta::labels(md.get("labels"), &format!("{path}.labels"));
    errs.extend(meta::annotations(
        md.get("annotations"),
        &format!("{path}.annotations"),
    ));
    let spec = get(t, "spec");
    errs.extend(pod_spec(spec, &format!("{path}.spec"), false));
    if !arr(spec, "ephemeralContainers").is_empty() {
        errs.push(forbidden(
            format!("{path}.spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// What a Pod must satisfy on create and on update: metadata, spec, and
/// the checks only Pod objects get.
pub(crate) fn metadata_and_spec(def: &ResourceDef, pod: &Value) -> Vec<Cause> {
    let mut errs = meta::create(def, pod);
    let spec = get(pod, "spec");
    errs.extend(pod_spec(spec, "spec", true));
    for key in ["containers", "initContainers"] {
        for (i, c) in arr(spec, key).iter().enumerate() {
            let image = s(c, "image");
            if image.trim() != image {
                errs.push(invalid_str(
                    format!("spec.{key}[{i}].image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    errs
}

/// A new Pod.
pub(crate) fn create(def: &ResourceDef, pod: &Value) -> Vec<Cause> {
    let mut errs = metadata_and_spec(def, pod);
    let spec = get(pod, "spec");
    if !arr(spec, "ephemeralContainers").is_empty() {
        errs.push(forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    if !s(spec, "nodeName").is_empty() && !arr(spec, "schedulingGates").is_empty() {
        errs.push(forbidden(
            "spec.nodeName",
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}
