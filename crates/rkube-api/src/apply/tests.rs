//! Table-driven tests of apply and update ownership, with cases worked out
//! from upstream's documented behaviour (the server-side apply reference
//! and structured-merge-diff's merge and ownership rules).

use serde_json::{Value, json};

use super::*;

const DEPLOY: &str = "io.k8s.api.apps.v1.Deployment";
const CM: &str = "io.k8s.api.core.v1.ConfigMap";

fn writer(root: &'static str, manager: &'static str) -> Writer<'static> {
    Writer {
        root,
        manager,
        api_version: if root == DEPLOY { "apps/v1" } else { "v1" },
        subresource: None,
        scope: Scope::AllButStatus,
        now: "2026-01-01T00:00:00Z",
    }
}

fn deploy(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}}}})
}

/// The FieldsV1 of `manager`'s entry (any operation).
fn owned(obj: &Value, manager: &str) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["manager"] == manager)
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}/{}",
                e["manager"].as_str().unwrap(),
                e["operation"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn apply_creates_and_owns_exactly_the_configuration() {
    let out = apply(None, &deploy(2, "nginx:1"), &writer(DEPLOY, "mgr"), false).unwrap();
    assert_eq!(out["spec"]["replicas"], 2);
    assert_eq!(managers(&out), vec!["mgr/Apply"]);
    assert_eq!(
        owned(&out, "mgr"),
        json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                    ".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
    let entry = &out["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(entry["time"], "2026-01-01T00:00:00Z");
    assert!(entry.get("subresource").is_none());
}

#[test]
fn dropped_fields_are_removed_unless_someone_else_owns_them() {
    let w = writer(DEPLOY, "mgr");
    let mut live = apply(None, &deploy(2, "nginx:1"), &w, false).unwrap();
    // Defaulting adds a field nobody owns: it must survive every apply.
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    live["metadata"]["annotations"] = json!({"other": "x"});
    let mut config = deploy(2, "nginx:1");
    config["spec"].as_object_mut().unwrap().remove("replicas");
    config["metadata"]["labels"] = json!({"tier": "front"});
    let out = apply(Some(&live), &config, &w, false).unwrap();
    assert!(out["spec"].get("replicas").is_none(), "{out}");
    assert_eq!(out["metadata"]["labels"], json!({"tier": "front"}));
    assert_eq!(out["metadata"]["annotations"], json!({"other": "x"}));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );

    // Owned by an updater as well: kept when the applier lets go.
    let mut updated = live.clone();
    updated["spec"]["replicas"] = json!(5);
    record_update(Some(&live), &mut updated, &writer(DEPLOY, "scaler"));
    assert_eq!(
        owned(&updated, "scaler"),
        json!({"f:spec": {"f:replicas": {}}})
    );
    let mut config = deploy(2, "nginx:1");
    config["spec"].as_object_mut().unwrap().remove("replicas");
    let out = apply(Some(&updated), &config, &w, false).unwrap();
    assert_eq!(out["spec"]["replicas"], 5);
}

#[test]
fn dropped_list_items_go_and_kept_items_merge() {
    let w = writer(DEPLOY, "mgr");
    let mut two = deploy(1, "a");
    two["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "s"}));
    let live = apply(None, &two, &w, false).unwrap();
    let out = apply(Some(&live), &deploy(1, "b"), &w, false).unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "nginx", "image": "b"}])
    );
    assert!(
        owned(&out, "mgr")["f:spec"]["f:template"]["f:spec"]["f:containers"]
            .get("k:{\"name\":\"sidecar\"}")
            .is_none()
    );
}

#[test]
fn conflicts_with_an_updater_and_force() {
    let live = apply(None, &deploy(2, "nginx:1"), &writer(DEPLOY, "mgr"), false).unwrap();
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    record_update(Some(&live), &mut scaled, &writer(DEPLOY, "kubectl-scale"));
    // The updater took the field from the applier.
    assert!(owned(&scaled, "mgr")["f:spec"].get("f:replicas").is_none());

    // The applier applies its old value: a conflict.
    let err = apply(
        Some(&scaled),
        &deploy(2, "nginx:1"),
        &writer(DEPLOY, "mgr"),
        false,
    )
    .unwrap_err();
    let ApplyError::Conflicts(c) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        c.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas"
    );

    // Applying the live value is no conflict: the field is shared.
    let shared = apply(
        Some(&scaled),
        &deploy(5, "nginx:1"),
        &writer(DEPLOY, "mgr"),
        false,
    )
    .unwrap();
    assert_eq!(
        owned(&shared, "kubectl-scale"),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(owned(&shared, "mgr")["f:spec"].get("f:replicas").is_some());

    // Forced: the applier wins and the updater's now empty entry goes.
    let forced = apply(
        Some(&scaled),
        &deploy(3, "nginx:1"),
        &writer(DEPLOY, "mgr"),
        true,
    )
    .unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    assert_eq!(managers(&forced), vec!["mgr/Apply"]);
}

#[test]
fn two_appliers_conflict_on_different_values_only() {
    let live = apply(None, &deploy(2, "nginx:1"), &writer(DEPLOY, "a"), false).unwrap();
    let b_config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 4, "paused": true}});
    let err = apply(Some(&live), &b_config, &writer(DEPLOY, "b"), false).unwrap_err();
    let ApplyError::Conflicts(c) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        c.causes(),
        vec![(
            "conflict with \"a\"".to_string(),
            ".spec.replicas".to_string()
        )]
    );
    let mut b_config = b_config;
    b_config["spec"]["replicas"] = json!(2);
    let out = apply(Some(&live), &b_config, &writer(DEPLOY, "b"), false).unwrap();
    assert_eq!(out["spec"]["paused"], true);
    assert_eq!(managers(&out), vec!["a/Apply", "b/Apply"]);
}

#[test]
fn update_on_create_records_as_upstream() {
    let mut obj = deploy(1, "nginx");
    obj["spec"]["strategy"] = json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 80, "protocol": "TCP"}]);
    obj["metadata"]["uid"] = json!("u");
    obj["status"] = json!({});
    record_update(None, &mut obj, &writer(DEPLOY, "kubectl-create"));
    assert_eq!(
        owned(&obj, "kubectl-create"),
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {},
                "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                    "f:type": {}},
                "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}, "f:protocol": {}}}}}}}}})
    );
    assert_eq!(obj["metadata"]["managedFields"][0]["operation"], "Update");
}

#[test]
fn updates_move_ownership_and_drop_empty_entries() {
    let w = |m| writer(CM, m);
    let mut v1 = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    record_update(None, &mut v1, &w("alice"));
    assert_eq!(
        owned(&v1, "alice"),
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
    );
    let mut v2 = v1.clone();
    v2["data"]["a"] = json!("x");
    record_update(Some(&v1), &mut v2, &w("bob"));
    assert_eq!(owned(&v2, "alice"), json!({"f:data": {".": {}, "f:b": {}}}));
    assert_eq!(owned(&v2, "bob"), json!({"f:data": {"f:a": {}}}));
    // Removing a field takes it from its owner.
    let mut v3 = v2.clone();
    v3["data"].as_object_mut().unwrap().remove("b");
    record_update(Some(&v2), &mut v3, &w("carol"));
    // Alice still owns the map itself (a member without children).
    assert_eq!(owned(&v3, "alice"), json!({"f:data": {}}));
    assert_eq!(
        owned(&v3, "carol"),
        Value::Null,
        "carol changed nothing she now owns"
    );
    // A write that changes nothing leaves managedFields as they were.
    let mut v4 = v3.clone();
    record_update(Some(&v3), &mut v4, &w("dave"));
    assert_eq!(
        v4["metadata"]["managedFields"],
        v3["metadata"]["managedFields"]
    );
}

#[test]
fn sets_keys_with_defaults_and_status_scope() {
    let w = writer(DEPLOY, "mgr");
    let mut config = deploy(1, "i");
    config["metadata"]["finalizers"] = json!(["example.com/a"]);
    config["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    config["status"] = json!({"replicas": 9});
    let out = apply(None, &config, &w, false).unwrap();
    let set = owned(&out, "mgr");
    assert_eq!(
        set["f:metadata"]["f:finalizers"],
        json!({"v:\"example.com/a\"": {}})
    );
    assert!(
        set["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"nginx\"}"]["f:ports"]
            .get("k:{\"containerPort\":80,\"protocol\":\"TCP\"}")
            .is_some()
    );
    assert!(set.get("f:status").is_none());

    let status = Writer {
        subresource: Some("status"),
        scope: Scope::OnlyStatus,
        ..w
    };
    let out = apply(Some(&out), &config, &status, false).unwrap();
    let mf = out["metadata"]["managedFields"].as_array().unwrap();
    let st = mf.iter().find(|e| e["subresource"] == "status").unwrap();
    assert_eq!(st["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
}

#[test]
fn bad_configurations() {
    let w = writer(DEPLOY, "mgr");
    let mut with_mf = deploy(1, "i");
    with_mf["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        apply(None, &with_mf, &w, false).unwrap_err(),
        ApplyError::BadRequest("metadata.managedFields must be nil".into())
    );
    let mut dup = deploy(1, "i");
    dup["spec"]["template"]["spec"]["containers"] =
        json!([{"name": "a", "image": "1"}, {"name": "a", "image": "2"}]);
    assert!(matches!(
        apply(None, &dup, &w, false).unwrap_err(),
        ApplyError::Typed(m) if m.contains("duplicate entries for key [name=\"a\"]")
    ));
    let mut nokey = deploy(1, "i");
    nokey["spec"]["template"]["spec"]["containers"] = json!([{"image": "1"}]);
    assert!(matches!(
        apply(None, &nokey, &w, false).unwrap_err(),
        ApplyError::Typed(m) if m.contains("omits key field \"name\"")
    ));
}

#[test]
fn client_side_apply_migrates_to_server_side() {
    // kubectl apply (client side): an Update by kubectl-client-side-apply
    // with the configuration in an annotation.
    let mut csa = deploy(1, "nginx:1");
    let text = format!("{}\n", deploy(1, "nginx:1"));
    csa["metadata"]["annotations"] = json!({LAST_APPLIED: text});
    record_update(None, &mut csa, &writer(DEPLOY, "kubectl-client-side-apply"));

    // kubectl apply --server-side changing replicas: no conflict, since
    // the field is still as the client-side apply set it.
    let out = apply(
        Some(&csa),
        &deploy(3, "nginx:1"),
        &writer(DEPLOY, "kubectl"),
        false,
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    let ann = out["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .unwrap();
    let last: Value = serde_json::from_str(ann).unwrap();
    assert_eq!(last["spec"]["replicas"], 3);
    assert!(
        owned(&out, "kubectl-client-side-apply")["f:spec"]
            .get("f:replicas")
            .is_none()
    );

    // Another manager gets no such pass.
    let err = apply(
        Some(&csa),
        &deploy(3, "nginx:1"),
        &writer(DEPLOY, "other"),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ApplyError::Conflicts(_)));
}

#[test]
fn dropping_all_metadata_fields_keeps_the_name() {
    let w = writer(CM, "mgr");
    let first = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "1", "y": "2"}});
    let live = apply(None, &first, &w, false).unwrap();
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"x": "1"}});
    let out = apply(Some(&live), &second, &w, false).unwrap();
    assert_eq!(out["metadata"]["name"], "c");
    assert!(out["metadata"].get("labels").is_none(), "{out}");
    assert_eq!(out["data"], json!({"x": "1"}));
    assert_eq!(owned(&out, "mgr"), json!({"f:data": {"f:x": {}}}));
}

/// Reapplying what was applied writes the applier's FieldsV1 back as it
/// was stored, whatever order its keys are in, and leaves
/// `managedFields` where it was among the metadata.
#[test]
fn reapplying_keeps_managed_fields_as_stored() {
    let w = writer(DEPLOY, "mgr");
    let cfg = deploy(2, "nginx:1");
    let mut live = apply(None, &cfg, &w, false).unwrap();
    let stored = owned(&live, "mgr");
    let mut reversed = serde_json::Map::new();
    for (k, v) in stored.as_object().unwrap().iter().rev() {
        reversed.insert(k.clone(), v.clone());
    }
    let reversed = Value::Object(reversed);
    live["metadata"]["managedFields"][0]["fieldsV1"] = reversed.clone();
    let md = live["metadata"].as_object_mut().unwrap();
    let labels = md.shift_remove("labels").unwrap();
    md.insert("labels".into(), labels);
    let keys =
        |v: &Value| -> Vec<String> { v["metadata"].as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&live), ["name", "managedFields", "labels"]);
    for cfg in [cfg, deploy(2, "nginx:2")] {
        let out = apply(Some(&live), &cfg, &w, false).unwrap();
        assert_eq!(keys(&out), ["name", "managedFields", "labels"]);
        assert_eq!(
            serde_json::to_string(&owned(&out, "mgr")).unwrap(),
            serde_json::to_string(&reversed).unwrap()
        );
    }
    // A changed set is written afresh, in order.
    let out = apply(Some(&live), &deploy(3, "nginx:1"), &w, false).unwrap();
    assert_eq!(keys(&out), ["name", "managedFields", "labels"]);
    let out = apply(
        Some(&out),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 3}}),
        &w,
        false,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&owned(&out, "mgr")).unwrap(),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
}
