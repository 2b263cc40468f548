//! The StatefulSet controller: pods `<set>-<ordinal>` with stable
//! identities and claims, created in order and each only once the one
//! before it is Running and Ready (OrderedReady), or all at once
//! (Parallel); scaled down from the highest ordinal; updated from the
//! highest ordinal down to the partition, one pod at a time, each
//! replaced pod running the update revision (ControllerRevisions keep
//! the templates). The status tells `kubectl rollout status` when the
//! update revision has become current.

pub mod pods;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};

use crate::events::{Recorder, reference};
use crate::expectations::Expectations;
use crate::revision;
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{
    api_code, controller_ref, is_being_deleted, owner_ref, post_params, until_available,
};
use pods::{finished, ordinal, revision_of, running_and_ready};

const WORKERS: usize = 5;

pub struct StatefulSetController {
    client: Client,
    sets: Informer<StatefulSet>,
    pods: Informer<Pod>,
    revisions: Informer<ControllerRevision>,
    claims: Informer<PersistentVolumeClaim>,
    queue: Arc<Queue<Key>>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

fn set_owner(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    ns: &str,
) -> Option<Key> {
    let r = controller_ref(meta)?;
    (r.kind == "StatefulSet" && r.api_version.starts_with("apps/"))
        .then(|| Key::new(ns, r.name.clone()))
}

impl StatefulSetController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(StatefulSetController {
            client: factory.client().clone(),
            sets: factory.informer::<StatefulSet>(),
            pods: factory.informer::<Pod>(),
            revisions: factory.informer::<ControllerRevision>(),
            claims: factory.informer::<PersistentVolumeClaim>(),
            queue: Queue::new(),
            expectations: Arc::new(Expectations::default()),
            recorder: Recorder::new(factory.client().clone(), "statefulset-controller"),
        });
        let (q, exp) = (Arc::clone(&c.queue), Arc::clone(&c.expectations));
        c.sets.on_change(move |ch| match ch {
            Change::Added(s) | Change::Updated { new: s, .. } => q.add(Key::of(s.as_ref())),
            Change::Deleted(s) => {
                exp.forget(&Key::of(s.as_ref()));
                q.add(Key::of(s.as_ref()));
            }
        });
        let (q, exp) = (Arc::clone(&c.queue), Arc::clone(&c.expectations));
        c.pods.on_change(move |ch| {
            let p = match ch {
                Change::Added(p) | Change::Deleted(p) | Change::Updated { new: p, .. } => p,
            };
            let ns = p.namespace().unwrap_or_default();
            let Some(set) = set_owner(&p.metadata, &ns) else {
                return;
            };
            let pk = Key::of(p.as_ref());
            match ch {
                Change::Added(_) => exp.creation_observed(&set),
                Change::Deleted(_) => exp.deletion_observed(&set, &pk),
                Change::Updated { .. } if is_being_deleted(&p.metadata) => {
                    exp.deletion_observed(&set, &pk)
                }
                _ => {}
            }
            q.add(set);
        });
        let q = Arc::clone(&c.queue);
        c.revisions.on_change(move |ch| {
            if let Change::Deleted(r) = ch
                && let Some(k) = set_owner(&r.metadata, &r.namespace().unwrap_or_default())
            {
                q.add(k);
            }
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.sets.wait_synced().await;
            self.pods.wait_synced().await;
            self.revisions.wait_synced().await;
            self.claims.wait_synced().await;
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "statefulset",
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
        let Some(set) = self.sets.get(&key.namespace, &key.name) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        if is_being_deleted(&set.metadata) {
            return Ok(None);
        }
        // Read before the pods: a creation observed after this point may
        // be missing from the snapshot below, and must hold manage back.
        let satisfied = self.expectations.satisfied(&key);
        let uid = set.uid().unwrap_or_default();
        let name = set.name_any();
        let mut by_ordinal: BTreeMap<i32, Arc<Pod>> = BTreeMap::new();
        for p in self.pods.list_namespace(&key.namespace) {
            if controller_ref(&p.metadata).is_some_and(|r| r.uid == uid)
                && let Some(o) = ordinal(&name, &p.name_any())
            {
                by_ordinal.insert(o, p);
            }
        }
        let spec = set.spec.clone();
        let revisions = revision::owned(&self.revisions, &key.namespace, &uid);
        let status = set.status.clone().unwrap_or_default();
        let labels = spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let (update_rev, collisions) = revision::ensure(
            &self.client,
            &key.namespace,
            owner_ref("apps/v1", "StatefulSet", &set.metadata),
            labels,
            &spec.template,
            &revisions,
            status.collision_count.unwrap_or(0),
        )
        .await?;
        let update = update_rev.name_any();
        let current_rev = status
            .current_revision
            .as_ref()
            .and_then(|c| revisions.iter().find(|r| &r.name_any() == c))
            .map(|r| (**r).clone())
            .unwrap_or_else(|| update_rev.clone());
        let current = current_rev.name_any();

        if satisfied {
            self.manage(&key, &set, &by_ordinal, (&current_rev, &update_rev))
                .await?;
        }

        let all: Vec<Arc<Pod>> = by_ordinal.values().cloned().collect();
        let (replicas, ready, available, mut cur_n, upd_n) =
            pods::counts(&set, &all, &current, &update);
        let want = pods::replicas(&set);
        let mut current_revision = current.clone();
        if upd_n == want && ready == want && replicas == want {
            current_revision = update.clone();
            cur_n = upd_n;
        }
        let next = StatefulSetStatus {
            replicas,
            ready_replicas: Some(ready),
            available_replicas: Some(available),
            current_replicas: Some(cur_n),
            updated_replicas: Some(upd_n),
            current_revision: Some(current_revision.clone()),
            update_revision: Some(update.clone()),
            observed_generation: set.metadata.generation,
            collision_count: Some(collisions),
            conditions: status.conditions.clone(),
        };
        if set.status.as_ref() != Some(&next) {
            let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &key.namespace);
            let mut s = (*set).clone();
            s.status = Some(next);
            api.replace_status(&name, &post_params(), &s).await?;
        }
        let mut live: HashSet<String> = [current_revision, update].into();
        live.extend(all.iter().filter_map(|p| revision_of(p).map(String::from)));
        let limit = spec.revision_history_limit.unwrap_or(10);
        let fresh = revision::owned(&self.revisions, &key.namespace, &uid);
        revision::truncate(&self.client, &key.namespace, &fresh, &live, limit).await?;
        Ok(all
            .iter()
            .filter_map(|p| until_available(p, pods::min_ready(&set)))
            .min())
    }

    /// One step towards the desired pods; OrderedReady stops at the first
    /// pod that is not Running and Ready.
    async fn manage(
        &self,
        key: &Key,
        set: &StatefulSet,
        by_ordinal: &BTreeMap<i32, Arc<Pod>>,
        (current, update): (&ControllerRevision, &ControllerRevision),
    ) -> anyhow::Result<()> {
        let start = pods::first_ordinal(set);
        let end = start + pods::replicas(set);
        let ordered = !pods::parallel(set);
        let partition = pods::partition(set);
        let rolling = pods::rolling(set);
        let mut all_ready = true;
        for ord in start..end {
            match by_ordinal.get(&ord) {
                None => {
                    let from = if rolling && ord < start + partition {
                        current
                    } else {
                        update
                    };
                    let template =
                        revision::template_of(from).unwrap_or_else(|| set.spec.clone().template);
                    self.create(key, set, &template, &from.name_any(), ord)
                        .await?;
                    all_ready = false;
                    if ordered {
                        return Ok(());
                    }
                }
                Some(p) if finished(p) && !is_being_deleted(&p.metadata) => {
                    // A failed or exited pod is replaced under its name.
                    self.delete(key, set, p).await?;
                    all_ready = false;
                    if ordered {
                        return Ok(());
                    }
                }
                Some(p) if !running_and_ready(p) => {
                    all_ready = false;
                    if ordered {
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
        }
        // Scale down: the highest ordinal first.
        let condemned: Vec<&Arc<Pod>> = by_ordinal
            .iter()
            .rev()
            .filter(|(o, _)| **o < start || **o >= end)
            .map(|(_, p)| p)
            .collect();
        if !condemned.is_empty() {
            if ordered {
                let terminating = condemned.iter().any(|p| is_being_deleted(&p.metadata));
                if !terminating && all_ready {
                    self.delete(key, set, condemned[0]).await?;
                }
            } else {
                for p in condemned.iter().filter(|p| !is_being_deleted(&p.metadata)) {
                    self.delete(key, set, p).await?;
                }
            }
            return Ok(());
        }
        // Rolling update: one pod at a time, highest ordinal first, down
        // to the partition, once every pod is Running and Ready.
        let terminating = by_ordinal.values().any(|p| is_being_deleted(&p.metadata));
        if !rolling || !all_ready || terminating {
            return Ok(());
        }
        let update_name = update.name_any();
        for ord in (start + partition..end).rev() {
            if let Some(p) = by_ordinal.get(&ord)
                && revision_of(p) != Some(update_name.as_str())
            {
                self.delete(key, set, p).await?;
                return Ok(());
            }
        }
        Ok(())
    }

    async fn create(
        &self,
        key: &Key,
        set: &StatefulSet,
        template: &k8s_openapi::api::core::v1::PodTemplateSpec,
        revision: &str,
        ord: i32,
    ) -> anyhow::Result<()> {
        let set_ref = reference(set);
        let pod = pods::new_pod(set, template, revision, ord);
        let pod_name = pod.name_any();
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &key.namespace);
        for c in pods::claims(set, ord) {
            if self.claims.get(&key.namespace, &c.name_any()).is_some() {
                continue;
            }
            match claims.create(&post_params(), &c).await {
                Ok(_) => self.recorder.normal(
                    set_ref.clone(),
                    "SuccessfulCreate",
                    format!(
                        "create Claim {} Pod {pod_name} in StatefulSet {} success",
                        c.name_any(),
                        set.name_any()
                    ),
                ),
                Err(e) if api_code(&e) == Some(409) => {}
                Err(e) => {
                    self.recorder.warning(
                        set_ref.clone(),
                        "FailedCreate",
                        format!(
                            "create Claim {} for Pod {pod_name} failed: {e}",
                            c.name_any()
                        ),
                    );
                    return Err(e.into());
                }
            }
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        self.expectations.expect_creations(key, 1);
        match api.create(&post_params(), &pod).await {
            Ok(_) => {
                self.recorder.normal(
                    set_ref,
                    "SuccessfulCreate",
                    format!(
                        "create Pod {pod_name} in StatefulSet {} successful",
                        set.name_any()
                    ),
                );
                Ok(())
            }
            Err(e) => {
                self.expectations.creation_observed(key);
                if api_code(&e) == Some(409) {
                    return Ok(());
                }
                self.recorder.warning(
                    set_ref,
                    "FailedCreate",
                    format!(
                        "create Pod {pod_name} in StatefulSet {} failed error: {e}",
                        set.name_any()
                    ),
                );
                Err(e.into())
            }
        }
    }

    async fn delete(&self, key: &Key, set: &StatefulSet, pod: &Pod) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        let pk = Key::of(pod);
        self.expectations.expect_deletions(key, [pk.clone()]);
        match api.delete(&pod.name_any(), &DeleteParams::default()).await {
            Ok(_) => {
                self.recorder.normal(
                    reference(set),
                    "SuccessfulDelete",
                    format!(
                        "delete Pod {} in StatefulSet {} successful",
                        pod.name_any(),
                        set.name_any()
                    ),
                );
                Ok(())
            }
            Err(e) => {
                self.expectations.deletion_observed(key, &pk);
                if api_code(&e) == Some(404) {
                    return Ok(());
                }
                Err(e.into())
            }
        }
    }
}
