//! `rkube migrate`: copies a cluster's stored state between the embedded
//! store and etcd, in either direction.
//!
//! Every key under the API server's root is copied with its value as
//! stored. Uids, creation timestamps, owner references, finalizers and
//! everything else an object carries live inside the value, so they
//! survive; only resourceVersions change, since they are the destination's
//! revisions (clients re-list, as after an etcd restore). The source is read
//! at one revision, so the copy is a consistent snapshot even if a server
//! is still writing to an etcd source. Credentials are not storage: copy
//! `<data-dir>/pki` along when the destination is a new data directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use rkube_store::{Backend, RangeRequest, WriteOutcome};

use super::server::StorageArgs;

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// Where the state is now: a data directory (embedded store), or etcd
    /// client URLs (http://... or https://..., comma separated).
    #[arg(long)]
    pub from: String,
    /// Where to copy it: a data directory or etcd client URLs. It must hold
    /// no cluster state yet.
    #[arg(long)]
    pub to: String,
    /// The etcd key prefix, as the API servers' --etcd-prefix.
    #[arg(long, default_value = "/registry")]
    pub etcd_prefix: String,
    #[arg(long)]
    pub etcd_cafile: Option<PathBuf>,
    #[arg(long)]
    pub etcd_certfile: Option<PathBuf>,
    #[arg(long)]
    pub etcd_keyfile: Option<PathBuf>,
}

/// The API server's root, under which every object is stored.
const ROOT: &str = "/registry/";
/// Keys read per page of the source.
const PAGE: usize = 500;
/// Creates in flight at once on the destination.
const IN_FLIGHT: usize = 32;

fn is_etcd(place: &str) -> bool {
    place.starts_with("http://") || place.starts_with("https://")
}

impl MigrateArgs {
    async fn open(&self, place: &str) -> anyhow::Result<Arc<dyn Backend>> {
        let storage = StorageArgs {
            etcd_servers: if is_etcd(place) {
                place.split(',').map(str::to_owned).collect()
            } else {
                Vec::new()
            },
            etcd_prefix: self.etcd_prefix.clone(),
            etcd_cafile: self.etcd_cafile.clone(),
            etcd_certfile: self.etcd_certfile.clone(),
            etcd_keyfile: self.etcd_keyfile.clone(),
        };
        if storage.uses_etcd() {
            let backend = rkube_store::etcd::EtcdBackend::connect(storage.etcd_options()?)
                .await
                .map_err(|e| anyhow::anyhow!("connecting to etcd at {place}: {e}"))?;
            backend
                .ready()
                .await
                .map_err(|e| anyhow::anyhow!("etcd at {place}: {e}"))?;
            return Ok(backend);
        }
        let dir = PathBuf::from(place);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let backend = rkube_store::embedded::EmbeddedBackend::open(&dir.join("state.redb"))
            .await
            // A running server holds the file; the message says which.
            .map_err(|e| {
                anyhow::anyhow!("opening {}: {e} (stop its server first)", dir.display())
            })?;
        Ok(backend)
    }
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let source = args.open(&args.from).await?;
    let target = args.open(&args.to).await?;
    let existing = target
        .range(RangeRequest {
            prefix: ROOT.into(),
            count_only: true,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", args.to))?;
    anyhow::ensure!(
        existing.count == 0,
        "{} already holds {} keys; migrate only into an empty store",
        args.to,
        existing.count
    );
    let revision = source
        .current_revision()
        .await
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", args.from))?;
    let mut copied = 0u64;
    let mut start_after = None;
    loop {
        let page = source
            .range(RangeRequest {
                prefix: ROOT.into(),
                start_after: start_after.clone(),
                limit: PAGE,
                revision,
                count_only: false,
            })
            .await
            .map_err(|e| anyhow::anyhow!("reading {} at revision {revision}: {e}", args.from))?;
        start_after = page.kvs.last().map(|kv| kv.key.clone());
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(page.kvs)
            .map(|kv| {
                let target = Arc::clone(&target);
                async move {
                    match target.create(&kv.key, kv.value).await {
                        Ok(WriteOutcome::Written { .. }) => Ok(()),
                        Ok(WriteOutcome::Conflict { .. }) => {
                            anyhow::bail!("{} appeared in the destination meanwhile", kv.key)
                        }
                        Err(e) => anyhow::bail!("writing {}: {e}", kv.key),
                    }
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for r in results {
            r?;
            copied += 1;
        }
        if !page.more {
            break;
        }
    }
    println!(
        "copied {copied} keys from {} (revision {revision}) to {}",
        args.from, args.to
    );
    Ok(())
}
