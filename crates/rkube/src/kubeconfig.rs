//! The admin kubeconfig written to `<data-dir>/kubeconfig.yaml`.

use std::path::Path;

use base64::Engine;

use crate::pki::Pki;

/// Cluster, user and context are all named `rkube`. Written as YAML by
/// hand: every value is either base64 or a URL, so nothing needs quoting
/// beyond what is done here.
pub fn render(server: &str, pki: &Pki) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\n\
kind: Config\n\
clusters:\n\
- name: rkube\n  cluster:\n    server: \"{server}\"\n    certificate-authority-data: {ca}\n\
users:\n\
- name: rkube\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n\
contexts:\n\
- name: rkube\n  context:\n    cluster: rkube\n    user: rkube\n    namespace: default\n\
current-context: rkube\n\
preferences: {{}}\n",
        ca = b64(&pki.ca_pem),
        cert = b64(&pki.admin_cert_pem),
        key = b64(&pki.admin_key_pem),
    )
}

pub fn write(path: &Path, server: &str, pki: &Pki) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("yaml.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(render(server, pki).as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)?;
    Ok(())
}
