//! The Deployment controller: owns one ReplicaSet per pod template
//! (`<deployment>-<pod-template-hash>`), rolls pods from the old ones to
//! the new one (RollingUpdate within maxSurge/maxUnavailable, or
//! Recreate), keeps revisions for `kubectl rollout history/undo`, scales
//! proportionally, honours `paused`, cleans up beyond
//! revisionHistoryLimit, and reports status and the Available and
//! Progressing conditions `kubectl rollout status` reads.

pub mod gotypes;
pub mod hash;
pub mod rollout;
pub mod util;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::claim;
use crate::events::{Recorder, reference};
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{
    api_code, controller_ref, is_being_deleted, owner_ref, selector_is_empty, selector_matches,
};
use rollout::Run;
use util::{DESIRED_REPLICAS, PAUSED, PROGRESSING, RESUMED, TIMED_OUT};

const WORKERS: usize = 5;

pub struct DeploymentController {
    client: Client,
    deployments: Informer<Deployment>,
    sets: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    queue: Arc<Queue<Key>>,
    recorder: Recorder,
}

fn deployment_owner(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<String> {
    controller_ref(meta)
        .filter(|r| r.kind == "Deployment" && r.api_version.starts_with("apps/"))
        .map(|r| r.name.clone())
}

impl DeploymentController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(DeploymentController {
            client: factory.client().clone(),
            deployments: factory.informer::<Deployment>(),
            sets: factory.informer::<ReplicaSet>(),
            pods: factory.informer::<Pod>(),
            queue: Queue::new(),
            recorder: Recorder::new(factory.client().clone(), "deployment-controller"),
        });
        let q = Arc::clone(&c.queue);
        c.deployments.on_change(move |ch| match ch {
            Change::Added(d) | Change::Updated { new: d, .. } | Change::Deleted(d) => {
                q.add(Key::of(d.as_ref()))
            }
        });
        let weak = Arc::downgrade(&c);
        c.sets.on_change(move |ch| {
            let Some(c) = weak.upgrade() else { return };
            match ch {
                Change::Added(rs) | Change::Deleted(rs) => c.enqueue_for_rs(rs),
                Change::Updated { old, new } => {
                    if deployment_owner(&old.metadata) != deployment_owner(&new.metadata)
                        || old.metadata.labels != new.metadata.labels
                    {
                        c.enqueue_for_rs(old);
                    }
                    c.enqueue_for_rs(new);
                }
            }
        });
        let weak = Arc::downgrade(&c);
        c.pods.on_change(move |ch| {
            let Some(c) = weak.upgrade() else { return };
            // Recreate waits for every old pod to be gone.
            if let Change::Deleted(p) = ch
                && let Some(r) = controller_ref(&p.metadata)
                && let Some(rs) = c.sets.get(&p.namespace().unwrap_or_default(), &r.name)
                && let Some(name) = deployment_owner(&rs.metadata)
                && let Some(d) = c.deployments.get(&p.namespace().unwrap_or_default(), &name)
                && util::is_recreate(&d)
            {
                c.queue.add(Key::of(d.as_ref()));
            }
        });
        c
    }

    /// Queue the Deployment that owns `rs`, or for an orphan every
    /// Deployment that selects it.
    fn enqueue_for_rs(&self, rs: &ReplicaSet) {
        let ns = rs.namespace().unwrap_or_default();
        if let Some(name) = deployment_owner(&rs.metadata) {
            self.queue.add(Key::new(ns, name));
            return;
        }
        if controller_ref(&rs.metadata).is_some() {
            return;
        }
        for d in self.deployments.list_namespace(&ns) {
            let sel = &d.spec.selector;
            if !selector_is_empty(sel) && selector_matches(sel, rs.metadata.labels.as_ref()) {
                self.queue.add(Key::of(d.as_ref()));
            }
        }
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.deployments.wait_synced().await;
            self.sets.wait_synced().await;
            self.pods.wait_synced().await;
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "deployment",
            Arc::clone(&self),
            queue,
            WORKERS,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    async fn sync(&self, key: Key) -> SyncResult {
        let Some(d) = self.deployments.get(&key.namespace, &key.name) else {
            return Ok(None);
        };
        let d = (*d).clone();
        if selector_is_empty(&d.spec.selector) {
            self.recorder.warning(
                reference(&d),
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.".into(),
            );
            let status = d.status.clone().unwrap_or_default();
            if status.observed_generation < d.metadata.generation {
                let mut run = Run::new(self, d, Vec::new());
                let mut s = status;
                s.observed_generation = run.d.metadata.generation;
                run.d.status = Some(s);
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), &key.namespace);
                api.replace_status(&key.name, &crate::util::post_params(), &run.d)
                    .await?;
            }
            return Ok(None);
        }
        let sets = self.claim_replica_sets(&d).await?;
        let mut run = Run::new(self, d, sets);
        if is_being_deleted(&run.d.metadata) {
            run.sync_revision(false).await?;
            run.sync_status().await?;
            return Ok(None);
        }
        self.check_paused_condition(&mut run).await?;
        if util::is_paused(&run.d) || is_scaling_event(&run) {
            run.sync_revision(false).await?;
            run.scale().await?;
            if util::is_paused(&run.d) {
                run.cleanup().await?;
            }
            run.sync_status().await?;
            return Ok(None);
        }
        if util::is_recreate(&run.d) {
            run.recreate().await
        } else {
            run.rolling().await
        }
    }

    /// Record pausing and resuming in the Progressing condition.
    async fn check_paused_condition(&self, run: &mut Run<'_>) -> anyhow::Result<()> {
        if !util::has_progress_deadline(&run.d) {
            return Ok(());
        }
        let mut s = run.d.status.clone().unwrap_or_default();
        let reason = util::condition(&s, PROGRESSING).and_then(|c| c.reason.clone());
        if reason.as_deref() == Some(TIMED_OUT) {
            return Ok(());
        }
        let paused = util::is_paused(&run.d);
        let cond = if paused && reason.as_deref() != Some(PAUSED) {
            util::new_condition(
                PROGRESSING,
                "Unknown",
                PAUSED,
                "Deployment is paused".into(),
            )
        } else if !paused && reason.as_deref() == Some(PAUSED) {
            util::new_condition(
                PROGRESSING,
                "Unknown",
                RESUMED,
                "Deployment is resumed".into(),
            )
        } else {
            return Ok(());
        };
        util::set_condition(&mut s, cond);
        run.d.status = Some(s);
        let api: Api<Deployment> =
            Api::namespaced(self.client.clone(), &run.d.namespace().unwrap_or_default());
        run.d = api
            .replace_status(&run.d.name_any(), &crate::util::post_params(), &run.d)
            .await?;
        Ok(())
    }

    /// The ReplicaSets `d` controls, after adopting matching orphans and
    /// releasing ones it no longer selects.
    async fn claim_replica_sets(&self, d: &Deployment) -> anyhow::Result<Vec<ReplicaSet>> {
        let ns = d.namespace().unwrap_or_default();
        let uid = d.uid().unwrap_or_default();
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        let mut owned = Vec::new();
        let mut can_adopt: Option<bool> = None;
        for rs in self.sets.list_namespace(&ns) {
            let matches = selector_matches(&d.spec.selector, rs.metadata.labels.as_ref());
            match controller_ref(&rs.metadata) {
                Some(r) if r.uid == uid => {
                    if matches {
                        owned.push((*rs).clone());
                    } else if !is_being_deleted(&rs.metadata) {
                        match claim::release(&api, &rs.metadata, &uid).await {
                            Ok(_) => {}
                            Err(e) if matches!(api_code(&e), Some(404) | Some(409)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Some(_) => {}
                None if matches && !is_being_deleted(&rs.metadata) => {
                    if can_adopt.is_none() {
                        let fresh: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
                        can_adopt = Some(match fresh.get_opt(&d.name_any()).await? {
                            Some(f) => f.uid() == d.uid() && !is_being_deleted(&f.metadata),
                            None => false,
                        });
                    }
                    if can_adopt == Some(true) {
                        let r = owner_ref("apps/v1", "Deployment", &d.metadata);
                        match claim::adopt(&api, &rs.metadata, r).await {
                            Ok(adopted) => owned.push(adopted),
                            Err(e) if matches!(api_code(&e), Some(404) | Some(409)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                None => {}
            }
        }
        Ok(owned)
    }
}

/// Whether `spec.replicas` changed since the active ReplicaSets were last
/// sized (their desired-replicas annotation says so).
fn is_scaling_event(run: &Run<'_>) -> bool {
    let want = util::replicas(&run.d).to_string();
    run.sets
        .iter()
        .filter(|rs| util::rs_replicas(rs) > 0)
        .filter_map(|rs| rs.annotations().get(DESIRED_REPLICAS))
        .any(|v| *v != want)
}
