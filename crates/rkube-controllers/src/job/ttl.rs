//! The TTL-after-finished controller: deletes a finished Job (and, in the
//! foreground, its pods) `ttlSecondsAfterFinished` after it finished.
//! The expiry is checked again on a fresh read before deleting, so a TTL
//! raised meanwhile is honoured.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::{Client, ResourceExt};

use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{api_code, is_being_deleted, seconds_since};

use super::status;

pub struct TtlAfterFinishedController {
    client: Client,
    jobs: Informer<Job>,
    queue: Arc<Queue<Key>>,
}

/// Time left before `job` expires: None when it has no TTL or has not
/// finished, zero when due.
pub fn time_left(job: &Job) -> Option<Duration> {
    if is_being_deleted(&job.metadata) {
        return None;
    }
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = status::finish_time(job)?;
    let left = ttl as f64 - seconds_since(&finished);
    Some(Duration::from_secs_f64(left.max(0.0)))
}

impl TtlAfterFinishedController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(TtlAfterFinishedController {
            client: factory.client().clone(),
            jobs: factory.informer::<Job>(),
            queue: Queue::new(),
        });
        let q = Arc::clone(&c.queue);
        c.jobs.on_change(move |ch| {
            if let Change::Added(j) | Change::Updated { new: j, .. } = ch
                && time_left(j).is_some()
            {
                q.add(Key::of(j.as_ref()));
            }
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = self.jobs.wait_synced();
        let queue = Arc::clone(&self.queue);
        run_controller(
            "ttl-after-finished",
            Arc::clone(&self),
            queue,
            2,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    async fn sync(&self, key: Key) -> SyncResult {
        let Some(job) = self.jobs.get(&key.namespace, &key.name) else {
            return Ok(None);
        };
        match time_left(&job) {
            None => return Ok(None),
            Some(left) if !left.is_zero() => return Ok(Some(left)),
            Some(_) => {}
        }
        let api: Api<Job> = Api::namespaced(self.client.clone(), &key.namespace);
        let Some(fresh) = api.get_opt(&key.name).await? else {
            return Ok(None);
        };
        match time_left(&fresh) {
            Some(left) if left.is_zero() => {}
            Some(left) => return Ok(Some(left)),
            None => return Ok(None),
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: fresh.uid(),
                resource_version: fresh.resource_version(),
            }),
            ..DeleteParams::foreground()
        };
        match api.delete(&key.name, &dp).await {
            Ok(_) => Ok(None),
            Err(e) if matches!(api_code(&e), Some(404)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
