//! The OpenAPI documents kube-apiserver serves, built from the resource
//! catalogue and k8s-openapi's schemas:
//!
//! - `/openapi/v2`: one Swagger 2.0 document, as JSON and in the gnostic
//!   protobuf encoding kubectl asks for;
//! - `/openapi/v3`: an index of group-versions, and one OpenAPI 3.0 document
//!   per group-version (`/openapi/v3/apis/apps/v1?hash=...`).
//!
//! kubectl 1.32 reads them for `kubectl explain` (v3), to decide whether the
//! server validates fields itself (the `fieldValidation` parameter of the
//! kind's PATCH operation in the v3 document of its group-version), for
//! client-side apply's strategic merge patch (the patch extensions of the v3
//! schemas, falling back to v2), and for client-side validation of
//! `kind: List` manifests (v2, protobuf).
//!
//! Nothing is built at start-up: [`OpenApi::global`] builds every document
//! on first use and keeps them; [`prebuild_in_background`] starts that on a
//! thread of its own so the first client does not wait.
//!
//! # Serving (what kube-apiserver answers)
//!
//! - `GET /openapi/v2`: pick the encoding with [`v2_format_for_accept`]
//!   (`None` is 406); answer [`OpenApi::v2`]'s body with
//!   `Content-Type: `[`V2Format::content_type`], `ETag: "<hash>"` (quoted),
//!   `Vary: Accept`, and 304 to a matching `If-None-Match`. kubectl sends
//!   `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
//!   and decodes the body as protobuf whatever the content type says.
//! - `GET /openapi/v3`: [`OpenApi::v3_index`], `Content-Type:
//!   application/json`, `ETag: "<`[`OpenApi::v3_index_hash`]`>"`, 304 to a
//!   matching `If-None-Match`; no `Cache-Control`.
//! - `GET /openapi/v3/<gv>` (`api/v1`, `apis/apps/v1`): unknown group-version
//!   404. `Accept` must allow `application/json` (`*/*`, `application/*`,
//!   missing header); a protobuf-only `Accept` is 406. Always `Content-Type:
//!   application/json`, `ETag: "<hash>"`, `Vary: Accept`, 304 to a matching
//!   `If-None-Match`. With a `hash` query parameter: if it differs from the
//!   document's hash, 301 to `/openapi/v3/<gv>?hash=<hash>`; if it matches,
//!   also `Cache-Control: public, immutable` and `Expires` one year ahead
//!   (kubectl's disk cache then never asks again). Without `hash`, no
//!   `Cache-Control`.

mod definitions;
mod kinds;
mod metrics;
mod params;
mod paths;
pub mod proto;
mod v3;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;
use rkube_api::catalogue::ResourceDef;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

/// Content type of the Swagger 2.0 document as JSON.
pub const V2_JSON: &str = "application/json";
/// Content type of the protobuf encoding, as served.
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// The older spelling of the protobuf content type, which kubectl 1.32
/// still sends in `Accept`.
pub const V2_PROTOBUF_AT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// Content type of the v3 index and documents.
pub const V3_JSON: &str = "application/json";

/// The encodings `/openapi/v2` can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Format {
    Json,
    Protobuf,
}

impl V2Format {
    pub fn content_type(self) -> &'static str {
        match self {
            V2Format::Json => V2_JSON,
            V2Format::Protobuf => V2_PROTOBUF,
        }
    }
}

/// Picks the encoding of `/openapi/v2` for an `Accept` header, as
/// kube-apiserver does: the first acceptable media range wins (q-values
/// aside); `None` means 406 Not Acceptable. A missing header means JSON.
pub fn v2_format_for_accept(accept: Option<&str>) -> Option<V2Format> {
    let accept = accept
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("*/*");
    for range in accept.split(',') {
        let media = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let (ty, sub) = media.split_once('/').unwrap_or((media.as_str(), ""));
        if ty != "application" && ty != "*" {
            continue;
        }
        match sub {
            "json" | "*" => return Some(V2Format::Json),
            "com.github.proto-openapi.spec.v2@v1.0+protobuf"
            | "com.github.proto-openapi.spec.v2.v1.0+protobuf" => return Some(V2Format::Protobuf),
            _ => {}
        }
    }
    None
}

/// Starts building [`OpenApi::global`] on a background thread and returns
/// at once; a request that comes first waits for the same build.
pub fn prebuild_in_background() {
    let spawned = std::thread::Builder::new()
        .name("openapi-build".into())
        .spawn(|| {
            OpenApi::global();
        });
    // Without a thread, the first request builds instead.
    drop(spawned);
}

/// One served document with its hash (the ETag, without quotes).
#[derive(Debug, Clone)]
pub struct Document {
    pub body: Bytes,
    pub hash: String,
}

impl Document {
    fn new(body: Vec<u8>) -> Document {
        let hash = hash(&body);
        Document {
            body: Bytes::from(body),
            hash,
        }
    }
}

/// Upstream's hash of a document: SHA-512, upper-case hex.
fn hash(body: &[u8]) -> String {
    Sha512::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Every OpenAPI document of this server.
#[derive(Debug)]
pub struct OpenApi {
    v2_json: Document,
    v2_protobuf: Document,
    v3_index: Document,
    v3: BTreeMap<String, Document>,
}

impl OpenApi {
    /// The documents of the built-in catalogue, built on first use.
    pub fn global() -> &'static OpenApi {
        static GLOBAL: OnceLock<OpenApi> = OnceLock::new();
        GLOBAL.get_or_init(OpenApi::build)
    }

    /// Builds every document from the catalogue.
    pub fn build() -> OpenApi {
        OpenApi::build_for(rkube_api::catalogue::RESOURCES)
    }

    /// Builds every document for these resources.
    pub fn build_for(resources: &[ResourceDef]) -> OpenApi {
        let info = json!({"title": "Kubernetes", "version": rkube_api::KUBERNETES_VERSION});
        let mut defs = definitions::DefinitionsBuilder::new();
        let paths = paths::build(&mut defs, resources);
        let defs = defs.finish();

        let mut all_paths = serde_json::Map::new();
        for gv_paths in paths.values() {
            for (path, item) in gv_paths {
                all_paths.insert(path.clone(), item.clone());
            }
        }
        let v2 = json!({
            "swagger": "2.0",
            "info": info,
            "paths": all_paths,
            "definitions": defs,
            "securityDefinitions": {
                "BearerToken": {
                    "type": "apiKey",
                    "name": "authorization",
                    "in": "header",
                    "description": "Bearer token authentication",
                },
            },
            "security": [{"BearerToken": []}],
        });
        let v2_protobuf = Document::new(proto::encode(&v2));
        let v2_json = Document::new(to_vec(&v2));

        let mut v3 = BTreeMap::new();
        let mut index = serde_json::Map::new();
        for (key, gv_paths) in &paths {
            let doc = Document::new(to_vec(&v3::document(gv_paths, &defs, &info)));
            index.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", doc.hash)}),
            );
            v3.insert(key.clone(), doc);
        }
        let v3_index = Document::new(to_vec(&json!({"paths": index})));
        OpenApi {
            v2_json,
            v2_protobuf,
            v3_index,
            v3,
        }
    }

    /// `/openapi/v2` as JSON.
    pub fn v2_json(&self) -> &Bytes {
        &self.v2_json.body
    }

    /// `/openapi/v2` in the gnostic protobuf encoding.
    pub fn v2_protobuf(&self) -> Option<&Bytes> {
        Some(&self.v2_protobuf.body)
    }

    /// The document and ETag (unquoted) `/openapi/v2` answers with.
    pub fn v2(&self, format: V2Format) -> &Document {
        match format {
            V2Format::Json => &self.v2_json,
            V2Format::Protobuf => &self.v2_protobuf,
        }
    }

    /// `/openapi/v3`: `{"paths": {"api/v1": {"serverRelativeURL": ...}}}`.
    pub fn v3_index(&self) -> &Bytes {
        &self.v3_index.body
    }

    /// ETag (unquoted) of the v3 index.
    pub fn v3_index_hash(&self) -> &str {
        &self.v3_index.hash
    }

    /// `/openapi/v3/<gv_path>` (`api/v1`, `apis/apps/v1`) and its hash, the
    /// value of the `hash` query parameter of its URL and its ETag.
    pub fn v3_document(&self, gv_path: &str) -> Option<(&Bytes, &str)> {
        let gv_path = gv_path.trim_matches('/');
        self.v3.get(gv_path).map(|d| (&d.body, d.hash.as_str()))
    }

    /// The group-version paths of the v3 index.
    pub fn v3_paths(&self) -> impl Iterator<Item = &str> {
        self.v3.keys().map(String::as_str)
    }
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert_eq!(v2_format_for_accept(None), Some(V2Format::Json));
        assert_eq!(
            v2_format_for_accept(Some("application/json")),
            Some(V2Format::Json)
        );
        assert_eq!(
            v2_format_for_accept(Some(V2_PROTOBUF_AT)),
            Some(V2Format::Protobuf)
        );
        assert_eq!(
            v2_format_for_accept(Some(
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            )),
            Some(V2Format::Protobuf)
        );
        assert_eq!(
            v2_format_for_accept(Some(
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json"
            )),
            Some(V2Format::Protobuf)
        );
        assert_eq!(v2_format_for_accept(Some("*/*")), Some(V2Format::Json));
        assert_eq!(v2_format_for_accept(Some("text/html")), None);
    }
}
