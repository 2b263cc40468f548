//! The cluster's credentials, made on first start and reused after: a CA,
//! the serving certificate, the admin client certificate (O=system:masters)
//! and the admin bearer token, all under `<data-dir>/pki`.

use std::fs;
use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

pub struct Pki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
    pub admin_token: String,
    /// The service-account signing key (PKCS#8 P-256, PEM).
    pub sa_key_pem: String,
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, "rkube-ca");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Pki {
    /// Load the credentials from `data_dir`, creating what is missing.
    /// `hosts` are the serving certificate's names and addresses.
    pub fn load_or_create(data_dir: &Path, hosts: &[String]) -> anyhow::Result<Pki> {
        let dir = data_dir.join("pki");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let ca_crt = dir.join("ca.crt");
        let ca_key = dir.join("ca.key");
        if !ca_crt.exists() || !ca_key.exists() {
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            write_private(&ca_key, &key.serialize_pem())?;
            write_private(&ca_crt, &cert.pem())?;
        }
        let ca_pem = fs::read_to_string(&ca_crt)?;
        let ca_key_pair = KeyPair::from_pem(&fs::read_to_string(&ca_key)?)?;
        let issuer = Issuer::new(ca_params()?, ca_key_pair);

        let server_crt = dir.join("apiserver.crt");
        let server_key = dir.join("apiserver.key");
        let hosts_file = dir.join("apiserver.hosts");
        let wanted_hosts = hosts.join(",");
        let same_hosts =
            fs::read_to_string(&hosts_file).ok().as_deref() == Some(wanted_hosts.as_str());
        if !server_crt.exists() || !server_key.exists() || !same_hosts {
            let key = KeyPair::generate()?;
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.distinguished_name
                .push(DnType::CommonName, "kube-apiserver");
            for h in hosts {
                match h.parse::<std::net::IpAddr>() {
                    Ok(ip) => p.subject_alt_names.push(SanType::IpAddress(ip)),
                    Err(_) => p
                        .subject_alt_names
                        .push(SanType::DnsName(h.clone().try_into()?)),
                }
            }
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            let cert = p.signed_by(&key, &issuer)?;
            write_private(&server_key, &key.serialize_pem())?;
            write_private(&server_crt, &cert.pem())?;
            write_private(&hosts_file, &wanted_hosts)?;
        }

        let admin_crt = dir.join("admin.crt");
        let admin_key = dir.join("admin.key");
        if !admin_crt.exists() || !admin_key.exists() {
            let key = KeyPair::generate()?;
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.distinguished_name
                .push(DnType::CommonName, "kubernetes-admin");
            p.distinguished_name
                .push(DnType::OrganizationName, "system:masters");
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            let cert = p.signed_by(&key, &issuer)?;
            write_private(&admin_key, &key.serialize_pem())?;
            write_private(&admin_crt, &cert.pem())?;
        }

        let token_file = dir.join("admin.token");
        if !token_file.exists() {
            write_private(&token_file, &random_token())?;
        }
        let sa_key = dir.join("sa.key");
        if !sa_key.exists() {
            write_private(&sa_key, &KeyPair::generate()?.serialize_pem())?;
        }
        Ok(Pki {
            sa_key_pem: fs::read_to_string(&sa_key)?,
            ca_pem,
            server_cert_pem: fs::read_to_string(&server_crt)?,
            server_key_pem: fs::read_to_string(&server_key)?,
            admin_cert_pem: fs::read_to_string(&admin_crt)?,
            admin_key_pem: fs::read_to_string(&admin_key)?,
            admin_token: fs::read_to_string(&token_file)?.trim().to_string(),
        })
    }

    /// Signs and checks service-account tokens; `issuer` is the `iss` of
    /// bound tokens.
    pub fn service_account_tokens(
        &self,
        issuer: &str,
    ) -> anyhow::Result<rkube_apiserver::auth::serviceaccount::ServiceAccountTokens> {
        service_account_tokens(&self.sa_key_pem, issuer)
    }

    /// TLS 1.2+ with HTTP/2 and HTTP/1.1 by ALPN; client certificates are
    /// optional and, when sent, must chain to the cluster CA.
    pub fn server_tls(&self) -> anyhow::Result<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
                .collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(ca?)?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(cfg)
    }
}

/// The service-account token signer for a PKCS#8 P-256 key in PEM (the
/// API server's `pki/sa.key`, or kube-controller-manager's
/// `--service-account-private-key-file`).
pub fn service_account_tokens(
    sa_key_pem: &str,
    issuer: &str,
) -> anyhow::Result<rkube_apiserver::auth::serviceaccount::ServiceAccountTokens> {
    use rcgen::PublicKeyData;
    let key = KeyPair::from_pem(sa_key_pem)?;
    rkube_apiserver::auth::serviceaccount::ServiceAccountTokens::new(
        sa_key_pem,
        &key.public_key_pem(),
        &key.subject_public_key_info(),
        key.der_bytes(),
        issuer,
    )
}
