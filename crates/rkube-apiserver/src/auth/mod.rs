//! Authentication: who is making a request. Authorization (RBAC) is a later
//! layer; until then every authenticated user may do everything.

use std::sync::Arc;

pub mod serviceaccount;

/// The authenticated user, as upstream's `user.Info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn anonymous() -> Self {
        UserInfo {
            name: "system:anonymous".into(),
            uid: String::new(),
            groups: vec!["system:unauthenticated".into()],
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.name != "system:anonymous"
    }
}

/// Checks bearer tokens. The static admin token is one implementation;
/// service-account JWTs are another (added with the token controller).
pub trait TokenAuthenticator: Send + Sync {
    fn authenticate(&self, token: &str) -> Option<UserInfo>;
}

/// Tokens from a fixed table, like kube-apiserver's `--token-auth-file`.
pub struct StaticTokens {
    tokens: Vec<(String, UserInfo)>,
}

impl StaticTokens {
    pub fn new(tokens: Vec<(String, UserInfo)>) -> Self {
        StaticTokens { tokens }
    }
}

impl TokenAuthenticator for StaticTokens {
    fn authenticate(&self, token: &str) -> Option<UserInfo> {
        // Compare every entry in full so timing does not reveal a prefix.
        let mut found = None;
        for (t, user) in &self.tokens {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(user.clone());
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// All token authenticators, tried in order.
#[derive(Clone, Default)]
pub struct Authenticators {
    pub tokens: Vec<Arc<dyn TokenAuthenticator>>,
    /// Service-account JWTs; checked against stored objects by the server.
    pub service_accounts: Option<Arc<serviceaccount::ServiceAccountTokens>>,
}

impl Authenticators {
    pub fn token(&self, token: &str) -> Option<UserInfo> {
        self.tokens.iter().find_map(|a| a.authenticate(token))
    }
}

/// The user a verified client certificate names: CN is the user, each O a
/// group, as kube-apiserver's x509 authenticator reads them.
pub fn user_from_certificate(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())?
        .to_string();
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    groups.push("system:authenticated".into());
    Some(UserInfo {
        name,
        uid: String::new(),
        groups,
    })
}

/// Whether the objects a service-account token names still exist with the
/// uids it names: a token dies with its ServiceAccount, its Secret (legacy
/// tokens must also still be the Secret's token) or its Pod.
pub async fn bound_objects_exist(
    app: &crate::handlers::App,
    verified: &serviceaccount::Verified,
    token: &str,
) -> bool {
    use base64::Engine;
    use rkube_api::catalogue::lookup;
    use serviceaccount::Verified;
    let get = |plural: &'static str, ns: String, name: String| async move {
        let def = lookup("", "v1", plural)?;
        app.registry.get(def, Some(&ns), &name).await.ok()
    };
    let uid_is = |obj: &Option<serde_json::Value>, uid: &str| {
        obj.as_ref().is_some_and(|o| {
            o["metadata"]["uid"] == uid && !o["metadata"]["deletionTimestamp"].is_string()
        })
    };
    match verified {
        Verified::Legacy(c) => {
            let sa = get(
                "serviceaccounts",
                c.namespace.clone(),
                c.service_account_name.clone(),
            )
            .await;
            if !uid_is(&sa, &c.service_account_uid) {
                return false;
            }
            let secret = get("secrets", c.namespace.clone(), c.secret_name.clone()).await;
            let encoded = base64::engine::general_purpose::STANDARD.encode(token);
            secret.is_some_and(|s| s["data"]["token"] == encoded.as_str())
        }
        Verified::Bound(c) => {
            let k = &c.kubernetes;
            let sa = get(
                "serviceaccounts",
                k.namespace.clone(),
                k.serviceaccount.name.clone(),
            )
            .await;
            if !uid_is(&sa, &k.serviceaccount.uid) {
                return false;
            }
            if let Some(p) = &k.pod
                && !uid_is(
                    &get("pods", k.namespace.clone(), p.name.clone()).await,
                    &p.uid,
                )
            {
                return false;
            }
            if let Some(s) = &k.secret
                && !uid_is(
                    &get("secrets", k.namespace.clone(), s.name.clone()).await,
                    &s.uid,
                )
            {
                return false;
            }
            true
        }
    }
}
