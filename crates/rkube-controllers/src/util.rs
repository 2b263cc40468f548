//! Helpers the controllers share: label selectors, owner references, pod
//! readiness, write parameters and API error codes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{PatchParams, PostParams};

/// The field manager of every write, as kube-controller-manager's user
/// agent makes it.
pub const FIELD_MANAGER: &str = "kube-controller-manager";

pub fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}

pub fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}

/// The HTTP status of an API error, if it is one.
pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

pub fn is_not_found(e: &kube::Error) -> bool {
    api_code(e) == Some(404)
}

pub fn now() -> Time {
    Time(Timestamp::now())
}

/// Seconds from `t` to now (negative when `t` is in the future).
pub fn seconds_since(t: &Time) -> f64 {
    let d: SignedDuration = Timestamp::now().duration_since(t.0);
    d.as_secs_f64()
}

/// Whether a selector is empty (selects everything; controllers treat
/// it as selecting nothing to adopt).
pub fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty())
}

/// Whether `labels` satisfy `sel` (matchLabels and matchExpressions).
pub fn selector_matches(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The label selector as a query string (`a=b,c in (d,e)`).
pub fn selector_string(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let vals = e.values.as_deref().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({vals})", e.key),
            "NotIn" => format!("{} notin ({vals})", e.key),
            "Exists" => e.key.clone(),
            _ => format!("!{}", e.key),
        });
    }
    parts.join(",")
}

/// The owner reference that marks the managing controller.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// A controller owner reference to `owner`.
pub fn owner_ref(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

pub fn is_being_deleted(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

pub fn pod_phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Not finished and not being deleted.
pub fn is_pod_active(p: &Pod) -> bool {
    let phase = pod_phase(p);
    phase != "Succeeded" && phase != "Failed" && p.metadata.deletion_timestamp.is_none()
}

/// Being deleted but not finished.
pub fn is_pod_terminating(p: &Pod) -> bool {
    let phase = pod_phase(p);
    phase != "Succeeded" && phase != "Failed" && p.metadata.deletion_timestamp.is_some()
}

/// The pod's Ready condition: (status, lastTransitionTime).
pub fn ready_condition(p: &Pod) -> Option<(bool, Option<&Time>)> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status == "True", c.last_transition_time.as_ref()))
}

pub fn is_pod_ready(p: &Pod) -> bool {
    ready_condition(p).is_some_and(|(r, _)| r)
}

/// Ready for at least `min_ready_seconds`.
pub fn is_pod_available(p: &Pod, min_ready_seconds: i32) -> bool {
    match ready_condition(p) {
        Some((true, since)) => {
            min_ready_seconds <= 0
                || since.is_some_and(|t| seconds_since(t) >= f64::from(min_ready_seconds))
        }
        _ => false,
    }
}

/// How long until a ready pod becomes available (None if it is not ready
/// or already available).
pub fn until_available(p: &Pod, min_ready_seconds: i32) -> Option<std::time::Duration> {
    match ready_condition(p) {
        Some((true, Some(t))) if min_ready_seconds > 0 => {
            let left = f64::from(min_ready_seconds) - seconds_since(t);
            (left > 0.0).then(|| std::time::Duration::from_secs_f64(left + 0.05))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "nginx")])),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["web".into(), "api".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        assert!(selector_matches(
            &sel,
            Some(&labels(&[("app", "nginx"), ("tier", "web")]))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&labels(&[("app", "nginx"), ("tier", "db")]))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&labels(&[
                ("app", "nginx"),
                ("tier", "web"),
                ("canary", "1")
            ]))
        ));
        assert!(!selector_matches(&sel, None));
        assert_eq!(selector_string(&sel), "app=nginx,tier in (web,api),!canary");
        assert!(selector_is_empty(&LabelSelector::default()));
    }
}
