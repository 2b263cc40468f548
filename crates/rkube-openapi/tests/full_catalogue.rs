//! The documents for every built-in resource of kube-apiserver 1.37 with
//! its subresources, whatever the catalogue lists today: the builder must
//! handle every shape the catalogue will hold.

mod common;

use rkube_api::catalogue::verbs::{ALL, CREATE_ONLY, GET_PATCH_UPDATE};
use rkube_api::catalogue::{ResourceDef, Subresource};
use rkube_api::patch_strategy;
use rkube_openapi::OpenApi;

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

const fn sub_in(
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

const STATUS: &[&str] = GET_PATCH_UPDATE;
const SCALE: Subresource = sub_in("scale", "Scale", "autoscaling", "v1", GET_PATCH_UPDATE);
const CONNECT: &[&str] = &["create", "delete", "get", "patch", "update"];

const fn r(
    group: &'static str,
    versions: &'static [&'static str],
    kind: &'static str,
    list_kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> ResourceDef {
    ResourceDef {
        group,
        versions,
        storage_version: versions[0],
        kind,
        list_kind,
        plural,
        singular: "",
        namespaced,
        verbs: ALL,
        short_names: &[],
        categories: &[],
        subresources: &[],
        stored: true,
    }
}

const V1: &[&str] = &["v1"];
const fn with(def: ResourceDef, subresources: &'static [Subresource]) -> ResourceDef {
    ResourceDef {
        subresources,
        ..def
    }
}
const fn verbs(def: ResourceDef, verbs: &'static [&'static str]) -> ResourceDef {
    ResourceDef { verbs, ..def }
}
const fn status(kind: &'static str) -> Subresource {
    sub("status", kind, STATUS)
}

static FULL: &[ResourceDef] = &[
    verbs(
        r("", V1, "Binding", "BindingList", "bindings", true),
        CREATE_ONLY,
    ),
    verbs(
        r(
            "",
            V1,
            "ComponentStatus",
            "ComponentStatusList",
            "componentstatuses",
            false,
        ),
        &["get", "list"],
    ),
    r("", V1, "ConfigMap", "ConfigMapList", "configmaps", true),
    r("", V1, "Endpoints", "EndpointsList", "endpoints", true),
    r("", V1, "Event", "EventList", "events", true),
    r("", V1, "LimitRange", "LimitRangeList", "limitranges", true),
    with(
        verbs(
            r("", V1, "Namespace", "NamespaceList", "namespaces", false),
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
        ),
        &[
            status("Namespace"),
            sub("finalize", "Namespace", &["update"]),
        ],
    ),
    with(
        r("", V1, "Node", "NodeList", "nodes", false),
        &[status("Node"), sub("proxy", "NodeProxyOptions", CONNECT)],
    ),
    with(
        r(
            "",
            V1,
            "PersistentVolumeClaim",
            "PersistentVolumeClaimList",
            "persistentvolumeclaims",
            true,
        ),
        &[status("PersistentVolumeClaim")],
    ),
    with(
        r(
            "",
            V1,
            "PersistentVolume",
            "PersistentVolumeList",
            "persistentvolumes",
            false,
        ),
        &[status("PersistentVolume")],
    ),
    with(
        r("", V1, "Pod", "PodList", "pods", true),
        &[
            sub("attach", "PodAttachOptions", &["create", "get"]),
            sub("binding", "Binding", &["create"]),
            sub("ephemeralcontainers", "Pod", GET_PATCH_UPDATE),
            sub_in("eviction", "Eviction", "policy", "v1", &["create"]),
            sub("exec", "PodExecOptions", &["create", "get"]),
            sub("log", "Pod", &["get"]),
            sub("portforward", "", &["create", "get"]),
            sub("proxy", "Pod", CONNECT),
            sub("resize", "Pod", GET_PATCH_UPDATE),
            status("Pod"),
        ],
    ),
    r(
        "",
        V1,
        "PodTemplate",
        "PodTemplateList",
        "podtemplates",
        true,
    ),
    with(
        r(
            "",
            V1,
            "ReplicationController",
            "ReplicationControllerList",
            "replicationcontrollers",
            true,
        ),
        &[SCALE, status("ReplicationController")],
    ),
    with(
        r(
            "",
            V1,
            "ResourceQuota",
            "ResourceQuotaList",
            "resourcequotas",
            true,
        ),
        &[status("ResourceQuota")],
    ),
    r("", V1, "Secret", "SecretList", "secrets", true),
    with(
        r(
            "",
            V1,
            "ServiceAccount",
            "ServiceAccountList",
            "serviceaccounts",
            true,
        ),
        &[sub_in(
            "token",
            "TokenRequest",
            "authentication.k8s.io",
            "v1",
            &["create"],
        )],
    ),
    with(
        r("", V1, "Service", "ServiceList", "services", true),
        &[
            sub("proxy", "ServiceProxyOptions", CONNECT),
            status("Service"),
        ],
    ),
    r(
        "admissionregistration.k8s.io",
        V1,
        "MutatingWebhookConfiguration",
        "MutatingWebhookConfigurationList",
        "mutatingwebhookconfigurations",
        false,
    ),
    r(
        "admissionregistration.k8s.io",
        V1,
        "ValidatingWebhookConfiguration",
        "ValidatingWebhookConfigurationList",
        "validatingwebhookconfigurations",
        false,
    ),
    with(
        r(
            "admissionregistration.k8s.io",
            V1,
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyList",
            "validatingadmissionpolicies",
            false,
        ),
        &[status("ValidatingAdmissionPolicy")],
    ),
    r(
        "admissionregistration.k8s.io",
        V1,
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBindingList",
        "validatingadmissionpolicybindings",
        false,
    ),
    r(
        "admissionregistration.k8s.io",
        V1,
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyList",
        "mutatingadmissionpolicies",
        false,
    ),
    r(
        "admissionregistration.k8s.io",
        V1,
        "MutatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicyBindingList",
        "mutatingadmissionpolicybindings",
        false,
    ),
    with(
        r(
            "apiextensions.k8s.io",
            V1,
            "CustomResourceDefinition",
            "CustomResourceDefinitionList",
            "customresourcedefinitions",
            false,
        ),
        &[status("CustomResourceDefinition")],
    ),
    with(
        r(
            "apiregistration.k8s.io",
            V1,
            "APIService",
            "APIServiceList",
            "apiservices",
            false,
        ),
        &[status("APIService")],
    ),
    r(
        "apps",
        V1,
        "ControllerRevision",
        "ControllerRevisionList",
        "controllerrevisions",
        true,
    ),
    with(
        r("apps", V1, "DaemonSet", "DaemonSetList", "daemonsets", true),
        &[status("DaemonSet")],
    ),
    with(
        r(
            "apps",
            V1,
            "Deployment",
            "DeploymentList",
            "deployments",
            true,
        ),
        &[SCALE, status("Deployment")],
    ),
    with(
        r(
            "apps",
            V1,
            "ReplicaSet",
            "ReplicaSetList",
            "replicasets",
            true,
        ),
        &[SCALE, status("ReplicaSet")],
    ),
    with(
        r(
            "apps",
            V1,
            "StatefulSet",
            "StatefulSetList",
            "statefulsets",
            true,
        ),
        &[SCALE, status("StatefulSet")],
    ),
    verbs(
        r(
            "authentication.k8s.io",
            V1,
            "SelfSubjectReview",
            "SelfSubjectReviewList",
            "selfsubjectreviews",
            false,
        ),
        CREATE_ONLY,
    ),
    verbs(
        r(
            "authentication.k8s.io",
            V1,
            "TokenReview",
            "TokenReviewList",
            "tokenreviews",
            false,
        ),
        CREATE_ONLY,
    ),
    verbs(
        r(
            "authorization.k8s.io",
            V1,
            "LocalSubjectAccessReview",
            "LocalSubjectAccessReviewList",
            "localsubjectaccessreviews",
            true,
        ),
        CREATE_ONLY,
    ),
    verbs(
        r(
            "authorization.k8s.io",
            V1,
            "SelfSubjectAccessReview",
            "SelfSubjectAccessReviewList",
            "selfsubjectaccessreviews",
            false,
        ),
        CREATE_ONLY,
    ),
    verbs(
        r(
            "authorization.k8s.io",
            V1,
            "SelfSubjectRulesReview",
            "SelfSubjectRulesReviewList",
            "selfsubjectrulesreviews",
            false,
        ),
        CREATE_ONLY,
    ),
    verbs(
        r(
            "authorization.k8s.io",
            V1,
            "SubjectAccessReview",
            "SubjectAccessReviewList",
            "subjectaccessreviews",
            false,
        ),
        CREATE_ONLY,
    ),
    with(
        r(
            "autoscaling",
            &["v2", "v1"],
            "HorizontalPodAutoscaler",
            "HorizontalPodAutoscalerList",
            "horizontalpodautoscalers",
            true,
        ),
        &[status("HorizontalPodAutoscaler")],
    ),
    with(
        r("batch", V1, "CronJob", "CronJobList", "cronjobs", true),
        &[status("CronJob")],
    ),
    with(
        r("batch", V1, "Job", "JobList", "jobs", true),
        &[status("Job")],
    ),
    with(
        r(
            "certificates.k8s.io",
            V1,
            "CertificateSigningRequest",
            "CertificateSigningRequestList",
            "certificatesigningrequests",
            false,
        ),
        &[
            sub("approval", "CertificateSigningRequest", GET_PATCH_UPDATE),
            status("CertificateSigningRequest"),
        ],
    ),
    r(
        "certificates.k8s.io",
        V1,
        "ClusterTrustBundle",
        "ClusterTrustBundleList",
        "clustertrustbundles",
        false,
    ),
    r(
        "coordination.k8s.io",
        V1,
        "Lease",
        "LeaseList",
        "leases",
        true,
    ),
    r(
        "discovery.k8s.io",
        V1,
        "EndpointSlice",
        "EndpointSliceList",
        "endpointslices",
        true,
    ),
    r("events.k8s.io", V1, "Event", "EventList", "events", true),
    with(
        r(
            "flowcontrol.apiserver.k8s.io",
            V1,
            "FlowSchema",
            "FlowSchemaList",
            "flowschemas",
            false,
        ),
        &[status("FlowSchema")],
    ),
    with(
        r(
            "flowcontrol.apiserver.k8s.io",
            V1,
            "PriorityLevelConfiguration",
            "PriorityLevelConfigurationList",
            "prioritylevelconfigurations",
            false,
        ),
        &[status("PriorityLevelConfiguration")],
    ),
    r(
        "networking.k8s.io",
        V1,
        "IngressClass",
        "IngressClassList",
        "ingressclasses",
        false,
    ),
    with(
        r(
            "networking.k8s.io",
            V1,
            "Ingress",
            "IngressList",
            "ingresses",
            true,
        ),
        &[status("Ingress")],
    ),
    r(
        "networking.k8s.io",
        V1,
        "IPAddress",
        "IPAddressList",
        "ipaddresses",
        false,
    ),
    r(
        "networking.k8s.io",
        V1,
        "NetworkPolicy",
        "NetworkPolicyList",
        "networkpolicies",
        true,
    ),
    with(
        r(
            "networking.k8s.io",
            V1,
            "ServiceCIDR",
            "ServiceCIDRList",
            "servicecidrs",
            false,
        ),
        &[status("ServiceCIDR")],
    ),
    r(
        "node.k8s.io",
        V1,
        "RuntimeClass",
        "RuntimeClassList",
        "runtimeclasses",
        false,
    ),
    with(
        r(
            "policy",
            V1,
            "PodDisruptionBudget",
            "PodDisruptionBudgetList",
            "poddisruptionbudgets",
            true,
        ),
        &[status("PodDisruptionBudget")],
    ),
    r(
        "rbac.authorization.k8s.io",
        V1,
        "ClusterRoleBinding",
        "ClusterRoleBindingList",
        "clusterrolebindings",
        false,
    ),
    r(
        "rbac.authorization.k8s.io",
        V1,
        "ClusterRole",
        "ClusterRoleList",
        "clusterroles",
        false,
    ),
    r(
        "rbac.authorization.k8s.io",
        V1,
        "RoleBinding",
        "RoleBindingList",
        "rolebindings",
        true,
    ),
    r(
        "rbac.authorization.k8s.io",
        V1,
        "Role",
        "RoleList",
        "roles",
        true,
    ),
    r(
        "resource.k8s.io",
        V1,
        "DeviceClass",
        "DeviceClassList",
        "deviceclasses",
        false,
    ),
    with(
        r(
            "resource.k8s.io",
            V1,
            "ResourceClaim",
            "ResourceClaimList",
            "resourceclaims",
            true,
        ),
        &[status("ResourceClaim")],
    ),
    r(
        "resource.k8s.io",
        V1,
        "ResourceClaimTemplate",
        "ResourceClaimTemplateList",
        "resourceclaimtemplates",
        true,
    ),
    r(
        "resource.k8s.io",
        V1,
        "ResourceSlice",
        "ResourceSliceList",
        "resourceslices",
        false,
    ),
    r(
        "scheduling.k8s.io",
        V1,
        "PriorityClass",
        "PriorityClassList",
        "priorityclasses",
        false,
    ),
    r(
        "storage.k8s.io",
        V1,
        "CSIDriver",
        "CSIDriverList",
        "csidrivers",
        false,
    ),
    r(
        "storage.k8s.io",
        V1,
        "CSINode",
        "CSINodeList",
        "csinodes",
        false,
    ),
    r(
        "storage.k8s.io",
        V1,
        "CSIStorageCapacity",
        "CSIStorageCapacityList",
        "csistoragecapacities",
        true,
    ),
    r(
        "storage.k8s.io",
        V1,
        "StorageClass",
        "StorageClassList",
        "storageclasses",
        false,
    ),
    with(
        r(
            "storage.k8s.io",
            V1,
            "VolumeAttachment",
            "VolumeAttachmentList",
            "volumeattachments",
            false,
        ),
        &[status("VolumeAttachment")],
    ),
    r(
        "storage.k8s.io",
        V1,
        "VolumeAttributesClass",
        "VolumeAttributesClassList",
        "volumeattributesclasses",
        false,
    ),
];

fn full() -> &'static OpenApi {
    static API: std::sync::OnceLock<OpenApi> = std::sync::OnceLock::new();
    API.get_or_init(|| OpenApi::build_for(FULL))
}

#[test]
fn full_documents_hold_what_kubectl_reads() {
    common::check_all(full(), FULL);
}

/// Every kind has its real schema (no open-object placeholder).
#[test]
fn every_kind_has_its_schema() {
    let doc = common::v2(full());
    for (name, def) in doc["definitions"].as_object().unwrap() {
        let text = def["description"].as_str().unwrap_or_default();
        assert!(!text.contains("not published"), "{name}");
    }
    let v1 = common::v3(full(), "api/v1");
    let pod = &v1["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
    assert!(pod["x-kubernetes-group-version-kind"].is_array());
    // The streaming subresources never carry the parent's kind on PATCH.
    let proxy = &v1["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/proxy"]["patch"];
    assert_eq!(
        proxy["x-kubernetes-group-version-kind"]["kind"],
        "PodProxyOptions"
    );
    let pf = &v1["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/portforward"]["get"];
    assert_eq!(
        pf["x-kubernetes-group-version-kind"]["kind"],
        "PodPortForwardOptions"
    );
    let log = &v1["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"];
    assert_eq!(log["x-kubernetes-action"], "get");
    let eviction = &v1["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"];
    assert_eq!(
        eviction["x-kubernetes-group-version-kind"]["group"],
        "policy"
    );
}

/// Every fact of the patch strategy table on a GA type names a property of
/// that type's published schema.
#[test]
fn patch_table_matches_the_schemas() {
    let doc = common::v2(full());
    let defs = doc["definitions"].as_object().unwrap();
    let mut checked = 0;
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
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked}");
}
