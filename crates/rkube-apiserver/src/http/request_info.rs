//! Splits a resource path into what kube-apiserver calls RequestInfo: the
//! API prefix, group, version, namespace, resource, name and subresource.

/// What a resource request names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestInfo {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The path used the deprecated `/watch/` prefix.
    pub watch_prefix: bool,
}

/// Namespace paths whose third segment is a subresource of the namespace
/// itself rather than a resource inside it.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Subresources whose path goes on after their name: `pods/x/proxy/a/b`.
/// Any other path longer than `<resource>/<name>/<subresource>` names
/// nothing (kube-apiserver's router answers 404).
const PATH_SUBRESOURCES: &[&str] = &["proxy"];

/// Parses `/api/v1/...` and `/apis/<group>/<version>/...`. Returns None for
/// paths that are not resource requests (discovery is routed elsewhere) and
/// for paths no route of kube-apiserver matches.
///
/// `path` is the path as it came on the wire; it is percent-decoded first,
/// as Go's `URL.Path` is, so `%2F` separates segments and `pods/a%20b`
/// names the pod `a b`. A malformed escape names nothing, and neither does
/// an empty segment (`pods//status`, `namespaces//pods`).
pub fn parse(path: &str) -> Option<RequestInfo> {
    let decoded = path_unescape(path)?;
    let trimmed = decoded.trim_start_matches('/').trim_end_matches('/');
    let parts: Vec<&str> = trimmed.split('/').collect();
    split(&parts).filter(|i| {
        let named = [&i.namespace, &i.name, &i.subresource];
        !i.version.is_empty()
            && !i.resource.is_empty()
            && (i.group.is_empty() == (parts[0] == "api"))
            && named
                .iter()
                .all(|s| s.as_ref().is_none_or(|s| !s.is_empty()))
    })
}

fn split(parts: &[&str]) -> Option<RequestInfo> {
    let (group, version, rest) = match parts {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    let mut info = RequestInfo {
        group: group.to_string(),
        version: version.to_string(),
        ..Default::default()
    };
    let mut rest = rest;
    if rest.first() == Some(&"watch") {
        info.watch_prefix = true;
        rest = &rest[1..];
    }
    if rest.len() >= 2 && rest[0] == "namespaces" {
        let ns = rest[1];
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            info.namespace = Some(ns.to_string());
            rest = &rest[2..];
        } else {
            // The namespace object itself (or its status/finalize).
            if rest.len() > 3 || (info.watch_prefix && rest.len() > 2) {
                return None;
            }
            info.resource = "namespaces".to_string();
            info.name = Some(ns.to_string());
            info.subresource = rest.get(2).map(|s| s.to_string());
            return Some(info);
        }
    }
    match rest {
        [resource] => info.resource = resource.to_string(),
        [resource, name] => {
            info.resource = resource.to_string();
            info.name = Some(name.to_string());
        }
        [resource, name, sub, more @ ..] => {
            // Watches have no subresources upstream, and only proxy paths
            // go on past the subresource.
            if info.watch_prefix || (!more.is_empty() && !PATH_SUBRESOURCES.contains(sub)) {
                return None;
            }
            info.resource = resource.to_string();
            info.name = Some(name.to_string());
            info.subresource = Some(sub.to_string());
        }
        [] => return None,
    }
    Some(info)
}

/// Go's `url.PathUnescape`: `%XX` becomes its byte (`+` stays `+`); None
/// for a `%` not followed by two hex digits, which Go refuses.
fn path_unescape(path: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !path.contains('%') {
        return Some(path.into());
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            out.push(digit(hex[0]) << 4 | digit(hex[1]));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_and_cluster_paths() {
        let i = parse("/api/v1/namespaces/default/pods/web/status").unwrap();
        assert_eq!(i.namespace.as_deref(), Some("default"));
        assert_eq!(i.resource, "pods");
        assert_eq!(i.name.as_deref(), Some("web"));
        assert_eq!(i.subresource.as_deref(), Some("status"));

        let i = parse("/apis/apps/v1/deployments").unwrap();
        assert_eq!(i.group, "apps");
        assert_eq!(i.namespace, None);

        let i = parse("/api/v1/namespaces/kube-system").unwrap();
        assert_eq!(i.resource, "namespaces");
        assert_eq!(i.name.as_deref(), Some("kube-system"));

        let i = parse("/api/v1/namespaces/x/finalize").unwrap();
        assert_eq!(i.subresource.as_deref(), Some("finalize"));

        let i = parse("/api/v1/watch/namespaces/default/pods").unwrap();
        assert!(i.watch_prefix);
        assert_eq!(i.resource, "pods");
        assert!(parse("/api/v1").is_none());
        assert!(parse("/healthz").is_none());
    }

    #[test]
    fn paths_are_percent_decoded_as_go_decodes_them() {
        let i = parse("/api/v1/namespaces/default/pods/a%20b").unwrap();
        assert_eq!(i.name.as_deref(), Some("a b"));
        let i = parse("/api/v1/namespaces/default/configmaps/a+b").unwrap();
        assert_eq!(i.name.as_deref(), Some("a+b"));
        // %2F separates segments, as in Go's URL.Path.
        let i = parse("/api/v1/namespaces/default/pods/web%2Fstatus").unwrap();
        assert_eq!(i.name.as_deref(), Some("web"));
        assert_eq!(i.subresource.as_deref(), Some("status"));
        let i = parse("/api%2Fv1%2Fnamespaces").unwrap();
        assert_eq!(i.resource, "namespaces");
        // Malformed escapes (Go refuses the URL) and invalid UTF-8.
        assert!(parse("/api/v1/namespaces/default/pods/a%zz").is_none());
        assert!(parse("/api/v1/namespaces/default/pods/a%2").is_none());
        assert!(parse("/api/v1/pods/%").is_none());
        let i = parse("/api/v1/namespaces/default/pods/%ff").unwrap();
        assert_eq!(i.name.as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn empty_segments_name_nothing() {
        // Found by fuzz/request_path: `//` gave an empty resource, name or
        // namespace (which reached storage as `/registry/pods//`).
        assert!(parse("/apis/apps/v1/namespaces/defa//ati/x").is_none());
        assert!(parse("/api/v1/namespaces/default/pods//status").is_none());
        assert!(parse("/api/v1/namespaces//pods").is_none());
        assert!(parse("/api//namespaces").is_none());
        assert!(parse("/apis//v1/deployments").is_none());
        assert!(parse("/api/v1/namespaces/default/pods/%2F").is_some_and(|i| i.name.is_none()));
        // Leading and trailing slashes are trimmed, as upstream's splitPath does.
        assert!(parse("//api/v1/pods//").is_some_and(|i| i.resource == "pods"));
        // The path past a proxy subresource is not a name.
        assert!(parse("/api/v1/namespaces/d/pods/web/proxy/a//b").is_some());
    }

    #[test]
    fn paths_no_route_matches_name_nothing() {
        // Segments past the subresource: only proxy takes them.
        assert!(parse("/api/v1/namespaces/default/pods/web/status/extra").is_none());
        assert!(parse("/apis/apps/v1/namespaces/d/deployments/web/scale/x/y").is_none());
        assert!(parse("/api/v1/namespaces/x/status/extra").is_none());
        let i = parse("/api/v1/namespaces/default/pods/web/proxy/a/b").unwrap();
        assert_eq!(i.subresource.as_deref(), Some("proxy"));
        // Watches have no subresources.
        assert!(parse("/api/v1/watch/namespaces/default/pods/web/status").is_none());
        assert!(parse("/api/v1/watch/namespaces/x/status").is_none());
        let i = parse("/api/v1/watch/namespaces/default/pods/web").unwrap();
        assert!(i.watch_prefix);
        assert_eq!(i.name.as_deref(), Some("web"));
        let i = parse("/api/v1/watch/namespaces/x").unwrap();
        assert_eq!(
            (i.resource.as_str(), i.name.as_deref()),
            ("namespaces", Some("x"))
        );
    }
}
