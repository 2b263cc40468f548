//! Events: core/v1 (legacy rules only, no metadata checks, as upstream)
//! and events.k8s.io/v1 (strict rules).

use serde_json::Value;

use super::meta;
use super::util::{each_msg, get, has, invalid, invalid_str, required, s, same};
use crate::catalogue::ResourceDef;
use crate::names::{check_dns1123_subdomain, check_qualified_name};
use crate::status::Cause;

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// The field names of one Event flavour, in its JSON.
struct Names {
    involved: &'static str,
    reporting_controller: &'static str,
    message: &'static str,
}

const CORE: Names = Names {
    involved: "involvedObject",
    reporting_controller: "reportingComponent",
    message: "message",
};
const EVENTS_V1: Names = Names {
    involved: "regarding",
    reporting_controller: "reportingController",
    message: "note",
};

fn legacy(e: &Value, n: &Names) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ns = e
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved_ns = s(get(e, n.involved), "namespace");
    let mismatch = || {
        invalid_str(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    if !has(e, "eventTime") {
        if involved_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let rc = s(e, n.reporting_controller);
        let rc_field = if n.reporting_controller == "reportingComponent" {
            "reportingComponent"
        } else {
            "reportingController"
        };
        if rc.is_empty() {
            errs.push(required(rc_field));
        }
        errs.extend(each_msg(rc_field, rc, check_qualified_name(rc)));
        for (key, field, limit) in [
            (
                "reportingInstance",
                "reportingInstance",
                REPORTING_INSTANCE_LIMIT,
            ),
            ("action", "action", ACTION_LIMIT),
            ("reason", "reason", REASON_LIMIT),
        ] {
            let v = s(e, key);
            if v.is_empty() {
                errs.push(required(field));
            }
            if v.len() > limit {
                errs.push(invalid_str(
                    field,
                    "",
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
        if s(e, n.message).len() > NOTE_LIMIT {
            errs.push(invalid_str(
                "message",
                "",
                &format!("can have at most {NOTE_LIMIT} characters"),
            ));
        }
    }
    errs.extend(each_msg("namespace", ns, check_dns1123_subdomain(ns)));
    errs
}

/// A core/v1 Event: upstream applies only the legacy rules to it.
pub(crate) fn core_event(_def: &ResourceDef, e: &Value, _old: Option<&Value>) -> Vec<Cause> {
    legacy(e, &CORE)
}

fn series(e: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(sr) = e.get("series").filter(|v| !v.is_null()) {
        if sr.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            errs.push(invalid_str("series.count", "", "should be at least 2"));
        }
        if !has(sr, "lastObservedTime") {
            errs.push(required("series.lastObservedTime"));
        }
    }
    errs
}

/// An events.k8s.io/v1 Event: legacy rules, metadata, and the strict rules.
pub(crate) fn events_v1(def: &ResourceDef, e: &Value, old: Option<&Value>) -> Vec<Cause> {
    // Stored Events are in the core form (see `conversion`); the rules and
    // their messages are in this API's field names.
    let served = |v: &Value| {
        if v.get("apiVersion").and_then(Value::as_str) == Some("v1") {
            crate::conversion::convert(def, v.clone(), def.storage_version)
        } else {
            v.clone()
        }
    };
    let (e, old) = (&served(e), old.map(served));
    let old = old.as_ref();
    let mut errs = legacy(e, &EVENTS_V1);
    let Some(o) = old else {
        errs.extend(meta::create(def, e));
        errs.extend(series(e));
        if !has(e, "eventTime") {
            errs.push(required("eventTime"));
        }
        let ty = s(e, "type");
        if ty != "Normal" && ty != "Warning" {
            errs.push(invalid_str("type", "", &format!("has invalid value: {ty}")));
        }
        for (key, field) in [
            ("deprecatedFirstTimestamp", "firstTimestamp"),
            ("deprecatedLastTimestamp", "lastTimestamp"),
            ("deprecatedCount", "count"),
        ] {
            let set = match e.get(key) {
                None | Some(Value::Null) => false,
                Some(v) => v.as_i64() != Some(0),
            };
            if set {
                errs.push(invalid_str(field, "", "needs to be unset"));
            }
        }
        let src = get(e, "deprecatedSource");
        if !s(src, "component").is_empty() || !s(src, "host").is_empty() {
            errs.push(invalid_str("source", "", "needs to be unset"));
        }
        return errs;
    };
    errs.extend(meta::update(def, e, o));
    if !same(e.get("series"), o.get("series")) {
        errs.extend(series(e));
    }
    for (key, field) in [
        ("regarding", "involvedObject"),
        ("reason", "reason"),
        ("note", "message"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("action", "action"),
        ("related", "related"),
        ("reportingController", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ] {
        if !same(e.get(key), o.get(key)) {
            errs.push(invalid(field, get(e, key), "field is immutable"));
        }
    }
    errs
}
