//! What exists from the first start, as kube-apiserver's bootstrap
//! controllers create it: the four system namespaces and the `kubernetes`
//! Service in `default`. Also rebuilds in-memory allocator state.

use std::sync::Arc;

use rkube_api::catalogue;
use serde_json::{Value, json};

use crate::handlers::App;
use crate::registry::ListOptions;
use crate::registry::strategy;

pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

pub async fn run(app: &Arc<App>, secure_port: u16) -> anyhow::Result<()> {
    let services = catalogue::lookup("", "v1", "services").expect("services in catalogue");
    let all = |_: &Value| true;
    let existing = app
        .registry
        .list(services, None, &ListOptions::default(), &all)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for svc in &existing.items {
        strategy::mark_allocated(&app.registry, services, svc);
    }
    for ns in SYSTEM_NAMESPACES {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        crate::handlers::create_internal(app, "", "v1", "namespaces", None, body).await?;
    }
    let first_ip = app.registry.services.first_ip().to_string();
    let kubernetes = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": first_ip,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": secure_port}],
            "sessionAffinity": "None",
        },
    });
    crate::handlers::create_internal(app, "", "v1", "services", Some("default"), kubernetes)
        .await?;
    Ok(())
}
