//! The two writes that move ownership: an Update (create, update, patch)
//! takes the fields it changed from everyone else; an Apply sets the
//! fields of its configuration, fails on fields others own unless forced,
//! and drops the fields it no longer applies.

use serde_json::{Map, Value, json};

use super::compare::{Comparison, Pairing, compare, values_equal};
use super::conflict::{Conflict, Conflicts};
use super::fieldpath::FieldSet;
use super::managed::{self, Entry, Operation, Scope};
use super::merge::{merge_for_apply, prune};
use super::typed::{Shape, TypeError, def_shape, to_field_set, zero_value};

/// The writer of a request.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    /// The definition of the kind (`io.k8s.api.apps.v1.Deployment`).
    pub root: &'static str,
    pub manager: &'a str,
    /// The apiVersion the request was made in.
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub scope: Scope,
    /// RFC 3339, for the entry's `time`.
    pub now: &'a str,
}

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// Fields owned by others: a 409 unless forced.
    Conflicts(Conflicts),
    /// A configuration that cannot be applied: a 400 with this message.
    BadRequest(String),
    /// A configuration the schema cannot place (an item without its key,
    /// duplicate keys): upstream's `failed to create typed patch object`.
    Typed(String),
}

/// The annotation kubectl's client-side apply keeps its configuration in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn comparison(old: &Value, new: &Value, shape: Shape, scope: Scope) -> Comparison {
    let c = compare(old, new, shape);
    Comparison {
        added: managed::filter(c.added, scope),
        modified: managed::filter(c.modified, scope),
        removed: managed::filter(c.removed, scope),
    }
}

fn set_managed_fields(obj: &mut Value, entries: Vec<Entry>) {
    if let Some(md) = obj.as_object_mut().map(|m| {
        m.entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
    }) && let Some(md) = md.as_object_mut()
    {
        let list = managed::encode(entries);
        if list.as_array().is_some_and(|l| l.is_empty()) {
            md.remove("managedFields");
        } else {
            md.insert("managedFields".into(), list);
        }
    }
}

/// Records an Update by `w` that turned `old` (`None` on create) into
/// `new`, writing `new`'s `metadata.managedFields`. The managedFields sent
/// in `new` are the starting point when they are readable and not empty
/// (so a client can reset them), else `old`'s.
pub fn record_update(old: Option<&Value>, new: &mut Value, w: &Writer<'_>) {
    let sent = managed::decode_lazily(new, |_| false)
        .ok()
        .filter(|e| !e.is_empty());
    let mut entries = match sent {
        Some(e) if w.subresource.is_none() => e,
        _ => old
            .map(|o| managed::decode_lazily(o, |_| false))
            .and_then(Result::ok)
            .unwrap_or_default(),
    };
    let zero;
    let lhs = match old {
        Some(o) => o,
        None => {
            zero = zero_value(w.root);
            &zero
        }
    };
    let cmp = comparison(lhs, new, def_shape(w.root), w.scope);
    let changed = cmp.changed();
    if !changed.is_empty() || !cmp.removed.is_empty() {
        for e in entries.iter_mut() {
            e.update(|set| set.subtract(&changed) | set.subtract(&cmp.removed));
        }
    }
    let mine = entries
        .iter()
        .position(|e| e.is(w.manager, Operation::Update, w.api_version, w.subresource));
    if !changed.is_empty() {
        match mine {
            Some(i) => {
                entries[i].update(|set| {
                    set.union_with(changed);
                    true
                });
                entries[i].time = Some(w.now.to_string());
            }
            None => entries.push(Entry::new(
                w.manager,
                Operation::Update,
                w.api_version,
                w.subresource,
                Some(w.now.to_string()),
                changed,
            )),
        }
    }
    set_managed_fields(new, entries);
}

/// Applies `config` by `w` onto `live` (`None` when the object does not
/// exist yet), returning the new object with its managedFields.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    w: &Writer<'_>,
    force: bool,
) -> Result<Value, ApplyError> {
    match apply_once(live, config, w, force) {
        Err(ApplyError::Conflicts(c)) if w.manager == "kubectl" && !force => {
            // Fields kubectl's client-side apply set, still as it set them,
            // move to kubectl's server-side apply without a conflict.
            let allowed = live
                .and_then(|l| from_last_applied(l, w))
                .unwrap_or_default();
            let left: Vec<Conflict> =
                c.0.into_iter()
                    .filter(|c| !allowed.has(&c.path.0))
                    .collect();
            if left.is_empty() {
                apply_once(live, config, w, true)
            } else {
                Err(ApplyError::Conflicts(Conflicts(left)))
            }
        }
        other => other,
    }
    .map(|mut out| {
        if w.manager == "kubectl"
            && let Some(live) = live
            && live
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(LAST_APPLIED))
                .is_some()
        {
            update_last_applied(&mut out, config);
        }
        out
    })
}

fn type_error(e: TypeError) -> ApplyError {
    ApplyError::Typed(e.to_string())
}

fn apply_once(
    live: Option<&Value>,
    config: &Value,
    w: &Writer<'_>,
    force: bool,
) -> Result<Value, ApplyError> {
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    let shape = def_shape(w.root);
    let empty = json!({});
    let live_v = live.unwrap_or(&empty);
    let mut config_set =
        managed::in_scope(to_field_set(config, shape).map_err(type_error)?, w.scope);
    // The configuration's own server metadata (its name, say): owned while
    // pruning, never stored.
    let server_fields = managed::take_server_fields(&mut config_set);
    let is_mine = |e: &Entry| e.is(w.manager, Operation::Apply, w.api_version, w.subresource);
    let mut entries =
        managed::decode_lazily(live_v, |e| is_mine(e) && e.spells(&config_set)).unwrap_or_default();
    let mut merged = merge_for_apply(live_v, config, shape).map_err(type_error)?;
    let mine = entries.iter().position(is_mine);
    // Applying what was applied last time, the usual case, needs neither
    // the old set read nor anything pruned.
    let (dropped, previous_time, raw) = match mine.map(|i| entries.remove(i)) {
        Some(e) if e.vouched() => {
            let time = e.time.clone();
            (FieldSet::new(), time, e.into_raw())
        }
        Some(e) => {
            let time = e.time.clone();
            let (last, raw) = e.into_parts();
            let raw = raw.filter(|_| config_set == last);
            (last.difference(&config_set), time, raw)
        }
        None => (FieldSet::new(), None, None),
    };
    // Only what the applier stopped applying can go.
    if !dropped.is_empty() {
        let mut owned = config_set.union(&server_fields);
        for e in &mut entries {
            owned.union_with(e.set().clone());
        }
        prune(&mut merged, shape, &dropped, &owned);
    }
    let cmp = comparison(live_v, &merged, shape, w.scope);
    let changed = cmp.changed();
    let mut conflicts = Vec::new();
    if !changed.is_empty() || !cmp.removed.is_empty() {
        for e in &mut entries {
            let taken = e.set().intersection(&changed);
            if !taken.is_empty() {
                let who = e.display();
                conflicts.extend(taken.paths().into_iter().map(|path| Conflict {
                    manager: who.clone(),
                    path,
                }));
                e.update(|set| {
                    set.subtract(&taken);
                    true
                });
            }
            e.update(|set| set.subtract(&cmp.removed));
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| a.manager.cmp(&b.manager));
        return Err(ApplyError::Conflicts(Conflicts(conflicts)));
    }
    let unchanged = without_managed_fields_eq(live_v, &merged);
    let time = if unchanged && previous_time.is_some() {
        previous_time
    } else {
        Some(w.now.to_string())
    };
    let mut entry = Entry::new(
        w.manager,
        Operation::Apply,
        w.api_version,
        w.subresource,
        time,
        config_set,
    );
    entry.reuse(raw);
    entries.push(entry);
    set_managed_fields(&mut merged, entries);
    Ok(merged)
}

/// Equal but for `metadata.managedFields`, without copying either.
fn without_managed_fields_eq(a: &Value, b: &Value) -> bool {
    fn same_but(a: &Value, b: &Value, skip: Option<&str>, inner: Option<&str>) -> bool {
        let (Some(am), Some(bm)) = (a.as_object(), b.as_object()) else {
            return values_equal(a, b);
        };
        let kept = |k: &String| Some(k.as_str()) != skip;
        if am.keys().filter(|k| kept(k)).count() != bm.keys().filter(|k| kept(k)).count() {
            return false;
        }
        let mut pairs = Pairing::new(bm);
        am.iter().filter(|(k, _)| kept(k)).all(|(k, av)| {
            pairs.get(k).is_some_and(|bv| match inner {
                Some(field) if k == "metadata" => same_but(av, bv, Some(field), None),
                _ => values_equal(av, bv),
            })
        })
    }
    same_but(a, b, None, Some("managedFields"))
}

/// The fields of the live object's last-applied configuration whose
/// values the live object still has.
fn from_last_applied(live: &Value, w: &Writer<'_>) -> Option<FieldSet> {
    let text = live
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()?;
    let last: Value = serde_json::from_str(text).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(w.api_version) {
        return None;
    }
    let shape = def_shape(w.root);
    let set = to_field_set(&last, shape).ok()?;
    let c = compare(&last, live, shape);
    Some(
        set.difference(&c.modified)
            .difference(&c.added)
            .difference(&c.removed),
    )
}

/// Keeps kubectl's client-side annotation in step with what kubectl now
/// applies server-side, so a later client-side apply diffs against it.
fn update_last_applied(obj: &mut Value, config: &Value) {
    let mut applied = config.clone();
    if let Some(md) = applied.get_mut("metadata").and_then(Value::as_object_mut)
        && let Some(a) = md.get_mut("annotations").and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
        if a.is_empty() {
            md.remove("annotations");
        }
    }
    let text = format!("{}\n", sorted(&applied));
    if let Some(a) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.insert(LAST_APPLIED.into(), Value::String(text));
    }
}

/// Objects with keys in sorted order, as Go encodes maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
