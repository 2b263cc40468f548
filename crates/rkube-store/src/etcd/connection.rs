//! Connecting to etcd, mapping keys into its keyspace, and turning its
//! failures into [`StoreError`]s that the API server can answer with.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};

use crate::backend::StoreError;

/// Where etcd is and how to talk to it.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client URLs (`http://host:2379` or `https://...`); requests are
    /// balanced over them, so losing one member is survived.
    pub endpoints: Vec<String>,
    /// Every key this backend is given starts with `key_root` (the API
    /// server's `/registry`), which is replaced by `prefix` in etcd. This is
    /// what kube-apiserver's `--etcd-prefix` does: with the defaults a Pod
    /// lives at `/registry/pods/<namespace>/<name>` exactly as there, and
    /// several clusters can share one etcd under different prefixes.
    pub key_root: String,
    pub prefix: String,
    pub tls: Option<EtcdTls>,
    /// Bound on establishing a connection to one member.
    pub dial_timeout: Duration,
    /// Bound on every request, so that an unreachable or leaderless etcd
    /// gives a prompt [`StoreError::Unavailable`] instead of a hung request.
    pub request_timeout: Duration,
}

impl EtcdOptions {
    pub fn new(endpoints: Vec<String>) -> EtcdOptions {
        EtcdOptions {
            endpoints,
            key_root: String::new(),
            prefix: String::new(),
            tls: None,
            dial_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// PEM files for a TLS connection: the CA that signed etcd's serving
/// certificate, and optionally a client certificate for etcd's
/// `--client-cert-auth`.
#[derive(Debug, Clone, Default)]
pub struct EtcdTls {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// The bijection between the backend's keys and etcd's.
#[derive(Debug, Clone)]
pub(crate) struct KeyMap {
    root: String,
    prefix: String,
}

impl KeyMap {
    pub(crate) fn new(root: &str, prefix: &str) -> KeyMap {
        KeyMap {
            root: root.to_owned(),
            prefix: prefix.to_owned(),
        }
    }

    pub(crate) fn etcd_key(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let rest = key.strip_prefix(self.root.as_str()).ok_or_else(|| {
            StoreError::Internal(format!("key {key:?} is outside {:?}", self.root))
        })?;
        let mut out = Vec::with_capacity(self.prefix.len() + rest.len());
        out.extend_from_slice(self.prefix.as_bytes());
        out.extend_from_slice(rest.as_bytes());
        Ok(out)
    }

    pub(crate) fn api_key(&self, key: &[u8]) -> Result<String, StoreError> {
        let rest = key
            .strip_prefix(self.prefix.as_bytes())
            .ok_or_else(|| StoreError::Internal("etcd returned a key outside the prefix".into()))?;
        let rest = std::str::from_utf8(rest)
            .map_err(|_| StoreError::Internal("etcd returned a key that is not UTF-8".into()))?;
        Ok(format!("{}{rest}", self.root))
    }

    /// Whether a backend key can be stored at all (a range over a prefix
    /// that sorts after every mapped key is simply empty).
    pub(crate) fn contains(&self, key: &str) -> bool {
        key.starts_with(self.root.as_str())
    }

    /// The etcd key range of everything under this backend's root.
    pub(crate) fn whole(&self) -> (Vec<u8>, Vec<u8>) {
        let start = self.prefix.as_bytes().to_vec();
        let end = prefix_end(&start);
        (start, end)
    }
}

/// The smallest key greater than every key starting with `prefix`, as etcd
/// spells it: `"\0"` means "no upper bound".
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// How an etcd call failed, before the caller adds what it knows (the
/// revision it asked for) to make a [`StoreError`].
#[derive(Debug)]
pub(crate) enum Failure {
    Compacted,
    FutureRevision,
    Store(StoreError),
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> StoreError {
        match f {
            Failure::Compacted => StoreError::Internal("revision compacted".into()),
            Failure::FutureRevision => StoreError::Internal("future revision".into()),
            Failure::Store(e) => e,
        }
    }
}

/// etcd's gRPC errors carry their meaning in the message (both revision
/// errors share the OutOfRange code); transport trouble, deadlines and the
/// cluster being without a leader are all "try again later".
pub(crate) fn classify(error: etcd_client::Error) -> Failure {
    use tonic::Code;
    match error {
        etcd_client::Error::GRpcStatus(status) => {
            let message = status.message();
            if message.contains("required revision has been compacted") {
                return Failure::Compacted;
            }
            if message.contains("required revision is a future revision") {
                return Failure::FutureRevision;
            }
            let unavailable = matches!(
                status.code(),
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted
            ) || message.contains("leader")
                || message.contains("timed out")
                || message.contains("transport");
            let mut text = format!("etcd: {message}");
            let mut source = std::error::Error::source(&status);
            while let Some(e) = source {
                text.push_str(&format!(": {e}"));
                source = e.source();
            }
            Failure::Store(if unavailable {
                StoreError::Unavailable(text)
            } else {
                StoreError::Internal(text)
            })
        }
        etcd_client::Error::TransportError(e) => {
            Failure::Store(StoreError::Unavailable(format!("etcd: {e}")))
        }
        etcd_client::Error::IoError(e) => {
            Failure::Store(StoreError::Unavailable(format!("etcd: {e}")))
        }
        etcd_client::Error::WatchError(e) => {
            Failure::Store(StoreError::Unavailable(format!("etcd watch: {e}")))
        }
        other => Failure::Store(StoreError::Internal(format!("etcd: {other}"))),
    }
}

/// Runs one etcd request with the request deadline.
pub(crate) async fn bounded<T>(
    timeout: Duration,
    what: &str,
    call: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(e)),
        Err(_) => Err(Failure::Store(StoreError::Unavailable(format!(
            "etcd did not answer {what} within {timeout:?}"
        )))),
    }
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path)
        .map_err(|e| StoreError::Unavailable(format!("reading {}: {e}", path.display())))
}

fn tls_options(tls: &EtcdTls) -> Result<TlsOptions, StoreError> {
    let mut options = TlsOptions::new();
    if let Some(ca) = &tls.ca_file {
        options = options.ca_certificate(Certificate::from_pem(read_pem(ca)?));
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            options = options.identity(Identity::from_pem(read_pem(cert)?, read_pem(key)?));
        }
        (None, None) => {}
        _ => {
            return Err(StoreError::Unavailable(
                "an etcd client certificate needs both the certificate and the key file".into(),
            ));
        }
    }
    Ok(options)
}

/// Makes the client. Nothing is sent yet: etcd may come up later, and until
/// then requests fail with [`StoreError::Unavailable`].
pub(crate) async fn connect(options: &EtcdOptions) -> Result<Client, StoreError> {
    if options.endpoints.is_empty() {
        return Err(StoreError::Unavailable("no etcd endpoint given".into()));
    }
    let mut connect = ConnectOptions::new()
        .with_connect_timeout(options.dial_timeout)
        .with_timeout(options.request_timeout)
        .with_keep_alive(Duration::from_secs(10), options.request_timeout)
        // A member cut off from the quorum must not keep serving a watch
        // that silently stops: etcd then ends it and we resume elsewhere.
        .with_require_leader(true);
    let mut endpoints = options.endpoints.clone();
    if let Some(tls) = &options.tls {
        connect = connect.with_tls(tls_options(tls)?);
        // etcd-client only applies TLS to scheme-less or https URLs.
        for e in &mut endpoints {
            if let Some(rest) = e.strip_prefix("http://") {
                *e = format!("https://{rest}");
            }
        }
    }
    Client::connect(&endpoints, Some(connect))
        .await
        .map_err(|e| Failure::Store(StoreError::Unavailable(format!("etcd: {e}"))).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_that_can_be() {
        assert_eq!(prefix_end(b"/a/"), b"/a0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
    }

    #[test]
    fn keys_map_both_ways() {
        let m = KeyMap::new("/registry", "/tenant-a");
        assert_eq!(m.etcd_key("/registry/pods/x").unwrap(), b"/tenant-a/pods/x");
        assert_eq!(m.api_key(b"/tenant-a/pods/x").unwrap(), "/registry/pods/x");
        assert!(m.etcd_key("/other").is_err());
        let same = KeyMap::new("/registry", "/registry");
        assert_eq!(
            same.etcd_key("/registry/pods/x").unwrap(),
            b"/registry/pods/x"
        );
    }
}
