//! The replica count one resource metric asks for, as upstream's replica
//! calculator works it out: the ratio of current to target usage over the
//! pods that have metrics, a tolerance around 1.0 within which nothing
//! changes, and a second, more careful pass when some pods are missing
//! metrics or are not ready yet.
//!
//! Simplifications against upstream, all on the side of not scaling:
//! - a pod that is not Ready is "unready" for CPU whatever its age
//!   (upstream looks at its start time and the timestamps of its metrics
//!   and readiness over a 5 minute CPU initialization period and a 30 s
//!   readiness delay); for memory, as upstream, readiness does not matter;
//! - Pending pods are unready, deleted and Failed or Succeeded pods are
//!   ignored, as upstream.

use std::collections::BTreeMap;

/// Upstream's default `--horizontal-pod-autoscaler-tolerance`.
pub const TOLERANCE: f64 = 0.1;

/// What the calculator needs to know of one pod matched by the target's
/// selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSample {
    pub name: String,
    /// Pending (not running yet).
    pub pending: bool,
    /// Being deleted, Failed or Succeeded: left out entirely.
    pub gone: bool,
    pub ready: bool,
    /// Sum of the containers' requests of the resource, in milli-units, or
    /// the first container that requests none (only utilization targets
    /// need requests).
    pub request: Result<i64, String>,
}

/// The target of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Percentage of the pods' requests.
    Utilization(i32),
    /// Average usage per pod, in milli-units.
    AverageValue(i64),
}

/// A proposal and the figures that go into `status.currentMetrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    pub replicas: i32,
    /// Current utilization in percent (utilization targets only).
    pub utilization: Option<i32>,
    /// Current average usage per pod, in milli-units.
    pub average: i64,
}

/// The replica count for one resource metric. `usage` maps pod names to
/// their usage in milli-units, as read from the metrics API; `cpu` says
/// whether readiness counts (it does for CPU only).
pub fn replicas(
    current: i32,
    target: Target,
    resource: &str,
    cpu: bool,
    pods: &[PodSample],
    usage: &BTreeMap<String, i64>,
) -> Result<Proposal, String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let mut metrics = usage.clone();
    let mut ready_count = 0i64;
    let mut unready = Vec::new();
    let mut missing = Vec::new();
    for p in pods {
        if p.gone {
            metrics.remove(&p.name);
            continue;
        }
        if !metrics.contains_key(&p.name) {
            if !p.pending {
                missing.push(p.name.as_str());
            } else {
                unready.push(p.name.as_str());
            }
            continue;
        }
        if p.pending || (cpu && !p.ready) {
            metrics.remove(&p.name);
            unready.push(p.name.as_str());
            continue;
        }
        ready_count += 1;
    }
    // Metrics of pods the selector no longer matches do not count.
    metrics.retain(|name, _| pods.iter().any(|p| &p.name == name && !p.gone));
    if metrics.is_empty() {
        return Err(format!(
            "did not receive metrics for targeted pods (pods might be unready) for resource {resource}"
        ));
    }
    let requests: BTreeMap<&str, i64> = match target {
        Target::Utilization(_) => {
            let mut out = BTreeMap::new();
            for p in pods.iter().filter(|p| !p.gone) {
                match &p.request {
                    Ok(r) => out.insert(p.name.as_str(), *r),
                    Err(container) => {
                        return Err(format!(
                            "missing request for {resource} in container {container} of Pod {}",
                            p.name
                        ));
                    }
                };
            }
            out
        }
        Target::AverageValue(_) => BTreeMap::new(),
    };
    let (ratio, utilization, average) = usage_ratio(&metrics, &requests, target)?;

    let scale_up_with_unready = !unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if (1.0 - ratio).abs() <= TOLERANCE {
            return Ok(Proposal {
                replicas: current,
                utilization,
                average,
            });
        }
        return Ok(Proposal {
            replicas: (ratio * ready_count as f64).ceil() as i32,
            utilization,
            average,
        });
    }
    // Second pass: assume the worst for the direction we would move in.
    if ratio < 1.0 {
        // Scaling down: missing pods use their full request (or the target
        // when it is above 100%).
        for name in &missing {
            let fill = match target {
                Target::Utilization(t) => {
                    requests.get(name).copied().unwrap_or(0) * i64::from(t.max(100)) / 100
                }
                Target::AverageValue(v) => v,
            };
            metrics.insert(name.to_string(), fill);
        }
    } else if ratio > 1.0 {
        for name in &missing {
            metrics.insert(name.to_string(), 0);
        }
    }
    if scale_up_with_unready {
        for name in &unready {
            metrics.insert(name.to_string(), 0);
        }
    }
    let (new_ratio, _, _) = usage_ratio(&metrics, &requests, target)?;
    let flipped = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    if (1.0 - new_ratio).abs() <= TOLERANCE || flipped {
        return Ok(Proposal {
            replicas: current,
            utilization,
            average,
        });
    }
    let proposed = (new_ratio * metrics.len() as f64).ceil() as i32;
    let replicas =
        if (new_ratio < 1.0 && proposed > current) || (new_ratio > 1.0 && proposed < current) {
            current
        } else {
            proposed
        };
    Ok(Proposal {
        replicas,
        utilization,
        average,
    })
}

/// The usage ratio, the utilization (percent, truncated as upstream) and
/// the average usage per pod with metrics.
fn usage_ratio(
    metrics: &BTreeMap<String, i64>,
    requests: &BTreeMap<&str, i64>,
    target: Target,
) -> Result<(f64, Option<i32>, i64), String> {
    match target {
        Target::Utilization(t) => {
            let (mut used, mut requested, mut n) = (0i64, 0i64, 0i64);
            for (name, value) in metrics {
                if let Some(r) = requests.get(name.as_str()) {
                    used += value;
                    requested += r;
                    n += 1;
                }
            }
            if requested == 0 {
                return Err("no metrics returned matched known pods".into());
            }
            let utilization = (used * 100 / requested) as i32;
            Ok((
                f64::from(utilization) / f64::from(t.max(1)),
                Some(utilization),
                used / n,
            ))
        }
        Target::AverageValue(v) => {
            let total: i64 = metrics.values().sum();
            let average = total / metrics.len().max(1) as i64;
            Ok((average as f64 / v.max(1) as f64, None, average))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, request: i64) -> PodSample {
        PodSample {
            name: name.into(),
            pending: false,
            gone: false,
            ready: true,
            request: Ok(request),
        }
    }

    fn usage(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    }

    fn cpu(current: i32, target: Target, pods: &[PodSample], u: &[(&str, i64)]) -> Proposal {
        replicas(current, target, "cpu", true, pods, &usage(u)).unwrap()
    }

    #[test]
    fn ratio_above_target_scales_up_by_the_ratio() {
        let pods = [pod("a", 100), pod("b", 100)];
        // 160% of request against 80%: twice as many pods.
        let p = cpu(2, Target::Utilization(80), &pods, &[("a", 160), ("b", 160)]);
        assert_eq!(p.replicas, 4);
        assert_eq!(p.utilization, Some(160));
        assert_eq!(p.average, 160);
    }

    #[test]
    fn within_tolerance_nothing_changes() {
        let pods = [pod("a", 100), pod("b", 100), pod("c", 100)];
        let p = cpu(
            3,
            Target::Utilization(80),
            &pods,
            &[("a", 85), ("b", 85), ("c", 86)],
        );
        assert_eq!((p.replicas, p.utilization), (3, Some(85)));
        // Just outside the tolerance.
        let p = cpu(
            3,
            Target::Utilization(80),
            &pods,
            &[("a", 90), ("b", 90), ("c", 90)],
        );
        assert_eq!(p.replicas, 4);
    }

    #[test]
    fn low_usage_scales_down() {
        let pods = [pod("a", 100), pod("b", 100), pod("c", 100), pod("d", 100)];
        let p = cpu(
            4,
            Target::Utilization(80),
            &pods,
            &[("a", 30), ("b", 30), ("c", 30), ("d", 30)],
        );
        // 30% / 80% of 4 ready pods is 1.5, rounded up.
        assert_eq!(p.replicas, 2);
    }

    #[test]
    fn missing_requests_are_an_error_for_utilization_only() {
        let mut b = pod("b", 0);
        b.request = Err("nginx".into());
        let pods = [pod("a", 100), b];
        let u = usage(&[("a", 50), ("b", 50)]);
        let e = replicas(2, Target::Utilization(80), "cpu", true, &pods, &u).unwrap_err();
        assert_eq!(e, "missing request for cpu in container nginx of Pod b");
        let p = replicas(2, Target::AverageValue(25), "cpu", true, &pods, &u).unwrap();
        assert_eq!((p.replicas, p.average, p.utilization), (4, 50, None));
    }

    #[test]
    fn no_pods_or_no_metrics_are_errors() {
        let e = replicas(1, Target::Utilization(80), "cpu", true, &[], &usage(&[])).unwrap_err();
        assert!(e.starts_with("no pods returned by selector"), "{e}");
        let e = replicas(
            1,
            Target::Utilization(80),
            "cpu",
            true,
            &[pod("a", 100)],
            &usage(&[]),
        )
        .unwrap_err();
        assert!(e.starts_with("did not receive metrics"), "{e}");
    }

    #[test]
    fn unready_pods_count_as_idle_when_scaling_up() {
        let mut c = pod("c", 100);
        c.ready = false;
        let pods = [pod("a", 100), pod("b", 100), c];
        // Ready pods at 200% of an 100% target; the unready one at 0 makes
        // the ratio 400/300 = 1.33: 3 pods -> 4, not 2 * 2 = 4 + 1.
        let p = cpu(
            3,
            Target::Utilization(100),
            &pods,
            &[("a", 200), ("b", 200), ("c", 500)],
        );
        assert_eq!(p.replicas, 4);
        // The reported utilization is of the ready pods.
        assert_eq!(p.utilization, Some(200));
        // Memory ignores readiness: all three count.
        let p = replicas(
            3,
            Target::Utilization(100),
            "memory",
            false,
            &pods,
            &usage(&[("a", 200), ("b", 200), ("c", 500)]),
        )
        .unwrap();
        assert_eq!(p.replicas, 9);
    }

    #[test]
    fn missing_metrics_damp_a_scale_down() {
        // c has no metrics yet: on a scale-down it is assumed at 100% of
        // its request, which brings the ratio (220 / 300 = 73% of 80%)
        // within the tolerance, so nothing changes.
        let pods = [pod("a", 100), pod("b", 100), pod("c", 100)];
        let p = cpu(3, Target::Utilization(80), &pods, &[("a", 60), ("b", 60)]);
        assert_eq!(p.replicas, 3);
        // Far below target the scale-down still happens, more gently:
        // (10 + 10 + 100) / 300 = 40% -> ratio 0.5 of 3 pods -> 2.
        let p = cpu(3, Target::Utilization(80), &pods, &[("a", 10), ("b", 10)]);
        assert_eq!(p.replicas, 2);
    }

    #[test]
    fn missing_metrics_count_as_zero_when_scaling_up() {
        let pods = [pod("a", 100), pod("b", 100)];
        // a at 300% of a 100% target, b unknown (0): 150% of 2 pods -> 3.
        let p = cpu(2, Target::Utilization(100), &pods, &[("a", 300)]);
        assert_eq!(p.replicas, 3);
    }

    #[test]
    fn pending_and_deleted_pods() {
        let mut pending = pod("p", 100);
        pending.pending = true;
        let mut gone = pod("g", 100);
        gone.gone = true;
        let pods = [pod("a", 100), pending, gone];
        // The deleted pod's metrics are ignored; the pending one counts 0
        // on a scale-up: (200 + 0) / 200 = 100% -> within tolerance.
        let p = cpu(
            3,
            Target::Utilization(100),
            &pods,
            &[("a", 200), ("g", 900)],
        );
        assert_eq!(p.replicas, 3);
    }

    #[test]
    fn average_value_targets() {
        let pods = [pod("a", 0), pod("b", 0)];
        let p = replicas(
            2,
            Target::AverageValue(100 << 20),
            "memory",
            false,
            &pods,
            &usage(&[("a", 300 << 20), ("b", 300 << 20)]),
        )
        .unwrap();
        assert_eq!((p.replicas, p.average), (6, 300 << 20));
    }
}
