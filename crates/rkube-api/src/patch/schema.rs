//! What strategic merge patch needs to know about a field: its patch
//! strategy, its merge key and the definition of what it holds.
//!
//! [`SchemaLookup`] is the engine's only view of types. [`BuiltinSchema`]
//! answers it for the built-in kinds from two tables: the patch facts of
//! [`crate::patch_strategy`] and the generated type graph of
//! [`super::type_graph`] (definition → field → child definition).

use crate::patch_strategy::{self, ListType};

use super::type_graph::{FIELDS, ROOTS, TYPES};

/// What a field holds, beyond scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child<'a> {
    /// Nothing the engine can look into: a scalar, or a value of no known
    /// shape. Fields below it merge as plain JSON.
    None,
    /// An object of this definition; for a list field, its elements'
    /// definition.
    Def(&'a str),
    /// A map with arbitrary keys (`additionalProperties`) whose values are
    /// objects or lists. Upstream cannot look fields up below such a map:
    /// merging two objects (or two lists) under one of its keys is an error.
    Map,
}

/// The patch facts of one field of one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo<'a> {
    /// `x-kubernetes-patch-strategy`: `merge`, `replace`, `retainKeys`,
    /// `merge,retainKeys`, or empty.
    pub patch_strategy: &'a str,
    /// `x-kubernetes-patch-merge-key`, or empty.
    pub merge_key: &'a str,
    /// `x-kubernetes-list-type` (server-side apply; unused by strategic
    /// merge patch).
    pub list_type: Option<ListType>,
    /// What the field holds (for a list: what its elements are).
    pub child: Child<'a>,
}

impl<'a> FieldInfo<'a> {
    /// A field with no patch facts holding `child`.
    pub fn plain(child: Child<'a>) -> FieldInfo<'a> {
        FieldInfo {
            patch_strategy: "",
            merge_key: "",
            list_type: None,
            child,
        }
    }
}

/// The type information strategic merge patch walks an object with.
pub trait SchemaLookup {
    /// The facts of `field` of definition `def`; `None` for a field the
    /// schema does not know (or a scalar field without patch facts), which
    /// then merges as plain JSON: maps recursively, lists replaced whole.
    fn field<'a>(&'a self, def: &str, field: &str) -> Option<FieldInfo<'a>>;
}

/// The built-in types: [`crate::patch_strategy`] plus the generated type
/// graph. Definitions are upstream names (`io.k8s.api.core.v1.PodSpec`);
/// find a kind's with [`root_definition`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinSchema;

/// The one instance of [`BuiltinSchema`].
pub static BUILTIN: BuiltinSchema = BuiltinSchema;

impl SchemaLookup for BuiltinSchema {
    fn field<'a>(&'a self, def: &str, field: &str) -> Option<FieldInfo<'a>> {
        let child = child_of(def, field);
        let facts = patch_strategy::lookup(def, field);
        match (facts, child) {
            (None, None) => None,
            (facts, child) => Some(FieldInfo {
                patch_strategy: facts.map(|f| f.patch_strategy).unwrap_or(""),
                merge_key: facts.map(|f| f.merge_key).unwrap_or(""),
                list_type: facts.and_then(|f| f.list_type),
                child: child.unwrap_or(Child::None),
            }),
        }
    }
}

impl BuiltinSchema {
    /// Every field name of definition `def`; `None` for definitions that
    /// take any field (free-form JSON) or that are not built in.
    pub fn field_names(&self, def: &str) -> Option<&'static [&'static str]> {
        let i = FIELDS.binary_search_by(|(d, _)| (*d).cmp(def)).ok()?;
        Some(FIELDS[i].1)
    }

    /// Whether `def` has a field named `field` (false for free-form and
    /// unknown definitions, which have no list of fields to check against).
    pub fn has_field(&self, def: &str, field: &str) -> bool {
        self.field_names(def)
            .is_some_and(|names| names.binary_search(&field).is_ok())
    }
}

/// The child of one field in the generated type graph.
fn child_of(def: &str, field: &str) -> Option<Child<'static>> {
    let i = TYPES.binary_search_by(|(d, _)| (*d).cmp(def)).ok()?;
    let fields = TYPES[i].1;
    let j = fields.binary_search_by(|(f, _)| (*f).cmp(field)).ok()?;
    Some(fields[j].1)
}

/// The upstream definition name of a built-in kind (`("apps", "v1",
/// "Deployment")` gives `io.k8s.api.apps.v1.Deployment`); the core group is
/// `""`. `None` for kinds without a published schema (custom resources).
pub fn root_definition(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    ROOTS
        .binary_search_by(|(g, v, k, _)| (*g, *v, *k).cmp(&(group, version, kind)))
        .ok()
        .map(|i| ROOTS[i].3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        for w in TYPES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        for (def, fields) in TYPES {
            for w in fields.windows(2) {
                assert!(w[0].0 < w[1].0, "{def}: {} before {}", w[0].0, w[1].0);
            }
        }
        for w in ROOTS.windows(2) {
            assert!((w[0].0, w[0].1, w[0].2) < (w[1].0, w[1].1, w[1].2));
        }
        for w in FIELDS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        for (def, names) in FIELDS {
            for w in names.windows(2) {
                assert!(w[0] < w[1], "{def}: {} before {}", w[0], w[1]);
            }
        }
        let pod_spec = "io.k8s.api.core.v1.PodSpec";
        assert!(BUILTIN.has_field(pod_spec, "containers"));
        assert!(BUILTIN.has_field(pod_spec, "nodeName"));
        assert!(!BUILTIN.has_field(pod_spec, "nodename"));
    }

    #[test]
    fn deployment_to_container() {
        let s = &BUILTIN;
        let deploy = root_definition("apps", "v1", "Deployment").unwrap();
        assert_eq!(deploy, "io.k8s.api.apps.v1.Deployment");
        let spec = s.field(deploy, "spec").unwrap();
        assert_eq!(spec.child, Child::Def("io.k8s.api.apps.v1.DeploymentSpec"));
        let strategy = s
            .field("io.k8s.api.apps.v1.DeploymentSpec", "strategy")
            .unwrap();
        assert_eq!(strategy.patch_strategy, "retainKeys");
        let template = s
            .field("io.k8s.api.apps.v1.DeploymentSpec", "template")
            .unwrap();
        assert_eq!(
            template.child,
            Child::Def("io.k8s.api.core.v1.PodTemplateSpec")
        );
        let containers = s.field("io.k8s.api.core.v1.PodSpec", "containers").unwrap();
        assert_eq!(containers.patch_strategy, "merge");
        assert_eq!(containers.merge_key, "name");
        assert_eq!(containers.child, Child::Def("io.k8s.api.core.v1.Container"));
        let finalizers = s
            .field(
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "finalizers",
            )
            .unwrap();
        assert_eq!(finalizers.patch_strategy, "merge");
        assert_eq!(finalizers.child, Child::None);
        assert!(s.field("io.k8s.api.core.v1.PodSpec", "hostname").is_none());
        assert_eq!(
            s.field("io.k8s.api.core.v1.ResourceRequirements", "limits"),
            None
        );
        assert_eq!(
            s.field("io.k8s.api.authentication.v1.UserInfo", "extra")
                .map(|f| f.child),
            Some(Child::Map)
        );
    }

    #[test]
    fn roots() {
        assert_eq!(
            root_definition("", "v1", "Pod"),
            Some("io.k8s.api.core.v1.Pod")
        );
        assert_eq!(
            root_definition("autoscaling", "v1", "Scale"),
            Some("io.k8s.api.autoscaling.v1.Scale")
        );
        assert_eq!(root_definition("example.com", "v1", "Widget"), None);
    }
}
