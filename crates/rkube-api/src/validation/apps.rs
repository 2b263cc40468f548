//! apps/v1: Deployments, ReplicaSets, StatefulSets, DaemonSets.

use serde_json::Value;

use super::core::claim_spec;
use super::meta::{self, label_selector, selector_is_empty};
use super::pod::template;
use super::util::{
    arr, forbidden, get, go_label_selector, go_string_map, has, int, invalid_raw, invalid_str,
    nonnegative, not_supported, required, required_msg, s, same,
};
use crate::catalogue::ResourceDef;
use crate::names::regex_error;
use crate::selectors::LabelSelector;
use crate::status::Cause;

/// How an IntOrString prints (its `String()`): numbers and strings bare.
fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => "0".to_string(),
        other => other.to_string(),
    }
}

/// The numeric value of an IntOrString and whether it is a percentage.
fn percent_value(v: &Value) -> (i64, bool) {
    match v {
        Value::String(x) => (
            x.trim_end_matches('%').parse().unwrap_or(0),
            x.ends_with('%'),
        ),
        other => (other.as_i64().unwrap_or(0), false),
    }
}

fn positive_int_or_percent(v: &Value, path: &str) -> Vec<Cause> {
    match v {
        Value::String(x) => {
            let ok = x.len() > 1
                && x.ends_with('%')
                && x[..x.len() - 1].bytes().all(|b| b.is_ascii_digit());
            if ok {
                Vec::new()
            } else {
                vec![invalid_raw(
                    path,
                    x,
                    &regex_error(
                        "a valid percent string must be a numeric string followed by an ending '%'",
                        "[0-9]+%",
                        &["1%", "93%"],
                    ),
                )]
            }
        }
        Value::Number(_) | Value::Null => nonnegative(path, v.as_i64()),
        other => vec![invalid_raw(
            path,
            &other.to_string(),
            "must be an integer or percentage (e.g '5%')",
        )],
    }
}

fn not_over_100(v: &Value, path: &str) -> Vec<Cause> {
    match percent_value(v) {
        (n, true) if n > 100 => vec![invalid_raw(
            path,
            &int_or_string(v),
            "must not be greater than 100%",
        )],
        _ => Vec::new(),
    }
}

/// Selector presence and syntax, then the template's labels against it.
/// Returns the causes in upstream's order for ReplicaSet-like specs.
fn selector_and_template(spec: &Value, kind_word: &str, check_required: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let sel = get(spec, "selector");
    if sel.is_null() {
        if check_required {
            errs.push(required("spec.selector"));
        }
    } else {
        errs.extend(label_selector(sel, "spec.selector"));
        if selector_is_empty(sel) {
            errs.push(invalid_raw(
                "spec.selector",
                &go_label_selector(sel),
                &format!("empty selector is invalid for {kind_word}"),
            ));
        }
    }
    let tpl = get(spec, "template");
    match LabelSelector::from_match_labels_and_expressions(sel) {
        Err(_) => errs.push(invalid_raw(
            "spec.selector",
            &go_label_selector(sel),
            "invalid label selector",
        )),
        Ok(parsed) => {
            let labels = tpl.pointer("/metadata/labels");
            if !parsed.is_empty() && !parsed.matches_object(tpl) {
                errs.push(invalid_raw(
                    "spec.template.metadata.labels",
                    &go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errs
}

fn template_rules(spec: &Value, what: &str, deadline_invalid: bool) -> Vec<Cause> {
    let tpl = get(spec, "template");
    let mut errs = template(tpl, "spec.template");
    let ps = get(tpl, "spec");
    let restart = s(ps, "restartPolicy");
    if restart != "Always" {
        errs.push(not_supported(
            "spec.template.spec.restartPolicy",
            &Value::from(restart),
            &["Always"],
        ));
    }
    if let Some(ads) = int(ps, "activeDeadlineSeconds") {
        let msg = format!("activeDeadlineSeconds in {what} is not Supported");
        let detail = if deadline_invalid {
            msg.as_str()
        } else {
            "must not be specified"
        };
        errs.push(invalid_raw(
            "spec.template.spec.activeDeadlineSeconds",
            &ads.to_string(),
            detail,
        ));
    }
    errs
}

fn selector_immutable(obj: &Value, old: &Value) -> Vec<Cause> {
    let (new_sel, old_sel) = (obj.pointer("/spec/selector"), old.pointer("/spec/selector"));
    if same(new_sel, old_sel) {
        Vec::new()
    } else {
        vec![invalid_raw(
            "spec.selector",
            &go_label_selector(new_sel.unwrap_or(&Value::Null)),
            "field is immutable",
        )]
    }
}

fn meta_for(def: &ResourceDef, o: &Value, old: Option<&Value>) -> Vec<Cause> {
    match old {
        Some(prev) => meta::update(def, o, prev),
        None => meta::create(def, o),
    }
}

pub(crate) fn deployment(def: &ResourceDef, d: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta_for(def, d, old);
    let spec = get(d, "spec");
    errs.extend(nonnegative("spec.replicas", int(spec, "replicas")));
    errs.extend(selector_and_template(spec, "deployment", true));
    errs.extend(template_rules(spec, "ReplicaSet", true));
    let strategy = get(spec, "strategy");
    match s(strategy, "type") {
        "Recreate" => {
            if has(strategy, "rollingUpdate") {
                errs.push(forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match strategy.get("rollingUpdate").filter(|v| !v.is_null()) {
            None => errs.push(required_msg(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let p = "spec.strategy.rollingUpdate";
                let (mu, ms) = (get(ru, "maxUnavailable"), get(ru, "maxSurge"));
                errs.extend(positive_int_or_percent(mu, &format!("{p}.maxUnavailable")));
                errs.extend(positive_int_or_percent(ms, &format!("{p}.maxSurge")));
                if percent_value(mu).0 == 0 && percent_value(ms).0 == 0 {
                    errs.push(invalid_raw(
                        format!("{p}.maxUnavailable"),
                        &int_or_string(mu),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(not_over_100(mu, &format!("{p}.maxUnavailable")));
            }
        },
        ty => {
            let ru = if has(strategy, "rollingUpdate") {
                "&apps.RollingUpdateDeployment{...}"
            } else {
                "(*apps.RollingUpdateDeployment)(nil)"
            };
            let shown = format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{ru}}}",
                super::util::go_quote(ty)
            );
            let mut c = not_supported(
                "spec.strategy",
                &Value::Null,
                &["Recreate", "RollingUpdate"],
            );
            c.message = c.message.replacen("null", &shown, 1);
            errs.push(c);
        }
    }
    let min_ready = int(spec, "minReadySeconds").unwrap_or(0);
    errs.extend(nonnegative("spec.minReadySeconds", Some(min_ready)));
    errs.extend(nonnegative(
        "spec.revisionHistoryLimit",
        int(spec, "revisionHistoryLimit"),
    ));
    if let Some(pds) = int(spec, "progressDeadlineSeconds") {
        errs.extend(nonnegative("spec.progressDeadlineSeconds", Some(pds)));
        if pds <= min_ready {
            errs.push(invalid_raw(
                "spec.progressDeadlineSeconds",
                &pds.to_string(),
                "must be greater than minReadySeconds",
            ));
        }
    }
    if let Some(o) = old {
        errs.extend(selector_immutable(d, o));
    }
    errs
}

pub(crate) fn replica_set(def: &ResourceDef, rs: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta_for(def, rs, old);
    let spec = get(rs, "spec");
    errs.extend(nonnegative("spec.replicas", int(spec, "replicas")));
    errs.extend(nonnegative(
        "spec.minReadySeconds",
        int(spec, "minReadySeconds"),
    ));
    errs.extend(selector_and_template(spec, "deployment", true));
    errs.extend(template_rules(spec, "ReplicaSet", true));
    if let Some(o) = old {
        errs.extend(selector_immutable(rs, o));
    }
    errs
}

pub(crate) fn stateful_set(def: &ResourceDef, ss: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta_for(def, ss, old);
    let spec = get(ss, "spec");
    match s(spec, "podManagementPolicy") {
        "" => errs.push(required("spec.podManagementPolicy")),
        "OrderedReady" | "Parallel" => {}
        p => errs.push(invalid_str(
            "spec.podManagementPolicy",
            p,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let us = get(spec, "updateStrategy");
    match s(us, "type") {
        "" => errs.push(required("spec.updateStrategy")),
        "OnDelete" => {
            if has(us, "rollingUpdate") {
                errs.push(invalid_raw(
                    "spec.updateStrategy.rollingUpdate",
                    &get(us, "rollingUpdate").to_string(),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            errs.extend(nonnegative(
                "spec.updateStrategy.rollingUpdate.partition",
                us.pointer("/rollingUpdate/partition")
                    .and_then(Value::as_i64),
            ));
        }
        _ => errs.push(invalid_raw(
            "spec.updateStrategy",
            &us.to_string(),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    let policy = get(spec, "persistentVolumeClaimRetentionPolicy");
    for key in ["whenDeleted", "whenScaled"] {
        let v = s(policy, key);
        if !policy.is_null() && v != "Retain" && v != "Delete" {
            errs.push(not_supported(
                format!("spec.persistentVolumeClaimRetentionPolicy.{key}"),
                get(policy, key),
                &["Retain", "Delete"],
            ));
        }
    }
    errs.extend(nonnegative(
        "spec.ordinals.start",
        spec.pointer("/ordinals/start").and_then(Value::as_i64),
    ));
    errs.extend(nonnegative("spec.replicas", int(spec, "replicas")));
    errs.extend(nonnegative(
        "spec.minReadySeconds",
        int(spec, "minReadySeconds"),
    ));
    errs.extend(selector_and_template(spec, "statefulset", true));
    errs.extend(template_rules(spec, "StatefulSet", false));
    for (i, pvc) in arr(spec, "volumeClaimTemplates").iter().enumerate() {
        errs.extend(claim_spec(
            get(pvc, "spec"),
            &format!("spec.volumeClaimTemplates[{i}].spec"),
        ));
    }
    if let Some(o) = old {
        let mut a = spec.clone();
        let mut b = get(o, "spec").clone();
        for key in [
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
        ] {
            for x in [&mut a, &mut b] {
                if let Some(m) = x.as_object_mut() {
                    m.remove(key);
                }
            }
        }
        if !same(Some(&a), Some(&b)) {
            errs.push(forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
    }
    errs
}

pub(crate) fn daemon_set(def: &ResourceDef, ds: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = meta_for(def, ds, old);
    let spec = get(ds, "spec");
    errs.extend(selector_and_template(spec, "daemonset", false));
    errs.extend(template_rules(spec, "DaemonSet", true));
    errs.extend(nonnegative(
        "spec.minReadySeconds",
        int(spec, "minReadySeconds"),
    ));
    let us = get(spec, "updateStrategy");
    match s(us, "type") {
        "OnDelete" => {}
        "RollingUpdate" => match us.get("rollingUpdate").filter(|v| !v.is_null()) {
            None => errs.push(required("spec.updateStrategy.rollingUpdate")),
            Some(ru) => {
                let p = "spec.updateStrategy.rollingUpdate";
                let (mu, ms) = (get(ru, "maxUnavailable"), get(ru, "maxSurge"));
                errs.extend(positive_int_or_percent(mu, &format!("{p}.maxUnavailable")));
                errs.extend(positive_int_or_percent(ms, &format!("{p}.maxSurge")));
                errs.extend(not_over_100(mu, &format!("{p}.maxUnavailable")));
                errs.extend(not_over_100(ms, &format!("{p}.maxSurge")));
                let (u, sg) = (percent_value(mu).0 != 0, percent_value(ms).0 != 0);
                if u && sg {
                    errs.push(invalid_raw(
                        format!("{p}.maxSurge"),
                        &int_or_string(ms),
                        "may not be set when maxUnavailable is non-zero",
                    ));
                } else if !u && !sg {
                    errs.push(required_msg(
                        format!("{p}.maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    ));
                }
            }
        },
        _ => errs.push(not_supported(
            "spec.updateStrategy",
            &Value::from(us.to_string()),
            &["RollingUpdate", "OnDelete"],
        )),
    }
    errs.extend(nonnegative(
        "spec.revisionHistoryLimit",
        int(spec, "revisionHistoryLimit"),
    ));
    if let Some(o) = old {
        errs.extend(selector_immutable(ds, o));
    }
    errs
}
