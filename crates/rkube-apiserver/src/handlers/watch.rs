//! watch: a stream of JSON events, one per line, from a resourceVersion,
//! filtered by selectors, with bookmarks and the initial-events protocol.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, header};
use rand::Rng;
use rkube_api::status::{ApiError, ApiResult};
use rkube_store::{EventKind, StoreError};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::read::{Filter, to_client};
use super::{App, Ctx, Resp, table};
use crate::http::negotiation::{Representation, representation};
use crate::registry::ListOptions;
use crate::registry::store::{
    collection_prefix, decode, parse_resource_version, set_resource_version, store_error,
};

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);

struct Encoder {
    ctx: Ctx,
    table: bool,
    columns_sent: bool,
}

impl Encoder {
    fn event(&mut self, kind: &str, obj: Value) -> Bytes {
        let obj = to_client(&self.ctx, obj);
        let obj = if self.table && kind != "BOOKMARK" && kind != "ERROR" {
            let t = table::table(
                self.ctx.def,
                &[obj],
                Map::new(),
                self.ctx.query.include_object.as_deref(),
                !self.columns_sent,
            );
            self.columns_sent = true;
            t
        } else {
            obj
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": obj})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    fn bookmark(&self, rv: i64, initial_end: bool) -> Bytes {
        let mut md = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.ctx.def.kind, "apiVersion": self.ctx.api_version(), "metadata": md});
        let mut line =
            serde_json::to_vec(&json!({"type": "BOOKMARK", "object": obj})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}

fn error_event(e: &ApiError) -> Bytes {
    let mut line =
        serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

pub async fn watch(app: &Arc<App>, ctx: Ctx) -> ApiResult<Resp> {
    let rep = representation(&ctx.headers)?;
    let filter = Filter::from_ctx(&ctx)?;
    let rv = ctx.query.resource_version.clone().unwrap_or_default();
    let send_initial = ctx.query.send_initial_events;
    if send_initial.is_some() {
        if ctx.query.resource_version_match.as_deref() != Some("NotOlderThan") {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "ListOptions",
                "",
                vec![rkube_api::status::Cause::forbidden(
                    "sendInitialEvents",
                    "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
                )],
            ));
        }
        if send_initial == Some(true) && !ctx.query.allow_watch_bookmarks {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "ListOptions",
                "",
                vec![rkube_api::status::Cause::forbidden(
                    "allowWatchBookmarks",
                    "allowWatchBookmarks must be set to true when sendInitialEvents is true",
                )],
            ));
        }
    }
    // Without a resourceVersion (or with "0") a watch starts with the
    // current state as ADDED events; sendInitialEvents asks the same.
    let initial = send_initial.unwrap_or(rv.is_empty() || rv == "0");
    let start_rv = if rv.is_empty() || rv == "0" {
        0
    } else {
        parse_resource_version(&rv)?
    };
    let timeout = match ctx.query.timeout_seconds {
        Some(t) if t > 0 => Duration::from_secs(t),
        // Upstream spreads watch lifetimes between 30 and 60 minutes.
        _ => Duration::from_secs(rand::rng().random_range(1800..3600)),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let app = Arc::clone(app);
    let bookmarks = ctx.query.allow_watch_bookmarks;
    let mut enc = Encoder {
        table: rep == Representation::Table,
        ctx,
        columns_sent: false,
    };
    tokio::spawn(async move {
        let run = stream_events(&app, &mut enc, &filter, initial, start_rv, bookmarks, &tx);
        let _ = tokio::time::timeout(timeout, run).await;
    });
    let stream =
        tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<Bytes, std::convert::Infallible>);
    let mut resp = Resp::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}

async fn stream_events(
    app: &App,
    enc: &mut Encoder,
    filter: &Filter,
    initial: bool,
    start_rv: i64,
    bookmarks: bool,
    tx: &mpsc::Sender<Bytes>,
) {
    let def = enc.ctx.def;
    let ns = enc.ctx.namespace().map(str::to_string);
    let mut from = start_rv;
    if initial {
        let keep = |o: &Value| filter.matches(&enc.ctx, o);
        let listed = match app
            .registry
            .list(def, ns.as_deref(), &ListOptions::default(), &keep)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(error_event(&e)).await;
                return;
            }
        };
        for obj in listed.items {
            if tx.send(enc.event("ADDED", obj)).await.is_err() {
                return;
            }
        }
        from = listed.revision;
        if enc.ctx.query.send_initial_events == Some(true)
            && tx.send(enc.bookmark(from, true)).await.is_err()
        {
            return;
        }
    } else if from == 0 {
        from = match app.registry.backend.current_revision().await {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(error_event(&store_error(e))).await;
                return;
            }
        };
    }
    let prefix = collection_prefix(def, ns.as_deref());
    let mut events = match app.registry.backend.watch(&prefix, from).await {
        Ok(s) => s,
        Err(StoreError::Compacted { compacted, .. }) => {
            let e = ApiError::expired(format!("too old resource version: {from} ({compacted})"));
            let _ = tx.send(error_event(&e)).await;
            return;
        }
        Err(e) => {
            let _ = tx.send(error_event(&store_error(e))).await;
            return;
        }
    };
    let mut last_rv = from;
    let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
    ticker.tick().await;
    loop {
        tokio::select! {
            ev = events.next() => {
                let ev = match ev {
                    None => return,
                    Some(Ok(ev)) => ev,
                    Some(Err(StoreError::WatchLagged)) | Some(Err(StoreError::Compacted { .. })) => {
                        let e = ApiError::expired(format!("too old resource version: {last_rv}"));
                        let _ = tx.send(error_event(&e)).await;
                        return;
                    }
                    Some(Err(e)) => {
                        let _ = tx.send(error_event(&store_error(e))).await;
                        return;
                    }
                };
                last_rv = ev.revision();
                let Some(line) = translate(enc, filter, &ev) else { continue };
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            _ = ticker.tick(), if bookmarks => {
                if tx.send(enc.bookmark(last_rv, false)).await.is_err() {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// A store event as the watcher sees it through its selectors: an object
/// that starts matching is ADDED, one that stops matching is DELETED.
fn translate(enc: &mut Encoder, filter: &Filter, ev: &rkube_store::Event) -> Option<Bytes> {
    // The previous value is only decoded when a selector needs it: every
    // watcher sees every event, so this is the hot path.
    let prev_matches = |enc: &Encoder| {
        ev.prev.as_ref().is_some_and(|kv| {
            filter.is_empty() || decode(kv).is_ok_and(|p| filter.matches(&enc.ctx, &p))
        })
    };
    match ev.kind {
        EventKind::Delete => {
            let mut obj = decode(ev.prev.as_ref()?).ok()?;
            if !filter.matches(&enc.ctx, &obj) {
                return None;
            }
            set_resource_version(&mut obj, ev.revision());
            Some(enc.event("DELETED", obj))
        }
        EventKind::Put => {
            let obj = decode(&ev.kv).ok()?;
            let matches = filter.matches(&enc.ctx, &obj);
            match (ev.prev.is_some() && prev_matches(enc), matches) {
                (true, true) => Some(enc.event("MODIFIED", obj)),
                (false, true) => Some(enc.event("ADDED", obj)),
                (true, false) => Some(enc.event("DELETED", obj)),
                (false, false) => None,
            }
        }
    }
}
