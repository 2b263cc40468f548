//! The Namespace controller: a namespace being deleted is emptied of
//! every namespaced object (the resources found through discovery), its
//! status conditions say what remains, and once nothing does the
//! `kubernetes` finalizer is removed through the `finalize` subresource,
//! which lets the API server delete the namespace.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition, NamespaceStatus};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::discovery::{Scope, verbs};
use kube::{Client, ResourceExt};

use crate::mapper::Mapper;
use crate::runtime::{Change, Factory, Informer, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{api_code, is_being_deleted, now, post_params};

const FINALIZER: &str = "kubernetes";
const WORKERS: usize = 2;

pub struct NamespaceController {
    client: Client,
    namespaces: Informer<Namespace>,
    queue: Arc<Queue<String>>,
    mapper: Mapper,
}

/// What is left in a namespace after one deletion pass.
#[derive(Default)]
struct Remaining {
    /// group-resource -> count
    resources: BTreeMap<String, usize>,
    /// finalizer -> count
    finalizers: BTreeMap<String, usize>,
    /// Longest grace period still running, in seconds.
    grace: i64,
    errors: Vec<String>,
}

impl NamespaceController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(NamespaceController {
            client: factory.client().clone(),
            namespaces: factory.informer::<Namespace>(),
            queue: Queue::new(),
            mapper: Mapper::new(factory.client().clone()),
        });
        let q = Arc::clone(&c.queue);
        c.namespaces.on_change(move |ch| match ch {
            Change::Added(ns) | Change::Updated { new: ns, .. } => {
                if is_being_deleted(&ns.metadata) {
                    q.add(ns.name_any());
                }
            }
            Change::Deleted(_) => {}
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = self.namespaces.wait_synced();
        let queue = Arc::clone(&self.queue);
        run_controller(
            "namespace",
            Arc::clone(&self),
            queue,
            WORKERS,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    async fn sync(&self, name: String) -> SyncResult {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let Some(ns) = api.get_opt(&name).await? else {
            return Ok(None);
        };
        let finalizers = ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.clone())
            .unwrap_or_default();
        if !is_being_deleted(&ns.metadata) || !finalizers.iter().any(|f| f == FINALIZER) {
            return Ok(None);
        }
        let (remaining, discovery_err) = match self.delete_content(&name).await {
            Ok(r) => (r, None),
            Err(e) => (Remaining::default(), Some(e.to_string())),
        };
        let done = discovery_err.is_none()
            && remaining.errors.is_empty()
            && remaining.resources.is_empty();
        let ns = self
            .update_conditions(&api, ns, &remaining, discovery_err.as_deref())
            .await?;
        if !done {
            // Pods wait out their grace period; other content (finalizers)
            // is looked at again every two seconds.
            let wait = Duration::from_secs(remaining.grace.max(2) as u64);
            return Ok(Some(wait.min(Duration::from_secs(30))));
        }
        let mut finalized = ns.clone();
        if let Some(spec) = finalized.spec.as_mut() {
            spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
        }
        match api
            .replace_subresource("finalize", &name, &post_params(), &finalized)
            .await
        {
            Ok(_) => Ok(None),
            Err(e) if api_code(&e) == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete everything in the namespace and count what is left.
    async fn delete_content(&self, ns: &str) -> kube::Result<Remaining> {
        let resources = self.mapper.preferred(Duration::from_secs(30)).await?;
        let mut left = Remaining::default();
        for (ar, caps) in resources {
            if caps.scope != Scope::Namespaced
                || !caps.supports_operation(verbs::LIST)
                || !caps.supports_operation(verbs::DELETE)
            {
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &ar);
            let dp = DeleteParams::background();
            let mut listed = true;
            if caps.supports_operation(verbs::DELETE_COLLECTION) {
                match api.delete_collection(&dp, &ListParams::default()).await {
                    Ok(_) => listed = false,
                    Err(e) if matches!(api_code(&e), Some(405) | Some(404)) => {}
                    Err(e) => left.errors.push(format!("{}: {e}", ar.plural)),
                }
            }
            let objs = match api.list_metadata(&ListParams::default()).await {
                Ok(l) => l.items,
                Err(e) if api_code(&e) == Some(404) => continue,
                Err(e) => {
                    left.errors.push(format!("{}: {e}", ar.plural));
                    continue;
                }
            };
            let mut count = 0;
            for o in objs {
                if listed && o.metadata.deletion_timestamp.is_none() {
                    match api.delete(&o.name_any(), &dp).await {
                        // Gone at once (a Status answer); an object
                        // answer means it waits for finalizers or grace.
                        Ok(r) if r.is_right() => continue,
                        Ok(_) => {}
                        Err(e) if api_code(&e) == Some(404) => continue,
                        Err(e) => left
                            .errors
                            .push(format!("{} {}: {e}", ar.plural, o.name_any())),
                    }
                }
                count += 1;
                for f in o.finalizers() {
                    *left.finalizers.entry(f.clone()).or_default() += 1;
                }
                if let Some(g) = o.metadata.deletion_grace_period_seconds {
                    left.grace = left.grace.max(g);
                }
            }
            if count > 0 {
                let gr = if ar.group.is_empty() {
                    ar.plural.clone()
                } else {
                    format!("{}.{}", ar.plural, ar.group)
                };
                *left.resources.entry(gr).or_default() += count;
            }
        }
        Ok(left)
    }

    async fn update_conditions(
        &self,
        api: &Api<Namespace>,
        ns: Namespace,
        left: &Remaining,
        discovery_err: Option<&str>,
    ) -> anyhow::Result<Namespace> {
        let cond =
            |t: &str, failed: bool, reason: (&str, &str), message: String| NamespaceCondition {
                type_: t.into(),
                status: if failed { "True" } else { "False" }.into(),
                reason: Some(if failed { reason.0 } else { reason.1 }.into()),
                message: Some(message),
                last_transition_time: None,
            };
        let join = |m: &BTreeMap<String, usize>, f: &dyn Fn(&String, &usize) -> String| {
            m.iter()
                .map(|(k, v)| f(k, v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let wanted = vec![
            cond(
                "NamespaceDeletionDiscoveryFailure",
                discovery_err.is_some(),
                ("DiscoveryFailed", "ResourcesDiscovered"),
                match discovery_err {
                    Some(e) => format!("Discovery failed for some groups: {e}"),
                    None => "All resources successfully discovered".into(),
                },
            ),
            cond(
                "NamespaceDeletionGroupVersionParsingFailure",
                false,
                ("GroupVersionParsingFailed", "ParsedGroupVersions"),
                "All legacy kube types successfully parsed".into(),
            ),
            cond(
                "NamespaceDeletionContentFailure",
                !left.errors.is_empty(),
                ("ContentDeletionFailed", "ContentDeleted"),
                if left.errors.is_empty() {
                    "All content successfully deleted, may be waiting on finalization".into()
                } else {
                    format!(
                        "Failed to delete all resource types, {} remaining: {}",
                        left.errors.len(),
                        left.errors.join(", ")
                    )
                },
            ),
            cond(
                "NamespaceContentRemaining",
                !left.resources.is_empty(),
                ("SomeResourcesRemain", "ContentRemoved"),
                if left.resources.is_empty() {
                    "All content successfully removed".into()
                } else {
                    format!(
                        "Some resources are remaining: {}",
                        join(&left.resources, &|k, v| format!(
                            "{k} has {v} resource instances"
                        ))
                    )
                },
            ),
            cond(
                "NamespaceFinalizersRemaining",
                !left.finalizers.is_empty(),
                ("SomeFinalizersRemain", "ContentHasNoFinalizers"),
                if left.finalizers.is_empty() {
                    "All content-preserving finalizers finished".into()
                } else {
                    format!(
                        "Some content in the namespace has finalizers remaining: {}",
                        join(&left.finalizers, &|k, v| format!(
                            "{k} in {v} resource instances"
                        ))
                    )
                },
            ),
        ];
        let old = ns.status.clone().unwrap_or_default();
        let old_conds = old.conditions.clone().unwrap_or_default();
        let mut changed = false;
        let mut conds: Vec<NamespaceCondition> = Vec::new();
        for mut c in wanted {
            match old_conds.iter().find(|o| o.type_ == c.type_) {
                Some(o)
                    if o.status == c.status && o.reason == c.reason && o.message == c.message =>
                {
                    conds.push(o.clone());
                    continue;
                }
                Some(o) if o.status == c.status => {
                    c.last_transition_time = o.last_transition_time.clone()
                }
                _ => c.last_transition_time = Some(now()),
            }
            changed = true;
            conds.push(c);
        }
        if !changed {
            return Ok(ns);
        }
        let mut next = ns.clone();
        next.status = Some(NamespaceStatus {
            phase: old.phase.clone().or_else(|| Some("Terminating".into())),
            conditions: Some(conds),
        });
        match api
            .replace_status(&ns.name_any(), &post_params(), &next)
            .await
        {
            Ok(updated) => Ok(updated),
            Err(e) if api_code(&e) == Some(409) => Ok(api.get(&ns.name_any()).await?),
            Err(e) => Err(e.into()),
        }
    }
}
