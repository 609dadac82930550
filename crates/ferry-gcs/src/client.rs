//! REST requests to the JSON API: URLs, the bearer token, retries of temporary failures,
//! and one debug line per request with no token in it. Failures become ferry errors here.

use std::time::Instant;

use bytes::Bytes;
use ferry_core::dump::Dump;
use ferry_core::{Error, ErrorKind};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::auth::Tokens;
use crate::options::GcsOptions;

/// Attempts for a request that failed temporarily (throttled, 5xx, dropped connection).
const ATTEMPTS: u32 = 4;
/// How much of an error body is read for its reason and message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A bucket or object name in a URL path or query: everything but RFC 3986's unreserved
/// set is escaped, `/` included (an object name is one path segment in the JSON API).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `/b/BUCKET/o/NAME`, encoded.
pub(crate) fn object_path(bucket: &str, name: &str) -> String {
    format!("/b/{}/o/{}", enc(bucket), enc(name))
}

pub(crate) struct Client {
    http: reqwest::Client,
    endpoint: String,
    tokens: Tokens,
    user_project: Option<String>,
    /// `--dump`: requests and responses to the debug log (the token shown as XXXX).
    dump: ferry_core::dump::Dump,
}

/// One request, before authorisation.
pub(crate) struct Req {
    pub method: Method,
    /// The full URL without its query (already encoded).
    pub url: String,
    pub query: Vec<(&'static str, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn new(method: Method, url: String) -> Self {
        Req {
            method,
            url,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub fn query_opt(self, key: &'static str, value: Option<&String>) -> Self {
        match value {
            Some(v) => self.query(key, v.clone()),
            None => self,
        }
    }

    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            self.headers.insert(n, v);
        }
        self
    }

    pub fn json(self, v: &serde_json::Value) -> Self {
        let mut r = self.header("content-type", "application/json; charset=UTF-8");
        r.body = Bytes::from(v.to_string());
        r
    }

    pub fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }
}

/// The facts of one failed request.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    /// The first error's `reason` (`notFound`, `rateLimitExceeded`, ...).
    pub reason: Option<String>,
    pub message: String,
    pub transport: bool,
    /// Getting a token failed (the message is whole: no operation is prefixed).
    pub token: bool,
}

impl Failure {
    fn transport(message: String) -> Self {
        Failure {
            status: None,
            reason: None,
            message,
            transport: true,
            token: false,
        }
    }

    fn token(e: &Error) -> Self {
        Failure {
            status: None,
            reason: None,
            message: e.message().to_owned(),
            transport: e.is_temporary(),
            token: true,
        }
    }

    /// From a status and a JSON API error body (`{"error":{"code","message","errors":[{"reason"}]}}`).
    pub fn from_response(status: u16, body: &str) -> Self {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let err = v.get("error");
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str())
            .map(|m| m.lines().next().unwrap_or("").trim().to_owned())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| format!("HTTP status {status}"));
        let reason = err
            .and_then(|e| e.get("errors"))
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("reason"))
            .and_then(|r| r.as_str())
            .map(str::to_owned);
        Failure {
            status: Some(status),
            reason,
            message,
            transport: false,
            token: false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    pub fn is_temporary(&self) -> bool {
        self.transport
            || self
                .status
                .is_some_and(|s| s >= 500 || s == 429 || s == 408)
            || matches!(
                self.reason.as_deref(),
                Some("rateLimitExceeded" | "userRateLimitExceeded")
            )
    }

    fn kind(&self) -> ErrorKind {
        if self.token {
            return ErrorKind::Auth;
        }
        match self.status {
            Some(404) => ErrorKind::NotFound,
            Some(401 | 403) => ErrorKind::Auth,
            _ => ErrorKind::Io,
        }
    }

    pub fn into_error(self, op: &str, path: &str) -> Error {
        let hint = match self.status {
            Some(401) => ": the credentials were refused (an access_token may have expired)",
            Some(403) => {
                ": access was refused: check the remote's credentials and the bucket's permissions"
            }
            _ => "",
        };
        let message = if self.token {
            self.message.clone()
        } else {
            format!("{op}: {}{hint}", self.message)
        };
        Error::new(self.kind(), message)
            .with_path(path.to_owned())
            .temporary(self.is_temporary())
    }
}

impl Client {
    pub fn new(opts: &GcsOptions) -> ferry_core::Result<Self> {
        // Resumable uploads answer 308 without a Location: never follow redirects.
        let http = ferry_httpclient::builder(&opts.timeouts, &opts.http)?
            .redirect(reqwest::redirect::Policy::none());
        let http = ferry_httpclient::build(http, "gcs")?;
        Ok(Client {
            http,
            endpoint: opts.endpoint.clone(),
            tokens: Tokens::new(opts.credentials.clone()),
            user_project: opts.user_project.clone(),
            dump: opts.dump,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The JSON API URL of `path` (`/b/...`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/storage/v1{path}", self.endpoint)
    }

    /// The upload URL of `path` (`/b/BUCKET/o`).
    pub fn upload(&self, path: &str) -> String {
        format!("{}/upload/storage/v1{path}", self.endpoint)
    }

    /// Sends `req`, retrying temporary failures; any status but 2xx (and 308, which
    /// resumable uploads answer) is a [`Failure`].
    pub async fn send(&self, req: &Req) -> Result<reqwest::Response, Failure> {
        let mut attempt = 1;
        let mut renewed = false;
        loop {
            match self.send_once(req).await {
                Err(f) if f.status == Some(401) && !renewed => {
                    self.tokens.forget().await;
                    renewed = true;
                }
                Err(f) if f.is_temporary() && attempt < ATTEMPTS => {
                    let pause = ferry_core::retry::Backoff::DEFAULT.pause(attempt);
                    tracing::debug!(
                        "gcs: {} - retry {attempt}/{} in {pause:?}",
                        f.message,
                        ATTEMPTS - 1
                    );
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Sends `req` once, without retries (a resumable chunk is resumed, not resent).
    pub async fn send_once(&self, req: &Req) -> Result<reqwest::Response, Failure> {
        let mut b = self.http.request(req.method.clone(), &req.url);
        let mut query: Vec<(&str, &str)> =
            req.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(p) = &self.user_project {
            query.push(("userProject", p));
        }
        if !query.is_empty() {
            b = b.query(&query);
        }
        b = b.headers(req.headers.clone());
        let token = self
            .tokens
            .bearer(&self.http)
            .await
            .map_err(|e| Failure::token(&e))?;
        if let Some(t) = token {
            b = b.bearer_auth(t.expose());
        }
        if !req.body.is_empty() || matches!(req.method, Method::POST | Method::PUT | Method::PATCH)
        {
            b = b.body(req.body.clone());
        }
        let request = b.build().map_err(|e| {
            Failure::transport(format!("can't build a request: {}", e.without_url()))
        })?;
        let dumped = self.dump.any().then(|| {
            let id = Dump::next_id();
            let headers = request
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()));
            let block = self.dump.request(
                id,
                request.method().as_str(),
                request.url().as_str(),
                headers,
                Some(&req.body),
            );
            (id, block)
        });
        let started = Instant::now();
        let shown = shown(&req.url, &self.endpoint);
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("HTTP {} {shown} -> failed", req.method);
                let e = e.without_url();
                let message = ferry_core::net::unreachable(
                    &ferry_core::net::target_of(&self.endpoint),
                    &e,
                    e.is_timeout(),
                );
                if let Some((id, block)) = &dumped {
                    self.dump.response(*id, block, Err(&message), [], None);
                }
                let mut failure = Failure::transport(message);
                failure.transport = !ferry_core::net::is_permanent(&e);
                return Err(failure);
            }
        };
        let response = match &dumped {
            Some((id, block)) => self.dump_response(*id, block, response).await,
            None => response,
        };
        let status = response.status().as_u16();
        tracing::debug!(
            "HTTP {} {shown} -> {status} ({} ms)",
            req.method,
            started.elapsed().as_millis()
        );
        if response.status().is_success() || status == 308 {
            return Ok(response);
        }
        Err(Failure::from_response(
            status,
            &read_limited(response).await,
        ))
    }
}

impl Client {
    /// Logs the response for `--dump`; with bodies asked for, it is read here and handed
    /// on rebuilt from the bytes read.
    async fn dump_response(
        &self,
        id: u64,
        block: &str,
        response: reqwest::Response,
    ) -> reqwest::Response {
        let status = response.status();
        if !self.dump.response_bodies() {
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()));
            self.dump
                .response(id, block, Ok(status.as_u16()), headers, None);
            return response;
        }
        let headers = response.headers().clone();
        let version = response.version();
        let body = response.bytes().await.unwrap_or_default();
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()));
        self.dump
            .response(id, block, Ok(status.as_u16()), pairs, Some(&body));
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers;
        *rebuilt.version_mut() = version;
        reqwest::Response::from(rebuilt)
    }
}

/// A URL as a log line shows it: the path below the endpoint, without a query (a
/// resumable session's URL holds its upload id, which authorises the upload).
fn shown(url: &str, endpoint: &str) -> String {
    let path = url.strip_prefix(endpoint).unwrap_or(url);
    path.split('?').next().unwrap_or(path).to_owned()
}

async fn read_limited(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// A response's body as JSON of type `T`.
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    r: reqwest::Response,
    what: &str,
    path: &str,
) -> ferry_core::Result<T> {
    let body = ferry_httpclient::read_body(r, &format!("the {what}"))
        .await
        .map_err(|e| e.with_path(path.to_owned()))?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("unexpected {what} from the server: {e}"),
        )
        .with_path(path.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(
            object_path("b", "a dir/f#?%.txt"),
            "/b/b/o/a%20dir%2Ff%23%3F%25.txt"
        );
        let f = Failure::from_response(
            429,
            r#"{"error":{"code":429,"message":"slow down\nmore","errors":[{"reason":"rateLimitExceeded"}]}}"#,
        );
        assert!(f.is_temporary());
        assert_eq!(f.message, "slow down");
        let e = Failure::from_response(403, "not json").into_error("failed to list", "d");
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert!(e.message().contains("HTTP status 403"), "{e}");
    }
}
