//! What a Pod update may change.

use std::collections::HashSet;

use serde_json::Value;

use super::meta;
use super::pod::{metadata_and_spec, tolerations};
use super::util::{arr, forbidden, get, int, invalid, invalid_int, invalid_str, required, s, same};
use crate::catalogue::ResourceDef;
use crate::names::inclusive_range_error;
use crate::status::Cause;

pub(crate) const UPDATABLE_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn container_updates(new: &[Value], old: &[Value], path: &str) -> (Vec<Cause>, bool) {
    if new.len() != old.len() {
        return (
            vec![forbidden(
                path,
                "pod updates may not add or remove containers",
            )],
            true,
        );
    }
    let mut errs = Vec::new();
    for (i, c) in new.iter().enumerate() {
        let image = s(c, "image");
        if image.is_empty() {
            errs.push(required(format!("{path}[{i}].image")));
        }
        if image.trim() != image {
            errs.push(invalid_str(
                format!("{path}[{i}].image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    (errs, false)
}

/// An update of a Pod: everything a new pod must satisfy, plus the rule
/// that only images, activeDeadlineSeconds, added tolerations and removed
/// scheduling gates may change.
pub(crate) fn update(def: &ResourceDef, pod: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = meta::update(def, pod, old);
    errs.extend(metadata_and_spec(def, pod));
    let spec = get(pod, "spec");
    let old_spec = get(old, "spec");
    let mirror = "kubernetes.io/config.mirror";
    let (na, oa) = (
        pod.pointer("/metadata/annotations"),
        old.pointer("/metadata/annotations"),
    );
    let (nm, om) = (
        na.and_then(|a| a.get(mirror)),
        oa.and_then(|a| a.get(mirror)),
    );
    if om.is_some() && nm != om {
        errs.push(forbidden(
            format!("metadata.annotations[{mirror}]"),
            "may not remove or update mirror pod annotation",
        ));
    } else if om.is_none() && nm.is_some() {
        errs.push(forbidden(
            format!("metadata.annotations[{mirror}]"),
            "may not add mirror pod annotation",
        ));
    }
    for key in ["containers", "initContainers"] {
        let (e, stop) =
            container_updates(arr(spec, key), arr(old_spec, key), &format!("spec.{key}"));
        errs.extend(e);
        if stop {
            return errs;
        }
    }
    match (
        int(spec, "activeDeadlineSeconds"),
        int(old_spec, "activeDeadlineSeconds"),
    ) {
        (Some(n), _) if !(0..=i32::MAX as i64).contains(&n) => {
            errs.push(invalid_int(
                "spec.activeDeadlineSeconds",
                n,
                &inclusive_range_error(0, i32::MAX as i64),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(invalid_int(
                "spec.activeDeadlineSeconds",
                n,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(invalid(
            "spec.activeDeadlineSeconds",
            &Value::Null,
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    errs.extend(only_added_tolerations(
        arr(spec, "tolerations"),
        arr(old_spec, "tolerations"),
    ));
    let old_gates: Vec<&str> = arr(old_spec, "schedulingGates")
        .iter()
        .map(|g| s(g, "name"))
        .collect();
    for g in arr(spec, "schedulingGates") {
        if !old_gates.contains(&s(g, "name")) {
            errs.push(forbidden(
                "spec.schedulingGates",
                &format!(
                    "only deletion is allowed, but found new scheduling gate '{}'",
                    s(g, "name")
                ),
            ));
        }
    }
    if same(Some(spec), Some(old_spec)) {
        return errs;
    }
    let munged = munge(spec, old_spec);
    if !same(Some(&munged), Some(old_spec)) {
        let diff = spec_diff(old_spec, &munged);
        errs.push(forbidden(
            "spec",
            &format!("pod updates may not change fields other than {UPDATABLE_FIELDS}\n{diff}"),
        ));
    }
    errs
}

fn only_added_tolerations(new: &[Value], old: &[Value]) -> Vec<Cause> {
    for o in old {
        let found = new.iter().any(|n| {
            let mut a = o.clone();
            if let (Some(m), Some(secs)) = (a.as_object_mut(), n.get("tolerationSeconds")) {
                m.insert("tolerationSeconds".into(), secs.clone());
            } else if let Some(m) = a.as_object_mut() {
                m.remove("tolerationSeconds");
            }
            same(Some(&a), Some(n))
        });
        if !found {
            return vec![forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    tolerations(new, "spec.tolerations")
}

/// The new spec with every field that may change set back to the old value.
fn munge(spec: &Value, old: &Value) -> Value {
    let mut m = spec.clone();
    for key in ["containers", "initContainers"] {
        if let Some(list) = m.get_mut(key).and_then(Value::as_array_mut) {
            for (i, c) in list.iter_mut().enumerate() {
                let old_image = old
                    .pointer(&format!("/{key}/{i}/image"))
                    .cloned()
                    .unwrap_or(Value::Null);
                c["image"] = old_image;
            }
        }
    }
    let Some(obj) = m.as_object_mut() else {
        return m;
    };
    for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match old.get(key) {
            Some(v) => obj.insert(key.into(), v.clone()),
            None => obj.remove(key),
        };
    }
    let old_grace = int(old, "terminationGracePeriodSeconds");
    if old_grace.is_some_and(|g| g < 0) && int(spec, "terminationGracePeriodSeconds") == Some(1) {
        obj.insert(
            "terminationGracePeriodSeconds".into(),
            get(old, "terminationGracePeriodSeconds").clone(),
        );
    }
    if !arr(old, "schedulingGates").is_empty() {
        for key in ["nodeSelector", "affinity"] {
            match old.get(key) {
                Some(v) => obj.insert(key.into(), v.clone()),
                None => obj.remove(key),
            };
        }
    }
    m
}

/// A short diff of top-level spec fields, in the spirit of upstream's.
fn spec_diff(old: &Value, new: &Value) -> String {
    let mut out = String::from("  core.PodSpec{\n");
    let mut keys: Vec<&String> = old
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .chain(new.as_object().into_iter().flat_map(|m| m.keys()))
        .collect();
    keys.dedup();
    let mut done = HashSet::new();
    for k in keys {
        if !done.insert(k.clone()) || same(old.get(k), new.get(k)) {
            continue;
        }
        let field = capitalize(k);
        if let Some(v) = old.get(k) {
            out.push_str(&format!("- \t{field}: {v},\n"));
        }
        if let Some(v) = new.get(k) {
            out.push_str(&format!("+ \t{field}: {v},\n"));
        }
    }
    out.push_str("  }\n");
    out
}

fn capitalize(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
