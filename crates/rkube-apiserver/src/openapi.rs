//! `/openapi/v2` and `/openapi/v3`: serving the documents `rkube-openapi`
//! builds from the catalogue, with the caching headers kubectl relies on.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rkube_api::status::ApiError;
use rkube_openapi::OpenApi;

use crate::http::response;

/// The documents, built once off the async runtime (the first build takes
/// a moment).
async fn documents() -> &'static OpenApi {
    tokio::task::spawn_blocking(OpenApi::global)
        .await
        .expect("openapi build does not panic")
}

fn etag_matches(headers: &HeaderMap, hash: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_matches('"') == hash))
}

fn document(
    body: &bytes::Bytes,
    content_type: &'static str,
    hash: &str,
    headers: &HeaderMap,
) -> Response {
    let mut resp = if etag_matches(headers, hash) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::from(body.clone()));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    if let Ok(v) = HeaderValue::from_str(&format!("\"{hash}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

pub async fn v2(headers: &HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Some(format) = rkube_openapi::v2_format_for_accept(accept) else {
        return response::error(ApiError::not_acceptable(
            "only application/json and application/com.github.proto-openapi.spec.v2.v1.0+protobuf are served",
        ));
    };
    let docs = documents().await;
    let doc = docs.v2(format);
    document(&doc.body, format.content_type(), &doc.hash, headers)
}

pub async fn v3_index(headers: &HeaderMap) -> Response {
    let docs = documents().await;
    document(
        docs.v3_index(),
        rkube_openapi::V3_JSON,
        docs.v3_index_hash(),
        headers,
    )
}

pub async fn v3_group_version(
    gv: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<Response> {
    let docs = documents().await;
    let (body, hash) = docs.v3_document(gv)?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !accept.is_empty()
        && !accept.split(',').any(|r| {
            let m = r.split(';').next().unwrap_or("").trim();
            m == "application/json" || m == "*/*" || m == "application/*"
        })
    {
        return Some(response::error(ApiError::not_acceptable(
            "only application/json is served for OpenAPI v3",
        )));
    }
    let requested = query
        .into_iter()
        .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
        .find(|(k, _)| k == "hash")
        .map(|(_, v)| v.into_owned());
    match requested {
        Some(h) if h != hash => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(v) = HeaderValue::from_str(&format!("/openapi/v3/{gv}?hash={hash}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            Some(r)
        }
        Some(_) => {
            let mut r = document(body, rkube_openapi::V3_JSON, hash, headers);
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
            let expires = (chrono::Utc::now() + chrono::Duration::days(365))
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            if let Ok(v) = HeaderValue::from_str(&expires) {
                r.headers_mut().insert(header::EXPIRES, v);
            }
            Some(r)
        }
        None => Some(document(body, rkube_openapi::V3_JSON, hash, headers)),
    }
}
