//! Adoption and release: a controller takes orphans its selector matches
//! and lets go of dependents it no longer matches, by rewriting their
//! ownerReferences with the object's uid and resourceVersion as
//! preconditions (a JSON merge patch).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::util::patch_params;

/// Replace `meta`'s owner references with `refs`, failing with 409 if the
/// object changed since `meta` was read.
pub async fn set_owner_refs<K>(
    api: &Api<K>,
    meta: &ObjectMeta,
    refs: Vec<OwnerReference>,
) -> kube::Result<K>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let name = meta.name.clone().unwrap_or_default();
    let refs = if refs.is_empty() {
        serde_json::Value::Null
    } else {
        json!(refs)
    };
    let patch = json!({
        "metadata": {
            "ownerReferences": refs,
            "uid": meta.uid,
            "resourceVersion": meta.resource_version,
        }
    });
    api.patch(&name, &patch_params(), &Patch::Merge(&patch))
        .await
}

/// Add `owner` as the controller of the object.
pub async fn adopt<K>(api: &Api<K>, meta: &ObjectMeta, owner: OwnerReference) -> kube::Result<K>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut refs: Vec<OwnerReference> = meta
        .owner_references
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.uid != owner.uid)
        .collect();
    refs.push(owner);
    set_owner_refs(api, meta, refs).await
}

/// Remove the reference to the owner with `owner_uid`.
pub async fn release<K>(api: &Api<K>, meta: &ObjectMeta, owner_uid: &str) -> kube::Result<K>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let refs: Vec<OwnerReference> = meta
        .owner_references
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.uid != owner_uid)
        .collect();
    set_owner_refs(api, meta, refs).await
}
