//! Objects as kubectl sends them, and as kube-apiserver stores them.

use serde_json::{Value, json};

use super::*;
use crate::catalogue::ResourceDef;

fn def(group: &'static str, kind: &'static str) -> ResourceDef {
    ResourceDef {
        group,
        versions: &["v1"],
        storage_version: "v1",
        kind,
        list_kind: "",
        plural: "",
        singular: "",
        namespaced: true,
        verbs: &[],
        short_names: &[],
        categories: &[],
        subresources: &[],
        stored: true,
    }
}

fn defaulted(group: &'static str, kind: &'static str, mut obj: Value) -> Value {
    let d = def(group, kind);
    apply(&d, &mut obj);
    let once = obj.clone();
    apply(&d, &mut obj);
    assert_eq!(obj, once, "defaulting is idempotent");
    obj
}

#[test]
fn kubectl_run_pod_reads_back_like_upstream() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"run": "nginx"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}],
                 "dnsPolicy": "ClusterFirst", "restartPolicy": "Always"},
        "status": {}
    });
    let out = defaulted("", "Pod", pod);
    let expected_spec = json!({
        "containers": [{
            "name": "nginx", "image": "nginx", "resources": {},
            "imagePullPolicy": "Always",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File"
        }],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "enableServiceLinks": true,
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ],
        "priority": 0,
        "preemptionPolicy": "PreemptLowerPriority"
    });
    assert_eq!(out["spec"], expected_spec);
}

#[test]
fn container_defaults() {
    let pod = json!({"spec": {"hostNetwork": true, "containers": [{
        "name": "a", "image": "registry.example.com:5000/team/app:1.2",
        "ports": [{"containerPort": 80}],
        "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}, "requests": {"cpu": "0.0001"}},
        "livenessProbe": {"httpGet": {"port": 80}},
        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]
    }], "volumes": [{"name": "v"}, {"name": "s", "secret": {"secretName": "x"}},
                    {"name": "h", "hostPath": {"path": "/tmp"}}]}});
    let out = defaulted("", "Pod", pod);
    let c = &out["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        c["ports"][0],
        json!({"containerPort": 80, "protocol": "TCP", "hostPort": 80})
    );
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "1m", "memory": "1Gi"}})
    );
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
               "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(c["env"][1]["valueFrom"]["resourceFieldRef"]["divisor"], "0");
    let v = &out["spec"]["volumes"];
    assert_eq!(v[0], json!({"name": "v", "emptyDir": {}}));
    assert_eq!(v[1]["secret"]["defaultMode"], 420);
    assert_eq!(v[2]["hostPath"]["type"], "");
}

#[test]
fn image_pull_policy_by_tag() {
    for (image, policy) in [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"),
        (
            "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "IfNotPresent",
        ),
        ("Nginx", "IfNotPresent"),
    ] {
        let out = defaulted(
            "",
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "image": image}]}}),
        );
        assert_eq!(
            out["spec"]["containers"][0]["imagePullPolicy"], policy,
            "{image}"
        );
    }
}

#[test]
fn admission_respects_existing_values() {
    let pod = json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "x"}},
        "spec": {"containers": [{"name": "a", "image": "x"}],
                 "tolerations": [{"operator": "Exists"}],
                 "priorityClassName": "system-node-critical"}});
    let out = defaulted("", "Pod", pod);
    assert!(out["spec"].get("serviceAccountName").is_none());
    assert_eq!(out["spec"]["tolerations"].as_array().unwrap().len(), 1);
    assert_eq!(out["spec"]["priority"], 2000001000);
}

#[test]
fn deployment_template_has_no_admission_defaults() {
    let d = json!({"metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}});
    let out = defaulted("apps", "Deployment", d);
    let spec = &out["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    let ps = &spec["template"]["spec"];
    assert_eq!(ps["schedulerName"], "default-scheduler");
    assert_eq!(ps["containers"][0]["resources"], json!({}));
    assert!(ps.get("enableServiceLinks").is_none());
    assert!(ps.get("tolerations").is_none());
    assert!(ps.get("serviceAccountName").is_none());
    assert!(ps.get("priority").is_none());
    let recreate = json!({"spec": {"strategy": {"type": "Recreate"}}});
    let out = defaulted("apps", "Deployment", recreate);
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn workload_defaults() {
    let sts = defaulted(
        "apps",
        "StatefulSet",
        json!({"spec": {"volumeClaimTemplates": [
        {"metadata": {"name": "www"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}}),
    );
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        sts["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    let pvc = &sts["spec"]["volumeClaimTemplates"][0];
    assert_eq!(pvc["kind"], "PersistentVolumeClaim");
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["status"]["phase"], "Pending");
    let ds = defaulted("apps", "DaemonSet", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    let rs = defaulted("apps", "ReplicaSet", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);
    let rc = defaulted(
        "",
        "ReplicationController",
        json!({"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}}),
    );
    assert_eq!(rc["spec"]["selector"], json!({"a": "b"}));
    assert_eq!(rc["metadata"]["labels"], json!({"a": "b"}));
}

#[test]
fn jobs_and_cronjobs() {
    let job = json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {
        "containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}});
    let d = def("batch", "Job");
    let mut job = job;
    prepare_for_create(&d, &mut job);
    apply(&d, &mut job);
    let spec = &job["spec"];
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["manualSelector"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    assert_eq!(
        spec["template"]["metadata"]["labels"],
        json!({
        "batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1", "job-name": "pi"})
    );
    assert_eq!(
        job["metadata"]["labels"],
        spec["template"]["metadata"]["labels"]
    );
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let indexed = defaulted(
        "batch",
        "Job",
        json!({"spec": {"backoffLimitPerIndex": 1, "parallelism": 3,
        "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
    );
    assert_eq!(indexed["spec"]["backoffLimit"], 2147483647);
    assert!(indexed["spec"].get("completions").is_none());
    assert_eq!(indexed["spec"]["podReplacementPolicy"], "Failed");
    assert_eq!(
        indexed["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
        "True"
    );
    let cj = defaulted(
        "batch",
        "CronJob",
        json!({"spec": {"schedule": "* * * * *",
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "busybox"}]}}}}}}),
    );
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
        "ClusterFirst"
    );
    assert!(
        cj["spec"]["jobTemplate"]["spec"]
            .get("backoffLimit")
            .is_none()
    );
}

#[test]
fn services() {
    let svc = defaulted(
        "",
        "Service",
        json!({"spec": {"selector": {"app": "web"},
        "ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "TCP"}]}}),
    );
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["ports"][1]["targetPort"], "https");
    assert!(spec.get("externalTrafficPolicy").is_none());
    let lb = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP"}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(
        lb["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    let headless = defaulted("", "Service", json!({"spec": {"clusterIP": "None"}}));
    assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
    assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
    let ext = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "x.example.com"}}),
    );
    assert!(ext["spec"].get("ipFamilies").is_none());
    assert!(ext["spec"].get("internalTrafficPolicy").is_none());
}

#[test]
fn namespaces_secrets_nodes() {
    let d = def("", "Namespace");
    let mut ns = json!({"metadata": {"name": "team-a"}});
    prepare_for_create(&d, &mut ns);
    apply(&d, &mut ns);
    assert_eq!(
        ns["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "team-a"})
    );
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"]["phase"], "Active");
    let mut finalized = json!({"metadata": {"name": "team-a"}, "spec": {"finalizers": []}, "status": {"phase": "Terminating"}});
    apply(&d, &mut finalized);
    assert_eq!(finalized["spec"]["finalizers"], json!([]));
    assert_eq!(finalized["status"]["phase"], "Terminating");
    let secret = defaulted(
        "",
        "Secret",
        json!({"stringData": {"password": "s3cr3t"}, "data": {"a": "YQ=="}}),
    );
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["data"], json!({"a": "YQ==", "password": "czNjcjN0"}));
    assert!(secret.get("stringData").is_none());
    let node = defaulted(
        "",
        "Node",
        json!({"spec": {"podCIDR": "10.0.1.0/24"},
        "status": {"capacity": {"cpu": "4", "memory": "8192Mi", "pods": "110"}}}),
    );
    assert_eq!(node["spec"]["podCIDRs"], json!(["10.0.1.0/24"]));
    assert_eq!(
        node["status"]["allocatable"],
        json!({"cpu": "4", "memory": "8Gi", "pods": "110"})
    );
    let pvc = defaulted(
        "",
        "PersistentVolumeClaim",
        json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}}),
    );
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["status"]["phase"], "Pending");
}

#[test]
fn hpa_and_others() {
    let hpa = defaulted(
        "autoscaling",
        "HorizontalPodAutoscaler",
        json!({"spec": {"maxReplicas": 5,
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}),
    );
    let spec = &hpa["spec"];
    assert_eq!(spec["minReplicas"], 1);
    assert_eq!(
        spec["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(
        spec["behavior"]["scaleUp"]["policies"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        60
    );
    assert_eq!(spec["behavior"]["scaleDown"]["selectPolicy"], "Max");
    let np = defaulted(
        "networking.k8s.io",
        "NetworkPolicy",
        json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}}),
    );
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
    let rb = defaulted(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        json!({"roleRef": {"kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s", "namespace": "d"}]}),
    );
    assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert!(rb["subjects"][1].get("apiGroup").is_none());
    let cm = defaulted("", "ConfigMap", json!({"data": {"a": "b"}}));
    assert_eq!(cm, json!({"data": {"a": "b"}}));
}

#[test]
fn service_updates_keep_allocated_values() {
    let d = def("", "Service");
    let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
        "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}});
    let mut new = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
    prepare_for_update(&d, &mut new, &old);
    apply(&d, &mut new);
    assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.5"]));
    assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
    let created = defaulted(
        "",
        "Service",
        json!({"spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 1}]}}),
    );
    assert_eq!(created["spec"]["clusterIPs"], json!(["10.96.0.9"]));
}
