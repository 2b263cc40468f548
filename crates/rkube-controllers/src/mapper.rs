//! What the API serves, from discovery (aggregated when the server offers
//! it): the resources a controller can list and delete, and the resource
//! behind an apiVersion and kind (owner references, scale targets).
//! Cached; refreshed when older than the caller accepts or when a kind is
//! not found (at most once a second).

use std::time::{Duration, Instant};

use kube::Client;
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Discovery};
use tokio::sync::Mutex;

pub type Resource = (ApiResource, ApiCapabilities);

pub struct Mapper {
    client: Client,
    state: Mutex<Option<(Instant, Vec<Resource>)>>,
}

/// Split an apiVersion into group and version.
pub fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl Mapper {
    pub fn new(client: Client) -> Mapper {
        Mapper {
            client,
            state: Mutex::new(None),
        }
    }

    async fn discover(&self) -> kube::Result<Vec<Resource>> {
        let d = match Discovery::new(self.client.clone()).run_aggregated().await {
            Ok(d) => d,
            Err(_) => Discovery::new(self.client.clone()).run().await?,
        };
        let mut all = Vec::new();
        for g in d.groups() {
            for v in g.versions() {
                all.extend(g.versioned_resources(v));
            }
        }
        Ok(all)
    }

    async fn resources(&self, max_age: Duration) -> kube::Result<Vec<Resource>> {
        let mut state = self.state.lock().await;
        if let Some((at, r)) = state.as_ref()
            && at.elapsed() <= max_age
        {
            return Ok(r.clone());
        }
        let r = self.discover().await?;
        *state = Some((Instant::now(), r.clone()));
        Ok(r)
    }

    /// Every served resource, one entry per version.
    pub async fn all(&self, max_age: Duration) -> kube::Result<Vec<Resource>> {
        self.resources(max_age).await
    }

    /// One entry per resource: the group's preferred version (as
    /// discovery lists it first).
    pub async fn preferred(&self, max_age: Duration) -> kube::Result<Vec<Resource>> {
        let all = self.resources(max_age).await?;
        let mut seen = std::collections::HashSet::new();
        Ok(all
            .into_iter()
            .filter(|(ar, _)| seen.insert((ar.group.clone(), ar.plural.clone())))
            .collect())
    }

    /// The resource serving `kind` in `api_version`.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> kube::Result<Option<Resource>> {
        let (group, version) = group_version(api_version);
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let find = |all: &[Resource]| {
            all.iter()
                .find(|(ar, _)| {
                    ar.group == gvk.group && ar.version == gvk.version && ar.kind == gvk.kind
                })
                .cloned()
        };
        if let Some(r) = find(&self.resources(Duration::from_secs(300)).await?) {
            return Ok(Some(r));
        }
        Ok(find(&self.resources(Duration::from_secs(1)).await?))
    }
}
