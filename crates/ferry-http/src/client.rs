//! Requests to the server: URLs built from ferry's paths, the remote's headers and login
//! on every request, and one error line per failure that names the path (never the
//! login: the base URL kept here has none).

use std::time::SystemTime;

use ferry_core::{Error, ErrorKind, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use crate::options::HttpOptions;
use crate::Probe;

/// What a path segment escapes, as Go escapes a URL path: all but letters, digits,
/// `-._~` and `$&+,/:;=@`.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What a HEAD (or a GET's headers) says about a path.
#[derive(Clone, Debug)]
pub struct Head {
    /// `Content-Length` (or the total of a `Content-Range`).
    pub size: Option<u64>,
    /// `Last-Modified`.
    pub mtime: Option<SystemTime>,
    /// The media type is `text/html` (a directory, with `no_slash`).
    pub html: bool,
    /// `Content-Type` as sent, if any (rclone's MimeType).
    pub content_type: Option<String>,
}

pub struct Client {
    http: reqwest::Client,
    /// The same, following no redirect: a stat tells `dir` (redirected to `dir/`) from a file.
    no_redirect: reqwest::Client,
    base: Url,
    login: Option<crate::options::Login>,
    headers: HeaderMap,
    /// `--header-download`: on the GETs of a file's data.
    download: HeaderMap,
    no_escape: bool,
}

impl Client {
    pub fn new(opts: &HttpOptions) -> Result<Client> {
        let mut headers = HeaderMap::new();
        for (k, v) in &opts.headers {
            // Checked when the options were read.
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.append(k, v);
            }
        }
        Ok(Client {
            http: client(opts, reqwest::redirect::Policy::default())?,
            no_redirect: client(opts, reqwest::redirect::Policy::none())?,
            base: opts.base.clone(),
            login: opts.login.clone(),
            headers,
            download: ferry_httpclient::header_map(
                &opts.http.download_headers,
                "--header-download",
            )?,
            no_escape: opts.no_escape,
        })
    }

    /// The endpoint (no login), for messages and locations.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL of `stored` (a `/`-separated path below the endpoint, as stored bytes), a
    /// directory's with a trailing `/`.
    pub fn url(&self, stored: &[u8], dir: bool) -> Result<Url> {
        let mut text = self.base.as_str().to_owned();
        let path = String::from_utf8_lossy(stored);
        if self.no_escape {
            text.push_str(&path);
        } else if std::str::from_utf8(stored).is_ok() {
            text.extend(utf8_percent_encode(&path, PATH));
        } else {
            text.extend(percent_encoding::percent_encode(stored, PATH));
        }
        if dir && !text.ends_with('/') {
            text.push('/');
        }
        Url::parse(&text).map_err(|_| {
            Error::new(ErrorKind::InvalidPath, "does not make a valid URL").with_path(path)
        })
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.request_with(&self.http, method, url)
    }

    fn request_with(&self, http: &reqwest::Client, method: Method, url: Url) -> RequestBuilder {
        let mut r = http.request(method, url).headers(self.headers.clone());
        if let Some((user, pass)) = &self.login {
            r = r.basic_auth(user, Some(pass.expose()));
        }
        r
    }

    /// Sends a request; a transport failure is one temporary error naming `shown`.
    async fn send(&self, r: RequestBuilder, shown: &str) -> Result<Response> {
        r.send().await.map_err(|e| {
            let target = ferry_core::net::target_of(self.base.as_str());
            let why = ferry_core::net::unreachable(&target, &e, e.is_timeout());
            Error::new(ErrorKind::Io, why)
                .with_path(shown)
                .temporary(!ferry_core::net::is_permanent(&e))
        })
    }

    /// HEAD of `url`; `None` when the server says 404.
    pub async fn head(&self, url: Url, shown: &str) -> Result<Option<Head>> {
        let res = self.send(self.request(Method::HEAD, url), shown).await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = ok(res, "HEAD", shown)?;
        Ok(Some(head_of(&res)))
    }

    /// What the path at `url` (no trailing `/`) is, redirects not followed: a redirect
    /// to a URL ending in `/` is a directory (as rclone decides for a root); any other
    /// redirect is followed, as rclone's HEAD follows it (a login or cookie round trip).
    pub async fn head_no_redirect(&self, url: Url, shown: &str) -> Result<Probe> {
        let r = self.request_with(&self.no_redirect, Method::HEAD, url.clone());
        let res = self.send(r, shown).await?;
        let status = res.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(Probe::Missing);
        }
        if status.is_redirection() {
            let to_dir = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|l| l.split(['?', '#']).next().unwrap_or("").ends_with('/'));
            if to_dir {
                return Ok(Probe::Dir);
            }
            return Ok(match self.head(url, shown).await? {
                Some(head) => Probe::File(head),
                None => Probe::Missing,
            });
        }
        let res = ok(res, "HEAD", shown)?;
        Ok(Probe::File(head_of(&res)))
    }

    /// GET of `url` from `offset`, at most `len` bytes.
    pub async fn get(
        &self,
        url: Url,
        offset: u64,
        len: Option<u64>,
        shown: &str,
    ) -> Result<Response> {
        let mut r = self
            .request(Method::GET, url)
            .headers(self.download.clone());
        match len {
            Some(0) => {}
            Some(n) => r = r.header("Range", format!("bytes={offset}-{}", offset + n - 1)),
            None if offset > 0 => r = r.header("Range", format!("bytes={offset}-")),
            None => {}
        }
        let res = self.send(r, shown).await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Err(Error::not_found(shown.to_owned()));
        }
        ok(res, "GET", shown)
    }

    /// The page of the directory at `url`: 404 is "directory not found", anything but
    /// `text/html` can't be listed.
    pub async fn page(&self, url: Url, shown: &str) -> Result<String> {
        let res = self.send(self.request(Method::GET, url), shown).await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Err(Error::new(ErrorKind::DirNotFound, "directory not found").with_path(shown));
        }
        let res = ok(res, "GET", shown)?;
        let ty = media_type(&res);
        if ty != "text/html" {
            return Err(Error::new(
                ErrorKind::Io,
                format!("can't list: the server answered with content type {ty:?}, not an HTML directory page"),
            )
            .with_path(shown)
            .retryable(false));
        }
        let bytes = ferry_httpclient::read_body(res, "the directory page")
            .await
            .map_err(|e| e.with_path(shown))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn client(opts: &HttpOptions, redirect: reqwest::redirect::Policy) -> Result<reqwest::Client> {
    let builder = ferry_httpclient::builder(&opts.timeouts, &opts.http)?.redirect(redirect);
    ferry_httpclient::build(builder, "http")
}

/// A 2xx response, or one error line for the status.
fn ok(res: Response, method: &str, shown: &str) -> Result<Response> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let kind = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::Auth,
        _ => ErrorKind::Io,
    };
    let temporary = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
    let hint = match kind {
        ErrorKind::Auth => " — check the user and password in the url, and the headers",
        _ => "",
    };
    Err(
        Error::new(kind, format!("{method} failed: HTTP error {status}{hint}"))
            .with_path(shown)
            .temporary(temporary),
    )
}

fn media_type(res: &Response) -> String {
    let ty = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ty.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Size, time and type from a response's headers.
pub fn head_of(res: &Response) -> Head {
    let h = res.headers();
    let text = |name| h.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let total = text(reqwest::header::CONTENT_RANGE)
        .and_then(|r| r.rsplit_once('/'))
        .and_then(|(_, total)| total.trim().parse().ok());
    let size =
        total.or_else(|| text(reqwest::header::CONTENT_LENGTH).and_then(|l| l.trim().parse().ok()));
    Head {
        size,
        mtime: text(reqwest::header::LAST_MODIFIED).and_then(ferry_core::timefmt::parse_http_date),
        html: media_type(res) == "text/html",
        content_type: text(reqwest::header::CONTENT_TYPE)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped_as_go_escapes_them() {
        let opts = HttpOptions {
            base: Url::parse("http://h/d/").unwrap(),
            login: None,
            headers: vec![],
            no_slash: false,
            no_escape: false,
            timeouts: Default::default(),
            http: Default::default(),
        };
        let c = Client::new(&opts).unwrap();
        assert_eq!(
            c.url("a b/100%#?.txt".as_bytes(), false).unwrap().as_str(),
            "http://h/d/a%20b/100%25%23%3F.txt"
        );
        assert_eq!(c.url(b"x:y", true).unwrap().as_str(), "http://h/d/x:y/");
        assert_eq!(
            c.url(b"caf\xe9", false).unwrap().as_str(),
            "http://h/d/caf%E9"
        );
    }
}
