//! Authentication: who is making a request. Authorization (RBAC) is a later
//! layer; until then every authenticated user may do everything.

use std::sync::Arc;

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
