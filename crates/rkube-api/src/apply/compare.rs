//! Which fields differ between two versions of an object, as upstream's
//! typed `Compare`: a leaf present only on the right is added, only on the
//! left removed, on both but different modified; a map, struct, list or
//! list item that appears or disappears is itself added or removed
//! (that is where FieldsV1's `"."` entries of Update managers come from).
//! Two empty or null composites compare as leaves.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::fieldpath::{FieldSet, PathElement};
use super::typed::{ListKind, Shape, child_shape, indexed_items, item_shape, resolve};

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

    fn put(&mut self, pe: &PathElement, sub: Comparison) {
        self.added.insert_child(pe.clone(), false, sub.added);
        self.modified.insert_child(pe.clone(), false, sub.modified);
        self.removed.insert_child(pe.clone(), false, sub.removed);
    }
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
    let mut out = Comparison::default();
    compare_children(Some(lhs), Some(rhs), resolve(shape, rhs), &mut out);
    out
}

/// Compares one entry `pe` of a parent, recording it in `out`.
fn compare_entry(
    pe: &PathElement,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    shape: Shape,
    out: &mut Comparison,
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
    let mut sub = Comparison::default();
    let composite = match resolved {
        Shape::Leaf | Shape::List(ListKind::Atomic, _) => false,
        _ if empty_composite(lhs) && empty_composite(rhs) => false,
        _ => compare_children(lhs, rhs, resolved, &mut sub),
    };
    if !composite {
        match (lhs, rhs) {
            (None, Some(_)) => out.added.insert_member(pe.clone()),
            (Some(_), None) => out.removed.insert_member(pe.clone()),
            (Some(l), Some(r)) if l != r => out.modified.insert_member(pe.clone()),
            _ => {}
        }
        return;
    }
    out.put(pe, sub);
    match (lhs, rhs) {
        (None, Some(_)) => out.added.insert_member(pe.clone()),
        (Some(_), None) => out.removed.insert_member(pe.clone()),
        _ => {}
    }
}

/// Compares the entries of two composites; false when they cannot be
/// compared entry by entry (list items without their keys), so that the
/// caller compares them whole.
fn compare_children(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    shape: Shape,
    out: &mut Comparison,
) -> bool {
    match shape {
        Shape::Struct(_) | Shape::Map => {
            let lm = lhs.and_then(Value::as_object);
            let rm = rhs.and_then(Value::as_object);
            if let Some(lm) = lm {
                for (k, lv) in lm {
                    let rv = rm.and_then(|r| r.get(k));
                    let pe = PathElement::Field(k.clone());
                    compare_entry(&pe, Some(lv), rv, child_shape(shape, k), out);
                }
            }
            if let Some(rm) = rm {
                for (k, rv) in rm {
                    if lm.is_some_and(|l| l.contains_key(k)) {
                        continue;
                    }
                    let pe = PathElement::Field(k.clone());
                    compare_entry(&pe, None, Some(rv), child_shape(shape, k), out);
                }
            }
            true
        }
        Shape::List(kind, elem) if kind != ListKind::Atomic => {
            let empty = Vec::new();
            let ll = lhs.and_then(Value::as_array).unwrap_or(&empty);
            let rl = rhs.and_then(Value::as_array).unwrap_or(&empty);
            let (Ok(li), Ok(ri)) = (indexed_items(kind, elem, ll), indexed_items(kind, elem, rl))
            else {
                return false;
            };
            let rmap: HashMap<&PathElement, usize> = ri.iter().map(|(pe, i)| (pe, *i)).collect();
            let is = item_shape(elem);
            let mut in_lhs = HashSet::with_capacity(li.len());
            for (pe, i) in &li {
                in_lhs.insert(pe);
                let r = rmap.get(pe).map(|j| &rl[*j]);
                compare_entry(pe, Some(&ll[*i]), r, is, out);
            }
            for (pe, j) in &ri {
                if !in_lhs.contains(pe) {
                    compare_entry(pe, None, Some(&rl[*j]), is, out);
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
