//! What a controller records after creating or deleting its pods, the same
//! for every controller that owns pods directly (ReplicaSet,
//! ReplicationController, DaemonSet, Job), as upstream's shared pod control
//! does: one event per pod, the expectation released for each write that
//! failed, and the first error that should make the sync retry.

use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};

use crate::events::Recorder;
use crate::expectations::Expectations;
use crate::runtime::Key;
use crate::util::api_code;

/// The owner the pods belong to, and where its events and expectations go.
pub struct PodControl<'a> {
    pub recorder: &'a Recorder,
    pub expectations: &'a Expectations,
    pub key: &'a Key,
    pub owner: ObjectReference,
}

/// A create refused because the namespace is being deleted: the namespace
/// controller is emptying it, so this is no failure of the owner's (no
/// event, no retry).
fn namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403 && s.message.contains("being terminated"))
}

impl PodControl<'_> {
    /// Records the outcome of a batch of creates; returns the first error
    /// worth a retry.
    pub fn created(&self, results: Vec<kube::Result<Pod>>) -> Option<kube::Error> {
        let mut first_err = None;
        for r in results {
            match r {
                Ok(p) => self.recorder.normal(
                    self.owner.clone(),
                    "SuccessfulCreate",
                    format!("Created pod: {}", p.name_any()),
                ),
                Err(e) => {
                    self.expectations.creation_observed(self.key);
                    if namespace_terminating(&e) {
                        continue;
                    }
                    self.recorder.warning(
                        self.owner.clone(),
                        "FailedCreate",
                        format!("Error creating: {e}"),
                    );
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err
    }

    /// Deletes `victims` at once and records each outcome; a pod already
    /// gone is no error. Fails with the first error worth a retry.
    pub async fn delete(&self, api: &Api<Pod>, victims: &[Arc<Pod>]) -> anyhow::Result<()> {
        let results = join_all(victims.iter().map(|p| async move {
            let r = api.delete(&p.name_any(), &DeleteParams::default()).await;
            (p.as_ref(), r)
        }))
        .await;
        match self.deleted(results) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn deleted<T>(&self, results: Vec<(&Pod, kube::Result<T>)>) -> Option<kube::Error> {
        let mut first_err = None;
        for (p, r) in results {
            match r {
                Ok(_) => self.recorder.normal(
                    self.owner.clone(),
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", p.name_any()),
                ),
                Err(e) => {
                    self.expectations.deletion_observed(self.key, &Key::of(p));
                    if api_code(&e) == Some(404) {
                        continue;
                    }
                    self.recorder.warning(
                        self.owner.clone(),
                        "FailedDelete",
                        format!("Error deleting: {e}"),
                    );
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err
    }
}
