//! Patch strategies, merge keys and list types of the built-in types: the
//! facts that strategic merge patch, server-side apply and the served
//! OpenAPI's `x-kubernetes-*` extensions all read. One table, written from
//! the upstream API reference: the `+patchMergeKey`, `+patchStrategy`,
//! `+listType`, `+listMapKey`, `+mapType` and `+structType` markers of the
//! types in `k8s.io/api` (every GA group-version), `k8s.io/apimachinery`'s
//! `meta/v1` and `apiextensions.k8s.io/v1`.
//!
//! Keys are upstream definition names (`io.k8s.api.core.v1.PodSpec`) and JSON
//! field names (`containers`). A field absent from the table has no patch
//! strategy (a list is replaced whole by strategic merge patch, treated as
//! atomic by server-side apply) unless its type says otherwise; a definition
//! absent from the table has no struct-level map type (granular).

/// `x-kubernetes-list-type`: how server-side apply merges a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Replaced whole; one owner.
    Atomic,
    /// Scalar items merged as a set.
    Set,
    /// Object items keyed by these fields (`x-kubernetes-list-map-keys`).
    Map(&'static [&'static str]),
}

impl ListType {
    /// The extension's value: `atomic`, `set` or `map`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map(_) => "map",
        }
    }

    /// The keys of a `map` list; empty for the others.
    pub fn map_keys(&self) -> &'static [&'static str] {
        match self {
            ListType::Map(keys) => keys,
            _ => &[],
        }
    }
}

/// `x-kubernetes-map-type`: whether a map or struct is merged field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    Atomic,
    Granular,
}

impl MapType {
    pub fn as_str(&self) -> &'static str {
        match self {
            MapType::Atomic => "atomic",
            MapType::Granular => "granular",
        }
    }
}

/// The merge facts of one field of one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldStrategy {
    /// JSON name of the field.
    pub field: &'static str,
    /// `x-kubernetes-patch-strategy`: `merge`, `retainKeys`, `replace` or a
    /// comma-separated combination (`merge,retainKeys`); empty for none.
    pub patch_strategy: &'static str,
    /// `x-kubernetes-patch-merge-key`; empty for none.
    pub merge_key: &'static str,
    pub list_type: Option<ListType>,
    /// Map type of a map-valued field.
    pub map_type: Option<MapType>,
}

impl FieldStrategy {
    /// The individual strategies (`merge`, `retainKeys`, ...).
    pub fn patch_strategies(&self) -> impl Iterator<Item = &'static str> {
        self.patch_strategy.split(',').filter(|s| !s.is_empty())
    }

    pub fn has_patch_strategy(&self, strategy: &str) -> bool {
        self.patch_strategies().any(|s| s == strategy)
    }

    /// Strategic merge patch merges this list by `merge_key`.
    pub fn merges(&self) -> bool {
        self.has_patch_strategy("merge")
    }

    pub fn retains_keys(&self) -> bool {
        self.has_patch_strategy("retainKeys")
    }

    pub fn patch_merge_key(&self) -> Option<&'static str> {
        (!self.merge_key.is_empty()).then_some(self.merge_key)
    }

    /// `x-kubernetes-list-map-keys`; empty unless the list type is `map`.
    pub fn list_map_keys(&self) -> &'static [&'static str] {
        self.list_type.map(|l| l.map_keys()).unwrap_or(&[])
    }
}

/// The merge facts of one definition: its struct-level map type and the
/// fields that carry markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeStrategy {
    pub definition: &'static str,
    /// `+structType`: `Atomic` structs are replaced whole by server-side
    /// apply (`x-kubernetes-map-type: atomic` on the definition).
    pub map_type: Option<MapType>,
    pub fields: &'static [FieldStrategy],
}

/// Every definition of the table, sorted by name.
pub fn all() -> &'static [TypeStrategy] {
    TABLE
}

/// The entry of one definition.
pub fn definition(definition: &str) -> Option<&'static TypeStrategy> {
    TABLE
        .binary_search_by(|t| t.definition.cmp(definition))
        .ok()
        .map(|i| &TABLE[i])
}

/// The facts of one field, if it has any.
pub fn lookup(definition_name: &str, field: &str) -> Option<&'static FieldStrategy> {
    definition(definition_name)?
        .fields
        .iter()
        .find(|f| f.field == field)
}

/// Every field of a definition that has facts.
pub fn fields(definition_name: &str) -> &'static [FieldStrategy] {
    definition(definition_name).map(|t| t.fields).unwrap_or(&[])
}

/// Struct-level map type of a definition (`Some(Atomic)` for `+structType=atomic`).
pub fn struct_map_type(definition_name: &str) -> Option<MapType> {
    definition(definition_name)?.map_type
}

/// Patch merge key of a list field (`("io.k8s.api.core.v1.PodSpec",
/// "containers")` gives `Some("name")`).
pub fn merge_key(definition_name: &str, field: &str) -> Option<&'static str> {
    lookup(definition_name, field)?.patch_merge_key()
}

/// `x-kubernetes-list-type` of a field.
pub fn list_type(definition_name: &str, field: &str) -> Option<ListType> {
    lookup(definition_name, field)?.list_type
}

const ATOMIC: Option<ListType> = Some(ListType::Atomic);
const SET: Option<ListType> = Some(ListType::Set);
const NONE: Option<ListType> = None;

const fn keys(keys: &'static [&'static str]) -> Option<ListType> {
    Some(ListType::Map(keys))
}

const fn f(
    field: &'static str,
    patch_strategy: &'static str,
    merge_key: &'static str,
    list_type: Option<ListType>,
    map_type: Option<MapType>,
) -> FieldStrategy {
    FieldStrategy {
        field,
        patch_strategy,
        merge_key,
        list_type,
        map_type,
    }
}

/// A list with `+listType=atomic` and no patch strategy.
const fn atomic(field: &'static str) -> FieldStrategy {
    f(field, "", "", ATOMIC, None)
}

/// A map with `+mapType=atomic`.
const fn atomic_map(field: &'static str) -> FieldStrategy {
    f(field, "", "", NONE, Some(MapType::Atomic))
}

const fn t(
    definition: &'static str,
    map_type: Option<MapType>,
    fields: &'static [FieldStrategy],
) -> TypeStrategy {
    TypeStrategy {
        definition,
        map_type,
        fields,
    }
}

/// The table, sorted by definition name (a test checks the order).
#[rustfmt::skip]
static TABLE: &[TypeStrategy] = &[
    t("io.k8s.api.admissionregistration.v1.MatchResources", Some(MapType::Atomic), &[
        atomic("resourceRules"),
        atomic("excludeResourceRules"),
    ]),
    t("io.k8s.api.admissionregistration.v1.MutatingAdmissionPolicySpec", None, &[
        atomic("variables"),
        atomic("mutations"),
        f("matchConditions", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.MutatingWebhook", None, &[
        atomic("rules"),
        atomic("admissionReviewVersions"),
        f("matchConditions", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", None, &[
        f("webhooks", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", Some(MapType::Atomic), &[
        atomic("resourceNames"),
        atomic("operations"),
        atomic("apiGroups"),
        atomic("apiVersions"),
        atomic("resources"),
    ]),
    t("io.k8s.api.admissionregistration.v1.ParamKind", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.admissionregistration.v1.ParamRef", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.admissionregistration.v1.RuleWithOperations", None, &[
        atomic("operations"),
        atomic("apiGroups"),
        atomic("apiVersions"),
        atomic("resources"),
    ]),
    t("io.k8s.api.admissionregistration.v1.TypeChecking", None, &[
        atomic("expressionWarnings"),
    ]),
    t("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec", None, &[
        f("validationActions", "", "", SET, None),
    ]),
    t("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", None, &[
        atomic("validations"),
        atomic("auditAnnotations"),
        f("matchConditions", "merge", "name", keys(&["name"]), None),
        f("variables", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyStatus", None, &[
        f("conditions", "", "", keys(&["type"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.ValidatingWebhook", None, &[
        atomic("rules"),
        atomic("admissionReviewVersions"),
        f("matchConditions", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", None, &[
        f("webhooks", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.admissionregistration.v1.Variable", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.apps.v1.DaemonSetStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.apps.v1.DeploymentSpec", None, &[
        f("strategy", "retainKeys", "", NONE, None),
    ]),
    t("io.k8s.api.apps.v1.DeploymentStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.apps.v1.ReplicaSetStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.apps.v1.StatefulSetSpec", None, &[
        atomic("volumeClaimTemplates"),
    ]),
    t("io.k8s.api.apps.v1.StatefulSetStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.authentication.v1.TokenRequestSpec", None, &[
        atomic("audiences"),
    ]),
    t("io.k8s.api.authentication.v1.TokenReviewSpec", None, &[
        atomic("audiences"),
    ]),
    t("io.k8s.api.authentication.v1.TokenReviewStatus", None, &[
        atomic("audiences"),
    ]),
    t("io.k8s.api.authentication.v1.UserInfo", None, &[
        atomic("groups"),
    ]),
    t("io.k8s.api.authorization.v1.FieldSelectorAttributes", None, &[
        atomic("requirements"),
    ]),
    t("io.k8s.api.authorization.v1.LabelSelectorAttributes", None, &[
        atomic("requirements"),
    ]),
    t("io.k8s.api.authorization.v1.NonResourceRule", None, &[
        atomic("verbs"),
        atomic("nonResourceURLs"),
    ]),
    t("io.k8s.api.authorization.v1.ResourceRule", None, &[
        atomic("verbs"),
        atomic("apiGroups"),
        atomic("resources"),
        atomic("resourceNames"),
    ]),
    t("io.k8s.api.authorization.v1.SubjectAccessReviewSpec", None, &[
        atomic("groups"),
    ]),
    t("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", None, &[
        atomic("resourceRules"),
        atomic("nonResourceRules"),
    ]),
    t("io.k8s.api.autoscaling.v1.CrossVersionObjectReference", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.autoscaling.v2.HPAScalingRules", None, &[
        atomic("policies"),
    ]),
    t("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", None, &[
        atomic("metrics"),
    ]),
    t("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", None, &[
        atomic("currentMetrics"),
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.batch.v1.CronJobStatus", None, &[
        atomic("active"),
    ]),
    t("io.k8s.api.batch.v1.JobSchedulingConfiguration", None, &[
        f("resourceClaims", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.batch.v1.JobStatus", None, &[
        f("conditions", "merge", "type", ATOMIC, None),
    ]),
    t("io.k8s.api.batch.v1.PodFailurePolicy", None, &[
        atomic("rules"),
    ]),
    t("io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement", None, &[
        f("values", "", "", SET, None),
    ]),
    t("io.k8s.api.batch.v1.PodFailurePolicyRule", None, &[
        atomic("onPodConditions"),
    ]),
    t("io.k8s.api.batch.v1.SuccessPolicy", None, &[
        atomic("rules"),
    ]),
    t("io.k8s.api.batch.v1.UncountedTerminatedPods", None, &[
        f("succeeded", "", "", SET, None),
        f("failed", "", "", SET, None),
    ]),
    t("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", None, &[
        atomic("usages"),
        atomic("groups"),
    ]),
    t("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", None, &[
        f("conditions", "", "", keys(&["type"]), None),
    ]),
    t("io.k8s.api.certificates.v1.PodCertificateRequestStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.core.v1.Capabilities", None, &[
        atomic("add"),
        atomic("drop"),
    ]),
    t("io.k8s.api.core.v1.CephFSPersistentVolumeSource", None, &[
        atomic("monitors"),
    ]),
    t("io.k8s.api.core.v1.CephFSVolumeSource", None, &[
        atomic("monitors"),
    ]),
    t("io.k8s.api.core.v1.ComponentStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.core.v1.ConfigMapKeySelector", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.ConfigMapProjection", None, &[
        atomic("items"),
    ]),
    t("io.k8s.api.core.v1.ConfigMapVolumeSource", None, &[
        atomic("items"),
    ]),
    t("io.k8s.api.core.v1.Container", None, &[
        atomic("command"),
        atomic("args"),
        f("ports", "merge", "containerPort", keys(&["containerPort", "protocol"]), None),
        atomic("envFrom"),
        f("env", "merge", "name", keys(&["name"]), None),
        atomic("resizePolicy"),
        atomic("restartPolicyRules"),
        f("volumeMounts", "merge", "mountPath", keys(&["mountPath"]), None),
        f("volumeDevices", "merge", "devicePath", keys(&["devicePath"]), None),
    ]),
    t("io.k8s.api.core.v1.ContainerImage", None, &[
        atomic("names"),
    ]),
    t("io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes", None, &[
        f("values", "", "", SET, None),
    ]),
    t("io.k8s.api.core.v1.ContainerStatus", None, &[
        f("volumeMounts", "merge", "mountPath", keys(&["mountPath"]), None),
        f("allocatedResourcesStatus", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.core.v1.DownwardAPIProjection", None, &[
        atomic("items"),
    ]),
    t("io.k8s.api.core.v1.DownwardAPIVolumeSource", None, &[
        atomic("items"),
    ]),
    t("io.k8s.api.core.v1.EndpointAddress", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.EndpointPort", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.EndpointSubset", None, &[
        atomic("addresses"),
        atomic("notReadyAddresses"),
        atomic("ports"),
    ]),
    t("io.k8s.api.core.v1.Endpoints", None, &[
        atomic("subsets"),
    ]),
    t("io.k8s.api.core.v1.EphemeralContainer", None, &[
        atomic("command"),
        atomic("args"),
        f("ports", "merge", "containerPort", keys(&["containerPort", "protocol"]), None),
        atomic("envFrom"),
        f("env", "merge", "name", keys(&["name"]), None),
        atomic("resizePolicy"),
        atomic("restartPolicyRules"),
        f("volumeMounts", "merge", "mountPath", keys(&["mountPath"]), None),
        f("volumeDevices", "merge", "devicePath", keys(&["devicePath"]), None),
    ]),
    t("io.k8s.api.core.v1.EvictionResponder", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.ExecAction", None, &[
        atomic("command"),
    ]),
    t("io.k8s.api.core.v1.FCVolumeSource", None, &[
        atomic("targetWWNs"),
        atomic("wwids"),
    ]),
    t("io.k8s.api.core.v1.FileKeySelector", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.HTTPGetAction", None, &[
        atomic("httpHeaders"),
    ]),
    t("io.k8s.api.core.v1.HostAlias", None, &[
        atomic("hostnames"),
    ]),
    t("io.k8s.api.core.v1.ISCSIPersistentVolumeSource", None, &[
        atomic("portals"),
    ]),
    t("io.k8s.api.core.v1.ISCSIVolumeSource", None, &[
        atomic("portals"),
    ]),
    t("io.k8s.api.core.v1.LimitRangeSpec", None, &[
        atomic("limits"),
    ]),
    t("io.k8s.api.core.v1.LinuxContainerUser", None, &[
        atomic("supplementalGroups"),
    ]),
    t("io.k8s.api.core.v1.LoadBalancerIngress", None, &[
        atomic("ports"),
    ]),
    t("io.k8s.api.core.v1.LoadBalancerStatus", None, &[
        atomic("ingress"),
    ]),
    t("io.k8s.api.core.v1.LocalObjectReference", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.NamespaceSpec", None, &[
        atomic("finalizers"),
    ]),
    t("io.k8s.api.core.v1.NamespaceStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.core.v1.NodeAffinity", None, &[
        atomic("preferredDuringSchedulingIgnoredDuringExecution"),
    ]),
    t("io.k8s.api.core.v1.NodeAllocatableResourceClaimStatus", None, &[
        f("containers", "", "", SET, None),
        f("mapping", "merge", "name", keys(&["name"]), None),
        f("overhead", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.core.v1.NodePodPreemptionPolicy", None, &[
        f("disableResizePreemption", "", "", SET, None),
    ]),
    t("io.k8s.api.core.v1.NodeSelector", Some(MapType::Atomic), &[
        atomic("nodeSelectorTerms"),
    ]),
    t("io.k8s.api.core.v1.NodeSelectorRequirement", None, &[
        atomic("values"),
    ]),
    t("io.k8s.api.core.v1.NodeSelectorTerm", Some(MapType::Atomic), &[
        atomic("matchExpressions"),
        atomic("matchFields"),
    ]),
    t("io.k8s.api.core.v1.NodeSpec", None, &[
        f("podCIDRs", "merge", "", SET, None),
        atomic("taints"),
    ]),
    t("io.k8s.api.core.v1.NodeStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
        f("addresses", "merge", "type", keys(&["type"]), None),
        atomic("images"),
        atomic("volumesInUse"),
        atomic("volumesAttached"),
        atomic("runtimeHandlers"),
        atomic("declaredFeatures"),
    ]),
    t("io.k8s.api.core.v1.ObjectFieldSelector", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.ObjectReference", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.PersistentVolumeClaimSpec", None, &[
        atomic("accessModes"),
    ]),
    t("io.k8s.api.core.v1.PersistentVolumeClaimStatus", None, &[
        atomic("accessModes"),
        f("conditions", "merge", "type", keys(&["type"]), None),
        f("allocatedResourceStatuses", "", "", NONE, Some(MapType::Granular)),
    ]),
    t("io.k8s.api.core.v1.PersistentVolumeSpec", None, &[
        atomic("accessModes"),
        atomic("mountOptions"),
    ]),
    t("io.k8s.api.core.v1.PodAffinity", None, &[
        atomic("requiredDuringSchedulingIgnoredDuringExecution"),
        atomic("preferredDuringSchedulingIgnoredDuringExecution"),
    ]),
    t("io.k8s.api.core.v1.PodAffinityTerm", None, &[
        atomic("namespaces"),
        atomic("matchLabelKeys"),
        atomic("mismatchLabelKeys"),
    ]),
    t("io.k8s.api.core.v1.PodAntiAffinity", None, &[
        atomic("requiredDuringSchedulingIgnoredDuringExecution"),
        atomic("preferredDuringSchedulingIgnoredDuringExecution"),
    ]),
    t("io.k8s.api.core.v1.PodDNSConfig", None, &[
        atomic("nameservers"),
        atomic("searches"),
        atomic("options"),
    ]),
    t("io.k8s.api.core.v1.PodExtendedResourceClaimStatus", None, &[
        atomic("requestMappings"),
    ]),
    t("io.k8s.api.core.v1.PodSecurityContext", None, &[
        atomic("supplementalGroups"),
        atomic("sysctls"),
    ]),
    t("io.k8s.api.core.v1.PodSpec", None, &[
        f("volumes", "merge,retainKeys", "name", keys(&["name"]), None),
        f("initContainers", "merge", "name", keys(&["name"]), None),
        f("containers", "merge", "name", keys(&["name"]), None),
        f("ephemeralContainers", "merge", "name", keys(&["name"]), None),
        atomic_map("nodeSelector"),
        f("imagePullSecrets", "merge", "name", keys(&["name"]), None),
        atomic("tolerations"),
        f("hostAliases", "merge", "ip", keys(&["ip"]), None),
        atomic("readinessGates"),
        f("topologySpreadConstraints", "merge", "topologyKey", keys(&["topologyKey", "whenUnsatisfiable"]), None),
        f("schedulingGates", "merge", "name", keys(&["name"]), None),
        f("resourceClaims", "merge,retainKeys", "name", keys(&["name"]), None),
        f("evictionResponders", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.core.v1.PodStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
        f("hostIPs", "merge", "ip", ATOMIC, None),
        f("podIPs", "merge", "ip", keys(&["ip"]), None),
        atomic("initContainerStatuses"),
        atomic("containerStatuses"),
        atomic("ephemeralContainerStatuses"),
        f("resourceClaimStatuses", "merge,retainKeys", "name", keys(&["name"]), None),
        f("nodeAllocatableResourceClaimStatuses", "merge", "resourceClaimName", keys(&["resourceClaimName"]), None),
        f("volumeHealth", "", "", keys(&["name"]), None),
    ]),
    t("io.k8s.api.core.v1.PodVolumeHealth", None, &[
        f("healthConditions", "merge", "status", keys(&["status", "reason"]), None),
    ]),
    t("io.k8s.api.core.v1.ProjectedVolumeSource", None, &[
        atomic("sources"),
    ]),
    t("io.k8s.api.core.v1.RBDPersistentVolumeSource", None, &[
        atomic("monitors"),
    ]),
    t("io.k8s.api.core.v1.RBDVolumeSource", None, &[
        atomic("monitors"),
    ]),
    t("io.k8s.api.core.v1.ReplicationControllerSpec", None, &[
        atomic_map("selector"),
    ]),
    t("io.k8s.api.core.v1.ReplicationControllerStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.core.v1.ResourceFieldSelector", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.ResourceQuotaSpec", None, &[
        atomic("scopes"),
    ]),
    t("io.k8s.api.core.v1.ResourceRequirements", None, &[
        f("claims", "", "", keys(&["name"]), None),
    ]),
    t("io.k8s.api.core.v1.ResourceStatus", None, &[
        f("resources", "", "", keys(&["resourceID"]), None),
    ]),
    t("io.k8s.api.core.v1.ScopeSelector", Some(MapType::Atomic), &[
        atomic("matchExpressions"),
    ]),
    t("io.k8s.api.core.v1.ScopedResourceSelectorRequirement", None, &[
        atomic("values"),
    ]),
    t("io.k8s.api.core.v1.SecretKeySelector", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.SecretProjection", None, &[
        atomic("items"),
    ]),
    t("io.k8s.api.core.v1.SecretReference", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.SecretVolumeSource", None, &[
        atomic("items"),
    ]),
    t("io.k8s.api.core.v1.ServiceAccount", None, &[
        f("secrets", "merge", "name", keys(&["name"]), None),
        atomic("imagePullSecrets"),
    ]),
    t("io.k8s.api.core.v1.ServiceSpec", None, &[
        f("ports", "merge", "port", keys(&["port", "protocol"]), None),
        atomic_map("selector"),
        atomic("clusterIPs"),
        atomic("externalIPs"),
        atomic("loadBalancerSourceRanges"),
        atomic("ipFamilies"),
    ]),
    t("io.k8s.api.core.v1.ServiceStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.core.v1.TopologySelectorLabelRequirement", None, &[
        atomic("values"),
    ]),
    t("io.k8s.api.core.v1.TopologySelectorTerm", Some(MapType::Atomic), &[
        atomic("matchLabelExpressions"),
    ]),
    t("io.k8s.api.core.v1.TopologySpreadConstraint", None, &[
        atomic("matchLabelKeys"),
    ]),
    t("io.k8s.api.core.v1.TypedLocalObjectReference", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.core.v1.VolumeHealthStatus", None, &[
        f("healthConditions", "merge", "status", keys(&["status", "reason"]), None),
    ]),
    t("io.k8s.api.core.v1.VolumeMount", None, &[
        f("bindMountOptions", "", "", SET, None),
    ]),
    t("io.k8s.api.discovery.v1.Endpoint", None, &[
        f("addresses", "", "", SET, None),
    ]),
    t("io.k8s.api.discovery.v1.EndpointHints", None, &[
        atomic("forZones"),
        atomic("forNodes"),
    ]),
    t("io.k8s.api.discovery.v1.EndpointPort", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.discovery.v1.EndpointSlice", None, &[
        atomic("endpoints"),
        atomic("ports"),
    ]),
    t("io.k8s.api.flowcontrol.v1.FlowSchemaSpec", None, &[
        atomic("rules"),
    ]),
    t("io.k8s.api.flowcontrol.v1.FlowSchemaStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.flowcontrol.v1.NonResourcePolicyRule", None, &[
        f("verbs", "", "", SET, None),
        f("nonResourceURLs", "", "", SET, None),
    ]),
    t("io.k8s.api.flowcontrol.v1.PolicyRulesWithSubjects", None, &[
        atomic("subjects"),
        atomic("resourceRules"),
        atomic("nonResourceRules"),
    ]),
    t("io.k8s.api.flowcontrol.v1.PriorityLevelConfigurationStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.flowcontrol.v1.ResourcePolicyRule", None, &[
        f("verbs", "", "", SET, None),
        f("apiGroups", "", "", SET, None),
        f("resources", "", "", SET, None),
        f("namespaces", "", "", SET, None),
    ]),
    t("io.k8s.api.networking.v1.HTTPIngressRuleValue", None, &[
        atomic("paths"),
    ]),
    t("io.k8s.api.networking.v1.IPBlock", None, &[
        atomic("except"),
    ]),
    t("io.k8s.api.networking.v1.IngressLoadBalancerIngress", None, &[
        atomic("ports"),
    ]),
    t("io.k8s.api.networking.v1.IngressLoadBalancerStatus", None, &[
        atomic("ingress"),
    ]),
    t("io.k8s.api.networking.v1.IngressSpec", None, &[
        atomic("tls"),
        atomic("rules"),
    ]),
    t("io.k8s.api.networking.v1.IngressTLS", None, &[
        atomic("hosts"),
    ]),
    t("io.k8s.api.networking.v1.NetworkPolicyEgressRule", None, &[
        atomic("ports"),
        atomic("to"),
    ]),
    t("io.k8s.api.networking.v1.NetworkPolicyIngressRule", None, &[
        atomic("ports"),
        atomic("from"),
    ]),
    t("io.k8s.api.networking.v1.NetworkPolicySpec", None, &[
        atomic("ingress"),
        atomic("egress"),
        atomic("policyTypes"),
    ]),
    t("io.k8s.api.networking.v1.ServiceBackendPort", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.networking.v1.ServiceCIDRSpec", None, &[
        atomic("cidrs"),
    ]),
    t("io.k8s.api.networking.v1.ServiceCIDRStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.node.v1.Scheduling", None, &[
        atomic_map("nodeSelector"),
        atomic("tolerations"),
    ]),
    t("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", None, &[
        f("selector", "replace", "", NONE, None),
    ]),
    t("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.rbac.v1.AggregationRule", None, &[
        atomic("clusterRoleSelectors"),
    ]),
    t("io.k8s.api.rbac.v1.ClusterRole", None, &[
        atomic("rules"),
    ]),
    t("io.k8s.api.rbac.v1.ClusterRoleBinding", None, &[
        atomic("subjects"),
    ]),
    t("io.k8s.api.rbac.v1.PolicyRule", None, &[
        atomic("verbs"),
        atomic("apiGroups"),
        atomic("resources"),
        atomic("resourceNames"),
        atomic("nonResourceURLs"),
    ]),
    t("io.k8s.api.rbac.v1.Role", None, &[
        atomic("rules"),
    ]),
    t("io.k8s.api.rbac.v1.RoleBinding", None, &[
        atomic("subjects"),
    ]),
    t("io.k8s.api.rbac.v1.RoleRef", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.rbac.v1.Subject", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.api.resource.v1.AllocatedDeviceStatus", None, &[
        f("conditions", "", "", keys(&["type"]), None),
    ]),
    t("io.k8s.api.resource.v1.CapacityRequestPolicy", None, &[
        atomic("validValues"),
    ]),
    t("io.k8s.api.resource.v1.Device", None, &[
        atomic("consumesCounters"),
        atomic("taints"),
        atomic("bindingConditions"),
        atomic("bindingFailureConditions"),
    ]),
    t("io.k8s.api.resource.v1.DeviceAllocationConfiguration", None, &[
        atomic("requests"),
    ]),
    t("io.k8s.api.resource.v1.DeviceAllocationResult", None, &[
        atomic("results"),
        atomic("config"),
    ]),
    t("io.k8s.api.resource.v1.DeviceAttribute", None, &[
        atomic("ints"),
        atomic("bools"),
        atomic("strings"),
        atomic("versions"),
    ]),
    t("io.k8s.api.resource.v1.DeviceClaim", None, &[
        atomic("requests"),
        atomic("constraints"),
        atomic("config"),
    ]),
    t("io.k8s.api.resource.v1.DeviceClaimConfiguration", None, &[
        atomic("requests"),
    ]),
    t("io.k8s.api.resource.v1.DeviceClassSpec", None, &[
        atomic("selectors"),
        atomic("config"),
    ]),
    t("io.k8s.api.resource.v1.DeviceConstraint", None, &[
        atomic("requests"),
    ]),
    t("io.k8s.api.resource.v1.DeviceRequest", None, &[
        atomic("firstAvailable"),
    ]),
    t("io.k8s.api.resource.v1.DeviceRequestAllocationResult", None, &[
        atomic("tolerations"),
        atomic("bindingConditions"),
        atomic("bindingFailureConditions"),
        f("skipNodeOperations", "", "", SET, None),
    ]),
    t("io.k8s.api.resource.v1.DeviceSubRequest", None, &[
        atomic("selectors"),
        atomic("tolerations"),
    ]),
    t("io.k8s.api.resource.v1.DeviceTaintRuleStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.api.resource.v1.ExactDeviceRequest", None, &[
        atomic("selectors"),
        atomic("tolerations"),
    ]),
    t("io.k8s.api.resource.v1.NetworkDeviceData", None, &[
        atomic("ips"),
    ]),
    t("io.k8s.api.resource.v1.ResourceClaimStatus", None, &[
        f("reservedFor", "merge", "uid", keys(&["uid"]), None),
        f("devices", "", "", keys(&["driver", "device", "pool", "shareID"]), None),
    ]),
    t("io.k8s.api.resource.v1.ResourceSliceSpec", None, &[
        atomic("devices"),
        atomic("sharedCounters"),
        f("skipNodeOperations", "", "", SET, None),
    ]),
    t("io.k8s.api.storage.v1.CSIDriverSpec", None, &[
        f("volumeLifecycleModes", "", "", SET, None),
        atomic("tokenRequests"),
    ]),
    t("io.k8s.api.storage.v1.CSINodeDriver", None, &[
        atomic("topologyKeys"),
    ]),
    t("io.k8s.api.storage.v1.CSINodeSpec", None, &[
        f("drivers", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.storage.v1.CSINodeStatus", None, &[
        f("storageHealth", "merge", "name", keys(&["name"]), None),
    ]),
    t("io.k8s.api.storage.v1.StorageClass", None, &[
        atomic("mountOptions"),
        atomic("allowedTopologies"),
    ]),
    t("io.k8s.api.storage.v1.StorageHealth", None, &[
        atomic("healthConditions"),
    ]),
    t("io.k8s.api.storagemigration.v1.StorageVersionMigrationStatus", None, &[
        f("conditions", "merge", "type", keys(&["type"]), None),
    ]),
    t("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", None, &[
        atomic("shortNames"),
        atomic("categories"),
    ]),
    t("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec", None, &[
        atomic("versions"),
    ]),
    t("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", None, &[
        f("conditions", "", "", keys(&["type"]), None),
        atomic("storedVersions"),
    ]),
    t("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion", None, &[
        atomic("additionalPrinterColumns"),
        atomic("selectableFields"),
    ]),
    t("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", None, &[
        atomic("enum"),
        atomic("required"),
        atomic("allOf"),
        atomic("oneOf"),
        atomic("anyOf"),
        atomic("x-kubernetes-list-map-keys"),
        f("x-kubernetes-validations", "merge", "rule", keys(&["rule"]), None),
    ]),
    t("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion", None, &[
        atomic("conversionReviewVersions"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", None, &[
        atomic("versions"),
        atomic("serverAddressByClientCIDRs"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList", None, &[
        atomic("groups"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", None, &[
        atomic("shortNames"),
        atomic("categories"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", None, &[
        atomic("resources"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", None, &[
        atomic("versions"),
        atomic("serverAddressByClientCIDRs"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", None, &[
        atomic("dryRun"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement", None, &[
        atomic("values"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", Some(MapType::Atomic), &[
        atomic("matchExpressions"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", None, &[
        atomic("values"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", None, &[
        f("ownerReferences", "merge", "uid", keys(&["uid"]), None),
        f("finalizers", "merge", "", SET, None),
        atomic("managedFields"),
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", Some(MapType::Atomic), &[
    ]),
    t("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", None, &[
        atomic("causes"),
    ]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in TABLE.windows(2) {
            assert!(
                w[0].definition < w[1].definition,
                "{} before {}",
                w[0].definition,
                w[1].definition
            );
        }
        for t in TABLE {
            for (i, a) in t.fields.iter().enumerate() {
                assert!(
                    t.fields[i + 1..].iter().all(|b| b.field != a.field),
                    "{}.{}",
                    t.definition,
                    a.field
                );
                if let Some(ListType::Map(keys)) = a.list_type {
                    assert!(!keys.is_empty(), "{}.{}", t.definition, a.field);
                }
                if a.merges() {
                    assert!(
                        !a.merge_key.is_empty() || a.list_type == SET,
                        "{}.{}",
                        t.definition,
                        a.field
                    );
                }
            }
        }
    }

    #[test]
    fn pod_spec_containers() {
        let c = lookup("io.k8s.api.core.v1.PodSpec", "containers").expect("containers");
        assert_eq!(c.patch_strategy, "merge");
        assert_eq!(c.patch_merge_key(), Some("name"));
        assert_eq!(c.list_type, Some(ListType::Map(&["name"])));
        assert_eq!(c.list_map_keys(), &["name"]);
        let v = lookup("io.k8s.api.core.v1.PodSpec", "volumes").expect("volumes");
        assert!(v.merges() && v.retains_keys());
        assert_eq!(
            list_type("io.k8s.api.core.v1.PodSpec", "tolerations"),
            Some(ListType::Atomic)
        );
        assert_eq!(
            lookup("io.k8s.api.core.v1.PodSpec", "nodeSelector").and_then(|f| f.map_type),
            Some(MapType::Atomic)
        );
    }

    #[test]
    fn container_ports_and_env() {
        let p = lookup("io.k8s.api.core.v1.Container", "ports").expect("ports");
        assert_eq!(p.patch_merge_key(), Some("containerPort"));
        assert_eq!(p.list_map_keys(), &["containerPort", "protocol"]);
        assert_eq!(
            merge_key("io.k8s.api.core.v1.Container", "env"),
            Some("name")
        );
        assert_eq!(
            merge_key("io.k8s.api.core.v1.Container", "volumeMounts"),
            Some("mountPath")
        );
        assert_eq!(
            merge_key("io.k8s.api.core.v1.EphemeralContainer", "env"),
            Some("name")
        );
        assert_eq!(
            list_type("io.k8s.api.core.v1.Container", "command"),
            Some(ListType::Atomic)
        );
        assert_eq!(
            lookup("io.k8s.api.core.v1.ServiceSpec", "ports").map(|f| f.list_map_keys()),
            Some(&["port", "protocol"][..])
        );
    }

    #[test]
    fn object_meta() {
        let o = lookup(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "ownerReferences",
        )
        .unwrap();
        assert_eq!(o.patch_merge_key(), Some("uid"));
        assert_eq!(o.list_map_keys(), &["uid"]);
        let f = lookup(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "finalizers",
        )
        .unwrap();
        assert!(f.merges());
        assert_eq!(f.list_type, Some(ListType::Set));
        assert_eq!(
            list_type(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "managedFields"
            ),
            Some(ListType::Atomic)
        );
        assert_eq!(
            struct_map_type("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
            Some(MapType::Atomic)
        );
        assert_eq!(
            struct_map_type("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
            None
        );
    }

    #[test]
    fn workloads_and_others() {
        let s = lookup("io.k8s.api.apps.v1.DeploymentSpec", "strategy").unwrap();
        assert_eq!(s.patch_strategy, "retainKeys");
        assert_eq!(s.list_type, None);
        assert_eq!(
            merge_key("io.k8s.api.apps.v1.DeploymentStatus", "conditions"),
            Some("type")
        );
        assert_eq!(
            merge_key("io.k8s.api.batch.v1.JobStatus", "conditions"),
            Some("type")
        );
        assert_eq!(
            list_type("io.k8s.api.batch.v1.JobStatus", "conditions"),
            Some(ListType::Atomic)
        );
        assert_eq!(
            merge_key(
                "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
                "conditions"
            ),
            Some("type")
        );
        assert_eq!(
            list_type("io.k8s.api.rbac.v1.ClusterRole", "rules"),
            Some(ListType::Atomic)
        );
        assert_eq!(
            list_type("io.k8s.api.discovery.v1.EndpointSlice", "endpoints"),
            Some(ListType::Atomic)
        );
        assert_eq!(
            list_type("io.k8s.api.networking.v1.NetworkPolicySpec", "ingress"),
            Some(ListType::Atomic)
        );
        assert_eq!(
            merge_key("io.k8s.api.core.v1.NodeStatus", "addresses"),
            Some("type")
        );
        assert_eq!(
            struct_map_type("io.k8s.api.core.v1.LocalObjectReference"),
            Some(MapType::Atomic)
        );
        assert!(lookup("io.k8s.api.core.v1.PodSpec", "hostname").is_none());
        assert!(fields("io.k8s.api.core.v1.NoSuchType").is_empty());
    }
}
