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

/// Parses `/api/v1/...` and `/apis/<group>/<version>/...`. Returns None for
/// paths that are not resource requests (discovery is routed elsewhere).
pub fn parse(path: &str) -> Option<RequestInfo> {
    let trimmed = path.trim_start_matches('/').trim_end_matches('/');
    let parts: Vec<&str> = trimmed.split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
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
        [resource, name, sub, ..] => {
            info.resource = resource.to_string();
            info.name = Some(name.to_string());
            info.subresource = Some(sub.to_string());
        }
        [] => return None,
    }
    Some(info)
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
}
