//! The paths section: for every resource of the catalogue, in every version
//! it is served in, the operations kube-apiserver publishes (list, create,
//! deletecollection, read, replace, patch, delete, the watch paths, the
//! subresources), with their query parameters and extensions, in the
//! Swagger 2.0 form.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use rkube_api::catalogue::{ResourceDef, Subresource};
use serde_json::{Map, Value, json};

use crate::definitions::{DefinitionsBuilder, Gvk, V2_REF};
use crate::params;

/// Media types a patch body may have; strategic merge patch is what
/// kubectl's client-side apply looks for.
pub(crate) const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
pub(crate) const PRODUCES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];
pub(crate) const PRODUCES_WATCH: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];

/// Path items by group-version key (`api/v1`, `apis/apps/v1`), then path.
pub(crate) type PathsByGroupVersion = BTreeMap<String, BTreeMap<String, Value>>;

/// The key of a group-version in the v3 index: `api/v1`, `apis/apps/v1`.
pub(crate) fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `rbac.authorization.k8s.io` -> `RbacAuthorization`, `` -> `Core`.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed
        .split(['.', '-'])
        .map(capitalize)
        .collect::<Vec<_>>()
        .join("")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Every group with its versions, in catalogue order (as
/// `catalogue::groups` does, over any list of resources).
fn groups(resources: &[ResourceDef]) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for def in resources {
        let i = match out.iter().position(|(g, _)| *g == def.group) {
            Some(i) => i,
            None => {
                out.push((def.group, Vec::new()));
                out.len() - 1
            }
        };
        for v in def.versions {
            if !out[i].1.contains(v) {
                out[i].1.push(v);
            }
        }
    }
    out
}

/// Builds every path of every group-version the resources are served in.
pub(crate) fn build(
    defs: &mut DefinitionsBuilder,
    resources: &[ResourceDef],
) -> PathsByGroupVersion {
    let status = defs.add::<meta::Status>();
    defs.tag(&status, Gvk::new("", "v1", "Status"));
    let delete_options = defs.add::<meta::DeleteOptions>();
    let watch_event = defs.add::<meta::WatchEvent<()>>();
    let resource_list = defs.add::<meta::APIResourceList>();
    defs.add::<meta::Patch>();
    let mut out = PathsByGroupVersion::new();
    for (group, versions) in groups(resources) {
        for version in versions {
            defs.tag(&delete_options, Gvk::new(group, version, "DeleteOptions"));
            defs.tag(&watch_event, Gvk::new(group, version, "WatchEvent"));
            let mut gv = GroupVersion {
                group,
                version,
                prefix: format!("/{}", gv_key(group, version)),
                tag: tag(group, version),
                op_gv: format!("{}{}", group_camel(group), capitalize(version)),
                status: status.clone(),
                delete_options: delete_options.clone(),
                watch_event: watch_event.clone(),
                paths: BTreeMap::new(),
            };
            gv.root(&resource_list);
            for def in resources
                .iter()
                .filter(|d| d.group == group && d.serves(version))
            {
                gv.resource(defs, def);
            }
            out.insert(gv_key(group, version), gv.paths);
        }
    }
    out
}

/// `apps_v1`, `rbacAuthorization_v1`, `core_v1`: upstream's operation tags.
fn tag(group: &str, version: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    let first = chars.next().map(|c| c.to_lowercase().to_string());
    format!("{}{}_{version}", first.unwrap_or_default(), chars.as_str())
}

struct GroupVersion<'a> {
    group: &'a str,
    version: &'a str,
    prefix: String,
    tag: String,
    op_gv: String,
    status: String,
    delete_options: String,
    watch_event: String,
    paths: BTreeMap<String, Value>,
}

/// What an operation is about.
struct Target<'a> {
    gvk: &'a Gvk,
    /// `NamespacedPod`, `Node`, `NamespacedDeploymentScale`.
    op_name: String,
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{V2_REF}{name}")})
}

fn responses(codes: &[&str], schema: &Value) -> Value {
    let mut out = Map::new();
    for code in codes {
        let description = match *code {
            "200" => "OK",
            "201" => "Created",
            "202" => "Accepted",
            _ => "",
        };
        out.insert(
            (*code).to_string(),
            json!({"description": description, "schema": schema}),
        );
    }
    out.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(out)
}

impl GroupVersion<'_> {
    fn add(&mut self, path: &str, method: &str, operation: Value, path_params: &[Value]) {
        let item = self
            .paths
            .entry(path.to_string())
            .or_insert_with(|| json!({"parameters": path_params}));
        item[method] = operation;
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &self,
        verb: &str,
        action: &str,
        target: &Target,
        description: String,
        parameters: Vec<Value>,
        responses: Value,
        consumes: &[&str],
        produces: &[&str],
    ) -> Value {
        json!({
            "description": description,
            "consumes": consumes,
            "produces": produces,
            "schemes": ["https"],
            "tags": [self.tag],
            "operationId": format!("{verb}{}{}", self.op_gv, target.op_name),
            "parameters": parameters,
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": target.gvk.to_json(),
        })
    }

    /// `GET /apis/<group>/<version>/`: the group-version's resources.
    fn root(&mut self, resource_list: &str) {
        let op = json!({
            "description": "get available resources",
            "consumes": PRODUCES,
            "produces": PRODUCES,
            "schemes": ["https"],
            "tags": [self.tag],
            "operationId": format!("get{}APIResources", self.op_gv),
            "responses": responses(&["200"], &reference(resource_list)),
        });
        let path = format!("{}/", self.prefix);
        self.paths.insert(path, json!({"get": op}));
    }

    fn resource(&mut self, defs: &mut DefinitionsBuilder, def: &ResourceDef) {
        let (group, version) = (self.group, self.version);
        let kind_def = defs.kind(group, version, def.kind);
        // Create-only resources (reviews, bindings) have no list kind.
        let list_def = (def.has_verb("list") && !def.list_kind.is_empty())
            .then(|| defs.list(group, version, def.kind, def.list_kind));
        let gvk = Gvk::new(group, version, def.kind);
        let plural = def.plural;
        let kind = def.kind;
        let (ns_seg, ns_name, ns_params) = if def.namespaced {
            (
                "/namespaces/{namespace}",
                "Namespaced",
                vec![params::namespace()],
            )
        } else {
            ("", "", vec![])
        };
        let collection = format!("{}{ns_seg}/{plural}", self.prefix);
        let item = format!("{collection}/{{name}}");
        let mut item_params = vec![params::name(kind)];
        item_params.extend(ns_params.iter().cloned());
        item_params.push(params::pretty());
        let mut coll_params = ns_params.clone();
        coll_params.push(params::pretty());
        let target = Target {
            gvk: &gvk,
            op_name: format!("{ns_name}{kind}"),
        };
        let obj = reference(&kind_def);
        let status = reference(&self.status);

        if let Some(list_def) = &list_def {
            let op = self.operation(
                "list",
                "list",
                &target,
                format!("list or watch objects of kind {kind}"),
                params::list(),
                responses(&["200"], &reference(list_def)),
                &["*/*"],
                PRODUCES_WATCH,
            );
            self.add(&collection, "get", op, &coll_params);
            if def.namespaced {
                let all = Target {
                    gvk: &gvk,
                    op_name: format!("{kind}ForAllNamespaces"),
                };
                let op = self.operation(
                    "list",
                    "list",
                    &all,
                    format!("list or watch objects of kind {kind}"),
                    params::list(),
                    responses(&["200"], &reference(list_def)),
                    &["*/*"],
                    PRODUCES_WATCH,
                );
                let path = format!("{}/{plural}", self.prefix);
                self.add(&path, "get", op, &[params::pretty()]);
            }
        }
        if def.has_verb("create") {
            let mut p = vec![params::body(&kind_def, true)];
            p.extend(params::write());
            let op = self.operation(
                "create",
                "post",
                &target,
                format!("create a {kind}"),
                p,
                responses(&["200", "201", "202"], &obj),
                &["*/*"],
                PRODUCES,
            );
            self.add(&collection, "post", op, &coll_params);
        }
        if def.has_verb("deletecollection") {
            let mut p = vec![params::body(&self.delete_options, false)];
            p.extend(params::delete_collection());
            let op = self.operation(
                "delete",
                "deletecollection",
                &Target {
                    gvk: &gvk,
                    op_name: format!("Collection{ns_name}{kind}"),
                },
                format!("delete collection of {kind}"),
                p,
                responses(&["200"], &status),
                &["*/*"],
                PRODUCES,
            );
            self.add(&collection, "delete", op, &coll_params);
        }
        self.item_verbs(def, &target, &item, &item_params, &kind_def, "", &status);
        if def.has_verb("watch") {
            self.watches(def, &gvk, ns_seg, ns_name, &ns_params, &item_params);
        }
        for sub in def.subresources {
            self.subresource(defs, def, sub, &item, &item_params, ns_name);
        }
    }

    /// get, put, patch and delete on one object (or on a subresource of it).
    #[allow(clippy::too_many_arguments)]
    fn item_verbs(
        &mut self,
        def_or_sub: &dyn HasVerb,
        target: &Target,
        path: &str,
        path_params: &[Value],
        body_def: &str,
        what: &str,
        status: &Value,
    ) {
        let kind = &target.gvk.kind;
        let obj = reference(body_def);
        if def_or_sub.has(VerbKind::Get) {
            let op = self.operation(
                "read",
                "get",
                target,
                format!("read the specified {kind}{what}"),
                vec![],
                responses(&["200"], &obj),
                &["*/*"],
                PRODUCES,
            );
            self.add(path, "get", op, path_params);
        }
        if def_or_sub.has(VerbKind::Update) {
            let mut p = vec![params::body(body_def, true)];
            p.extend(params::write());
            let op = self.operation(
                "replace",
                "put",
                target,
                format!("replace the specified {kind}{what}"),
                p,
                responses(&["200", "201"], &obj),
                &["*/*"],
                PRODUCES,
            );
            self.add(path, "put", op, path_params);
        }
        if def_or_sub.has(VerbKind::Patch) {
            let mut p = vec![params::body(&params::patch_definition(), true)];
            p.extend(params::write());
            p.push(params::force());
            let op = self.operation(
                "patch",
                "patch",
                target,
                format!("partially update the specified {kind}{what}"),
                p,
                responses(&["200", "201"], &obj),
                PATCH_TYPES,
                PRODUCES,
            );
            self.add(path, "patch", op, path_params);
        }
        if def_or_sub.has(VerbKind::Delete) {
            let mut p = vec![params::body(&self.delete_options, false)];
            p.extend(params::delete());
            let op = self.operation(
                "delete",
                "delete",
                target,
                format!("delete a {kind}"),
                p,
                responses(&["200", "202"], status),
                &["*/*"],
                PRODUCES,
            );
            self.add(path, "delete", op, path_params);
        }
    }

    /// The deprecated `/watch/` paths.
    fn watches(
        &mut self,
        def: &ResourceDef,
        gvk: &Gvk,
        ns_seg: &str,
        ns_name: &str,
        ns_params: &[Value],
        item_params: &[Value],
    ) {
        let (kind, plural) = (def.kind, def.plural);
        let event = reference(&self.watch_event);
        let mut coll_path_params = params::list();
        coll_path_params.extend(ns_params.iter().cloned());
        coll_path_params.push(params::pretty());
        let mut item_path_params = params::list();
        item_path_params.extend(item_params.iter().cloned());
        let watch = |name: String| Target { gvk, op_name: name };
        let add = |gv: &mut Self, path: String, target: Target, action: &str, pp: &[Value]| {
            let what = if action == "watch" {
                format!("watch changes to an object of kind {kind}")
            } else {
                format!("watch individual changes to a list of {kind}")
            };
            let op = gv.operation(
                "watch",
                action,
                &target,
                what,
                vec![],
                responses(&["200"], &event),
                &["*/*"],
                PRODUCES_WATCH,
            );
            gv.add(&path, "get", op, pp);
        };
        let base = format!("{}/watch{ns_seg}/{plural}", self.prefix);
        add(
            self,
            format!("{base}/{{name}}"),
            watch(format!("{ns_name}{kind}")),
            "watch",
            &item_path_params,
        );
        add(
            self,
            base,
            watch(format!("{ns_name}{kind}List")),
            "watchlist",
            &coll_path_params,
        );
        if def.namespaced {
            let mut pp = params::list();
            pp.push(params::pretty());
            add(
                self,
                format!("{}/watch/{plural}", self.prefix),
                watch(format!("{kind}ListForAllNamespaces")),
                "watchlist",
                &pp,
            );
        }
    }

    fn subresource(
        &mut self,
        defs: &mut DefinitionsBuilder,
        def: &ResourceDef,
        sub: &Subresource,
        item: &str,
        item_params: &[Value],
        ns_name: &str,
    ) {
        let group = if sub.group.is_empty() && sub.version.is_empty() {
            self.group
        } else {
            sub.group
        };
        let version = if sub.version.is_empty() {
            self.version
        } else {
            sub.version
        };
        let path = format!("{item}/{}", sub.name);
        let op_name = format!("{ns_name}{}{}", def.kind, capitalize(sub.name));
        if matches!(
            sub.name,
            "exec" | "attach" | "portforward" | "proxy" | "log"
        ) || sub.kind.is_empty()
        {
            self.connect(def, sub, &path, item_params, op_name);
            return;
        }
        let body_def = defs.kind(group, version, sub.kind);
        let gvk = Gvk::new(group, version, sub.kind);
        let target = Target { gvk: &gvk, op_name };
        let status = reference(&self.status);
        let what = format!(" {}", sub.name);
        self.item_verbs(sub, &target, &path, item_params, &body_def, &what, &status);
        if sub.verbs.contains(&"create") {
            let mut p = vec![params::body(&body_def, true)];
            p.extend(params::write());
            let op = self.operation(
                "create",
                "post",
                &target,
                format!("create {} of a {}", sub.name, def.kind),
                p,
                responses(&["200", "201", "202"], &reference(&body_def)),
                &["*/*"],
                PRODUCES,
            );
            self.add(&path, "post", op, item_params);
        }
    }

    /// Streaming subresources (`log`, `exec`, `proxy`, ...): their bodies
    /// are not objects. `log` is a read of the pod; the others are tagged
    /// with their options kind (`PodExecOptions`), never with the parent's,
    /// so that kubectl's search for the parent's PATCH operation does not
    /// land on a proxy.
    fn connect(
        &mut self,
        def: &ResourceDef,
        sub: &Subresource,
        path: &str,
        item_params: &[Value],
        op_name: String,
    ) {
        let is_log = sub.name == "log";
        let kind = if is_log {
            def.kind.to_string()
        } else if sub.kind.is_empty() || sub.kind == def.kind {
            let sub_name = if sub.name == "portforward" {
                "PortForward".to_string()
            } else {
                capitalize(sub.name)
            };
            format!("{}{sub_name}Options", def.kind)
        } else {
            sub.kind.to_string()
        };
        let gvk = Gvk::new(self.group, self.version, &kind);
        let string = json!({"type": "string"});
        for verb in sub.verbs {
            let method = match *verb {
                "get" | "list" => "get",
                "create" => "post",
                "update" => "put",
                "patch" => "patch",
                "delete" => "delete",
                _ => continue,
            };
            let (id, action) = if is_log {
                (format!("read{}{op_name}", self.op_gv), "get")
            } else {
                let m = capitalize(method);
                (format!("connect{}{m}{op_name}", self.op_gv), "connect")
            };
            let op = json!({
                "description": format!("{method} {} of a {}", sub.name, def.kind),
                "consumes": ["*/*"],
                "produces": ["*/*"],
                "schemes": ["https"],
                "tags": [self.tag],
                "operationId": id,
                "responses": responses(&["200"], &string),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk.to_json(),
            });
            self.add(path, method, op, item_params);
        }
    }
}

#[derive(Clone, Copy)]
enum VerbKind {
    Get,
    Update,
    Patch,
    Delete,
}

/// A resource or a subresource, asked which item verbs it has.
trait HasVerb {
    fn has(&self, verb: VerbKind) -> bool;
}

fn verb_name(verb: VerbKind) -> &'static str {
    match verb {
        VerbKind::Get => "get",
        VerbKind::Update => "update",
        VerbKind::Patch => "patch",
        VerbKind::Delete => "delete",
    }
}

impl HasVerb for ResourceDef {
    fn has(&self, verb: VerbKind) -> bool {
        self.has_verb(verb_name(verb))
    }
}

impl HasVerb for Subresource {
    fn has(&self, verb: VerbKind) -> bool {
        // A subresource is never deleted on its own.
        !matches!(verb, VerbKind::Delete) && self.verbs.contains(&verb_name(verb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(group_camel(""), "Core");
        assert_eq!(
            group_camel("rbac.authorization.k8s.io"),
            "RbacAuthorization"
        );
        assert_eq!(group_camel("apps"), "Apps");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(gv_key("apps", "v1"), "apis/apps/v1");
        assert_eq!(gv_key("", "v1"), "api/v1");
    }
}
