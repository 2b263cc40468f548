//! Indexed Jobs: each of `completions` indexes must succeed once. A pod
//! carries its index (annotation, label, `JOB_COMPLETION_INDEX`, hostname
//! `<job>-<index>`), and the indexes done are kept in
//! `status.completedIndexes` as compressed ranges ("0-2,5"), so they
//! survive their pods.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use kube::ResourceExt;

use crate::util::pod_phase;

pub const INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

pub fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

pub fn completions(job: &Job) -> i32 {
    job.spec
        .as_ref()
        .and_then(|s| s.completions)
        .unwrap_or(1)
        .max(0)
}

/// The index a pod runs, if it carries a valid one.
pub fn pod_index(p: &Pod) -> Option<i32> {
    p.annotations()
        .get(INDEX_KEY)
        .or_else(|| p.labels().get(INDEX_KEY))
        .and_then(|v| v.parse().ok())
        .filter(|i: &i32| *i >= 0)
}

/// "1,3-5" → {1, 3, 4, 5}; malformed parts are skipped.
pub fn parse(s: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(v) = part.parse() {
                    out.insert(v);
                }
            }
        }
    }
    out
}

/// {1, 3, 4, 5} → "1,3-5".
pub fn format(set: &BTreeSet<i32>) -> String {
    let mut parts = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// The indexes done: those recorded plus those of succeeded pods.
pub fn completed(job: &Job, pods: &[Arc<Pod>]) -> BTreeSet<i32> {
    let n = completions(job);
    let mut done = job
        .status
        .as_ref()
        .and_then(|s| s.completed_indexes.as_deref())
        .map(parse)
        .unwrap_or_default();
    done.extend(
        pods.iter()
            .filter(|p| pod_phase(p) == "Succeeded")
            .filter_map(|p| pod_index(p)),
    );
    done.retain(|i| *i < n);
    done
}

/// Up to `n` indexes neither done nor running, lowest first.
pub fn missing(job: &Job, done: &BTreeSet<i32>, active: &[Arc<Pod>], n: usize) -> Vec<i32> {
    let running: BTreeSet<i32> = active.iter().filter_map(|p| pod_index(p)).collect();
    (0..completions(job))
        .filter(|i| !done.contains(i) && !running.contains(i))
        .take(n)
        .collect()
}

/// Give `pod` (made from the template) its index.
pub fn stamp(pod: &mut Pod, job: &str, index: i32) {
    let i = index.to_string();
    pod.metadata.generate_name = Some(format!("{job}-{i}-"));
    pod.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(INDEX_KEY.into(), i.clone());
    pod.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(INDEX_KEY.into(), i);
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    spec.hostname = Some(format!("{job}-{index}"));
    let env = EnvVar {
        name: INDEX_ENV.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{INDEX_KEY}']"),
            }),
            ..Default::default()
        }),
    };
    let inits = spec.init_containers.iter_mut().flatten();
    for c in spec.containers.iter_mut().chain(inits) {
        let vars = c.env.get_or_insert_with(Vec::new);
        if !vars.iter().any(|v| v.name == INDEX_ENV) {
            vars.push(env.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compress_and_expand() {
        let s = parse("0,2-4, 7");
        assert_eq!(s, [0, 2, 3, 4, 7].into());
        assert_eq!(format(&s), "0,2-4,7");
        assert_eq!(format(&BTreeSet::new()), "");
        let mut p = Pod {
            spec: Some(Default::default()),
            ..Default::default()
        };
        p.spec.as_mut().unwrap().containers.push(Default::default());
        stamp(&mut p, "pi", 3);
        assert_eq!(pod_index(&p), Some(3));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-3-"));
        let spec = p.spec.unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("pi-3"));
        assert_eq!(spec.containers[0].env.as_ref().unwrap()[0].name, INDEX_ENV);
    }
}
