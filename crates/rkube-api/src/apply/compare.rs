//! Which fields differ between two versions of an object, as upstream's
//! typed `Compare`: a leaf present only on the right is added, only on the
//! left removed, on both but different modified; a map, struct, list or
//! list item that appears or disappears is itself added or removed
//! (that is where FieldsV1's `"."` entries of Update managers come from).
//! Two empty or null composites compare as leaves.

use serde_json::{Map, Value};

use super::fieldpath::{FieldSet, Node, PathElement};
use super::keys::ListKeys;
use super::text::short_eq;
use super::typed::{ListKind, Shape, child_info, field_element, item_shape, resolve};

/// The three sets of a comparison; no path is in two of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }

    /// Modified and added paths: what a write changed.
    pub fn changed(&self) -> FieldSet {
        self.modified.union(&self.added)
    }
}

/// The comparison of one level while it is walked: nodes in walk order,
/// sorted into sets once the level is done (inserting each in place would
/// cost a shift per item of a long list).
#[derive(Default)]
struct Level {
    added: Vec<(PathElement, Node)>,
    modified: Vec<(PathElement, Node)>,
    removed: Vec<(PathElement, Node)>,
}

impl Level {
    fn finish(self) -> Comparison {
        Comparison {
            added: FieldSet::from_nodes(self.added),
            modified: FieldSet::from_nodes(self.modified),
            removed: FieldSet::from_nodes(self.removed),
        }
    }
}

/// An entry of a parent being compared; its path element is only built
/// when something is recorded under it.
#[derive(Clone, Copy)]
enum Step<'a, 'k> {
    Field(&'a str, Option<&'static str>),
    Item(&'k ListKeys<'a>, usize),
}

impl Step<'_, '_> {
    fn element(self) -> PathElement {
        match self {
            Step::Field(k, known) => field_element(k, known),
            Step::Item(keys, i) => keys.element(i),
        }
    }
}

fn record(
    nodes: &mut Vec<(PathElement, Node)>,
    step: Step<'_, '_>,
    member: bool,
    children: FieldSet,
) {
    if member || !children.is_empty() {
        nodes.push((step.element(), Node { member, children }));
    }
}

/// Finds the entries of one object by the keys of another, taken in that
/// other's order. Versions of one object (live, configuration, merged)
/// mostly list their keys in the same order, so the entry at the same
/// place is tried before the key is hashed.
pub(super) struct Pairing<'a> {
    map: &'a Map<String, Value>,
    next: serde_json::map::Iter<'a>,
    found: usize,
}

impl<'a> Pairing<'a> {
    pub(super) fn new(map: &'a Map<String, Value>) -> Pairing<'a> {
        Pairing {
            map,
            next: map.iter(),
            found: 0,
        }
    }

    /// The entry of `key`; each key asked at most once.
    pub(super) fn get(&mut self, key: &str) -> Option<&'a Value> {
        let mut probe = self.next.clone();
        let v = match probe.next() {
            Some((k, v)) if short_eq(k, key) => {
                self.next = probe;
                Some(v)
            }
            _ => self.map.get(key),
        };
        self.found += usize::from(v.is_some());
        v
    }

    /// Whether every key of the object was asked for.
    pub(super) fn all_found(&self) -> bool {
        self.found == self.map.len()
    }
}

/// `a == b`, finding object entries by [`Pairing`].
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            if am.len() != bm.len() {
                return false;
            }
            let mut pairs = Pairing::new(bm);
            am.iter()
                .all(|(k, av)| pairs.get(k).is_some_and(|bv| values_equal(av, bv)))
        }
        (Value::Array(aa), Value::Array(ba)) => {
            aa.len() == ba.len() && aa.iter().zip(ba).all(|(a, b)| values_equal(a, b))
        }
        (Value::String(a), Value::String(b)) => short_eq(a, b),
        _ => a == b,
    }
}

fn is_composite(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Array(_))
}

fn empty_composite(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// Compares `lhs` and `rhs` (both of `shape`) below the root.
pub fn compare(lhs: &Value, rhs: &Value, shape: Shape) -> Comparison {
    let mut out = Level::default();
    compare_children(Some(lhs), Some(rhs), resolve(shape, rhs), &mut out);
    out.finish()
}

/// Compares one entry of a parent, recording it in `out`.
fn compare_entry(
    step: Step<'_, '_>,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    shape: Shape,
    out: &mut Level,
) {
    let present = rhs.or(lhs).expect("one side is present");
    // A null side takes the shape of the other, as upstream's nil wildcard.
    let resolved = match (lhs, rhs) {
        (Some(l), Some(r))
            if !l.is_null() && !r.is_null() && resolve(shape, l) != resolve(shape, r) =>
        {
            Shape::Leaf
        }
        (Some(l), Some(r)) if r.is_null() => resolve(shape, l),
        _ => resolve(shape, present),
    };
    let mut sub = Level::default();
    let composite = match resolved {
        Shape::Leaf | Shape::List(ListKind::Atomic, _) => false,
        _ if empty_composite(lhs) && empty_composite(rhs) => false,
        _ => compare_children(lhs, rhs, resolved, &mut sub),
    };
    if !composite {
        match (lhs, rhs) {
            (None, Some(_)) => record(&mut out.added, step, true, FieldSet::new()),
            (Some(_), None) => record(&mut out.removed, step, true, FieldSet::new()),
            (Some(l), Some(r)) if !values_equal(l, r) => {
                record(&mut out.modified, step, true, FieldSet::new())
            }
            _ => {}
        }
        return;
    }
    let sub = sub.finish();
    record(&mut out.added, step, lhs.is_none(), sub.added);
    record(&mut out.modified, step, false, sub.modified);
    record(&mut out.removed, step, rhs.is_none(), sub.removed);
}

/// Compares the entries of two composites; false when they cannot be
/// compared entry by entry (list items without their keys), so that the
/// caller compares them whole.
fn compare_children(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    shape: Shape,
    out: &mut Level,
) -> bool {
    match shape {
        Shape::Struct(_) | Shape::Map => {
            let lm = lhs.and_then(Value::as_object);
            let rm = rhs.and_then(Value::as_object);
            let mut pairs = rm.map(Pairing::new);
            if let Some(lm) = lm {
                for (k, lv) in lm {
                    let rv = pairs.as_mut().and_then(|p| p.get(k));
                    // Scalars compare as leaves whatever the schema says.
                    let (cs, known) = if is_composite(lv) || rv.is_some_and(is_composite) {
                        child_info(shape, k)
                    } else {
                        (Shape::Leaf, None)
                    };
                    compare_entry(Step::Field(k, known), Some(lv), rv, cs, out);
                }
            }
            if let Some(rm) = rm
                && !pairs.is_some_and(|p| p.all_found())
            {
                for (k, rv) in rm {
                    if lm.is_some_and(|l| l.contains_key(k)) {
                        continue;
                    }
                    let (cs, known) = child_info(shape, k);
                    compare_entry(Step::Field(k, known), None, Some(rv), cs, out);
                }
            }
            true
        }
        Shape::List(kind, elem) if kind != ListKind::Atomic => {
            let empty = Vec::new();
            let ll = lhs.and_then(Value::as_array).unwrap_or(&empty);
            let rl = rhs.and_then(Value::as_array).unwrap_or(&empty);
            let (Ok(lk), Ok(rk)) = (ListKeys::new(kind, elem, ll), ListKeys::new(kind, elem, rl))
            else {
                return false;
            };
            let (li, ri) = (lk.index(), rk.index());
            let is = item_shape(elem);
            for &i in li.firsts() {
                let r = ri.get(lk.key(i)).map(|j| &rl[j]);
                compare_entry(Step::Item(&lk, i), Some(&ll[i]), r, is, out);
            }
            for &j in ri.firsts() {
                if !li.contains(rk.key(j)) {
                    compare_entry(Step::Item(&rk, j), None, Some(&rl[j]), is, out);
                }
            }
            true
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::typed::zero_value;
    use serde_json::json;

    const DEPLOY: &str = "io.k8s.api.apps.v1.Deployment";

    #[test]
    fn create_from_the_zero_value_marks_new_composites() {
        let new = json!({"metadata": {"labels": {"app": "n"}},
            "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%"}},
                "template": {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "i",
                    "resources": {}}]}}}, "status": {}});
        let c = compare(&zero_value(DEPLOY), &new, Shape::Struct(DEPLOY));
        assert!(c.modified.is_empty() && c.removed.is_empty());
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}},
                    "f:type": {}},
                "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
                    ".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}}}}}})
        );
    }

    #[test]
    fn modified_removed_and_lists() {
        let old = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}});
        let new = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "b", "image": "2"}]}}}});
        let c = compare(&old, &new, Shape::Struct(DEPLOY));
        assert_eq!(
            c.modified.to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"b\"}": {"f:image": {}}}}}}})
        );
        assert_eq!(
            c.removed.to_fields_v1(),
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert!(c.added.is_empty());
        assert!(compare(&old, &old, Shape::Struct(DEPLOY)).is_same());
    }
}
