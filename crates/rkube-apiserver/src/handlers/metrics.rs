//! The resource metrics API (`metrics.k8s.io/v1beta1`: NodeMetrics and
//! PodMetrics), which upstream's metrics-server serves by scraping kubelets.
//! rkube's pods run nowhere, so the figures are computed on every read from
//! the pods and nodes in storage; nothing is stored, and there is no watch
//! (metrics-server has none either).
//!
//! # Where the numbers come from
//!
//! - A Running pod's usage is set by two annotations on the pod, each a
//!   quantity for the whole pod: `metrics.rkube.io/cpu` (`250m`) and
//!   `metrics.rkube.io/memory` (`64Mi`). The pod's figure is split over its
//!   containers in proportion to their requests of that resource (evenly
//!   when none requests it), the last container taking the rounding
//!   remainder. `kubectl annotate pod web metrics.rkube.io/cpu=900m
//!   --overwrite` is then how a test or a demo drives an HPA.
//! - Without an annotation (or with one that is not a quantity) each
//!   container uses half its request, or 1m of CPU and 8Mi of memory when it
//!   requests nothing: deterministic, and plausible in `kubectl top`.
//! - Only Running pods have metrics, as only they are scraped upstream; a
//!   get of another pod is metrics-server's NotFound
//!   (`podmetrics.metrics.k8s.io "ns/name" not found`), and lists leave it
//!   out. A pod that does not exist is the pods' own NotFound.
//! - A Ready node's usage is its Running pods' sum plus a base of 100m and
//!   512Mi for what runs outside pods; a node that is not Ready has none.
//! - `timestamp` is the end of the current 10 s window, `window` is `10s`:
//!   what metrics-server reports at its default resolution.
//!
//! Lists take label selectors and the field selectors metrics-server
//! supports (`metadata.name`, `metadata.namespace`), in the pods' and
//! nodes' order.

mod usage;

use chrono::{DateTime, SecondsFormat, Utc};
use rkube_api::catalogue::{self, METRICS_GROUP, ResourceDef};
use rkube_api::status::{ApiError, ApiResult, Qualified};
use serde_json::{Map, Value, json};

use super::read::Filter;
use super::{App, Ctx, Resp, table};
use crate::http::negotiation::{Representation, representation};
use crate::http::response;
use crate::registry::ListOptions;

/// The length of one scrape window, in seconds.
const WINDOW_SECS: i64 = 10;

fn core(plural: &str) -> ApiResult<&'static ResourceDef> {
    catalogue::lookup("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} is not in the catalogue")))
}

/// `timestamp` (the end of the current window) and `creationTimestamp`.
fn times() -> (String, String) {
    let now = Utc::now();
    let start = now.timestamp() - now.timestamp().rem_euclid(WINDOW_SECS);
    let window_end = DateTime::<Utc>::from_timestamp(start, 0).unwrap_or(now);
    (
        window_end.to_rfc3339_opts(SecondsFormat::Secs, true),
        now.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

fn window() -> String {
    format!("{WINDOW_SECS}s")
}

fn pod_metrics(pod: &Value) -> Value {
    let (timestamp, now) = times();
    let containers: Vec<Value> = usage::container_usage(pod)
        .into_iter()
        .map(|(name, u)| json!({"name": name, "usage": u.to_json()}))
        .collect();
    json!({
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": usage::metadata(pod, &now),
        "timestamp": timestamp,
        "window": window(),
        "containers": containers,
    })
}

fn node_metrics(node: &Value, pods: &[Value]) -> Value {
    let (timestamp, now) = times();
    let name = node["metadata"]["name"].as_str().unwrap_or("");
    json!({
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": usage::metadata(node, &now),
        "timestamp": timestamp,
        "window": window(),
        "usage": usage::node_usage(name, pods).to_json(),
    })
}

fn not_found(ctx: &Ctx, name: String) -> ApiError {
    ApiError::not_found(
        Qualified {
            group: METRICS_GROUP,
            resource: ctx.def.singular,
        },
        &name,
    )
}

async fn all_pods(app: &App, namespace: Option<&str>) -> ApiResult<Vec<Value>> {
    let everything = |_: &Value| true;
    Ok(app
        .registry
        .list(
            core("pods")?,
            namespace,
            &ListOptions::default(),
            &everything,
        )
        .await?
        .items)
}

pub async fn get(app: &App, ctx: &Ctx) -> ApiResult<Resp> {
    let rep = representation(&ctx.headers)?;
    let obj = match ctx.def.kind {
        "PodMetrics" => {
            let ns = ctx.namespace().unwrap_or("");
            let pod = app
                .registry
                .get(core("pods")?, Some(ns), ctx.name())
                .await?;
            if !usage::pod_has_metrics(&pod) {
                return Err(not_found(ctx, format!("{ns}/{}", ctx.name())));
            }
            pod_metrics(&pod)
        }
        _ => {
            let node = app.registry.get(core("nodes")?, None, ctx.name()).await?;
            if !usage::node_has_metrics(&node) {
                return Err(not_found(ctx, ctx.name().to_string()));
            }
            node_metrics(&node, &all_pods(app, None).await?)
        }
    };
    Ok(match rep {
        Representation::Table => response::json(
            200,
            &table::table(
                ctx.def,
                &[obj],
                Map::new(),
                ctx.query.include_object.as_deref(),
                true,
            ),
        ),
        Representation::PartialObjectMetadata => {
            response::json(200, &table::partial_metadata(&obj))
        }
        Representation::PartialObjectMetadataList => {
            return Err(ApiError::not_acceptable(
                "PartialObjectMetadataList is only served for lists",
            ));
        }
        Representation::Object => response::json(200, &obj),
    })
}

pub async fn list(app: &App, ctx: &Ctx) -> ApiResult<Resp> {
    let rep = representation(&ctx.headers)?;
    let filter = Filter::from_ctx(ctx)?;
    let keep = |obj: &Value| filter.matches(ctx, obj);
    let opts = ListOptions::default();
    let items = match ctx.def.kind {
        "PodMetrics" => {
            let pods = app
                .registry
                .list(core("pods")?, ctx.namespace(), &opts, &keep)
                .await?;
            pods.items
                .iter()
                .filter(|p| usage::pod_has_metrics(p))
                .map(pod_metrics)
                .collect::<Vec<_>>()
        }
        _ => {
            let nodes = app
                .registry
                .list(core("nodes")?, None, &opts, &keep)
                .await?;
            let pods = all_pods(app, None).await?;
            nodes
                .items
                .iter()
                .filter(|n| usage::node_has_metrics(n))
                .map(|n| node_metrics(n, &pods))
                .collect::<Vec<_>>()
        }
    };
    // metrics-server's lists carry no resourceVersion: there is nothing to
    // watch from.
    let md = Map::new();
    let body = super::read::list_body(ctx, rep, items, md);
    Ok(response::json(200, &body))
}
