//! The token controller: fills `kubernetes.io/service-account-token`
//! Secrets with a signed token, the cluster CA and the namespace, once
//! their ServiceAccount exists, as kube-controller-manager's does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::watcher;
use rkube_apiserver::auth::serviceaccount::{LEGACY_ISSUER, LegacyClaims, ServiceAccountTokens};
use serde_json::json;

const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME: &str = "kubernetes.io/service-account.name";
const SA_UID: &str = "kubernetes.io/service-account.uid";

#[derive(Clone)]
pub struct TokenController {
    pub client: kube::Client,
    pub signer: Arc<ServiceAccountTokens>,
    pub ca_pem: String,
}

impl TokenController {
    /// Runs until `shutdown` completes. Secrets are handled as they change;
    /// those waiting for their ServiceAccount are retried when any
    /// ServiceAccount changes and every few seconds.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let secrets: Api<Secret> = Api::all(self.client.clone());
        let accounts: Api<ServiceAccount> = Api::all(self.client.clone());
        let secret_events = watcher(
            secrets.clone(),
            watcher::Config::default().fields(&format!("type={TOKEN_TYPE}")),
        )
        .boxed();
        let account_events = watcher(accounts, watcher::Config::default()).boxed();
        let mut merged = futures::stream::select(
            secret_events.map(|e| e.map(|_| ()).ok()),
            account_events.map(|e| e.map(|_| ()).ok()),
        );
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                ev = merged.next() => {
                    if ev.is_none() {
                        return;
                    }
                }
                _ = tick.tick() => {}
            }
            if let Err(e) = self.sync_all(&secrets).await {
                tracing::debug!("token controller: {e}");
            }
        }
    }

    async fn sync_all(&self, secrets: &Api<Secret>) -> anyhow::Result<()> {
        let list = secrets
            .list(&ListParams::default().fields(&format!("type={TOKEN_TYPE}")))
            .await?;
        for secret in list.items {
            if let Err(e) = self.sync(secret).await {
                tracing::debug!("token controller: {e}");
            }
        }
        Ok(())
    }

    async fn sync(&self, secret: Secret) -> anyhow::Result<()> {
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let name = secret.metadata.name.clone().unwrap_or_default();
        let annotations = secret.metadata.annotations.clone().unwrap_or_default();
        let Some(sa_name) = annotations.get(SA_NAME) else {
            return Ok(());
        };
        if secret.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &ns);
        let Some(sa) = accounts.get_opt(sa_name).await? else {
            return Ok(());
        };
        let sa_uid = sa.metadata.uid.clone().unwrap_or_default();
        if let Some(uid) = annotations.get(SA_UID)
            && *uid != sa_uid
        {
            return Ok(());
        }
        let data = secret.data.clone().unwrap_or_default();
        let has = |k: &str| data.get(k).is_some_and(|v| !v.0.is_empty());
        if has("token") && has("ca.crt") && has("namespace") && annotations.contains_key(SA_UID) {
            return Ok(());
        }
        let token = self.signer.issue_legacy(&LegacyClaims {
            iss: LEGACY_ISSUER.into(),
            sub: format!("system:serviceaccount:{ns}:{sa_name}"),
            namespace: ns.clone(),
            secret_name: name.clone(),
            service_account_name: sa_name.clone(),
            service_account_uid: sa_uid.clone(),
        })?;
        let mut new_data = BTreeMap::new();
        new_data.insert("token", ByteString(token.into_bytes()));
        new_data.insert("ca.crt", ByteString(self.ca_pem.clone().into_bytes()));
        new_data.insert("namespace", ByteString(ns.clone().into_bytes()));
        let patch = json!({
            "metadata": {
                "annotations": {SA_UID: sa_uid},
                "resourceVersion": secret.metadata.resource_version,
            },
            "data": new_data,
        });
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
        secrets
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }
}
