//! Signed REST requests to the Blob service: URLs, Shared Key or SAS authorisation,
//! retries of temporary failures, and one debug line per request with no secret in it.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqsign_azure_storage::{Credential, RequestSigner};
use reqsign_core::{Context, SignRequest};

use ferry_core::dump::Dump;

use crate::error::{redact, Failure};
use crate::options::{Auth, AzOptions};

/// The REST API version ferry speaks (blob index tags need 2019-12-12 or later, the Cold
/// tier 2021-12-02).
const API_VERSION: &str = "2023-11-03";
/// Attempts for a request that failed temporarily (throttled, 5xx, dropped connection).
const ATTEMPTS: u32 = 4;
/// How much of an error body is read for its code and message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A whole answer's body as text, read through [`ferry_core::body`]: a body the server
/// cuts short is one clear, temporary error naming `what`.
pub async fn body_text(r: reqwest::Response, what: &str) -> ferry_core::Result<String> {
    use futures::TryStreamExt;
    let expected = r.content_length();
    let stream = r
        .bytes_stream()
        .map_err(|e| std::io::Error::other(redact(&ferry_core::body::innermost(&e.without_url()))));
    let bytes =
        ferry_core::body::read_all(tokio_util::io::StreamReader::new(stream), what, expected)
            .await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Characters left as they are in a blob path: RFC 3986's unreserved set and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');
/// Query values: the unreserved set only.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Query keys that may appear in logs (their values never hold secrets).
const LOGGED_QUERY: [&str; 2] = ["restype", "comp"];

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    sas: Option<String>,
    shared_key: Option<Credential>,
    signer: RequestSigner,
    context: Context,
    /// `--dump`: requests and responses to the debug log.
    dump: Dump,
}

/// One request, before authorisation.
pub(crate) struct Req {
    pub method: Method,
    /// `/container/blob`, not yet encoded.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// Adds a header; values that are not valid header text are dropped (callers pass
    /// ASCII they made themselves, or encode user text first).
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            self.headers.insert(n, v);
        }
        self
    }

    pub fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }
}

impl Client {
    pub fn new(opts: &AzOptions) -> ferry_core::Result<Self> {
        let http = ferry_httpclient::builder(&opts.timeouts, &opts.http)?;
        let http = ferry_httpclient::build(http, "azureblob")?;
        let (sas, shared_key) = match &opts.auth {
            Auth::Sas(t) => (Some(t.clone()), None),
            Auth::SharedKey { account, key } => {
                (None, Some(Credential::with_shared_key(account, key)))
            }
            Auth::Anonymous => (None, None),
        };
        Ok(Client {
            http,
            base: opts.base.clone(),
            sas,
            shared_key,
            signer: RequestSigner::new(),
            context: Context::new(),
            dump: opts.dump,
        })
    }

    pub fn uses_sas(&self) -> bool {
        self.sas.is_some()
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of `path`, with the SAS token when there is one (for a copy source).
    pub fn url(&self, path: &str, query: &[(&'static str, String)]) -> String {
        let mut url = format!("{}{}", self.base, utf8_percent_encode(path, PATH));
        let mut sep = '?';
        for (k, v) in query {
            url.push(sep);
            url.push_str(k);
            url.push('=');
            url.extend(utf8_percent_encode(v, QUERY));
            sep = '&';
        }
        if let Some(sas) = &self.sas {
            url.push(sep);
            url.push_str(sas);
        }
        url
    }

    /// Sends `req`, retrying temporary failures; any status but 2xx is a [`Failure`].
    pub async fn send(&self, req: &Req) -> Result<reqwest::Response, Failure> {
        let mut attempt = 1;
        loop {
            match self.send_once(req).await {
                Err(f) if f.is_temporary() && attempt < ATTEMPTS => {
                    let pause = ferry_core::retry::Backoff::DEFAULT.pause(attempt);
                    tracing::debug!(
                        "azureblob: {} - retry {attempt}/{} in {pause:?}",
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

    async fn send_once(&self, req: &Req) -> Result<reqwest::Response, Failure> {
        let request = self.authorised(req).await?;
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
        let result = self.http.execute(request).await;
        let shown = shown(req);
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("HTTP {} {shown} -> failed", req.method);
                let e = e.without_url();
                let message = redact(&ferry_core::net::unreachable(
                    &ferry_core::net::target_of(&self.base),
                    &e,
                    e.is_timeout(),
                ));
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
        if response.status().is_success() {
            return Ok(response);
        }
        let code = response
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_limited(response).await;
        Err(Failure::from_response(status, code, &body))
    }

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

    async fn authorised(&self, req: &Req) -> Result<reqwest::Request, Failure> {
        let url = self.url(&req.path, &req.query);
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(&url);
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        builder = builder.header("x-ms-version", API_VERSION);
        // Azure answers 411 to a PUT without Content-Length, even an empty one (hyper sends
        // none for an empty body); the signer signs "0" as an empty field, as Azure expects.
        if !req.body.is_empty() || req.method == Method::PUT {
            builder = builder.header(http::header::CONTENT_LENGTH, req.body.len());
        }
        let request = builder
            .body(req.body.clone())
            .map_err(|e| Failure::transport(format!("can't build a request: {e}")))?;
        let (mut parts, body) = request.into_parts();
        if let Some(cred) = &self.shared_key {
            self.signer
                .sign_request(&self.context, &mut parts, Some(cred), None)
                .await
                .map_err(|e| Failure::transport(redact(&format!("can't sign a request: {e}"))))?;
        }
        reqwest::Request::try_from(http::Request::from_parts(parts, body))
            .map_err(|e| Failure::transport(format!("can't build a request: {}", e.without_url())))
    }
}

/// The request as a log line shows it: the path and the harmless query keys.
fn shown(req: &Req) -> String {
    let mut s = req.path.clone();
    let mut sep = '?';
    for (k, v) in &req.query {
        if LOGGED_QUERY.contains(k) {
            s.push(sep);
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            sep = '&';
        }
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::AzOptions;

    #[test]
    fn urls_encode_names_and_append_the_sas_last() {
        let o =
            AzOptions::from_pairs(&[("sas_url", "https://a.blob.core.windows.net/c?sv=1&sig=S")])
                .unwrap();
        let c = Client::new(&o).unwrap();
        assert_eq!(
            c.url("/c/d ir/f#?%.txt", &[("comp", "list".into()), ("prefix", "a b/".into())]),
            "https://a.blob.core.windows.net/c/d%20ir/f%23%3F%25.txt?comp=list&prefix=a%20b%2F&sv=1&sig=S"
        );
        let req = Req::new(Method::GET, "/c")
            .query("comp", "list")
            .query("marker", "m");
        assert_eq!(shown(&req), "/c?comp=list");
    }
}
