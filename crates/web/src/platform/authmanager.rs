//! The embedded platform's auth manager (MOSIP's kernel auth service): a registered client trades
//! its id and secret key for a short-lived token, `POST /v1/authmanager/authenticate/clientidsecretkey`,
//! which it then presents to the platform's endpoints. The token is an HS256 JSON Web Token under a
//! key every replica derives from the data key; it names the client and its roles, and every use
//! checks that the client is still registered and active.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::platform::{TOKEN_SECONDS, authenticate_client};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::RequestMeta;
use crate::envelope::{self, text};

/// What a client's token says.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ClientClaims {
    /// The client id.
    pub sub: String,
    #[serde(rename = "appId")]
    pub app_id: String,
    /// Space-separated roles.
    pub roles: String,
    /// When the client was registered (seconds): a client registered again under the same id
    /// does not inherit the tokens of the one before.
    pub registered: i64,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

const ISSUER: &str = "resident-platform";

/// The claims of a token this platform issued and that has not expired.
pub(crate) fn token_claims(state: &AppState, token: &str) -> Option<ClientClaims> {
    let claims: ClientClaims = crate::ui::token::verify(&state.platform_token_key, token.trim())?;
    let now = state.clock.now().unix_timestamp();
    (claims.iss == ISSUER && claims.exp > now && claims.iat <= now + 60).then_some(claims)
}

/// `POST /v1/authmanager/authenticate/clientidsecretkey` `{request: {clientId, secretKey, appId}}`:
/// the token in the `Authorization` cookie and header, as MOSIP's clients read it. Any mismatch is
/// 401 `KER-ATH-401` (MOSIP's auth manager answers its refusals with HTTP 200 or 500); every attempt
/// with a well-formed body is audited.
pub async fn client_id_secret_key(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let body = envelope::json_body(body)?;
        let request =
            body.get("request").and_then(Value::as_object).ok_or_else(|| ResidentError::invalid("request"))?;
        let field = |k: &str| text(request, k).map(str::to_owned).ok_or_else(|| ResidentError::invalid(k));
        let (id, secret, app) = (field("clientId")?, field("secretKey")?, field("appId")?);
        let ctx = meta.audit_context(&state, "auth-manager");
        let client =
            authenticate_client(state.clients.as_ref(), state.audit.as_ref(), &ctx, now, &id, &secret, &app).await?;
        let claims = ClientClaims {
            registered: client.created_at.unix_timestamp(),
            sub: client.id,
            app_id: client.app_id,
            roles: client.roles.join(" "),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + TOKEN_SECONDS,
            iss: ISSUER.into(),
        };
        Ok::<_, ResidentError>((crate::ui::token::sign(&state.platform_token_key, &claims), body))
    }
    .await;
    match result {
        Ok((token, body)) => {
            let answer = json!({
                "id": body.get("id"), "version": body.get("version"),
                "responsetime": resident_domain::clock::mosip_datetime(now), "metadata": null,
                "response": {"status": "success", "message": "Clientid and Token combination had been validated successfully"},
                "errors": null,
            });
            let mut res = axum::Json(answer).into_response();
            // MOSIP's cookie; `SameSite=Strict` so that no page of another site ever sends it
            let cookie = format!("Authorization={token}; Max-Age={TOKEN_SECONDS}; Path=/; HttpOnly; SameSite=Strict");
            if let (Ok(c), Ok(h)) = (HeaderValue::from_str(&cookie), HeaderValue::from_str(&token)) {
                res.headers_mut().insert(header::SET_COOKIE, c);
                res.headers_mut().insert(header::AUTHORIZATION, h);
            }
            res
        }
        Err(e) => {
            if let Some(detail) = e.internal_detail() {
                tracing::error!(code = e.code(), detail, "client authentication failed");
            }
            let status = crate::error::http_status(&e);
            let answer = json!({
                "id": null, "version": null, "responsetime": resident_domain::clock::mosip_datetime(now),
                "metadata": null, "response": null,
                "errors": [{"errorCode": e.code(), "message": e.message()}],
            });
            (status, axum::Json(answer)).into_response()
        }
    }
}
