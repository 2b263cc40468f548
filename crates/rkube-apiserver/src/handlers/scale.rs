//! The scale subresource: an `autoscaling/v1` Scale view of a workload's
//! replicas, which `kubectl scale` and autoscalers write.

use rkube_api::status::{ApiError, ApiResult};
use serde_json::{Value, json};

use super::{App, Ctx, Resp, body, write};
use crate::http::negotiation::{BodyFormat, body_format};
use crate::http::response;
use crate::registry::store::qualified;

/// A label selector object as the string form Scale carries.
fn selector_string(sel: &Value) -> String {
    let mut parts = Vec::new();
    for (k, v) in sel["matchLabels"].as_object().into_iter().flatten() {
        parts.push(format!("{k}={}", v.as_str().unwrap_or("")));
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match e["operator"].as_str().unwrap_or("") {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.sort();
    parts.join(",")
}

fn to_scale(obj: &Value) -> Value {
    let md = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": md["name"],
            "namespace": md["namespace"],
            "uid": md["uid"],
            "resourceVersion": md["resourceVersion"],
            "creationTimestamp": md["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&obj["spec"]["selector"]),
        },
    })
}

pub async fn get(app: &App, ctx: &Ctx) -> ApiResult<Resp> {
    let obj = app
        .registry
        .get(ctx.def, ctx.namespace(), ctx.name())
        .await?;
    Ok(response::json(200, &to_scale(&obj)))
}

fn replicas_of(scale: &Value, name: &str) -> ApiResult<i64> {
    let r = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    if r < 0 {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            vec![rkube_api::status::Cause::invalid(
                "spec.replicas",
                &json!(r),
                "must be greater than or equal to 0",
            )],
        ));
    }
    Ok(r)
}

async fn set_replicas(
    app: &App,
    ctx: &Ctx,
    mut compute: impl FnMut(&Value) -> ApiResult<(Option<String>, i64)>,
) -> ApiResult<Resp> {
    let name = ctx.name().to_string();
    let updated = write::update_with(
        app,
        ctx,
        None,
        |old| {
            let (rv, replicas) = compute(&to_scale(old))?;
            if let Some(rv) = rv
                && !rv.is_empty()
                && Some(rv.as_str()) != old["metadata"]["resourceVersion"].as_str()
            {
                return Err(ApiError::modified_conflict(qualified(ctx.def), &name));
            }
            let mut new = old.clone();
            new["spec"]["replicas"] = json!(replicas);
            Ok(new)
        },
        false,
    )
    .await?;
    Ok(response::json(200, &to_scale(&updated)))
}

pub async fn update(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let scale = body::decode_object(&ctx.headers, &bytes)?;
    let name = ctx.name().to_string();
    set_replicas(app, ctx, |_| {
        let rv = scale["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        Ok((rv, replicas_of(&scale, &name)?))
    })
    .await
}

pub async fn patch(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let format = body_format(&ctx.headers)?;
    let doc = body::parse_json(&bytes)?;
    let name = ctx.name().to_string();
    set_replicas(app, ctx, |current| {
        let mut scale = current.clone();
        match format {
            // A Scale has no lists, so a strategic merge patch is a merge patch.
            BodyFormat::MergePatch | BodyFormat::StrategicMergePatch => {
                json_patch::merge(&mut scale, &doc)
            }
            BodyFormat::JsonPatch => {
                let ops: json_patch::Patch = serde_json::from_value(doc.clone())
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                json_patch::patch(&mut scale, &ops)
                    .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
            }
            _ => {
                return Err(ApiError::unsupported_media_type("apply patch on scale"));
            }
        }
        let rv = doc["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        Ok((rv, replicas_of(&scale, &name)?))
    })
    .await
}
