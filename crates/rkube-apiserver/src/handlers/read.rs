//! get and list.

use rkube_api::conversion;
use rkube_api::selectors::{FieldSelector, LabelSelector};
use rkube_api::status::{ApiError, ApiResult};
use serde_json::{Map, Value, json};

use super::{App, Ctx, Resp, table};
use crate::http::negotiation::{Representation, representation};
use crate::http::response;
use crate::registry::ListOptions;
use crate::registry::store::parse_resource_version;

/// The object as the client addressed it: converted to the request's
/// version.
pub fn to_client(ctx: &Ctx, obj: Value) -> Value {
    if conversion::is_identity(ctx.def, &ctx.version) {
        obj
    } else {
        conversion::convert(ctx.def, obj, &ctx.version)
    }
}

pub async fn get(app: &App, ctx: &Ctx) -> ApiResult<Resp> {
    let rep = representation(&ctx.headers)?;
    let obj = app
        .registry
        .get(ctx.def, ctx.namespace(), ctx.name())
        .await?;
    let obj = to_client(ctx, obj);
    Ok(match rep {
        Representation::Table => {
            let mut md = Map::new();
            md.insert(
                "resourceVersion".into(),
                obj["metadata"]["resourceVersion"].clone(),
            );
            response::json(
                200,
                &table::table(
                    ctx.def,
                    &[obj],
                    md,
                    ctx.query.include_object.as_deref(),
                    true,
                ),
            )
        }
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

/// Label and field selectors of a request, parsed.
pub struct Filter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn from_ctx(ctx: &Ctx) -> ApiResult<Filter> {
        let labels = match ctx.query.label_selector.as_deref() {
            Some(s) if !s.trim().is_empty() => {
                LabelSelector::parse(s).map_err(ApiError::bad_request)?
            }
            _ => LabelSelector::default(),
        };
        let fields = match ctx.query.field_selector.as_deref() {
            Some(s) if !s.trim().is_empty() => {
                FieldSelector::parse(s, ctx.def).map_err(ApiError::bad_request)?
            }
            _ => FieldSelector::default(),
        };
        Ok(Filter { labels, fields })
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub fn matches(&self, ctx: &Ctx, obj: &Value) -> bool {
        if !self.labels.is_empty() {
            let empty = Map::new();
            let labels = rkube_api::meta::labels(obj).unwrap_or(&empty);
            if !self.labels.matches(labels) {
                return false;
            }
        }
        self.fields.is_empty() || self.fields.matches(ctx.def, obj)
    }
}

/// Which revision a list reads, from resourceVersion and
/// resourceVersionMatch, as upstream interprets them.
fn list_revision(ctx: &Ctx) -> ApiResult<(i64, Option<i64>)> {
    let rv = ctx.query.resource_version.as_deref().unwrap_or("");
    match ctx.query.resource_version_match.as_deref() {
        None | Some("") => {
            if rv.is_empty() || rv == "0" {
                Ok((0, None))
            } else {
                // Not older than rv: the current state, once it is at rv.
                Ok((0, Some(parse_resource_version(rv)?)))
            }
        }
        Some("NotOlderThan") => {
            if rv.is_empty() {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "ListOptions",
                    "",
                    vec![rkube_api::status::Cause::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    )],
                ));
            }
            Ok((0, Some(parse_resource_version(rv)?)))
        }
        Some("Exact") => {
            if rv.is_empty() || rv == "0" {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "ListOptions",
                    "",
                    vec![rkube_api::status::Cause::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    )],
                ));
            }
            Ok((parse_resource_version(rv)?, None))
        }
        Some(other) => Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            vec![rkube_api::status::Cause::not_supported(
                "resourceVersionMatch",
                &json!(other),
                &["Exact", "NotOlderThan", ""],
            )],
        )),
    }
}

pub async fn list(app: &App, ctx: &Ctx) -> ApiResult<Resp> {
    let rep = representation(&ctx.headers)?;
    let filter = Filter::from_ctx(ctx)?;
    let (revision, not_older_than) = list_revision(ctx)?;
    if let Some(min) = not_older_than {
        wait_for_revision(app, min).await?;
    }
    let limit = ctx.query.limit.unwrap_or(0).max(0) as usize;
    let opts = ListOptions {
        limit,
        continue_token: ctx.query.continue_token.clone().filter(|c| !c.is_empty()),
        revision,
    };
    if rep == Representation::Object
        && filter.fields.is_empty()
        && conversion::is_identity(ctx.def, &ctx.version)
    {
        return list_raw(app, ctx, &filter, &opts).await;
    }
    let keep = |obj: &Value| filter.matches(ctx, obj);
    let result = app
        .registry
        .list(ctx.def, ctx.namespace(), &opts, &keep)
        .await?;
    let mut md = Map::new();
    md.insert("resourceVersion".into(), json!(result.revision.to_string()));
    if let Some(c) = &result.continue_token {
        md.insert("continue".into(), json!(c));
    }
    if let Some(r) = result.remaining {
        md.insert("remainingItemCount".into(), json!(r));
    }
    let items: Vec<Value> = result
        .items
        .into_iter()
        .map(|o| to_client(ctx, o))
        .collect();
    let body = list_body(ctx, rep, items, md);
    Ok(response::json(200, &body))
}

/// Wait (briefly) until the store has reached `min`, as upstream's
/// consistent reads do; 504 with ResourceVersionTooLarge after 3 s.
pub async fn wait_for_revision(app: &App, min: i64) -> ApiResult<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let current = app
            .registry
            .backend
            .current_revision()
            .await
            .map_err(crate::registry::store::store_error)?;
        if current >= min {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(crate::registry::store::store_error(
                rkube_store::StoreError::FutureRevision {
                    requested: min,
                    current,
                },
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The common list (plain objects, label selectors at most) rendered
/// straight from stored bytes; see `registry::raw`.
async fn list_raw(app: &App, ctx: &Ctx, filter: &Filter, opts: &ListOptions) -> ApiResult<Resp> {
    let page = app
        .registry
        .list_with(ctx.def, ctx.namespace(), opts, |kv| {
            let mut item = Vec::with_capacity(kv.value.len() + 32);
            let labels = crate::registry::raw::list_item(&kv.value, kv.mod_revision, &mut item)
                .map_err(|e| {
                    ApiError::internal(format!("stored object {} is corrupt: {e}", kv.key))
                })?;
            Ok(filter.labels.matches(&labels).then_some(item))
        })
        .await?;
    let mut md = Map::new();
    md.insert("resourceVersion".into(), json!(page.revision.to_string()));
    if let Some(c) = &page.continue_token {
        md.insert("continue".into(), json!(c));
    }
    if let Some(r) = page.remaining {
        md.insert("remainingItemCount".into(), json!(r));
    }
    let head = json!({"kind": ctx.def.list_kind, "apiVersion": ctx.api_version(), "metadata": md});
    let mut body = serde_json::to_vec(&head).unwrap_or_default();
    body.pop(); // the closing brace; items follow
    body.extend_from_slice(b",\"items\":[");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(b"]}");
    Ok(response::json_bytes(200, body))
}

/// A list response in the representation the client asked for: a Table,
/// a PartialObjectMetadataList, or the typed list (whose items carry no
/// kind of their own, as upstream's).
pub(super) fn list_body(
    ctx: &Ctx,
    rep: Representation,
    items: Vec<Value>,
    md: Map<String, Value>,
) -> Value {
    match rep {
        Representation::Table => table::table(
            ctx.def,
            &items,
            md,
            ctx.query.include_object.as_deref(),
            true,
        ),
        Representation::PartialObjectMetadataList | Representation::PartialObjectMetadata => {
            json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": md,
                "items": items.iter().map(table::partial_metadata).collect::<Vec<_>>(),
            })
        }
        Representation::Object => {
            let items: Vec<Value> = items
                .into_iter()
                .map(|mut o| {
                    // Typed lists carry the kind once, not per item.
                    if let Some(m) = o.as_object_mut() {
                        m.remove("kind");
                        m.remove("apiVersion");
                    }
                    o
                })
                .collect();
            json!({
                "kind": ctx.def.list_kind,
                "apiVersion": ctx.api_version(),
                "metadata": md,
                "items": items,
            })
        }
    }
}
