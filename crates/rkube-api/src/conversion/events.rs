//! events.k8s.io/v1 Events are core/v1 Events under other field names.
//!
//! kube-apiserver keeps both APIs in one store (`/registry/events`), in the
//! core form, so an Event written through either API is read through the
//! other. The renamed fields; everything else (metadata, reason, type,
//! action, eventTime, series, related, reportingInstance) is the same.

use serde_json::{Map, Value};

/// (events.k8s.io/v1 name, core/v1 name)
const RENAMED: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(obj: Value, to_core: bool) -> Value {
    let Value::Object(map) = obj else {
        return obj;
    };
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        let renamed = RENAMED.iter().find_map(|&(events, core)| {
            if to_core {
                (key == events).then_some(core)
            } else {
                (key == core).then_some(events)
            }
        });
        // A field the target version does not have (an events.k8s.io name
        // in a core object) would be dropped by upstream's decoder; so it
        // is here, rather than shadowing the renamed one.
        let foreign = RENAMED.iter().any(
            |&(events, core)| {
                if to_core { key == core } else { key == events }
            },
        );
        match renamed {
            Some(name) => {
                out.insert(name.to_string(), value);
            }
            None if foreign => {}
            None => {
                out.insert(key, value);
            }
        }
    }
    Value::Object(out)
}

pub(super) fn core_to_events(obj: Value) -> Value {
    rename(obj, false)
}

pub(super) fn events_to_core(obj: Value) -> Value {
    rename(obj, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_every_field() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "nginx.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": "default"},
            "reason": "Scheduled", "message": "Successfully assigned default/nginx to w1",
            "source": {"component": "default-scheduler"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:01Z",
            "count": 2, "type": "Normal", "eventTime": null,
            "reportingComponent": "default-scheduler", "reportingInstance": "s1"
        });
        let events = core_to_events(core.clone());
        assert_eq!(events["regarding"]["name"], "nginx");
        assert_eq!(events["note"], "Successfully assigned default/nginx to w1");
        assert_eq!(events["deprecatedCount"], 2);
        assert_eq!(events["reportingController"], "default-scheduler");
        assert!(events.get("message").is_none());
        assert_eq!(events_to_core(events), core);
    }
}
