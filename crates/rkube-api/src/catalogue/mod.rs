//! The one list of built-in resources. Discovery, OpenAPI, routing, storage
//! keys, `kubectl api-resources` and printers all read this table; adding a
//! built-in resource is one entry in `resources.rs`.

mod resources;

pub use resources::RESOURCES;

/// The resource metrics API (`kubectl top`, the HPA's resource metrics).
/// Upstream, metrics-server serves it through API aggregation; rkube
/// computes it on every read from the pods and nodes in storage.
pub const METRICS_GROUP: &str = "metrics.k8s.io";

/// A verb set, in the order kube-apiserver lists them in discovery.
pub mod verbs {
    pub const ALL: &[&str] = &[
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    /// Resources that only accept `create` (reviews, token requests).
    pub const CREATE_ONLY: &[&str] = &["create"];
    pub const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
    pub const READ_ONLY: &[&str] = &["get", "list"];
}

/// A subresource such as `status` or `scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    /// Kind of the subresource's body (`Scale`, `Binding`, or the parent's
    /// kind for `status`).
    pub kind: &'static str,
    /// Group and version of that kind when it differs from the parent's
    /// (`autoscaling`/`v1` for `scale`); empty strings mean the parent's.
    pub group: &'static str,
    pub version: &'static str,
    pub verbs: &'static [&'static str],
}

/// One built-in resource in one group, possibly served in several versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group; empty for the core (legacy) group.
    pub group: &'static str,
    /// Versions this resource is served in, the group's preferred first.
    pub versions: &'static [&'static str],
    /// The version objects are stored in; the others are converted.
    pub storage_version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// Create-only virtual resources (reviews) are never stored.
    pub stored: bool,
}

impl ResourceDef {
    pub fn group_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// `pods`, `deployments.apps`: how kube-apiserver names a resource in
    /// messages.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Computed on read from other stored objects, never stored or watched.
    /// Keyed by group rather than a field of its own: the metrics group is
    /// the only such API, and a new field would have to be spelled out in
    /// every hand-built `ResourceDef` of the test suites.
    pub fn computed(&self) -> bool {
        !self.stored && self.group == METRICS_GROUP
    }

    pub fn serves(&self, version: &str) -> bool {
        self.versions.contains(&version)
    }

    /// The etcd key prefix (`/registry/<resource>/`), as kube-apiserver lays
    /// it out. A few resources keep historical prefixes upstream; the table
    /// in [`storage_resource_name`] has them.
    pub fn storage_prefix(&self) -> String {
        format!("/registry/{}/", storage_resource_name(self))
    }
}

/// Upstream stores a few resources under names other than their plural.
fn storage_resource_name(def: &ResourceDef) -> &'static str {
    match (def.group, def.plural) {
        ("", "services") => "services/specs",
        ("", "nodes") => "minions",
        ("", "replicationcontrollers") => "controllers",
        ("", "endpoints") => "services/endpoints",
        ("apps", "deployments") => "deployments",
        ("networking.k8s.io", "ingresses") => "ingress",
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            "apiextensions.k8s.io/customresourcedefinitions"
        }
        _ => def.plural,
    }
}

/// Every group with the versions it serves, preferred version first, in the
/// order discovery lists them.
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for def in RESOURCES {
        let entry = match out.iter_mut().find(|(g, _)| *g == def.group) {
            Some(e) => e,
            None => {
                out.push((def.group, Vec::new()));
                out.last_mut().expect("just pushed")
            }
        };
        for v in def.versions {
            if !entry.1.contains(v) {
                entry.1.push(v);
            }
        }
    }
    out
}

/// Resources served in one group-version, in table order.
pub fn resources_in(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceDef> {
    let version = version.to_string();
    let group = group.to_string();
    RESOURCES
        .iter()
        .filter(move |d| d.group == group && d.serves(&version))
}

/// Look a resource up by group, version and plural name.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|d| d.group == group && d.plural == plural && d.serves(version))
}

/// Look a resource up by group and kind (any served version).
pub fn lookup_kind(group: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|d| d.group == group && d.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_are_unique_per_group() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                if a.group == b.group && a.plural == b.plural {
                    let shared: Vec<_> = a
                        .versions
                        .iter()
                        .filter(|v| b.versions.contains(v))
                        .collect();
                    assert!(shared.is_empty(), "{} listed twice", a.qualified_name());
                }
            }
        }
    }

    #[test]
    fn storage_version_is_served() {
        for d in RESOURCES {
            assert!(d.serves(d.storage_version), "{}", d.qualified_name());
        }
    }

    #[test]
    fn core_resources_are_found() {
        let pods = lookup("", "v1", "pods").expect("pods");
        assert_eq!(pods.kind, "Pod");
        assert_eq!(pods.storage_prefix(), "/registry/pods/");
        assert!(lookup("apps", "v1", "deployments").is_some());
        assert_eq!(
            lookup("", "v1", "services").unwrap().storage_prefix(),
            "/registry/services/specs/"
        );
    }
}
