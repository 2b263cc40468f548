//! serviceaccounts/token: the TokenRequest API (`kubectl create token`),
//! issuing bound tokens with an audience and an expiry.

use rkube_api::catalogue::lookup;
use rkube_api::status::{ApiError, ApiResult, Cause};
use serde_json::{Value, json};

use super::{App, Ctx, Resp, body};
use crate::auth::serviceaccount::{BoundClaims, KubernetesClaims, Ref};
use crate::http::response;

/// Upstream's floor and default for expirationSeconds.
const MIN_EXPIRATION: i64 = 600;
const DEFAULT_EXPIRATION: i64 = 3600;

pub async fn request_token(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let issuer = app
        .service_accounts
        .as_ref()
        .ok_or_else(|| ApiError::internal("no service-account signing key configured"))?;
    let req = body::decode_object(&ctx.headers, &bytes)?;
    let ns = ctx.namespace().unwrap_or("default").to_string();
    let name = ctx.name().to_string();
    let sa = app.registry.get(ctx.def, Some(&ns), &name).await?;
    let spec = &req["spec"];
    let audiences: Vec<String> = match spec["audiences"].as_array() {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![issuer.api_audience.clone()],
    };
    let expiration = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_EXPIRATION);
    if expiration < MIN_EXPIRATION {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            &name,
            vec![Cause::invalid(
                "spec.expirationSeconds",
                &json!(expiration),
                "may not specify a duration less than 10 minutes",
            )],
        ));
    }
    let mut claims_pod = None;
    let mut claims_secret = None;
    let bound = &spec["boundObjectRef"];
    if let Some(kind) = bound["kind"].as_str() {
        let plural = match kind {
            "Pod" => "pods",
            "Secret" => "secrets",
            other => {
                return Err(ApiError::invalid(
                    "authentication.k8s.io",
                    "TokenRequest",
                    &name,
                    vec![Cause::not_supported(
                        "spec.boundObjectRef.kind",
                        &json!(other),
                        &["Pod", "Secret"],
                    )],
                ));
            }
        };
        let def = lookup("", "v1", plural).expect("pods and secrets are in the catalogue");
        let target = bound["name"].as_str().unwrap_or("");
        let obj = app.registry.get(def, Some(&ns), target).await?;
        let uid = obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
        if let Some(want) = bound["uid"].as_str()
            && !want.is_empty()
            && want != uid
        {
            return Err(ApiError::conflict(
                crate::registry::store::qualified(def),
                target,
                &format!(
                    "the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"
                ),
            ));
        }
        let r = Some(Ref {
            name: target.to_string(),
            uid,
        });
        if kind == "Pod" {
            claims_pod = r;
        } else {
            claims_secret = r;
        }
    }
    let now = chrono::Utc::now();
    let exp = now + chrono::Duration::seconds(expiration);
    let claims = BoundClaims {
        iss: issuer.issuer.clone(),
        sub: format!("system:serviceaccount:{ns}:{name}"),
        aud: audiences.clone(),
        exp: exp.timestamp(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
        kubernetes: KubernetesClaims {
            namespace: ns.clone(),
            serviceaccount: Ref {
                name: name.clone(),
                uid: sa["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            },
            pod: claims_pod,
            secret: claims_secret,
        },
    };
    let token = issuer
        .issue_bound(&claims)
        .map_err(|e| ApiError::internal(format!("signing token: {e}")))?;
    let mut spec_out = json!({"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": Value::Null});
    if bound.is_object() {
        spec_out["boundObjectRef"] = bound.clone();
    }
    Ok(response::json(
        201,
        &json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
            "spec": spec_out,
            "status": {
                "token": token,
                "expirationTimestamp": exp.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            },
        }),
    ))
}
