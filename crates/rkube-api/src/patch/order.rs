//! List helpers shared by applying and computing patches: element types,
//! merge-key lookups, and the ordering rules of upstream's
//! `$setElementOrder` design (precedence: `$setElementOrder`, then the
//! order in the patch list, then the order in the live list).
//!
//! Orders are reproduced step by step, including Go's `sort.SliceStable`
//! (insertion sort over blocks of 20, then in-place symmetric merges),
//! because upstream's comparator is not a strict order when an item is
//! missing from the reference list and the result then depends on the
//! algorithm.

use serde_json::{Map, Value};

use super::error::{
    GoType, PatchError, bad_arg_type, go_v_lists, internal, no_list_of_lists, no_merge_key,
};

pub(crate) const DIRECTIVE: &str = "$patch";
pub(crate) const DELETE: &str = "delete";
pub(crate) const REPLACE: &str = "replace";
pub(crate) const MERGE: &str = "merge";

/// Whether the elements of lists are objects (merged by key) or scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Map,
    Scalar,
}

/// Upstream's `sliceElementType`: every element of every list must have the
/// same Go type, and not be a list.
pub(crate) fn element_kind(lists: &[&[Value]]) -> Result<Kind, PatchError> {
    let mut prev: Option<GoType> = None;
    for list in lists {
        for v in *list {
            let t = GoType::of(v);
            match prev {
                None => {
                    if t == GoType::Slice {
                        return Err(no_list_of_lists());
                    }
                    if t == GoType::Nil {
                        // Upstream dereferences a nil type here and panics.
                        return Err(internal(
                            "runtime error: invalid memory address or nil pointer dereference",
                        ));
                    }
                    prev = Some(t);
                }
                Some(p) if p != t => {
                    return Err(internal(format!(
                        "list element types are not identical: {}",
                        go_v_lists(lists)
                    )));
                }
                Some(_) => {}
            }
        }
    }
    match prev {
        Some(GoType::Map) => Ok(Kind::Map),
        Some(_) => Ok(Kind::Scalar),
        None => Err(internal("no elements in any of the given slices")),
    }
}

/// The value upstream's `index` compares: the merge key's value for
/// objects (`None` when absent or not an object, which equals every other
/// `None`, as Go's nil does), the item itself otherwise.
fn key_of<'v>(item: &'v Value, merge_key: &str, kind: Kind) -> Option<&'v Value> {
    match kind {
        Kind::Map => item.as_object().and_then(|m| m.get(merge_key)),
        Kind::Scalar => Some(item),
    }
}

/// A reference order (a patch list, `$setElementOrder`, the live list),
/// reduced to what ordering reads from it: each item's key, and the error
/// upstream's merge-key validation of the list would give (reported only
/// when the validation is reached).
pub(crate) struct OrderKeys {
    keys: Vec<Option<Value>>,
    invalid: Option<PatchError>,
}

impl OrderKeys {
    pub(crate) fn new<'v>(
        items: impl IntoIterator<Item = &'v Value>,
        merge_key: &str,
        kind: Kind,
    ) -> OrderKeys {
        let mut invalid = None;
        let keys = items
            .into_iter()
            .map(|item| {
                if kind == Kind::Map && invalid.is_none() {
                    invalid = check_merge_key(item, merge_key).err();
                }
                key_of(item, merge_key, kind).cloned()
            })
            .collect();
        OrderKeys { keys, invalid }
    }

    /// Upstream's `index`: the first position with the same key.
    fn index(&self, item: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
        let want = key_of(item, merge_key, kind);
        self.keys.iter().position(|k| k.as_ref() == want)
    }
}

/// An item is an object with the merge key.
fn check_merge_key(item: &Value, merge_key: &str) -> Result<(), PatchError> {
    let Value::Object(m) = item else {
        return Err(bad_arg_type(GoType::Map, item));
    };
    if !m.contains_key(merge_key) {
        return Err(no_merge_key(item, merge_key));
    }
    Ok(())
}

/// The object and its merge key's value, or upstream's errors.
pub(crate) fn map_and_key<'v>(
    item: &'v Value,
    merge_key: &str,
) -> Result<(&'v Map<String, Value>, &'v Value), PatchError> {
    let Value::Object(m) = item else {
        return Err(bad_arg_type(GoType::Map, item));
    };
    match m.get(merge_key) {
        Some(k) => Ok((m, k)),
        None => Err(no_merge_key(item, merge_key)),
    }
}

/// Upstream's `mergeKeyValueEqual`.
pub(crate) fn merge_key_equal(l: &Value, r: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(l == r);
    }
    let (_, lk) = map_and_key(l, merge_key)?;
    let (_, rk) = map_and_key(r, merge_key)?;
    Ok(lk == rk)
}

/// Upstream's `findMapInSliceBasedOnKeyValue`: the position of the first
/// object whose `key` equals `value`.
pub(crate) fn find_by_key(
    list: &[Value],
    key: &str,
    value: &Value,
) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(internal(format!("value for key {i} is not a map")));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Whether an object carries `$patch: delete`.
pub(crate) fn is_delete_item(v: &Value) -> bool {
    v.get(DIRECTIVE).and_then(Value::as_str) == Some(DELETE)
}

/// Splits items into those kept and those with `$patch: delete`.
pub(crate) fn split_deletes(list: Vec<Value>) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut keep = Vec::with_capacity(list.len());
    let mut delete = Vec::new();
    for v in list {
        if !v.is_object() {
            return Err(bad_arg_type(GoType::Map, &v));
        }
        if is_delete_item(&v) {
            delete.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, delete))
}

/// Partitions `merged` into items present in `by` (by merge key, or by
/// value without one) and the others.
pub(crate) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    // Each item of `by`: `None` if not an object, else its key.
    let by_keys: Vec<Option<Option<&Value>>> = if merge_key.is_empty() {
        Vec::new()
    } else {
        by.iter()
            .map(|v| v.as_object().map(|m| m.get(merge_key)))
            .collect()
    };
    let mut present = Vec::with_capacity(merged.len());
    let mut absent = Vec::new();
    for v in merged {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let (_, key) = map_and_key(&v, merge_key)?;
            let mut found = false;
            for (i, k) in by_keys.iter().enumerate() {
                match k {
                    None => return Err(internal(format!("value for key {i} is not a map"))),
                    Some(k) if *k == Some(key) => {
                        found = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
            found
        };
        if found {
            present.push(v);
        } else {
            absent.push(v);
        }
    }
    Ok((present, absent))
}

/// Upstream's `normalizeElementOrder`: sorts the patch items by
/// `patch_order` and the server-only items by `server_order`, then
/// interleaves them.
pub(crate) fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &OrderKeys,
    server_order: &OrderKeys,
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

/// Upstream's `normalizeSliceOrder`: a stable sort of `to_sort` by position
/// in `order`, with `$patch: delete` items moved to the end.
pub(crate) fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &OrderKeys,
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, PatchError> {
    let (mut items, deletes) = if kind == Kind::Map {
        for item in &to_sort {
            check_merge_key(item, merge_key)?;
        }
        if let Some(e) = &order.invalid {
            return Err(e.clone());
        }
        split_deletes(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    let mut keyed: Vec<(Option<usize>, Value)> = items
        .drain(..)
        .map(|v| (order.index(&v, merge_key, kind), v))
        .collect();
    go_stable_sort(&mut keyed, |a, b| match (a.0, b.0) {
        (Some(i), Some(j)) => i < j,
        _ => true,
    });
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(deletes);
    Ok(out)
}

/// Upstream's `mergeSortedSlice`: inserts the (sorted) `left` items among
/// the (sorted) `right` ones; a left item goes before a right one only when
/// both are in `server_order` and it comes first there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &OrderKeys,
    merge_key: &str,
    kind: Kind,
) -> Vec<Value> {
    let li: Vec<Option<usize>> = left
        .iter()
        .map(|v| server_order.index(v, merge_key, kind))
        .collect();
    let ri: Vec<Option<usize>> = right
        .iter()
        .map(|v| server_order.index(v, merge_key, kind))
        .collect();
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().zip(li).peekable();
    let mut right = right.into_iter().zip(ri).peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, l)), Some((_, r))) => matches!((l, r), (Some(l), Some(r)) if l < r),
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((v, _)) = next {
            out.push(v);
        }
    }
    out
}

/// Go's `sort.SliceStable` with comparator `less`, step for step.
pub(crate) fn go_stable_sort<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = data.len();
    let mut block = 20;
    let (mut a, mut b) = (0, block);
    while b <= n {
        insertion_sort(data, a, b, &less);
        a = b;
        b += block;
    }
    insertion_sort(data, a, n, &less);
    while block < n {
        let (mut a, mut b) = (0, 2 * block);
        while b <= n {
            sym_merge(data, a, a + block, b, &less);
            a = b;
            b += 2 * block;
        }
        let m = a + block;
        if m < n {
            sym_merge(data, a, m, n, &less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(data: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&data[j], &data[j - 1]) {
            data.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn sym_merge<T>(data: &mut [T], a: usize, m: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    if m - a == 1 {
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if less(&data[h], &data[a]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        for k in a..i.saturating_sub(1) {
            data.swap(k, k + 1);
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !less(&data[m], &data[h]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            data.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(&data[p - c], &data[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(data, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(data, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(data, mid, end, b, less);
    }
}

fn rotate<T>(data: &mut [T], a: usize, m: usize, b: usize) {
    let (mut i, mut j) = (m - a, b - m);
    while i != j {
        if i > j {
            swap_range(data, m - i, m, j);
            i -= j;
        } else {
            swap_range(data, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(data, m - i, m, i);
}

fn swap_range<T>(data: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        data.swap(a + i, b + i);
    }
}

/// Upstream's `deduplicateScalars`, which moves the last item into each
/// duplicate's place.
pub(crate) fn dedup_scalars(mut s: Vec<Value>) -> Vec<Value> {
    let mut i = 0;
    while i + 1 < s.len() {
        let mut j = i + 1;
        while j < s.len() {
            if s[i] == s[j] {
                let last = s.len() - 1;
                s.swap(j, last);
                s.truncate(last);
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    s
}

/// Upstream's `deleteFromSlice`: drops every item equal to one of
/// `to_delete`.
pub(crate) fn delete_from_slice(current: Vec<Value>, to_delete: &[Value]) -> Vec<Value> {
    current
        .into_iter()
        .filter(|v| !to_delete.contains(v))
        .collect()
}

/// Go's `%v` of a scalar, which upstream sorts and compares scalars and
/// merge keys by.
pub(crate) fn scalar_string(v: &Value) -> String {
    super::error::go_v(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stable_sort_matches_a_stable_sort_for_strict_orders() {
        let mut v: Vec<(u32, u32)> = (0..97).map(|i| ((i * 37) % 11, i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|p| p.0);
        go_stable_sort(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, want);
    }

    #[test]
    fn always_true_comparator_reverses_short_lists() {
        let mut v = vec![1, 2, 3];
        go_stable_sort(&mut v, |_, _| true);
        assert_eq!(v, vec![3, 2, 1]);
    }

    #[test]
    fn dedup_moves_last_into_hole() {
        let got = dedup_scalars(vec![json!("a"), json!("b"), json!("a"), json!("c")]);
        assert_eq!(got, vec![json!("a"), json!("b"), json!("c")]);
        let got = dedup_scalars(vec![json!(1), json!(1), json!(2), json!(3)]);
        assert_eq!(got, vec![json!(1), json!(3), json!(2)]);
    }

    #[test]
    fn element_kinds() {
        assert_eq!(element_kind(&[&[json!({})], &[]]).unwrap(), Kind::Map);
        assert_eq!(
            element_kind(&[&[json!(1)], &[json!(2)]]).unwrap(),
            Kind::Scalar
        );
        assert_eq!(element_kind(&[&[json!([1])]]).unwrap_err().code(), 422);
        assert_eq!(
            element_kind(&[&[json!(1)], &[json!("a")]])
                .unwrap_err()
                .message(),
            "list element types are not identical: [[1] [a]]"
        );
        assert_eq!(
            element_kind(&[&[], &[]]).unwrap_err().message(),
            "no elements in any of the given slices"
        );
    }
}
