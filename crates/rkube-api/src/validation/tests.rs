//! Validation cases, with the messages kube-apiserver gives for them.

use serde_json::{Value, json};

use super::*;
use crate::catalogue::ResourceDef;
use crate::defaults;
use crate::status::ApiError;

fn def(group: &'static str, kind: &'static str, namespaced: bool) -> ResourceDef {
    ResourceDef {
        group,
        versions: &["v1"],
        storage_version: "v1",
        kind,
        list_kind: "",
        plural: "",
        singular: "",
        namespaced,
        verbs: &[],
        short_names: &[],
        categories: &[],
        subresources: &[],
        stored: true,
    }
}

/// Default like the API server does, then validate; "field: message" lines.
fn check(
    group: &'static str,
    kind: &'static str,
    mut obj: Value,
    old: Option<&Value>,
) -> Vec<String> {
    let d = def(group, kind, kind != "Namespace" && kind != "Node");
    defaults::apply(&d, &mut obj);
    validate(&d, &obj, old)
        .into_iter()
        .map(|c| {
            if c.field.is_empty() {
                c.message
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect()
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn nginx() -> Value {
    pod(json!({"containers": [{"name": "nginx", "image": "nginx"}]}))
}

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn defaulted_objects_are_valid() {
    assert!(check("", "Pod", nginx(), None).is_empty());
    let deploy = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
            "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}]}}}});
    assert_eq!(
        check("apps", "Deployment", deploy, None),
        Vec::<String>::new()
    );
    let svc = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    assert!(check("", "Service", svc, None).is_empty());
    let ns = json!({"metadata": {"name": "team-a"}});
    assert!(check("", "Namespace", ns, None).is_empty());
    let hpa = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}});
    assert!(check("autoscaling", "HorizontalPodAutoscaler", hpa, None).is_empty());
    let sts = json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {"serviceName": "db",
        "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}]}});
    assert_eq!(
        check("apps", "StatefulSet", sts, None),
        Vec::<String>::new()
    );
    let ds = json!({"metadata": {"name": "agent", "namespace": "kube-system"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent"}]}}}});
    assert_eq!(check("apps", "DaemonSet", ds, None), Vec::<String>::new());
}

#[test]
fn pod_spec_rules() {
    assert_eq!(
        check("", "Pod", pod(json!({"containers": []})), None),
        vec!["spec.containers: Required value"]
    );
    let errs = check(
        "",
        "Pod",
        pod(json!({"containers": [
        {"name": "Web", "image": "nginx"},
        {"name": "b", "image": ""},
        {"name": "b", "image": "x", "ports": [{"containerPort": 70000, "protocol": "HTTP"}, {"containerPort": 0}]}
    ], "restartPolicy": "Sometimes", "dnsPolicy": "Cluster"})),
        None,
    );
    assert_eq!(errs, vec![
        format!("spec.containers[0].name: Invalid value: \"Web\": {LABEL_MSG}"),
        "spec.containers[1].image: Required value".to_string(),
        "spec.containers[2].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string(),
        "spec.containers[2].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"".to_string(),
        "spec.containers[2].ports[1].containerPort: Required value".to_string(),
        "spec.containers[2].name: Duplicate value: \"b\"".to_string(),
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".to_string(),
        "spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"".to_string(),
    ]);
}

#[test]
fn pod_resources_volumes_and_env() {
    let errs = check(
        "",
        "Pod",
        pod(json!({"containers": [{"name": "a", "image": "x",
        "resources": {"requests": {"cpu": "2", "memory": "-1"}, "limits": {"cpu": "1"}},
        "volumeMounts": [{"name": "missing", "mountPath": "/data"}],
        "env": [{"name": "A=B"}, {"name": "X", "valueFrom": {}}]}],
        "volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]})),
        None,
    );
    assert_eq!(errs, vec![
        "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type".to_string(),
        "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='".to_string(),
        "spec.containers[0].env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`".to_string(),
        "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"".to_string(),
        "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1".to_string(),
        "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0".to_string(),
    ]);
    let errs = check(
        "",
        "Pod",
        pod(json!({"containers": [{"name": "a", "image": "x",
        "resources": {"limits": {"example.com/gpu": "1"}, "requests": {"example.com/gpu": "2", "foo": "1"}}}]})),
        None,
    );
    assert_eq!(errs, vec![
        "spec.containers[0].resources.requests: Invalid value: \"2\": must be equal to example.com/gpu limit of 1".to_string(),
        "spec.containers[0].resources.requests[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified".to_string(),
    ]);
    let errs = check(
        "",
        "Pod",
        pod(json!({"containers": [{"name": "a", "image": "x"}],
        "volumes": [{"name": "cfg", "configMap": {}}], "tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]})),
        None,
    );
    assert_eq!(errs[0], "spec.volumes[0].configMap.name: Required value");
    assert!(errs[1].starts_with("spec.tolerations[0].operator: Invalid value: core.Toleration{Key:\"k\", Operator:\"Exists\", Value:\"v\""));
}

#[test]
fn pod_updates() {
    let d = def("", "Pod", true);
    let mut old = nginx();
    defaults::apply(&d, &mut old);
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    new["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "a", "operator": "Exists"}));
    assert!(validate(&d, &new, Some(&old)).is_empty());
    let mut moved = old.clone();
    moved["spec"]["restartPolicy"] = json!("Never");
    let errs = validate(&d, &moved, Some(&old));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec");
    assert!(errs[0].message.starts_with("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"));
    assert!(errs[0].message.contains("RestartPolicy"));
    let mut fewer = old.clone();
    fewer["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "b", "image": "b"}));
    defaults::apply(&d, &mut fewer);
    let errs = validate(&d, &fewer, Some(&old));
    assert_eq!(
        errs.last().unwrap().message,
        "Forbidden: pod updates may not add or remove containers"
    );
    let mut untolerated = old.clone();
    untolerated["spec"]["tolerations"] = json!([]);
    assert_eq!(
        validate(&d, &untolerated, Some(&old))[0].message,
        "Forbidden: existing toleration can not be modified except its tolerationSeconds"
    );
}

#[test]
fn deployments() {
    let d = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}});
    assert_eq!(
        check("apps", "Deployment", d, None),
        vec![
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        ]
    );
    let d = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": -1,
        "selector": {"matchLabels": {"app": "api"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}], "restartPolicy": "Never"}}}});
    let errs = check("apps", "Deployment", d, None);
    assert_eq!(
        errs,
        vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ]
    );
    let dd = def("apps", "Deployment", true);
    let mut old = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web", "v": "1"}}, "spec": {"containers": [{"name": "n", "image": "n"}]}}}});
    defaults::apply(&dd, &mut old);
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "1"}});
    let errs = validate(&dd, &new, Some(&old));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.selector");
    assert_eq!(
        errs[0].message,
        "Invalid value: &LabelSelector{MatchLabels:map[string]string{app: web,v: 1,},MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"
    );
    let err = ApiError::invalid("apps", "Deployment", "web", errs);
    assert!(err.message.starts_with(
        "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: &LabelSelector{"
    ));
}

#[test]
fn services() {
    let svc =
        |spec: Value| json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec});
    assert_eq!(
        check("", "Service", svc(json!({"selector": {"app": "x"}})), None),
        vec!["spec.ports: Required value"]
    );
    assert!(
        check(
            "",
            "Service",
            svc(json!({"type": "ExternalName", "externalName": "db.example.com"})),
            None
        )
        .is_empty()
    );
    let errs = check(
        "",
        "Service",
        svc(json!({"type": "Magic", "ports": [{"port": 0}, {"port": 80, "name": "a"}]})),
        None,
    );
    assert_eq!(
        errs,
        vec![
            "spec.ports[0].name: Required value",
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ]
    );
    let dup = check(
        "",
        "Service",
        svc(json!({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]})),
        None,
    );
    assert_eq!(
        dup,
        vec![
            "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}"
        ]
    );
    let named = svc(json!({"metadata": {}, "ports": [{"port": 80}]}));
    let mut bad_name = named.clone();
    bad_name["metadata"]["name"] = json!("1web");
    let errs = check("", "Service", bad_name, None);
    assert!(
        errs[0].starts_with(
            "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of"
        )
    );
    let d = def("", "Service", true);
    let mut old = svc(
        json!({"ports": [{"port": 80}], "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]}),
    );
    defaults::apply(&d, &mut old);
    let mut new = old.clone();
    new["spec"]["clusterIP"] = json!("10.96.0.11");
    new["spec"]["clusterIPs"] = json!(["10.96.0.11"]);
    assert_eq!(
        validate(&d, &new, Some(&old))[0].message,
        "Invalid value: []string{\"10.96.0.11\"}: may not change once set"
    );
}

#[test]
fn config_maps_and_secrets() {
    let cm = json!({"metadata": {"name": "cfg", "namespace": "default"}, "data": {"bad key": "x", "ok.key": "y"}});
    assert_eq!(
        check("", "ConfigMap", cm, None),
        vec![
            "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ]
    );
    let d = def("", "ConfigMap", true);
    let old = json!({"metadata": {"name": "cfg", "namespace": "default"}, "immutable": true, "data": {"a": "1"}});
    let new = json!({"metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "2"}});
    let msgs: Vec<String> = validate(&d, &new, Some(&old))
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    assert_eq!(
        msgs,
        vec![
            "immutable: Forbidden: field is immutable when `immutable` is set",
            "data: Forbidden: field is immutable when `immutable` is set",
        ]
    );
    let big = "A".repeat(1_400_000);
    let secret = json!({"metadata": {"name": "s", "namespace": "default"}, "data": {"k": big}});
    assert_eq!(
        check("", "Secret", secret, None),
        vec!["data: Too long: must have at most 1048576 bytes"]
    );
    let token = json!({"metadata": {"name": "t", "namespace": "default"}, "type": "kubernetes.io/service-account-token"});
    assert_eq!(
        check("", "Secret", token, None),
        vec!["metadata.annotations[kubernetes.io/service-account.name]: Required value"]
    );
    let tls = json!({"metadata": {"name": "t", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}});
    assert_eq!(
        check("", "Secret", tls, None),
        vec!["data[tls.key]: Required value"]
    );
    let sd = def("", "Secret", true);
    let old = json!({"metadata": {"name": "s", "namespace": "default"}, "type": "Opaque"});
    let new = json!({"metadata": {"name": "s", "namespace": "default"}, "type": "kubernetes.io/basic-auth", "data": {"username": "YQ=="}});
    assert_eq!(
        validate(&sd, &new, Some(&old))[0].message,
        "Invalid value: \"kubernetes.io/basic-auth\": field is immutable"
    );
}

#[test]
fn metadata_rules() {
    let ns = json!({"metadata": {"name": "Team_A"}});
    let errs = check("", "Namespace", ns, None);
    assert_eq!(
        errs[0],
        format!("metadata.name: Invalid value: \"Team_A\": {LABEL_MSG}")
    );
    let mut p = nginx();
    p["metadata"]["labels"] = json!({"app": "-bad-", "bad key!": "x"});
    p["metadata"]["annotations"] = json!({"note": "a".repeat(262_145)});
    p["metadata"]["finalizers"] = json!(["custom"]);
    let errs = check("", "Pod", p, None);
    assert_eq!(
        errs[0],
        "metadata.labels: Invalid value: \"-bad-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    );
    assert!(
        errs[1]
            .starts_with("metadata.labels: Invalid value: \"bad key!\": name part must consist of")
    );
    assert_eq!(
        errs[2],
        "metadata.annotations: Too long: must have at most 262144 bytes"
    );
    assert_eq!(
        errs[3],
        "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
    );
    let mut gen_named = nginx();
    gen_named["metadata"]["generateName"] = json!("Web-");
    gen_named["metadata"]["name"] = json!("Web-x7k2p");
    let errs = check("", "Pod", gen_named, None);
    assert!(errs[0].starts_with(
        "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain"
    ));
    assert!(errs[1].starts_with("metadata.name: Invalid value: \"Web-x7k2p\""));
}

#[test]
fn jobs_and_cronjobs() {
    let d = def("batch", "Job", true);
    let mut job = json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u1"}, "spec": {"template": {"spec": {
        "containers": [{"name": "pi", "image": "perl"}]}}}});
    defaults::apply(&d, &mut job);
    let msgs: Vec<String> = validate(&d, &job, None)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    assert_eq!(
        msgs,
        vec![
            "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`",
        ]
    );
    let mut ok = json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u1"}, "spec": {"template": {"spec": {
        "containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}});
    defaults::prepare_for_create(&d, &mut ok);
    defaults::apply(&d, &mut ok);
    assert!(validate(&d, &ok, None).is_empty());
    let mut changed = ok.clone();
    changed["spec"]["completions"] = json!(3);
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:5");
    let msgs: Vec<String> = validate(&d, &changed, Some(&ok))
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    assert_eq!(
        msgs,
        vec![
            "spec.completions: Invalid value: 3: field is immutable",
            "spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable",
        ]
    );
    let cj = json!({"metadata": {"name": "c", "namespace": "default"}, "spec": {"schedule": "61 * * * *",
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "b"}], "restartPolicy": "OnFailure"}}}}}});
    assert_eq!(
        check("batch", "CronJob", cj, None),
        vec![
            "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
        ]
    );
}

#[test]
fn autoscalers_rbac_leases_nodes() {
    let hpa = json!({"metadata": {"name": "h", "namespace": "default"}, "spec": {"minReplicas": 5, "maxReplicas": 2,
        "scaleTargetRef": {"kind": "Deployment", "name": ""}}});
    assert_eq!(
        check("autoscaling", "HorizontalPodAutoscaler", hpa, None),
        vec![
            "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
            "spec.scaleTargetRef.name: Required value",
        ]
    );
    let d = def("rbac.authorization.k8s.io", "RoleBinding", true);
    let old = json!({"metadata": {"name": "rb", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}]});
    let mut new = old.clone();
    new["roleRef"]["name"] = json!("b");
    assert_eq!(
        validate(&d, &new, Some(&old))[0].message,
        "Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"b\"}: cannot change roleRef"
    );
    let role = json!({"metadata": {"name": "r", "namespace": "default"}, "rules": [{"resources": ["pods"]}]});
    assert_eq!(
        check("rbac.authorization.k8s.io", "Role", role, None),
        vec![
            "rules[0].verbs: Required value: verbs must contain at least one value",
            "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        ]
    );
    let lease = json!({"metadata": {"name": "l", "namespace": "default"}, "spec": {"leaseDurationSeconds": 0}});
    assert_eq!(
        check("coordination.k8s.io", "Lease", lease, None),
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
    let node =
        json!({"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "a", "effect": "Bogus"}]}});
    assert_eq!(
        check("", "Node", node, None),
        vec![
            "metadata.taints[0].effect: Unsupported value: \"Bogus\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        ]
    );
}

#[test]
fn bad_quantities_are_decode_errors() {
    let d = def("", "Pod", true);
    let p = pod(
        json!({"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "one"}}}]}),
    );
    assert_eq!(
        check_decodable(&d, &p, "v1").unwrap_err(),
        "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    );
    assert!(check_decodable(&d, &nginx(), "v1").is_ok());
}

#[test]
fn events() {
    let ev = json!({"metadata": {"name": "web.17a", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "other"}, "reason": "Started"});
    assert_eq!(
        check("", "Event", ev, None),
        vec!["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"]
    );
    let ok = json!({"metadata": {"name": "Web.17A", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}});
    assert!(check("", "Event", ok, None).is_empty());
    let strict = json!({"metadata": {"name": "e", "namespace": "default"}, "eventTime": "2024-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}, "reportingController": "kubelet",
        "reportingInstance": "n1", "action": "Pulling", "reason": "Pulling", "type": "Info"});
    assert_eq!(
        check("events.k8s.io", "Event", strict, None),
        vec!["type: Invalid value: \"\": has invalid value: Info"]
    );
}
