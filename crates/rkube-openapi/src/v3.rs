//! OpenAPI v3: one document per group-version, with the paths of that
//! group-version and the schemas they reach, converted from the Swagger 2.0
//! form as kube-apiserver does: `#/components/schemas/...` references, a
//! reference with sibling keywords wrapped in `allOf`, parameters with a
//! `schema`, request bodies and responses keyed by media type.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::definitions::{self, Definitions, V2_REF};

pub(crate) const V3_REF: &str = "#/components/schemas/";

/// One group-version's document.
pub(crate) fn document(
    paths: &std::collections::BTreeMap<String, Value>,
    defs: &Definitions,
    info: &Value,
) -> Value {
    let mut roots = BTreeSet::new();
    for item in paths.values() {
        definitions::refs_in(item, V2_REF, &mut roots);
    }
    let mut schemas = Map::new();
    for name in definitions::closure(defs, roots) {
        if let Some(schema) = defs.get(&name) {
            schemas.insert(name.clone(), definition(&name, schema));
        }
    }
    let mut out_paths = Map::new();
    for (path, item) in paths {
        out_paths.insert(path.clone(), path_item(item));
    }
    json!({
        "openapi": "3.0.0",
        "info": info,
        "paths": out_paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "name": "authorization",
                    "in": "header",
                    "description": "Bearer token authentication",
                },
            },
        },
        "security": [{"BearerToken": []}],
    })
}

/// A definition in v3 form. IntOrString and Quantity take upstream's v3
/// shapes (`oneOf`), which kubectl explain prints by name.
fn definition(name: &str, schema: &Value) -> Value {
    let mut out = schema_v3(schema);
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            obj.remove("type");
            obj.insert(
                "oneOf".into(),
                json!([{"type": "integer"}, {"type": "string"}]),
            );
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
            obj.remove("type");
            obj.insert(
                "oneOf".into(),
                json!([{"type": "string"}, {"type": "number"}]),
            );
        }
        _ => {}
    }
    out
}

/// Converts a schema: references move to `#/components/schemas/`, and a
/// reference with siblings becomes `allOf: [{$ref}]` plus the siblings.
pub(crate) fn schema_v3(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    let mut reference = None;
    for (k, v) in map {
        match k.as_str() {
            "$ref" => {
                let r = v.as_str().unwrap_or_default();
                let name = r.strip_prefix(V2_REF).unwrap_or(r);
                reference = Some(format!("{V3_REF}{name}"));
            }
            // Maps from names to schemas: the names are not keywords.
            "properties" | "patternProperties" => {
                let converted: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), schema_v3(s)))
                    .collect();
                out.insert(k.clone(), Value::Object(converted));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(k.clone(), schema_v3(v));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let converted = v.as_array().into_iter().flatten().map(schema_v3).collect();
                out.insert(k.clone(), Value::Array(converted));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    match reference {
        Some(r) if out.is_empty() => json!({"$ref": r}),
        Some(r) => {
            out.insert("allOf".into(), json!([{"$ref": r}]));
            Value::Object(out)
        }
        None => Value::Object(out),
    }
}

fn path_item(item: &Value) -> Value {
    let mut out = Map::new();
    let Some(map) = item.as_object() else {
        return item.clone();
    };
    for (k, v) in map {
        if k == "parameters" {
            let params: Vec<Value> = v
                .as_array()
                .map(|ps| ps.iter().map(parameter).collect())
                .unwrap_or_default();
            out.insert(k.clone(), Value::Array(params));
        } else {
            out.insert(k.clone(), operation(v));
        }
    }
    Value::Object(out)
}

/// A non-body parameter: its type moves into `schema`.
fn parameter(p: &Value) -> Value {
    let mut out = Map::new();
    let mut schema = Map::new();
    if let Some(map) = p.as_object() {
        for (k, v) in map {
            match k.as_str() {
                "name" | "in" | "description" | "required" => {
                    out.insert(k.clone(), v.clone());
                }
                _ => {
                    schema.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out.insert("schema".into(), Value::Object(schema));
    Value::Object(out)
}

fn media(types: &[Value], schema: &Value) -> Value {
    let mut content = Map::new();
    for t in types.iter().filter_map(Value::as_str) {
        content.insert(t.to_string(), json!({"schema": schema}));
    }
    Value::Object(content)
}

fn operation(op: &Value) -> Value {
    let Some(map) = op.as_object() else {
        return op.clone();
    };
    let empty = Vec::new();
    let consumes = map
        .get("consumes")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let produces = map
        .get("produces")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in map {
        match k.as_str() {
            "consumes" | "produces" | "schemes" => {}
            "parameters" => {
                let mut params = Vec::new();
                for p in v.as_array().unwrap_or(&empty) {
                    if p["in"] == "body" {
                        let schema = schema_v3(&p["schema"]);
                        let mut body = json!({"content": media(consumes, &schema)});
                        if p["required"] == true {
                            body["required"] = true.into();
                        }
                        out.insert("requestBody".into(), body);
                    } else {
                        params.push(parameter(p));
                    }
                }
                if !params.is_empty() {
                    out.insert("parameters".into(), Value::Array(params));
                }
            }
            "responses" => {
                let mut responses = Map::new();
                for (code, r) in v.as_object().into_iter().flatten() {
                    let mut resp = json!({"description": r["description"]});
                    if let Some(schema) = r.get("schema") {
                        resp["content"] = media(produces, &schema_v3(schema));
                    }
                    responses.insert(code.clone(), resp);
                }
                out.insert(k.clone(), Value::Object(responses));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_with_siblings_are_wrapped() {
        let v2 = json!({
            "properties": {
                "a": {"$ref": "#/definitions/X"},
                "b": {"$ref": "#/definitions/Y", "description": "d", "x-kubernetes-patch-strategy": "retainKeys"},
                "c": {"type": "array", "items": {"$ref": "#/definitions/Z"}},
            }
        });
        let v3 = schema_v3(&v2);
        assert_eq!(
            v3["properties"]["a"],
            json!({"$ref": "#/components/schemas/X"})
        );
        assert_eq!(
            v3["properties"]["b"],
            json!({"allOf": [{"$ref": "#/components/schemas/Y"}], "description": "d", "x-kubernetes-patch-strategy": "retainKeys"})
        );
        assert_eq!(
            v3["properties"]["c"]["items"]["$ref"],
            "#/components/schemas/Z"
        );
    }

    #[test]
    fn body_and_responses_move_to_media_types() {
        let op = json!({
            "consumes": ["application/merge-patch+json", "application/strategic-merge-patch+json"],
            "produces": ["application/json"],
            "parameters": [
                {"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/P"}},
                {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true},
            ],
            "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/D"}}},
            "x-kubernetes-action": "patch",
        });
        let v3 = operation(&op);
        assert!(v3["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object());
        assert_eq!(v3["requestBody"]["required"], true);
        assert_eq!(v3["parameters"][0]["name"], "fieldValidation");
        assert_eq!(v3["parameters"][0]["schema"]["type"], "string");
        assert_eq!(
            v3["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/D"
        );
        assert!(v3.get("consumes").is_none());
    }
}
