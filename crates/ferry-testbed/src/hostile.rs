//! A hostile HTTP/1.1 server on 127.0.0.1 for tests: it answers each request with
//! whatever the test's handler says, including what no honest server sends — a body
//! longer or shorter than its `Content-Length`, a body that never ends — so a test can
//! serve S3 XML listings, Azure listings, WebDAV PROPFIND answers or HTTP index pages
//! that lie (names with `..`, `/`, control characters, repeated or reordered entries,
//! sizes that don't match the bytes) to the real backends.
//!
//! Hand-written on tokio (no HTTP library): requests are read up to their headers (and
//! a `Content-Length` body), answers are written as the handler built them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request, as the handler sees it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent (`/bucket?list-type=2&prefix=`).
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query (after `?`), or "".
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What follows the headers.
#[derive(Clone, Debug)]
pub enum Body {
    /// These bytes, with a `Content-Length` that says so.
    Bytes(Vec<u8>),
    /// `Content-Length: claimed`, then only these bytes, then the connection is closed.
    Lying { claimed: u64, sent: Vec<u8> },
    /// Chunked, and never ending (until the client goes away).
    Endless,
}

/// One answer.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16, body: Body) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// 200 with these bytes.
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, Body::Bytes(body.into()))
    }

    /// 200, `application/xml`.
    pub fn xml(body: impl Into<Vec<u8>>) -> Response {
        Response::ok(body).header("Content-Type", "application/xml")
    }

    /// An empty answer with this status.
    pub fn status(status: u16) -> Response {
        Response::new(status, Body::Bytes(Vec::new()))
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A running hostile server; stops when dropped.
pub struct HostileServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl HostileServer {
    /// Starts a server on a free port of 127.0.0.1 answering with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> HostileServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("hostile server runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("hostile server: bind 127.0.0.1");
        let addr = listener.local_addr().expect("hostile server address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        rt.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, handler.clone(), log.clone()));
            }
        });
        HostileServer {
            addr,
            seen,
            rt: Some(rt),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, as `METHOD target`.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

async fn serve(mut conn: TcpStream, handler: Arc<Handler>, seen: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut conn, &mut buf).await else {
            return;
        };
        seen.lock()
            .unwrap()
            .push(format!("{} {}", req.method, req.target));
        let resp = handler(&req);
        if !answer(&mut conn, &req, resp).await {
            return;
        }
    }
}

/// Reads one request (its headers, and skips a `Content-Length` body); None at the end.
async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let req = Request {
        method,
        target,
        headers,
    };
    let mut body: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body > 0 {
        if buf.is_empty() {
            let mut chunk = [0u8; 65536];
            let n = conn.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let take = body.min(buf.len());
        buf.drain(..take);
        body -= take;
    }
    Some(req)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        207 => "Multi-Status",
        404 => "Not Found",
        _ => "Status",
    }
}

/// Writes `resp`; false when the connection is done with.
async fn answer(conn: &mut TcpStream, req: &Request, resp: Response) -> bool {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let head_only = req.method == "HEAD";
    // A lying or endless answer ends its connection, and says so: without the header a
    // client pools the connection and may send its next request just as it closes,
    // which fails that request by timing (a HEAD lost that way hid a listing's entry).
    if !matches!(resp.body, Body::Bytes(_)) {
        head.push_str("Connection: close\r\n");
    }
    match &resp.body {
        Body::Bytes(b) => head.push_str(&format!("Content-Length: {}\r\n\r\n", b.len())),
        Body::Lying { claimed, .. } => head.push_str(&format!("Content-Length: {claimed}\r\n\r\n")),
        Body::Endless => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    if conn.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    if head_only {
        return !matches!(resp.body, Body::Lying { .. });
    }
    match resp.body {
        Body::Bytes(b) => conn.write_all(&b).await.is_ok(),
        Body::Lying { sent, .. } => {
            let _ = conn.write_all(&sent).await;
            let _ = conn.shutdown().await;
            false
        }
        Body::Endless => {
            let chunk = vec![b'z'; 64 << 10];
            let frame = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk,
                b"\r\n".to_vec(),
            ]
            .concat();
            while conn.write_all(&frame).await.is_ok() {}
            false
        }
    }
}
