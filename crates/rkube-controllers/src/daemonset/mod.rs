//! The DaemonSet controller: one pod on every node the template selects
//! and tolerates, pinned there by node affinity and bound by the
//! scheduler; failed daemon pods are replaced, pods on nodes that no
//! longer qualify are removed, and a RollingUpdate replaces old-revision
//! pods node by node within maxUnavailable (or, with maxSurge, starts the
//! new pod before the old one goes). ControllerRevisions hold the
//! templates; pods carry the revision's hash in `controller-revision-hash`.

pub mod nodes;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::deployment::util::scaled_value;
use crate::events::{Recorder, reference};
use crate::expectations::Expectations;
use crate::podcontrol::PodControl;
use crate::revision::{self, HASH_LABEL};
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{
    controller_ref, is_being_deleted, is_pod_available, is_pod_ready, owner_ref, pod_phase,
    post_params, until_available,
};

const WORKERS: usize = 3;
pub const REVISION_LABEL: &str = "controller-revision-hash";
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

pub struct DaemonSetController {
    client: Client,
    sets: Informer<DaemonSet>,
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    revisions: Informer<ControllerRevision>,
    queue: Arc<Queue<Key>>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

fn ds_owner(meta: &ObjectMeta, ns: &str) -> Option<Key> {
    let r = controller_ref(meta)?;
    (r.kind == "DaemonSet" && r.api_version.starts_with("apps/"))
        .then(|| Key::new(ns, r.name.clone()))
}

fn failed(p: &Pod) -> bool {
    pod_phase(p) == "Failed"
}

/// The daemon pods of one node, split by revision.
#[derive(Default)]
struct OnNode {
    new: Vec<Arc<Pod>>,
    old: Vec<Arc<Pod>>,
}

impl DaemonSetController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(DaemonSetController {
            client: factory.client().clone(),
            sets: factory.informer::<DaemonSet>(),
            pods: factory.informer::<Pod>(),
            nodes: factory.informer::<Node>(),
            revisions: factory.informer::<ControllerRevision>(),
            queue: Queue::new(),
            expectations: Arc::new(Expectations::default()),
            recorder: Recorder::new(factory.client().clone(), "daemonset-controller"),
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
            let Some(ds) = ds_owner(&p.metadata, &p.namespace().unwrap_or_default()) else {
                return;
            };
            let pk = Key::of(p.as_ref());
            match ch {
                Change::Added(_) => exp.creation_observed(&ds),
                Change::Deleted(_) => exp.deletion_observed(&ds, &pk),
                Change::Updated { .. } if is_being_deleted(&p.metadata) => {
                    exp.deletion_observed(&ds, &pk)
                }
                _ => {}
            }
            q.add(ds);
        });
        // Any node change may change where daemons belong.
        let (q, sets) = (Arc::clone(&c.queue), c.sets.clone());
        c.nodes.on_change(move |ch| {
            let relevant = match ch {
                Change::Updated { old, new } => {
                    old.metadata.labels != new.metadata.labels
                        || old.spec.as_ref().map(|s| &s.taints)
                            != new.spec.as_ref().map(|s| &s.taints)
                }
                _ => true,
            };
            if relevant {
                for ds in sets.list() {
                    q.add(Key::of(ds.as_ref()));
                }
            }
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.sets.wait_synced().await;
            self.pods.wait_synced().await;
            self.nodes.wait_synced().await;
            self.revisions.wait_synced().await;
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "daemonset",
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
        let Some(ds) = self.sets.get(&key.namespace, &key.name) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        if is_being_deleted(&ds.metadata) {
            return Ok(None);
        }
        // Read before the pods: a creation observed after this point may
        // be missing from the snapshot below, and must hold manage back.
        let satisfied = self.expectations.satisfied(&key);
        let uid = ds.uid().unwrap_or_default();
        let revisions = revision::owned(&self.revisions, &key.namespace, &uid);
        let status = ds.status.clone().unwrap_or_default();
        let labels = ds
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let (rev, collisions) = revision::ensure(
            &self.client,
            &key.namespace,
            owner_ref("apps/v1", "DaemonSet", &ds.metadata),
            labels,
            &ds.spec.template,
            &revisions,
            status.collision_count.unwrap_or(0),
        )
        .await?;
        let hash = rev
            .labels()
            .get(HASH_LABEL)
            .cloned()
            .unwrap_or_else(|| rev.name_any());

        let mut per_node: BTreeMap<String, OnNode> = BTreeMap::new();
        let mut unplaced: Vec<Arc<Pod>> = Vec::new();
        for p in self.pods.list_namespace(&key.namespace) {
            if controller_ref(&p.metadata).is_none_or(|r| r.uid != uid)
                || is_being_deleted(&p.metadata)
            {
                continue;
            }
            match nodes::target_node(&p) {
                Some(n) => {
                    let e = per_node.entry(n).or_default();
                    if p.labels().get(REVISION_LABEL) == Some(&hash) {
                        e.new.push(p);
                    } else {
                        e.old.push(p);
                    }
                }
                None => unplaced.push(p),
            }
        }
        let all_nodes = self.nodes.list();
        let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);

        if satisfied {
            self.manage(
                &key, &ds, &hash, &all_nodes, &per_node, &unplaced, min_ready,
            )
            .await?;
        }

        // Status over the nodes as they stand in the cache.
        let (mut desired, mut current, mut mis, mut ready, mut updated, mut available) =
            (0, 0, 0, 0, 0, 0);
        for node in &all_nodes {
            let (should, _) = nodes::placement(&ds, node);
            let on = per_node.get(&node.name_any());
            let has = on.is_some_and(|o| !o.new.is_empty() || !o.old.is_empty());
            if should {
                desired += 1;
                if has {
                    current += 1;
                }
                let pods: Vec<&Arc<Pod>> = on
                    .map(|o| o.new.iter().chain(o.old.iter()).collect())
                    .unwrap_or_default();
                if pods.iter().any(|p| is_pod_ready(p)) {
                    ready += 1;
                }
                if pods.iter().any(|p| is_pod_available(p, min_ready)) {
                    available += 1;
                }
                if on.is_some_and(|o| !o.new.is_empty()) {
                    updated += 1;
                }
            } else if has {
                mis += 1;
            }
        }
        let next = DaemonSetStatus {
            desired_number_scheduled: desired,
            current_number_scheduled: current,
            number_misscheduled: mis,
            number_ready: ready,
            updated_number_scheduled: Some(updated),
            number_available: Some(available),
            number_unavailable: Some(desired - available).filter(|n| *n > 0),
            observed_generation: ds.metadata.generation,
            collision_count: Some(collisions),
            conditions: status.conditions.clone(),
        };
        if ds.status.as_ref() != Some(&next) {
            let api: Api<DaemonSet> = Api::namespaced(self.client.clone(), &key.namespace);
            let mut d = (*ds).clone();
            d.status = Some(next);
            api.replace_status(&key.name, &post_params(), &d).await?;
        }
        let mut live: HashSet<String> = [rev.name_any()].into();
        for r in &revisions {
            let h = r.labels().get(HASH_LABEL);
            if per_node
                .values()
                .flat_map(|o| o.old.iter())
                .any(|p| p.labels().get(REVISION_LABEL) == h)
            {
                live.insert(r.name_any());
            }
        }
        let limit = ds.spec.revision_history_limit.unwrap_or(10);
        let fresh = revision::owned(&self.revisions, &key.namespace, &uid);
        revision::truncate(&self.client, &key.namespace, &fresh, &live, limit).await?;
        Ok(per_node
            .values()
            .flat_map(|o| o.new.iter())
            .filter_map(|p| until_available(p, min_ready))
            .min())
    }

    #[allow(clippy::too_many_arguments)]
    async fn manage(
        &self,
        key: &Key,
        ds: &DaemonSet,
        hash: &str,
        all_nodes: &[Arc<Node>],
        per_node: &BTreeMap<String, OnNode>,
        unplaced: &[Arc<Pod>],
        min_ready: i32,
    ) -> anyhow::Result<()> {
        let mut create_on: Vec<String> = Vec::new();
        let mut delete: Vec<Arc<Pod>> = unplaced.to_vec();
        let known: HashSet<String> = all_nodes.iter().map(|n| n.name_any()).collect();
        // Pods for nodes that no longer exist.
        for (n, on) in per_node {
            if !known.contains(n) {
                delete.extend(on.new.iter().chain(on.old.iter()).cloned());
            }
        }
        let strategy = ds.spec.update_strategy.clone().unwrap_or_default();
        let rolling = strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate";
        let ru = strategy.rolling_update.unwrap_or_default();
        let mut desired = 0;
        // Nodes whose only pods are of an old revision: update candidates.
        let mut candidates: Vec<(Arc<Pod>, bool)> = Vec::new();
        let mut unavailable = 0;
        let mut surging = 0;
        for node in all_nodes {
            let name = node.name_any();
            let (should, keep) = nodes::placement(ds, node);
            let empty = OnNode::default();
            let on = per_node.get(&name).unwrap_or(&empty);
            if !should {
                if !keep {
                    delete.extend(on.new.iter().chain(on.old.iter()).cloned());
                }
                continue;
            }
            desired += 1;
            let (bad_new, good_new): (Vec<_>, Vec<_>) = on.new.iter().partition(|p| failed(p));
            let (bad_old, mut good_old): (Vec<_>, Vec<_>) = on.old.iter().partition(|p| failed(p));
            delete.extend(bad_new.into_iter().cloned());
            delete.extend(bad_old.into_iter().cloned());
            let mut good_new: Vec<&Arc<Pod>> = good_new;
            good_new.sort_by_key(|p| p.creation_timestamp());
            good_old.sort_by_key(|p| p.creation_timestamp());
            // One pod per node: extras of a revision go, newest first.
            delete.extend(good_new.iter().skip(1).map(|p| Arc::clone(p)));
            delete.extend(good_old.iter().skip(1).map(|p| Arc::clone(p)));
            match (good_new.first(), good_old.first()) {
                (None, None) => {
                    create_on.push(name);
                    unavailable += 1;
                }
                (Some(n), Some(o)) => {
                    // Surging: the old one goes once the new is available.
                    if is_pod_available(n, min_ready) {
                        delete.push(Arc::clone(o));
                    } else {
                        surging += 1;
                        unavailable += usize::from(!is_pod_available(o, min_ready));
                    }
                }
                (Some(n), None) => unavailable += usize::from(!is_pod_available(n, min_ready)),
                (None, Some(o)) => {
                    let avail = is_pod_available(o, min_ready);
                    unavailable += usize::from(!avail);
                    candidates.push((Arc::clone(o), avail));
                }
            }
        }
        if rolling && !candidates.is_empty() {
            let surge = scaled_value(ru.max_surge.as_ref(), desired, true).max(0) as usize;
            let max_unavailable = if surge > 0 {
                scaled_value(ru.max_unavailable.as_ref(), desired, true).max(0) as usize
            } else {
                scaled_value(ru.max_unavailable.as_ref(), desired, true).max(1) as usize
            };
            // Unavailable old pods can go at no cost.
            for (p, avail) in &candidates {
                if !avail {
                    delete.push(Arc::clone(p));
                }
            }
            let ready_old = candidates.iter().filter(|(_, a)| *a);
            if surge > 0 {
                let room = surge.saturating_sub(surging);
                for (p, _) in ready_old.take(room) {
                    if let Some(n) = nodes::target_node(p) {
                        create_on.push(n);
                    }
                }
            } else {
                let budget = max_unavailable.saturating_sub(unavailable);
                delete.extend(ready_old.take(budget).map(|(p, _)| Arc::clone(p)));
            }
        }
        let mut seen = HashSet::new();
        delete.retain(|p| seen.insert(p.metadata.uid.clone()));
        if !create_on.is_empty() {
            self.create(key, ds, hash, &create_on).await?;
        }
        if !delete.is_empty() {
            self.delete(key, ds, &delete).await?;
        }
        Ok(())
    }

    async fn create(
        &self,
        key: &Key,
        ds: &DaemonSet,
        hash: &str,
        on: &[String],
    ) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        let template = &ds.spec.template;
        let tmeta = template.metadata.clone().unwrap_or_default();
        let mut labels = tmeta.labels.unwrap_or_default();
        labels.insert(REVISION_LABEL.into(), hash.into());
        if let Some(g) = ds.metadata.generation {
            labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
        }
        let base = nodes::with_default_tolerations(template.spec.clone().unwrap_or_default());
        self.expectations.expect_creations(key, on.len());
        let results = join_all(on.iter().map(|node| {
            let mut spec = base.clone();
            nodes::pin_to_node(&mut spec, node);
            let pod = Pod {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{}-", ds.name_any())),
                    namespace: Some(key.namespace.clone()),
                    labels: Some(labels.clone()),
                    annotations: tmeta.annotations.clone(),
                    finalizers: tmeta.finalizers.clone(),
                    owner_references: Some(vec![owner_ref("apps/v1", "DaemonSet", &ds.metadata)]),
                    ..Default::default()
                },
                spec: Some(spec),
                status: None,
            };
            let api = api.clone();
            async move { api.create(&post_params(), &pod).await }
        }))
        .await;
        match self.pod_control(key, ds).created(results) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn pod_control<'a>(&'a self, key: &'a Key, ds: &DaemonSet) -> PodControl<'a> {
        PodControl {
            recorder: &self.recorder,
            expectations: &self.expectations,
            key,
            owner: reference(ds),
        }
    }

    async fn delete(&self, key: &Key, ds: &DaemonSet, victims: &[Arc<Pod>]) -> anyhow::Result<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        self.expectations
            .expect_deletions(key, victims.iter().map(|p| Key::of(p.as_ref())));
        self.pod_control(key, ds).delete(&api, victims).await
    }
}
