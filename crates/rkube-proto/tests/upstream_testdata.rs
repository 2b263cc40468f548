//! Decodes upstream's round-trip test data, where every built-in type is
//! filled with values and stored both as protobuf (`X.pb`) and as the JSON
//! the Go serializer writes for the same object (`X.json`). The data is not
//! part of this repository: point `RKUBE_PROTO_UPSTREAM_TESTDATA` at a
//! `testdata/HEAD` directory of a k8s.io/api checkout of the served version
//! (and, optionally, more such directories separated by `:`). Without it
//! the test only says it was skipped.
//!
//! Properties that the wire schema (k8s-pb) does not carry yet are removed
//! from the expected JSON first: they are listed in the schema file's
//! header and are skipped when decoding.

use std::path::Path;

use rkube_proto::schema::{MessageId, Schema, Shape, Type};
use serde_json::Value;

/// Drops the properties of `v` (a JSON value of message `id`) the schema
/// does not know.
fn prune(schema: &Schema, id: MessageId, v: &mut Value) {
    let msg = schema.message(id);
    if msg.special.is_some() {
        return;
    }
    if msg.array {
        if let (Value::Array(items), Type::Message(el)) = (&mut *v, msg.fields[0].ty) {
            items.iter_mut().for_each(|i| prune(schema, el, i));
        }
        return;
    }
    let Value::Object(obj) = v else { return };
    let keys: Vec<String> = obj.keys().cloned().collect();
    for k in keys {
        match field_for(schema, id, &k) {
            None => {
                obj.shift_remove(&k);
            }
            Some((shape, Type::Message(el))) => {
                let Some(child) = obj.get_mut(&k) else {
                    continue;
                };
                match (shape, child) {
                    (Shape::Single, c) => prune(schema, el, c),
                    (Shape::Repeated, Value::Array(items)) => {
                        items.iter_mut().for_each(|i| prune(schema, el, i))
                    }
                    (Shape::Map(_), Value::Object(m)) => {
                        m.values_mut().for_each(|i| prune(schema, el, i))
                    }
                    _ => {}
                }
            }
            Some(_) => {}
        }
    }
}

/// The field for a JSON property, looking through inline fields.
fn field_for(schema: &Schema, id: MessageId, json: &str) -> Option<(Shape, Type)> {
    let msg = schema.message(id);
    if let Some((_, f)) = msg.field_by_json(json) {
        return Some((f.shape, f.ty));
    }
    msg.fields
        .iter()
        .filter(|f| f.inline)
        .find_map(|f| match f.ty {
            Type::Message(inner) => field_for(schema, inner, json),
            Type::Scalar(_) => None,
        })
}

#[test]
fn upstream_round_trip_data_decodes_to_upstream_json() {
    let Ok(dirs) = std::env::var("RKUBE_PROTO_UPSTREAM_TESTDATA") else {
        eprintln!("skipped: RKUBE_PROTO_UPSTREAM_TESTDATA is not set");
        return;
    };
    let schema = Schema::builtin();
    let (mut checked, mut failures, mut skipped, mut same_bytes) = (0, Vec::new(), Vec::new(), 0);
    for dir in dirs.split(':').filter(|d| !d.is_empty()) {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("testdata dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for pb in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "pb"))
        {
            let json_path = pb.with_extension("json");
            let Ok(json) = std::fs::read(&json_path) else {
                continue;
            };
            let name = pb.file_name().unwrap().to_string_lossy().into_owned();
            let mut expected: Value = serde_json::from_slice(&json).expect("upstream json");
            // WatchEvent is stored without a type in its envelope.
            let (Some(av), Some(kind)) =
                (expected["apiVersion"].as_str(), expected["kind"].as_str())
            else {
                continue;
            };
            let Some(id) = schema.lookup_kind(av, kind) else {
                // A kind newer than k8s-pb: it must be refused, not guessed.
                assert!(rkube_proto::decode_request(&std::fs::read(pb).unwrap()).is_err());
                skipped.push(name);
                continue;
            };
            let got = match rkube_proto::decode_request(&std::fs::read(pb).unwrap()) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            prune_object(schema, id, &mut expected);
            checked += 1;
            let pb_bytes = std::fs::read(pb).unwrap();
            match rkube_proto::encode(&got) {
                Ok(bytes) => {
                    same_bytes += usize::from(bytes == pb_bytes);
                    match rkube_proto::decode_request(&bytes) {
                        Ok(back) if back == got => {}
                        Ok(back) => failures.push(format!(
                            "{name}: re-encoded: {}",
                            first_difference(&got, &back, String::new())
                        )),
                        Err(e) => failures.push(format!("{name}: re-encoded body: {e}")),
                    }
                }
                Err(e) => failures.push(format!("{name}: encode: {e}")),
            }
            if got != expected {
                failures.push(format!(
                    "{name}: {}",
                    first_difference(&expected, &got, String::new())
                ));
            } else if serde_json::to_string(&got).unwrap()
                != serde_json::to_string(&expected).unwrap()
            {
                failures.push(format!(
                    "{name}: property order differs at {}",
                    order_difference(&expected, &got, String::new())
                ));
            }
        }
        assert!(Path::new(dir).is_dir());
    }
    eprintln!(
        "checked {checked} upstream objects ({same_bytes} re-encoded byte for byte); kinds k8s-pb lacks: {}",
        skipped.join(" ")
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 100, "too few objects checked: {checked}");
}

fn prune_object(schema: &Schema, id: MessageId, v: &mut Value) {
    let Value::Object(obj) = v else { return };
    let kind = obj.shift_remove("kind");
    let av = obj.shift_remove("apiVersion");
    prune(schema, id, v);
    let Value::Object(obj) = v else { return };
    let mut out = serde_json::Map::new();
    out.extend(kind.map(|k| ("kind".to_string(), k)));
    out.extend(av.map(|k| ("apiVersion".to_string(), k)));
    out.extend(std::mem::take(obj));
    *obj = out;
}

fn first_difference(want: &Value, got: &Value, path: String) -> String {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    None => return format!("{path}.{k}: missing (want {v})"),
                    Some(g) if g != v => return first_difference(v, g, format!("{path}.{k}")),
                    _ => {}
                }
            }
            if let Some(k) = b.keys().find(|k| !a.contains_key(*k)) {
                return format!("{path}.{k}: unexpected {}", b[k]);
            }
            format!("{path}: differs")
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if x != y {
                    return first_difference(x, y, format!("{path}[{i}]"));
                }
            }
            format!("{path}: differs")
        }
        _ => format!("{path}: want {want}, got {got}"),
    }
}

fn order_difference(want: &Value, got: &Value, path: String) -> String {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
            if ka != kb {
                return format!("{path}: want {ka:?}, got {kb:?}");
            }
            a.iter()
                .map(|(k, v)| order_difference(v, &b[k], format!("{path}.{k}")))
                .find(|d| !d.is_empty())
                .unwrap_or_default()
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .map(|(i, (x, y))| order_difference(x, y, format!("{path}[{i}]")))
            .find(|d| !d.is_empty())
            .unwrap_or_default(),
        _ => String::new(),
    }
}
