//! rclone's `--dump`: each HTTP request and response written to the debug log in rclone's
//! layout (a `>>>>` block for the request, a `<<<<` block for the response, both tagged
//! with the same request id), with credentials shown as `XXXX` unless `auth` is given.
//! HTTP backends call [`Dump::request`] and [`Dump::response`] around each transaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const REQ: &str = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
const RESP: &str = "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<";

/// Headers whose values are credentials (rclone hides the first two; the rest carry
/// signatures or keys in ferry's backends).
const AUTH_HEADERS: [&str; 5] = [
    "authorization",
    "x-auth-token",
    "x-amz-security-token",
    "x-ms-copy-source-authorization",
    "x-amz-server-side-encryption-customer-key",
];

/// Query keys whose values are credentials (a SAS signature, a presigned URL's, a GCS
/// resumable session's id, which lets anyone holding it write the object).
const AUTH_QUERY: [&str; 5] = [
    "sig",
    "upload_id",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// What `--dump` asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dump {
    pub headers: bool,
    pub bodies: bool,
    pub requests: bool,
    pub responses: bool,
    pub auth: bool,
    /// Only transactions that failed (rclone's `errors`).
    pub errors: bool,
}

/// rclone's words ferry accepts but has nothing to show for (Go runtime state, curl
/// commands, connection traces, filters and mappings are not HTTP dumps here).
pub const NOT_DUMPED: [&str; 6] = [
    "filters",
    "goroutines",
    "openfiles",
    "mapper",
    "curl",
    "trace",
];

impl Dump {
    /// `--dump headers,bodies,...`; the second value lists the words accepted without
    /// effect. Unknown words are an error listing the known ones.
    pub fn parse(text: &str) -> Result<(Dump, Vec<String>), String> {
        let mut d = Dump::default();
        let mut unused = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word.to_ascii_lowercase().as_str() {
                "headers" => d.headers = true,
                "bodies" => d.bodies = true,
                "requests" => d.requests = true,
                "responses" => d.responses = true,
                "auth" => d.auth = true,
                "errors" => d.errors = true,
                w if NOT_DUMPED.contains(&w) => unused.push(w.to_owned()),
                _ => {
                    return Err(format!(
                        "invalid choice {word:?} from: headers, bodies, requests, responses, auth, errors, {}",
                        NOT_DUMPED.join(", ")
                    ))
                }
            }
        }
        Ok((d, unused))
    }

    /// Whether any HTTP transaction is dumped.
    pub fn any(&self) -> bool {
        self.headers || self.bodies || self.requests || self.responses || self.auth || self.errors
    }

    /// Whether request bodies are shown.
    pub fn request_bodies(&self) -> bool {
        self.bodies || self.requests
    }

    /// Whether response bodies are shown.
    pub fn response_bodies(&self) -> bool {
        self.bodies || self.responses
    }

    /// A fresh id tying a request to its response.
    pub fn next_id() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(0xc000_0000);
        NEXT.fetch_add(0x100, Ordering::Relaxed)
    }

    /// The request block: `METHOD TARGET HTTP/1.1`, `Host`, the headers and (when asked)
    /// the body. Deferred to the response when only errors are dumped.
    pub fn request<'a>(
        &self,
        id: u64,
        method: &str,
        url: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: Option<&[u8]>,
    ) -> String {
        let (host, target) = split_url(url);
        let mut text = format!("{method} {} HTTP/1.1\nHost: {host}\n", self.query(target));
        for (name, value) in headers {
            text.push_str(&self.header(name, value));
        }
        text.push('\n');
        if let (true, Some(body)) = (self.request_bodies(), body) {
            text.push_str(&printable(body));
        }
        let block = format!("{REQ}\u{0}HTTP REQUEST (req {id:#x})\u{0}{text}\u{0}{REQ}");
        if !self.errors {
            log(&block);
        }
        block
    }

    /// The response block (and the request's, when only errors are dumped and this one
    /// failed). `status` is `None` when no answer came (`error` says why).
    pub fn response<'a>(
        &self,
        id: u64,
        request_block: &str,
        status: Result<u16, &str>,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: Option<&[u8]>,
    ) {
        let failed = !matches!(status, Ok(200..=399));
        if self.errors && !failed {
            return;
        }
        let mut text = match status {
            Ok(code) => format!("HTTP/1.1 {code} {}\n", reason(code)),
            Err(e) => format!("Error: {e}\n"),
        };
        for (name, value) in headers {
            text.push_str(&self.header(name, value));
        }
        text.push('\n');
        if let (true, Some(body)) = (self.response_bodies(), body) {
            text.push_str(&printable(body));
        }
        let block = format!("{RESP}\u{0}HTTP RESPONSE (req {id:#x})\u{0}{text}\u{0}{RESP}");
        if self.errors {
            log(&format!("{request_block}\u{0}{block}"));
        } else {
            log(&block);
        }
    }

    fn header(&self, name: &str, value: &[u8]) -> String {
        let secret = !self.auth && AUTH_HEADERS.contains(&name.to_ascii_lowercase().as_str());
        let value = if secret {
            "XXXX".into()
        } else if name.eq_ignore_ascii_case("location") {
            // A redirect or a resumable session's URL may carry a credential in its query.
            self.query(&String::from_utf8_lossy(value)).into()
        } else {
            String::from_utf8_lossy(value)
        };
        format!("{}: {}\n", canonical(name), value.replace('\u{0}', ""))
    }

    /// The request target with credential query values hidden (unless `auth`).
    fn query(&self, target: &str) -> String {
        let Some((path, query)) = target.split_once('?') else {
            return target.to_owned();
        };
        if self.auth {
            return target.to_owned();
        }
        let pairs: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if AUTH_QUERY.contains(&k.to_ascii_lowercase().as_str()) => {
                    format!("{k}=XXXX")
                }
                _ => kv.to_owned(),
            })
            .collect();
        format!("{path}?{}", pairs.join("&"))
    }
}

/// A block is logged as rclone logs it: the separator, the title, the text (one event of
/// several lines) and the separator, as four events (split at NULs, which no header or
/// logged body part may hold); blocks of concurrent transactions never interleave.
fn log(block: &str) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _held = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for part in block.split('\u{0}') {
        tracing::debug!("{part}");
    }
}

/// A body as text (NULs, which split log blocks, dropped).
fn printable(body: &[u8]) -> String {
    String::from_utf8_lossy(body).replace('\u{0}', "")
}

/// `(host[:port], /path?query)` of an absolute URL.
fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// `x-ms-version` → `X-Ms-Version`, as Go prints header names.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        416 => "Requested Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rclones_words() {
        let (d, unused) = Dump::parse("headers,Auth,filters").unwrap();
        assert!(d.headers && d.auth && !d.bodies && d.any());
        assert_eq!(unused, vec!["filters"]);
        assert!(Dump::parse("bodies").unwrap().0.request_bodies());
        let e = Dump::parse("headers,nope").unwrap_err();
        assert!(
            e.contains("invalid choice \"nope\"") && e.contains("responses"),
            "{e}"
        );
        assert!(!Dump::parse("").unwrap().0.any());
    }

    #[test]
    fn credentials_are_hidden_unless_auth() {
        let d = Dump::parse("headers").unwrap().0;
        let block = d.request(
            1,
            "GET",
            "https://a.blob.core.windows.net/c/x?comp=list&sig=SECRET&sv=1",
            [
                ("authorization", b"SharedKey acct:SECRET".as_slice()),
                ("x-ms-version", b"2021".as_slice()),
            ],
            Some(b"BODY"),
        );
        assert!(!block.contains("SECRET"), "{block}");
        assert!(block.contains(
            "GET /c/x?comp=list&sig=XXXX&sv=1 HTTP/1.1\nHost: a.blob.core.windows.net\n"
        ));
        assert!(block.contains("Authorization: XXXX\n") && block.contains("X-Ms-Version: 2021\n"));
        assert!(!block.contains("BODY"), "bodies only when asked");
        assert!(block.starts_with(REQ) && block.contains("HTTP REQUEST (req 0x1)"));
        let d = Dump::parse("headers,auth,requests").unwrap().0;
        let block = d.request(
            2,
            "PUT",
            "http://h:1/p?sig=S",
            [("authorization", b"K".as_slice())],
            Some(b"BODY"),
        );
        assert!(
            block.contains("sig=S") && block.contains("Authorization: K") && block.contains("BODY")
        );
    }

    #[test]
    fn a_resumable_session_id_is_hidden_in_targets_and_locations() {
        let d = Dump::parse("headers").unwrap().0;
        let block = d.request(
            3,
            "PUT",
            "http://h:1/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=SESSION",
            [],
            None,
        );
        assert!(
            block.contains("uploadType=resumable&upload_id=XXXX"),
            "{block}"
        );
        let line = d.header("Location", b"http://h:1/upload?name=x&upload_id=SESSION");
        assert_eq!(line, "Location: http://h:1/upload?name=x&upload_id=XXXX\n");
    }
}
