//! Reading and decoding request bodies.

use std::collections::HashSet;

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

/// `fieldValidation`: what to do with unknown and duplicate fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    /// The default: the fields are dropped and each is a Warning header.
    Warn,
    Strict,
}

/// The request's `fieldValidation`; an unknown value is refused as
/// upstream validates the `{Create,Update,Patch}Options`.
pub fn field_validation(ctx: &Ctx, options_kind: &str) -> ApiResult<FieldValidation> {
    match ctx.query.field_validation.as_deref() {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some(other) => Err(ApiError::invalid(
            "meta.k8s.io",
            options_kind,
            "",
            vec![rkube_api::status::Cause::not_supported(
                "fieldValidation",
                &Value::String(other.to_string()),
                &["", "Ignore", "Strict", "Warn"],
            )],
        )),
    }
}

/// Removes the fields of `obj` (a `def` object) that the schema does not
/// have, returning their paths (`spec.template.spec.containers[0].foo`),
/// as upstream's decoder drops them.
pub fn drop_unknown_fields(obj: &mut Value, def: &'static str) -> Vec<String> {
    let mut out = Vec::new();
    drop_unknown(obj, def, &mut String::new(), &mut out);
    out
}

fn drop_unknown(obj: &mut Value, def: &'static str, path: &mut String, out: &mut Vec<String>) {
    use rkube_api::patch::{BUILTIN, Child, SchemaLookup};
    // Free-form and unknown definitions have no list: anything goes below.
    let Some(props) = BUILTIN.field_names(def) else {
        return;
    };
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let prefix = path.len();
    let mut unknown = Vec::new();
    for (k, v) in map.iter_mut() {
        if props.binary_search(&k.as_str()).is_err() {
            unknown.push(k.clone());
            continue;
        }
        let Some(Child::Def(child)) = BUILTIN.field(def, k).map(|f| f.child) else {
            continue;
        };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
        match v {
            Value::Object(_) => drop_unknown(v, child, path, out),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    drop_unknown(item, child, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
        path.truncate(prefix);
    }
    for k in unknown {
        map.remove(&k);
        out.push(if path.is_empty() {
            k
        } else {
            format!("{path}.{k}")
        });
    }
}

/// Paths of keys repeated within one JSON object of the body (the last
/// value is the one kept by the parser).
pub fn duplicate_fields(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let _ = serde::de::DeserializeSeed::deserialize(
        DupSeed {
            path: String::new(),
            out: &mut out,
        },
        &mut de,
    );
    out
}

struct DupSeed<'a> {
    path: String,
    out: &'a mut Vec<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for DupSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DupSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                self.out.push(path.clone());
            }
            map.next_value_seed(DupSeed {
                path,
                out: self.out,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(DupSeed {
                path: format!("{}[{i}]", self.path),
                out: self.out,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The strict decoder's findings, worded as upstream's.
pub fn field_problems(unknown: &[String], duplicate: &[String]) -> Vec<String> {
    duplicate
        .iter()
        .map(|p| format!("duplicate field \"{p}\""))
        .chain(unknown.iter().map(|p| format!("unknown field \"{p}\"")))
        .collect()
}

/// Applies the directive to what was found: Strict fails with
/// `strict decoding error: ...` (`prefix` before it for bodies that are
/// whole objects), Warn gives the Warning texts, Ignore nothing.
pub fn enforce(
    directive: FieldValidation,
    problems: Vec<String>,
    prefix: Option<String>,
) -> ApiResult<Vec<String>> {
    if problems.is_empty() {
        return Ok(Vec::new());
    }
    match directive {
        FieldValidation::Ignore => Ok(Vec::new()),
        FieldValidation::Warn => Ok(problems),
        FieldValidation::Strict => {
            let message = format!("strict decoding error: {}", problems.join(", "));
            Err(ApiError::bad_request(match prefix {
                Some(p) => format!("{p}{message}"),
                None => message,
            }))
        }
    }
}

/// Adds `Warning: 299 - "<text>"` headers to a response.
pub fn add_warnings(resp: &mut super::Resp, warnings: &[String]) {
    for w in warnings {
        let quoted = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = http::HeaderValue::from_str(&format!("299 - \"{quoted}\"")) {
            resp.headers_mut().append(http::header::WARNING, v);
        }
    }
}
