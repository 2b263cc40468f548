//! The ReplicaSet controller: keeps `spec.replicas` active pods for each
//! ReplicaSet, adopts matching orphans, releases pods it no longer
//! selects, and reports the counts in the status subresource. The same
//! controller, over the `Replicated` view, is the ReplicationController
//! manager.

pub mod kind;
pub mod pods;

use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::claim;
use crate::events::{Recorder, reference};
use crate::expectations::Expectations;
use crate::podcontrol::PodControl;
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{
    api_code, controller_ref, is_being_deleted, is_pod_active, owner_ref, post_params,
    selector_is_empty, selector_matches, until_available,
};
use kind::Replicated;

/// At most this many pods are created or deleted in one sync.
const BURST_REPLICAS: usize = 500;
const WORKERS: usize = 5;

pub struct ReplicaController<K> {
    client: Client,
    sets: Informer<K>,
    pods: Informer<Pod>,
    queue: Arc<Queue<Key>>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
    kind: PhantomData<fn() -> K>,
}

pub type ReplicaSetController = ReplicaController<ReplicaSet>;
pub type ReplicationManager = ReplicaController<ReplicationController>;

/// The owner of kind `K` that controls `pod`, if the reference names one.
fn owner_key<K: Replicated>(pod: &Pod) -> Option<Key> {
    let r = controller_ref(&pod.metadata)?;
    let (group, _) = crate::mapper::group_version(K::API_VERSION);
    let (ref_group, _) = crate::mapper::group_version(&r.api_version);
    (r.kind == K::KIND && ref_group == group)
        .then(|| Key::new(pod.namespace().unwrap_or_default(), r.name.clone()))
}

impl<K: Replicated> ReplicaController<K> {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(ReplicaController {
            client: factory.client().clone(),
            sets: factory.informer::<K>(),
            pods: factory.informer::<Pod>(),
            queue: Queue::new(),
            expectations: Arc::new(Expectations::default()),
            recorder: Recorder::new(factory.client().clone(), K::COMPONENT),
            kind: PhantomData,
        });
        let (queue, exp) = (Arc::clone(&c.queue), Arc::clone(&c.expectations));
        c.sets.on_change(move |ch| match ch {
            Change::Added(rs) | Change::Updated { new: rs, .. } => queue.add(Key::of(rs.as_ref())),
            Change::Deleted(rs) => {
                exp.forget(&Key::of(rs.as_ref()));
                queue.add(Key::of(rs.as_ref()));
            }
        });
        let weak = Arc::downgrade(&c);
        c.pods.on_change(move |ch| {
            if let Some(c) = weak.upgrade() {
                c.pod_changed(ch);
            }
        });
        c
    }

    fn pod_changed(&self, ch: &Change<'_, Pod>) {
        match ch {
            Change::Added(p) => {
                let pk = Key::of(p.as_ref());
                match owner_key::<K>(p) {
                    Some(rs) if is_being_deleted(&p.metadata) => {
                        self.expectations.deletion_observed(&rs, &pk);
                        self.queue.add(rs);
                    }
                    Some(rs) => {
                        self.expectations.creation_observed(&rs);
                        self.queue.add(rs);
                    }
                    None if controller_ref(&p.metadata).is_none() => self.enqueue_selecting(p),
                    None => {}
                }
            }
            Change::Updated { old, new } => {
                let pk = Key::of(new.as_ref());
                let (old_owner, new_owner) = (owner_key::<K>(old), owner_key::<K>(new));
                if is_being_deleted(&new.metadata)
                    && !is_being_deleted(&old.metadata)
                    && let Some(rs) = &new_owner
                {
                    self.expectations.deletion_observed(rs, &pk);
                }
                if old_owner != new_owner
                    && let Some(rs) = old_owner
                {
                    self.queue.add(rs);
                }
                match new_owner {
                    Some(rs) => {
                        if let Some(set) = self.sets.get(&rs.namespace, &rs.name) {
                            let min_ready = set.min_ready_seconds();
                            if let Some(d) = until_available(new, min_ready) {
                                self.queue.add_after(rs.clone(), d);
                            }
                        }
                        self.queue.add(rs);
                    }
                    None if controller_ref(&new.metadata).is_none()
                        && (old.metadata.labels != new.metadata.labels
                            || controller_ref(&old.metadata).is_some()) =>
                    {
                        self.enqueue_selecting(new)
                    }
                    None => {}
                }
            }
            Change::Deleted(p) => {
                if let Some(rs) = owner_key::<K>(p) {
                    self.expectations
                        .deletion_observed(&rs, &Key::of(p.as_ref()));
                    self.queue.add(rs);
                }
            }
        }
    }

    /// Queue every ReplicaSet whose selector matches an orphan pod.
    fn enqueue_selecting(&self, pod: &Pod) {
        let ns = pod.namespace().unwrap_or_default();
        for rs in self.sets.list_namespace(&ns) {
            let sel = &rs.selector();
            if !selector_is_empty(sel) && selector_matches(sel, pod.metadata.labels.as_ref()) {
                self.queue.add(Key::of(rs.as_ref()));
            }
        }
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.sets.wait_synced().await;
            self.pods.wait_synced().await
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            K::NAME,
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
        let Some(rs) = self.sets.get(&key.namespace, &key.name) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        let needs_sync = self.expectations.satisfied(&key);
        let pods = self.claim_pods(&rs).await?;
        let active: Vec<Arc<Pod>> = pods.iter().filter(|p| is_pod_active(p)).cloned().collect();
        let mut failure = None;
        let mut manage_err = None;
        if needs_sync && !is_being_deleted(rs.meta()) {
            if let Err((reason, e)) = self.manage(&key, &rs, &active).await {
                failure = Some((reason, format!("{e:#}")));
                manage_err = Some(e);
            }
        } else if !needs_sync {
            // Keep the last failure until the next manage settles it.
            failure = rs
                .rs_status()
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .find(|c| {
                    c.type_.as_deref() == Some("ReplicaFailure")
                        && c.status.as_deref() == Some("True")
                })
                .map(|c| {
                    (
                        if c.reason.as_deref() == Some("FailedDelete") {
                            "FailedDelete"
                        } else {
                            "FailedCreate"
                        },
                        c.message.clone().unwrap_or_default(),
                    )
                });
        }
        let status = pods::calculate_status(rs.as_ref(), &pods, failure);
        self.update_status(&rs, status).await?;
        if let Some(e) = manage_err {
            return Err(e);
        }
        let min_ready = rs.min_ready_seconds();
        let next = active
            .iter()
            .filter_map(|p| until_available(p, min_ready))
            .min();
        Ok(next)
    }

    /// The pods `rs` controls, after adopting matching orphans and
    /// releasing pods it no longer selects.
    async fn claim_pods(&self, rs: &K) -> anyhow::Result<Vec<Arc<Pod>>> {
        let ns = rs.namespace().unwrap_or_default();
        let uid = rs.uid().unwrap_or_default();
        let selector = rs.selector();
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let mut owned = Vec::new();
        let mut can_adopt: Option<bool> = None;
        for p in self.pods.list_namespace(&ns) {
            let matches = !selector_is_empty(&selector)
                && selector_matches(&selector, p.metadata.labels.as_ref());
            match controller_ref(&p.metadata) {
                Some(r) if r.uid == uid => {
                    if matches {
                        owned.push(p);
                    } else if !is_being_deleted(&p.metadata) {
                        match claim::release(&api, &p.metadata, &uid).await {
                            Ok(_) => {}
                            Err(e) if matches!(api_code(&e), Some(404) | Some(409)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Some(_) => {}
                None if matches && !is_being_deleted(&p.metadata) => {
                    if can_adopt.is_none() {
                        can_adopt = Some(self.can_adopt(rs).await?);
                    }
                    if can_adopt == Some(true) {
                        let r = owner_ref(K::API_VERSION, K::KIND, rs.meta());
                        match claim::adopt(&api, &p.metadata, r).await {
                            Ok(adopted) => owned.push(Arc::new(adopted)),
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

    /// A fresh read: adopt only for a ReplicaSet that still exists with
    /// the same uid and is not being deleted.
    async fn can_adopt(&self, rs: &K) -> anyhow::Result<bool> {
        let api: Api<K> = Api::namespaced(self.client.clone(), &rs.namespace().unwrap_or_default());
        Ok(match api.get_opt(&rs.name_any()).await? {
            Some(fresh) => fresh.uid() == rs.uid() && !is_being_deleted(fresh.meta()),
            None => false,
        })
    }

    /// Create or delete pods to reach the desired count.
    async fn manage(
        &self,
        key: &Key,
        rs: &K,
        active: &[Arc<Pod>],
    ) -> Result<(), (&'static str, anyhow::Error)> {
        let desired = rs.replicas() as usize;
        if active.len() < desired {
            let Some(template) = rs.template() else {
                return Ok(());
            };
            let n = (desired - active.len()).min(BURST_REPLICAS);
            self.expectations.expect_creations(key, n);
            self.create_pods(key, rs, template, n)
                .await
                .map_err(|e| ("FailedCreate", e))
        } else if active.len() > desired {
            let n = (active.len() - desired).min(BURST_REPLICAS);
            let related = self.related_pods(rs);
            let mut victims = active.to_vec();
            pods::deletion_order(&mut victims, &related);
            victims.truncate(n);
            self.expectations
                .expect_deletions(key, victims.iter().map(|p| Key::of(p.as_ref())));
            self.delete_pods(key, rs, &victims)
                .await
                .map_err(|e| ("FailedDelete", e))
        } else {
            Ok(())
        }
    }

    /// Create `n` pods in batches of 1, 2, 4, ... stopping at the first
    /// batch with a failure, so a failing create is not repeated n times.
    async fn create_pods(
        &self,
        key: &Key,
        rs: &K,
        template: &k8s_openapi::api::core::v1::PodTemplateSpec,
        n: usize,
    ) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        let pod = pods::pod_from_template(rs, template);
        let control = self.pod_control(key, rs);
        let mut remaining = n;
        let mut batch = 1usize;
        while remaining > 0 {
            let size = batch.min(remaining);
            let pp = post_params();
            let results = join_all((0..size).map(|_| api.create(&pp, &pod))).await;
            let first_err = control.created(results);
            remaining -= size;
            if let Some(e) = first_err {
                for _ in 0..remaining {
                    self.expectations.creation_observed(key);
                }
                return Err(e.into());
            }
            batch *= 2;
        }
        Ok(())
    }

    fn pod_control<'a>(&'a self, key: &'a Key, rs: &K) -> PodControl<'a> {
        PodControl {
            recorder: &self.recorder,
            expectations: &self.expectations,
            key,
            owner: reference(rs),
        }
    }

    async fn delete_pods(&self, key: &Key, rs: &K, victims: &[Arc<Pod>]) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        self.pod_control(key, rs).delete(&api, victims).await
    }

    /// Active pods of every ReplicaSet with the same controller as `rs`
    /// (the other revisions of one Deployment): spreading deletions over
    /// nodes counts them all.
    fn related_pods(&self, rs: &K) -> Vec<Arc<Pod>> {
        let ns = rs.namespace().unwrap_or_default();
        let owner = controller_ref(rs.meta()).map(|r| r.uid.clone());
        let sibling_names: Vec<String> = match &owner {
            Some(uid) => self
                .sets
                .list_namespace(&ns)
                .into_iter()
                .filter(|s| controller_ref(s.meta()).is_some_and(|r| &r.uid == uid))
                .map(|s| s.name_any())
                .collect(),
            None => vec![rs.name_any()],
        };
        self.pods
            .list_namespace(&ns)
            .into_iter()
            .filter(|p| is_pod_active(p))
            .filter(|p| owner_key::<K>(p).is_some_and(|k| sibling_names.contains(&k.name)))
            .collect()
    }

    async fn update_status(&self, rs: &K, status: ReplicaSetStatus) -> anyhow::Result<()> {
        // Compared in the kind's own shape (a ReplicationController has no
        // terminatingReplicas).
        let next = rs.with_rs_status(status.clone());
        if next.rs_status() == rs.rs_status() {
            return Ok(());
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &rs.namespace().unwrap_or_default());
        match api
            .replace_status(&rs.name_any(), &post_params(), &next)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if api_code(&e) == Some(409) => {
                // One retry on a fresh read, as upstream does.
                let fresh = api.get(&rs.name_any()).await?;
                if fresh.uid() != rs.uid() {
                    return Ok(());
                }
                let fresh = fresh.with_rs_status(status);
                api.replace_status(&rs.name_any(), &post_params(), &fresh)
                    .await?;
                Ok(())
            }
            Err(e) if api_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
