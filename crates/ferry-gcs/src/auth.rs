//! Credentials and the access tokens they give: a static token, a service account's
//! JWT bearer grant (RS256, signed with ring), or gcloud's `authorized_user` refresh
//! token. Tokens are cached until a minute before they expire. No key, token or
//! assertion ever reaches a log line or an error message.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ferry_core::{Error, ErrorKind, Result, Secret};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

/// Google's token endpoint, when a key file names none.
const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// What rclone asks a service account for (read and write objects and buckets).
pub const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
/// How long a signed assertion is valid (Google's maximum).
const ASSERTION_LIFE: u64 = 3600;
/// A token is renewed this long before it expires.
const EARLY: Duration = Duration::from_secs(60);

/// How requests are authorised.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// Public buckets only: no Authorization header.
    Anonymous,
    /// `access_token`: sent as it is, never refreshed.
    Token(Secret),
    /// A key file: a service account or gcloud's user credentials.
    Key(KeyFile),
}

/// A parsed credentials file.
#[derive(Clone)]
pub enum KeyFile {
    ServiceAccount {
        email: String,
        key: Arc<RsaKeyPair>,
        token_uri: String,
    },
    /// gcloud's `application_default_credentials.json` after `gcloud auth application-default login`.
    AuthorizedUser {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
        token_uri: String,
    },
}

impl std::fmt::Debug for KeyFile {
    // Never prints a key or a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyFile::ServiceAccount { email, .. } => write!(f, "ServiceAccount({email})"),
            KeyFile::AuthorizedUser { .. } => f.write_str("AuthorizedUser"),
        }
    }
}

fn refused(what: &str, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Refused, format!("gcs: {what}: {why}"))
}

impl KeyFile {
    /// Parses a credentials JSON; `source` names it in errors (a path or an option name).
    pub fn parse(json: &str, source: &str) -> Result<KeyFile> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|_| {
            refused(
                source,
                "not a credentials JSON file (download a key from the Google Cloud console)",
            )
        })?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|s| !s.is_empty());
        let token_uri = field("token_uri").unwrap_or(TOKEN_URI).to_owned();
        match field("type") {
            Some("service_account") => {
                let email = field("client_email")
                    .ok_or_else(|| refused(source, "the service account key has no client_email"))?;
                let pem = field("private_key")
                    .ok_or_else(|| refused(source, "the service account key has no private_key"))?;
                Ok(KeyFile::ServiceAccount {
                    email: email.to_owned(),
                    key: Arc::new(rsa_key(pem).map_err(|why| refused(source, why))?),
                    token_uri,
                })
            }
            Some("authorized_user") => {
                let need = |k: &str| {
                    field(k).ok_or_else(|| refused(source, format!("the user credentials have no {k}")))
                };
                Ok(KeyFile::AuthorizedUser {
                    client_id: need("client_id")?.to_owned(),
                    client_secret: Secret::new(need("client_secret")?),
                    refresh_token: Secret::new(need("refresh_token")?),
                    token_uri,
                })
            }
            other => Err(refused(
                source,
                format!(
                    "credentials of type {:?} are not supported (use a service_account key or authorized_user credentials)",
                    other.unwrap_or("")
                ),
            )),
        }
    }

    /// The token request's form body.
    fn grant(&self, now: u64) -> Result<(String, String)> {
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        match self {
            KeyFile::ServiceAccount {
                email,
                key,
                token_uri,
            } => {
                let jwt = assertion(key, email, token_uri, now)?;
                Ok((
                    token_uri.clone(),
                    format!(
                        "grant_type={}&assertion={}",
                        enc("urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        enc(jwt.expose())
                    ),
                ))
            }
            KeyFile::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                token_uri,
            } => Ok((
                token_uri.clone(),
                format!(
                    "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                    enc(client_id),
                    enc(client_secret.expose()),
                    enc(refresh_token.expose())
                ),
            )),
        }
    }
}

/// A PEM `PRIVATE KEY` (PKCS#8, as Google's key files hold it).
fn rsa_key(pem: &str) -> std::result::Result<RsaKeyPair, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "the private_key is not PEM".to_owned())?;
    RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("the private_key is not a usable RSA key ({e})"))
}

/// The signed JWT a service account trades for a token (RFC 7523).
pub(crate) fn assertion(key: &RsaKeyPair, email: &str, aud: &str, now: u64) -> Result<Secret> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": email,
        "scope": SCOPE,
        "aud": aud,
        "iat": now,
        "exp": now + ASSERTION_LIFE,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    let signed = format!("{header}.{claims}");
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut sig,
    )
    .map_err(|_| {
        Error::new(
            ErrorKind::Auth,
            "gcs: can't sign the service account assertion",
        )
    })?;
    Ok(Secret::new(format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(sig)
    )))
}

/// Gives the bearer token of each request, fetching and caching it as needed.
pub(crate) struct Tokens {
    credentials: Credentials,
    cached: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl Tokens {
    pub fn new(credentials: Credentials) -> Self {
        Tokens {
            credentials,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The token to send; `None` for anonymous access.
    pub async fn bearer(&self, http: &reqwest::Client) -> Result<Option<Secret>> {
        let key = match &self.credentials {
            Credentials::Anonymous => return Ok(None),
            Credentials::Token(t) => return Ok(Some(t.clone())),
            Credentials::Key(k) => k,
        };
        // One fetch at a time: the others wait for it rather than each asking.
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(Some(token.clone()));
            }
        }
        let (token, life) = fetch(http, key).await?;
        let until = Instant::now() + life.saturating_sub(EARLY);
        *cached = Some((token.clone(), until));
        Ok(Some(token))
    }

    /// Forgets the cached token (after a 401).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}

async fn fetch(http: &reqwest::Client, key: &KeyFile) -> Result<(Secret, Duration)> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (uri, form) = key.grant(now)?;
    let target = ferry_core::net::target_of(&uri);
    let response = http
        .post(&uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| {
            let e = e.without_url();
            Error::new(
                ErrorKind::Io,
                format!(
                    "gcs: getting an access token: {}",
                    ferry_core::net::unreachable(&target, &e, e.is_timeout())
                ),
            )
            .temporary(true)
        })?;
    let status = response.status().as_u16();
    let raw = response.bytes().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null);
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    if !(200..300).contains(&status) {
        // OAuth error bodies hold a code and a description, never the credentials.
        let why = [text("error"), text("error_description")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let why = if why.is_empty() {
            format!("HTTP status {status}")
        } else {
            why
        };
        return Err(Error::new(
            ErrorKind::Auth,
            format!("gcs: the token endpoint {target} refused the credentials: {why}; check the key file (and that the service account is enabled)"),
        )
        .temporary(status >= 500));
    }
    let token = text("access_token").ok_or_else(|| {
        Error::new(
            ErrorKind::Auth,
            format!("gcs: the token endpoint {target} answered without an access_token"),
        )
    })?;
    let life = body
        .get("expires_in")
        .and_then(|v| v.as_u64())
        .unwrap_or(3600);
    Ok((Secret::new(token), Duration::from_secs(life)))
}
