//! Content negotiation: which encoding a request body is in, and which
//! representation the client wants back (the object, a Table, or
//! PartialObjectMetadata).

use http::HeaderMap;
use rkube_api::status::ApiError;

/// The encoding of a request body, from its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
    Protobuf,
    MergePatch,
    JsonPatch,
    StrategicMergePatch,
    ApplyPatch,
}

pub fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let raw = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Ok(match media.as_str() {
        "application/json" | "" | "*/*" => BodyFormat::Json,
        "application/yaml" => BodyFormat::Yaml,
        "application/vnd.kubernetes.protobuf" => BodyFormat::Protobuf,
        "application/merge-patch+json" => BodyFormat::MergePatch,
        "application/json-patch+json" => BodyFormat::JsonPatch,
        "application/strategic-merge-patch+json" => BodyFormat::StrategicMergePatch,
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => BodyFormat::ApplyPatch,
        _ => return Err(ApiError::unsupported_media_type(raw)),
    })
}

/// What the client asked to get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    Object,
    Table,
    PartialObjectMetadata,
    PartialObjectMetadataList,
}

/// Reads the Accept header the way kube-apiserver does: the first media
/// range it can serve wins. Protobuf responses are not served yet, so a
/// client that accepts only protobuf gets 406.
pub fn representation(headers: &HeaderMap) -> Result<Representation, ApiError> {
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.trim().is_empty() {
        return Ok(Representation::Object);
    }
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut as_ = None;
        let mut g = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                match k.trim() {
                    "as" => as_ = Some(v.trim().to_string()),
                    "g" => g = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let json_like = matches!(
            media.as_str(),
            "application/json" | "application/*" | "*/*" | "application/yaml"
        );
        if !json_like {
            continue;
        }
        match (as_.as_deref(), g.as_deref()) {
            (None, _) => return Ok(Representation::Object),
            (Some("Table"), Some("meta.k8s.io")) => return Ok(Representation::Table),
            (Some("PartialObjectMetadata"), Some("meta.k8s.io")) => {
                return Ok(Representation::PartialObjectMetadata);
            }
            (Some("PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                return Ok(Representation::PartialObjectMetadataList);
            }
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io (got {accept})"
    )))
}

/// Whether the client wants YAML back.
pub fn wants_yaml(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|a| a.trim_start().starts_with("application/yaml"))
        .unwrap_or(false)
}
