//! Discovery documents, all derived from the catalogue: the legacy
//! per-group lists (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`) and the
//! aggregated v2 form that kubectl asks for first.

use axum::response::Response;
use http::{HeaderMap, HeaderValue, header};
use rkube_api::catalogue::{self, ResourceDef};
use serde_json::{Value, json};

use crate::http::response;

const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the client asked for aggregated discovery (v2) first.
fn wants_aggregated(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for range in accept.split(',') {
        let r = range.replace(' ', "");
        if r.contains("g=apidiscovery.k8s.io") && r.contains("v=v2") && !r.contains("v=v2beta1") {
            return true;
        }
        if r.starts_with("application/json") && !r.contains("g=apidiscovery.k8s.io") {
            return false;
        }
    }
    false
}

fn aggregated(body: Value) -> Response {
    let mut resp = response::json(200, &body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AGGREGATED_V2),
    );
    resp
}

fn preferred(versions: &[&str]) -> String {
    versions.first().copied().unwrap_or("v1").to_string()
}

/// `/api`.
pub fn core_versions(headers: &HeaderMap, server_address: &str) -> Response {
    if wants_aggregated(headers) {
        return aggregated(json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": [group_discovery("", &["v1"])],
        }));
    }
    response::json(
        200,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }),
    )
}

/// `/apis`.
pub fn groups(headers: &HeaderMap) -> Response {
    let groups: Vec<(&str, Vec<&str>)> = catalogue::groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .collect();
    if wants_aggregated(headers) {
        return aggregated(json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": groups.iter().map(|(g, v)| group_discovery(g, v)).collect::<Vec<_>>(),
        }));
    }
    response::json(
        200,
        &json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups.iter().map(|(g, v)| api_group(g, v)).collect::<Vec<_>>(),
        }),
    )
}

fn api_group(group: &str, versions: &[&str]) -> Value {
    let pref = preferred(versions);
    json!({
        "name": group,
        "versions": versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect::<Vec<_>>(),
        "preferredVersion": {"groupVersion": format!("{group}/{pref}"), "version": pref},
    })
}

/// `/apis/<group>`.
pub fn group(name: &str) -> Option<Response> {
    let (g, versions) = catalogue::groups()
        .into_iter()
        .find(|(g, _)| *g == name && !g.is_empty())?;
    let mut body = api_group(g, &versions);
    body["kind"] = json!("APIGroup");
    body["apiVersion"] = json!("v1");
    Some(response::json(200, &body))
}

/// `/api/v1` and `/apis/<group>/<version>`.
pub fn resource_list(group: &str, version: &str) -> Option<Response> {
    let defs: Vec<&ResourceDef> = catalogue::resources_in(group, version).collect();
    if defs.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut resources = Vec::new();
    for d in defs {
        let mut r = json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": d.verbs,
        });
        if !d.short_names.is_empty() {
            r["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            r["categories"] = json!(d.categories);
        }
        resources.push(r);
        for s in d.subresources {
            let mut sr = json!({
                "name": format!("{}/{}", d.plural, s.name),
                "singularName": "",
                "namespaced": d.namespaced,
            });
            if !s.group.is_empty() {
                sr["group"] = json!(s.group);
                sr["version"] = json!(s.version);
            }
            sr["kind"] = json!(s.kind);
            sr["verbs"] = json!(s.verbs);
            resources.push(sr);
        }
    }
    Some(response::json(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    ))
}

fn group_discovery(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = catalogue::resources_in(group, v)
                .map(|d| {
                    let mut r = json!({
                        "resource": d.plural,
                        "responseKind": {"group": d.group, "version": v, "kind": d.kind},
                        "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": d.singular,
                        "verbs": d.verbs,
                    });
                    if !d.short_names.is_empty() {
                        r["shortNames"] = json!(d.short_names);
                    }
                    if !d.categories.is_empty() {
                        r["categories"] = json!(d.categories);
                    }
                    if !d.subresources.is_empty() {
                        r["subresources"] = Value::Array(
                            d.subresources
                                .iter()
                                .map(|s| {
                                    let (sg, sv) = if s.group.is_empty() && s.version.is_empty() {
                                        (d.group, *v)
                                    } else {
                                        (s.group, s.version)
                                    };
                                    json!({
                                        "subresource": s.name,
                                        "responseKind": {"group": sg, "version": sv, "kind": s.kind},
                                        "verbs": s.verbs,
                                    })
                                })
                                .collect(),
                        );
                    }
                    r
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
}
