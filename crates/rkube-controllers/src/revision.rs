//! ControllerRevisions, the history StatefulSets and DaemonSets keep of
//! their pod templates (what `kubectl rollout history/undo` reads): the
//! data is the patch that restores the template, the name `<owner>-<hash>`
//! with the hash over that data and the owner's collisionCount, and the
//! revision number grows each time a template becomes current again.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::deployment::hash::{Fnv32a, safe_encode};
use crate::runtime::Informer;
use crate::util::{api_code, post_params};

/// The label holding a revision's hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// The revision data of a template: a patch replacing `spec.template`.
pub fn data(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(o) = t.as_object_mut() {
        o.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The template a revision restores.
pub fn template_of(rev: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = rev.data.0.pointer("/spec/template")?.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// The hash of revision data and a collision count, in the safe alphabet.
pub fn hash(data: &Value, collision_count: Option<i32>) -> String {
    let mut h = Fnv32a::default();
    h.write(data.to_string().as_bytes());
    if let Some(c) = collision_count {
        h.write(&(c as u32).to_le_bytes());
    }
    safe_encode(&h.sum().to_string())
}

/// The revisions `owner_uid` controls, oldest first.
pub fn owned(
    revisions: &Informer<ControllerRevision>,
    namespace: &str,
    owner_uid: &str,
) -> Vec<Arc<ControllerRevision>> {
    let mut v: Vec<Arc<ControllerRevision>> = revisions
        .list_namespace(namespace)
        .into_iter()
        .filter(|r| crate::util::controller_ref(&r.metadata).is_some_and(|o| o.uid == owner_uid))
        .collect();
    v.sort_by_key(|r| (r.revision, r.name_any()));
    v
}

fn same_data(a: &Value, b: &Value) -> bool {
    a == b
}

/// The revision for `template`, made or renumbered as needed: an
/// existing revision with the same data becomes the newest again (a
/// rollback); otherwise a new one is created, its name from the hash,
/// bumping `collision_count` when that name is taken by other data.
/// Returns the revision and the collision count to record.
#[allow(clippy::too_many_arguments)]
pub async fn ensure(
    client: &Client,
    namespace: &str,
    owner: OwnerReference,
    labels: BTreeMap<String, String>,
    template: &PodTemplateSpec,
    existing: &[Arc<ControllerRevision>],
    mut collision_count: i32,
) -> anyhow::Result<(ControllerRevision, i32)> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    let want = data(template);
    let max = existing
        .iter()
        .filter_map(|r| r.revision)
        .max()
        .unwrap_or(0);
    let equal: Vec<&Arc<ControllerRevision>> = existing
        .iter()
        .filter(|r| same_data(&r.data.0, &want))
        .collect();
    if let Some(last) = equal.last() {
        if last.revision == Some(max) {
            return Ok(((***last).clone(), collision_count));
        }
        let mut next = (***last).clone();
        next.revision = Some(max + 1);
        let updated = api.replace(&next.name_any(), &post_params(), &next).await?;
        return Ok((updated, collision_count));
    }
    loop {
        let h = hash(&want, Some(collision_count).filter(|c| *c > 0));
        let name = format!("{}-{}", owner.name, h);
        let mut l = labels.clone();
        l.insert(HASH_LABEL.into(), h.clone());
        let rev = ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.into()),
                labels: Some(l),
                owner_references: Some(vec![owner.clone()]),
                ..Default::default()
            },
            data: RawExtension(want.clone()),
            revision: Some(max + 1),
        };
        match api.create(&post_params(), &rev).await {
            Ok(r) => return Ok((r, collision_count)),
            Err(e) if api_code(&e) == Some(409) => {
                // Ours with the same data (our cache lagged): use it.
                if let Some(found) = api.get_opt(&name).await?
                    && same_data(&found.data.0, &want)
                    && crate::util::controller_ref(&found.metadata)
                        .is_some_and(|o| o.uid == owner.uid)
                {
                    return Ok((found, collision_count));
                }
                collision_count += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Delete the oldest revisions beyond `limit`, never one in `live`.
pub async fn truncate(
    client: &Client,
    namespace: &str,
    revisions: &[Arc<ControllerRevision>],
    live: &HashSet<String>,
    limit: i32,
) -> anyhow::Result<()> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    let history: Vec<&Arc<ControllerRevision>> = revisions
        .iter()
        .filter(|r| !live.contains(&r.name_any()))
        .collect();
    let excess = history.len().saturating_sub(limit.max(0) as usize);
    for r in history.into_iter().take(excess) {
        match api.delete(&r.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if api_code(&e) == Some(404) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    #[test]
    fn data_round_trips_and_hash_depends_on_collisions() {
        let t = PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some("nginx:1".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        };
        let d = data(&t);
        assert_eq!(d["spec"]["template"]["$patch"], "replace");
        let rev = ControllerRevision {
            data: RawExtension(d.clone()),
            ..Default::default()
        };
        assert_eq!(template_of(&rev), Some(t));
        assert_eq!(hash(&d, None), hash(&d, None));
        assert_ne!(hash(&d, None), hash(&d, Some(1)));
    }
}
