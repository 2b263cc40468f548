//! Checks shared by the tests: what kubectl 1.32 and kube-openapi's parsers
//! need from the documents, for any list of resources.
#![allow(dead_code)]

use std::collections::BTreeSet;

use prost::Message;
use rkube_api::catalogue::ResourceDef;
use rkube_openapi::{OpenApi, proto};
use serde_json::Value;

pub fn v2(api: &OpenApi) -> Value {
    serde_json::from_slice(api.v2_json()).expect("v2 parses")
}

pub fn v3(api: &OpenApi, gv: &str) -> Value {
    let (body, _) = api
        .v3_document(gv)
        .unwrap_or_else(|| panic!("no v3 document {gv}"));
    serde_json::from_slice(body).expect("v3 parses")
}

pub fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

pub fn gvk_matches(v: &Value, group: &str, version: &str, kind: &str) -> bool {
    v["group"] == group && v["version"] == version && v["kind"] == kind
}

/// v2 parses, and its protobuf encoding decodes to the same document.
pub fn check_v2(api: &OpenApi) {
    let doc = v2(api);
    assert_eq!(doc["swagger"], "2.0");
    let pb = proto::Document::decode(api.v2_protobuf().unwrap().as_ref()).expect("decodes");
    assert_eq!(pb.swagger, "2.0");
    let defs = pb.definitions.as_ref().unwrap();
    assert_eq!(
        defs.additional_properties.len(),
        doc["definitions"].as_object().unwrap().len()
    );
    assert_eq!(
        pb.paths.as_ref().unwrap().path.len(),
        doc["paths"].as_object().unwrap().len()
    );
}

/// kube-openapi's v2 parser fails on a reference to a missing definition or
/// an array without items (kubectl then has no schema at all); kubectl
/// explain and patch lookups fail on dangling v3 references.
fn check_schema(v: &Value, prefix: &str, defs: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let name = r
                    .strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{at}: bad ref {r}"));
                assert!(defs.get(name).is_some(), "{at}: dangling ref {r}");
            }
            if map.get("type") == Some(&Value::String("array".into())) {
                assert!(map.get("items").is_some(), "{at}: array without items");
            }
            if let Some(Value::Array(types)) = map.get("type") {
                panic!("{at}: several types {types:?}");
            }
            for (k, sub) in map {
                if k != "enum" && k != "default" && k != "example" {
                    check_schema(sub, prefix, defs, &format!("{at}/{k}"));
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| check_schema(i, prefix, defs, at)),
        _ => {}
    }
}

pub fn check_references(api: &OpenApi) {
    let doc = v2(api);
    check_schema(&doc, "#/definitions/", &doc["definitions"], "v2");
    for gv in api.v3_paths() {
        let d = v3(api, gv);
        check_schema(&d, "#/components/schemas/", &d["components"]["schemas"], gv);
    }
}

pub fn check_operation_ids(api: &OpenApi) {
    let doc = v2(api);
    let mut seen = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                assert!(seen.insert(id.to_string()), "{method} {path}: {id} twice");
            }
        }
    }
}

/// Every resource has the paths and operations its verbs call for, tagged
/// with its group, version and kind, in v2 and in its v3 document.
pub fn check_resource_paths(api: &OpenApi, resources: &[ResourceDef]) {
    let doc = v2(api);
    for def in resources {
        for version in def.versions {
            let prefix = format!("/{}", gv_key(def.group, version));
            let ns = if def.namespaced {
                "/namespaces/{namespace}"
            } else {
                ""
            };
            let coll = format!("{prefix}{ns}/{}", def.plural);
            let item = format!("{coll}/{{name}}");
            let d3 = v3(api, &gv_key(def.group, version));
            for (doc, which) in [(&doc, "v2"), (&d3, "v3")] {
                let paths = &doc["paths"];
                let ops = [
                    ("list", "get", &coll),
                    ("create", "post", &coll),
                    ("deletecollection", "delete", &coll),
                    ("get", "get", &item),
                    ("update", "put", &item),
                    ("patch", "patch", &item),
                    ("delete", "delete", &item),
                ];
                for (verb, method, path) in ops {
                    if !def.has_verb(verb) {
                        continue;
                    }
                    let op = &paths[path.as_str()][method];
                    assert!(op.is_object(), "{which}: {method} {path}");
                    let gvk = &op["x-kubernetes-group-version-kind"];
                    assert!(
                        gvk_matches(gvk, def.group, version, def.kind),
                        "{which}: {method} {path} gvk {gvk}"
                    );
                }
                if def.namespaced && def.has_verb("list") {
                    let all = format!("{prefix}/{}", def.plural);
                    assert!(paths[all.as_str()]["get"].is_object(), "{which}: {all}");
                }
                if def.has_verb("watch") {
                    let watch = format!("{prefix}/watch{ns}/{}", def.plural);
                    assert_eq!(
                        paths[watch.as_str()]["get"]["x-kubernetes-action"],
                        "watchlist"
                    );
                    let one = format!("{watch}/{{name}}");
                    assert_eq!(paths[one.as_str()]["get"]["x-kubernetes-action"], "watch");
                }
                for sub in def.subresources {
                    let p = format!("{item}/{}", sub.name);
                    assert!(paths[p.as_str()].is_object(), "{which}: {p}");
                }
            }
        }
    }
}

/// What kubectl 1.32's `--validate=strict` does: in the v3 document of the
/// object's group-version it takes the first PATCH operation tagged with
/// the kind (map order: any of them) and looks for `fieldValidation`;
/// client-side apply wants strategic merge patch among its media types.
pub fn check_field_validation(api: &OpenApi, resources: &[ResourceDef]) {
    for def in resources.iter().filter(|d| d.has_verb("patch")) {
        for version in def.versions {
            let d = v3(api, &gv_key(def.group, version));
            let mut found = 0;
            for item in d["paths"].as_object().unwrap().values() {
                let op = &item["patch"];
                let gvk = &op["x-kubernetes-group-version-kind"];
                if !gvk_matches(gvk, def.group, version, def.kind) {
                    continue;
                }
                found += 1;
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
                );
                let content = &op["requestBody"]["content"];
                assert!(content["application/strategic-merge-patch+json"].is_object());
            }
            assert!(found > 0, "{}/{version} {}", def.group, def.kind);
        }
    }
}

/// The index lists exactly the served group-versions, each URL carrying the
/// hash of its document, and each document only its own paths.
pub fn check_index(api: &OpenApi, resources: &[ResourceDef]) {
    let index: Value = serde_json::from_slice(api.v3_index()).unwrap();
    let paths = index["paths"].as_object().unwrap();
    let expected: BTreeSet<String> = resources
        .iter()
        .flat_map(|d| d.versions.iter().map(|v| gv_key(d.group, v)))
        .collect();
    let got: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(got, expected);
    for (key, entry) in paths {
        let (_, hash) = api.v3_document(key).unwrap();
        assert_eq!(
            entry["serverRelativeURL"],
            format!("/openapi/v3/{key}?hash={hash}")
        );
        assert_eq!(hash.len(), 128);
        let d = v3(api, key);
        for p in d["paths"].as_object().unwrap().keys() {
            assert!(p.starts_with(&format!("/{key}/")), "{p} in {key}");
        }
    }
}

pub fn check_all(api: &OpenApi, resources: &[ResourceDef]) {
    check_v2(api);
    check_references(api);
    check_operation_ids(api);
    check_resource_paths(api, resources);
    check_field_validation(api, resources);
    check_index(api, resources);
}
