//! What a request names: `request_info::parse` over the URL path and
//! `Query::parse` over the query string never panic, and what they accept
//! is consistent.
//!
//! Input: path and query split at the first `?`, as a URI has them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rkube_apiserver::http::query::Query;
use rkube_apiserver::http::request_info;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (path, query) = match s.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (s.as_ref(), None),
    };
    if let Some(info) = request_info::parse(path) {
        // Every segment a route names is non-empty and holds no '/'.
        let named = [&info.namespace, &info.name, &info.subresource];
        let parts = [&info.group, &info.version, &info.resource];
        assert!(
            !info.version.is_empty() && !info.resource.is_empty(),
            "{path:?}: {info:?}"
        );
        for part in parts.into_iter().chain(named.into_iter().flatten()) {
            assert!(
                !part.contains('/'),
                "{path:?}: a segment holds '/': {info:?}"
            );
        }
        assert!(
            named
                .iter()
                .all(|s| s.as_ref().is_none_or(|s| !s.is_empty())),
            "{path:?}: {info:?}"
        );
    }
    match Query::parse(query) {
        Ok(q) => {
            if let Some(l) = q.limit {
                let _ = l.max(0) as usize;
            }
        }
        Err(e) => {
            assert_eq!(e.code, 400, "{query:?}: {e}");
            let _ = e.to_status();
        }
    }
    // The whole input as a query string too (paths rarely hold '?').
    let _ = Query::parse(Some(&s));
});
