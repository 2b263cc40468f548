//! One sync of one Deployment: find or make the new ReplicaSet, move pods
//! from the old ReplicaSets to it within the strategy's budget, keep
//! revisions and history, and report status and conditions.
//!
//! `Run` holds the latest known Deployment and ReplicaSets; every write
//! replaces the local copy with what the server returned, so later writes
//! in the same sync carry fresh resourceVersions.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::DeploymentController;
use super::hash::template_hash;
use super::util::*;
use crate::events::reference;
use crate::runtime::SyncResult;
use crate::util::{api_code, controller_ref, owner_ref, patch_params, post_params};

pub struct Run<'a> {
    c: &'a DeploymentController,
    pub d: Deployment,
    pub sets: Vec<ReplicaSet>,
    pub new: Option<usize>,
    dapi: Api<Deployment>,
    rsapi: Api<ReplicaSet>,
}

/// Available pods of a ReplicaSet, never more than it is asked to keep
/// (a ReplicaSet just scaled down has not yet reported the pods it lost).
fn available(rs: &ReplicaSet) -> i32 {
    rs_status(rs, |s| s.available_replicas.unwrap_or(0)).min(rs_replicas(rs))
}

/// Pods a ReplicaSet may have: what it is asked for, or what it last
/// reported if more (its scale-down is still under way).
fn pod_count(rs: &ReplicaSet) -> i32 {
    rs_replicas(rs).max(rs_status(rs, |s| s.replicas))
}

impl<'a> Run<'a> {
    pub fn new(c: &'a DeploymentController, d: Deployment, sets: Vec<ReplicaSet>) -> Self {
        let ns = d.namespace().unwrap_or_default();
        Run {
            dapi: Api::namespaced(c.client.clone(), &ns),
            rsapi: Api::namespaced(c.client.clone(), &ns),
            c,
            d,
            sets,
            new: None,
        }
    }

    fn old(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.sets.len())
            .filter(|i| Some(*i) != self.new)
            .collect();
        idx.sort_by(|a, b| {
            let (a, b) = (&self.sets[*a], &self.sets[*b]);
            a.creation_timestamp()
                .cmp(&b.creation_timestamp())
                .then_with(|| a.name_any().cmp(&b.name_any()))
        });
        idx
    }

    fn new_rs(&self) -> Option<&ReplicaSet> {
        self.new.map(|i| &self.sets[i])
    }

    fn status(&self) -> DeploymentStatus {
        self.d.status.clone().unwrap_or_default()
    }

    async fn write_status(&mut self, s: DeploymentStatus) -> anyhow::Result<()> {
        let mut d = self.d.clone();
        d.status = Some(s);
        self.d = self
            .dapi
            .replace_status(&d.name_any(), &post_params(), &d)
            .await?;
        Ok(())
    }

    async fn set_deployment_revision(&mut self, rev: &str) -> anyhow::Result<()> {
        if rev.is_empty() || self.d.annotations().get(REVISION).map(String::as_str) == Some(rev) {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {REVISION: rev}}});
        let status = self.d.status.take();
        let patched = self
            .dapi
            .patch(&self.d.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await;
        self.d.status = status;
        let mut patched = patched?;
        patched.status = self.d.status.take();
        self.d = patched;
        Ok(())
    }

    fn event(&self, type_warning: bool, reason: &str, message: String) {
        let r = reference(&self.d);
        if type_warning {
            self.c.recorder.warning(r, reason, message);
        } else {
            self.c.recorder.normal(r, reason, message);
        }
    }

    /// Find the new ReplicaSet and bring revisions up to date; make the
    /// new ReplicaSet when `create` and there is none.
    pub async fn sync_revision(&mut self, create: bool) -> anyhow::Result<()> {
        self.new = find_new(&self.d, &self.sets)
            .and_then(|rs| self.sets.iter().position(|s| s.uid() == rs.uid()));
        let max_old = self
            .old()
            .iter()
            .map(|i| revision(&self.sets[*i]))
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        if let Some(i) = self.new {
            let mut rs = self.sets[i].clone();
            let mut changed = set_new_rs_annotations(&self.d, &mut rs, new_revision, true);
            if rs.spec.min_ready_seconds != self.d.spec.min_ready_seconds {
                rs.spec.min_ready_seconds = self.d.spec.min_ready_seconds;
                changed = true;
            }
            if changed {
                self.sets[i] = self
                    .rsapi
                    .replace(&rs.name_any(), &post_params(), &rs)
                    .await?;
            }
            let rev = self.sets[i]
                .annotations()
                .get(REVISION)
                .cloned()
                .unwrap_or_default();
            self.set_deployment_revision(&rev).await?;
            let mut s = self.status();
            if has_progress_deadline(&self.d) && condition(&s, PROGRESSING).is_none() {
                let msg = format!("Found new replica set {:?}", self.sets[i].name_any());
                set_condition(
                    &mut s,
                    new_condition(PROGRESSING, "True", "FoundNewReplicaSet", msg),
                );
                self.write_status(s).await?;
            }
            return Ok(());
        }
        if create {
            self.create_new(new_revision).await?;
        }
        Ok(())
    }

    async fn create_new(&mut self, new_revision: i64) -> anyhow::Result<()> {
        let d = &self.d;
        let collisions = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&d.spec.template, collisions);
        let mut template = d.spec.template.clone();
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.into(), hash.clone());
        let name = format!("{}-{hash}", d.name_any());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: d.namespace(),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                owner_references: Some(vec![owner_ref("apps/v1", "Deployment", &d.metadata)]),
                ..Default::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template: Some(template),
            },
            status: None,
        };
        set_new_rs_annotations(d, &mut rs, new_revision, false);
        let want = if is_recreate(d) {
            replicas(d)
        } else {
            let max_total = replicas(d) + max_surge(d);
            let current: i32 = self.sets.iter().map(pod_count).sum();
            (max_total - current).clamp(0, replicas(d))
        };
        rs.spec.replicas = Some(want);
        let (created, fresh) = match self.rsapi.create(&post_params(), &rs).await {
            Ok(created) => (created, true),
            Err(e) if api_code(&e) == Some(409) => {
                let existing = self.rsapi.get_opt(&name).await?;
                let ours = existing.filter(|x| {
                    controller_ref(&x.metadata).is_some_and(|r| Some(&r.uid) == d.uid().as_ref())
                        && x.spec
                            .template
                            .as_ref()
                            .is_some_and(|t| equal_ignore_hash(t, &d.spec.template))
                });
                match ours {
                    Some(x) => (x, false),
                    None => {
                        let mut s = self.status();
                        let n = collisions.unwrap_or(0).wrapping_add(1);
                        s.collision_count = Some(n);
                        self.write_status(s).await?;
                        anyhow::bail!(
                            "found a hash collision for deployment {:?}: bumping collisionCount to {n}",
                            self.d.name_any()
                        );
                    }
                }
            }
            Err(e) => {
                if has_progress_deadline(&self.d) {
                    let mut s = self.status();
                    let msg = format!("Failed to create new replica set {name:?}: {e}");
                    set_condition(
                        &mut s,
                        new_condition(PROGRESSING, "False", "ReplicaSetCreateError", msg),
                    );
                    self.write_status(s).await?;
                }
                self.event(
                    true,
                    "FailedCreate",
                    format!("Failed to create new replica set {name:?}: {e}"),
                );
                return Err(e.into());
            }
        };
        if fresh && want > 0 {
            self.event(
                false,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {want}"),
            );
        }
        match self.sets.iter().position(|s| s.name_any() == name) {
            Some(i) => {
                self.sets[i] = created;
                self.new = Some(i);
            }
            None => {
                self.sets.push(created);
                self.new = Some(self.sets.len() - 1);
            }
        }
        self.set_deployment_revision(&new_revision.to_string())
            .await?;
        if fresh && has_progress_deadline(&self.d) {
            let mut s = self.status();
            let msg = format!("Created new replica set {name:?}");
            set_condition(
                &mut s,
                new_condition(PROGRESSING, "True", "NewReplicaSetCreated", msg),
            );
            self.write_status(s).await?;
        }
        Ok(())
    }

    /// Set a ReplicaSet's size (and its replica annotations); true if the
    /// size changed.
    async fn scale_rs(&mut self, i: usize, to: i32) -> anyhow::Result<bool> {
        let mut rs = self.sets[i].clone();
        let from = rs_replicas(&rs);
        let resize = from != to;
        let ann = set_replicas_annotations(
            &mut rs,
            replicas(&self.d),
            replicas(&self.d) + max_surge(&self.d),
        );
        if !resize && !ann {
            return Ok(false);
        }
        rs.spec.replicas = Some(to);
        self.sets[i] = self
            .rsapi
            .replace(&rs.name_any(), &post_params(), &rs)
            .await?;
        if resize {
            let dir = if from < to { "up" } else { "down" };
            self.event(
                false,
                "ScalingReplicaSet",
                format!(
                    "Scaled {dir} replica set {} from {from} to {to}",
                    rs.name_any()
                ),
            );
        }
        Ok(resize)
    }

    pub async fn rolling(&mut self) -> SyncResult {
        self.sync_revision(true).await?;
        if self.reconcile_new().await? || self.reconcile_old().await? {
            return self.sync_rollout_status().await;
        }
        if is_complete(&self.d, &self.status()) {
            self.cleanup().await?;
        }
        self.sync_rollout_status().await
    }

    /// Scale the new ReplicaSet up within maxSurge (or down to the
    /// desired count).
    async fn reconcile_new(&mut self) -> anyhow::Result<bool> {
        let Some(i) = self.new else { return Ok(false) };
        let want = replicas(&self.d);
        let cur = rs_replicas(&self.sets[i]);
        if cur == want {
            return Ok(false);
        }
        if cur > want {
            return self.scale_rs(i, want).await;
        }
        let max_total = want + max_surge(&self.d);
        let current: i32 = self.sets.iter().map(pod_count).sum();
        if current >= max_total {
            return Ok(false);
        }
        let to = cur + (max_total - current).min(want - cur);
        self.scale_rs(i, to).await
    }

    /// Scale old ReplicaSets down as far as maxUnavailable allows,
    /// unhealthy ones first.
    async fn reconcile_old(&mut self) -> anyhow::Result<bool> {
        let old = self.old();
        if old.iter().map(|i| rs_replicas(&self.sets[*i])).sum::<i32>() == 0 {
            return Ok(false);
        }
        let all_pods: i32 = self.sets.iter().map(rs_replicas).sum();
        let min_available = replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = self
            .new_rs()
            .map(|rs| rs_replicas(rs) - available(rs))
            .unwrap_or(0);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // Pods that are not available cost no availability: remove them
        // first.
        let mut cleaned = 0;
        for &i in &old {
            if cleaned >= max_scaled_down {
                break;
            }
            let rs = &self.sets[i];
            let (spec, avail) = (rs_replicas(rs), available(rs));
            if spec == 0 || spec == avail {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(spec - avail);
            self.scale_rs(i, spec - down).await?;
            cleaned += down;
        }
        // Then available ones, down to minAvailable.
        let available_total: i32 = self.sets.iter().map(available).sum();
        let mut scaled = 0;
        if available_total > min_available {
            let total = available_total - min_available;
            for &i in &old {
                if scaled >= total {
                    break;
                }
                let spec = rs_replicas(&self.sets[i]);
                if spec == 0 {
                    continue;
                }
                let down = spec.min(total - scaled);
                self.scale_rs(i, spec - down).await?;
                scaled += down;
            }
        }
        Ok(cleaned + scaled > 0)
    }

    pub async fn recreate(&mut self) -> SyncResult {
        self.sync_revision(false).await?;
        let mut scaled = false;
        for i in self.old() {
            if rs_replicas(&self.sets[i]) > 0 {
                scaled |= self.scale_rs(i, 0).await?;
            }
        }
        if scaled || self.old_pods_running() {
            return self.sync_rollout_status().await;
        }
        if self.new.is_none() {
            self.sync_revision(true).await?;
        }
        if let Some(i) = self.new {
            self.scale_rs(i, replicas(&self.d)).await?;
        }
        if is_complete(&self.d, &self.status()) {
            self.cleanup().await?;
        }
        self.sync_rollout_status().await
    }

    /// Whether any pod of an old ReplicaSet still runs (Recreate waits
    /// for all of them, terminating ones included).
    fn old_pods_running(&self) -> bool {
        let old = self.old();
        if old
            .iter()
            .any(|i| rs_status(&self.sets[*i], |s| s.replicas) > 0)
        {
            return true;
        }
        let uids: Vec<String> = old.iter().filter_map(|i| self.sets[*i].uid()).collect();
        self.c
            .pods
            .list_namespace(&self.d.namespace().unwrap_or_default())
            .iter()
            .filter(|p| controller_ref(&p.metadata).is_some_and(|r| uids.contains(&r.uid)))
            .any(|p| !matches!(crate::util::pod_phase(p), "Succeeded" | "Failed"))
    }

    /// Bring replica counts in line with a changed `spec.replicas`,
    /// spreading the change over the active ReplicaSets in proportion to
    /// their sizes.
    pub async fn scale(&mut self) -> anyhow::Result<()> {
        let want = replicas(&self.d);
        let active: Vec<usize> = (0..self.sets.len())
            .filter(|i| rs_replicas(&self.sets[*i]) > 0)
            .collect();
        let single = match active.len() {
            0 => self.new.or_else(|| self.old().last().copied()),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(i) = single {
            if rs_replicas(&self.sets[i]) != want {
                self.scale_rs(i, want).await?;
            }
            return Ok(());
        }
        let saturated = self.new_rs().is_some_and(|rs| {
            rs.annotations().get(DESIRED_REPLICAS) == Some(&want.to_string())
                && rs_replicas(rs) == want
                && rs_status(rs, |s| s.available_replicas.unwrap_or(0)) == want
        });
        if saturated {
            for i in self.old() {
                if rs_replicas(&self.sets[i]) > 0 {
                    self.scale_rs(i, 0).await?;
                }
            }
            return Ok(());
        }
        if is_recreate(&self.d) {
            return Ok(());
        }
        let total: i32 = active.iter().map(|i| rs_replicas(&self.sets[*i])).sum();
        let allowed = if want > 0 {
            want + max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - total;
        let mut order = active.clone();
        order.sort_by(|a, b| {
            let (ra, rb) = (&self.sets[*a], &self.sets[*b]);
            let by_size = rs_replicas(rb).cmp(&rs_replicas(ra));
            let by_age = ra.creation_timestamp().cmp(&rb.creation_timestamp());
            // Larger first; among equals newer first when growing, older
            // first when shrinking.
            by_size.then(if to_add > 0 { by_age.reverse() } else { by_age })
        });
        let mut sizes: Vec<i32> = order.iter().map(|i| rs_replicas(&self.sets[*i])).collect();
        if to_add != 0 {
            let mut added = 0;
            for (k, &i) in order.iter().enumerate() {
                let p = self.proportion(&self.sets[i], to_add, added);
                sizes[k] += p;
                added += p;
            }
            sizes[0] = (sizes[0] + to_add - added).max(0);
        }
        for (k, &i) in order.iter().enumerate() {
            self.scale_rs(i, sizes[k]).await?;
        }
        Ok(())
    }

    fn proportion(&self, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
        let size = rs_replicas(rs);
        if size == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let want = replicas(&self.d);
        let fraction = if want == 0 {
            -size
        } else {
            let target = want + max_surge(&self.d);
            let annotated = rs
                .annotations()
                .get(MAX_REPLICAS)
                .and_then(|v| v.parse::<i32>().ok())
                .unwrap_or_else(|| self.status().replicas.unwrap_or(0));
            if annotated == 0 {
                0
            } else {
                (f64::from(size) * f64::from(target) / f64::from(annotated)).round() as i32 - size
            }
        };
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// Delete the oldest empty old ReplicaSets beyond
    /// revisionHistoryLimit.
    pub async fn cleanup(&mut self) -> anyhow::Result<()> {
        let Some(limit) = self.d.spec.revision_history_limit else {
            return Ok(());
        };
        let mut old: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|i| self.sets[*i].meta().deletion_timestamp.is_none())
            .collect();
        let excess = old.len() as i64 - i64::from(limit);
        if excess <= 0 {
            return Ok(());
        }
        old.sort_by_key(|i| (revision(&self.sets[*i]), self.sets[*i].creation_timestamp()));
        for &i in old.iter().take(excess as usize) {
            let rs = &self.sets[i];
            let settled =
                rs.status.as_ref().and_then(|s| s.observed_generation) >= rs.metadata.generation;
            if rs_status(rs, |s| s.replicas) != 0 || rs_replicas(rs) != 0 || !settled {
                continue;
            }
            match self
                .rsapi
                .delete(&rs.name_any(), &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(e) if api_code(&e) == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Write the counts and the Available condition if they changed.
    pub async fn sync_status(&mut self) -> anyhow::Result<()> {
        let all: Vec<&ReplicaSet> = self.sets.iter().collect();
        let s = calculate_status(&all, self.new_rs(), &self.d);
        if self.d.status.as_ref() != Some(&s) {
            self.write_status(s).await?;
        }
        Ok(())
    }

    /// Counts plus the Progressing and ReplicaFailure conditions; asks to
    /// be looked at again when the progress deadline would pass.
    pub async fn sync_rollout_status(&mut self) -> SyncResult {
        let all: Vec<&ReplicaSet> = self.sets.iter().collect();
        let new = self.new_rs();
        let mut s = calculate_status(&all, new, &self.d);
        let d = &self.d;
        if !has_progress_deadline(d) {
            remove_condition(&mut s, PROGRESSING);
        }
        let cur = condition(&s, PROGRESSING).cloned();
        let done_before = s.replicas == s.updated_replicas
            && cur.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        let subject = match new {
            Some(rs) => format!("ReplicaSet {:?}", rs.name_any()),
            None => format!("Deployment {:?}", d.name_any()),
        };
        if has_progress_deadline(d) && !done_before {
            if is_complete(d, &s) {
                let msg = format!("{subject} has successfully progressed.");
                set_condition(
                    &mut s,
                    new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg),
                );
            } else if is_progressing(d, &s) {
                let msg = format!("{subject} is progressing.");
                let mut c = new_condition(PROGRESSING, "True", "ReplicaSetUpdated", msg);
                if let Some(cur) = cur.as_ref().filter(|c| c.status.as_deref() == Some("True")) {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_condition(&mut s, PROGRESSING);
                s.conditions.get_or_insert_with(Vec::new).push(c);
            } else if deadline_left(d, &s).is_some_and(|left| left < 0.0) {
                let msg = format!("{subject} has timed out progressing.");
                set_condition(&mut s, new_condition(PROGRESSING, "False", TIMED_OUT, msg));
            }
        }
        let failure = new
            .into_iter()
            .chain(all.iter().copied())
            .flat_map(|rs| {
                rs.status
                    .iter()
                    .flat_map(|st| st.conditions.iter().flatten())
            })
            .find(|c| c.type_.as_deref() == Some(REPLICA_FAILURE))
            .cloned();
        match failure {
            Some(f) => set_condition(
                &mut s,
                new_condition(
                    REPLICA_FAILURE,
                    f.status.as_deref().unwrap_or("True"),
                    f.reason.as_deref().unwrap_or(""),
                    f.message.unwrap_or_default(),
                ),
            ),
            None => remove_condition(&mut s, REPLICA_FAILURE),
        }
        let requeue = self.requeue_stuck(&s);
        if self.d.status.as_ref() != Some(&s) {
            self.write_status(s).await?;
        }
        Ok(requeue)
    }

    fn requeue_stuck(&self, s: &DeploymentStatus) -> Option<Duration> {
        let left = deadline_left(&self.d, s)?;
        if is_complete(&self.d, s) {
            return None;
        }
        Some(Duration::from_secs_f64(left.max(1.0)))
    }
}
