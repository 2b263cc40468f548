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

use super::compare::Pairing;
use super::fieldpath::{ElementRef, FieldSet, PathElement};
use super::keys::{ItemKey, ListKeys};
use super::typed::{ListKind, Shape, TypeError, child_shape, is_struct, item_shape, resolve};

/// The live object with the configuration applied.
pub fn merge(live: &Value, config: &Value, shape: Shape) -> Result<Value, TypeError> {
    merge_value(Some(live), config, shape, Skip::Nothing)
}

/// [`merge`] for an apply, which writes `metadata.managedFields` afresh:
/// the live list, often as large as the rest of the object, is not
/// copied, a null holds its place (so the key keeps its position in the
/// object) until the apply replaces it.
pub fn merge_for_apply(live: &Value, config: &Value, shape: Shape) -> Result<Value, TypeError> {
    merge_value(Some(live), config, shape, Skip::MetadataManagedFields)
}

/// What of the live object not to copy below this level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    /// At the root: `metadata.managedFields`.
    MetadataManagedFields,
    /// In the root's metadata: `managedFields`.
    ManagedFields,
}

impl Skip {
    fn below(self, key: &str) -> Skip {
        match self {
            Skip::MetadataManagedFields if key == "metadata" => Skip::ManagedFields,
            _ => Skip::Nothing,
        }
    }

    fn copy(self, key: &str, v: &Value) -> Value {
        match self.below(key) {
            Skip::ManagedFields => match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(k, v)| {
                            let v = if k == "managedFields" {
                                Value::Null
                            } else {
                                v.clone()
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                _ => v.clone(),
            },
            _ => v.clone(),
        }
    }
}

fn merge_value(
    live: Option<&Value>,
    config: &Value,
    shape: Shape,
    skip: Skip,
) -> Result<Value, TypeError> {
    let Some(live) = live else {
        return Ok(without_nulls(config));
    };
    let shape = resolve(shape, config);
    match (shape, live, config) {
        (Shape::Struct(_) | Shape::Map, Value::Object(lm), Value::Object(cm)) => {
            // Each live entry is copied once (a clone of the whole map
            // per level would make deep objects quadratic).
            let mut out = Map::with_capacity(lm.len() + cm.len());
            let mut pairs = Pairing::new(cm);
            for (k, lv) in lm {
                match pairs.get(k) {
                    None if skip == Skip::ManagedFields && k == "managedFields" => {
                        out.insert(k.clone(), Value::Null);
                    }
                    None => {
                        out.insert(k.clone(), skip.copy(k, lv));
                    }
                    Some(Value::Null) => {}
                    // A scalar replaces whatever was there, whatever its
                    // shape.
                    Some(cv @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => {
                        out.insert(k.clone(), cv.clone());
                    }
                    Some(cv) => {
                        let merged =
                            merge_value(Some(lv), cv, child_shape(shape, k), skip.below(k))?;
                        out.insert(k.clone(), merged);
                    }
                }
            }
            if !pairs.all_found() {
                for (k, cv) in cm {
                    if !cv.is_null() && !lm.contains_key(k) {
                        out.insert(k.clone(), without_nulls(cv));
                    }
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
    let Ok(live_keys) = ListKeys::new(kind, elem, live) else {
        // A live list that cannot be keyed is replaced.
        return Ok(Value::Array(config.iter().map(without_nulls).collect()));
    };
    let config_keys = ListKeys::new(kind, elem, config)?;
    let in_live = live_keys.index();
    let in_config = config_keys.index();
    let li = in_live.firsts();
    let ci = in_config.firsts();
    let lkey = |l: usize| live_keys.key(li[l]);
    let ckey = |c: usize| config_keys.key(ci[c]);
    let shared: Vec<&ItemKey<'_>> = ci
        .iter()
        .map(|&j| config_keys.key(j))
        .filter(|k| in_live.contains(k))
        .collect();
    let mut next_shared = 0;
    let item = item_shape(elem);
    let take = |key: &ItemKey<'_>, out: &mut Vec<Value>| -> Result<(), TypeError> {
        let l = in_live.get(key).map(|i| &live[i]);
        match in_config.get(key) {
            Some(j) => out.push(merge_value(l, &config[j], item, Skip::Nothing)?),
            None => out.push(l.cloned().unwrap_or(Value::Null)),
        }
        Ok(())
    };
    let mut out = Vec::with_capacity(li.len().max(ci.len()));
    let (mut l, mut c) = (0, 0);
    while l < li.len() || c < ci.len() {
        if l < li.len() && c < ci.len() {
            let key = lkey(l);
            if key == ckey(c) {
                take(key, &mut out)?;
                l += 1;
                c += 1;
                next_shared += 1;
                continue;
            }
            // A shared item whose turn has not come: the configuration
            // places it later.
            if in_config.contains(key) && shared.get(next_shared).is_some_and(|s| *s != key) {
                l += 1;
                continue;
            }
        }
        if l < li.len() && !in_config.contains(lkey(l)) {
            take(lkey(l), &mut out)?;
            l += 1;
            continue;
        }
        if c < ci.len() {
            let key = ckey(c);
            take(key, &mut out)?;
            c += 1;
            if shared.get(next_shared).is_some_and(|s| *s == key) {
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
            // In the object's order: removing changes the order of what is
            // left.
            let keys: Vec<String> = m
                .keys()
                .filter(|k| last.get_ref(ElementRef::Field(k)).is_some())
                .cloned()
                .collect();
            for k in keys {
                let pe = ElementRef::Field(&k);
                let Some(ln) = last.get_ref(pe) else { continue };
                let cs = child_shape(shape, &k);
                match owned.get_ref(pe) {
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
            // The keys borrow the items, which are changed below.
            let firsts: Vec<(usize, PathElement)> = match ListKeys::new(kind, elem, items) {
                Ok(keys) => keys
                    .index()
                    .firsts()
                    .iter()
                    .map(|&i| (i, keys.element(i)))
                    .collect(),
                Err(_) => return,
            };
            let mut drop = vec![false; items.len()];
            for (i, pe) in firsts {
                let Some(ln) = last.get(&pe) else { continue };
                match owned.get(&pe) {
                    None if ln.member => drop[i] = true,
                    on => {
                        let empty = FieldSet::new();
                        let oc = on.map(|n| &n.children).unwrap_or(&empty);
                        prune(&mut items[i], item_shape(elem), &ln.children, oc);
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
