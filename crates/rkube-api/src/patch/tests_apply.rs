//! Applying patches: table-driven cases worked out from upstream's rules,
//! on the built-in types.

use serde_json::{Value, json};

use super::{BUILTIN, PatchError, strategic_merge};

const POD: &str = "io.k8s.api.core.v1.Pod";
const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";

enum Want {
    Ok(Value),
    /// Status code and exact message.
    Err(u16, &'static str),
}

struct Case {
    name: &'static str,
    root: &'static str,
    original: Value,
    patch: Value,
    want: Want,
}

fn case(name: &'static str, original: Value, patch: Value, want: Want) -> Case {
    Case {
        name,
        root: POD,
        original,
        patch,
        want,
    }
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let got = strategic_merge(&c.original, &c.patch, &BUILTIN, c.root);
        match (&c.want, got) {
            (Want::Ok(want), Ok(got)) if *want == got => {}
            (Want::Err(code, msg), Err(e)) if e.code() == *code && e.message() == *msg => {}
            (Want::Ok(want), got) => {
                failures.push(format!("{}: want {want}, got {got:?}", c.name));
            }
            (Want::Err(code, msg), got) => {
                failures.push(format!(
                    "{}: want error {code} {msg:?}, got {got:?}",
                    c.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn spec(spec: Value) -> Value {
    json!({"spec": spec})
}

fn containers(list: Value) -> Value {
    json!({"spec": {"containers": list}})
}

#[test]
fn maps_and_scalars() {
    run(vec![
        case(
            "maps merge recursively, null deletes, unmatched nulls are dropped",
            json!({"metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}},
                   "spec": {"nodeSelector": {"disk": "ssd"}}}),
            json!({"metadata": {"labels": {"tier": null, "env": "prod", "nope": null},
                                "annotations": {"a": "1", "gone": null}}}),
            Want::Ok(
                json!({"metadata": {"name": "p", "labels": {"app": "web", "env": "prod"},
                                         "annotations": {"a": "1"}},
                            "spec": {"nodeSelector": {"disk": "ssd"}}}),
            ),
        ),
        case(
            "a value of another type replaces",
            spec(json!({"hostname": "h", "os": {"name": "linux"}})),
            spec(json!({"hostname": {"a": 1}, "os": "windows"})),
            Want::Ok(spec(json!({"hostname": {"a": 1}, "os": "windows"}))),
        ),
        case(
            "fields unknown to the schema merge as plain JSON; their lists are replaced",
            spec(json!({"x-extra": {"a": [1, 2], "b": {"c": 1}}})),
            spec(json!({"x-extra": {"a": [3], "b": {"d": 2}}})),
            Want::Ok(spec(json!({"x-extra": {"a": [3], "b": {"c": 1, "d": 2}}}))),
        ),
        case(
            "a new object drops nested nulls and objects carrying $patch",
            spec(json!({})),
            spec(json!({"affinity": {"nodeAffinity": {"$patch": "delete"},
                                     "podAffinity": {"x": null}}})),
            Want::Ok(spec(json!({"affinity": {"podAffinity": {}}}))),
        ),
        case(
            "$patch: replace on a map",
            spec(json!({"securityContext": {"runAsUser": 0, "fsGroup": 2}})),
            spec(json!({"securityContext": {"$patch": "replace", "runAsUser": 1}})),
            Want::Ok(spec(json!({"securityContext": {"runAsUser": 1}}))),
        ),
        case(
            "$patch: delete on a map empties it",
            spec(json!({"securityContext": {"runAsUser": 0}, "hostname": "h"})),
            spec(
                json!({"securityContext": {"$patch": "delete"}, "dnsConfig": {"$patch": "delete"}}),
            ),
            Want::Ok(spec(json!({"securityContext": {}, "hostname": "h"}))),
        ),
        case(
            "$patch: replace at the top replaces the object",
            json!({"metadata": {"name": "a"}, "spec": {"hostname": "h"}}),
            json!({"$patch": "replace", "metadata": {"name": "b"}}),
            Want::Ok(json!({"metadata": {"name": "b"}})),
        ),
        case(
            "unknown $patch on a map",
            json!({"metadata": {"labels": {"a": "b"}}}),
            json!({"metadata": {"labels": {"$patch": "nope"}}}),
            Want::Err(500, "unknown patch type: nope in map: map[$patch:nope]"),
        ),
        case(
            "$patch: merge is not a map directive",
            json!({"metadata": {"labels": {"a": "b"}}}),
            json!({"metadata": {"labels": {"$patch": "merge", "c": "d"}}}),
            Want::Err(
                500,
                "unknown patch type: merge in map: map[$patch:merge c:d]",
            ),
        ),
        case(
            "non-string $patch",
            json!({"metadata": {"labels": {"a": "b"}}}),
            json!({"metadata": {"labels": {"$patch": 1}}}),
            Want::Err(
                500,
                "unknown patch type: %!s(int64=1) in map: map[$patch:1]",
            ),
        ),
        case(
            "a patch that is not an object",
            json!({}),
            json!([{"op": "add"}]),
            Want::Err(
                400,
                "json: cannot unmarshal array into Go value of type map[string]interface {}",
            ),
        ),
        case(
            "a null patch changes nothing",
            json!({"metadata": {"name": "a"}}),
            Value::Null,
            Want::Ok(json!({"metadata": {"name": "a"}})),
        ),
    ]);
}

#[test]
fn merging_lists_of_objects() {
    let a = json!({"name": "a", "image": "a:1"});
    let b = json!({"name": "b", "image": "b:1"});
    let c = json!({"name": "c", "image": "c:1"});
    run(vec![
        case(
            "containers merge by name; other fields and items stay",
            containers(json!([{"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]}, b])),
            containers(json!([{"name": "a", "image": "a:2"}])),
            Want::Ok(containers(json!([
                {"name": "a", "image": "a:2", "ports": [{"containerPort": 80}]}, b]))),
        ),
        case(
            "without $setElementOrder a new item goes before the server's items",
            containers(json!([a, b])),
            containers(json!([c])),
            Want::Ok(containers(json!([c, a, b]))),
        ),
        case(
            "patch items keep the patch's order, server items interleave",
            containers(json!([a, b])),
            containers(json!([{"name": "c", "image": "c:1"}, {"name": "b", "image": "b:2"}])),
            Want::Ok(containers(json!([c, a, {"name": "b", "image": "b:2"}]))),
        ),
        case(
            "$patch: delete removes by key; missing keys are fine",
            containers(json!([a, b, c])),
            containers(
                json!([{"name": "b", "$patch": "delete"}, {"name": "zz", "$patch": "delete"}]),
            ),
            Want::Ok(containers(json!([a, c]))),
        ),
        case(
            "$patch: replace in a list replaces it with the other items",
            containers(json!([a, b])),
            containers(json!([c, {"$patch": "replace"}])),
            Want::Ok(containers(json!([c]))),
        ),
        case(
            "a delete item without the merge key",
            containers(json!([a])),
            containers(json!([{"$patch": "delete"}])),
            Want::Err(
                500,
                "map: map[$patch:delete] does not contain declared merge key: name",
            ),
        ),
        case(
            "a patch item without the merge key",
            containers(json!([a])),
            containers(json!([{"image": "x"}])),
            Want::Err(
                500,
                "map: map[image:x] does not contain declared merge key: name",
            ),
        ),
        case(
            "$patch: merge in a list",
            containers(json!([a])),
            containers(json!([{"$patch": "merge"}])),
            Want::Err(500, "merging lists cannot yet be specified in the patch"),
        ),
        case(
            "unknown $patch in a list",
            containers(json!([a])),
            containers(json!([{"name": "a", "$patch": "x"}])),
            Want::Err(500, "unknown patch type: x in map: map[$patch:x name:a]"),
        ),
        case(
            "ports merge by containerPort",
            containers(
                json!([{"name": "a", "ports": [{"containerPort": 80, "name": "http"},
                                                     {"containerPort": 443}]}]),
            ),
            containers(json!([{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}]}])),
            Want::Ok(containers(json!([{"name": "a", "ports": [
                {"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]}]))),
        ),
        case(
            "env merges by name",
            containers(
                json!([{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]),
            ),
            containers(
                json!([{"name": "a", "env": [{"name": "Y", "value": "3"}, {"name": "X", "$patch": "delete"}]}]),
            ),
            Want::Ok(containers(
                json!([{"name": "a", "env": [{"name": "Y", "value": "3"}]}]),
            )),
        ),
        case(
            "tolerations have no merge key: replaced",
            spec(json!({"tolerations": [{"key": "a"}]})),
            spec(json!({"tolerations": [{"key": "b"}]})),
            Want::Ok(spec(json!({"tolerations": [{"key": "b"}]}))),
        ),
        case(
            "imagePullSecrets merge by name",
            spec(json!({"imagePullSecrets": [{"name": "a"}]})),
            spec(json!({"imagePullSecrets": [{"name": "b"}]})),
            Want::Ok(spec(
                json!({"imagePullSecrets": [{"name": "b"}, {"name": "a"}]}),
            )),
        ),
        case(
            "ownerReferences merge by uid",
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "rs"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": true}]}}),
            Want::Ok(json!({"metadata": {"ownerReferences": [
                {"uid": "1", "name": "rs", "controller": true}]}})),
        ),
        case(
            "status conditions merge by type",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"},
                                             {"type": "Initialized", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            Want::Ok(
                json!({"status": {"conditions": [{"type": "Ready", "status": "True"},
                                                      {"type": "Initialized", "status": "True"}]}}),
            ),
        ),
        case(
            "a new list takes the patch with directives removed",
            spec(json!({})),
            containers(json!([a, {"name": "x", "$patch": "delete"}])),
            Want::Ok(containers(json!([a]))),
        ),
        case(
            "new items of a merged list are taken as sent (nulls included)",
            containers(json!([a])),
            containers(json!([{"name": "n", "image": null}])),
            Want::Ok(containers(json!([{"name": "n", "image": null}, a]))),
        ),
        case(
            "lists of lists",
            containers(json!([[1]])),
            containers(json!([[2]])),
            Want::Err(422, "lists of lists are not supported"),
        ),
        case(
            "mixed element types",
            containers(json!([{"name": "a"}])),
            containers(json!(["x"])),
            Want::Err(
                500,
                "list element types are not identical: [[map[name:a]] [x]]",
            ),
        ),
        case(
            "a list without merge key cannot take a deletion list of objects",
            spec(json!({"tolerations": [{"key": "a"}]})),
            spec(json!({"$deleteFromPrimitiveList/tolerations": [{"key": "a"}]})),
            Want::Err(500, "cannot merge lists without merge key for struct"),
        ),
    ]);
}

#[test]
fn primitive_lists() {
    let meta = |f: Value| json!({"metadata": {"finalizers": f}});
    run(vec![
        case(
            "finalizers are a set: union, patch items first unless placed by the server order",
            meta(json!(["a", "b"])),
            meta(json!(["c", "a"])),
            Want::Ok(meta(json!(["c", "a", "b"]))),
        ),
        case(
            "$deleteFromPrimitiveList removes items",
            meta(json!(["a", "b", "a"])),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}}),
            Want::Ok(meta(json!(["b"]))),
        ),
        case(
            "$deleteFromPrimitiveList on a missing list adds nothing",
            json!({"metadata": {"name": "x"}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            Want::Ok(json!({"metadata": {"name": "x"}})),
        ),
        case(
            "$deleteFromPrimitiveList works on lists without merge strategy",
            containers(json!([{"name": "a", "args": ["x", "y", "x"]}])),
            containers(json!([{"name": "a", "$deleteFromPrimitiveList/args": ["x"]}])),
            Want::Ok(containers(json!([{"name": "a", "args": ["y"]}]))),
        ),
        case(
            "$deleteFromPrimitiveList: null deletes the list",
            meta(json!(["a"])),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": null}}),
            Want::Ok(json!({"metadata": {}})),
        ),
        case(
            "a non-merge primitive list is replaced",
            containers(json!([{"name": "a", "args": ["x", "y"]}])),
            containers(json!([{"name": "a", "args": ["z"]}])),
            Want::Ok(containers(json!([{"name": "a", "args": ["z"]}]))),
        ),
        case(
            "a malformed deletion key",
            meta(json!(["a"])),
            json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
            Want::Err(400, "invalid patch format of primitive list"),
        ),
    ]);
}

#[test]
fn set_element_order() {
    let n = |name: &str| json!({"name": name});
    let ni = |name: &str, image: &str| json!({"name": name, "image": image});
    run(vec![
        case(
            "orders a set by the directive, merging its patch first",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"$setElementOrder/finalizers": ["b", "a", "c"], "finalizers": ["c"]}}),
            Want::Ok(json!({"metadata": {"finalizers": ["b", "a", "c"]}})),
        ),
        case(
            "server-only items keep their place relative to the ordered ones",
            containers(json!([n("x"), n("a"), n("y"), n("b")])),
            spec(json!({"$setElementOrder/containers": [n("b"), n("a")]})),
            Want::Ok(containers(json!([n("x"), n("y"), n("b"), n("a")]))),
        ),
        case(
            "server-only items after the ordered ones stay last",
            containers(json!([n("a"), n("b"), n("c"), n("d"), n("s")])),
            spec(json!({"$setElementOrder/containers": [n("d"), n("b"), n("c"), n("a")]})),
            Want::Ok(containers(json!([n("d"), n("b"), n("c"), n("a"), n("s")]))),
        ),
        case(
            "a new item lands where the directive puts it",
            containers(json!([ni("a", "1"), ni("b", "1")])),
            spec(
                json!({"$setElementOrder/containers": [n("a"), n("c"), n("b")],
                        "containers": [ni("c", "1")]}),
            ),
            Want::Ok(containers(json!([
                ni("a", "1"),
                ni("c", "1"),
                ni("b", "1")
            ]))),
        ),
        case(
            "deletion together with the directive",
            containers(json!([n("a"), n("b")])),
            spec(json!({"$setElementOrder/containers": [n("a")],
                        "containers": [{"name": "b", "$patch": "delete"}]})),
            Want::Ok(containers(json!([n("a")]))),
        ),
        case(
            "the directive names items the list lacks",
            containers(json!([n("a"), n("c")])),
            spec(
                json!({"$setElementOrder/containers": [n("c"), n("b"), n("a")],
                        "containers": [ni("c", "3"), ni("a", "1")]}),
            ),
            Want::Ok(containers(json!([ni("c", "3"), ni("a", "1")]))),
        ),
        case(
            "a list the original lacks takes the patch as sent",
            spec(json!({})),
            spec(json!({"$setElementOrder/containers": [n("a")],
                        "containers": [{"name": "a", "image": null}]})),
            Want::Ok(containers(json!([{"name": "a", "image": null}]))),
        ),
        case(
            "patch order must follow the directive",
            containers(json!([n("a"), n("b"), n("c")])),
            spec(
                json!({"$setElementOrder/containers": [n("a"), n("b"), n("c")],
                        "containers": [ni("c", "i"), ni("a", "i")]}),
            ),
            Want::Err(
                500,
                "The order in patch list:\n[map[image:i name:c] map[image:i name:a]]\n doesn't match $setElementOrder list:\n[map[name:a] map[name:b] map[name:c]]\n",
            ),
        ),
        case(
            "the directive must be a list",
            containers(json!([n("a")])),
            spec(json!({"$setElementOrder/containers": "a"})),
            Want::Err(500, "expected a []interface {}, but received a string"),
        ),
        case(
            "a malformed directive key",
            containers(json!([n("a")])),
            spec(json!({"$setElementOrderX/containers": [n("a")]})),
            Want::Err(400, "invalid patch format of setElementOrder list"),
        ),
        case(
            "an empty list and no patch list",
            spec(json!({"containers": []})),
            spec(json!({"$setElementOrder/containers": [n("a")]})),
            Want::Err(500, "no elements in any of the given slices"),
        ),
        case(
            "directive items without the merge key",
            containers(json!([n("a")])),
            spec(json!({"$setElementOrder/containers": [{"image": "x"}], "containers": [n("a")]})),
            Want::Err(
                500,
                "map: map[image:x] does not contain declared merge key: name",
            ),
        ),
    ]);
}

#[test]
fn retain_keys() {
    let rolling = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}});
    let deploy = |strategy: Value| json!({"spec": {"replicas": 2, "strategy": strategy}});
    let mut cases = vec![
        case(
            "keys not retained are cleared",
            deploy(rolling.clone()),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            Want::Ok(deploy(json!({"type": "Recreate"}))),
        ),
        case(
            "a patched key must be retained",
            deploy(rolling.clone()),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                         "rollingUpdate": {"maxSurge": 2}}}}),
            Want::Err(400, "invalid patch format of retainKeys"),
        ),
        case(
            "null patch values need not be retained",
            deploy(rolling.clone()),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                         "rollingUpdate": null}}}),
            Want::Ok(deploy(json!({"type": "Recreate"}))),
        ),
        case(
            "$retainKeys must be a list",
            deploy(rolling.clone()),
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
            Want::Err(400, "invalid patch format of retainKeys"),
        ),
    ];
    for c in &mut cases {
        c.root = DEPLOYMENT;
    }
    cases.push(case(
        "volume sources: switching the source of a volume",
        spec(json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]})),
        spec(
            json!({"volumes": [{"name": "v", "$retainKeys": ["configMap", "name"],
                                 "configMap": {"name": "cm"}}]}),
        ),
        Want::Ok(spec(
            json!({"volumes": [{"name": "v", "configMap": {"name": "cm"}},
                                         {"name": "w", "emptyDir": {}}]}),
        )),
    ));
    run(cases);
}

#[test]
fn special_shapes() {
    let csr = "io.k8s.api.certificates.v1.CertificateSigningRequest";
    let mut cases = vec![
        case(
            "lists under a map of lists cannot be merged",
            json!({"spec": {"extra": {"k": ["a"]}}}),
            json!({"spec": {"extra": {"k": ["b"]}}}),
            Want::Err(
                500,
                "merging an object in json but data type is not struct, instead is: map",
            ),
        ),
        case(
            "new keys of a map of lists are fine",
            json!({"spec": {"extra": {"k": ["a"]}}}),
            json!({"spec": {"extra": {"j": ["b"], "k": null}}}),
            Want::Ok(json!({"spec": {"extra": {"j": ["b"]}}})),
        ),
    ];
    for c in &mut cases {
        c.root = csr;
    }
    let mut new_template = case(
        "directives other than $patch stay in an object the original lacked",
        json!({"spec": {"replicas": 1}}),
        json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a"}]}}}}),
        Want::Ok(json!({"spec": {"replicas": 1, "template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a"}]}}}})),
    );
    new_template.root = DEPLOYMENT;
    cases.push(new_template);
    let mut scale = case(
        "a Scale",
        json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}, "status": {"replicas": 1}}),
        json!({"spec": {"replicas": 3}}),
        Want::Ok(
            json!({"metadata": {"name": "web"}, "spec": {"replicas": 3}, "status": {"replicas": 1}}),
        ),
    );
    scale.root = "io.k8s.api.autoscaling.v1.Scale";
    cases.push(scale);
    run(cases);
}

#[test]
fn errors_map_to_upstream_statuses() {
    let e = PatchError::Unprocessable("lists of lists are not supported".into());
    assert_eq!(e.code(), 422);
    assert_eq!(e.reason(), "Invalid");
    assert_eq!(
        e.status_message(),
        "the server rejected our request due to an error in our request"
    );
    let e = PatchError::BadRequest("invalid patch format of retainKeys".into());
    assert_eq!((e.code(), e.reason()), (400, "BadRequest"));
    assert_eq!(e.status_message(), "invalid patch format of retainKeys");
    let e = PatchError::Internal("x".into());
    assert_eq!((e.code(), e.reason(), e.status_message()), (500, "", "x"));
}
