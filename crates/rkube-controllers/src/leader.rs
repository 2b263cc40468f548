//! Leader election over a `coordination.k8s.io/v1` Lease, so that several
//! controller managers can run against one cluster with one acting at a
//! time. The leader renews the Lease every `retry_period`; the others
//! take it over once it has not been renewed for `lease_duration`. A
//! leader that cannot renew within `renew_deadline` stops its
//! controllers and competes again; one that shuts down releases the
//! Lease so another takes over at once.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::Api;
use kube::{Client, ResourceExt};
use tokio::sync::oneshot;

use crate::runtime::Shutdown;
use crate::util::{api_code, post_params};

#[derive(Clone, Debug)]
pub struct LeaderElection {
    /// The Lease's namespace and name.
    pub namespace: String,
    pub name: String,
    /// Who we are (host name and a random suffix, as upstream).
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaderElection {
    /// kube-controller-manager's defaults: Lease
    /// `kube-system/kube-controller-manager`, 15 s / 10 s / 2 s.
    pub fn controller_manager(identity: impl Into<String>) -> LeaderElection {
        LeaderElection {
            namespace: "kube-system".into(),
            name: "kube-controller-manager".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// kube-scheduler's election: Lease `kube-system/kube-scheduler`, with
    /// the same timings as the controller manager's.
    pub fn scheduler(identity: impl Into<String>) -> LeaderElection {
        LeaderElection {
            name: "kube-scheduler".into(),
            ..LeaderElection::controller_manager(identity)
        }
    }
}

/// A holder identity unique to this process: the host name and a random
/// suffix, as upstream's components write it, so that two processes on
/// one host never both believe they hold the Lease.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "rkube".into());
    format!("{host}_{:016x}", rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS per process: enough to tell two
    // processes apart without another dependency.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// What one attempt on the Lease found.
enum Attempt {
    /// We hold the Lease now.
    Held,
    /// Someone else holds it; it expires after this long unless renewed.
    Taken(Option<Duration>),
}

/// Try once to take or renew the Lease.
async fn try_acquire(api: &Api<Lease>, e: &LeaderElection) -> kube::Result<Attempt> {
    let seconds = e.lease_duration.as_secs().max(1) as i32;
    let Some(lease) = api.get_opt(&e.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(e.name.clone()),
                namespace: Some(e.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(e.identity.clone()),
                lease_duration_seconds: Some(seconds),
                acquire_time: Some(micro_now()),
                renew_time: Some(micro_now()),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        return match api.create(&post_params(), &lease).await {
            Ok(_) => Ok(Attempt::Held),
            Err(err) if api_code(&err) == Some(409) => Ok(Attempt::Taken(None)),
            Err(err) => Err(err),
        };
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let ours = holder == e.identity;
    if !ours && !holder.is_empty() {
        let duration =
            SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(seconds)));
        if let Some(renewed) = &spec.renew_time {
            let left = (renewed.0 + duration).duration_since(Timestamp::now());
            if left.is_positive() {
                return Ok(Attempt::Taken(left.try_into().ok()));
            }
        }
    }
    let mut next = lease.clone();
    let s = next.spec.get_or_insert_with(Default::default);
    if !ours {
        s.holder_identity = Some(e.identity.clone());
        s.acquire_time = Some(micro_now());
        s.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    s.lease_duration_seconds = Some(seconds);
    s.renew_time = Some(micro_now());
    match api.replace(&lease.name_any(), &post_params(), &next).await {
        Ok(_) => Ok(Attempt::Held),
        Err(err) if api_code(&err) == Some(409) => Ok(Attempt::Taken(None)),
        Err(err) => Err(err),
    }
}

/// Give the Lease up (only if we hold it).
async fn release(api: &Api<Lease>, e: &LeaderElection) {
    let Ok(Some(mut lease)) = api.get_opt(&e.name).await else {
        return;
    };
    let Some(s) = lease.spec.as_mut() else { return };
    if s.holder_identity.as_deref() != Some(e.identity.as_str()) {
        return;
    }
    s.holder_identity = None;
    s.lease_duration_seconds = Some(1);
    s.renew_time = Some(micro_now());
    let _ = api.replace(&e.name, &post_params(), &lease).await;
}

/// Run `lead` whenever this process holds the Lease, until `shutdown`.
/// `lead` gets a future that completes when leadership is lost or on
/// shutdown, and must return once it does.
pub async fn run_elected<F, Fut>(
    client: Client,
    election: LeaderElection,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut lead: F,
) -> anyhow::Result<()>
where
    F: FnMut(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let outer = Shutdown::from_future(shutdown);
    let api: Api<Lease> = Api::namespaced(client, &election.namespace);
    loop {
        // Wait to become the leader.
        loop {
            let mut sd = outer.clone();
            if sd.is_set() {
                return Ok(());
            }
            // Try again after the retry period, or just after the
            // holder's Lease runs out if that is sooner, so a dead
            // leader is replaced within the Lease's duration.
            let wait = match try_acquire(&api, &election).await {
                Ok(Attempt::Held) => break,
                Ok(Attempt::Taken(Some(left))) => {
                    election.retry_period.min(left + Duration::from_millis(5))
                }
                Ok(Attempt::Taken(None)) => election.retry_period,
                Err(e) => {
                    tracing::debug!("leader election: {e}");
                    election.retry_period
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = sd.wait() => return Ok(()),
            }
        }
        tracing::info!(
            "{} became leader of {}/{}",
            election.identity,
            election.namespace,
            election.name
        );
        let (lost_tx, lost_rx) = oneshot::channel::<()>();
        let renew = {
            let api = api.clone();
            let e = election.clone();
            let mut sd = outer.clone();
            tokio::spawn(async move {
                let mut last = tokio::time::Instant::now();
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(e.retry_period) => {}
                        _ = sd.wait() => return,
                    }
                    match try_acquire(&api, &e).await {
                        Ok(Attempt::Held) => last = tokio::time::Instant::now(),
                        Ok(Attempt::Taken(_)) => break,
                        Err(err) => tracing::debug!("renewing lease: {err}"),
                    }
                    if last.elapsed() > e.renew_deadline {
                        break;
                    }
                }
                let _ = lost_tx.send(());
            })
        };
        let mut sd = outer.clone();
        let stop: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
            tokio::select! {
                _ = sd.wait() => {}
                _ = lost_rx => {}
            }
        });
        let result = lead(stop).await;
        renew.abort();
        if outer.is_set() {
            release(&api, &election).await;
            return result;
        }
        tracing::warn!(
            "{} lost leadership of {}/{}",
            election.identity,
            election.namespace,
            election.name
        );
        result?;
    }
}
