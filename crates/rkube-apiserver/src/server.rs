//! The HTTPS server: our own TLS accept loop (so client certificates reach
//! authentication), then hyper's auto builder, which lets ALPN choose
//! HTTP/1.1 or HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rkube_api::status::ApiError;
use rkube_store::Backend;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::auth::{Authenticators, UserInfo, user_from_certificate};
use crate::discovery;
use crate::handlers::{self, App};
use crate::http::response;
use crate::registry::Registry;
use crate::registry::allocator::ServiceAllocator;

pub struct ServerConfig {
    pub bind: SocketAddr,
    pub tls: Arc<rustls::ServerConfig>,
    pub backend: Arc<dyn Backend>,
    pub authenticators: Authenticators,
    /// `--service-cluster-ip-range`.
    pub service_cidr: String,
    /// `--service-node-port-range`.
    pub node_ports: (u16, u16),
}

pub struct ApiServer {
    listener: TcpListener,
    tls: TlsAcceptor,
    router: Router,
    pub app: Arc<App>,
    pub local_addr: SocketAddr,
}

/// What the router needs besides the handlers' state.
struct Shared {
    app: Arc<App>,
    authn: Authenticators,
    address: String,
}

/// The user a connection's client certificate names, set per connection.
#[derive(Clone)]
struct PeerUser(Option<UserInfo>);

impl ApiServer {
    /// Bind the port and prepare the state; `serve` answers requests.
    pub async fn bind(cfg: ServerConfig) -> anyhow::Result<ApiServer> {
        let listener = TcpListener::bind(cfg.bind).await?;
        let local_addr = listener.local_addr()?;
        let services =
            ServiceAllocator::new(&cfg.service_cidr, cfg.node_ports).map_err(anyhow::Error::msg)?;
        let registry = Registry::new(cfg.backend, services);
        let app = Arc::new(App {
            registry,
            service_accounts: cfg.authenticators.service_accounts.clone(),
        });
        crate::bootstrap::run(&app, local_addr.port()).await?;
        // The OpenAPI documents are built on first request (a fraction of
        // a second in release builds) rather than at start, which keeps
        // idle memory down for servers nobody explains against.
        if std::env::var_os("RKUBE_OPENAPI_PREBUILD").is_some() {
            rkube_openapi::prebuild_in_background();
        }
        let shared = Arc::new(Shared {
            app: Arc::clone(&app),
            authn: cfg.authenticators,
            address: local_addr.to_string(),
        });
        let router = Router::new().fallback(route).with_state(shared);
        Ok(ApiServer {
            listener,
            tls: TlsAcceptor::from(cfg.tls),
            router,
            app,
            local_addr,
        })
    }

    /// Accept connections until `shutdown` resolves, then let open
    /// requests finish (watches are cut).
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (tcp, _) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let tls = self.tls.clone();
            let router = self.router.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let stream =
                    match tokio::time::timeout(std::time::Duration::from_secs(10), tls.accept(tcp))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        _ => return,
                    };
                let peer = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .and_then(|c| user_from_certificate(c.as_ref()));
                let peer = PeerUser(peer);
                let svc = router.map_request(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer.clone());
                    req
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http1().max_buf_size(1024 * 1024);
                builder.http2().max_header_list_size(1024 * 1024);
                let conn = builder.serve_connection_with_upgrades(
                    TokioIo::new(crate::http::linger::Lingering::new(stream)),
                    TowerToHyperService::new(svc),
                );
                let conn = watcher.watch(conn.into_owned());
                let _ = conn.await;
            });
        }
        drop(self.listener);
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
        Ok(())
    }
}

/// Paths anyone may read, as kube-apiserver's system:public-info-viewer.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/livez" | "/readyz" | "/version" | "/version/"
    ) || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

/// The bearer token and the certificate user of a request, read before
/// any await (a request body is not Sync).
fn credentials(req: &Request) -> (Option<String>, Option<UserInfo>) {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|raw| raw.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let peer = match req.extensions().get::<PeerUser>() {
        Some(PeerUser(Some(user))) => Some(user.clone()),
        _ => None,
    };
    (token, peer)
}

async fn authenticate(
    shared: &Shared,
    token: Option<String>,
    peer: Option<UserInfo>,
) -> Result<UserInfo, ApiError> {
    if let Some(token) = token.as_deref()
        && !token.is_empty()
    {
        if let Some(user) = shared.authn.token(token) {
            return Ok(user);
        }
        if let Some(sa) = &shared.authn.service_accounts
            && let Some(verified) = sa.verify(token)
            && crate::auth::bound_objects_exist(&shared.app, &verified, token).await
        {
            return Ok(verified.user());
        }
        // A presented but invalid token fails even with a certificate.
        return Err(ApiError::unauthorized());
    }
    peer.ok_or_else(ApiError::unauthorized)
}

async fn route(State(shared): State<Arc<Shared>>, mut req: Request) -> Response {
    let path = req.uri().path().to_string();
    if !is_public(&path) {
        let (token, peer) = credentials(&req);
        match authenticate(&shared, token, peer).await {
            Ok(user) => {
                req.extensions_mut().insert(user);
            }
            Err(e) => return response::error(e),
        }
    }
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    let get = req.method() == http::Method::GET;
    match (get, segments.as_slice()) {
        (true, ["healthz" | "livez" | "readyz", rest @ ..]) => {
            health(&shared, &path, rest, req.uri().query()).await
        }
        (true, ["version"]) => response::json(200, &version_info()),
        (true, [".well-known", "openid-configuration"]) => match &shared.authn.service_accounts {
            Some(sa) => response::json(200, &sa.discovery()),
            None => not_found(),
        },
        (true, ["openid", "v1", "jwks"]) => match &shared.authn.service_accounts {
            Some(sa) => response::json(200, &sa.jwks()),
            None => not_found(),
        },
        (true, ["openapi", "v2"]) => crate::openapi::v2(req.headers()).await,
        (true, ["openapi", "v3"]) => crate::openapi::v3_index(req.headers()).await,
        (true, ["openapi", "v3", gv @ ..]) => {
            crate::openapi::v3_group_version(&gv.join("/"), req.uri().query(), req.headers())
                .await
                .unwrap_or_else(not_found)
        }
        (true, ["api"]) => discovery::core_versions(req.headers(), &shared.address),
        (true, ["apis"]) => discovery::groups(req.headers()),
        (true, ["apis", group]) => discovery::group(group).unwrap_or_else(not_found),
        (true, ["api", version]) => discovery::resource_list("", version).unwrap_or_else(not_found),
        (true, ["apis", group, version]) => {
            discovery::resource_list(group, version).unwrap_or_else(not_found)
        }
        (_, ["api" | "apis", ..]) => handlers::dispatch(State(Arc::clone(&shared.app)), req).await,
        _ => not_found(),
    }
}

fn not_found() -> Response {
    let mut resp = Response::new(Body::from("404 page not found\n"));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn version_info() -> serde_json::Value {
    json!({
        "major": rkube_api::KUBERNETES_MAJOR,
        "minor": rkube_api::KUBERNETES_MINOR,
        "emulationMajor": rkube_api::KUBERNETES_MAJOR,
        "emulationMinor": rkube_api::KUBERNETES_MINOR,
        "minCompatibilityMajor": rkube_api::KUBERNETES_MAJOR,
        "minCompatibilityMinor": "36",
        "gitVersion": format!("{}+rkube-{}", rkube_api::KUBERNETES_VERSION, env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// Architectures named as Go names them, which is what clients expect.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `/healthz`, `/livez`, `/readyz` with `?verbose` and per-check paths.
async fn health(shared: &Shared, path: &str, rest: &[&str], query: Option<&str>) -> Response {
    let storage_ok = shared.app.registry.backend.ready().await.is_ok();
    let mut checks: Vec<(&str, bool)> = vec![("ping", true), ("log", true)];
    if !path.starts_with("/livez") {
        checks.push(("etcd", storage_ok));
    }
    if path.starts_with("/readyz") {
        checks.push(("informer-sync", true));
        checks.push(("shutdown", true));
    }
    if let [check] = rest {
        return match checks.iter().find(|(n, _)| n == check) {
            Some((_, true)) => plain(200, "ok".into()),
            Some((n, false)) => plain(500, format!("internal server error: {n} check failed")),
            None => not_found(),
        };
    }
    let healthy = checks.iter().all(|(_, ok)| *ok);
    let verbose = query.is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let name = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("healthz");
    if !verbose && healthy {
        return plain(200, "ok".into());
    }
    let mut text = String::new();
    for (n, ok) in &checks {
        if *ok {
            text.push_str(&format!("[+]{n} ok\n"));
        } else {
            text.push_str(&format!("[-]{n} failed: reason withheld\n"));
        }
    }
    if healthy {
        text.push_str(&format!("{name} check passed\n"));
        plain(200, text)
    } else {
        text.push_str(&format!("{name} check failed\n"));
        plain(500, text)
    }
}

fn plain(code: u16, text: String) -> Response {
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut().insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    resp
}
