//! Label and field selectors as the query string brings them: parsing,
//! printing and matching never panic, and a parsed selector prints in a
//! form that parses back to the same selector.
//!
//! Input: the first byte picks the resource for the field selector (and,
//! with its top bit set, also feeds the rest as a `metav1.LabelSelector`
//! JSON object); the rest, as UTF-8, is the selector string.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rkube_api::catalogue::{self, ResourceDef};
use rkube_api::selectors::{FieldSelector, LabelSelector};
use serde_json::{Value, json};

/// Resources with their own field sets upstream, one renaming them
/// (events.k8s.io), and plain ones (metadata.name/namespace only).
const RESOURCES: &[(&str, &str, &str)] = &[
    ("", "v1", "pods"),
    ("", "v1", "nodes"),
    ("", "v1", "events"),
    ("", "v1", "secrets"),
    ("", "v1", "services"),
    ("", "v1", "namespaces"),
    ("", "v1", "replicationcontrollers"),
    ("", "v1", "configmaps"),
    ("events.k8s.io", "v1", "events"),
    ("batch", "v1", "jobs"),
    ("certificates.k8s.io", "v1", "certificatesigningrequests"),
    ("resource.k8s.io", "v1", "resourceslices"),
    ("apps", "v1", "deployments"),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"),
];

fn defs() -> &'static [&'static ResourceDef] {
    static DEFS: OnceLock<Vec<&'static ResourceDef>> = OnceLock::new();
    DEFS.get_or_init(|| {
        RESOURCES
            .iter()
            .map(|(g, v, r)| {
                catalogue::lookup(g, v, r).unwrap_or_else(|| panic!("{g}/{v} {r} not in catalogue"))
            })
            .collect()
    })
}

fn objects() -> &'static [Value] {
    static OBJECTS: OnceLock<Vec<Value>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        vec![
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "default",
                             "labels": {"app": "web", "tier": "front", "n": "5",
                                        "example.com/x": "", "a": "b"}},
                "spec": {"nodeName": "node-1", "restartPolicy": "Always",
                         "hostNetwork": true, "schedulerName": "default-scheduler"},
                "status": {"phase": "Running", "podIP": "10.0.0.1",
                           "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
                           "replicas": 3, "successful": 1},
                "type": "Opaque", "reason": "x", "source": {"component": "kubelet"},
                "involvedObject": {"kind": "Pod", "name": "web-1"},
            }),
            json!({}),
            json!({"metadata": {"labels": {"n": 7, "b": true, "z": null, "o": {}}}}),
            json!({"metadata": [], "spec": "x", "status": {"podIPs": "nope"}}),
            json!(null),
        ]
    })
}

fn check_label(s: &str) {
    let Ok(sel) = LabelSelector::parse(s) else {
        return;
    };
    for obj in objects() {
        sel.matches_object(obj);
    }
    let printed = sel.to_string();
    let again = LabelSelector::parse(&printed)
        .unwrap_or_else(|e| panic!("{s:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again.to_string(), printed, "{s:?}: printed form not stable");
    for obj in objects() {
        assert_eq!(
            sel.matches_object(obj),
            again.matches_object(obj),
            "{s:?} vs {printed:?} on {obj}"
        );
    }
}

fn check_field(s: &str, def: &ResourceDef) {
    let Ok(sel) = FieldSelector::parse(s, def) else {
        return;
    };
    for obj in objects() {
        sel.matches(def, obj);
    }
    sel.requires_exact_match("metadata.name");
    sel.requires_exact_match("spec.nodeName");
    // events.k8s.io renames its labels on the way in, so its printed form
    // names core fields.
    if def.group == "events.k8s.io" {
        return;
    }
    // Parsing sorts the raw terms, so the printed form (which spells `==`
    // as `=`) may list them in another order: the same selector, compared
    // by what it matches and by its printed form being a fixed point.
    let printed = sel.to_string();
    let again = FieldSelector::parse(&printed, def).unwrap_or_else(|e| {
        panic!(
            "{s:?} printed as {printed:?}, which does not parse for {}: {e}",
            def.plural
        )
    });
    for obj in objects() {
        assert_eq!(
            sel.matches(def, obj),
            again.matches(def, obj),
            "{s:?} vs {printed:?} on {obj}"
        );
    }
    let reprinted = again.to_string();
    let third = FieldSelector::parse(&reprinted, def).expect("a reprinted selector parses");
    assert_eq!(
        third, again,
        "{s:?}: printed form {reprinted:?} is not stable"
    );
}

fn check_object_selector(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(sel) = LabelSelector::from_match_labels_and_expressions(&v) {
        for obj in objects() {
            sel.matches_object(obj);
        }
        let _ = sel.to_string();
    }
    if let Some(labels) = v.get("matchLabels").and_then(Value::as_object) {
        assert!(
            LabelSelector::from_set(labels).matches(labels),
            "a set selector does not match its own set: {v}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&b, rest)) = data.split_first() else {
        return;
    };
    let defs = defs();
    let s = String::from_utf8_lossy(rest);
    check_label(&s);
    check_field(&s, defs[usize::from(b & 0x7f) % defs.len()]);
    if b & 0x80 != 0 {
        check_object_selector(rest);
    }
});
