//! Field sets: which paths of an object a manager owns, and their FieldsV1
//! form (`{"f:spec":{"f:replicas":{}}}`) as `metadata.managedFields`
//! carries them.
//!
//! A set is a tree. Each node says whether the path ending there is itself
//! a member (a leaf, or a list item or map that is owned as a whole) and
//! which longer paths below it are. FieldsV1 writes a member that also has
//! children with a `"."` key.
//!
//! A level of the tree is a vector sorted by element rather than a map:
//! sets are mostly built whole and then walked side by side, which sorted
//! vectors do with one allocation per level and no rebalancing, and they
//! can be searched with a borrowed element ([`ElementRef`]) so that
//! walking an object against a set allocates nothing.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};

use super::keys::{KeyValue, utf8, write_key_object};
pub use super::text::Name;
use super::text::{short_cmp, short_eq};

/// One step of a path. The variant order is the order upstream sorts
/// them in: fields, then list keys, then set values, then indices.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A struct field or map key: `f:name`.
    Field(Name),
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

/// A [`PathElement`] borrowed from wherever its text lives (an object's
/// key, a FieldsV1 key), ordered the same way, for looking steps up in a
/// set without building them.
#[derive(Debug, Clone, Copy)]
pub enum ElementRef<'a> {
    Field(&'a str),
    Key(&'a str),
    Value(&'a str),
    Index(usize),
}

// Ordering and equality compare the text inline (see `short_cmp`): sets
// are searched and sorted by them all the time.

impl ElementRef<'_> {
    fn rank(&self) -> u8 {
        match self {
            ElementRef::Field(_) => 0,
            ElementRef::Key(_) => 1,
            ElementRef::Value(_) => 2,
            ElementRef::Index(_) => 3,
        }
    }
}

impl PartialEq for ElementRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ElementRef::Field(a), ElementRef::Field(b))
            | (ElementRef::Key(a), ElementRef::Key(b))
            | (ElementRef::Value(a), ElementRef::Value(b)) => short_eq(a, b),
            (ElementRef::Index(a), ElementRef::Index(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for ElementRef<'_> {}

impl PartialOrd for ElementRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ElementRef<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (ElementRef::Field(a), ElementRef::Field(b))
            | (ElementRef::Key(a), ElementRef::Key(b))
            | (ElementRef::Value(a), ElementRef::Value(b)) => short_cmp(a, b),
            (ElementRef::Index(a), ElementRef::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.borrowed() == other.borrowed()
    }
}

impl Eq for PathElement {}

impl Hash for PathElement {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let pe = self.borrowed();
        pe.rank().hash(state);
        match pe {
            ElementRef::Field(s) | ElementRef::Key(s) | ElementRef::Value(s) => s.hash(state),
            ElementRef::Index(i) => i.hash(state),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        self.borrowed().cmp(&other.borrowed())
    }
}

impl ElementRef<'_> {
    pub fn owned(self) -> PathElement {
        match self {
            ElementRef::Field(f) => PathElement::Field(f.into()),
            ElementRef::Key(k) => PathElement::Key(k.to_string()),
            ElementRef::Value(v) => PathElement::Value(v.to_string()),
            ElementRef::Index(i) => PathElement::Index(i),
        }
    }

    /// Reads a FieldsV1 key as it is written, without canonicalising
    /// list keys or values; indices only in their plain decimal spelling,
    /// so that two different keys are never the same element.
    fn from_canonical_key(key: &str) -> Option<ElementRef<'_>> {
        let (prefix, rest) = key.split_at_checked(2)?;
        match prefix {
            "f:" => Some(ElementRef::Field(rest)),
            "k:" => Some(ElementRef::Key(rest)),
            "v:" => Some(ElementRef::Value(rest)),
            "i:" => {
                let plain = rest.bytes().all(|b| b.is_ascii_digit())
                    && (rest.len() == 1 || !rest.starts_with('0'));
                if !plain {
                    return None;
                }
                rest.parse().ok().map(ElementRef::Index)
            }
            _ => None,
        }
    }
}

impl PathElement {
    pub fn borrowed(&self) -> ElementRef<'_> {
        match self {
            PathElement::Field(f) => ElementRef::Field(f.as_str()),
            PathElement::Key(k) => ElementRef::Key(k),
            PathElement::Value(v) => ElementRef::Value(v),
            PathElement::Index(i) => ElementRef::Index(*i),
        }
    }

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
            "f:" => Some(PathElement::Field(rest.into())),
            "k:" => {
                let v: Value = serde_json::from_str(rest).ok()?;
                let m = v.as_object()?;
                let mut fields: Vec<(&str, KeyValue<'_>)> = m
                    .iter()
                    .map(|(k, v)| (k.as_str(), KeyValue::Json(v)))
                    .collect();
                let mut buf = Vec::with_capacity(rest.len());
                write_key_object(&mut buf, &mut fields);
                Some(PathElement::Key(utf8(buf)))
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

impl fmt::Display for PathElement {
    /// As conflict messages print a step: `.name`, `[name="nginx"]`,
    /// `[="value"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{}", name.as_str()),
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
                .map(|n| PathElement::Field((*n).into()))
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

/// A set of paths. Invariant: `nodes` is sorted by element, without
/// duplicates, and holds no empty node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    nodes: Vec<(PathElement, Node)>,
}

/// A FieldsV1 document that is not a tree of objects with element keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsV1Error(pub String);

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// A set of these nodes in any order; nodes of one element are
    /// merged and empty ones dropped.
    pub fn from_nodes(mut nodes: Vec<(PathElement, Node)>) -> FieldSet {
        nodes.retain(|(_, n)| !n.is_empty());
        if nodes.is_sorted_by(|a, b| a.0 < b.0) {
            return FieldSet { nodes };
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(PathElement, Node)> = Vec::with_capacity(nodes.len());
        for (pe, node) in nodes {
            match out.last_mut() {
                Some((last, mine)) if *last == pe => {
                    mine.member |= node.member;
                    mine.children.union_with(node.children);
                }
                _ => out.push((pe, node)),
            }
        }
        FieldSet { nodes: out }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn find(&self, pe: ElementRef<'_>) -> Result<usize, usize> {
        self.nodes.binary_search_by(|(e, _)| e.borrowed().cmp(&pe))
    }

    /// The node of one element directly below the root, if any path
    /// goes through it.
    pub fn get(&self, pe: &PathElement) -> Option<&Node> {
        self.get_ref(pe.borrowed())
    }

    /// [`FieldSet::get`] by a borrowed element.
    pub fn get_ref(&self, pe: ElementRef<'_>) -> Option<&Node> {
        self.find(pe).ok().map(|i| &self.nodes[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PathElement, &Node)> {
        self.nodes.iter().map(|(pe, n)| (pe, n))
    }

    fn entry(&mut self, pe: PathElement) -> &mut Node {
        let i = match self.find(pe.borrowed()) {
            Ok(i) => i,
            Err(i) => {
                self.nodes.insert(i, (pe, Node::default()));
                i
            }
        };
        &mut self.nodes[i].1
    }

    /// Adds `pe` as a member directly below the root.
    pub fn insert_member(&mut self, pe: PathElement) {
        self.entry(pe).member = true;
    }

    /// Puts `child` below `pe` (merging with what is there), `member`
    /// saying whether `pe` itself is in the set. Empty nodes are not kept.
    pub fn insert_child(&mut self, pe: PathElement, member: bool, child: FieldSet) {
        if !member && child.is_empty() {
            return;
        }
        let node = self.entry(pe);
        node.member |= member;
        node.children.union_with(child);
    }

    /// Adds a whole path.
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let node = self.entry(first.clone());
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
        match self.get(first) {
            Some(n) if rest.is_empty() => n.member,
            Some(n) => n.children.has(rest),
            None => false,
        }
    }

    /// Adds every path of `other`.
    pub fn union_with(&mut self, other: FieldSet) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other;
            return;
        }
        let mine = std::mem::take(&mut self.nodes);
        let mut out = Vec::with_capacity(mine.len() + other.nodes.len());
        let mut a = mine.into_iter().peekable();
        let mut b = other.nodes.into_iter().peekable();
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.0.cmp(&y.0) {
                Ordering::Less => out.extend(a.next()),
                Ordering::Greater => out.extend(b.next()),
                Ordering::Equal => {
                    if let (Some((pe, mut node)), Some((_, o))) = (a.next(), b.next()) {
                        node.member |= o.member;
                        node.children.union_with(o.children);
                        out.push((pe, node));
                    }
                }
            }
        }
        out.extend(a);
        out.extend(b);
        self.nodes = out;
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
        if other.is_empty() {
            return self.clone();
        }
        let mut out = Vec::new();
        for (pe, node) in &self.nodes {
            match other.get(pe) {
                None => out.push((pe.clone(), node.clone())),
                Some(o) => {
                    let n = Node {
                        member: node.member && !o.member,
                        children: node.children.difference(&o.children),
                    };
                    if !n.is_empty() {
                        out.push((pe.clone(), n));
                    }
                }
            }
        }
        FieldSet { nodes: out }
    }

    /// Takes the members of `other` out of `self` in place; true when
    /// anything was removed.
    pub fn subtract(&mut self, other: &FieldSet) -> bool {
        let mut changed = false;
        let mut emptied = false;
        for (pe, o) in &other.nodes {
            let Ok(i) = self.find(pe.borrowed()) else {
                continue;
            };
            let node = &mut self.nodes[i].1;
            if o.member && node.member {
                node.member = false;
                changed = true;
            }
            if !o.children.is_empty() {
                changed |= node.children.subtract(&o.children);
            }
            emptied |= node.is_empty();
        }
        if emptied {
            self.nodes.retain(|(_, n)| !n.is_empty());
        }
        changed
    }

    /// The paths that are members of both.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        // Walk the smaller side, look up in the larger: the result is the
        // same either way.
        let (small, large) = if self.nodes.len() <= other.nodes.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::new();
        for (pe, node) in &small.nodes {
            if let Some(o) = large.get(pe) {
                let n = Node {
                    member: node.member && o.member,
                    children: node.children.intersection(&o.children),
                };
                if !n.is_empty() {
                    out.push((pe.clone(), n));
                }
            }
        }
        FieldSet { nodes: out }
    }

    /// Drops `path` and everything below it.
    pub fn remove_prefix(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            self.nodes.clear();
            return;
        };
        let Ok(i) = self.find(first.borrowed()) else {
            return;
        };
        if !rest.is_empty() {
            let node = &mut self.nodes[i].1;
            node.children.remove_prefix(rest);
            if !node.is_empty() {
                return;
            }
        }
        self.nodes.remove(i);
    }

    /// Keeps only `path` and what is below it.
    pub fn retain_prefix(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let kept = match self.find(first.borrowed()) {
            Ok(i) => Some(self.nodes.swap_remove(i)),
            Err(_) => None,
        };
        self.nodes.clear();
        if let Some((pe, mut node)) = kept {
            if !rest.is_empty() {
                node.member = false;
                node.children.retain_prefix(rest);
            }
            if !node.is_empty() {
                self.nodes.push((pe, node));
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
        let mut m = Map::with_capacity(self.nodes.len());
        for (pe, node) in &self.nodes {
            m.insert(pe.to_fields_v1_key(), node_to_json(node));
        }
        Value::Object(m)
    }

    /// Whether FieldsV1 JSON reads as exactly this set, without reading
    /// it: true only when every key is spelled as [`FieldSet::to_fields_v1`]
    /// would spell it (so it cannot be a bad key either).
    pub fn spelled_by(&self, v: &Value) -> bool {
        let Some(m) = v.as_object() else {
            return false;
        };
        let mut count = 0;
        for (k, child) in m {
            if k == "." {
                continue;
            }
            count += 1;
            let Some(pe) = ElementRef::from_canonical_key(k) else {
                return false;
            };
            let (Some(node), Some(cm)) = (self.get_ref(pe), child.as_object()) else {
                return false;
            };
            let member = cm.is_empty() || cm.contains_key(".");
            if member != node.member || !node.children.spelled_by(child) {
                return false;
            }
        }
        // Distinct keys are distinct elements, so equal counts mean every
        // node was matched.
        count == self.nodes.len()
    }

    /// Whether FieldsV1 JSON can be read, with the error reading it would
    /// give, without building the set.
    pub fn check_fields_v1(v: &Value) -> Result<(), FieldsV1Error> {
        let m = v
            .as_object()
            .ok_or_else(|| FieldsV1Error("FieldsV1 must be an object".into()))?;
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let valid = match k.split_at_checked(2) {
                Some(("f:", _)) => true,
                Some(("k:", rest)) => serde_json::from_str::<Value>(rest)
                    .ok()
                    .is_some_and(|v| v.is_object()),
                Some(("v:", rest)) => serde_json::from_str::<Value>(rest).is_ok(),
                Some(("i:", rest)) => rest.parse::<usize>().is_ok(),
                _ => false,
            };
            if !valid {
                return Err(FieldsV1Error(format!("invalid path element {k:?}")));
            }
            if !child.is_object() {
                return Err(FieldsV1Error(format!("{k}: expected an object")));
            }
            FieldSet::check_fields_v1(child)?;
        }
        Ok(())
    }

    /// Reads FieldsV1 JSON.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, FieldsV1Error> {
        let m = v
            .as_object()
            .ok_or_else(|| FieldsV1Error("FieldsV1 must be an object".into()))?;
        let mut nodes = Vec::with_capacity(m.len());
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
            nodes.push((pe, Node { member, children }));
        }
        if !nodes.is_sorted_by(|a, b| a.0 < b.0) {
            // Two keys may name one element (`i:1`, `i:01`): the later
            // one wins, as it would inserting into a map.
            nodes.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(PathElement, Node)> = Vec::with_capacity(nodes.len());
            for (pe, node) in nodes {
                match out.last_mut() {
                    Some(last) if last.0 == pe => *last = (pe, node),
                    _ => out.push((pe, node)),
                }
            }
            nodes = out;
        }
        Ok(FieldSet { nodes })
    }
}

fn node_to_json(node: &Node) -> Value {
    let dot = node.member && !node.children.is_empty();
    let mut m = Map::with_capacity(node.children.nodes.len() + usize::from(dot));
    if dot {
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
