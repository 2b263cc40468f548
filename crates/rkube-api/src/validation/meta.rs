//! `metadata` on create and update, labels, annotations, owner references,
//! finalizers and `metav1.LabelSelector`s.

use serde_json::Value;

use super::util::{
    arr, each_msg, forbidden, go_string_slice, invalid_str, nonnegative, obj, required_msg, s,
    too_long,
};
use crate::catalogue::ResourceDef;
use crate::names::{
    check_dns1123_label, check_label_value, check_qualified_name, validate_object_name,
};
use crate::status::Cause;

/// Annotations may hold at most this many bytes, keys and values together.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

fn md(object: &Value) -> &Value {
    static EMPTY: Value = Value::Null;
    object.get("metadata").unwrap_or(&EMPTY)
}

/// Groups whose validation uses the generic object-meta checks only (no
/// "standard finalizer name" rule).
fn generic_meta(def: &ResourceDef) -> bool {
    matches!(def.group, "apiextensions.k8s.io" | "apiregistration.k8s.io")
}

/// `metadata` of a new object: generateName and name by the resource's
/// rule, namespace, generation, labels, annotations, owner references and
/// finalizers. An empty name is the API server's to report.
pub(crate) fn create(def: &ResourceDef, object: &Value) -> Vec<Cause> {
    let m = md(object);
    let mut errs = validate_object_name(def, object);
    let ns = s(m, "namespace");
    if def.namespaced && !ns.is_empty() {
        errs.extend(each_msg("metadata.namespace", ns, check_dns1123_label(ns)));
    }
    errs.extend(common(def, m));
    errs
}

/// `metadata` on update. Immutability of name, namespace, uid and
/// creationTimestamp is the API server's; what is checked here is what the
/// new metadata must satisfy on its own, and that an object being deleted
/// gains no finalizers.
pub(crate) fn update(def: &ResourceDef, object: &Value, old: &Value) -> Vec<Cause> {
    let (m, o) = (md(object), md(old));
    let mut errs = Vec::new();
    if o.get("deletionTimestamp").is_some_and(|d| !d.is_null()) {
        let old_f: Vec<&str> = arr(o, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut extra: Vec<&str> = arr(m, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let shown = go_string_slice(Some(&Value::from(extra)));
            errs.push(forbidden(
                "metadata.finalizers",
                &format!("no new finalizers can be added if the object is being deleted, found new finalizers {shown}"),
            ));
        }
    }
    errs.extend(common(def, m));
    errs
}

fn common(def: &ResourceDef, m: &Value) -> Vec<Cause> {
    let mut errs = nonnegative(
        "metadata.generation",
        m.get("generation").and_then(Value::as_i64),
    );
    errs.extend(labels(m.get("labels"), "metadata.labels"));
    errs.extend(annotations(m.get("annotations"), "metadata.annotations"));
    errs.extend(owner_references(m));
    errs.extend(finalizers(m, !generic_meta(def)));
    errs
}

/// Label keys must be qualified names, values valid label values.
pub(crate) fn labels(v: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(map) = v.and_then(Value::as_object) {
        for (k, val) in map {
            errs.extend(each_msg(path, k, check_qualified_name(k)));
            let val = val.as_str().unwrap_or_default();
            errs.extend(each_msg(path, val, check_label_value(val)));
        }
    }
    errs
}

/// Annotation keys are qualified names (case-insensitively); all keys and
/// values together may not exceed 256 KiB.
pub(crate) fn annotations(v: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let Some(map) = v.and_then(Value::as_object) else {
        return errs;
    };
    let mut total = 0;
    for (k, val) in map {
        errs.extend(each_msg(path, k, check_qualified_name(&k.to_lowercase())));
        total += k.len() + val.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

fn owner_references(m: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for (i, r) in arr(m, "ownerReferences").iter().enumerate() {
        let p = format!("metadata.ownerReferences[{i}]");
        let api_version = s(r, "apiVersion");
        if api_version.is_empty() {
            errs.push(required_msg(format!("{p}.apiVersion"), "must not be empty"));
        } else if !valid_group_version(api_version) {
            errs.push(invalid_str(
                format!("{p}.apiVersion"),
                api_version,
                "must be <group>/<version> or <version>",
            ));
        }
        for key in ["kind", "name", "uid"] {
            if s(r, key).is_empty() {
                errs.push(required_msg(format!("{p}.{key}"), "must not be empty"));
            }
        }
        if api_version == "v1" && s(r, "kind") == "Event" {
            errs.push(super::util::invalid_raw(
                p.clone(),
                &r.to_string(),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{}/{}", s(r, "kind"), s(r, "name"));
            match &first_controller {
                Some(first) => errs.push(super::util::invalid_raw(
                    "metadata.ownerReferences",
                    &Value::Array(arr(m, "ownerReferences").to_vec()).to_string(),
                    &format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

fn valid_group_version(gv: &str) -> bool {
    match gv.split_once('/') {
        None => !gv.is_empty(),
        Some((g, v)) => !g.is_empty() && !v.is_empty() && !v.contains('/'),
    }
}

fn finalizers(m: &Value, kube_rule: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let list: Vec<&str> = arr(m, "finalizers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in &list {
        errs.extend(each_msg("metadata.finalizers", f, check_qualified_name(f)));
    }
    if list.contains(&"orphan") && list.contains(&"foregroundDeletion") {
        errs.push(super::util::invalid_raw(
            "metadata.finalizers",
            &go_string_slice(m.get("finalizers")),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    if kube_rule {
        for (i, f) in list.iter().enumerate() {
            if !f.contains('/') && !STANDARD_FINALIZERS.contains(f) {
                errs.push(invalid_str(
                    format!("metadata.finalizers[{i}]"),
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
    }
    errs
}

/// A `metav1.LabelSelector` at `path`.
pub(crate) fn label_selector(sel: &Value, path: &str) -> Vec<Cause> {
    let mut errs = labels(sel.get("matchLabels"), &format!("{path}.matchLabels"));
    for (i, e) in arr(sel, "matchExpressions").iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let values = arr(e, "values");
        match s(e, "operator") {
            "In" | "NotIn" if values.is_empty() => errs.push(required_msg(
                format!("{p}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(forbidden(
                format!("{p}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.push(invalid_str(
                format!("{p}.operator"),
                op,
                "not a valid selector operator",
            )),
        }
        let key = s(e, "key");
        errs.extend(each_msg(
            &format!("{p}.key"),
            key,
            check_qualified_name(key),
        ));
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or_default();
            errs.extend(each_msg(
                &format!("{p}.values[{j}]"),
                v,
                check_label_value(v),
            ));
        }
    }
    errs
}

/// Whether a label selector object selects anything at all.
pub(crate) fn selector_is_empty(sel: &Value) -> bool {
    obj(sel, "matchLabels").is_none_or(|m| m.is_empty()) && arr(sel, "matchExpressions").is_empty()
}
