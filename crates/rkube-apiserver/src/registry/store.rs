//! The generic store: how objects are keyed, encoded and versioned, for
//! every resource alike. Values are stored without
//! `metadata.resourceVersion`; it is the key's modification revision,
//! filled in on every read, exactly as kube-apiserver does over etcd.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use rkube_api::catalogue::ResourceDef;
use rkube_api::status::{ApiError, ApiResult, Qualified};
use rkube_store::{Backend, KeyValue, RangeRequest, StoreError, WriteOutcome};
use serde_json::{Value, json};

use super::allocator::ServiceAllocator;

/// Shared state of the storage side of the API server.
pub struct Registry {
    pub backend: Arc<dyn Backend>,
    pub services: ServiceAllocator,
}

pub fn qualified(def: &ResourceDef) -> Qualified<'static> {
    Qualified {
        group: def.group,
        resource: def.plural,
    }
}

/// The storage key of one object.
pub fn object_key(def: &ResourceDef, namespace: Option<&str>, name: &str) -> String {
    match (def.namespaced, namespace) {
        (true, Some(ns)) => format!("{}{}/{}", def.storage_prefix(), ns, name),
        _ => format!("{}{}", def.storage_prefix(), name),
    }
}

/// The prefix under which a list or watch looks.
pub fn collection_prefix(def: &ResourceDef, namespace: Option<&str>) -> String {
    match (def.namespaced, namespace) {
        (true, Some(ns)) => format!("{}{}/", def.storage_prefix(), ns),
        _ => def.storage_prefix(),
    }
}

pub fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Compacted { requested, compacted } => ApiError::expired(format!(
            "The resourceVersion for the provided list is too old (requested {requested}, oldest available {compacted})."
        )),
        StoreError::FutureRevision { requested, current } => ApiError::timeout(format!(
            "Too large resource version: {requested}, current: {current}"
        ))
        .with_details(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1})),
        StoreError::WatchLagged => ApiError::gone("watch fell behind"),
        StoreError::Unavailable(m) => ApiError::service_unavailable(m),
        StoreError::Internal(m) => ApiError::internal(m),
    }
}

/// The object a stored value holds, with its resourceVersion.
pub fn decode(kv: &KeyValue) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is corrupt: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

pub fn set_resource_version(obj: &mut Value, rv: i64) {
    rkube_api::meta::metadata_mut(obj)
        .insert("resourceVersion".to_string(), Value::String(rv.to_string()));
}

/// The bytes to store: the object without its resourceVersion.
pub fn encode(obj: &Value) -> Bytes {
    // Only copy the object when there is a resourceVersion to leave out.
    if obj.pointer("/metadata/resourceVersion").is_none() {
        return Bytes::from(serde_json::to_vec(obj).unwrap_or_default());
    }
    let mut copy = obj.clone();
    if let Some(md) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("resourceVersion");
    }
    Bytes::from(serde_json::to_vec(&copy).unwrap_or_default())
}

/// A resourceVersion the client sent, as a revision.
pub fn parse_resource_version(rv: &str) -> ApiResult<i64> {
    rv.parse::<i64>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv}")))
}

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub limit: usize,
    pub continue_token: Option<String>,
    /// Read at exactly this revision (resourceVersionMatch=Exact or a
    /// continue token); 0 for the current state.
    pub revision: i64,
}

/// One page of a list, whatever its items are.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub revision: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ListResult {
    pub items: Vec<Value>,
    pub revision: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

/// Continue tokens carry the snapshot revision and the last key returned,
/// relative to the resource prefix, as upstream's do.
fn encode_continue(revision: i64, last_key_suffix: &str) -> String {
    let token =
        json!({"v": "meta.k8s.io/v1", "rv": revision, "start": format!("{last_key_suffix}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(i64, String)> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(bad());
    }
    let rv = v["rv"].as_i64().filter(|r| *r > 0).ok_or_else(bad)?;
    let start = v["start"].as_str().ok_or_else(bad)?;
    let start = start.strip_suffix('\u{0}').unwrap_or(start);
    if start.contains("..") || start.starts_with('/') {
        return Err(bad());
    }
    Ok((rv, start.to_string()))
}

impl Registry {
    pub fn new(backend: Arc<dyn Backend>, services: ServiceAllocator) -> Self {
        Registry { backend, services }
    }

    pub async fn get(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        self.get_kv(def, namespace, name)
            .await?
            .map(|kv| decode(&kv))
            .transpose()?
            .ok_or_else(|| ApiError::not_found(qualified(def), name))
    }

    pub async fn get_kv(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Option<KeyValue>> {
        self.backend
            .get(&object_key(def, namespace, name), 0)
            .await
            .map_err(store_error)
    }

    /// A page of objects (all of them when limit is 0), filtered by
    /// `keep`. Filtering happens before the limit counts, as upstream does,
    /// so a page may need several backend reads.
    pub async fn list(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        opts: &ListOptions,
        keep: &(dyn Fn(&Value) -> bool + Sync),
    ) -> ApiResult<ListResult> {
        let page = self
            .list_with(def, namespace, opts, |kv| {
                let obj = decode(kv)?;
                Ok(keep(&obj).then_some(obj))
            })
            .await?;
        Ok(ListResult {
            items: page.items,
            revision: page.revision,
            continue_token: page.continue_token,
            remaining: page.remaining,
        })
    }

    /// The paging loop of every list: `render` turns each stored object
    /// into an item, or None to leave it out.
    pub async fn list_with<T>(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        opts: &ListOptions,
        mut render: impl FnMut(&KeyValue) -> ApiResult<Option<T>>,
    ) -> ApiResult<Page<T>> {
        let base = def.storage_prefix();
        let prefix = collection_prefix(def, namespace);
        let (mut revision, mut start_after) = match &opts.continue_token {
            Some(token) => {
                let (rv, start) = decode_continue(token)?;
                (rv, Some(format!("{base}{start}")))
            }
            None => (opts.revision, None),
        };
        let mut items = Vec::new();
        loop {
            let want = if opts.limit == 0 {
                0
            } else {
                opts.limit - items.len()
            };
            let page = self
                .backend
                .range(RangeRequest {
                    prefix: prefix.clone(),
                    start_after: start_after.clone(),
                    limit: want,
                    revision,
                    count_only: false,
                })
                .await
                .map_err(|e| match e {
                    StoreError::Compacted { .. } if opts.continue_token.is_some() => ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    ),
                    other => store_error(other),
                })?;
            revision = page.revision;
            let last_key = page.kvs.last().map(|kv| kv.key.clone());
            for kv in &page.kvs {
                if let Some(item) = render(kv)? {
                    items.push(item);
                }
            }
            let full = opts.limit != 0 && items.len() >= opts.limit;
            if !page.more {
                return Ok(Page {
                    items,
                    revision,
                    continue_token: None,
                    remaining: None,
                });
            }
            start_after = last_key;
            if full {
                let last = start_after.clone().unwrap_or_default();
                let suffix = last.strip_prefix(&base).unwrap_or(&last).to_string();
                let remaining = page.count - page.kvs.len() as i64;
                return Ok(Page {
                    items,
                    revision,
                    continue_token: Some(encode_continue(revision, &suffix)),
                    remaining: Some(remaining.max(1)),
                });
            }
        }
    }

    /// Store a new object. Returns it with its resourceVersion.
    pub async fn create(&self, def: &ResourceDef, mut obj: Value) -> ApiResult<Value> {
        let name = rkube_api::meta::name(&obj).to_string();
        let ns = rkube_api::meta::namespace(&obj).to_string();
        let key = object_key(
            def,
            Some(&ns).filter(|n| !n.is_empty()).map(|s| s.as_str()),
            &name,
        );
        match self
            .backend
            .create(&key, encode(&obj))
            .await
            .map_err(store_error)?
        {
            WriteOutcome::Written { revision, .. } => {
                set_resource_version(&mut obj, revision);
                Ok(obj)
            }
            WriteOutcome::Conflict { .. } => Err(ApiError::already_exists(qualified(def), &name)),
        }
    }

    /// Replace an object if it is still at `expected` revision.
    pub async fn update(
        &self,
        def: &ResourceDef,
        mut obj: Value,
        expected: i64,
    ) -> ApiResult<Result<Value, Option<KeyValue>>> {
        let name = rkube_api::meta::name(&obj).to_string();
        let ns = rkube_api::meta::namespace(&obj).to_string();
        let key = object_key(def, Some(ns.as_str()).filter(|n| !n.is_empty()), &name);
        match self
            .backend
            .update(&key, encode(&obj), expected)
            .await
            .map_err(store_error)?
        {
            WriteOutcome::Written { revision, .. } => {
                set_resource_version(&mut obj, revision);
                Ok(Ok(obj))
            }
            WriteOutcome::Conflict { current } => Ok(Err(current)),
        }
    }

    /// Remove an object if it is still at `expected` revision. Returns the
    /// removed object (with the delete's revision) or the current state.
    pub async fn delete(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        name: &str,
        expected: i64,
    ) -> ApiResult<Result<Value, Option<KeyValue>>> {
        let key = object_key(def, namespace, name);
        match self
            .backend
            .delete(&key, expected)
            .await
            .map_err(store_error)?
        {
            WriteOutcome::Written { revision, previous } => {
                let mut obj = match previous {
                    Some(kv) => decode(&kv)?,
                    None => json!({}),
                };
                set_resource_version(&mut obj, revision);
                Ok(Ok(obj))
            }
            WriteOutcome::Conflict { current } => Ok(Err(current)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(42, "default/web-1");
        assert_eq!(
            decode_continue(&t).unwrap(),
            (42, "default/web-1".to_string())
        );
        assert!(decode_continue("garbage").is_err());
    }
}
