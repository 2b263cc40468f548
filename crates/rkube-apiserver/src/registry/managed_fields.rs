//! `metadata.managedFields` for Update operations: which manager last set
//! which fields, in the FieldsV1 format (`{"f:spec": {"f:replicas": {}}}`).
//!
//! Lists are tracked as atomic values for now; server-side apply brings
//! the per-type list keys from the patch-strategy table.

use serde_json::{Map, Value, json};

/// Map-valued fields whose entries are tracked one by one, with a `.`
/// entry for the map itself, as upstream's FieldsV1 shows them.
const GRANULAR_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "matchLabels",
    "nodeSelector",
    "capacity",
    "allocatable",
    "limits",
    "requests",
    "parameters",
];

/// Metadata fields the server owns, never attributed to a manager.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The field set of a whole object.
pub fn fields_of(obj: &Value, include_status: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" => continue,
            "status" if !include_status => continue,
            "metadata" => {
                let mut md = Map::new();
                for (mk, mv) in v.as_object().into_iter().flatten() {
                    if SERVER_METADATA.contains(&mk.as_str()) {
                        continue;
                    }
                    md.insert(format!("f:{mk}"), field_value(mk, mv));
                }
                if !md.is_empty() {
                    out.insert("f:metadata".into(), Value::Object(md));
                }
            }
            _ => {
                out.insert(format!("f:{k}"), field_value(k, v));
            }
        }
    }
    out
}

fn field_value(name: &str, v: &Value) -> Value {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut inner = Map::new();
            if GRANULAR_MAPS.contains(&name) {
                inner.insert(".".into(), json!({}));
            }
            for (k, child) in m {
                inner.insert(format!("f:{k}"), field_value(k, child));
            }
            Value::Object(inner)
        }
        _ => json!({}),
    }
}

/// The fields whose values differ between two objects (changed in `new`,
/// or newly set), as a field set.
pub fn changed_fields(old: &Value, new: &Value, include_status: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let (Some(om), Some(nm)) = (old.as_object(), new.as_object()) else {
        return fields_of(new, include_status);
    };
    for (k, nv) in nm {
        match k.as_str() {
            "apiVersion" | "kind" => continue,
            "status" if !include_status => continue,
            _ => {}
        }
        let ov = om.get(k);
        if ov == Some(nv) {
            continue;
        }
        if k == "metadata" {
            let mut md = Map::new();
            for (mk, mv) in nv.as_object().into_iter().flatten() {
                if SERVER_METADATA.contains(&mk.as_str()) {
                    continue;
                }
                let old_mv = ov.and_then(|o| o.get(mk));
                if old_mv != Some(mv)
                    && let Some(d) = diff_value(mk, old_mv, mv)
                {
                    md.insert(format!("f:{mk}"), d);
                }
            }
            if !md.is_empty() {
                out.insert("f:metadata".into(), Value::Object(md));
            }
        } else if let Some(d) = diff_value(k, ov, nv) {
            out.insert(format!("f:{k}"), d);
        }
    }
    out
}

fn diff_value(name: &str, old: Option<&Value>, new: &Value) -> Option<Value> {
    match (old, new) {
        (Some(o), n) if o == n => None,
        (Some(Value::Object(om)), Value::Object(nm)) if !nm.is_empty() && !om.is_empty() => {
            let mut inner = Map::new();
            for (k, nv) in nm {
                if let Some(d) = diff_value(k, om.get(k), nv) {
                    inner.insert(format!("f:{k}"), d);
                }
            }
            (!inner.is_empty()).then_some(Value::Object(inner))
        }
        _ => Some(field_value(name, new)),
    }
}

/// Remove `remove`'s leaves from `set`, dropping emptied branches.
fn subtract(set: &mut Map<String, Value>, remove: &Map<String, Value>) {
    for (k, rv) in remove {
        let Some(existing) = set.get_mut(k) else {
            continue;
        };
        let rm = rv.as_object();
        match (existing.as_object_mut(), rm) {
            (Some(em), Some(rm)) if !rm.is_empty() && !em.is_empty() => {
                subtract(em, rm);
                let only_dot = em.len() == 1 && em.contains_key(".");
                if em.is_empty() || only_dot {
                    set.remove(k);
                }
            }
            _ => {
                set.remove(k);
            }
        }
    }
}

fn union(set: &mut Map<String, Value>, add: &Map<String, Value>) {
    for (k, av) in add {
        match (set.get_mut(k), av.as_object()) {
            (Some(Value::Object(em)), Some(am)) => union(em, am),
            (Some(_), _) => {}
            (None, _) => {
                set.insert(k.clone(), av.clone());
            }
        }
    }
}

/// Record an Update by `manager` that turned `old` into `new`: the
/// changed fields move to the manager's entry.
pub fn record_update(
    new: &mut Value,
    old: Option<&Value>,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let include_status = subresource == Some("status");
    let changed = match old {
        Some(o) => changed_fields(o, new, include_status),
        None => fields_of(new, include_status),
    };
    let mut entries: Vec<Value> = old
        .and_then(|o| o["metadata"]["managedFields"].as_array().cloned())
        .unwrap_or_default();
    if changed.is_empty() && old.is_some() {
        rkube_api::meta::metadata_mut(new).insert("managedFields".into(), Value::Array(entries));
        return;
    }
    let mine = |e: &Value| {
        e["manager"] == manager
            && e["operation"] == "Update"
            && e["subresource"].as_str() == subresource
    };
    for e in entries.iter_mut().filter(|e| !mine(e)) {
        if let Some(set) = e.pointer_mut("/fieldsV1").and_then(Value::as_object_mut) {
            subtract(set, &changed);
        }
    }
    let mut own = entries
        .iter()
        .find(|e| mine(e))
        .and_then(|e| e["fieldsV1"].as_object().cloned())
        .unwrap_or_default();
    union(&mut own, &changed);
    entries.retain(|e| !mine(e) && e["fieldsV1"].as_object().is_some_and(|s| !s.is_empty()));
    let mut entry = json!({
        "manager": manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": own,
    });
    if let Some(s) = subresource {
        entry["subresource"] = json!(s);
    }
    entries.push(entry);
    rkube_api::meta::metadata_mut(new).insert("managedFields".into(), Value::Array(entries));
}

/// The default field manager: the client's User-Agent up to the first
/// `/`, as kube-apiserver derives it.
pub fn default_manager(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("unknown");
    let name = ua.split('/').next().unwrap_or(ua);
    name.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_moves_to_the_last_writer() {
        let mut v1 = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}});
        record_update(&mut v1, None, "alice", "v1", None, "t");
        let mf = &v1["metadata"]["managedFields"];
        assert_eq!(mf[0]["manager"], "alice");
        assert_eq!(mf[0]["fieldsV1"]["f:data"], json!({".": {}, "f:k": {}}));

        let mut v2 = v1.clone();
        v2["data"]["k"] = json!("changed");
        v2["data"]["k"] = json!("changed");
        v2["data"]["k2"] = json!("new");
        record_update(&mut v2, Some(&v1), "bob", "v1", None, "t");
        let mf = v2["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[1]["manager"], "bob");
        assert!(mf[1]["fieldsV1"]["f:data"]["f:k2"].is_object());
    }
}
