//! The keys of list items: what tells the items of a keyed or set-typed
//! list apart, as the compact JSON FieldsV1 spells them in `k:` and `v:`.
//!
//! Merging, comparing and pruning match the items of two lists by key for
//! every list of an object. [`ListKeys`] holds each item's key as
//! references into the item and [`KeyIndex`] finds items by them, so
//! matching writes no JSON and costs a few allocations per list rather
//! than several per item; the text, a [`PathElement`], is only written
//! for an item that ends up in a set.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use super::fieldpath::PathElement;
use super::text::short_eq;
use super::typed::{ListKind, TypeError, key_default};

/// One field's value in a list item's key: from the item, or a default
/// of the schema for a key field the item leaves out.
#[derive(Debug, Clone, Copy)]
pub enum KeyValue<'a> {
    Json(&'a Value),
    Str(&'static str),
}

/// Writes the compact JSON of a key object, fields sorted by name (the
/// order they come in is lost): the text of [`PathElement::Key`].
pub fn write_key_object(buf: &mut Vec<u8>, fields: &mut [(&str, KeyValue<'_>)]) {
    fields.sort_by(|a, b| a.0.cmp(b.0));
    buf.push(b'{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_json(buf, k);
        buf.push(b':');
        match v {
            KeyValue::Json(v) => write_json(buf, v),
            KeyValue::Str(s) => write_json(buf, s),
        }
    }
    buf.push(b'}');
}

/// Compact JSON, as `Value::to_string` writes it.
pub fn write_json<T: serde::Serialize + ?Sized>(buf: &mut Vec<u8>, v: &T) {
    // Writing to a vector cannot fail, nor can serializing a JSON value
    // or a string.
    let _ = serde_json::to_writer(buf, v);
}

/// Text known to be UTF-8 (JSON that serde_json wrote).
pub fn utf8(buf: Vec<u8>) -> String {
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Key fields held in place; longer keys (none in the built-in types)
/// are held as their text.
const INLINE_KEY_FIELDS: usize = 4;

/// The key of one list item, borrowed from the item. Two keys are equal
/// exactly when their FieldsV1 texts are, without writing either.
#[derive(Debug, Clone)]
pub enum ItemKey<'a> {
    Index(usize),
    /// An item of a set: itself.
    Value(&'a Value),
    /// An item of a keyed list: its key fields' values, in the order of
    /// the list's key names; how many there are, then the values.
    Fields(usize, [KeyValue<'a>; INLINE_KEY_FIELDS]),
    /// The text of a key with more fields than are held in place.
    Text(String),
}

impl PartialEq for ItemKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ItemKey::Index(a), ItemKey::Index(b)) => a == b,
            (ItemKey::Value(a), ItemKey::Value(b)) => same_text(a, b),
            (ItemKey::Fields(n, a), ItemKey::Fields(m, b)) => {
                n == m && a[..*n].iter().zip(b).all(|(a, b)| a.same_text(b))
            }
            (ItemKey::Text(a), ItemKey::Text(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for ItemKey<'_> {}

impl Hash for ItemKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            ItemKey::Index(i) => i.hash(state),
            ItemKey::Value(v) => hash_text_class(&KeyValue::Json(v), state),
            ItemKey::Fields(n, parts) => parts[..*n].iter().for_each(|p| hash_text_class(p, state)),
            ItemKey::Text(t) => t.hash(state),
        }
    }
}

impl KeyValue<'_> {
    fn same_text(&self, other: &KeyValue<'_>) -> bool {
        match (self, other) {
            (KeyValue::Str(a), KeyValue::Str(b)) => short_eq(a, b),
            (KeyValue::Str(a), KeyValue::Json(Value::String(b)))
            | (KeyValue::Json(Value::String(b)), KeyValue::Str(a)) => short_eq(a, b),
            (KeyValue::Json(a), KeyValue::Json(b)) => same_text(a, b),
            _ => false,
        }
    }
}

/// Whether two values are written as the same compact JSON. Strings,
/// booleans, null and integers are written as they compare; the rest
/// (floats, `-0.0` against `0.0`; objects, whose text keeps their order)
/// are written out, which keys rarely need.
fn same_text(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => short_eq(x, y),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Number(x), Value::Number(y)) if !x.is_f64() && !y.is_f64() => x == y,
        (Value::Number(_), Value::Number(_))
        | (Value::Object(_), Value::Object(_))
        | (Value::Array(_), Value::Array(_)) => {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            write_json(&mut x, a);
            write_json(&mut y, b);
            x == y
        }
        _ => false,
    }
}

/// Hashes what [`same_text`] compares cheaply, and only the kind of the
/// rest, so that values of one text hash alike.
fn hash_text_class<H: Hasher>(v: &KeyValue<'_>, state: &mut H) {
    match v {
        KeyValue::Str(s) => (0u8, *s).hash(state),
        KeyValue::Json(Value::String(s)) => (0u8, s.as_str()).hash(state),
        KeyValue::Json(Value::Bool(b)) => (1u8, b).hash(state),
        KeyValue::Json(Value::Null) => 2u8.hash(state),
        KeyValue::Json(Value::Number(n)) if !n.is_f64() => {
            (3u8, n.as_u64(), n.as_i64()).hash(state)
        }
        KeyValue::Json(Value::Number(_)) => 4u8.hash(state),
        KeyValue::Json(Value::Object(_)) => 5u8.hash(state),
        KeyValue::Json(Value::Array(_)) => 6u8.hash(state),
    }
}

/// The keys of a list's items, in list order (duplicates included).
pub struct ListKeys<'a> {
    kind: ListKind,
    keys: Vec<ItemKey<'a>>,
}

impl<'a> ListKeys<'a> {
    /// The keys of the items before the first one that has none, and why
    /// that one has none: a caller walking the items reports the problem
    /// when it reaches it.
    pub fn read(
        kind: ListKind,
        elem: Option<&'static str>,
        list: &'a [Value],
    ) -> (ListKeys<'a>, Option<TypeError>) {
        let mut keys = Vec::with_capacity(list.len());
        let mut error = None;
        for (index, item) in list.iter().enumerate() {
            let key = match kind {
                ListKind::Atomic => ItemKey::Index(index),
                ListKind::Set => ItemKey::Value(item),
                ListKind::Map(names) => match item_key(names, elem, index, item) {
                    Ok(k) => k,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                },
            };
            keys.push(key);
        }
        (ListKeys { kind, keys }, error)
    }

    /// The keys of every item, or why one has none.
    pub fn new(
        kind: ListKind,
        elem: Option<&'static str>,
        list: &'a [Value],
    ) -> Result<ListKeys<'a>, TypeError> {
        match ListKeys::read(kind, elem, list) {
            (keys, None) => Ok(keys),
            (_, Some(e)) => Err(e),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn key(&self, i: usize) -> &ItemKey<'a> {
        &self.keys[i]
    }

    /// The path element of item `i`.
    pub fn element(&self, i: usize) -> PathElement {
        match &self.keys[i] {
            ItemKey::Index(i) => PathElement::Index(*i),
            ItemKey::Value(v) => {
                let mut buf = Vec::with_capacity(16);
                write_json(&mut buf, v);
                PathElement::Value(utf8(buf))
            }
            ItemKey::Fields(n, values) => {
                let names = match self.kind {
                    ListKind::Map(names) => names,
                    _ => &[],
                };
                let mut fields: Vec<(&str, KeyValue<'_>)> = names
                    .iter()
                    .copied()
                    .zip(values[..*n].iter().copied())
                    .collect();
                let mut buf = Vec::with_capacity(32);
                write_key_object(&mut buf, &mut fields);
                PathElement::Key(utf8(buf))
            }
            ItemKey::Text(t) => PathElement::Key(t.clone()),
        }
    }

    /// The first item of each key, and a way to find it by key.
    pub fn index(&self) -> KeyIndex<'_, 'a> {
        let n = self.len();
        let mut firsts = Vec::with_capacity(n);
        if n <= SMALL_LIST {
            for i in 0..n {
                let k = &self.keys[i];
                if !firsts.iter().any(|&j| self.keys[j] == *k) {
                    firsts.push(i);
                }
            }
            return KeyIndex {
                keys: self,
                firsts,
                map: None,
            };
        }
        let mut map = HashMap::with_capacity(n);
        for (i, k) in self.keys.iter().enumerate() {
            map.entry(k).or_insert_with(|| {
                firsts.push(i);
                i
            });
        }
        KeyIndex {
            keys: self,
            firsts,
            map: Some(map),
        }
    }
}

/// Lists this short are searched rather than hashed.
const SMALL_LIST: usize = 12;

/// The key of an item of a list keyed by `names`.
fn item_key<'a>(
    names: &'static [&'static str],
    elem: Option<&'static str>,
    index: usize,
    item: &'a Value,
) -> Result<ItemKey<'a>, TypeError> {
    let Some(obj) = item.as_object() else {
        return Err(TypeError::new(format!(
            "element {index}: associative list with keys may not have non-map elements"
        )));
    };
    let mut values = [KeyValue::Str(""); INLINE_KEY_FIELDS];
    let mut extra: Vec<(&str, KeyValue<'a>)> = Vec::new();
    for (i, k) in names.iter().enumerate() {
        let v = match obj.get(*k) {
            Some(v) if !v.is_null() => KeyValue::Json(v),
            _ => match key_default(elem, k) {
                Some(d) => KeyValue::Str(d),
                None => {
                    return Err(TypeError::new(format!(
                        "element {index}: associative list with keys has an element that omits key field {k:?} (and doesn't have default value)"
                    )));
                }
            },
        };
        match values.get_mut(i) {
            Some(slot) if names.len() <= INLINE_KEY_FIELDS => *slot = v,
            _ => extra.push((k, v)),
        }
    }
    if names.len() <= INLINE_KEY_FIELDS {
        return Ok(ItemKey::Fields(names.len(), values));
    }
    let mut buf = Vec::new();
    write_key_object(&mut buf, &mut extra);
    Ok(ItemKey::Text(utf8(buf)))
}

/// The distinct keys of a list: upstream keeps the first item of a key
/// and ignores later duplicates when merging.
pub struct KeyIndex<'k, 'a> {
    keys: &'k ListKeys<'a>,
    firsts: Vec<usize>,
    map: Option<HashMap<&'k ItemKey<'a>, usize>>,
}

impl<'a> KeyIndex<'_, 'a> {
    /// The first item of each key, in list order.
    pub fn firsts(&self) -> &[usize] {
        &self.firsts
    }

    /// The first item with this key.
    pub fn get(&self, key: &ItemKey<'a>) -> Option<usize> {
        match &self.map {
            Some(m) => m.get(key).copied(),
            None => self
                .firsts
                .iter()
                .copied()
                .find(|&i| self.keys.keys[i] == *key),
        }
    }

    pub fn contains(&self, key: &ItemKey<'a>) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Keys compare as the FieldsV1 text they are written as.
    #[test]
    fn keys_are_equal_when_their_texts_are() {
        let ports = ListKind::Map(&["containerPort", "protocol"]);
        let port = Some("io.k8s.api.core.v1.ContainerPort");
        let items = [
            json!({"containerPort": 80}),
            json!({"containerPort": 80, "protocol": "TCP"}),
            json!({"containerPort": 80.0}),
            json!({"containerPort": 80, "protocol": "UDP"}),
            json!({"containerPort": -0.0}),
            json!({"containerPort": 0.0}),
            json!({"containerPort": {"a": 1, "b": 2}}),
            json!({"containerPort": {"b": 2, "a": 1}}),
        ];
        let keys = ListKeys::new(ports, port, &items).unwrap();
        for i in 0..items.len() {
            for j in 0..items.len() {
                let same_text = keys.element(i) == keys.element(j);
                assert_eq!(keys.key(i) == keys.key(j), same_text, "{i} {j}");
            }
        }
        assert_eq!(keys.index().firsts(), [0, 2, 3, 4, 5, 6, 7]);
        let set = ListKind::Set;
        let values = [
            json!("a"),
            json!(1),
            json!(1.0),
            json!("1"),
            json!(null),
            json!("a"),
        ];
        let keys = ListKeys::new(set, None, &values).unwrap();
        assert_eq!(keys.index().firsts(), [0, 1, 2, 3, 4]);
        assert_eq!(keys.element(3), PathElement::Value("\"1\"".into()));
    }

    #[test]
    fn long_lists_are_indexed_alike() {
        let items: Vec<Value> = (0..40)
            .map(|i| json!({"name": format!("n{}", i % 30)}))
            .collect();
        let keys = ListKeys::new(ListKind::Map(&["name"]), None, &items).unwrap();
        let index = keys.index();
        assert_eq!(index.firsts(), (0..30).collect::<Vec<_>>());
        assert_eq!(index.get(keys.key(35)), Some(5));
    }
}
