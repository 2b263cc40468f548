//! Putting an applied configuration onto the live object, and taking out
//! what the applier stopped asking for.
//!
//! [`merge`]: every field of the configuration is set; structs and
//! granular maps merge entry by entry, keyed and set lists item by item
//! (in upstream's order: the configuration's order, with live-only items
//! kept where they were), atomic values are replaced. A `null` in the
//! configuration removes the field.
//!
//! [`prune`]: fields the applier owned before (`last`) that nobody owns
//! now are removed; a struct field counts as owned when anything below it
//! is, so an object others still write into survives.

use serde_json::{Map, Value};

use super::fieldpath::{FieldSet, PathElement};
use super::typed::{
    ListKind, Shape, TypeError, child_shape, indexed_items, is_struct, item_shape, resolve,
};

/// The live object with the configuration applied.
pub fn merge(live: &Value, config: &Value, shape: Shape) -> Result<Value, TypeError> {
    merge_value(Some(live), config, shape)
}

fn merge_value(live: Option<&Value>, config: &Value, shape: Shape) -> Result<Value, TypeError> {
    let Some(live) = live else {
        return Ok(without_nulls(config));
    };
    let shape = resolve(shape, config);
    match (shape, live, config) {
        (Shape::Struct(_) | Shape::Map, Value::Object(lm), Value::Object(cm)) => {
            // Each live entry is copied once (a clone of the whole map
            // per level would make deep objects quadratic).
            let mut out = Map::with_capacity(lm.len() + cm.len());
            for (k, lv) in lm {
                match cm.get(k) {
                    None => {
                        out.insert(k.clone(), lv.clone());
                    }
                    Some(Value::Null) => {}
                    Some(cv) => {
                        let merged = merge_value(Some(lv), cv, child_shape(shape, k))?;
                        out.insert(k.clone(), merged);
                    }
                }
            }
            for (k, cv) in cm {
                if !cv.is_null() && !lm.contains_key(k) {
                    out.insert(k.clone(), without_nulls(cv));
                }
            }
            Ok(Value::Object(out))
        }
        (Shape::List(kind, elem), Value::Array(ll), Value::Array(cl))
            if kind != ListKind::Atomic =>
        {
            merge_list(kind, elem, ll, cl)
        }
        _ => Ok(without_nulls(config)),
    }
}

/// A configuration value as stored: null entries of objects dropped, as
/// decoding into the typed object drops them.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn merge_list(
    kind: ListKind,
    elem: Option<&'static str>,
    live: &[Value],
    config: &[Value],
) -> Result<Value, TypeError> {
    let li = match indexed_items(kind, elem, live) {
        Ok(li) => li,
        // A live list that cannot be keyed is replaced.
        Err(_) => return Ok(without_nulls(&Value::Array(config.to_vec()))),
    };
    let ci = indexed_items(kind, elem, config)?;
    let in_live: std::collections::HashMap<&PathElement, usize> =
        li.iter().map(|(pe, i)| (pe, *i)).collect();
    let in_config: std::collections::HashMap<&PathElement, usize> =
        ci.iter().map(|(pe, i)| (pe, *i)).collect();
    let shared: Vec<&PathElement> = ci
        .iter()
        .map(|(pe, _)| pe)
        .filter(|pe| in_live.contains_key(pe))
        .collect();
    let mut next_shared = 0;
    let item = item_shape(elem);
    let take = |pe: &PathElement, out: &mut Vec<Value>| -> Result<(), TypeError> {
        let l = in_live.get(pe).map(|i| &live[*i]);
        match in_config.get(pe) {
            Some(j) => out.push(merge_value(l, &config[*j], item)?),
            None => out.push(l.cloned().unwrap_or(Value::Null)),
        }
        Ok(())
    };
    let mut out = Vec::with_capacity(li.len().max(ci.len()));
    let (mut l, mut c) = (0, 0);
    while l < li.len() || c < ci.len() {
        if l < li.len() && c < ci.len() {
            let pe = &li[l].0;
            if *pe == ci[c].0 {
                take(pe, &mut out)?;
                l += 1;
                c += 1;
                next_shared += 1;
                continue;
            }
            // A shared item whose turn has not come: the configuration
            // places it later.
            if in_config.contains_key(pe) && shared.get(next_shared).is_some_and(|s| *s != pe) {
                l += 1;
                continue;
            }
        }
        if l < li.len() && !in_config.contains_key(&li[l].0) {
            take(&li[l].0, &mut out)?;
            l += 1;
            continue;
        }
        if c < ci.len() {
            let pe = &ci[c].0;
            take(pe, &mut out)?;
            c += 1;
            if shared.get(next_shared).is_some_and(|s| *s == pe) {
                next_shared += 1;
            }
            continue;
        }
        // Only shared items already placed are left on the live side.
        l += 1;
    }
    Ok(Value::Array(out))
}

/// Removes from `v` what `last` lists and `owned` does not.
pub fn prune(v: &mut Value, shape: Shape, last: &FieldSet, owned: &FieldSet) {
    let shape = resolve(shape, v);
    match (shape, v) {
        (Shape::Struct(_) | Shape::Map, Value::Object(m)) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let pe = PathElement::Field(k.clone());
                let Some(ln) = last.get(&pe) else { continue };
                let cs = child_shape(shape, &k);
                match owned.get(&pe) {
                    None if ln.member || is_struct(shape) => {
                        m.remove(&k);
                    }
                    None => {
                        if let Some(child) = m.get_mut(&k) {
                            prune(child, cs, &ln.children, &FieldSet::new());
                        }
                    }
                    Some(on) => {
                        if let Some(child) = m.get_mut(&k) {
                            prune(child, cs, &ln.children, &on.children);
                        }
                    }
                }
            }
        }
        (Shape::List(kind, elem), Value::Array(items)) if kind != ListKind::Atomic => {
            let Ok(indexed) = indexed_items(kind, elem, items) else {
                return;
            };
            let mut drop = vec![false; items.len()];
            for (pe, i) in &indexed {
                let Some(ln) = last.get(pe) else { continue };
                match owned.get(pe) {
                    None if ln.member => drop[*i] = true,
                    on => {
                        let empty = FieldSet::new();
                        let oc = on.map(|n| &n.children).unwrap_or(&empty);
                        prune(&mut items[*i], item_shape(elem), &ln.children, oc);
                    }
                }
            }
            let mut i = 0;
            items.retain(|_| {
                let keep = !drop[i];
                i += 1;
                keep
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEPLOY: Shape = Shape::Struct("io.k8s.api.apps.v1.Deployment");
    const META: Shape = Shape::Struct("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");

    #[test]
    fn merge_table() {
        let cases = [
            // Scalars set, others kept.
            (
                json!({"spec": {"replicas": 1, "paused": true}}),
                json!({"spec": {"replicas": 3}}),
                json!({"spec": {"replicas": 3, "paused": true}}),
            ),
            // Keyed list: merged by name, config order, live-only kept in place.
            (
                json!({"spec": {"template": {"spec": {"containers": [
                    {"name": "a", "image": "1", "imagePullPolicy": "Always"},
                    {"name": "b", "image": "1"}]}}}}),
                json!({"spec": {"template": {"spec": {"containers": [
                    {"name": "c", "image": "3"}, {"name": "a", "image": "2"}]}}}}),
                json!({"spec": {"template": {"spec": {"containers": [
                    {"name": "c", "image": "3"},
                    {"name": "a", "image": "2", "imagePullPolicy": "Always"},
                    {"name": "b", "image": "1"}]}}}}),
            ),
            // Atomic list replaced; atomic struct replaced.
            (
                json!({"spec": {"selector": {"matchLabels": {"a": "1"}},
                    "template": {"spec": {"tolerations": [{"key": "x"}]}}}}),
                json!({"spec": {"selector": {"matchLabels": {"b": "2"}},
                    "template": {"spec": {"tolerations": [{"key": "y"}]}}}}),
                json!({"spec": {"selector": {"matchLabels": {"b": "2"}},
                    "template": {"spec": {"tolerations": [{"key": "y"}]}}}}),
            ),
            // Granular map merged; null removes.
            (
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
                json!({"metadata": {"labels": {"c": "3", "b": null}}}),
                json!({"metadata": {"labels": {"a": "1", "c": "3"}}}),
            ),
            // Set list: union.
            (
                json!({"metadata": {"finalizers": ["x", "y"]}}),
                json!({"metadata": {"finalizers": ["z", "x"]}}),
                json!({"metadata": {"finalizers": ["z", "x", "y"]}}),
            ),
        ];
        for (live, config, want) in cases {
            assert_eq!(merge(&live, &config, DEPLOY).unwrap(), want, "{config}");
        }
    }

    #[test]
    fn prune_keeps_what_others_own() {
        let mut v = json!({"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"],
            "annotations": {"k": "v"}});
        let last = FieldSet::from_fields_v1(&json!({"f:labels": {"f:a": {}, "f:b": {}},
            "f:finalizers": {"v:\"x\"": {}, "v:\"y\"": {}}, "f:annotations": {"f:k": {}}}))
        .unwrap();
        let owned = FieldSet::from_fields_v1(&json!({"f:labels": {".": {}, "f:b": {}},
            "f:finalizers": {"v:\"y\"": {}}}))
        .unwrap();
        prune(&mut v, META, &last, &owned);
        assert_eq!(v, json!({"labels": {"b": "2"}, "finalizers": ["y"]}));
    }
}
