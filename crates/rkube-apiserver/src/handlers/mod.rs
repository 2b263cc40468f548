//! Resource handlers, one file per kind of verb, all generic over the
//! catalogue. `dispatch` turns a request into a verb and calls the one
//! handler that serves it.

mod body;
mod delete;
mod metrics;
mod read;
mod scale;
mod simulated;
mod table;
mod token;
mod watch;
mod write;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, Method};
use rkube_api::catalogue::{self, ResourceDef};
use rkube_api::status::{ApiError, ApiResult};

use crate::auth::UserInfo;
use crate::http::query::Query;
use crate::http::request_info::{self, RequestInfo};
use crate::http::response;
use crate::registry::Registry;

/// Everything a handler needs, shared by all requests.
pub struct App {
    pub registry: Registry,
    /// Issues TokenRequest tokens (serviceaccounts/token).
    pub service_accounts: Option<Arc<crate::auth::serviceaccount::ServiceAccountTokens>>,
}

/// One resource request, parsed.
pub struct Ctx {
    pub def: &'static ResourceDef,
    pub info: RequestInfo,
    pub query: Query,
    pub headers: HeaderMap,
    pub user: UserInfo,
    /// The version the client addressed (objects are converted to it).
    pub version: String,
}

impl Ctx {
    pub fn namespace(&self) -> Option<&str> {
        if self.def.namespaced {
            self.info.namespace.as_deref()
        } else {
            None
        }
    }

    pub fn name(&self) -> &str {
        self.info.name.as_deref().unwrap_or("")
    }

    pub fn api_version(&self) -> String {
        self.def.group_version(&self.version)
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
    }
}

pub async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    match route(app, req).await {
        Ok(resp) => resp,
        Err(e) => response::error(e),
    }
}

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .with_details(serde_json::json!({}))
}

async fn route(app: Arc<App>, req: Request) -> ApiResult<Response> {
    let (parts, body) = req.into_parts();
    let info = request_info::parse(parts.uri.path()).ok_or_else(not_found_path)?;
    let def =
        catalogue::lookup(&info.group, &info.version, &info.resource).ok_or_else(not_found_path)?;
    if info.namespace.is_some() && !def.namespaced {
        return Err(not_found_path());
    }
    let query = Query::parse(parts.uri.query())?;
    let raw_query = parts.uri.query().map(str::to_string);
    let user = parts
        .extensions
        .get::<UserInfo>()
        .cloned()
        .unwrap_or_else(UserInfo::anonymous);
    let ctx = Ctx {
        def,
        version: info.version.clone(),
        info,
        query,
        headers: parts.headers,
        user,
    };
    let sub = ctx.info.subresource.clone();
    let has_name = ctx.info.name.is_some();
    let method = parts.method;
    if let Some(sub) = sub.as_deref()
        && def.subresource(sub).is_none()
    {
        return Err(not_found_path());
    }
    let verb_allowed = |verb: &str| -> ApiResult<()> {
        let allowed = match sub.as_deref() {
            Some(s) => def
                .subresource(s)
                .is_some_and(|sr| sr.verbs.contains(&verb)),
            None => def.has_verb(verb),
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            )
            .with_details(serde_json::json!({})))
        }
    };
    match (method, has_name) {
        (Method::GET, true) => {
            if ctx.query.watch || ctx.info.watch_prefix {
                verb_allowed("watch")?;
                return watch::watch(&app, ctx).await;
            }
            verb_allowed("get")?;
            match sub.as_deref() {
                Some("scale") => scale::get(&app, &ctx).await,
                s if simulated::handles(s) => {
                    simulated::reject(&app, &ctx, raw_query.as_deref()).await
                }
                _ if def.computed() => metrics::get(&app, &ctx).await,
                _ => read::get(&app, &ctx).await,
            }
        }
        (Method::GET, false) => {
            if ctx.query.watch || ctx.info.watch_prefix {
                verb_allowed("watch")?;
                watch::watch(&app, ctx).await
            } else {
                verb_allowed("list")?;
                if def.computed() {
                    metrics::list(&app, &ctx).await
                } else {
                    read::list(&app, &ctx).await
                }
            }
        }
        (Method::POST, false) => {
            verb_allowed("create")?;
            let bytes = body::read(body).await?;
            write::create(&app, &ctx, bytes).await
        }
        (Method::POST, true) => {
            verb_allowed("create")?;
            if simulated::handles(sub.as_deref()) {
                return simulated::reject(&app, &ctx, raw_query.as_deref()).await;
            }
            let bytes = body::read(body).await?;
            write::create_subresource(&app, &ctx, bytes).await
        }
        (Method::PUT, true) => {
            verb_allowed("update")?;
            let bytes = body::read(body).await?;
            match sub.as_deref() {
                Some("scale") => scale::update(&app, &ctx, bytes).await,
                _ => write::update(&app, &ctx, bytes).await,
            }
        }
        (Method::PATCH, true) => {
            verb_allowed("patch")?;
            let bytes = body::read(body).await?;
            match sub.as_deref() {
                Some("scale") => scale::patch(&app, &ctx, bytes).await,
                _ => write::patch(&app, &ctx, bytes).await,
            }
        }
        (Method::DELETE, true) => {
            verb_allowed("delete")?;
            let bytes = body::read(body).await?;
            delete::delete(&app, &ctx, bytes).await
        }
        (Method::DELETE, false) => {
            verb_allowed("deletecollection")?;
            let bytes = body::read(body).await?;
            delete::delete_collection(&app, &ctx, bytes).await
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )
        .with_details(serde_json::json!({}))),
    }
}

/// Body of a response.
pub type Resp = Response<Body>;

/// Create an object on behalf of the server itself (bootstrap), through
/// the same write path as a client's create. An object that already
/// exists is left alone.
pub async fn create_internal(
    app: &App,
    group: &str,
    version: &str,
    plural: &str,
    namespace: Option<&str>,
    obj: serde_json::Value,
) -> anyhow::Result<()> {
    let def = catalogue::lookup(group, version, plural)
        .ok_or_else(|| anyhow::anyhow!("{plural} is not in the catalogue"))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static("kube-apiserver"),
    );
    let ctx = Ctx {
        def,
        info: RequestInfo {
            group: group.into(),
            version: version.into(),
            namespace: namespace.map(str::to_string),
            resource: plural.into(),
            ..Default::default()
        },
        query: Query::default(),
        headers,
        user: UserInfo {
            name: "system:apiserver".into(),
            uid: String::new(),
            groups: vec!["system:masters".into()],
        },
        version: version.into(),
    };
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if app
        .registry
        .get_kv(def, namespace, &name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_some()
    {
        return Ok(());
    }
    let bytes = bytes::Bytes::from(serde_json::to_vec(&obj)?);
    match write::create(app, &ctx, bytes).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "AlreadyExists" => Ok(()),
        Err(e) => Err(anyhow::anyhow!("creating {plural}/{name}: {e}")),
    }
}
