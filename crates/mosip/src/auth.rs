//! The kernel auth manager's client token: `POST {authmanager}/authenticate/clientidsecretkey` with the
//! client id, secret key and application id, as MOSIP's resident service's `TokenGenerator` asks for
//! it. The token comes back in the `Authorization` cookie (its `Max-Age` is how long it holds; without
//! one, the token's own `exp`). It is kept until a minute before it ends and fetched again then, by
//! one request at a time; a service that answers 401 makes the caller `invalidate` it. A fetch that
//! gets no answer is tried again (twice, after a short, jittered pause): asking for a token changes
//! nothing.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::AdapterError;

const SERVICE: &str = "auth manager";
/// A token is renewed this long before it ends.
const MARGIN: Duration = Duration::from_secs(60);
/// When the answer says nothing of the token's life.
const DEFAULT_LIFE: Duration = Duration::from_secs(600);
const ATTEMPTS: u32 = 3;

/// Who the client is.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret_key: String,
    pub app_id: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCredentials({} for {}, secret ***)", self.client_id, self.app_id)
    }
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// A client of MOSIP's kernel auth manager.
pub struct KernelAuth {
    http: reqwest::Client,
    clock: std::sync::Arc<dyn resident_domain::clock::Clock>,
    url: String,
    credentials: ClientCredentials,
    cached: Mutex<Option<Cached>>,
}

/// A token and how long it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token: String,
    pub life: Duration,
}

impl KernelAuth {
    /// `authmanager_url` is the auth manager's base (`https://api-internal.example/v1/authmanager`).
    pub fn new(
        authmanager_url: &str,
        credentials: ClientCredentials,
        timeout: Duration,
        clock: std::sync::Arc<dyn resident_domain::clock::Clock>,
    ) -> Result<Self, AdapterError> {
        let http = crate::http_client(SERVICE, timeout)?;
        Ok(KernelAuth {
            http,
            clock,
            url: format!("{}/authenticate/clientidsecretkey", authmanager_url.trim_end_matches('/')),
            credentials,
            cached: Mutex::new(None),
        })
    }

    /// A token that holds for at least another minute: the kept one, or a new one.
    pub async fn token(&self) -> Result<String, AdapterError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let renew_at = Instant::now() + fresh.life.saturating_sub(MARGIN);
        *cached = Some(Cached { token: fresh.token.clone(), renew_at });
        Ok(fresh.token)
    }

    /// Forgets `refused`, the token a service refused, unless another was fetched since.
    pub async fn invalidate(&self, refused: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == refused) {
            *cached = None;
        }
    }

    /// Asks for a new token, trying again when no answer comes.
    pub async fn fetch(&self) -> Result<Token, AdapterError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fetch_once().await {
                Err(e @ (AdapterError::Unreachable { .. } | AdapterError::Timeout { .. })) if attempt < ATTEMPTS => {
                    // 100 ms, then 200 ms, each with up to as much again at random
                    let base = 100u64 << (attempt - 1);
                    let jitter = rand_below(base);
                    tracing::warn!(error = %e, attempt, "asking again for a token");
                    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once(&self) -> Result<Token, AdapterError> {
        let now = self.clock.now();
        let body = json!({
            "id": "mosip.io.clientId.pwd", "version": "1.0", "metadata": {},
            "requesttime": resident_domain::clock::mosip_datetime(now),
            "request": {
                "clientId": self.credentials.client_id,
                "secretKey": self.credentials.secret_key,
                "appId": self.credentials.app_id,
            },
        });
        let res = self.http.post(&self.url).json(&body).send().await.map_err(|e| crate::no_answer(SERVICE, e))?;
        let status = res.status();
        // a gateway in front of the service that cannot reach it: no answer from the service
        if matches!(status.as_u16(), 502..=504) {
            return Err(AdapterError::Unreachable { service: SERVICE, detail: format!("HTTP {}", status.as_u16()) });
        }
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.trim_start().starts_with("Authorization="))
            .map(str::to_owned);
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        let cookie =
            cookie.ok_or(AdapterError::Malformed { service: SERVICE, detail: "no Authorization cookie".into() })?;
        let (token, max_age) = parse_cookie(&cookie);
        if token.is_empty() {
            return Err(AdapterError::Malformed { service: SERVICE, detail: "an empty token".into() });
        }
        let life = max_age.or_else(|| jwt_life(&token)).unwrap_or(DEFAULT_LIFE);
        Ok(Token { token, life })
    }
}

/// The token and the `Max-Age` of a `Set-Cookie: Authorization=…` header.
fn parse_cookie(cookie: &str) -> (String, Option<Duration>) {
    let mut parts = cookie.split(';').map(str::trim);
    let token = parts.next().and_then(|p| p.strip_prefix("Authorization=")).unwrap_or_default().to_owned();
    let max_age = parts
        .find_map(|p| p.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case("Max-Age")).map(|(_, v)| v.to_owned()))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    (token, max_age)
}

/// How long a JWT says it holds (`exp - iat`), read without checking its signature: only the auth
/// manager that issued it can, and the services it is shown to do.
fn jwt_life(token: &str) -> Option<Duration> {
    let claims = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?,
    )
    .ok()?;
    let (exp, iat) = (claims.get("exp")?.as_i64()?, claims.get("iat")?.as_i64()?);
    u64::try_from(exp - iat).ok().map(Duration::from_secs)
}

pub(crate) fn rand_below(n: u64) -> u64 {
    use rand::Rng;
    if n == 0 { 0 } else { resident_domain::clock::rng().gen_range(0..n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_and_the_token_say_how_long_it_holds() {
        assert_eq!(
            parse_cookie("Authorization=abc; Max-Age=1800; Path=/; HttpOnly"),
            ("abc".into(), Some(Duration::from_secs(1800)))
        );
        assert_eq!(parse_cookie("Authorization=abc; Path=/"), ("abc".into(), None));
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"iat":100,"exp":1900}"#);
        assert_eq!(jwt_life(&format!("h.{claims}.s")), Some(Duration::from_secs(1800)));
        assert_eq!(jwt_life("not-a-jwt"), None);
    }
}
