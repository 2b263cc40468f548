//! The patches kubectl sends, applied to live objects as kube-apiserver
//! stores them (defaults filled in), and the patches kubectl computes.

use serde_json::{Value, json};

use super::{BUILTIN, create_two_way_merge_patch, root_definition, strategic_merge};

fn deployment_def() -> &'static str {
    root_definition("apps", "v1", "Deployment").expect("Deployment")
}

/// A Deployment as the server stores it after `kubectl create deployment
/// nginx --image=nginx:1.14.2 --port=80`.
fn live_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "uid": "u-1",
                     "labels": {"app": "nginx"}, "generation": 1,
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx:1.14.2",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent"
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "securityContext": {},
                    "schedulerName": "default-scheduler"
                }
            }
        },
        "status": {"replicas": 3, "conditions": [
            {"type": "Available", "status": "True"},
            {"type": "Progressing", "status": "True"}]}
    })
}

fn apply(live: &Value, patch: &Value) -> Value {
    strategic_merge(live, patch, &BUILTIN, deployment_def()).expect("patch applies")
}

fn container(v: &Value, i: usize) -> &Value {
    &v["spec"]["template"]["spec"]["containers"][i]
}

#[test]
fn kubectl_set_image() {
    // kubectl set image deployment/nginx nginx=nginx:1.21
    let live = live_deployment();
    let patch = json!({"spec":{"template":{"spec":{"containers":[{"image":"nginx:1.21","name":"nginx"}]}}}});
    let got = apply(&live, &patch);
    let mut want = live.clone();
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.21");
    assert_eq!(got, want);
}

#[test]
fn kubectl_label_and_annotate() {
    // kubectl label deployment nginx env=prod; kubectl label ... app-
    // (kubectl sends these as merge patches; they mean the same as
    // strategic ones.)
    let live = live_deployment();
    let got = apply(&live, &json!({"metadata":{"labels":{"env":"prod"}}}));
    assert_eq!(
        got["metadata"]["labels"],
        json!({"app": "nginx", "env": "prod"})
    );
    let got = apply(&got, &json!({"metadata":{"labels":{"app":null}}}));
    assert_eq!(got["metadata"]["labels"], json!({"env": "prod"}));
    let got = apply(&got, &json!({"metadata":{"annotations":{"note":"hi"}}}));
    assert_eq!(got["metadata"]["annotations"]["note"], "hi");
    assert_eq!(got["spec"], live["spec"]);
}

#[test]
fn kubectl_scale_patch_on_scale_subresource() {
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                       "metadata": {"name": "nginx"}, "spec": {"replicas": 3},
                       "status": {"replicas": 3, "selector": "app=nginx"}});
    let def = root_definition("autoscaling", "v1", "Scale").unwrap();
    let got = strategic_merge(&scale, &json!({"spec":{"replicas":5}}), &BUILTIN, def).unwrap();
    assert_eq!(got["spec"]["replicas"], 5);
    assert_eq!(got["status"], scale["status"]);
}

#[test]
fn kubectl_apply_changes_image_and_adds_a_container() {
    // What client-side `kubectl apply` sends after the manifest's image
    // changed and a sidecar was added.
    let live = live_deployment();
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}, {"name": "log"}],
            "containers": [{"image": "nginx:1.21", "name": "nginx"},
                           {"image": "busybox", "name": "log"}]}}}
    });
    let got = apply(&live, &patch);
    assert_eq!(container(&got, 0)["name"], "nginx");
    assert_eq!(container(&got, 0)["image"], "nginx:1.21");
    // Server-side defaults of the live container survive.
    assert_eq!(container(&got, 0)["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        container(&got, 1),
        &json!({"image": "busybox", "name": "log"})
    );
    assert_eq!(
        got["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision": "1",
               "kubectl.kubernetes.io/last-applied-configuration": "{}\n"})
    );
}

#[test]
fn kubectl_apply_removes_a_container_and_reorders_ports() {
    let mut live = live_deployment();
    let spec = &mut live["spec"]["template"]["spec"];
    spec["containers"][0]["ports"] = json!([
        {"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}]);
    spec["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "log", "image": "busybox"}));
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [
            {"$setElementOrder/ports": [{"containerPort": 443}, {"containerPort": 80}],
             "name": "nginx"},
            {"$patch": "delete", "name": "log"}]}}}});
    let got = apply(&live, &patch);
    let containers = got["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(
        containers[0]["ports"],
        json!([{"containerPort": 443, "protocol": "TCP"}, {"containerPort": 80, "protocol": "TCP"}])
    );
}

#[test]
fn kubectl_apply_switches_strategy_with_retain_keys() {
    let live = live_deployment();
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let got = apply(&live, &patch);
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn rollout_restart_pause_and_set_env_compute_two_way_patches() {
    let live = live_deployment();
    let def = deployment_def();

    // kubectl rollout restart: an annotation on the template.
    let mut restarted = live.clone();
    restarted["spec"]["template"]["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"});
    let patch = create_two_way_merge_patch(&live, &restarted, &BUILTIN, def).unwrap();
    assert_eq!(
        patch,
        json!({"spec":{"template":{"metadata":{"annotations":
            {"kubectl.kubernetes.io/restartedAt":"2025-01-01T00:00:00Z"}}}}})
    );
    assert_eq!(apply(&live, &patch), restarted);

    // kubectl rollout pause.
    let mut paused = live.clone();
    paused["spec"]["paused"] = json!(true);
    let patch = create_two_way_merge_patch(&live, &paused, &BUILTIN, def).unwrap();
    assert_eq!(patch, json!({"spec":{"paused":true}}));

    // kubectl set env deployment/nginx FOO=bar.
    let mut with_env = live.clone();
    with_env["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "FOO", "value": "bar"}]);
    let patch = create_two_way_merge_patch(&live, &with_env, &BUILTIN, def).unwrap();
    assert_eq!(
        patch,
        json!({"spec":{"template":{"spec":{
            "$setElementOrder/containers":[{"name":"nginx"}],
            "containers":[{"env":[{"name":"FOO","value":"bar"}],"name":"nginx"}]}}}})
    );
    assert_eq!(apply(&live, &patch), with_env);
}

#[test]
fn rollout_undo_equivalent_replaces_the_template() {
    // kubectl rollout undo sends a JSON patch replacing /spec/template; the
    // strategic equivalent is `$patch: replace` on the template.
    let live = live_deployment();
    let old = json!({"metadata": {"labels": {"app": "nginx"}},
                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}});
    let mut template = old.clone();
    template["$patch"] = json!("replace");
    let got = apply(&live, &json!({"spec": {"template": template}}));
    assert_eq!(got["spec"]["template"], old);
    assert_eq!(got["spec"]["replicas"], 3);
}

#[test]
fn kubectl_edit_style_two_way_patch() {
    let live = live_deployment();
    let mut edited = live.clone();
    let spec = &mut edited["spec"]["template"]["spec"];
    spec["containers"] = json!([
        {"name": "log", "image": "busybox", "args": ["tail"]},
        {"name": "nginx", "image": "nginx:1.21",
         "ports": [{"containerPort": 8080, "protocol": "TCP"}],
         "resources": {}, "terminationMessagePath": "/dev/termination-log",
         "terminationMessagePolicy": "File", "imagePullPolicy": "Always"}
    ]);
    spec["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    edited["metadata"]["finalizers"] = json!(["example.com/keep"]);
    edited["spec"]["strategy"] = json!({"type": "Recreate"});
    edited["metadata"]["labels"] = json!({"tier": "web"});

    let def = deployment_def();
    let patch = create_two_way_merge_patch(&live, &edited, &BUILTIN, def).unwrap();
    let tspec = &patch["spec"]["template"]["spec"];
    assert_eq!(
        tspec["$setElementOrder/containers"],
        json!([{"name": "log"}, {"name": "nginx"}])
    );
    assert_eq!(patch["spec"]["strategy"]["$retainKeys"], json!(["type"]));
    assert_eq!(patch["spec"]["strategy"]["rollingUpdate"], Value::Null);
    assert_eq!(
        patch["metadata"]["labels"],
        json!({"app": null, "tier": "web"})
    );
    assert_eq!(apply(&live, &patch), edited);

    // And back: deletions become `$patch: delete` and nulls.
    let back = create_two_way_merge_patch(&edited, &live, &BUILTIN, def).unwrap();
    let tspec = &back["spec"]["template"]["spec"];
    assert!(
        tspec["containers"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "log", "$patch": "delete"}))
    );
    assert_eq!(tspec["volumes"], Value::Null);
    assert_eq!(back["metadata"]["finalizers"], Value::Null);
    assert_eq!(apply(&edited, &back), live);
}

#[test]
fn two_way_primitive_sets_and_ports() {
    let def = root_definition("", "v1", "Pod").unwrap();
    let a = json!({"metadata": {"finalizers": ["a", "b", "c"]},
                   "spec": {"containers": [{"name": "c", "ports": [
                       {"containerPort": 80}, {"containerPort": 81}]}]}});
    let b = json!({"metadata": {"finalizers": ["c", "d", "a"]},
                   "spec": {"containers": [{"name": "c", "ports": [
                       {"containerPort": 81}, {"containerPort": 80, "name": "http"}]}]}});
    let patch = create_two_way_merge_patch(&a, &b, &BUILTIN, def).unwrap();
    assert_eq!(
        patch["metadata"],
        json!({"finalizers": ["d"], "$deleteFromPrimitiveList/finalizers": ["b"],
               "$setElementOrder/finalizers": ["c", "d", "a"]})
    );
    assert_eq!(
        patch["spec"]["containers"][0]["$setElementOrder/ports"],
        json!([{"containerPort": 81}, {"containerPort": 80}])
    );
    assert_eq!(strategic_merge(&a, &patch, &BUILTIN, def).unwrap(), b);
    // Identical objects give an empty patch.
    assert_eq!(
        create_two_way_merge_patch(&a, &a, &BUILTIN, def).unwrap(),
        json!({})
    );
}
