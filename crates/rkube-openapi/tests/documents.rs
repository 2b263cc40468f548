//! The documents of the built-in catalogue.

mod common;

use std::collections::BTreeMap;

use common::{gvk_matches, v2, v3};
use prost::Message;
use rkube_api::catalogue::RESOURCES;
use rkube_api::patch_strategy;
use rkube_openapi::{OpenApi, proto};
use serde_json::Value;

fn api() -> &'static OpenApi {
    OpenApi::global()
}

#[test]
fn global_is_built_once() {
    assert!(std::ptr::eq(OpenApi::global(), OpenApi::global()));
}

#[test]
fn catalogue_documents_hold_what_kubectl_reads() {
    common::check_all(api(), RESOURCES);
}

#[test]
fn protobuf_extensions_are_yaml_text() {
    let pb = proto::Document::decode(api().v2_protobuf().unwrap().as_ref()).unwrap();
    let defs = pb.definitions.unwrap().additional_properties;
    let dep = defs
        .iter()
        .find(|d| d.name == "io.k8s.api.apps.v1.Deployment")
        .expect("Deployment");
    let gvk = dep
        .value
        .as_ref()
        .unwrap()
        .vendor_extension
        .iter()
        .find(|e| e.name == "x-kubernetes-group-version-kind")
        .expect("gvk");
    let parsed: Value = serde_json::from_str(&gvk.value.as_ref().unwrap().yaml).unwrap();
    assert!(gvk_matches(&parsed[0], "apps", "v1", "Deployment"));
}

/// Follows `allOf[0]` and `$ref` as kubectl's strategic merge patch lookup
/// does.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    if let Some(first) = s.get("allOf").and_then(|a| a.get(0)) {
        s = first;
    }
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => s,
    }
}

#[test]
fn deployment_schema_carries_gvk_and_merge_keys() {
    let d = v3(api(), "apis/apps/v1");
    let schemas = &d["components"]["schemas"];
    let dep = &schemas["io.k8s.api.apps.v1.Deployment"];
    let gvks = dep["x-kubernetes-group-version-kind"].as_array().unwrap();
    assert!(
        gvks.iter()
            .any(|g| gvk_matches(g, "apps", "v1", "Deployment"))
    );
    let list_gvk = &schemas["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"];
    assert!(gvk_matches(&list_gvk[0], "apps", "v1", "DeploymentList"));
    // spec.template.spec.containers, walked as kubectl's patch meta does.
    let spec = resolve(&d, &dep["properties"]["spec"]);
    let strategy = &spec["properties"]["strategy"];
    assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
    let template = resolve(&d, &spec["properties"]["template"]);
    let pod_spec = resolve(&d, &template["properties"]["spec"]);
    let containers = &pod_spec["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(containers["x-kubernetes-list-type"], "map");
    assert_eq!(containers["x-kubernetes-list-map-keys"][0], "name");
    let container = resolve(&d, &containers["items"]);
    let ports = &container["properties"]["ports"];
    assert_eq!(ports["x-kubernetes-list-map-keys"][1], "protocol");
    let meta = resolve(&d, &dep["properties"]["metadata"]);
    let owners = &meta["properties"]["ownerReferences"];
    assert_eq!(owners["x-kubernetes-patch-merge-key"], "uid");
    assert_eq!(
        meta["properties"]["finalizers"]["x-kubernetes-list-type"],
        "set"
    );
    assert!(
        dep["required"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r != "metadata")
    );
    let selector = resolve(&d, &spec["properties"]["selector"]);
    assert_eq!(selector["x-kubernetes-map-type"], "atomic");
    // IntOrString as upstream publishes it in v3 and in v2.
    let ios = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(ios["format"], "int-or-string");
    assert!(ios["oneOf"].is_array());
    let v2_ios = &v2(api())["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(v2_ios["type"], "string");
}

#[test]
fn v3_documents_are_found_by_path() {
    assert!(api().v3_document("apis/apps/v1").is_some());
    assert!(api().v3_document("/apis/apps/v1").is_some());
    assert!(api().v3_document("api/v1").is_some());
    assert!(api().v3_document("apis/nope/v1").is_none());
}

/// Every fact of the patch strategy table on a served definition names a
/// property that exists, and is published.
#[test]
fn patch_table_facts_are_published() {
    let doc = v2(api());
    let defs = doc["definitions"].as_object().unwrap();
    let mut checked = BTreeMap::new();
    for t in patch_strategy::all() {
        let Some(def) = defs.get(t.definition) else {
            continue;
        };
        for f in t.fields {
            let prop = &def["properties"][f.field];
            assert!(prop.is_object(), "{}.{}", t.definition, f.field);
            if let Some(key) = f.patch_merge_key() {
                assert_eq!(prop["x-kubernetes-patch-merge-key"], key);
            }
            if let Some(list) = f.list_type {
                assert_eq!(prop["x-kubernetes-list-type"], list.as_str());
            }
        }
        checked.insert(t.definition, t.fields.len());
    }
    assert!(checked.contains_key("io.k8s.api.core.v1.PodSpec"));
    assert!(checked.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
}
