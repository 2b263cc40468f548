//! Computing a strategic merge patch from two versions of an object, as
//! kubectl does (`CreateTwoWayMergePatch`: `kubectl edit`, `kubectl
//! rollout pause|resume|restart`, `kubectl set ...`).
//!
//! The patch holds what was added or changed; `null` for removed keys;
//! `$patch: delete` items for objects removed from merged lists;
//! `$deleteFromPrimitiveList/<list>` for scalars removed from merged sets;
//! `$setElementOrder/<list>` when a merged list's content or order changed;
//! `$retainKeys` in objects under a `retainKeys` strategy.

use serde_json::{Map, Value};

use super::error::{GoType, PatchError, internal};
use super::order::{
    DELETE, DIRECTIVE, Kind, MERGE, OrderKeys, REPLACE, dedup_scalars, element_kind, map_and_key,
    merge_key_equal, normalize_slice_order, scalar_string,
};
use super::schema::SchemaLookup;
use super::strategic::{
    DELETE_FROM_PRIMITIVE_LIST, Meta, RETAIN_KEYS, SET_ELEMENT_ORDER, Ty, lookup, split_strategy,
};

/// The strategic merge patch that turns `original` into `modified`, both
/// objects of definition `root_def`; [`super::strategic_merge`] of
/// `original` and the result gives `modified` (for objects without nulls
/// and without duplicate merge keys or set items).
pub fn create_two_way_merge_patch(
    original: &Value,
    modified: &Value,
    schema: &dyn SchemaLookup,
    root_def: &str,
) -> Result<Value, PatchError> {
    let empty = Map::new();
    fn as_map<'v>(
        v: &'v Value,
        empty: &'v Map<String, Value>,
    ) -> Result<&'v Map<String, Value>, PatchError> {
        match v {
            Value::Object(m) => Ok(m),
            Value::Null => Ok(empty),
            _ => Err(super::error::bad_json_doc()),
        }
    }
    let original = as_map(original, &empty)?;
    let modified = as_map(modified, &empty)?;
    let options = DiffOptions {
        set_element_order: true,
        ..DiffOptions::default()
    };
    let differ = Differ { schema };
    differ
        .diff_maps(original, modified, Ty::Struct(root_def), options)
        .map(Value::Object)
}

/// Upstream's `DiffOptions`.
#[derive(Debug, Clone, Copy, Default)]
struct DiffOptions {
    /// Emit `$setElementOrder` lists.
    set_element_order: bool,
    /// Leave additions and changes out (the deletions half of a three-way
    /// patch).
    ignore_changes_and_additions: bool,
    /// Leave deletions out.
    ignore_deletions: bool,
    /// Emit `$retainKeys` in this object.
    build_retain_keys: bool,
}

struct Differ<'s> {
    schema: &'s dyn SchemaLookup,
}

/// A merge list's diff: items to patch, scalars to delete, the order.
type ListDiff = (Vec<Value>, Vec<Value>, Vec<Value>);

impl<'s> Differ<'s> {
    fn diff_maps(
        &self,
        original: &Map<String, Value>,
        modified: &Map<String, Value>,
        ty: Ty<'s>,
        options: DiffOptions,
    ) -> Result<Map<String, Value>, PatchError> {
        let mut patch = Map::new();
        let mut retain = Vec::new();
        for (key, m) in modified {
            if options.build_retain_keys && !m.is_null() {
                retain.push(Value::String(key.clone()));
            }
            let Some(o) = original.get(key) else {
                if !options.ignore_changes_and_additions {
                    patch.insert(key.clone(), m.clone());
                }
                continue;
            };
            if key == DIRECTIVE {
                let (Some(os), Some(ms)) = (o.as_str(), m.as_str()) else {
                    return Err(internal(format!(
                        "invalid value for special key: {DIRECTIVE}"
                    )));
                };
                if os != ms {
                    patch.insert(key.clone(), m.clone());
                }
                continue;
            }
            if GoType::of(o) != GoType::of(m) {
                if !options.ignore_changes_and_additions {
                    patch.insert(key.clone(), m.clone());
                }
                continue;
            }
            match (o, m) {
                (Value::Object(o), Value::Object(m)) => {
                    self.diff_map_field(key, o, m, &mut patch, ty, options)?
                }
                (Value::Array(o), Value::Array(m)) => {
                    self.diff_list_field(key, o, m, &mut patch, ty, options)?
                }
                _ => replace_if_changed(key, o, m, &mut patch, options),
            }
        }
        if !options.ignore_deletions {
            for key in original.keys() {
                if !modified.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                }
            }
        }
        let cleared = original
            .iter()
            .any(|(k, v)| !v.is_null() && !modified.contains_key(k));
        if !retain.is_empty() && (!patch.is_empty() || cleared) {
            sort_scalars(&mut retain);
            patch.insert(RETAIN_KEYS.into(), Value::Array(retain));
        }
        Ok(patch)
    }

    /// A lookup whose failure only matters when the values differ.
    fn lookup_for(
        &self,
        ty: Ty<'s>,
        key: &str,
        equal: bool,
    ) -> Result<Option<Meta<'s>>, PatchError> {
        match lookup(self.schema, ty, key) {
            Ok(meta) => Ok(Some(meta)),
            Err(_) if equal => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn diff_map_field(
        &self,
        key: &str,
        o: &Map<String, Value>,
        m: &Map<String, Value>,
        patch: &mut Map<String, Value>,
        ty: Ty<'s>,
        mut options: DiffOptions,
    ) -> Result<(), PatchError> {
        let Some(meta) = self.lookup_for(ty, key, o == m)? else {
            return Ok(());
        };
        let (retain, strategy) = split_strategy(meta.strategy)?;
        options.build_retain_keys = retain;
        if strategy == REPLACE {
            if !options.ignore_changes_and_additions {
                patch.insert(key.into(), Value::Object(m.clone()));
            }
            return Ok(());
        }
        let diff = self.diff_maps(o, m, meta.child, options)?;
        if !diff.is_empty() {
            patch.insert(key.into(), Value::Object(diff));
        }
        Ok(())
    }

    fn diff_list_field(
        &self,
        key: &str,
        o: &[Value],
        m: &[Value],
        patch: &mut Map<String, Value>,
        ty: Ty<'s>,
        mut options: DiffOptions,
    ) -> Result<(), PatchError> {
        let Some(meta) = self.lookup_for(ty, key, o == m)? else {
            return Ok(());
        };
        let (retain, strategy) = split_strategy(meta.strategy)?;
        if strategy != MERGE {
            replace_if_changed(
                key,
                &Value::Array(o.to_vec()),
                &Value::Array(m.to_vec()),
                patch,
                options,
            );
            return Ok(());
        }
        options.build_retain_keys = retain;
        let (items, deletions, order) =
            self.diff_lists(o, m, meta.child, meta.merge_key, options)?;
        if !items.is_empty() {
            patch.insert(key.into(), Value::Array(items));
        }
        if !deletions.is_empty() {
            patch.insert(
                format!("{DELETE_FROM_PRIMITIVE_LIST}/{key}"),
                Value::Array(deletions),
            );
        }
        if !order.is_empty() {
            patch.insert(format!("{SET_ELEMENT_ORDER}/{key}"), Value::Array(order));
        }
        Ok(())
    }

    /// Upstream's `diffLists`.
    fn diff_lists(
        &self,
        original: &[Value],
        modified: &[Value],
        elem: Ty<'s>,
        merge_key: &str,
        options: DiffOptions,
    ) -> Result<ListDiff, PatchError> {
        if original.is_empty() {
            if modified.is_empty() || options.ignore_changes_and_additions {
                return Ok((Vec::new(), Vec::new(), Vec::new()));
            }
            return Ok((modified.to_vec(), Vec::new(), Vec::new()));
        }
        match element_kind(&[original, modified])? {
            Kind::Map => {
                let (items, deletions) =
                    self.diff_lists_of_maps(original, modified, elem, merge_key, options)?;
                let order_keys = OrderKeys::new(modified, merge_key, Kind::Map);
                let mut items = normalize_slice_order(items, &order_keys, merge_key, Kind::Map)?;
                let order_same = is_order_same(original, modified, merge_key)?;
                items.extend(deletions);
                let mut order = Vec::new();
                if options.set_element_order
                    && ((!options.ignore_changes_and_additions
                        && (!items.is_empty() || !order_same))
                        || (!options.ignore_deletions && !items.is_empty()))
                {
                    order = modified
                        .iter()
                        .map(|v| {
                            let mut one = Map::new();
                            let key = v.get(merge_key).cloned().unwrap_or(Value::Null);
                            one.insert(merge_key.into(), key);
                            Value::Object(one)
                        })
                        .collect();
                }
                Ok((items, Vec::new(), order))
            }
            Kind::Scalar => {
                let (added, deletions) = diff_lists_of_scalars(original, modified, options);
                let order_keys = OrderKeys::new(modified, merge_key, Kind::Scalar);
                let items = normalize_slice_order(added, &order_keys, merge_key, Kind::Scalar)?;
                // Upstream sorts the original list in place before this
                // comparison, so an original in another order than the
                // modified list only counts as changed when its sorted form
                // differs.
                let mut sorted = original.to_vec();
                sort_scalars(&mut sorted);
                let mut order = Vec::new();
                if options.set_element_order
                    && ((!options.ignore_deletions && !deletions.is_empty())
                        || (!options.ignore_changes_and_additions && sorted != modified))
                {
                    order = modified.to_vec();
                }
                Ok((items, deletions, order))
            }
        }
    }

    /// Upstream's `diffListsOfMaps`: walks both lists sorted by merge key.
    fn diff_lists_of_maps(
        &self,
        original: &[Value],
        modified: &[Value],
        elem: Ty<'s>,
        merge_key: &str,
        options: DiffOptions,
    ) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
        let mut patch = Vec::with_capacity(modified.len());
        let mut deletions = Vec::new();
        let original = sorted_by_key(original, merge_key);
        let modified = sorted_by_key(modified, merge_key);
        let (mut oi, mut mi) = (0, 0);
        while oi < original.len() || mi < modified.len() {
            let o = match original.get(oi) {
                Some(v) => Some(map_and_key(v, merge_key)?),
                None => None,
            };
            let m = match modified.get(mi) {
                Some(v) => Some(map_and_key(v, merge_key)?),
                None => None,
            };
            let ordering = match (&o, &m) {
                (Some((_, ok)), Some((_, mk))) => scalar_string(ok).cmp(&scalar_string(mk)),
                (None, _) => std::cmp::Ordering::Greater,
                (_, None) => std::cmp::Ordering::Less,
            };
            match ordering {
                std::cmp::Ordering::Equal => {
                    let ((om, _), (mm, mk)) = (o.expect("both"), m.expect("both"));
                    let diff = self.diff_maps(om, mm, elem, options)?;
                    if !diff.is_empty() {
                        let mut item = Map::new();
                        item.insert(merge_key.into(), mk.clone());
                        item.extend(diff);
                        patch.push(Value::Object(item));
                    }
                    oi += 1;
                    mi += 1;
                }
                std::cmp::Ordering::Greater => {
                    if !options.ignore_changes_and_additions {
                        patch.push(modified[mi].clone());
                    }
                    mi += 1;
                }
                std::cmp::Ordering::Less => {
                    if !options.ignore_deletions {
                        let (_, ok) = o.expect("original in bounds");
                        let mut item = Map::new();
                        item.insert(merge_key.into(), ok.clone());
                        item.insert(DIRECTIVE.into(), Value::String(DELETE.into()));
                        deletions.push(Value::Object(item));
                    }
                    oi += 1;
                }
            }
        }
        Ok((patch, deletions))
    }
}

/// Upstream's `replacePatchFieldIfNotEqual`.
fn replace_if_changed(
    key: &str,
    o: &Value,
    m: &Value,
    patch: &mut Map<String, Value>,
    options: DiffOptions,
) {
    if !options.ignore_changes_and_additions && o != m {
        patch.insert(key.into(), m.clone());
    }
}

/// Upstream's `isOrderSame`.
fn is_order_same(
    original: &[Value],
    modified: &[Value],
    merge_key: &str,
) -> Result<bool, PatchError> {
    if original.len() != modified.len() {
        return Ok(false);
    }
    for (o, m) in original.iter().zip(modified) {
        if !merge_key_equal(o, m, merge_key)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Upstream's `diffListsOfScalars`: walks both lists sorted by their `%v`
/// text; returns the additions and the (deduplicated) deletions.
fn diff_lists_of_scalars(
    original: &[Value],
    modified: &[Value],
    options: DiffOptions,
) -> (Vec<Value>, Vec<Value>) {
    let mut o = original.to_vec();
    let mut m = modified.to_vec();
    sort_scalars(&mut o);
    sort_scalars(&mut m);
    let (mut added, mut deleted) = (Vec::new(), Vec::new());
    let (mut oi, mut mi) = (0, 0);
    while oi < o.len() || mi < m.len() {
        let ordering = match (o.get(oi), m.get(mi)) {
            (Some(a), Some(b)) => scalar_string(a).cmp(&scalar_string(b)),
            (None, _) => std::cmp::Ordering::Greater,
            (_, None) => std::cmp::Ordering::Less,
        };
        match ordering {
            std::cmp::Ordering::Equal => {
                oi += 1;
                mi += 1;
            }
            std::cmp::Ordering::Greater => {
                if !options.ignore_changes_and_additions {
                    added.push(m[mi].clone());
                }
                mi += 1;
            }
            std::cmp::Ordering::Less => {
                if !options.ignore_deletions {
                    deleted.push(o[oi].clone());
                }
                oi += 1;
            }
        }
    }
    (added, dedup_scalars(deleted))
}

/// Sorts scalars by their `%v` text, as upstream's `sortScalars`.
fn sort_scalars(list: &mut [Value]) {
    list.sort_by_cached_key(scalar_string);
}

/// The objects of a list sorted by the `%v` text of their merge key.
fn sorted_by_key<'v>(list: &'v [Value], merge_key: &str) -> Vec<&'v Value> {
    let mut out: Vec<&Value> = list.iter().collect();
    out.sort_by_cached_key(|v| {
        v.get(merge_key)
            .map(scalar_string)
            .unwrap_or_else(|| "<nil>".into())
    });
    out
}
