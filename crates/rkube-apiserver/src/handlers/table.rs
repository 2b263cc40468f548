//! The representations a client may ask for instead of the object:
//! Table (server-side printing) and PartialObjectMetadata.

use rkube_api::catalogue::ResourceDef;
use rkube_api::printers;
use serde_json::{Map, Value, json};

/// `meta.k8s.io/v1` PartialObjectMetadata of an object.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A Table of `objects`; `include_object` is the `includeObject` query
/// parameter (`Metadata` by default, `Object`, or `None`).
pub fn table(
    def: &ResourceDef,
    objects: &[Value],
    list_metadata: Map<String, Value>,
    include_object: Option<&str>,
    with_columns: bool,
) -> Value {
    let now = chrono::Utc::now();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut row = json!({"cells": printers::cells(def, obj, now)});
            match include_object.unwrap_or("Metadata") {
                "None" => {}
                "Object" => row["object"] = obj.clone(),
                _ => row["object"] = partial_metadata(obj),
            }
            row
        })
        .collect();
    let mut t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
    });
    if with_columns {
        t["columnDefinitions"] =
            Value::Array(printers::columns(def).iter().map(|c| c.to_json()).collect());
    } else {
        t["columnDefinitions"] = Value::Null;
    }
    t["rows"] = Value::Array(rows);
    t
}
