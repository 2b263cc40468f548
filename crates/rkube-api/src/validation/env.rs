//! Container environment (env, envFrom) and volume mounts.

use std::collections::HashSet;

use serde_json::Value;

use super::util::{arr, each_msg, get, invalid_str, not_found, not_supported, required, s};
use crate::names::{check_env_var_name, check_qualified_name};
use crate::status::Cause;

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const ENV_RESOURCE_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

pub(super) fn env(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, e) in arr(c, "env").iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = s(e, "name");
        if name.is_empty() {
            errs.push(required(format!("{ip}.name")));
        } else {
            errs.extend(each_msg(
                &format!("{ip}.name"),
                name,
                check_env_var_name(name),
            ));
        }
        if let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) {
            errs.extend(value_from(
                from,
                &format!("{ip}.valueFrom"),
                !s(e, "value").is_empty(),
            ));
        }
    }
    errs
}

fn value_from(from: &Value, fp: &str, has_value: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut n = 0;
    if let Some(f) = from.get("fieldRef").filter(|v| !v.is_null()) {
        n += 1;
        errs.extend(object_field_selector(f, &format!("{fp}.fieldRef")));
    }
    if let Some(r) = from.get("resourceFieldRef").filter(|v| !v.is_null()) {
        n += 1;
        let p = format!("{fp}.resourceFieldRef");
        let res = s(r, "resource");
        if res.is_empty() {
            errs.push(required(format!("{p}.resource")));
        } else if !ENV_RESOURCE_PATHS.contains(&res)
            && !res.starts_with("requests.hugepages-")
            && !res.starts_with("limits.hugepages-")
        {
            errs.push(not_supported(
                format!("{p}.resource"),
                get(r, "resource"),
                ENV_RESOURCE_PATHS,
            ));
        }
    }
    for key in ["configMapKeyRef", "secretKeyRef"] {
        let Some(r) = from.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        n += 1;
        let name = s(r, "name");
        errs.extend(each_msg(
            &format!("{fp}.{key}.name"),
            name,
            crate::names::check_dns1123_subdomain(name),
        ));
        let k = s(r, "key");
        if k.is_empty() {
            errs.push(required(format!("{fp}.{key}.key")));
        } else {
            errs.extend(each_msg(
                &format!("{fp}.{key}.key"),
                k,
                crate::names::check_config_map_key(k),
            ));
        }
    }
    if n == 0 {
        errs.push(invalid_str(fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    } else if has_value {
        errs.push(invalid_str(
            fp,
            "",
            "may not be specified when `value` is not empty",
        ));
    } else if n > 1 {
        errs.push(invalid_str(
            fp,
            "",
            "may not have more than one field specified at a time",
        ));
    }
    errs
}

fn object_field_selector(f: &Value, p: &str) -> Vec<Cause> {
    if s(f, "apiVersion").is_empty() {
        return vec![required(format!("{p}.apiVersion"))];
    }
    let fp = s(f, "fieldPath");
    if fp.is_empty() {
        return vec![required(format!("{p}.fieldPath"))];
    }
    if let Some((base, rest)) = fp.split_once('[') {
        let sub = rest.strip_suffix(']').unwrap_or(rest).trim_matches('\'');
        return match base {
            "metadata.annotations" => each_msg(
                p,
                &sub.to_lowercase(),
                check_qualified_name(&sub.to_lowercase()),
            ),
            "metadata.labels" => each_msg(p, sub, check_qualified_name(sub)),
            _ => vec![invalid_str(p, base, "does not support subscript")],
        };
    }
    if !ENV_FIELD_PATHS.contains(&fp) {
        return vec![not_supported(
            format!("{p}.fieldPath"),
            get(f, "fieldPath"),
            ENV_FIELD_PATHS,
        )];
    }
    Vec::new()
}

pub(super) fn env_from(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, e) in arr(c, "envFrom").iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let prefix = s(e, "prefix");
        if !prefix.is_empty() {
            errs.extend(each_msg(
                &format!("{ip}.prefix"),
                prefix,
                check_env_var_name(prefix),
            ));
        }
        let mut n = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = e.get(key).filter(|v| !v.is_null()) {
                n += 1;
                let name = s(r, "name");
                if name.is_empty() {
                    errs.push(required(format!("{ip}.{key}.name")));
                } else {
                    let prefix_rule = crate::names::NameRule::DnsSubdomain;
                    errs.extend(each_msg(
                        &format!("{ip}.{key}.name"),
                        name,
                        prefix_rule.check(name, true),
                    ));
                }
            }
        }
        if n == 0 {
            errs.push(invalid_str(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(invalid_str(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

pub(super) fn mounts(c: &Value, path: &str, volumes: &HashSet<String>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut points = HashSet::new();
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = s(m, "name");
        if name.is_empty() {
            errs.push(required(format!("{ip}.name")));
        }
        if !volumes.contains(name) {
            errs.push(not_found(format!("{ip}.name"), get(m, "name")));
        }
        let mp = s(m, "mountPath");
        if mp.is_empty() {
            errs.push(required(format!("{ip}.mountPath")));
        }
        if !points.insert(mp.to_string()) {
            errs.push(invalid_str(format!("{ip}.mountPath"), mp, "must be unique"));
        }
        let sub = s(m, "subPath");
        if !sub.is_empty() {
            errs.extend(descending_path(sub, &format!("{path}.subPath")));
        }
        let expr = s(m, "subPathExpr");
        if !expr.is_empty() {
            if !sub.is_empty() {
                errs.push(invalid_str(
                    format!("{ip}.subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(descending_path(expr, &format!("{path}.subPathExpr")));
        }
    }
    errs
}

/// A relative path that does not climb out with "..".
pub(crate) fn descending_path(p: &str, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if p.starts_with('/') {
        errs.push(invalid_str(path, p, "must be a relative path"));
    }
    if p.split(['/', '\\']).any(|part| part == "..") {
        errs.push(invalid_str(path, p, "must not contain '..'"));
    }
    errs
}
