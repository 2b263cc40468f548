//! From the metrics' proposal to the replica count actually set: the
//! stabilization window (the highest recommendation of the last five
//! minutes wins a scale-down, so a brief dip does not remove pods), the
//! rate limits, and minReplicas/maxReplicas, as upstream's controller
//! normalizes, with and without `spec.behavior`. The history it needs
//! (recent recommendations, recent scale events) lives in memory per HPA,
//! as upstream's does, and is lost on restart.

use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules};

/// Upstream's `--horizontal-pod-autoscaler-downscale-stabilization`.
pub const DOWNSCALE_STABILIZATION: Duration = Duration::from_secs(300);
/// Events older than the longest period a policy may have are useless.
const MAX_POLICY_PERIOD: Duration = Duration::from_secs(1800);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub value: i32,
    pub period: Duration,
}

/// One direction's rules, with upstream's defaults for what is unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub window: Duration,
    pub select: Select,
    pub policies: Vec<Policy>,
}

fn policy(kind: PolicyKind, value: i32, secs: u64) -> Policy {
    Policy {
        kind,
        value,
        period: Duration::from_secs(secs),
    }
}

impl Rules {
    /// Scale-up: no window; 100% or 4 pods per 15 s, whichever is more.
    pub fn scale_up(r: Option<&HPAScalingRules>) -> Rules {
        Rules::from_api(
            r,
            Duration::ZERO,
            vec![
                policy(PolicyKind::Percent, 100, 15),
                policy(PolicyKind::Pods, 4, 15),
            ],
        )
    }

    /// Scale-down: the controller's window; 100% per 15 s.
    pub fn scale_down(r: Option<&HPAScalingRules>) -> Rules {
        Rules::from_api(
            r,
            DOWNSCALE_STABILIZATION,
            vec![policy(PolicyKind::Percent, 100, 15)],
        )
    }

    fn from_api(r: Option<&HPAScalingRules>, window: Duration, policies: Vec<Policy>) -> Rules {
        let window = r
            .and_then(|r| r.stabilization_window_seconds)
            .map_or(window, |s| Duration::from_secs(s.max(0) as u64));
        let select = match r.and_then(|r| r.select_policy.as_deref()) {
            Some("Min") => Select::Min,
            Some("Disabled") => Select::Disabled,
            _ => Select::Max,
        };
        let given: Vec<Policy> = r
            .and_then(|r| r.policies.as_ref())
            .map(|ps| ps.iter().filter_map(from_api_policy).collect())
            .unwrap_or_default();
        Rules {
            window,
            select,
            policies: if given.is_empty() { policies } else { given },
        }
    }
}

fn from_api_policy(p: &HPAScalingPolicy) -> Option<Policy> {
    let kind = match p.type_.as_str() {
        "Pods" => PolicyKind::Pods,
        "Percent" => PolicyKind::Percent,
        _ => return None,
    };
    Some(policy(kind, p.value, p.period_seconds.max(1) as u64))
}

/// Both directions' rules of one HPA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behavior {
    pub up: Rules,
    pub down: Rules,
}

impl Behavior {
    pub fn from_api(
        b: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerBehavior,
    ) -> Behavior {
        Behavior {
            up: Rules::scale_up(b.scale_up.as_ref()),
            down: Rules::scale_down(b.scale_down.as_ref()),
        }
    }
}

/// What one HPA remembers between syncs.
#[derive(Debug, Default, Clone)]
pub struct History {
    recommendations: Vec<(Instant, i32)>,
    scale_ups: Vec<(Instant, i32)>,
    scale_downs: Vec<(Instant, i32)>,
}

/// A condition as (reason, message).
pub type Said = (&'static str, &'static str);

const READY: Said = ("ReadyForNewScale", "recommended size matches current size");
const DOWN_STABILIZED: Said = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
);
const UP_STABILIZED: Said = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
);
const WITHIN_RANGE: Said = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);
const TOO_MANY: Said = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const TOO_FEW: Said = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);
const UP_LIMIT: Said = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const DOWN_LIMIT: Said = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);

/// The count to set, with the AbleToScale condition (always True here)
/// and the ScalingLimited one (True when the limits changed the count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub replicas: i32,
    pub able: Said,
    pub limited: bool,
    pub limit: Said,
}

fn within(now: Instant, t: Instant, window: Duration) -> bool {
    now.saturating_duration_since(t) < window
}

impl History {
    /// Without `spec.behavior`: the highest recommendation within the
    /// downscale window, then at most max(2 * current, 4) and the bounds.
    pub fn normalize(
        &mut self,
        now: Instant,
        current: i32,
        proposed: i32,
        min: i32,
        max: i32,
    ) -> Outcome {
        let window = DOWNSCALE_STABILIZATION;
        self.recommendations
            .retain(|(t, _)| within(now, *t, window));
        let stabilized = self
            .recommendations
            .iter()
            .map(|(_, r)| *r)
            .fold(proposed, i32::max);
        self.recommendations.push((now, proposed));
        let able = if stabilized != proposed {
            DOWN_STABILIZED
        } else {
            READY
        };
        let up_limit = (2 * current).max(4);
        let (ceiling, over) = if max > up_limit {
            (up_limit, UP_LIMIT)
        } else {
            (max, TOO_MANY)
        };
        let (replicas, limit) = if stabilized < min {
            (min, TOO_FEW)
        } else if stabilized > ceiling {
            (ceiling, over)
        } else {
            (stabilized, WITHIN_RANGE)
        };
        Outcome {
            replicas,
            able,
            limited: replicas != stabilized,
            limit,
        }
    }

    /// With `spec.behavior`: each direction's window, then its policies'
    /// rate over the recent scale events, then the bounds.
    pub fn normalize_with_behavior(
        &mut self,
        now: Instant,
        current: i32,
        proposed: i32,
        min: i32,
        max: i32,
        rules: &Behavior,
    ) -> Outcome {
        let (up, down) = (&rules.up, &rules.down);
        let (mut up_rec, mut down_rec) = (proposed, proposed);
        for (t, r) in &self.recommendations {
            if within(now, *t, up.window) {
                up_rec = up_rec.min(*r);
            }
            if within(now, *t, down.window) {
                down_rec = down_rec.max(*r);
            }
        }
        let keep = up.window.max(down.window);
        self.recommendations.retain(|(t, _)| within(now, *t, keep));
        self.recommendations.push((now, proposed));
        let stabilized = current.max(up_rec).min(down_rec);
        let able = if stabilized == proposed {
            READY
        } else if stabilized > proposed {
            DOWN_STABILIZED
        } else {
            UP_STABILIZED
        };
        let (replicas, limit) = if stabilized > current {
            let rate = self.scale_up_limit(now, current, up).max(current);
            let (ceiling, over) = if max > rate {
                (rate, UP_LIMIT)
            } else {
                (max, TOO_MANY)
            };
            if stabilized > ceiling {
                (ceiling, over)
            } else {
                (stabilized, WITHIN_RANGE)
            }
        } else if stabilized < current {
            let rate = self.scale_down_limit(now, current, down).min(current);
            let (floor, under) = if min < rate {
                (rate, DOWN_LIMIT)
            } else {
                (min, TOO_FEW)
            };
            if stabilized < floor {
                (floor, under)
            } else {
                (stabilized, WITHIN_RANGE)
            }
        } else {
            (stabilized, WITHIN_RANGE)
        };
        Outcome {
            replicas,
            able,
            limited: replicas != stabilized,
            limit,
        }
    }

    /// Remembers a rescale, for the policies' rates.
    pub fn record_scale(&mut self, now: Instant, from: i32, to: i32) {
        for events in [&mut self.scale_ups, &mut self.scale_downs] {
            events.retain(|(t, _)| within(now, *t, MAX_POLICY_PERIOD));
        }
        if to > from {
            self.scale_ups.push((now, to - from));
        } else if to < from {
            self.scale_downs.push((now, from - to));
        }
    }

    fn changed_within(events: &[(Instant, i32)], now: Instant, period: Duration) -> i32 {
        events
            .iter()
            .filter(|(t, _)| within(now, *t, period))
            .map(|(_, n)| *n)
            .sum()
    }

    /// The replica count at the start of the policy's period.
    fn period_start(&self, now: Instant, current: i32, p: &Policy) -> i32 {
        current - Self::changed_within(&self.scale_ups, now, p.period)
            + Self::changed_within(&self.scale_downs, now, p.period)
    }

    fn scale_up_limit(&self, now: Instant, current: i32, rules: &Rules) -> i32 {
        let proposals = rules.policies.iter().map(|p| {
            let start = self.period_start(now, current, p);
            match p.kind {
                PolicyKind::Pods => start + p.value,
                PolicyKind::Percent => {
                    (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32
                }
            }
        });
        match rules.select {
            Select::Disabled => current,
            Select::Min => proposals.min().unwrap_or(current),
            Select::Max => proposals.max().unwrap_or(current),
        }
    }

    fn scale_down_limit(&self, now: Instant, current: i32, rules: &Rules) -> i32 {
        let proposals = rules.policies.iter().map(|p| {
            let start = self.period_start(now, current, p);
            match p.kind {
                PolicyKind::Pods => start - p.value,
                PolicyKind::Percent => {
                    (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32
                }
            }
        });
        // Max selects the policy allowing the biggest change: the lowest
        // floor.
        match rules.select {
            Select::Disabled => current,
            Select::Min => proposals.max().unwrap_or(current),
            Select::Max => proposals.min().unwrap_or(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn scale_down_waits_for_the_window() {
        let t0 = Instant::now();
        let mut h = History::default();
        let o = h.normalize(t0, 4, 8, 1, 10);
        assert_eq!((o.replicas, o.limited), (8, false));
        assert_eq!(o.able.0, "ReadyForNewScale");
        // Two minutes later usage drops: the 8 of two minutes ago wins.
        let o = h.normalize(t0 + 120 * S, 8, 2, 1, 10);
        assert_eq!(o.replicas, 8);
        assert_eq!(o.able.0, "ScaleDownStabilized");
        // After the window the low recommendations are all that is left.
        let o = h.normalize(t0 + 421 * S, 8, 2, 1, 10);
        assert_eq!(o.replicas, 2);
    }

    #[test]
    fn without_behavior_scale_up_is_at_most_double_or_four() {
        let mut h = History::default();
        let o = h.normalize(Instant::now(), 1, 20, 1, 10);
        assert_eq!(
            (o.replicas, o.limited, o.limit.0),
            (4, true, "ScaleUpLimit")
        );
        let o = h.normalize(Instant::now(), 8, 20, 1, 10);
        assert_eq!((o.replicas, o.limit.0), (10, "TooManyReplicas"));
        let mut h = History::default();
        let o = h.normalize(Instant::now(), 3, 1, 2, 10);
        assert_eq!((o.replicas, o.limit.0), (2, "TooFewReplicas"));
    }

    fn rules(window: u64, policies: Vec<Policy>) -> Rules {
        Rules {
            window: Duration::from_secs(window),
            select: Select::Max,
            policies,
        }
    }

    #[test]
    fn behavior_windows_and_policies() {
        let b = Behavior {
            up: Rules::scale_up(None),
            down: rules(5, vec![policy(PolicyKind::Pods, 1, 60)]),
        };
        let t0 = Instant::now();
        let mut h = History::default();
        // 2 -> 10 wanted: 100% or 4 pods, whichever is more: 6.
        let o = h.normalize_with_behavior(t0, 2, 10, 1, 20, &b);
        assert_eq!(
            (o.replicas, o.limit.0, o.limited),
            (6, "ScaleUpLimit", true)
        );
        h.record_scale(t0, 2, 6);
        // Within the same 15 s the period started at 2: still 6.
        let o = h.normalize_with_behavior(t0 + S, 6, 10, 1, 20, &b);
        assert_eq!(o.replicas, 6);
        // The 10 of a second ago holds a scale-down for 5 s.
        let o = h.normalize_with_behavior(t0 + 2 * S, 6, 1, 1, 20, &b);
        assert_eq!((o.replicas, o.able.0), (6, "ScaleDownStabilized"));
        // Within a minute of the scale-up the period started at 2 pods, so
        // one pod per minute allows going down to 1.
        let o = h
            .clone()
            .normalize_with_behavior(t0 + 8 * S, 6, 1, 1, 20, &b);
        assert_eq!((o.replicas, o.limited), (1, false));
        // Later, one pod per minute.
        let o = h.normalize_with_behavior(t0 + 70 * S, 6, 1, 1, 20, &b);
        assert_eq!((o.replicas, o.limit.0), (5, "ScaleDownLimit"));
        h.record_scale(t0 + 70 * S, 6, 5);
        let o = h.normalize_with_behavior(t0 + 71 * S, 5, 1, 1, 20, &b);
        assert_eq!(o.replicas, 5);
    }

    #[test]
    fn scale_up_window_takes_the_lowest() {
        let b = Behavior {
            up: rules(60, vec![policy(PolicyKind::Percent, 1000, 15)]),
            down: Rules::scale_down(None),
        };
        let t0 = Instant::now();
        let mut h = History::default();
        h.normalize_with_behavior(t0, 2, 2, 1, 20, &b);
        let o = h.normalize_with_behavior(t0 + S, 2, 9, 1, 20, &b);
        assert_eq!((o.replicas, o.able.0), (2, "ScaleUpStabilized"));
    }

    #[test]
    fn disabled_direction_never_moves() {
        let b = Behavior {
            up: Rules {
                select: Select::Disabled,
                ..Rules::scale_up(None)
            },
            down: Rules::scale_down(None),
        };
        let mut h = History::default();
        let o = h.normalize_with_behavior(Instant::now(), 3, 9, 1, 20, &b);
        assert_eq!(o.replicas, 3);
    }

    #[test]
    fn api_rules_fill_upstream_defaults() {
        let r = HPAScalingRules {
            stabilization_window_seconds: Some(5),
            ..Default::default()
        };
        let down = Rules::scale_down(Some(&r));
        assert_eq!(down.window, Duration::from_secs(5));
        assert_eq!(down.policies, [policy(PolicyKind::Percent, 100, 15)]);
        assert_eq!(Rules::scale_down(None).window, DOWNSCALE_STABILIZATION);
        assert_eq!(Rules::scale_up(None).window, Duration::ZERO);
    }
}
