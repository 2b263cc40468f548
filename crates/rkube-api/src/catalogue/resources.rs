//! The built-in resources of the served Kubernetes version (v1.37), with
//! upstream's scope, verbs, short names, categories and subresources.
//!
//! Only what kube-apiserver serves with its default configuration is listed:
//! every alpha and beta group-version is off by default (KEP-3136), so each
//! group appears with its GA versions only. Groups come in the order
//! kube-apiserver lists them under `/apis` (core first), resources in each
//! group alphabetically, subresources alphabetically, as discovery does.
//! One exception, last: the resource metrics API (metrics.k8s.io/v1beta1),
//! which a cluster gets from metrics-server upstream and rkube computes
//! itself ([`super::METRICS_GROUP`]).

use super::verbs::*;
use super::{METRICS_GROUP, ResourceDef, Subresource};

/// Every verb but `deletecollection` (namespaces).
const NO_DELETECOLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// Proxy subresources.
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];
/// Streaming subresources (attach, exec, portforward).
const CREATE_GET: &[&str] = &["create", "get"];

const V1: &[&str] = &["v1"];

/// A subresource whose body is of `kind` in the parent's group-version.
const fn sub(
    name: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        name,
        kind,
        group: "",
        version: "",
        verbs,
    }
}

/// A subresource whose body is of another group-version.
const fn sub_gv(
    name: &'static str,
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        name,
        kind,
        group,
        version,
        verbs,
    }
}

const fn status(kind: &'static str) -> Subresource {
    sub("status", kind, GET_PATCH_UPDATE)
}

const SCALE: Subresource = sub_gv("scale", "Scale", "autoscaling", "v1", GET_PATCH_UPDATE);

/// A stored resource with every verb, served in `versions` (preferred
/// first, which is also the storage version); fields that differ are
/// overridden with struct-update syntax.
const fn res(
    group: &'static str,
    versions: &'static [&'static str],
    kind: &'static str,
    list_kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> ResourceDef {
    ResourceDef {
        group,
        versions,
        storage_version: versions[0],
        kind,
        list_kind,
        plural,
        singular,
        namespaced,
        verbs: ALL,
        short_names: &[],
        categories: &[],
        subresources: &[],
        stored: true,
    }
}

/// A create-only virtual resource (reviews, bindings): never stored, no
/// list kind.
const fn review(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> ResourceDef {
    ResourceDef {
        verbs: CREATE_ONLY,
        stored: false,
        ..res(group, V1, kind, "", plural, singular, namespaced)
    }
}

const ALL_CATEGORY: &[&str] = &["all"];
const API_EXTENSIONS: &[&str] = &["api-extensions"];

const AR: &str = "admissionregistration.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";
const CERTS: &str = "certificates.k8s.io";
const FLOW: &str = "flowcontrol.apiserver.k8s.io";
const NET: &str = "networking.k8s.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const RES: &str = "resource.k8s.io";
const STO: &str = "storage.k8s.io";

#[rustfmt::skip]
pub static RESOURCES: &[ResourceDef] = &[
    // ---- core (/api/v1) ----
    review("", "Binding", "bindings", "binding", true),
    ResourceDef { verbs: READ_ONLY, short_names: &["cs"], stored: false,
        ..res("", V1, "ComponentStatus", "ComponentStatusList", "componentstatuses", "componentstatus", false) },
    ResourceDef { short_names: &["cm"], ..res("", V1, "ConfigMap", "ConfigMapList", "configmaps", "configmap", true) },
    ResourceDef { short_names: &["ep"], ..res("", V1, "Endpoints", "EndpointsList", "endpoints", "endpoints", true) },
    ResourceDef { short_names: &["ev"], ..res("", V1, "Event", "EventList", "events", "event", true) },
    ResourceDef { short_names: &["limits"],
        ..res("", V1, "LimitRange", "LimitRangeList", "limitranges", "limitrange", true) },
    ResourceDef { verbs: NO_DELETECOLLECTION, short_names: &["ns"],
        subresources: &[sub("finalize", "Namespace", &["update"]), status("Namespace")],
        ..res("", V1, "Namespace", "NamespaceList", "namespaces", "namespace", false) },
    ResourceDef { short_names: &["no"],
        subresources: &[sub("proxy", "NodeProxyOptions", PROXY_VERBS), status("Node")],
        ..res("", V1, "Node", "NodeList", "nodes", "node", false) },
    ResourceDef { short_names: &["pvc"], subresources: &[status("PersistentVolumeClaim")],
        ..res("", V1, "PersistentVolumeClaim", "PersistentVolumeClaimList", "persistentvolumeclaims",
              "persistentvolumeclaim", true) },
    ResourceDef { short_names: &["pv"], subresources: &[status("PersistentVolume")],
        ..res("", V1, "PersistentVolume", "PersistentVolumeList", "persistentvolumes", "persistentvolume", false) },
    ResourceDef { short_names: &["po"], categories: ALL_CATEGORY,
        subresources: &[
            sub("attach", "PodAttachOptions", CREATE_GET),
            sub("binding", "Binding", CREATE_ONLY),
            sub("ephemeralcontainers", "Pod", GET_PATCH_UPDATE),
            sub_gv("eviction", "Eviction", "policy", "v1", CREATE_ONLY),
            sub("exec", "PodExecOptions", CREATE_GET),
            sub("log", "Pod", &["get"]),
            sub("portforward", "PodPortForwardOptions", CREATE_GET),
            sub("proxy", "PodProxyOptions", PROXY_VERBS),
            sub("resize", "Pod", GET_PATCH_UPDATE),
            status("Pod"),
        ],
        ..res("", V1, "Pod", "PodList", "pods", "pod", true) },
    res("", V1, "PodTemplate", "PodTemplateList", "podtemplates", "podtemplate", true),
    ResourceDef { short_names: &["rc"], categories: ALL_CATEGORY,
        subresources: &[SCALE, status("ReplicationController")],
        ..res("", V1, "ReplicationController", "ReplicationControllerList", "replicationcontrollers",
              "replicationcontroller", true) },
    ResourceDef { short_names: &["quota"], subresources: &[status("ResourceQuota")],
        ..res("", V1, "ResourceQuota", "ResourceQuotaList", "resourcequotas", "resourcequota", true) },
    res("", V1, "Secret", "SecretList", "secrets", "secret", true),
    ResourceDef { short_names: &["sa"],
        subresources: &[sub_gv("token", "TokenRequest", "authentication.k8s.io", "v1", CREATE_ONLY)],
        ..res("", V1, "ServiceAccount", "ServiceAccountList", "serviceaccounts", "serviceaccount", true) },
    ResourceDef { short_names: &["svc"], categories: ALL_CATEGORY,
        subresources: &[sub("proxy", "ServiceProxyOptions", PROXY_VERBS), status("Service")],
        ..res("", V1, "Service", "ServiceList", "services", "service", true) },

    // ---- apiregistration.k8s.io ----
    ResourceDef { categories: API_EXTENSIONS, subresources: &[status("APIService")],
        ..res("apiregistration.k8s.io", V1, "APIService", "APIServiceList", "apiservices", "apiservice", false) },

    // ---- apps ----
    res("apps", V1, "ControllerRevision", "ControllerRevisionList", "controllerrevisions", "controllerrevision", true),
    ResourceDef { short_names: &["ds"], categories: ALL_CATEGORY, subresources: &[status("DaemonSet")],
        ..res("apps", V1, "DaemonSet", "DaemonSetList", "daemonsets", "daemonset", true) },
    ResourceDef { short_names: &["deploy"], categories: ALL_CATEGORY, subresources: &[SCALE, status("Deployment")],
        ..res("apps", V1, "Deployment", "DeploymentList", "deployments", "deployment", true) },
    ResourceDef { short_names: &["rs"], categories: ALL_CATEGORY, subresources: &[SCALE, status("ReplicaSet")],
        ..res("apps", V1, "ReplicaSet", "ReplicaSetList", "replicasets", "replicaset", true) },
    ResourceDef { short_names: &["sts"], categories: ALL_CATEGORY, subresources: &[SCALE, status("StatefulSet")],
        ..res("apps", V1, "StatefulSet", "StatefulSetList", "statefulsets", "statefulset", true) },

    // ---- events.k8s.io ----
    ResourceDef { short_names: &["ev"], ..res("events.k8s.io", V1, "Event", "EventList", "events", "event", true) },

    // ---- authentication.k8s.io ----
    review("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", false),
    review("authentication.k8s.io", "TokenReview", "tokenreviews", "tokenreview", false),

    // ---- authorization.k8s.io ----
    review(AUTHZ, "LocalSubjectAccessReview", "localsubjectaccessreviews", "localsubjectaccessreview", true),
    review(AUTHZ, "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", false),
    review(AUTHZ, "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", false),
    review(AUTHZ, "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview", false),

    // ---- autoscaling (v2 preferred and stored, v1 still served) ----
    ResourceDef { short_names: &["hpa"], categories: ALL_CATEGORY, subresources: &[status("HorizontalPodAutoscaler")],
        ..res("autoscaling", &["v2", "v1"], "HorizontalPodAutoscaler", "HorizontalPodAutoscalerList",
              "horizontalpodautoscalers", "horizontalpodautoscaler", true) },

    // ---- batch ----
    ResourceDef { short_names: &["cj"], categories: ALL_CATEGORY, subresources: &[status("CronJob")],
        ..res("batch", V1, "CronJob", "CronJobList", "cronjobs", "cronjob", true) },
    ResourceDef { categories: ALL_CATEGORY, subresources: &[status("Job")],
        ..res("batch", V1, "Job", "JobList", "jobs", "job", true) },

    // ---- certificates.k8s.io ----
    ResourceDef { short_names: &["csr"],
        subresources: &[sub("approval", "CertificateSigningRequest", GET_PATCH_UPDATE),
                        status("CertificateSigningRequest")],
        ..res(CERTS, V1, "CertificateSigningRequest", "CertificateSigningRequestList", "certificatesigningrequests",
              "certificatesigningrequest", false) },
    // GA and on by default in v1.37 (KEP-3257).
    res(CERTS, V1, "ClusterTrustBundle", "ClusterTrustBundleList", "clustertrustbundles", "clustertrustbundle", false),
    // GA and on by default in v1.37 (KEP-4317).
    ResourceDef { subresources: &[status("PodCertificateRequest")],
        ..res(CERTS, V1, "PodCertificateRequest", "PodCertificateRequestList", "podcertificaterequests",
              "podcertificaterequest", true) },

    // ---- networking.k8s.io ----
    res(NET, V1, "IngressClass", "IngressClassList", "ingressclasses", "ingressclass", false),
    ResourceDef { short_names: &["ing"], subresources: &[status("Ingress")],
        ..res(NET, V1, "Ingress", "IngressList", "ingresses", "ingress", true) },
    ResourceDef { short_names: &["ip"], ..res(NET, V1, "IPAddress", "IPAddressList", "ipaddresses", "ipaddress", false) },
    ResourceDef { short_names: &["netpol"],
        ..res(NET, V1, "NetworkPolicy", "NetworkPolicyList", "networkpolicies", "networkpolicy", true) },
    ResourceDef { subresources: &[status("ServiceCIDR")],
        ..res(NET, V1, "ServiceCIDR", "ServiceCIDRList", "servicecidrs", "servicecidr", false) },

    // ---- policy ----
    ResourceDef { short_names: &["pdb"], subresources: &[status("PodDisruptionBudget")],
        ..res("policy", V1, "PodDisruptionBudget", "PodDisruptionBudgetList", "poddisruptionbudgets",
              "poddisruptionbudget", true) },

    // ---- rbac.authorization.k8s.io ----
    res(RBAC, V1, "ClusterRoleBinding", "ClusterRoleBindingList", "clusterrolebindings", "clusterrolebinding", false),
    res(RBAC, V1, "ClusterRole", "ClusterRoleList", "clusterroles", "clusterrole", false),
    res(RBAC, V1, "RoleBinding", "RoleBindingList", "rolebindings", "rolebinding", true),
    res(RBAC, V1, "Role", "RoleList", "roles", "role", true),

    // ---- storage.k8s.io ----
    res(STO, V1, "CSIDriver", "CSIDriverList", "csidrivers", "csidriver", false),
    res(STO, V1, "CSINode", "CSINodeList", "csinodes", "csinode", false),
    res(STO, V1, "CSIStorageCapacity", "CSIStorageCapacityList", "csistoragecapacities", "csistoragecapacity", true),
    ResourceDef { short_names: &["sc"],
        ..res(STO, V1, "StorageClass", "StorageClassList", "storageclasses", "storageclass", false) },
    ResourceDef { subresources: &[status("VolumeAttachment")],
        ..res(STO, V1, "VolumeAttachment", "VolumeAttachmentList", "volumeattachments", "volumeattachment", false) },
    ResourceDef { short_names: &["vac"],
        ..res(STO, V1, "VolumeAttributesClass", "VolumeAttributesClassList", "volumeattributesclasses",
              "volumeattributesclass", false) },

    // ---- admissionregistration.k8s.io ----
    ResourceDef { categories: API_EXTENSIONS,
        ..res(AR, V1, "MutatingAdmissionPolicy", "MutatingAdmissionPolicyList", "mutatingadmissionpolicies",
              "mutatingadmissionpolicy", false) },
    ResourceDef { categories: API_EXTENSIONS,
        ..res(AR, V1, "MutatingAdmissionPolicyBinding", "MutatingAdmissionPolicyBindingList",
              "mutatingadmissionpolicybindings", "mutatingadmissionpolicybinding", false) },
    ResourceDef { categories: API_EXTENSIONS,
        ..res(AR, V1, "MutatingWebhookConfiguration", "MutatingWebhookConfigurationList",
              "mutatingwebhookconfigurations", "mutatingwebhookconfiguration", false) },
    ResourceDef { categories: API_EXTENSIONS, subresources: &[status("ValidatingAdmissionPolicy")],
        ..res(AR, V1, "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyList", "validatingadmissionpolicies",
              "validatingadmissionpolicy", false) },
    ResourceDef { categories: API_EXTENSIONS,
        ..res(AR, V1, "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicyBindingList",
              "validatingadmissionpolicybindings", "validatingadmissionpolicybinding", false) },
    ResourceDef { categories: API_EXTENSIONS,
        ..res(AR, V1, "ValidatingWebhookConfiguration", "ValidatingWebhookConfigurationList",
              "validatingwebhookconfigurations", "validatingwebhookconfiguration", false) },

    // ---- apiextensions.k8s.io ----
    ResourceDef { short_names: &["crd", "crds"], categories: API_EXTENSIONS,
        subresources: &[status("CustomResourceDefinition")],
        ..res("apiextensions.k8s.io", V1, "CustomResourceDefinition", "CustomResourceDefinitionList",
              "customresourcedefinitions", "customresourcedefinition", false) },

    // ---- scheduling.k8s.io ----
    ResourceDef { short_names: &["pc"],
        ..res("scheduling.k8s.io", V1, "PriorityClass", "PriorityClassList", "priorityclasses", "priorityclass", false) },

    // ---- coordination.k8s.io (LeaseCandidate is beta only: off) ----
    res("coordination.k8s.io", V1, "Lease", "LeaseList", "leases", "lease", true),

    // ---- node.k8s.io ----
    res("node.k8s.io", V1, "RuntimeClass", "RuntimeClassList", "runtimeclasses", "runtimeclass", false),

    // ---- discovery.k8s.io ----
    res("discovery.k8s.io", V1, "EndpointSlice", "EndpointSliceList", "endpointslices", "endpointslice", true),

    // ---- resource.k8s.io (v1 only; v1beta1 and v1beta2 are off by default) ----
    res(RES, V1, "DeviceClass", "DeviceClassList", "deviceclasses", "deviceclass", false),
    // DRADeviceTaintRules defaults to on in v1.37.
    ResourceDef { subresources: &[status("DeviceTaintRule")],
        ..res(RES, V1, "DeviceTaintRule", "DeviceTaintRuleList", "devicetaintrules", "devicetaintrule", false) },
    ResourceDef { subresources: &[status("ResourceClaim")],
        ..res(RES, V1, "ResourceClaim", "ResourceClaimList", "resourceclaims", "resourceclaim", true) },
    res(RES, V1, "ResourceClaimTemplate", "ResourceClaimTemplateList", "resourceclaimtemplates",
        "resourceclaimtemplate", true),
    res(RES, V1, "ResourceSlice", "ResourceSliceList", "resourceslices", "resourceslice", false),

    // ---- flowcontrol.apiserver.k8s.io ----
    ResourceDef { subresources: &[status("FlowSchema")],
        ..res(FLOW, V1, "FlowSchema", "FlowSchemaList", "flowschemas", "flowschema", false) },
    ResourceDef { subresources: &[status("PriorityLevelConfiguration")],
        ..res(FLOW, V1, "PriorityLevelConfiguration", "PriorityLevelConfigurationList", "prioritylevelconfigurations",
              "prioritylevelconfiguration", false) },

    // ---- storagemigration.k8s.io (GA and on by default in v1.37) ----
    ResourceDef { subresources: &[status("StorageVersionMigration")],
        ..res("storagemigration.k8s.io", V1, "StorageVersionMigration", "StorageVersionMigrationList",
              "storageversionmigrations", "storageversionmigration", false) },

    // ---- metrics.k8s.io: metrics-server's API, which upstream serves through
    // aggregation (hence last, and beta); rkube computes it on read ----
    ResourceDef { verbs: READ_ONLY, stored: false,
        ..res(METRICS_GROUP, &["v1beta1"], "NodeMetrics", "NodeMetricsList", "nodes", "nodemetrics", false) },
    ResourceDef { verbs: READ_ONLY, stored: false,
        ..res(METRICS_GROUP, &["v1beta1"], "PodMetrics", "PodMetricsList", "pods", "podmetrics", true) },
];

#[cfg(test)]
mod tests {
    use super::super::{groups, lookup, lookup_kind, resources_in};
    use super::*;

    fn count(group: &str) -> usize {
        RESOURCES.iter().filter(|d| d.group == group).count()
    }

    #[test]
    fn resources_per_group() {
        let expected: &[(&str, usize)] = &[
            ("", 17),
            ("apiregistration.k8s.io", 1),
            ("apps", 5),
            ("events.k8s.io", 1),
            ("authentication.k8s.io", 2),
            ("authorization.k8s.io", 4),
            ("autoscaling", 1),
            ("batch", 2),
            ("certificates.k8s.io", 3),
            ("networking.k8s.io", 5),
            ("policy", 1),
            ("rbac.authorization.k8s.io", 4),
            ("storage.k8s.io", 6),
            ("admissionregistration.k8s.io", 6),
            ("apiextensions.k8s.io", 1),
            ("scheduling.k8s.io", 1),
            ("coordination.k8s.io", 1),
            ("node.k8s.io", 1),
            ("discovery.k8s.io", 1),
            ("resource.k8s.io", 5),
            ("flowcontrol.apiserver.k8s.io", 2),
            ("storagemigration.k8s.io", 1),
            (METRICS_GROUP, 2),
        ];
        for (group, n) in expected {
            assert_eq!(count(group), *n, "group {group:?}");
        }
        let total: usize = expected.iter().map(|(_, n)| n).sum();
        assert_eq!(
            RESOURCES.len(),
            total,
            "a group is missing from the expectations"
        );
        let listed: Vec<&str> = groups().into_iter().map(|(g, _)| g).collect();
        let order: Vec<&str> = expected.iter().map(|(g, _)| *g).collect();
        assert_eq!(listed, order, "groups in /apis order");
    }

    #[test]
    fn served_group_versions() {
        let gvs: Vec<String> = groups()
            .into_iter()
            .flat_map(|(g, vs)| {
                vs.into_iter().map(move |v| {
                    if g.is_empty() {
                        v.to_string()
                    } else {
                        format!("{g}/{v}")
                    }
                })
            })
            .collect();
        assert_eq!(gvs.len(), 24);
        assert!(gvs.contains(&"autoscaling/v2".to_string()));
        assert!(gvs.contains(&"autoscaling/v1".to_string()));
        // Nothing but GA versions is on by default; the resource metrics
        // API is beta upstream too (metrics-server's).
        assert!(
            gvs.iter()
                .filter(|gv| *gv != "metrics.k8s.io/v1beta1")
                .all(|gv| !gv.contains("alpha") && !gv.contains("beta")),
            "{gvs:?}"
        );
        assert!(gvs.contains(&"metrics.k8s.io/v1beta1".to_string()));
        let autoscaling = groups()
            .into_iter()
            .find(|(g, _)| *g == "autoscaling")
            .unwrap();
        assert_eq!(autoscaling.1, vec!["v2", "v1"], "v2 is preferred");
    }

    #[test]
    fn table_is_well_formed() {
        for d in RESOURCES {
            let name = d.qualified_name();
            assert!(!d.versions.is_empty(), "{name}");
            assert_eq!(d.storage_version, d.versions[0], "{name}");
            assert!(
                d.kind.chars().next().unwrap().is_ascii_uppercase(),
                "{name}"
            );
            assert_eq!(d.singular, d.singular.to_lowercase(), "{name}");
            if d.stored {
                assert_eq!(d.list_kind, format!("{}List", d.kind), "{name}");
                assert!(d.has_verb("get"), "{name}");
            }
            let mut sorted = d.verbs.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, d.verbs, "{name}: verbs in discovery order");
            let subs: Vec<&str> = d.subresources.iter().map(|s| s.name).collect();
            let mut sorted = subs.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, subs, "{name}: subresources sorted");
            if let Some(s) = d.subresource("status") {
                assert_eq!(s.kind, d.kind, "{name}");
                assert_eq!(s.verbs, GET_PATCH_UPDATE, "{name}");
            }
        }
        // Short names are unique across the table, except `ev`, which both
        // event groups use upstream.
        let mut seen: Vec<&str> = Vec::new();
        for d in RESOURCES {
            for s in d.short_names {
                if *s != "ev" {
                    assert!(!seen.contains(s), "short name {s} twice");
                }
                seen.push(s);
            }
        }
    }

    #[test]
    fn spot_checks() {
        let pods = lookup("", "v1", "pods").unwrap();
        let subs: Vec<&str> = pods.subresources.iter().map(|s| s.name).collect();
        assert_eq!(
            subs,
            [
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "resize",
                "status"
            ]
        );
        let eviction = pods.subresource("eviction").unwrap();
        assert_eq!(
            (eviction.group, eviction.version, eviction.kind),
            ("policy", "v1", "Eviction")
        );
        assert_eq!(pods.subresource("exec").unwrap().verbs, ["create", "get"]);
        assert_eq!(pods.categories, ["all"]);

        let ns = lookup("", "v1", "namespaces").unwrap();
        assert!(!ns.has_verb("deletecollection"));
        assert_eq!(ns.subresource("finalize").unwrap().verbs, ["update"]);

        let svc = lookup("", "v1", "services").unwrap();
        assert_eq!(svc.verbs, ALL);
        assert_eq!(
            svc.subresource("proxy").unwrap().kind,
            "ServiceProxyOptions"
        );

        let bindings = lookup("", "v1", "bindings").unwrap();
        assert_eq!(bindings.verbs, ["create"]);
        assert!(!bindings.stored && bindings.namespaced);
        let cs = lookup("", "v1", "componentstatuses").unwrap();
        assert_eq!(
            (cs.verbs, cs.short_names),
            (&["get", "list"][..], &["cs"][..])
        );

        let sa = lookup("", "v1", "serviceaccounts").unwrap();
        let token = sa.subresource("token").unwrap();
        assert_eq!(
            (token.group, token.kind),
            ("authentication.k8s.io", "TokenRequest")
        );

        let tr = lookup("authentication.k8s.io", "v1", "tokenreviews").unwrap();
        assert_eq!(tr.verbs, ["create"]);
        assert!(!tr.stored && !tr.namespaced);
        let lsar = lookup("authorization.k8s.io", "v1", "localsubjectaccessreviews").unwrap();
        assert!(lsar.namespaced && !lsar.stored);

        let hpa = lookup("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        assert_eq!(hpa.storage_version, "v2");
        assert!(hpa.serves("v2"));

        let deploy = lookup_kind("apps", "Deployment").unwrap();
        assert_eq!(deploy.short_names, ["deploy"]);
        let scale = deploy.subresource("scale").unwrap();
        assert_eq!(
            (scale.group, scale.version, scale.kind),
            ("autoscaling", "v1", "Scale")
        );

        let crd = lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions").unwrap();
        assert_eq!(crd.short_names, ["crd", "crds"]);
        assert_eq!(crd.categories, ["api-extensions"]);
        let csr = lookup("certificates.k8s.io", "v1", "certificatesigningrequests").unwrap();
        assert!(csr.subresource("approval").is_some());
        assert!(lookup("certificates.k8s.io", "v1", "clustertrustbundles").is_some());
        assert!(lookup("storagemigration.k8s.io", "v1", "storageversionmigrations").is_some());
        assert!(
            lookup(
                "admissionregistration.k8s.io",
                "v1",
                "mutatingadmissionpolicies"
            )
            .is_some()
        );
        assert!(lookup("resource.k8s.io", "v1", "devicetaintrules").is_some());
        assert!(lookup("coordination.k8s.io", "v1beta1", "leasecandidates").is_none());
        assert!(lookup("resource.k8s.io", "v1beta2", "resourceclaims").is_none());
        assert_eq!(resources_in("rbac.authorization.k8s.io", "v1").count(), 4);
        let ev = lookup("events.k8s.io", "v1", "events").unwrap();
        assert_eq!(ev.short_names, ["ev"]);

        let pm = lookup("metrics.k8s.io", "v1beta1", "pods").unwrap();
        assert_eq!((pm.kind, pm.verbs), ("PodMetrics", &["get", "list"][..]));
        assert!(pm.namespaced && pm.computed() && !pm.stored);
        let nm = lookup("metrics.k8s.io", "v1beta1", "nodes").unwrap();
        assert!(!nm.namespaced && nm.computed() && !nm.has_verb("watch"));
        assert!(!lookup("", "v1", "pods").unwrap().computed());
        assert!(!lookup("", "v1", "componentstatuses").unwrap().computed());
    }
}
