//! RBAC objects and coordination Leases.

use serde_json::Value;

use super::meta;
use super::util::{
    arr, each_msg, get, go_quote, go_string_slice, int, invalid_raw, not_supported, required,
    required_msg, s, same,
};
use crate::catalogue::ResourceDef;
use crate::names::{check_dns1123_subdomain, check_path_segment_name};
use crate::status::Cause;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn meta_for(def: &ResourceDef, o: &Value, old: Option<&Value>) -> Vec<Cause> {
    match old {
        Some(prev) => {
            let mut errs = meta::create(def, o);
            errs.extend(meta::update(def, o, prev));
            errs
        }
        None => meta::create(def, o),
    }
}

fn policy_rule(rule: &Value, namespaced: bool, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if arr(rule, "verbs").is_empty() {
        errs.push(required_msg(
            format!("{path}.verbs"),
            "verbs must contain at least one value",
        ));
    }
    if !arr(rule, "nonResourceURLs").is_empty() {
        let shown = go_string_slice(rule.get("nonResourceURLs"));
        if namespaced {
            errs.push(invalid_raw(
                format!("{path}.nonResourceURLs"),
                &shown,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        let resourceful = ["apiGroups", "resources", "resourceNames"]
            .iter()
            .any(|k| !arr(rule, k).is_empty());
        if resourceful {
            errs.push(invalid_raw(
                format!("{path}.nonResourceURLs"),
                &shown,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if arr(rule, "apiGroups").is_empty() {
        errs.push(required_msg(
            format!("{path}.apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if arr(rule, "resources").is_empty() {
        errs.push(required_msg(
            format!("{path}.resources"),
            "resource rules must supply at least one resource",
        ));
    }
    errs
}

/// Roles and ClusterRoles: every rule names verbs and resources (or URLs).
pub(crate) fn role(def: &ResourceDef, r: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta_for(def, r, old);
    let namespaced = def.kind == "Role";
    for (i, rule) in arr(r, "rules").iter().enumerate() {
        errs.extend(policy_rule(rule, namespaced, &format!("rules[{i}]")));
    }
    if let Some(agg) = r.get("aggregationRule").filter(|v| !v.is_null()) {
        let selectors = arr(agg, "clusterRoleSelectors");
        if selectors.is_empty() {
            errs.push(required_msg(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, sel) in selectors.iter().enumerate() {
            errs.extend(meta::label_selector(
                sel,
                &format!("aggregationRule.clusterRoleSelectors[{i}]"),
            ));
        }
    }
    errs
}

fn subject(sub: &Value, namespaced: bool, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = s(sub, "name");
    if name.is_empty() {
        errs.push(required(format!("{path}.name")));
    }
    let group = s(sub, "apiGroup");
    match s(sub, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                errs.extend(each_msg(
                    &format!("{path}.name"),
                    name,
                    check_dns1123_subdomain(name),
                ));
            }
            if !group.is_empty() {
                errs.push(not_supported(
                    format!("{path}.apiGroup"),
                    get(sub, "apiGroup"),
                    &[""],
                ));
            }
            if !namespaced && s(sub, "namespace").is_empty() {
                errs.push(required(format!("{path}.namespace")));
            }
        }
        "User" | "Group" => {
            if group != RBAC_GROUP {
                errs.push(not_supported(
                    format!("{path}.apiGroup"),
                    &Value::from(group),
                    &[RBAC_GROUP],
                ));
            }
        }
        _ => errs.push(not_supported(
            format!("{path}.kind"),
            &Value::from(s(sub, "kind")),
            &["ServiceAccount", "User", "Group"],
        )),
    }
    errs
}

/// RoleBindings and ClusterRoleBindings; roleRef cannot change.
pub(crate) fn role_binding(def: &ResourceDef, rb: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta::create(def, rb);
    let role_ref = get(rb, "roleRef");
    let namespaced = def.kind == "RoleBinding";
    if s(role_ref, "apiGroup") != RBAC_GROUP {
        errs.push(not_supported(
            "roleRef.apiGroup",
            &Value::from(s(role_ref, "apiGroup")),
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&s(role_ref, "kind")) {
        errs.push(not_supported(
            "roleRef.kind",
            &Value::from(s(role_ref, "kind")),
            kinds,
        ));
    }
    let name = s(role_ref, "name");
    if name.is_empty() {
        errs.push(required("roleRef.name"));
    } else {
        errs.extend(each_msg(
            "roleRef.name",
            name,
            check_path_segment_name(name),
        ));
    }
    for (i, sub) in arr(rb, "subjects").iter().enumerate() {
        errs.extend(subject(sub, namespaced, &format!("subjects[{i}]")));
    }
    if let Some(o) = old {
        errs.extend(meta::update(def, rb, o));
        let old_ref = get(o, "roleRef");
        if !same(Some(role_ref), Some(old_ref)) {
            let shown = format!(
                "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
                go_quote(s(role_ref, "apiGroup")),
                go_quote(s(role_ref, "kind")),
                go_quote(name)
            );
            errs.push(invalid_raw("roleRef", &shown, "cannot change roleRef"));
        }
    }
    errs
}

/// Leases: positive duration, non-negative transitions.
pub(crate) fn lease(def: &ResourceDef, l: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta_for(def, l, old);
    let spec = get(l, "spec");
    if let Some(d) = int(spec, "leaseDurationSeconds").filter(|d| *d <= 0) {
        errs.push(invalid_raw(
            "spec.leaseDurationSeconds",
            &d.to_string(),
            "must be greater than 0",
        ));
    }
    if let Some(t) = int(spec, "leaseTransitions").filter(|t| *t < 0) {
        errs.push(invalid_raw(
            "spec.leaseTransitions",
            &t.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    errs
}
