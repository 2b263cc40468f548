//! `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`. Upstream
//! proxies these to the pod's kubelet; every rkube pod is simulated, so
//! there is no process behind it and the answer is an error that says so,
//! rather than a hang or a bare 404 that would look like a missing pod.
//!
//! The checks before that error are upstream's, in its order: the pod must
//! exist (404, `pods "x" not found`), and a `container` the client names
//! must be one of the pod's (400). The error itself is a 400 BadRequest, the
//! code kube-apiserver gives when the kubelet cannot serve a container
//! (`container "x" in pod "y" is waiting to start`), which kubectl prints as
//! `Error from server (BadRequest): <message>`.

use rkube_api::status::{ApiError, ApiResult};
use serde_json::Value;

use super::{App, Ctx, Resp};

/// The subresources answered here.
pub const SUBRESOURCES: &[&str] = &["attach", "exec", "log", "portforward"];

pub fn handles(subresource: Option<&str>) -> bool {
    subresource.is_some_and(|s| SUBRESOURCES.contains(&s))
}

/// What the client wanted to do, for the message.
fn purpose(subresource: &str) -> &'static str {
    match subresource {
        "log" => "read logs from",
        "exec" => "run commands in",
        "attach" => "attach to",
        _ => "forward ports to",
    }
}

/// The `container` query parameter (the first, as upstream reads it).
fn container_param(raw_query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(raw_query?.as_bytes())
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

fn container_names(pod: &Value) -> Vec<&str> {
    [
        "/spec/initContainers",
        "/spec/containers",
        "/spec/ephemeralContainers",
    ]
    .iter()
    .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
    .flatten()
    .filter_map(|c| c["name"].as_str())
    .collect()
}

pub async fn reject(app: &App, ctx: &Ctx, raw_query: Option<&str>) -> ApiResult<Resp> {
    let subresource = ctx.info.subresource.as_deref().unwrap_or("");
    let name = ctx.name();
    let pod = app.registry.get(ctx.def, ctx.namespace(), name).await?;
    if subresource != "portforward"
        && let Some(c) = container_param(raw_query)
        && !container_names(&pod).contains(&c.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        )));
    }
    Err(ApiError::bad_request(format!(
        "pod \"{name}\" is simulated by rkube and has no containers to {}",
        purpose(subresource)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_parameter_is_read_like_upstream() {
        assert_eq!(
            container_param(Some("follow=true&container=web&container=x")).as_deref(),
            Some("web")
        );
        assert_eq!(container_param(Some("container=")), None);
        assert_eq!(container_param(None), None);
    }

    #[test]
    fn every_kind_of_container_counts() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "app"}],
            "ephemeralContainers": [{"name": "debug"}],
        }});
        assert_eq!(container_names(&pod), ["init", "app", "debug"]);
    }

    #[test]
    fn the_message_names_what_cannot_be_done() {
        assert!(handles(Some("log")) && handles(Some("portforward")));
        assert!(!handles(Some("status")) && !handles(None));
        assert_eq!(purpose("exec"), "run commands in");
    }
}
