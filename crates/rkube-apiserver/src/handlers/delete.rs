//! delete and deletecollection: preconditions, grace periods, finalizers
//! and propagation policies.

use rkube_api::meta;
use rkube_api::status::{ApiError, ApiResult, success_status};
use serde_json::{Value, json};

use super::read::{Filter, to_client};
use super::{App, Ctx, Resp, body};
use crate::http::response;
use crate::registry::ListOptions;
use crate::registry::store::{decode, qualified};
use crate::registry::strategy;

/// DeleteOptions from the body and the query (the query wins, as
/// upstream merges them).
#[derive(Debug, Default, Clone)]
struct DeleteOptions {
    grace_period: Option<i64>,
    propagation: Option<String>,
    precondition_uid: Option<String>,
    precondition_rv: Option<String>,
    dry_run: bool,
    orphan_dependents: Option<bool>,
}

fn options(ctx: &Ctx, bytes: &[u8]) -> ApiResult<DeleteOptions> {
    let mut o = DeleteOptions::default();
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let v = body::parse_json(bytes)?;
        o.grace_period = v["gracePeriodSeconds"].as_i64();
        o.propagation = v["propagationPolicy"].as_str().map(str::to_string);
        o.precondition_uid = v["preconditions"]["uid"].as_str().map(str::to_string);
        o.precondition_rv = v["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        o.dry_run = v["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|d| d == "All"));
        o.orphan_dependents = v["orphanDependents"].as_bool();
    }
    if let Some(g) = ctx.query.grace_period_seconds {
        o.grace_period = Some(g);
    }
    if let Some(p) = &ctx.query.propagation_policy {
        o.propagation = Some(p.clone());
    }
    if let Some(od) = ctx.query.orphan_dependents {
        o.orphan_dependents = Some(od);
    }
    o.dry_run |= ctx.query.dry_run;
    if let Some(p) = &o.propagation
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            vec![rkube_api::status::Cause::not_supported(
                "propagationPolicy",
                &json!(p),
                &["Foreground", "Background", "Orphan", "nil"],
            )],
        ));
    }
    if o.orphan_dependents.is_some() && o.propagation.is_some() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            vec![rkube_api::status::Cause::invalid(
                "propagationPolicy",
                &json!(o.propagation),
                "orphanDependents and deletionPropagation cannot be both set",
            )],
        ));
    }
    if let Some(g) = o.grace_period
        && g < 0
    {
        o.grace_period = Some(0);
    }
    Ok(o)
}

/// The finalizer a propagation policy asks the garbage collector for.
fn propagation_finalizer(o: &DeleteOptions) -> Option<&'static str> {
    match (o.propagation.as_deref(), o.orphan_dependents) {
        (Some("Foreground"), _) => Some("foregroundDeletion"),
        (Some("Orphan"), _) | (None, Some(true)) => Some("orphan"),
        _ => None,
    }
}

enum Outcome {
    /// Gone from storage.
    Deleted(Value),
    /// Marked for deletion; waiting for finalizers or a grace period.
    Pending(Value),
}

async fn delete_one(app: &App, ctx: &Ctx, name: &str, o: &DeleteOptions) -> ApiResult<Outcome> {
    let ns = ctx.namespace();
    loop {
        let kv = app
            .registry
            .get_kv(ctx.def, ns, name)
            .await?
            .ok_or_else(|| ApiError::not_found(qualified(ctx.def), name))?;
        let old = decode(&kv)?;
        let old_uid = old["metadata"]["uid"].as_str().unwrap_or("");
        if let Some(uid) = &o.precondition_uid
            && uid != old_uid
        {
            return Err(ApiError::conflict(
                qualified(ctx.def),
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {old_uid}"
                ),
            ));
        }
        let old_rv = kv.mod_revision.to_string();
        if let Some(rv) = &o.precondition_rv
            && *rv != old_rv
        {
            return Err(ApiError::conflict(
                qualified(ctx.def),
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {old_rv}"
                ),
            ));
        }
        let grace = o
            .grace_period
            .or_else(|| strategy::default_grace_period(ctx.def, &old))
            .unwrap_or(0);
        let mut new = old.clone();
        let being_deleted = old["metadata"]["deletionTimestamp"].is_string();
        let mut finalizers: Vec<Value> = old["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !being_deleted
            && let Some(f) = propagation_finalizer(o)
            && !finalizers.iter().any(|x| x == f)
        {
            finalizers.push(json!(f));
        }
        let pending = !finalizers.is_empty()
            || strategy::has_pending_spec_finalizers(ctx.def, &old)
            || grace > 0;
        if !pending {
            if o.dry_run {
                return Ok(Outcome::Deleted(old));
            }
            match app
                .registry
                .delete(ctx.def, ns, name, kv.mod_revision)
                .await?
            {
                Ok(deleted) => {
                    strategy::release(&app.registry, ctx.def, &deleted);
                    return Ok(Outcome::Deleted(deleted));
                }
                Err(_) => continue,
            }
        }
        let now = chrono::Utc::now();
        {
            let md = meta::metadata_mut(&mut new);
            let shorter = md
                .get("deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .is_none_or(|g| grace < g);
            if !being_deleted || shorter {
                let at = now + chrono::Duration::seconds(grace);
                md.insert(
                    "deletionTimestamp".into(),
                    json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                );
                md.insert("deletionGracePeriodSeconds".into(), json!(grace));
            }
            if !finalizers.is_empty() {
                md.insert("finalizers".into(), Value::Array(finalizers));
            }
        }
        strategy::on_graceful_delete(ctx.def, &mut new);
        if strategy::tracks_generation(ctx.def) && !being_deleted {
            let g = new["metadata"]["generation"].as_i64().unwrap_or(1);
            meta::metadata_mut(&mut new).insert("generation".into(), json!(g + 1));
        }
        if new == old || o.dry_run {
            return Ok(Outcome::Pending(new));
        }
        match app.registry.update(ctx.def, new, kv.mod_revision).await? {
            Ok(updated) => return Ok(Outcome::Pending(updated)),
            Err(_) => continue,
        }
    }
}

fn answer(ctx: &Ctx, outcome: Outcome, o: &DeleteOptions) -> Resp {
    match outcome {
        Outcome::Pending(obj) => {
            let code = if o.orphan_dependents == Some(false) {
                202
            } else {
                200
            };
            response::json(code, &to_client(ctx, obj))
        }
        Outcome::Deleted(obj) => {
            if strategy::returns_deleted_object(ctx.def) {
                response::json(200, &to_client(ctx, obj))
            } else {
                let mut details = json!({"name": meta::name(&obj)});
                if !ctx.def.group.is_empty() {
                    details["group"] = json!(ctx.def.group);
                }
                details["kind"] = json!(ctx.def.plural);
                details["uid"] = obj["metadata"]["uid"].clone();
                response::json(200, &success_status(Some(details)))
            }
        }
    }
}

pub async fn delete(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let o = options(ctx, &bytes)?;
    let outcome = delete_one(app, ctx, ctx.name(), &o).await?;
    Ok(answer(ctx, outcome, &o))
}

pub async fn delete_collection(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    // Upstream serves deletecollection of a namespaced resource only on
    // its namespaced path.
    if ctx.def.namespaced && ctx.info.namespace.is_none() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let o = options(ctx, &bytes)?;
    let filter = Filter::from_ctx(ctx)?;
    let keep = |obj: &Value| filter.matches(ctx, obj);
    let listed = app
        .registry
        .list(ctx.def, ctx.namespace(), &ListOptions::default(), &keep)
        .await?;
    let mut items = Vec::new();
    for obj in listed.items {
        let name = meta::name(&obj).to_string();
        match delete_one(app, ctx, &name, &o).await {
            Ok(Outcome::Deleted(d)) | Ok(Outcome::Pending(d)) => items.push(to_client(ctx, d)),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(response::json(
        200,
        &json!({
            "kind": ctx.def.list_kind,
            "apiVersion": ctx.api_version(),
            "metadata": {"resourceVersion": listed.revision.to_string()},
            "items": items,
        }),
    ))
}
