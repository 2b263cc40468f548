//! Walking an object with its schema: what each field is to server-side
//! apply (a struct, a granular map, a leaf, or a list that is atomic, a
//! set, or a map keyed by some of its items' fields), and the field set
//! an object spells.
//!
//! The facts come from [`crate::patch_strategy`] and the generated type
//! graph behind [`crate::patch::BUILTIN`], by upstream's rule for built-in
//! types: an explicit `x-kubernetes-list-type` wins; otherwise a list with
//! patch strategy `merge` and a merge key is keyed by it, `merge` without
//! a key makes a set, and anything else is atomic.

use std::cell::RefCell;

use serde_json::Value;

use super::fieldpath::{FieldSet, Name, Node, PathElement};
use super::keys::ListKeys;
use super::text::short_eq;
use crate::patch::{BUILTIN, Child, SchemaLookup};
use crate::patch_strategy::{self, ListType, MapType};

/// How server-side apply treats a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Atomic,
    Set,
    Map(&'static [&'static str]),
}

/// What a value is to server-side apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An object of this definition, merged field by field.
    Struct(&'static str),
    /// A map with free keys, merged key by key; values of unknown type.
    Map,
    /// Replaced whole: a scalar, an atomic struct, map or list.
    Leaf,
    /// A list; items of this definition when known.
    List(ListKind, Option<&'static str>),
    /// Nothing known: decided by the value (objects merge as maps, lists
    /// are atomic).
    Untyped,
}

/// A configuration the schema cannot place (an associative list item
/// without its key, duplicate keys), worded as upstream reports it:
/// `.spec.containers: duplicate entries for key [name="a"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    /// Where, built up as the error travels to the root.
    pub path: String,
    pub message: String,
}

impl TypeError {
    pub(super) fn new(message: String) -> TypeError {
        TypeError {
            path: String::new(),
            message,
        }
    }

    fn under(mut self, step: &str) -> TypeError {
        self.path.insert_str(0, step);
        self
    }
}

impl std::fmt::Display for TypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Defaults of list-map key fields: an item may omit such a key and is
/// then keyed by the default (`+default` markers of the upstream types).
const KEY_DEFAULTS: &[(&str, &str, &str)] = &[
    ("io.k8s.api.core.v1.ContainerPort", "protocol", "TCP"),
    ("io.k8s.api.core.v1.EndpointPort", "protocol", "TCP"),
    ("io.k8s.api.core.v1.ServicePort", "protocol", "TCP"),
    ("io.k8s.api.discovery.v1.EndpointPort", "protocol", "TCP"),
];

/// The default of key field `field` of items of definition `def`.
pub(super) fn key_default(def: Option<&str>, field: &str) -> Option<&'static str> {
    let def = def?;
    KEY_DEFAULTS
        .iter()
        .find(|(d, f, _)| *d == def && *f == field)
        .map(|(_, _, v)| *v)
}

/// The shape of a definition's value (a list item, a root object).
pub fn def_shape(def: &'static str) -> Shape {
    cached(def, None, || {
        let shape = if patch_strategy::struct_map_type(def) == Some(MapType::Atomic) {
            Shape::Leaf
        } else {
            Shape::Struct(def)
        };
        (shape, None)
    })
    .0
}

/// The shape of `field` of an object of definition `def`.
pub fn field_shape(def: &'static str, field: &str) -> Shape {
    field_info(def, field).0
}

/// The shape of `field` of definition `def`, and the schema's own copy of
/// the name when it has one.
pub fn field_info(def: &'static str, field: &str) -> (Shape, Option<&'static str>) {
    cached(def, Some(field), || {
        let known = BUILTIN
            .field_names(def)
            .and_then(|names| names.binary_search(&field).ok().map(|i| names[i]));
        (lookup_field_shape(def, field), known)
    })
}

/// One remembered answer: the shape of a definition (`field` `None`) or
/// of one of its fields.
struct Slot {
    def: (usize, usize),
    field: Option<Name>,
    shape: Shape,
    known: Option<&'static str>,
}

/// Slots of the cache, a power of two (about 100 KB a thread; the
/// built-in kinds' hot fields rarely share a slot).
const SHAPE_SLOTS: usize = 1 << 10;

thread_local! {
    /// Shapes already worked out. Working one out costs binary searches
    /// over long definition names, and an apply asks thousands of times;
    /// a fixed table where each question has one slot (a new answer
    /// evicts the old) stays small whatever objects come in.
    static SHAPES: RefCell<Vec<Option<Slot>>> = const { RefCell::new(Vec::new()) };
}

fn cached(
    def: &'static str,
    field: Option<&str>,
    work_out: impl FnOnce() -> (Shape, Option<&'static str>),
) -> (Shape, Option<&'static str>) {
    let id = (def.as_ptr() as usize, def.len());
    let slot = slot_of(id, field);
    let hit = SHAPES.with(|c| {
        let c = c.borrow();
        match c.get(slot) {
            Some(Some(s)) if s.def == id && same_field(s.field.as_deref(), field) => {
                Some((s.shape, s.known))
            }
            _ => None,
        }
    });
    if let Some(hit) = hit {
        return hit;
    }
    let (shape, known) = work_out();
    SHAPES.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_empty() {
            c.resize_with(SHAPE_SLOTS, || None);
        }
        c[slot] = Some(Slot {
            def: id,
            field: field.map(|f| match known {
                Some(k) => Name::from_static(k),
                None => Name::from(f),
            }),
            shape,
            known,
        });
    });
    (shape, known)
}

fn same_field(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => short_eq(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// The slot of a question: a multiplicative hash of the definition's
/// address and the field's bytes.
fn slot_of(def: (usize, usize), field: Option<&str>) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut h = mix(mix(0, def.0 as u64), def.1 as u64);
    if let Some(f) = field {
        for chunk in f.as_bytes().chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            h = mix(h, u64::from_le_bytes(b));
        }
        h = mix(h, f.len() as u64 + 1);
    }
    (h >> (64 - SHAPE_SLOTS.trailing_zeros())) as usize
}

fn lookup_field_shape(def: &'static str, field: &str) -> Shape {
    let child = BUILTIN.field(def, field).map(|f| f.child);
    let facts = patch_strategy::lookup(def, field);
    if let Some(facts) = facts {
        if facts.map_type == Some(MapType::Atomic) {
            return Shape::Leaf;
        }
        let elem = match child {
            Some(Child::Def(d)) => Some(d),
            _ => None,
        };
        let kind = match facts.list_type {
            Some(ListType::Map(keys)) => Some(ListKind::Map(keys)),
            Some(ListType::Set) => Some(ListKind::Set),
            Some(ListType::Atomic) => Some(ListKind::Atomic),
            None if facts.merges() && !facts.merge_key.is_empty() => {
                Some(ListKind::Map(std::slice::from_ref(&facts.merge_key)))
            }
            None if facts.merges() => Some(ListKind::Set),
            None => None,
        };
        if let Some(kind) = kind {
            return Shape::List(kind, elem);
        }
    }
    match child {
        Some(Child::Def(d)) => def_shape_or_list(d),
        Some(Child::Map) => Shape::Map,
        _ => Shape::Untyped,
    }
}

/// A field typed by a definition holds either one object of it or a list
/// of them (lists without facts being atomic); [`resolve`] tells which.
fn def_shape_or_list(def: &'static str) -> Shape {
    def_shape(def)
}

/// The shape as it applies to this value: a struct that is not an object,
/// or a list that is not an array, is a leaf; an untyped value is a map
/// or a leaf by what it is.
pub fn resolve(shape: Shape, v: &Value) -> Shape {
    match (shape, v) {
        (Shape::Struct(_) | Shape::Map, Value::Object(_)) => shape,
        (Shape::Struct(_), Value::Array(_)) => Shape::List(ListKind::Atomic, None),
        (Shape::List(..), Value::Array(_)) => shape,
        (Shape::Untyped, Value::Object(_)) => Shape::Map,
        _ => Shape::Leaf,
    }
}

/// The shape of one entry of an object of shape `parent`.
pub fn child_shape(parent: Shape, key: &str) -> Shape {
    child_info(parent, key).0
}

/// [`child_shape`], and the schema's copy of the key when it has one.
pub fn child_info(parent: Shape, key: &str) -> (Shape, Option<&'static str>) {
    match parent {
        Shape::Struct(def) => field_info(def, key),
        _ => (Shape::Untyped, None),
    }
}

/// The path element of an object's entry `key`, its name borrowed from
/// the schema when `known` (from [`child_info`]).
pub fn field_element(key: &str, known: Option<&'static str>) -> PathElement {
    PathElement::Field(match known {
        Some(name) => Name::from_static(name),
        None => Name::from(key),
    })
}

/// The shape of a list's items.
pub fn item_shape(elem: Option<&'static str>) -> Shape {
    match elem {
        Some(d) => def_shape(d),
        None => Shape::Untyped,
    }
}

/// Whether entries of this shape are struct fields (members only as
/// leaves) rather than map keys (always members).
pub fn is_struct(shape: Shape) -> bool {
    matches!(shape, Shape::Struct(_))
}

/// The field set a value spells, as upstream's `ToFieldSet`: leaves,
/// list items and map entries are members; a struct field is a member
/// when it is a leaf, null, an empty object or an empty list (so that an
/// applier asking for an empty list keeps it empty).
pub fn to_field_set(v: &Value, shape: Shape) -> Result<FieldSet, TypeError> {
    match (resolve(shape, v), v) {
        (s @ (Shape::Struct(_) | Shape::Map), Value::Object(m)) => {
            let mut nodes = Vec::with_capacity(m.len());
            for (k, child) in m {
                let (cs, known) = child_info(s, k);
                let sub = to_field_set(child, cs).map_err(|e| e.under(&format!(".{k}")))?;
                let leaf = matches!(resolve(cs, child), Shape::Leaf)
                    || child.is_null()
                    || child.as_object().is_some_and(|o| o.is_empty())
                    || child.as_array().is_some_and(|a| a.is_empty());
                let member = !is_struct(s) || leaf;
                nodes.push((
                    field_element(k, known),
                    Node {
                        member,
                        children: sub,
                    },
                ));
            }
            Ok(FieldSet::from_nodes(nodes))
        }
        (Shape::List(kind, elem), Value::Array(items)) if kind != ListKind::Atomic => {
            // Problems are reported in list order: an item without a key,
            // a duplicate, or something wrong inside an item, whichever
            // comes first.
            let (keys, missing) = ListKeys::read(kind, elem, items);
            let index = keys.index();
            let firsts = index.firsts();
            let item_shape = item_shape(elem);
            let mut nodes = Vec::with_capacity(keys.len());
            for (i, item) in items.iter().enumerate().take(keys.len()) {
                // The first items are each the first of their key until a
                // duplicate comes.
                if firsts.get(i) != Some(&i) {
                    let pe = keys.element(i);
                    return Err(TypeError::new(format!("duplicate entries for key {pe}")));
                }
                let pe = keys.element(i);
                let sub = to_field_set(item, item_shape).map_err(|e| e.under(&pe.to_string()))?;
                nodes.push((
                    pe,
                    Node {
                        member: true,
                        children: sub,
                    },
                ));
            }
            if let Some(e) = missing {
                return Err(e);
            }
            Ok(FieldSet::from_nodes(nodes))
        }
        _ => Ok(FieldSet::new()),
    }
}

/// Composite fields present in a Go zero value of their parent beyond
/// `metadata`, `spec`, `status` and `template`: struct values (not
/// pointers) and lists serialized without `omitempty`. Updates compare
/// against the zero value of the kind when an object is created, so
/// these never gain a `"."` entry of their own, as upstream.
const ZERO_PRESENT: &[(&str, &str)] = &[
    ("io.k8s.api.apps.v1.DaemonSetSpec", "updateStrategy"),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "updateStrategy"),
    (
        "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec",
        "scaleTargetRef",
    ),
    (
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
        "scaleTargetRef",
    ),
    ("io.k8s.api.batch.v1.CronJobSpec", "jobTemplate"),
    ("io.k8s.api.core.v1.NodeStatus", "daemonEndpoints"),
    ("io.k8s.api.core.v1.NodeStatus", "nodeInfo"),
    ("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "resources"),
    ("io.k8s.api.core.v1.PodSpec", "containers"),
    ("io.k8s.api.core.v1.ServiceStatus", "loadBalancer"),
    ("io.k8s.api.networking.v1.IngressStatus", "loadBalancer"),
];

/// Fields named like value structs that are pointers upstream.
const ZERO_ABSENT: &[(&str, &str)] =
    &[("io.k8s.api.core.v1.ReplicationControllerSpec", "template")];

/// The Go zero value of a definition as upstream's converter writes it,
/// reduced to the composite fields that matter for comparisons.
pub fn zero_value(def: &'static str) -> Value {
    let mut m = serde_json::Map::new();
    for field in ["metadata", "spec", "status", "template"]
        .into_iter()
        .chain(
            ZERO_PRESENT
                .iter()
                .filter(|(d, _)| *d == def)
                .map(|(_, f)| *f),
        )
    {
        if ZERO_ABSENT.contains(&(def, field)) {
            continue;
        }
        match BUILTIN.field(def, field).map(|f| f.child) {
            Some(Child::Def(d)) => {
                let v = match field_shape(def, field) {
                    Shape::List(..) => Value::Null,
                    Shape::Struct(_) => zero_value(d),
                    _ => continue,
                };
                m.insert(field.to_string(), v);
            }
            _ => continue,
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEPLOY: &str = "io.k8s.api.apps.v1.Deployment";

    #[test]
    fn shapes_follow_upstream_rules() {
        let spec = "io.k8s.api.core.v1.PodSpec";
        assert_eq!(
            field_shape(spec, "containers"),
            Shape::List(
                ListKind::Map(&["name"]),
                Some("io.k8s.api.core.v1.Container")
            )
        );
        assert!(matches!(
            field_shape("io.k8s.api.core.v1.Container", "ports"),
            Shape::List(ListKind::Map(&["containerPort", "protocol"]), _)
        ));
        assert!(matches!(
            field_shape(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "finalizers"
            ),
            Shape::List(ListKind::Set, None)
        ));
        assert!(matches!(
            field_shape(spec, "tolerations"),
            Shape::List(ListKind::Atomic, _)
        ));
        assert_eq!(field_shape(spec, "nodeSelector"), Shape::Leaf);
        assert_eq!(
            field_shape("io.k8s.api.apps.v1.DeploymentSpec", "selector"),
            Shape::Leaf
        );
        assert_eq!(
            field_shape("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels"),
            Shape::Untyped
        );
        assert!(matches!(
            field_shape(DEPLOY, "spec"),
            Shape::Struct("io.k8s.api.apps.v1.DeploymentSpec")
        ));
    }

    #[test]
    fn field_sets_as_upstream_spells_them() {
        let cfg = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "n", "labels": {"app": "n"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "n"}},
                "template": {"metadata": {"labels": {"app": "n"}}, "spec": {
                    "securityContext": {},
                    "containers": [{"name": "c", "image": "i",
                        "ports": [{"containerPort": 80}]}]}}}});
        let set = to_field_set(&cfg, Shape::Struct(DEPLOY)).unwrap();
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:apiVersion": {}, "f:kind": {},
                "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}},
                "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}}}}},
                    "f:securityContext": {}}}}})
        );
    }

    #[test]
    fn missing_keys_and_duplicates_are_errors() {
        let pod = json!({"spec": {"containers": [{"image": "x"}]}});
        let e = to_field_set(&pod, Shape::Struct("io.k8s.api.core.v1.Pod")).unwrap_err();
        assert_eq!(
            e.to_string(),
            ".spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
        );
        let pod = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 1}, {"containerPort": 1}]}]}});
        let e = to_field_set(&pod, Shape::Struct("io.k8s.api.core.v1.Pod")).unwrap_err();
        assert_eq!(
            e.to_string(),
            ".spec.containers[name=\"a\"].ports: duplicate entries for key [containerPort=1,protocol=\"TCP\"]"
        );
    }

    #[test]
    fn zero_values() {
        assert_eq!(
            zero_value(DEPLOY),
            json!({"metadata": {}, "spec": {"template": {"metadata": {}, "spec": {"containers": null}},
                "strategy": {}}, "status": {}})
        );
    }
}
