//! Applying a strategic merge patch, as kube-apiserver's
//! `StrategicMergeMapPatch` does (parallel lists merged, unmatched nulls
//! ignored).
//!
//! The rules, in the order upstream applies them to each object:
//!
//! 1. `$patch` in the patch object: `replace` gives the patch object (less
//!    the directive, nothing below it processed); `delete` gives `{}`;
//!    anything else is an error (`merge` included).
//! 2. `$retainKeys: [...]`: every non-null key of the patch (directives
//!    aside) must be listed, and keys of the original not listed are
//!    dropped.
//! 3. `$setElementOrder/<list>: [...]`: the list is merged with its patch
//!    (if any) first, then ordered: items named in the directive in its
//!    order, server-only items kept where they were relative to them.
//! 4. Every other key: `null` deletes; a key the original lacks takes the
//!    patch value (nested nulls dropped, objects carrying `$patch`
//!    removed); values of different types are replaced; two objects merge
//!    recursively (or are replaced under patch strategy `replace`); two
//!    lists merge by merge key or as a set of scalars under patch strategy
//!    `merge`, and are replaced otherwise; `$deleteFromPrimitiveList/<list>`
//!    removes scalars from a list.
//!
//! In a merged list of objects, `$patch: delete` items delete by key,
//! `$patch: replace` makes the rest of the patch list the whole list, and
//! the result is ordered: patch items in patch order, server-only items
//! interleaved where they were.

use serde_json::{Map, Value};

use super::error::{
    GoType, PatchError, bad_arg_type, bad_format_primitive_list, bad_format_retain_keys,
    bad_format_set_element_order, bad_json_doc, bad_patch_type, internal, no_merge_key,
};
use super::order::{
    DELETE, DIRECTIVE, Kind, MERGE, OrderKeys, REPLACE, dedup_scalars, delete_from_slice,
    element_kind, find_by_key, is_delete_item, map_and_key, merge_key_equal,
    normalize_element_order, partition, split_deletes,
};
use super::schema::{Child, SchemaLookup};

pub(crate) const RETAIN_KEYS: &str = "$retainKeys";
pub(crate) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
pub(crate) const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Applies `patch` (a strategic merge patch) to `original`, an object of
/// definition `root_def`, exactly as kube-apiserver does before decoding
/// the result into the typed object.
///
/// The result may still hold directive keys upstream leaves in place (a
/// `$setElementOrder/...` inside an object the original lacked, anything
/// below `$patch: replace`); kube-apiserver's decoder then reports them as
/// unknown fields, so the caller's unknown-field handling should see them.
pub fn strategic_merge(
    original: &Value,
    patch: &Value,
    schema: &dyn SchemaLookup,
    root_def: &str,
) -> Result<Value, PatchError> {
    strategic_merge_owned(original.clone(), patch.clone(), schema, root_def)
}

/// [`strategic_merge`] taking both documents by value, which saves copying
/// the live object.
pub fn strategic_merge_owned(
    original: Value,
    patch: Value,
    schema: &dyn SchemaLookup,
    root_def: &str,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(m) => m,
        // `null` decodes to a nil map, which patches nothing.
        Value::Null => Map::new(),
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )));
        }
    };
    let original = match original {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err(bad_json_doc()),
    };
    let merger = Merger { schema };
    merger
        .merge_map(original, patch, Ty::Struct(root_def))
        .map(Value::Object)
}

/// How encoding/json names a JSON value's kind in its errors.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The type of the value being merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty<'s> {
    /// An object of this definition.
    Struct(&'s str),
    /// A map with arbitrary keys: looking fields up below it fails.
    Map,
    /// No schema: fields merge as plain JSON.
    Unknown,
}

/// The patch facts of one field, resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta<'s> {
    pub strategy: &'s str,
    pub merge_key: &'s str,
    pub child: Ty<'s>,
}

/// Field lookups with upstream's failures.
pub(crate) fn lookup<'s>(
    schema: &'s dyn SchemaLookup,
    ty: Ty<'s>,
    key: &str,
) -> Result<Meta<'s>, PatchError> {
    match ty {
        Ty::Map => Err(internal(
            "merging an object in json but data type is not struct, instead is: map",
        )),
        Ty::Unknown => Ok(Meta {
            strategy: "",
            merge_key: "",
            child: Ty::Unknown,
        }),
        Ty::Struct(def) => Ok(match schema.field(def, key) {
            Some(info) => Meta {
                strategy: info.patch_strategy,
                merge_key: info.merge_key,
                child: match info.child {
                    Child::Def(d) => Ty::Struct(d),
                    Child::Map => Ty::Map,
                    Child::None => Ty::Unknown,
                },
            },
            None => Meta {
                strategy: "",
                merge_key: "",
                child: Ty::Unknown,
            },
        }),
    }
}

/// Upstream's `extractRetainKeysPatchStrategy`: whether `retainKeys` is
/// among the strategies, and the other one.
pub(crate) fn split_strategy(strategy: &str) -> Result<(bool, &str), PatchError> {
    let parts: Vec<&str> = strategy.split(',').collect();
    match parts.as_slice() {
        [one] if *one == "retainKeys" => Ok((true, "")),
        [one] => Ok((false, one)),
        ["retainKeys", other] | [other, "retainKeys"] => Ok((true, other)),
        _ => Err(internal(format!(
            "unexpected patch strategy: [{}]",
            parts.join(" ")
        ))),
    }
}

/// The part of `key` after `prefix/`, or upstream's format errors.
pub(crate) fn extract_key(key: &str, prefix: &str) -> Result<String, PatchError> {
    match key.split_once('/') {
        Some((head, rest)) if head == prefix => Ok(rest.to_string()),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST => Err(bad_format_primitive_list()),
        _ => Err(bad_format_set_element_order()),
    }
}

/// Upstream's `removeDirectives`: `None` when the value itself is an
/// object carrying `$patch`; such objects are dropped from maps and lists
/// below it.
pub(crate) fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            let out: Map<String, Value> = m
                .into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(out))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Upstream's `discardNullValuesFromPatch`: drops null-valued keys of
/// every object inside (list items themselves stay).
fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// The value a patch value sets where there is nothing to merge with.
fn take_patch_value(mut v: Value) -> Option<Value> {
    discard_nulls(&mut v);
    remove_directives(v)
}

struct Merger<'s> {
    schema: &'s dyn SchemaLookup,
}

impl<'s> Merger<'s> {
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        ty: Ty<'s>,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(directive) = patch.get(DIRECTIVE) {
            return match directive.as_str() {
                Some(REPLACE) => {
                    patch.shift_remove(DIRECTIVE);
                    Ok(patch)
                }
                Some(DELETE) => Ok(Map::new()),
                _ => Err(bad_patch_type(directive, &Value::Object(patch.clone()))),
            };
        }
        apply_retain_keys(&mut original, &mut patch)?;
        self.merge_set_element_order(&mut original, &mut patch, ty)?;

        for (key, patch_v) in patch {
            let (key, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
                let bare = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?;
                (if bare.is_empty() { key } else { bare }, true)
            } else {
                (key, false)
            };
            if patch_v.is_null() {
                original.shift_remove(&key);
                continue;
            }
            let same_type = original
                .get(&key)
                .map(|o| GoType::of(o) == GoType::of(&patch_v));
            if same_type != Some(true) {
                if !delete_list {
                    match take_patch_value(patch_v) {
                        Some(v) => {
                            original.insert(key, v);
                        }
                        None => {
                            original.shift_remove(&key);
                        }
                    }
                }
                continue;
            }
            let slot = original.get_mut(&key).expect("checked above");
            match patch_v {
                Value::Object(p) => {
                    let meta = lookup(self.schema, ty, &key)?;
                    let (_, strategy) = split_strategy(meta.strategy)?;
                    let Value::Object(o) = std::mem::take(slot) else {
                        unreachable!("same type")
                    };
                    *slot = Value::Object(if strategy == REPLACE {
                        p
                    } else {
                        self.merge_map(o, p, meta.child)?
                    });
                }
                Value::Array(p) => {
                    let meta = lookup(self.schema, ty, &key)?;
                    let (_, strategy) = split_strategy(meta.strategy)?;
                    let Value::Array(o) = std::mem::take(slot) else {
                        unreachable!("same type")
                    };
                    *slot =
                        Value::Array(self.merge_list_field(o, p, &meta, strategy, delete_list)?);
                }
                scalar => *slot = scalar,
            }
        }
        Ok(original)
    }

    /// Upstream's `mergeSliceHandler`.
    fn merge_list_field(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        meta: &Meta<'s>,
        strategy: &str,
        delete_list: bool,
    ) -> Result<Vec<Value>, PatchError> {
        if strategy == MERGE || delete_list {
            self.merge_list(original, patch, meta.child, meta.merge_key, delete_list)
        } else {
            Ok(patch)
        }
    }

    /// Upstream's `mergeSlice`.
    fn merge_list(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        elem: Ty<'s>,
        merge_key: &str,
        delete_list: bool,
    ) -> Result<Vec<Value>, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        let kind = element_kind(&[&original, &patch])?;
        // Upstream orders server-only items by the original list as it
        // stands after `$patch` directives: only its keys are needed.
        let (merged, server_order, patch) = match kind {
            Kind::Scalar => {
                if delete_list {
                    return Ok(delete_from_slice(original, &patch));
                }
                let server_order = OrderKeys::new(&original, merge_key, kind);
                let mut both = original;
                both.extend(patch.iter().cloned());
                (dedup_scalars(both), server_order, patch)
            }
            Kind::Map => {
                if merge_key.is_empty() {
                    let name = match elem {
                        Ty::Struct(_) => "struct",
                        Ty::Map => "map",
                        Ty::Unknown => "interface",
                    };
                    return Err(internal(format!(
                        "cannot merge lists without merge key for {name}"
                    )));
                }
                let (original, patch) = apply_list_directives(original, patch, merge_key)?;
                let server_order = OrderKeys::new(&original, merge_key, kind);
                let merged = self.merge_by_key(original, &patch, merge_key, elem)?;
                (merged, server_order, patch)
            }
        };
        let (patch_items, server_only) = partition(merged, &patch, merge_key)?;
        let patch_order = OrderKeys::new(&patch, merge_key, kind);
        normalize_element_order(
            patch_items,
            server_only,
            &patch_order,
            &server_order,
            merge_key,
            kind,
        )
    }

    /// Upstream's `mergeSliceWithoutSpecialElements`: merges each patch item
    /// into the original item with its key, or appends it. The original's
    /// items are all objects (checked by the caller).
    fn merge_by_key(
        &self,
        mut original: Vec<Value>,
        patch: &[Value],
        merge_key: &str,
        elem: Ty<'s>,
    ) -> Result<Vec<Value>, PatchError> {
        let mut keys: Vec<Option<Value>> =
            original.iter().map(|v| v.get(merge_key).cloned()).collect();
        for v in patch {
            let (p, key) = map_and_key(v, merge_key)?;
            match keys.iter().position(|k| k.as_ref() == Some(key)) {
                Some(i) => {
                    let Value::Object(o) = std::mem::take(&mut original[i]) else {
                        unreachable!("lists of objects")
                    };
                    original[i] = Value::Object(self.merge_map(o, p.clone(), elem)?);
                }
                None => {
                    original.push(v.clone());
                    keys.push(Some(key.clone()));
                }
            }
        }
        Ok(original)
    }

    /// Upstream's `mergePatchIntoOriginal`: every `$setElementOrder/<list>`
    /// of the patch, with `<list>` itself.
    fn merge_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        ty: Ty<'s>,
    ) -> Result<(), PatchError> {
        let keys: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for key in keys {
            let order = patch.shift_remove(&key).expect("listed above");
            let Value::Array(order) = order else {
                return Err(bad_arg_type(GoType::Slice, &order));
            };
            let list_key = extract_key(&key, SET_ELEMENT_ORDER)?;
            let original_list = match original.get_mut(&list_key) {
                None => None,
                Some(Value::Array(a)) => Some(std::mem::take(a)),
                Some(other) => return Err(bad_arg_type(GoType::Slice, other)),
            };
            let patch_list = match patch.get(&list_key) {
                None => None,
                Some(Value::Array(_)) => match patch.shift_remove(&list_key) {
                    Some(Value::Array(a)) => Some(a),
                    _ => unreachable!("checked above"),
                },
                Some(other) => return Err(bad_arg_type(GoType::Slice, other)),
            };
            let meta = lookup(self.schema, ty, &list_key)?;
            let (_, strategy) = split_strategy(meta.strategy)?;
            let patch_ref = patch_list.as_deref().unwrap_or(&[]);
            validate_against_order(patch_ref, &order, meta.merge_key)?;
            if original_list.is_none() && patch_list.is_none() {
                continue;
            }

            // What ordering needs from the original, taken before the
            // merge consumes it. Upstream reads the original list after
            // the merge changed it in place (Go slices share storage).
            let original_ref = original_list.as_deref().unwrap_or(&[]);
            let kind = element_kind(&[original_ref, patch_ref]);
            let server_order = kind.as_ref().ok().map(|&kind| {
                if strategy == MERGE && kind == Kind::Map && patch_list.is_some() {
                    aliased_original(original_ref, patch_ref, meta.merge_key)
                } else {
                    OrderKeys::new(original_ref, meta.merge_key, kind)
                }
            });

            let merged = match (original_list, patch_list) {
                (None, None) => unreachable!("skipped above"),
                (Some(o), None) => o,
                (None, Some(p)) => p.into_iter().filter_map(remove_directives).collect(),
                (Some(o), Some(p)) => self.merge_list_field(o, p, &meta, strategy, false)?,
            };
            let (patch_items, server_only) = partition(merged, &order, meta.merge_key)?;
            let kind = kind?;
            let server_order = server_order.expect("kind is known");
            let order = OrderKeys::new(&order, meta.merge_key, kind);
            let both = normalize_element_order(
                patch_items,
                server_only,
                &order,
                &server_order,
                meta.merge_key,
                kind,
            )?;
            original.insert(list_key, Value::Array(both));
        }
        Ok(())
    }
}

/// The keys of upstream's `originalFieldValue` after `mergeSlice` merged a
/// patch into it in place: deleting by key shifts the later items left
/// (the old last item stays behind), and new items are appended into the
/// freed places. Only the first `original.len()` places are seen, and they
/// are the same whatever the list's capacity.
fn aliased_original(original: &[Value], patch: &[Value], merge_key: &str) -> OrderKeys {
    let limit = original.len();
    let key = |v: &Value| v.get(merge_key).cloned();
    let mut view: Vec<&Value> = original.iter().collect();
    let mut list: Vec<Option<Value>> = original.iter().map(key).collect();
    let mut replace = false;
    for item in patch {
        match item.get(DIRECTIVE).and_then(Value::as_str) {
            Some(DELETE) => {
                let Some(k) = item.get(merge_key) else {
                    break;
                };
                while let Some(i) = list.iter().position(|v| v.as_ref() == Some(k)) {
                    view.copy_within(i + 1..list.len(), i);
                    list.remove(i);
                }
            }
            Some(REPLACE) => replace = true,
            Some(_) => break,
            None => {}
        }
    }
    if !replace {
        for item in patch.iter().filter(|v| v.get(DIRECTIVE).is_none()) {
            let Some(k) = item.get(merge_key) else {
                break;
            };
            if !list.iter().any(|v| v.as_ref() == Some(k)) {
                if list.len() < limit {
                    view[list.len()] = item;
                }
                list.push(Some(k.clone()));
            }
        }
    }
    OrderKeys::new(view, merge_key, Kind::Map)
}

/// Upstream's `applyRetainKeysDirective` (server side).
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(bad_format_retain_keys());
    };
    let listed = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(bad_format_retain_keys());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// Upstream's `validatePatchWithSetOrderList`: the patch list's items
/// (deletions and directives aside) appear in the `$setElementOrder` list,
/// in the same order.
fn validate_against_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let kept: Vec<Value> = if merge_key.is_empty() {
        patch_list.to_vec()
    } else {
        split_deletes(patch_list.to_vec())?.0
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < kept.len() && oi < order.len() {
        if kept[pi]
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE))
        {
            pi += 1;
            continue;
        }
        if merge_key_equal(&kept[pi], &order[oi], merge_key)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < kept.len() && oi >= order.len() {
        return Err(internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            super::error::go_v(&Value::Array(patch_list.to_vec())),
            super::error::go_v(&Value::Array(order.to_vec())),
        )));
    }
    Ok(())
}

/// Upstream's `mergeSliceWithSpecialElements`: applies `$patch: delete`
/// items to the original and `$patch: replace` to the whole list; returns
/// the original and the patch items left to merge.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut rest = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE) else {
            rest.push(v);
            continue;
        };
        match directive.as_str() {
            Some(DELETE) => {
                let Some(key) = v.get(merge_key) else {
                    return Err(no_merge_key(&v, merge_key));
                };
                while let Some(i) = find_by_key(&original, merge_key, key)? {
                    original.remove(i);
                }
            }
            Some(REPLACE) => replace = true,
            Some(MERGE) => {
                return Err(internal(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => return Err(bad_patch_type(directive, &v)),
        }
    }
    debug_assert!(rest.iter().all(|v| !is_delete_item(v)));
    if replace {
        Ok((rest, Vec::new()))
    } else {
        Ok((original, rest))
    }
}
