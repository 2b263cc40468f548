//! Core objects other than Pods and Services.

use base64::Engine;
use serde_json::Value;

use super::containers::{parse_quantity, quantity_value};
use super::meta;
use super::pod::{taint_effect, template};
use super::util::{
    arr, duplicate, duplicate_raw, each_msg, forbidden, get, go_quote, has, invalid, invalid_raw,
    invalid_str, not_supported, obj, required, required_msg, s, same, too_long,
};
use crate::catalogue::ResourceDef;
use crate::names::{
    check_config_map_key, check_dns1123_subdomain, check_label_value, check_qualified_name,
};
use crate::status::Cause;

/// Secrets and ConfigMaps may hold at most 1 MiB of data.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;
const IMMUTABLE_MSG: &str = "field is immutable when `immutable` is set";
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn immutable_flag(v: &Value) -> bool {
    v.get("immutable").and_then(Value::as_bool) == Some(true)
}

pub(crate) fn namespace(def: &ResourceDef, ns: &Value, old: Option<&Value>) -> Vec<Cause> {
    match old {
        Some(o) => meta::update(def, ns, o),
        None => {
            let mut errs = meta::create(def, ns);
            for f in arr(get(ns, "spec"), "finalizers")
                .iter()
                .filter_map(Value::as_str)
            {
                errs.extend(each_msg("spec.finalizers", f, check_qualified_name(f)));
                if !f.contains('/') && !["kubernetes", "orphan", "foregroundDeletion"].contains(&f)
                {
                    errs.push(invalid_str(
                        "spec.finalizers",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    ));
                }
            }
            errs
        }
    }
}

pub(crate) fn config_map(def: &ResourceDef, cm: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(o) = old {
        errs.extend(meta::update(def, cm, o));
        if immutable_flag(o) {
            if !immutable_flag(cm) {
                errs.push(forbidden("immutable", IMMUTABLE_MSG));
            }
            for key in ["data", "binaryData"] {
                if !same(cm.get(key), o.get(key)) {
                    errs.push(forbidden(key, IMMUTABLE_MSG));
                }
            }
        }
    }
    errs.extend(meta::create(def, cm));
    let mut total = 0;
    let binary = obj(cm, "binaryData");
    if let Some(data) = obj(cm, "data") {
        for (k, v) in data {
            errs.extend(each_msg(&format!("data[{k}]"), k, check_config_map_key(k)));
            if binary.is_some_and(|b| b.contains_key(k)) {
                errs.push(invalid_str(
                    format!("data[{k}]"),
                    k,
                    "duplicate of key present in binaryData",
                ));
            }
            total += v.as_str().map_or(0, str::len);
        }
    }
    if let Some(data) = binary {
        for (k, v) in data {
            errs.extend(each_msg(
                &format!("binaryData[{k}]"),
                k,
                check_config_map_key(k),
            ));
            total += decoded_len(v);
        }
    }
    if total > MAX_SECRET_SIZE {
        errs.push(too_long("[]", MAX_SECRET_SIZE));
    }
    errs
}

fn decoded_len(v: &Value) -> usize {
    let text = v.as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_or(text.len() * 3 / 4, |b| b.len())
}

fn decoded(v: Option<&Value>) -> Option<Vec<u8>> {
    let text = v?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// What Go's JSON decoder says about bytes that are not a JSON object.
fn go_json_error(bytes: &[u8]) -> Option<String> {
    if serde_json::from_slice::<serde_json::Map<String, Value>>(bytes).is_ok() {
        return None;
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    Some(match first {
        None => "unexpected end of JSON input".to_string(),
        Some(b'{') => "unexpected end of JSON input".to_string(),
        Some(b) if b"[\"-0123456789tfn".contains(b) => {
            "json: cannot unmarshal value into Go value of type map[string]interface {}".to_string()
        }
        Some(b) => format!(
            "invalid character '{}' looking for beginning of value",
            *b as char
        ),
    })
}

pub(crate) fn secret(def: &ResourceDef, sec: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(o) = old {
        errs.extend(meta::update(def, sec, o));
        if s(sec, "type") != s(o, "type") {
            errs.push(invalid("type", get(sec, "type"), "field is immutable"));
        }
        if immutable_flag(o) {
            if !immutable_flag(sec) {
                errs.push(forbidden("immutable", IMMUTABLE_MSG));
            }
            if !same(sec.get("data"), o.get("data")) {
                errs.push(forbidden("data", IMMUTABLE_MSG));
            }
        }
    }
    errs.extend(meta::create(def, sec));
    let data = obj(sec, "data");
    let mut total = 0;
    for (k, v) in data.into_iter().flatten() {
        errs.extend(each_msg(&format!("data[{k}]"), k, check_config_map_key(k)));
        total += decoded_len(v);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(too_long("data", MAX_SECRET_SIZE));
    }
    let has_key = |k: &str| data.is_some_and(|d| d.contains_key(k));
    match s(sec, "type") {
        "kubernetes.io/service-account-token" => {
            let sa = sec
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if sa.is_empty() {
                errs.push(required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                ));
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if s(sec, "type") == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            if !has_key(key) {
                errs.push(required(format!("data[{key}]")));
            } else if let Some(msg) =
                decoded(data.and_then(|d| d.get(key))).and_then(|b| go_json_error(&b))
            {
                errs.push(invalid_str(
                    format!("data[{key}]"),
                    "<secret contents redacted>",
                    &msg,
                ));
            }
        }
        "kubernetes.io/basic-auth" if !has_key("username") && !has_key("password") => {
            errs.push(required("data[username]"));
            errs.push(required("data[password]"));
        }
        "kubernetes.io/ssh-auth"
            if decoded(data.and_then(|d| d.get("ssh-privatekey"))).is_none_or(|b| b.is_empty()) =>
        {
            errs.push(required("data[ssh-privatekey]"));
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !has_key(key) {
                    errs.push(required(format!("data[{key}]")));
                }
            }
        }
        _ => {}
    }
    errs
}

/// Object metadata is all a ServiceAccount, Event, Endpoints or Lease-like
/// object is checked for here.
pub(crate) fn meta_only(def: &ResourceDef, o: &Value, old: Option<&Value>) -> Vec<Cause> {
    match old {
        Some(prev) => {
            let mut errs = meta::update(def, o, prev);
            errs.extend(meta::create(def, o));
            errs
        }
        None => meta::create(def, o),
    }
}

fn taints(node: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, t) in arr(get(node, "spec"), "taints").iter().enumerate() {
        let p = format!("{path}[{i}]");
        let key = s(t, "key");
        errs.extend(each_msg(
            &format!("{p}.key"),
            key,
            check_qualified_name(key),
        ));
        let value = s(t, "value");
        let msgs = check_label_value(value);
        if !msgs.is_empty() {
            errs.push(invalid_str(format!("{p}.value"), value, &msgs.join(";")));
        }
        if s(t, "effect").is_empty() {
            errs.push(required(format!("{p}.effect")));
        } else {
            errs.extend(taint_effect(t, &format!("{p}.effect")));
        }
        let pair = (s(t, "effect").to_string(), key.to_string());
        if seen.contains(&pair) {
            let shown = format!(
                "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:(*v1.Time)(nil)}}",
                go_quote(key),
                go_quote(value),
                go_quote(s(t, "effect"))
            );
            let mut c = duplicate_raw(p, &shown);
            c.message
                .push_str(": taints must be unique by key and effect pair");
            errs.push(c);
            continue;
        }
        seen.push(pair);
    }
    errs
}

fn node_resources(node: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    for list in ["capacity", "allocatable"] {
        for (k, v) in obj(get(node, "status"), list).into_iter().flatten() {
            let p = format!("status.{list}.{k}");
            match parse_quantity(v, &p) {
                Ok(q) => errs.extend(quantity_value(k, &q, &p)),
                Err(c) => errs.push(c),
            }
        }
    }
    errs
}

pub(crate) fn node(def: &ResourceDef, n: &Value, old: Option<&Value>) -> Vec<Cause> {
    let spec = get(n, "spec");
    let Some(o) = old else {
        let mut errs = meta::create(def, n);
        errs.extend(taints(n, "metadata.taints"));
        errs.extend(node_resources(n));
        let cidrs = arr(spec, "podCIDRs");
        for (i, c) in cidrs.iter().enumerate() {
            let text = c.as_str().unwrap_or_default();
            if !valid_cidr(text) {
                errs.push(invalid_str(
                    format!("spec.podCIDRs[{i}]"),
                    text,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ));
            }
        }
        if cidrs.len() > 1 {
            let mut seen = Vec::new();
            for (i, c) in cidrs.iter().enumerate() {
                if seen.contains(&c) {
                    errs.push(duplicate(format!("spec.podCIDRs[{i}]"), c));
                }
                seen.push(c);
            }
        }
        return errs;
    };
    let mut errs = meta::update(def, n, o);
    errs.extend(node_resources(n));
    let old_spec = get(o, "spec");
    let (new_c, old_c) = (arr(spec, "podCIDRs"), arr(old_spec, "podCIDRs"));
    if !old_c.is_empty()
        && (old_c.len() != new_c.len() || old_c.iter().zip(new_c).any(|(a, b)| a != b))
    {
        errs.push(forbidden(
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    let old_provider = s(old_spec, "providerID");
    if !old_provider.is_empty() && old_provider != s(spec, "providerID") {
        errs.push(forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs.extend(taints(n, "metadata.taints"));
    if s(spec, "externalID") != s(old_spec, "externalID") {
        errs.push(forbidden("spec.externalID", "may not be updated"));
    }
    errs
}

fn valid_cidr(text: &str) -> bool {
    let Some((ip, bits)) = text.split_once('/') else {
        return false;
    };
    match (ip.parse::<std::net::IpAddr>(), bits.parse::<u8>()) {
        (Ok(std::net::IpAddr::V4(_)), Ok(b)) => b <= 32,
        (Ok(std::net::IpAddr::V6(_)), Ok(b)) => b <= 128,
        _ => false,
    }
}

pub(crate) fn replication_controller(
    def: &ResourceDef,
    rc: &Value,
    old: Option<&Value>,
) -> Vec<Cause> {
    let mut errs = match old {
        Some(o) => meta::update(def, rc, o),
        None => meta::create(def, rc),
    };
    let spec = get(rc, "spec");
    errs.extend(super::util::nonnegative(
        "spec.minReadySeconds",
        spec.get("minReadySeconds").and_then(Value::as_i64),
    ));
    if obj(spec, "selector").is_none_or(|m| m.is_empty()) {
        errs.push(required("spec.selector"));
    }
    errs.extend(super::util::nonnegative(
        "spec.replicas",
        spec.get("replicas").and_then(Value::as_i64),
    ));
    let tpl = get(spec, "template");
    if tpl.is_null() {
        errs.push(required("spec.template"));
        return errs;
    }
    let labels = tpl.pointer("/metadata/labels");
    if let Some(sel) = obj(spec, "selector").filter(|m| !m.is_empty()) {
        let matches = sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            errs.push(invalid_raw(
                "spec.template.metadata.labels",
                &super::util::go_string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs.extend(template(tpl, "spec.template"));
    let restart = s(get(tpl, "spec"), "restartPolicy");
    if restart != "Always" {
        errs.push(not_supported(
            "spec.template.spec.restartPolicy",
            &Value::from(restart),
            &["Always"],
        ));
    }
    if has(get(tpl, "spec"), "activeDeadlineSeconds") {
        errs.push(forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicationController is not Supported",
        ));
    }
    errs
}

pub(crate) fn pod_template(def: &ResourceDef, pt: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = match old {
        Some(o) => meta::update(def, pt, o),
        None => meta::create(def, pt),
    };
    errs.extend(template(get(pt, "template"), "template"));
    errs
}

pub(crate) fn persistent_volume_claim(
    def: &ResourceDef,
    pvc: &Value,
    old: Option<&Value>,
) -> Vec<Cause> {
    let Some(o) = old else {
        let mut errs = meta::create(def, pvc);
        errs.extend(claim_spec(get(pvc, "spec"), "spec"));
        return errs;
    };
    let mut errs = meta::update(def, pvc, o);
    errs.extend(claim_spec(get(pvc, "spec"), "spec"));
    let (mut new_spec, old_spec) = (get(pvc, "spec").clone(), get(o, "spec"));
    if s(get(o, "status"), "phase") == "Bound" {
        for key in ["resources", "volumeAttributesClassName"] {
            match old_spec.get(key) {
                Some(v) => new_spec[key] = v.clone(),
                None => {
                    if let Some(m) = new_spec.as_object_mut() {
                        m.remove(key);
                    }
                }
            }
        }
    }
    if s(old_spec, "volumeName").is_empty()
        && let Some(m) = new_spec.as_object_mut()
    {
        m.remove("volumeName");
    }
    let mut old_cmp = old_spec.clone();
    if s(old_spec, "volumeName").is_empty()
        && let Some(m) = old_cmp.as_object_mut()
    {
        m.remove("volumeName");
    }
    if !same(Some(&new_spec), Some(&old_cmp)) {
        errs.push(forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    errs
}

/// A claim spec (PVCs and claim templates).
pub(crate) fn claim_spec(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let modes = arr(spec, "accessModes");
    if modes.is_empty() {
        errs.push(required_msg(
            format!("{path}.accessModes"),
            "at least 1 access mode is required",
        ));
    }
    if let Some(sel) = spec.get("selector").filter(|v| !v.is_null()) {
        errs.extend(meta::label_selector(sel, &format!("{path}.selector")));
    }
    let (mut rwop, mut other) = (false, false);
    for m in modes {
        let mode = m.as_str().unwrap_or_default();
        if !ACCESS_MODES.contains(&mode) {
            errs.push(not_supported(
                format!("{path}.accessModes"),
                m,
                ACCESS_MODES,
            ));
        }
        if mode == "ReadWriteOncePod" {
            rwop = true;
        } else if ACCESS_MODES.contains(&mode) {
            other = true;
        }
    }
    if rwop && other {
        errs.push(forbidden(
            format!("{path}.accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    let storage_path = format!("{path}.resources[storage]");
    match spec.pointer("/resources/requests/storage") {
        None => errs.push(required(storage_path)),
        Some(v) => match parse_quantity(v, &storage_path) {
            Ok(q) if q.signum() <= 0 => errs.push(invalid_str(
                storage_path,
                &q.canonical(),
                "must be greater than zero",
            )),
            Ok(q) => errs.extend(quantity_value("storage", &q, &storage_path)),
            Err(c) => errs.push(c),
        },
    }
    let class = s(spec, "storageClassName");
    if !class.is_empty() {
        errs.extend(each_msg(
            &format!("{path}.storageClassName"),
            class,
            check_dns1123_subdomain(class),
        ));
    }
    if has(spec, "volumeMode") && !matches!(s(spec, "volumeMode"), "Block" | "Filesystem") {
        errs.push(not_supported(
            format!("{path}.volumeMode"),
            get(spec, "volumeMode"),
            &["Block", "Filesystem"],
        ));
    }
    errs
}
