//! HTTP to the WebDAV server: authorisation (basic, bearer token, a token command run
//! again when the token is refused), the remote's extra headers, redirects followed by
//! hand (so credentials go only where they may), retries of temporary failures, and one
//! debug line per request with no secret in it.

use std::sync::RwLock;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use ferry_core::dump::Dump;
use ferry_core::{Error, ErrorKind, Secret};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, LOCATION};
use reqwest::{Method, Response, ResponseBuilderExt, StatusCode, Url};

use crate::error::Failure;
use crate::options::{Auth, Settings};

/// Attempts for a request that failed temporarily (not for uploads, whose body is a
/// stream: the engine retries those).
const ATTEMPTS: u32 = 4;
/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 10;

pub(crate) struct Client {
    http: reqwest::Client,
    remote: String,
    base: Url,
    /// `host:port`, for messages about unreachable servers.
    target: String,
    auth: Auth,
    /// The bearer token in use (from `bearer_token` or the token command).
    token: RwLock<Option<Secret>>,
    extra: HeaderMap,
    /// `--header-upload` and `--header-download`: on the requests moving a file's data.
    upload: HeaderMap,
    download: HeaderMap,
    auth_redirect: bool,
    /// `--dump`: requests and responses to the debug log.
    dump: Dump,
}

/// One request whose body can be sent again (everything but uploads).
pub(crate) struct Req {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn new(method: &str, url: Url) -> Req {
        Req {
            method: Method::from_bytes(method.as_bytes()).expect("a valid method"),
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header; callers pass ASCII they made (numbers, URLs they encoded).
    pub fn header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

impl Client {
    pub fn new(s: &Settings) -> ferry_core::Result<Client> {
        let mut builder = ferry_httpclient::builder(&s.timeouts, &s.http)?
            // Followed by hand (`send_once`): reqwest would turn a redirected PROPFIND into a GET.
            .redirect(reqwest::redirect::Policy::none());
        #[cfg(unix)]
        if let Some(socket) = &s.unix_socket {
            builder = builder.unix_socket(socket.as_path());
        }
        #[cfg(not(unix))]
        if s.unix_socket.is_some() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{} unix_socket works only on Unix", s.remote),
            ));
        }
        let http = ferry_httpclient::build(builder, "webdav")?;
        let mut extra = HeaderMap::new();
        for (k, v) in &s.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                extra.append(k, v);
            }
        }
        if !extra.contains_key(reqwest::header::REFERER) {
            // As rclone: some servers check the Referer of requests that change things.
            if let Ok(v) = HeaderValue::from_str(s.url.as_str()) {
                extra.insert(reqwest::header::REFERER, v);
            }
        }
        let client = Client {
            http,
            remote: s.remote.clone(),
            base: s.url.clone(),
            target: ferry_core::net::target_of(s.url.as_str()),
            auth: s.auth.clone(),
            token: RwLock::new(match &s.auth {
                Auth::Bearer(t) => Some(t.clone()),
                _ => None,
            }),
            extra,
            upload: ferry_httpclient::header_map(&s.http.upload_headers, "--header-upload")?,
            download: ferry_httpclient::header_map(&s.http.download_headers, "--header-download")?,
            auth_redirect: s.auth_redirect,
            dump: s.dump,
        };
        if let Auth::Command(cmd) = &client.auth {
            let token = run_token_command(&client.remote, cmd)?;
            *client.token.write().expect("token lock") = Some(token);
        }
        Ok(client)
    }

    /// `--header-upload`'s headers.
    pub fn upload_headers(&self) -> &HeaderMap {
        &self.upload
    }

    /// `--header-download`'s headers.
    pub fn download_headers(&self) -> &HeaderMap {
        &self.download
    }

    pub fn remote(&self) -> &str {
        &self.remote
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Who ferry is on this server: two clients with the same identity may copy and
    /// move between each other's paths on the server.
    pub fn identity(&self) -> (String, String) {
        let who = match &self.auth {
            Auth::None => String::new(),
            Auth::Basic { user, .. } => format!("user {user}"),
            Auth::Bearer(_) | Auth::Command(_) => "token".to_owned(),
        };
        (self.base.origin().ascii_serialization(), who)
    }

    pub fn uses_token(&self) -> bool {
        matches!(self.auth, Auth::Bearer(_) | Auth::Command(_))
    }

    fn authorization(&self) -> Option<HeaderValue> {
        let text = match &self.auth {
            Auth::None => return None,
            Auth::Basic { user, pass } => {
                let pair = format!("{user}:{}", pass.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Auth::Bearer(_) | Auth::Command(_) => {
                let token = self.token.read().expect("token lock");
                format!("Bearer {}", token.as_ref()?.expose())
            }
        };
        let mut v = HeaderValue::from_str(&text).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// Sends `req`, retrying temporary failures (and once with a fresh token when a
    /// token command's token was refused); any status but 2xx is a [`Failure`].
    pub async fn send(&self, req: &Req) -> Result<Response, Failure> {
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            match self.send_once(req).await {
                Err(f)
                    if f.status == Some(401)
                        && !refreshed
                        && matches!(self.auth, Auth::Command(_)) =>
                {
                    refreshed = true;
                    self.refresh_token()
                        .await
                        .map_err(|e| Failure::local(e.message().to_owned()))?;
                }
                Err(f) if f.is_temporary() && attempt < ATTEMPTS => {
                    let pause = ferry_core::retry::Backoff::DEFAULT.pause(attempt);
                    tracing::debug!(
                        "webdav: {} - retry {attempt}/{} in {pause:?}",
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

    /// Sends one request, following redirects of reads (GET, PROPFIND) with the same
    /// method; credentials follow only to the same origin unless `auth_redirect`.
    async fn send_once(&self, req: &Req) -> Result<Response, Failure> {
        let mut url = req.url.clone();
        let mut with_auth = true;
        for _ in 0..=MAX_REDIRECTS {
            let mut r = self.http.request(req.method.clone(), url.clone());
            r = r.headers(self.extra.clone()).headers(req.headers.clone());
            if let Some(auth) = self.authorization().filter(|_| with_auth) {
                r = r.header(AUTHORIZATION, auth);
            }
            if !req.body.is_empty() || req.method == Method::PUT {
                r = r.body(req.body.clone());
            }
            let response = self.execute(&req.method, &url, r, Some(&req.body)).await?;
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                return check(response).await;
            }
            let next = redirect_target(&url, &response)?;
            // Downloads may be sent elsewhere (a storage host); a listing only within the
            // server (a folder's trailing slash); anything that changes things never.
            let same_origin = next.origin() == url.origin();
            let follows = match req.method.as_str() {
                "GET" | "HEAD" => true,
                "PROPFIND" => same_origin || self.auth_redirect,
                _ => false,
            };
            if !follows {
                return Err(Failure::status(
                    status.as_u16(),
                    format!(
                        "the server redirected to {next}; set url to the server's real address"
                    ),
                ));
            }
            if url.scheme() == "https" && next.scheme() == "http" && !self.auth_redirect {
                return Err(Failure::status(
                    status.as_u16(),
                    format!(
                        "refusing a redirect from https to {next} (set auth_redirect to allow it)"
                    ),
                ));
            }
            with_auth = with_auth && (next.origin() == url.origin() || self.auth_redirect);
            url = next;
        }
        Err(Failure::local(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// An upload: one attempt (the body is a stream), no redirects.
    pub async fn send_stream(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<Response, Failure> {
        let mut r = self
            .http
            .request(Method::PUT, url.clone())
            .headers(self.extra.clone())
            .headers(headers)
            .body(body);
        if let Some(auth) = self.authorization() {
            r = r.header(AUTHORIZATION, auth);
        }
        let response = self.execute(&Method::PUT, url, r, None).await?;
        if response.status().is_redirection() {
            let next = redirect_target(url, &response)?;
            return Err(Failure::status(
                response.status().as_u16(),
                format!("the server redirected to {next}; set url to the server's real address"),
            ));
        }
        check(response).await
    }

    /// Sends one request (`body`: what it carries, for `--dump`, when not a stream).
    async fn execute(
        &self,
        method: &Method,
        url: &Url,
        r: reqwest::RequestBuilder,
        body: Option<&[u8]>,
    ) -> Result<Response, Failure> {
        let request = r
            .build()
            .map_err(|e| Failure::local(format!("can't build a request: {}", e.without_url())))?;
        let dumped = self.dump.any().then(|| {
            let id = Dump::next_id();
            let headers = request
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes()));
            let block = self
                .dump
                .request(id, method.as_str(), url.as_str(), headers, body);
            (id, block)
        });
        let started = Instant::now();
        match self.http.execute(request).await {
            Ok(response) => {
                tracing::debug!(
                    "HTTP {method} {} -> {} ({} ms)",
                    url.path(),
                    response.status().as_u16(),
                    started.elapsed().as_millis()
                );
                Ok(match &dumped {
                    Some((id, block)) => self.dump_response(*id, block, response).await,
                    None => response,
                })
            }
            Err(e) => {
                tracing::debug!("HTTP {method} {} -> failed", url.path());
                let e = e.without_url();
                let message = ferry_core::net::unreachable(&self.target, &e, e.is_timeout());
                if let Some((id, block)) = &dumped {
                    self.dump.response(*id, block, Err(&message), [], None);
                }
                let mut failure = Failure::transport(message);
                failure.transport = !ferry_core::net::is_permanent(&e);
                Err(failure)
            }
        }
    }

    /// Logs a response for `--dump`; with bodies asked for, it is read here and handed on
    /// rebuilt from the bytes read.
    async fn dump_response(&self, id: u64, block: &str, response: Response) -> Response {
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
        let answered = response.url().clone();
        let body = response.bytes().await.unwrap_or_default();
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()));
        self.dump
            .response(id, block, Ok(status.as_u16()), pairs, Some(&body));
        // Rebuilt with the URL that answered: listings read their hrefs against it.
        let mut builder = http::Response::builder()
            .status(status)
            .version(version)
            .url(answered);
        if let Some(h) = builder.headers_mut() {
            *h = headers;
        }
        match builder.body(body) {
            Ok(rebuilt) => Response::from(rebuilt),
            Err(_) => unreachable!("a status, version and headers taken from a response"),
        }
    }

    async fn refresh_token(&self) -> ferry_core::Result<()> {
        let Auth::Command(cmd) = &self.auth else {
            return Ok(());
        };
        let (remote, cmd) = (self.remote.clone(), cmd.clone());
        let token = tokio::task::spawn_blocking(move || run_token_command(&remote, &cmd))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("webdav: token command: {e}")))??;
        *self.token.write().expect("token lock") = Some(token);
        Ok(())
    }
}

/// A 2xx response as it is; any other status as a [`Failure`] with the server's message.
async fn check(response: Response) -> Result<Response, Failure> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let body = crate::error::read_limited(response).await;
    Err(Failure::from_response(status, &body))
}

fn redirect_target(from: &Url, response: &Response) -> Result<Url, Failure> {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Failure::status(status, "a redirect without a Location".to_owned()))?;
    from.join(location)
        .map_err(|_| Failure::status(status, format!("a redirect to a bad URL {location:?}")))
}

/// Runs `bearer_token_command` and takes its output (trimmed) as the token.
fn run_token_command(remote: &str, cmd: &[String]) -> ferry_core::Result<Secret> {
    let fail = |why: String| {
        Error::new(
            ErrorKind::Auth,
            format!(
                "{remote} bearer_token_command {:?} failed: {why}",
                cmd.first().map(String::as_str).unwrap_or("")
            ),
        )
    };
    let Some((program, args)) = cmd.split_first() else {
        return Err(fail("it is empty".to_owned()));
    };
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim().to_owned();
        return Err(fail(format!("{} ({first})", out.status)));
    }
    if stdout.is_empty() {
        return Err(fail("it printed nothing".to_owned()));
    }
    Ok(Secret::new(stdout))
}
