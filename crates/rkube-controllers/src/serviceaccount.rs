//! The ServiceAccount controller: every Active namespace has a `default`
//! ServiceAccount; it is recreated when deleted.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{api_code, is_being_deleted, post_params};

const DEFAULT: &str = "default";
const WORKERS: usize = 1;

pub struct ServiceAccountController {
    client: Client,
    namespaces: Informer<Namespace>,
    accounts: Informer<ServiceAccount>,
    /// Namespace names.
    queue: Arc<Queue<String>>,
}

impl ServiceAccountController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(ServiceAccountController {
            client: factory.client().clone(),
            namespaces: factory.informer::<Namespace>(),
            accounts: factory.informer::<ServiceAccount>(),
            queue: Queue::new(),
        });
        let q = Arc::clone(&c.queue);
        c.namespaces.on_change(move |ch| match ch {
            Change::Added(ns) | Change::Updated { new: ns, .. } => q.add(ns.name_any()),
            Change::Deleted(_) => {}
        });
        let q = Arc::clone(&c.queue);
        c.accounts.on_change(move |ch| {
            if let Change::Deleted(sa) = ch
                && sa.name_any() == DEFAULT
            {
                q.add(sa.namespace().unwrap_or_default());
            }
        });
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.namespaces.wait_synced().await;
            self.accounts.wait_synced().await
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "serviceaccount",
            Arc::clone(&self),
            queue,
            WORKERS,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    async fn sync(&self, ns: String) -> SyncResult {
        let Some(namespace) = self.namespaces.get("", &ns) else {
            return Ok(None);
        };
        let active = namespace
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_none_or(|p| p == "Active");
        if !active || is_being_deleted(&namespace.metadata) {
            return Ok(None);
        }
        if self.accounts.get(&ns, DEFAULT).is_some() {
            return Ok(None);
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &ns);
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(DEFAULT.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match api.create(&post_params(), &sa).await {
            Ok(_) => Ok(None),
            // Already there (our cache is behind), or the namespace is
            // going away.
            Err(e) if matches!(api_code(&e), Some(409) | Some(403) | Some(404)) => Ok(None),
            Err(e) => {
                Err(anyhow::Error::from(e).context(format!("creating {}", Key::new(ns, DEFAULT))))
            }
        }
    }
}
