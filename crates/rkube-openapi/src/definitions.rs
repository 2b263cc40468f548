//! The definitions section: k8s-openapi's schemas of the served kinds and of
//! everything they reference, under upstream's names, decorated with what
//! k8s-openapi leaves out (`x-kubernetes-group-version-kind`, the patch and
//! list extensions of `rkube_api::patch_strategy`) and with upstream's shape
//! for the few types k8s-openapi models differently.
//!
//! The result is in the Swagger 2.0 form (`#/definitions/...` references with
//! sibling keywords); [`crate::v3`] converts it for OpenAPI v3.

use std::collections::{BTreeMap, BTreeSet};

use rkube_api::patch_strategy;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::kinds;

/// Prefix of the definitions of `meta.k8s.io/v1`.
pub(crate) const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";
/// Prefix of references in the Swagger 2.0 form.
pub(crate) const V2_REF: &str = "#/definitions/";

pub(crate) type Definitions = BTreeMap<String, Value>;

/// A group, version and kind, as the `x-kubernetes-group-version-kind`
/// extension lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"group": self.group, "kind": self.kind, "version": self.version})
    }
}

/// Collects definitions while the paths are built.
pub(crate) struct DefinitionsBuilder {
    generator: SchemaGenerator,
    gvks: BTreeMap<String, BTreeSet<Gvk>>,
    /// Definitions that are not k8s-openapi types (lists, unknown kinds).
    extra: Definitions,
}

impl DefinitionsBuilder {
    pub fn new() -> DefinitionsBuilder {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/definitions".into();
            s.meta_schema = None;
            s.transforms = Vec::new();
        });
        DefinitionsBuilder {
            generator: settings.into_generator(),
            gvks: BTreeMap::new(),
            extra: Definitions::new(),
        }
    }

    /// Adds a k8s-openapi type; returns its definition name.
    pub fn add<T: JsonSchema>(&mut self) -> String {
        self.generator.subschema_for::<T>();
        T::schema_name().into_owned()
    }

    /// Adds the schema of a kind; returns its definition name. A kind that
    /// k8s-openapi does not describe gets an open object schema.
    pub fn kind(&mut self, group: &str, version: &str, kind: &str) -> String {
        let name = match kinds::find(group, version, kind) {
            Some(k) => {
                (k.add)(&mut self.generator);
                (k.name)().into_owned()
            }
            None if crate::metrics::definitions(group, version, kind).is_some() => {
                let (name, own) =
                    crate::metrics::definitions(group, version, kind).expect("just checked");
                // What the hand-written schemas refer to.
                self.add::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>();
                self.add::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>();
                self.add::<k8s_openapi::apimachinery::pkg::api::resource::Quantity>();
                for (n, schema) in own {
                    self.extra.entry(n).or_insert(schema);
                }
                name
            }
            None => {
                let name = fallback_name(group, version, kind);
                self.extra
                    .entry(name.clone())
                    .or_insert_with(|| open_object(kind));
                name
            }
        };
        self.tag(&name, Gvk::new(group, version, kind));
        name
    }

    /// Adds `<Kind>List` next to its item's definition; returns its name.
    pub fn list(&mut self, group: &str, version: &str, kind: &str, list_kind: &str) -> String {
        let item = self.kind(group, version, kind);
        let prefix = item.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
        let name = format!("{prefix}.{list_kind}");
        let list_meta = self.add::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta>();
        self.extra
            .entry(name.clone())
            .or_insert_with(|| list_schema(kind, list_kind, &item, &list_meta));
        self.tag(&name, Gvk::new(group, version, list_kind));
        name
    }

    /// Records that definition `name` is the schema of `gvk`.
    pub fn tag(&mut self, name: &str, gvk: Gvk) {
        self.gvks.entry(name.to_string()).or_default().insert(gvk);
    }

    /// Every definition, decorated.
    pub fn finish(mut self) -> Definitions {
        let mut out = Definitions::new();
        for (name, schema) in self.generator.take_definitions(false) {
            out.insert(name, schema);
        }
        out.extend(std::mem::take(&mut self.extra));
        for (name, schema) in out.iter_mut() {
            decorate(name, schema, self.gvks.get(name));
        }
        out
    }
}

fn fallback_name(group: &str, version: &str, kind: &str) -> String {
    let short = group.split('.').next().filter(|s| !s.is_empty());
    format!("io.k8s.api.{}.{version}.{kind}", short.unwrap_or("core"))
}

fn type_meta_properties() -> Map<String, Value> {
    let mut props = Map::new();
    props.insert(
        "apiVersion".into(),
        json!({"description": "Version of the schema the object was written in.", "type": "string"}),
    );
    props.insert(
        "kind".into(),
        json!({"description": "Kind of the object, in CamelCase.", "type": "string"}),
    );
    props
}

fn open_object(kind: &str) -> Value {
    let mut props = type_meta_properties();
    props.insert(
        "metadata".into(),
        json!({"$ref": format!("{V2_REF}{META}ObjectMeta")}),
    );
    json!({
        "description": format!("{kind} is served by this server; its schema is not published."),
        "type": "object",
        "properties": props,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

fn list_schema(kind: &str, list_kind: &str, item: &str, list_meta: &str) -> Value {
    let mut props = type_meta_properties();
    props.insert(
        "items".into(),
        json!({
            "description": format!("The {kind} objects of the list."),
            "type": "array",
            "items": {"$ref": format!("{V2_REF}{item}")},
        }),
    );
    props.insert(
        "metadata".into(),
        json!({
            "$ref": format!("{V2_REF}{list_meta}"),
            "description": "Standard list metadata: resourceVersion and continue token.",
        }),
    );
    json!({
        "description": format!("{list_kind} is a list of {kind} objects."),
        "type": "object",
        "properties": props,
        "required": ["items"],
    })
}

/// Adds what k8s-openapi's schema lacks.
fn decorate(name: &str, schema: &mut Value, gvks: Option<&BTreeSet<Gvk>>) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    reshape_special(name, obj);
    // k8s-openapi makes `metadata` required on every kind; upstream never does.
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|r| r != "metadata");
        if required.is_empty() {
            obj.remove("required");
        }
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (field, prop) in props.iter_mut() {
            if let (Some(facts), Some(prop)) =
                (patch_strategy::lookup(name, field), prop.as_object_mut())
            {
                field_extensions(facts, prop);
            }
        }
    }
    if let Some(map_type) = patch_strategy::struct_map_type(name) {
        obj.insert("x-kubernetes-map-type".into(), map_type.as_str().into());
    }
    if let Some(gvks) = gvks {
        let list: Vec<Value> = gvks.iter().map(Gvk::to_json).collect();
        obj.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
    }
}

fn field_extensions(facts: &patch_strategy::FieldStrategy, prop: &mut Map<String, Value>) {
    if let Some(list) = facts.list_type {
        prop.insert("x-kubernetes-list-type".into(), list.as_str().into());
        if !list.map_keys().is_empty() {
            let keys: Vec<Value> = list.map_keys().iter().map(|k| (*k).into()).collect();
            prop.insert("x-kubernetes-list-map-keys".into(), Value::Array(keys));
        }
    }
    if let Some(map_type) = facts.map_type {
        prop.insert("x-kubernetes-map-type".into(), map_type.as_str().into());
    }
    if let Some(key) = facts.patch_merge_key() {
        prop.insert("x-kubernetes-patch-merge-key".into(), key.into());
    }
    if !facts.patch_strategy.is_empty() {
        prop.insert(
            "x-kubernetes-patch-strategy".into(),
            facts.patch_strategy.into(),
        );
    }
}

/// Types whose upstream Swagger shape differs from k8s-openapi's: both
/// carry `x-kubernetes-int-or-string`, upstream publishes a typed string.
fn reshape_special(name: &str, obj: &mut Map<String, Value>) {
    match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            obj.remove("x-kubernetes-int-or-string");
            obj.insert("type".into(), "string".into());
            obj.insert("format".into(), "int-or-string".into());
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
            obj.remove("x-kubernetes-int-or-string");
            obj.insert("type".into(), "string".into());
        }
        _ => {}
    }
}

/// Every definition name a schema refers to (`$ref`), recursively inside it
/// but not across definitions.
pub(crate) fn refs_in(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix(prefix)) {
                        out.insert(name.to_string());
                    }
                } else {
                    refs_in(v, prefix, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, prefix, out)),
        _ => {}
    }
}

/// The definitions reachable from `roots`, themselves included.
pub(crate) fn closure(defs: &Definitions, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = defs.get(&name) {
            let mut found = BTreeSet::new();
            refs_in(schema, V2_REF, &mut found);
            todo.extend(found.into_iter().filter(|n| !seen.contains(n)));
        }
    }
    seen
}
