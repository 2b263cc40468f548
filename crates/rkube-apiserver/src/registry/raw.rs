//! Rendering stored objects into list responses without building a full
//! JSON tree per object: only the top level and `metadata` are split, the
//! rest is copied as raw text. This is the hot path of a large LIST.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The members of one JSON object, in order, values unparsed.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn write_key(out: &mut Vec<u8>, key: &str) {
    // Keys came from valid JSON; re-escape through serde to stay valid.
    serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
    out.push(b':');
}

/// A stored object as a list item: without `kind` and `apiVersion` (typed
/// lists carry them once), with `metadata.resourceVersion` set to `rv`.
/// Returns the object's labels for selector matching.
pub fn list_item(stored: &[u8], rv: i64, out: &mut Vec<u8>) -> Result<Map<String, Value>, String> {
    let top: Members = serde_json::from_slice(stored).map_err(|e| e.to_string())?;
    let mut labels = Map::new();
    out.push(b'{');
    let mut first = true;
    for (k, v) in &top.0 {
        if k == "kind" || k == "apiVersion" {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_key(out, k);
        if k == "metadata" {
            let md: Members = serde_json::from_str(v.get()).map_err(|e| e.to_string())?;
            out.push(b'{');
            let mut first_md = true;
            for (mk, mv) in &md.0 {
                if mk == "resourceVersion" {
                    continue;
                }
                if mk == "labels" {
                    labels = serde_json::from_str(mv.get()).unwrap_or_default();
                }
                if !first_md {
                    out.push(b',');
                }
                first_md = false;
                write_key(out, mk);
                out.extend_from_slice(mv.get().as_bytes());
            }
            if !first_md {
                out.push(b',');
            }
            out.extend_from_slice(b"\"resourceVersion\":\"");
            out.extend_from_slice(rv.to_string().as_bytes());
            out.extend_from_slice(b"\"}");
        } else {
            out.extend_from_slice(v.get().as_bytes());
        }
    }
    out.push(b'}');
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_tree_path() {
        let stored = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"y"},"uid":"u"},"data":{"k":"v\"q"}}"#;
        let mut out = Vec::new();
        let labels = list_item(stored, 42, &mut out).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], "42");
        assert_eq!(v["data"]["k"], "v\"q");
        assert!(v.get("kind").is_none());
        assert_eq!(labels["x"], "y");
    }
}
