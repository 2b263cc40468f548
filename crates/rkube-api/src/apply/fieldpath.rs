//! Field sets: which paths of an object a manager owns, and their FieldsV1
//! form (`{"f:spec":{"f:replicas":{}}}`) as `metadata.managedFields`
//! carries them.
//!
//! A set is a tree. Each node says whether the path ending there is itself
//! a member (a leaf, or a list item or map that is owned as a whole) and
//! which longer paths below it are. FieldsV1 writes a member that also has
//! children with a `"."` key.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path. The variant order is the order upstream sorts
/// them in: fields, then list keys, then set values, then indices.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or map key: `f:name`.
    Field(String),
    /// An item of an associative list, by its keys: `k:{"name":"nginx"}`.
    /// Held as the compact JSON of the key object, fields sorted by name,
    /// which is also how FieldsV1 spells it.
    Key(String),
    /// An item of a set-typed list, by value: `v:"example.com/x"`, held as
    /// compact JSON.
    Value(String),
    /// An item of a list without keys: `i:0`.
    Index(usize),
}

impl PathElement {
    /// The FieldsV1 key of this element.
    pub fn to_fields_v1_key(&self) -> String {
        let with = |prefix: &str, s: &str| {
            let mut out = String::with_capacity(prefix.len() + s.len());
            out.push_str(prefix);
            out.push_str(s);
            out
        };
        match self {
            PathElement::Field(f) => with("f:", f),
            PathElement::Key(k) => with("k:", k),
            PathElement::Value(v) => with("v:", v),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Reads a FieldsV1 key; `None` for one that names no element.
    pub fn from_fields_v1_key(key: &str) -> Option<PathElement> {
        let (prefix, rest) = key.split_at_checked(2)?;
        match prefix {
            "f:" => Some(PathElement::Field(rest.to_string())),
            "k:" => {
                let v: Value = serde_json::from_str(rest).ok()?;
                let m = v.as_object()?;
                Some(PathElement::Key(canonical_key(
                    m.iter().map(|(k, v)| (k.as_str(), v)),
                )))
            }
            "v:" => {
                let v: Value = serde_json::from_str(rest).ok()?;
                Some(PathElement::Value(v.to_string()))
            }
            "i:" => rest.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }
}

/// The compact JSON of a key object, fields sorted by name.
pub fn canonical_key<'a>(fields: impl Iterator<Item = (&'a str, &'a Value)>) -> String {
    let mut fields: Vec<(&str, &Value)> = fields.collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String((*k).to_string()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

impl fmt::Display for PathElement {
    /// As conflict messages print a step: `.name`, `[name="nginx"]`,
    /// `[="value"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(k) => {
                let parsed: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={v}]"),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path from the object's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Path(pub Vec<PathElement>);

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

impl Path {
    /// Builds a path of field names (`Path::fields(&["spec", "replicas"])`).
    pub fn fields(names: &[&str]) -> Path {
        Path(
            names
                .iter()
                .map(|n| PathElement::Field((*n).to_string()))
                .collect(),
        )
    }
}

/// One node of a [`FieldSet`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// The path ending here is in the set.
    pub member: bool,
    /// Paths below this one that are in the set.
    pub children: FieldSet,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }
}

/// A set of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    nodes: BTreeMap<PathElement, Node>,
}

/// A FieldsV1 document that is not a tree of objects with element keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsV1Error(pub String);

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node of one element directly below the root, if any path
    /// goes through it.
    pub fn get(&self, pe: &PathElement) -> Option<&Node> {
        self.nodes.get(pe)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PathElement, &Node)> {
        self.nodes.iter()
    }

    /// Adds `pe` as a member directly below the root.
    pub fn insert_member(&mut self, pe: PathElement) {
        self.nodes.entry(pe).or_default().member = true;
    }

    /// Puts `child` below `pe` (merging with what is there), `member`
    /// saying whether `pe` itself is in the set. Empty nodes are not kept.
    pub fn insert_child(&mut self, pe: PathElement, member: bool, child: FieldSet) {
        if !member && child.is_empty() {
            return;
        }
        let node = self.nodes.entry(pe).or_default();
        node.member |= member;
        node.children.union_with(child);
    }

    /// Adds a whole path.
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let node = self.nodes.entry(first.clone()).or_default();
        if rest.is_empty() {
            node.member = true;
        } else {
            node.children.insert(rest);
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return false;
        };
        match self.nodes.get(first) {
            Some(n) if rest.is_empty() => n.member,
            Some(n) => n.children.has(rest),
            None => false,
        }
    }

    /// Adds every path of `other`.
    pub fn union_with(&mut self, other: FieldSet) {
        for (pe, node) in other.nodes {
            match self.nodes.get_mut(&pe) {
                Some(mine) => {
                    mine.member |= node.member;
                    mine.children.union_with(node.children);
                }
                None => {
                    self.nodes.insert(pe, node);
                }
            }
        }
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_with(other.clone());
        out
    }

    /// The paths of `self` that are not members of `other` (paths below a
    /// member of `other` stay unless listed too, as upstream's
    /// `Difference`).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        for (pe, node) in &self.nodes {
            match other.nodes.get(pe) {
                None => {
                    out.nodes.insert(pe.clone(), node.clone());
                }
                Some(o) => {
                    let n = Node {
                        member: node.member && !o.member,
                        children: node.children.difference(&o.children),
                    };
                    if !n.is_empty() {
                        out.nodes.insert(pe.clone(), n);
                    }
                }
            }
        }
        out
    }

    /// Takes the members of `other` out of `self` in place; true when
    /// anything was removed.
    pub fn subtract(&mut self, other: &FieldSet) -> bool {
        let mut changed = false;
        for (pe, o) in &other.nodes {
            let Some(node) = self.nodes.get_mut(pe) else {
                continue;
            };
            if o.member && node.member {
                node.member = false;
                changed = true;
            }
            if !o.children.is_empty() {
                changed |= node.children.subtract(&o.children);
            }
            if node.is_empty() {
                self.nodes.remove(pe);
            }
        }
        changed
    }

    /// The paths that are members of both.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        for (pe, node) in &self.nodes {
            if let Some(o) = other.nodes.get(pe) {
                let n = Node {
                    member: node.member && o.member,
                    children: node.children.intersection(&o.children),
                };
                if !n.is_empty() {
                    out.nodes.insert(pe.clone(), n);
                }
            }
        }
        out
    }

    /// Drops `path` and everything below it.
    pub fn remove_prefix(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            self.nodes.clear();
            return;
        };
        if rest.is_empty() {
            self.nodes.remove(first);
            return;
        }
        if let Some(node) = self.nodes.get_mut(first) {
            node.children.remove_prefix(rest);
            if node.is_empty() {
                self.nodes.remove(first);
            }
        }
    }

    /// Keeps only `path` and what is below it.
    pub fn retain_prefix(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let node = self.nodes.remove(first);
        self.nodes.clear();
        if let Some(mut node) = node {
            if !rest.is_empty() {
                node.member = false;
                node.children.retain_prefix(rest);
            }
            if !node.is_empty() {
                self.nodes.insert(first.clone(), node);
            }
        }
    }

    /// Every member, in set order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect(&mut prefix, &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for (pe, node) in &self.nodes {
            prefix.push(pe.clone());
            if node.member {
                out.push(Path(prefix.clone()));
            }
            node.children.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        for (pe, node) in &self.nodes {
            m.insert(pe.to_fields_v1_key(), node_to_json(node));
        }
        Value::Object(m)
    }

    /// Reads FieldsV1 JSON.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, FieldsV1Error> {
        let m = v
            .as_object()
            .ok_or_else(|| FieldsV1Error("FieldsV1 must be an object".into()))?;
        let mut out = FieldSet::new();
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let pe = PathElement::from_fields_v1_key(k)
                .ok_or_else(|| FieldsV1Error(format!("invalid path element {k:?}")))?;
            let cm = child
                .as_object()
                .ok_or_else(|| FieldsV1Error(format!("{k}: expected an object")))?;
            let member = cm.is_empty() || cm.contains_key(".");
            let children = FieldSet::from_fields_v1(child)?;
            out.nodes.insert(pe, Node { member, children });
        }
        Ok(out)
    }
}

fn node_to_json(node: &Node) -> Value {
    let mut m = Map::new();
    if node.member && !node.children.is_empty() {
        m.insert(".".into(), Value::Object(Map::new()));
    }
    for (pe, child) in &node.children.nodes {
        m.insert(pe.to_fields_v1_key(), node_to_json(child));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    #[test]
    fn fields_v1_round_trip() {
        let cases = [
            json!({"f:spec": {"f:replicas": {}}}),
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}),
            json!({"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}}),
            json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"example.com/x\"": {}}}}),
            json!({"f:list": {"i:0": {}}}),
        ];
        for c in cases {
            let set = FieldSet::from_fields_v1(&c).unwrap();
            assert_eq!(set.to_fields_v1(), c);
        }
    }

    #[test]
    fn key_fields_are_sorted_whatever_the_input_order() {
        let set =
            FieldSet::from_fields_v1(&json!({"k:{\"protocol\":\"TCP\",\"port\":80}": {}})).unwrap();
        assert_eq!(
            set.to_fields_v1(),
            json!({"k:{\"port\":80,\"protocol\":\"TCP\"}": {}})
        );
    }

    #[test]
    fn bad_fields_v1() {
        for bad in [
            json!([]),
            json!({"x:a": {}}),
            json!({"f:a": 1}),
            json!({"k:notjson": {}}),
            json!({"i:x": {}}),
        ] {
            assert!(FieldSet::from_fields_v1(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_algebra() {
        let mut a = FieldSet::new();
        a.insert(&[f("spec"), f("replicas")]);
        a.insert(&[f("spec"), f("paused")]);
        let mut b = FieldSet::new();
        b.insert(&[f("spec"), f("replicas")]);
        b.insert(&[f("metadata"), f("labels"), f("x")]);
        assert_eq!(
            a.difference(&b).to_fields_v1(),
            json!({"f:spec": {"f:paused": {}}})
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1(),
            json!({"f:spec": {"f:replicas": {}}})
        );
        let u = a.union(&b);
        assert_eq!(u.paths().len(), 3);
        assert!(u.has(&[f("metadata"), f("labels"), f("x")]));
        assert!(!u.has(&[f("metadata"), f("labels")]));
        let mut sub = u.clone();
        assert!(sub.subtract(&b));
        assert_eq!(sub, a.difference(&b));
        assert!(!sub.subtract(&b));
        let mut r = u.clone();
        r.remove_prefix(&[f("spec")]);
        assert_eq!(r.paths().len(), 1);
        let mut k = u;
        k.retain_prefix(&[f("spec")]);
        assert_eq!(k.paths().len(), 2);
    }

    #[test]
    fn path_display() {
        let p = Path(vec![
            f("spec"),
            f("containers"),
            PathElement::Key(r#"{"name":"nginx"}"#.into()),
            f("image"),
        ]);
        assert_eq!(p.to_string(), r#".spec.containers[name="nginx"].image"#);
        let p = Path(vec![
            f("ports"),
            PathElement::Key(r#"{"containerPort":80,"protocol":"TCP"}"#.into()),
        ]);
        assert_eq!(p.to_string(), r#".ports[containerPort=80,protocol="TCP"]"#);
        assert_eq!(
            Path(vec![f("finalizers"), PathElement::Value("\"a\"".into())]).to_string(),
            r#".finalizers[="a"]"#
        );
    }
}
