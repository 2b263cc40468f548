//! Reading and decoding request bodies.

use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use rkube_api::status::{ApiError, ApiResult};
use serde_json::Value;

use super::Ctx;
use crate::http::negotiation::{BodyFormat, body_format};

/// kube-apiserver refuses request bodies over 3 MiB.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub async fn read(body: Body) -> ApiResult<Bytes> {
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::too_large("limit is 3145728"))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "error reading request body: {e}"
        ))),
    }
}

/// Decode an object body (create, update) in whatever encoding it came.
pub fn decode_object(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<Value> {
    let value = match body_format(headers)? {
        BodyFormat::Json => parse_json(bytes)?,
        BodyFormat::Yaml => parse_yaml(bytes)?,
        BodyFormat::Protobuf => {
            rkube_proto::decode_request(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        other => {
            return Err(ApiError::unsupported_media_type(&format!("{other:?}")));
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is not a JSON object".to_string(),
        ));
    }
    Ok(value)
}

pub fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })
}

pub fn parse_yaml(bytes: &[u8]) -> ApiResult<Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the YAML body is not valid UTF-8"))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
}

/// Check the body's apiVersion and kind against the path, filling them in
/// when absent as upstream's decoder does with the path's defaults.
pub fn check_type(ctx: &Ctx, obj: &mut Value, kind: &str) -> ApiResult<()> {
    let expected_gv = ctx.api_version();
    let map = obj.as_object_mut().expect("checked to be an object");
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), Value::String(expected_gv.clone()));
        }
        Some(gv) if gv == expected_gv => {}
        Some(gv) => {
            // Another served version of the same group is converted.
            let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
            if group != ctx.def.group || !ctx.def.serves(version) {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({gv}) does not match the expected API version ({expected_gv})"
                )));
            }
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), Value::String(kind.to_string()));
        }
        Some(k) if k == kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {kind}): {k} is not {kind}"
            )));
        }
    }
    Ok(())
}
