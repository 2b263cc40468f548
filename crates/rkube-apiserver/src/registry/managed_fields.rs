//! `metadata.managedFields` on the write path: the field-ownership engine
//! of `rkube_api::apply` bound to a resource (its schema root and which
//! part of the object the main resource and `/status` own).

use rkube_api::apply::{self, Scope, Writer};
use rkube_api::catalogue::ResourceDef;
use serde_json::Value;

/// The upstream definition of the kind in its storage version, which is
/// the version objects are in when their ownership is computed.
pub fn root(def: &ResourceDef) -> Option<&'static str> {
    rkube_api::patch::root_definition(def.group, def.storage_version, def.kind)
}

/// What a write through `subresource` may own: with a status subresource
/// the main resource leaves `status` alone and `/status` owns only it.
pub fn scope(def: &ResourceDef, subresource: Option<&str>) -> Scope {
    match subresource {
        Some("status") => Scope::OnlyStatus,
        _ if def.subresource("status").is_some() => Scope::AllButStatus,
        _ => Scope::Whole,
    }
}

/// Who made a write, for [`record_update`] and server-side apply.
pub struct WriteBy<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub now: &'a str,
}

impl WriteBy<'_> {
    /// The engine's writer for `def`; `None` for kinds without a schema.
    pub fn writer(&self, def: &ResourceDef) -> Option<Writer<'_>> {
        Some(Writer {
            root: root(def)?,
            manager: self.manager,
            api_version: self.api_version,
            subresource: self.subresource,
            scope: scope(def, self.subresource),
            now: self.now,
        })
    }
}

/// Records an Update (create, update, patch) that turned `old` into
/// `new`: the fields it changed move to the writer's entry.
pub fn record_update(def: &ResourceDef, new: &mut Value, old: Option<&Value>, by: &WriteBy<'_>) {
    match by.writer(def) {
        Some(w) => apply::record_update(old, new, &w),
        // Without a schema nothing can be attributed; keep what was there.
        None => {
            if let Some(mf) = old.and_then(|o| o.pointer("/metadata/managedFields")) {
                rkube_api::meta::metadata_mut(new).insert("managedFields".into(), mf.clone());
            }
        }
    }
}

/// The default field manager: the client's User-Agent up to the first
/// `/`, as kube-apiserver derives it.
pub fn default_manager(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("unknown");
    let name = ua.split('/').next().unwrap_or(ua);
    name.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn by(manager: &str) -> WriteBy<'_> {
        WriteBy {
            manager,
            api_version: "v1",
            subresource: None,
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn ownership_moves_to_the_last_writer() {
        let cm = rkube_api::catalogue::lookup("", "v1", "configmaps").unwrap();
        let mut v1 = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}});
        record_update(cm, &mut v1, None, &by("alice"));
        let mf = &v1["metadata"]["managedFields"];
        assert_eq!(mf[0]["manager"], "alice");
        assert_eq!(mf[0]["fieldsV1"]["f:data"], json!({".": {}, "f:k": {}}));

        let mut v2 = v1.clone();
        v2["data"]["k"] = json!("changed");
        v2["data"]["k2"] = json!("new");
        record_update(cm, &mut v2, Some(&v1), &by("bob"));
        let mf = v2["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        // Alice keeps the map itself: a member with no children is `{}`
        // ("." marks a member only beside children).
        assert_eq!(mf[0]["fieldsV1"]["f:data"], json!({}));
        assert_eq!(mf[1]["manager"], "bob");
        assert_eq!(
            mf[1]["fieldsV1"],
            json!({"f:data": {"f:k": {}, "f:k2": {}}})
        );
    }

    #[test]
    fn status_scope() {
        let pods = rkube_api::catalogue::lookup("", "v1", "pods").unwrap();
        assert_eq!(scope(pods, None), Scope::AllButStatus);
        assert_eq!(scope(pods, Some("status")), Scope::OnlyStatus);
        let cm = rkube_api::catalogue::lookup("", "v1", "configmaps").unwrap();
        assert_eq!(scope(cm, None), Scope::Whole);
    }
}
