//! Service-account tokens: JWTs signed with the cluster's key (ES256),
//! issued for legacy token Secrets and for TokenRequests, and checked on
//! every request that presents one. A token only authenticates while what
//! it is bound to (its Secret, its ServiceAccount, its Pod) still exists
//! with the uid the token names.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;

use super::UserInfo;

/// The issuer legacy Secret tokens carry, as upstream's.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// Claims of a legacy Secret-based token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LegacyClaims {
    pub iss: String,
    pub sub: String,
    #[serde(rename = "kubernetes.io/serviceaccount/namespace")]
    pub namespace: String,
    #[serde(rename = "kubernetes.io/serviceaccount/secret.name")]
    pub secret_name: String,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.name")]
    pub service_account_name: String,
    #[serde(rename = "kubernetes.io/serviceaccount/service-account.uid")]
    pub service_account_uid: String,
}

/// An object a bound token names (the ServiceAccount, and a Pod or Secret
/// whose deletion ends the token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ref {
    pub name: String,
    pub uid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KubernetesClaims {
    pub namespace: String,
    pub serviceaccount: Ref,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pod: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret: Option<Ref>,
}

/// Claims of a bound token (TokenRequest).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
}

/// What a verified token says; the caller checks the named objects.
#[derive(Debug, Clone)]
pub enum Verified {
    Legacy(LegacyClaims),
    Bound(BoundClaims),
}

impl Verified {
    pub fn user(&self) -> UserInfo {
        let (ns, name, uid) = match self {
            Verified::Legacy(c) => (
                &c.namespace,
                &c.service_account_name,
                &c.service_account_uid,
            ),
            Verified::Bound(c) => (
                &c.kubernetes.namespace,
                &c.kubernetes.serviceaccount.name,
                &c.kubernetes.serviceaccount.uid,
            ),
        };
        UserInfo {
            name: format!("system:serviceaccount:{ns}:{name}"),
            uid: uid.clone(),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".into(),
            ],
        }
    }
}

pub struct ServiceAccountTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    jwk: Value,
    /// The `iss` of bound tokens (`--service-account-issuer`).
    pub issuer: String,
    /// The default audience of bound tokens.
    pub api_audience: String,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl ServiceAccountTokens {
    /// `private_pem` is a PKCS#8 P-256 key, `public_pem` its SPKI, and
    /// `public_point` the uncompressed point (0x04 || X || Y) for the JWKS.
    pub fn new(
        private_pem: &str,
        public_pem: &str,
        public_spki_der: &[u8],
        public_point: &[u8],
        issuer: &str,
    ) -> anyhow::Result<Self> {
        let encoding = EncodingKey::from_ec_pem(private_pem.as_bytes())?;
        let decoding = DecodingKey::from_ec_pem(public_pem.as_bytes())?;
        let kid = b64url(&sha2::Sha256::digest(public_spki_der));
        anyhow::ensure!(
            public_point.len() == 65 && public_point[0] == 4,
            "expected an uncompressed P-256 point"
        );
        let jwk = json!({
            "use": "sig",
            "kty": "EC",
            "kid": kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": b64url(&public_point[1..33]),
            "y": b64url(&public_point[33..]),
        });
        Ok(ServiceAccountTokens {
            encoding,
            decoding,
            kid,
            jwk,
            issuer: issuer.to_string(),
            api_audience: issuer.to_string(),
        })
    }

    fn header(&self) -> Header {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        h
    }

    pub fn issue_legacy(&self, claims: &LegacyClaims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &self.header(),
            claims,
            &self.encoding,
        )?)
    }

    pub fn issue_bound(&self, claims: &BoundClaims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &self.header(),
            claims,
            &self.encoding,
        )?)
    }

    /// Check the signature and the time claims; None if the token is not
    /// one of ours.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        // Peek at the issuer to pick the claim set.
        let payload = token.split('.').nth(1)?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let peek: Value = serde_json::from_slice(&raw).ok()?;
        let iss = peek["iss"].as_str()?;
        if iss == LEGACY_ISSUER {
            let mut v = Validation::new(Algorithm::ES256);
            v.required_spec_claims.clear();
            v.validate_exp = false;
            v.validate_aud = false;
            v.set_issuer(&[LEGACY_ISSUER]);
            let data = jsonwebtoken::decode::<LegacyClaims>(token, &self.decoding, &v).ok()?;
            return Some(Verified::Legacy(data.claims));
        }
        if iss == self.issuer {
            let mut v = Validation::new(Algorithm::ES256);
            v.set_issuer(&[self.issuer.as_str()]);
            v.set_audience(&[self.api_audience.as_str()]);
            v.validate_nbf = true;
            let data = jsonwebtoken::decode::<BoundClaims>(token, &self.decoding, &v).ok()?;
            return Some(Verified::Bound(data.claims));
        }
        None
    }

    /// `/openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// `/.well-known/openid-configuration`.
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }
}
