//! Hostile servers (`ferry_testbed::hostile`): an S3 endpoint, a WebDAV server and an
//! HTTP index that lie — names with `..`, a leading `/`, an encoded `/`, NUL and
//! control characters, names that differ only in case or Unicode normalisation, entries
//! listed twice and out of order, a size that doesn't match the bytes, a body that ends
//! early, a body that never ends. ferry writes nothing outside the destination, stops
//! the endless read, reports each bad entry once, and a `sync` that met them deletes
//! nothing.
//!
//! Each test prints a `figures:` line with the hostile inputs it served.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ferry_testbed::hostile::{Body, HostileServer, Request, Response};

use super::common::{cloud, Scratch};

/// One lying entry: its name as the server spells it, the size it claims, its body.
struct Entry {
    name: &'static str,
    size: u64,
    body: Body,
}

fn bytes(b: &str) -> Body {
    Body::Bytes(b.as_bytes().to_vec())
}

/// The entries every hostile server lists (in this order: not sorted, one repeated).
fn entries() -> Vec<Entry> {
    let e = |name, size, body| Entry { name, size, body };
    vec![
        e("zz-last.txt", 2, bytes("zz")),
        e("good.txt", 4, bytes("good")),
        e("../escape.txt", 5, bytes("evil!")),
        e("a/../../up.txt", 5, bytes("evil!")),
        e("/abs.txt", 5, bytes("evil!")),
        e("ctl\u{1}x.txt", 3, bytes("ctl")),
        e("nul\u{0}x.txt", 3, bytes("nul")),
        e("Case.txt", 5, bytes("upper")),
        e("case.txt", 5, bytes("lower")),
        e("caf\u{e9}.txt", 3, bytes("nfc")),
        e("cafe\u{301}.txt", 3, bytes("nfd")),
        e("dup.txt", 3, bytes("dup")),
        e("dup.txt", 3, bytes("dup")),
        e("liar.txt", 10, bytes("twenty bytes, not 10")),
        e(
            "short.txt",
            100,
            Body::Lying {
                claimed: 100,
                sent: b"only thirty bytes of a hundred".to_vec(),
            },
        ),
        e("endless.txt", 10, Body::Endless),
    ]
}

/// The bad entries: each must be named in the errors exactly once.
const BAD: &[&str] = &["liar.txt", "short.txt", "endless.txt"];

/// Runs ferry within `limit` (else fails: it read for ever); (code, stderr).
fn bounded(args: &[&str], limit: Duration) -> (i32, String) {
    let start = Instant::now();
    let mut child = cloud()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st.code().unwrap_or(-1), reader.join().unwrap());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ferry {args:?} still running after {limit:?}: it read without end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file below `root`, relative (`/`-joined), by its raw name.
fn all_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

/// What every hostile run must leave: nothing outside `dst`, the honest files whole, no
/// lying file under its name, the file only `dst` had still there, each bad entry named
/// once.
#[track_caller]
fn assert_contained(sc: &Scratch, what: &str, code: i32, err: &str) {
    let outside: Vec<_> = all_files(sc.dir.path())
        .into_iter()
        .filter(|f| !f.starts_with("dst/"))
        .collect();
    assert!(
        outside.is_empty(),
        "{what}: written outside the destination: {outside:?}\n{err}"
    );
    assert_ne!(
        code, 0,
        "{what}: a run that met lying entries succeeded: {err}"
    );
    let read = |rel: &str| std::fs::read_to_string(sc.path(rel)).ok();
    assert_eq!(
        read("dst/good.txt").as_deref(),
        Some("good"),
        "{what}: {err}"
    );
    assert_eq!(
        read("dst/zz-last.txt").as_deref(),
        Some("zz"),
        "{what}: {err}"
    );
    assert_eq!(
        read("dst/only-dst.txt").as_deref(),
        Some("mine"),
        "{what}: a sync with errors deleted: {err}"
    );
    for bad in BAD {
        assert!(
            !sc.exists(&format!("dst/{bad}")),
            "{what}: {bad} was written: {err}"
        );
        // The closing summary ("Failed to copy with N errors: last error was: ...")
        // repeats one of them, as rclone's does.
        let named = err
            .lines()
            .filter(|l| l.contains(bad) && !l.contains("last error was"))
            .count();
        assert_eq!(named, 1, "{what}: {bad} is named {named} times:\n{err}");
    }
    // The body cut short says so, with its counts, as a temporary failure (it was
    // "error decoding response body").
    let short = err
        .lines()
        .find(|l| l.contains("short.txt") && !l.contains("last error was"))
        .unwrap_or_default();
    assert!(
        short.contains("cut short by the server: expected 100 bytes, got 30")
            && short.contains("temporary"),
        "{what}: {short}"
    );
    for f in all_files(&sc.path("dst")) {
        assert!(
            !f.contains('\u{0}') && !f.contains(".."),
            "{what}: a name no entry should have made: {f:?}"
        );
    }
}

fn scratch() -> Scratch {
    let sc = Scratch::new();
    sc.write("dst/only-dst.txt", "mine", 100);
    sc
}

fn find<'a>(list: &'a [Entry], name: &str) -> Option<&'a Entry> {
    list.iter().find(|e| e.name == name)
}

/// The entry's ETag: the MD5 of its bytes (of the bytes it claims, for a lying body).
fn etag(e: &Entry) -> String {
    use md5::Digest;
    match &e.body {
        Body::Bytes(b) if b.len() as u64 == e.size => hex::encode(md5::Md5::digest(b)),
        _ => "0123456789abcdef0123456789abcdef".to_owned(),
    }
}

fn body_of(list: &[Entry], name: &str) -> Response {
    match find(list, name) {
        Some(e) => Response::new(200, e.body.clone())
            .header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
            .header("ETag", &format!("\"{}\"", etag(e))),
        None => Response::status(404),
    }
}

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(req: &Request, key: &str) -> Option<String> {
    req.query()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| pct_decode(v))
}

/// An S3 endpoint whose one bucket `b` lists [`entries`] (URL-encoded, as asked for).
fn s3_handler(req: &Request) -> Response {
    let list = entries();
    let path = pct_decode(req.path());
    if req.query().contains("list-type=2") {
        let prefix = query_param(req, "prefix").unwrap_or_default();
        let delim = query_param(req, "delimiter").unwrap_or_default();
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult \
             xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>\
             <IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>",
        );
        let mut prefixes = Vec::new();
        for e in list.iter().filter(|e| e.name.starts_with(&prefix)) {
            let rest = &e.name[prefix.len()..];
            match rest.find('/') {
                Some(i) if !delim.is_empty() => {
                    let p = format!("{prefix}{}", &rest[..=i]);
                    if !prefixes.contains(&p) {
                        prefixes.push(p);
                    }
                }
                _ => xml.push_str(&format!(
                    "<Contents><Key>{}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>\
                     <ETag>\"{}\"</ETag><Size>{}</Size>\
                     <StorageClass>STANDARD</StorageClass></Contents>",
                    pct(e.name),
                    etag(e),
                    e.size
                )),
            }
        }
        for p in prefixes {
            xml.push_str(&format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                pct(&p)
            ));
        }
        xml.push_str("</ListBucketResult>");
        return Response::xml(xml);
    }
    match path.strip_prefix("/b/") {
        Some(key) if req.method == "GET" || req.method == "HEAD" => {
            body_of(&list, key).header("Content-Type", "application/octet-stream")
        }
        _ if path == "/b" || path == "/b/" => Response::status(200),
        _ => Response::status(404),
    }
}

#[test]
fn a_lying_s3_listing_writes_nothing_outside_the_destination_and_deletes_nothing() {
    let server = HostileServer::start(s3_handler);
    let remote = format!(
        ":s3,provider=Other,access_key_id=k,secret_access_key=s,endpoint='{}',region=us-east-1,\
         force_path_style=true:b",
        server.url()
    );
    copy_and_sync_stay_contained("s3", &remote);
    eprintln!(
        "figures: hostile s3 entries={} requests={}",
        entries().len(),
        server.requests().len()
    );
}

/// A WebDAV server whose collection `/dav/` answers PROPFIND with [`entries`] (and an
/// href out of the collection, and one to another host).
fn webdav_handler(req: &Request) -> Response {
    let list = entries();
    let path = pct_decode(req.path());
    if req.method == "PROPFIND" {
        if path.trim_end_matches('/') != "/dav" {
            return match path.strip_prefix("/dav/").and_then(|n| find(&list, n)) {
                Some(e) => Response::new(
                    207,
                    bytes(&propfind(&[(format!("/dav/{}", pct(e.name)), e.size)])),
                )
                .header("Content-Type", "application/xml; charset=utf-8"),
                None => Response::status(404),
            };
        }
        let mut items = vec![("/dav/".to_owned(), u64::MAX)];
        items.extend(
            list.iter()
                .map(|e| (format!("/dav/{}", pct(e.name)), e.size)),
        );
        items.push(("/elsewhere/outside.txt".to_owned(), 5));
        items.push(("http://other.invalid/dav/x.txt".to_owned(), 5));
        items.push(("/dav/a%2Fb.txt".to_owned(), 5));
        return Response::new(207, bytes(&propfind(&items)))
            .header("Content-Type", "application/xml; charset=utf-8");
    }
    match path.strip_prefix("/dav/") {
        Some(name) if req.method == "GET" || req.method == "HEAD" => body_of(&list, name),
        _ => Response::status(404),
    }
}

/// A multistatus answer; `u64::MAX` marks a collection.
fn propfind(items: &[(String, u64)]) -> String {
    let mut x =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><D:multistatus xmlns:D=\"DAV:\">");
    for (href, size) in items {
        let prop = if *size == u64::MAX {
            "<D:resourcetype><D:collection/></D:resourcetype>".to_owned()
        } else {
            format!("<D:resourcetype/><D:getcontentlength>{size}</D:getcontentlength>")
        };
        x.push_str(&format!(
            "<D:response><D:href>{href}</D:href><D:propstat><D:prop>{prop}\
             <D:getlastmodified>Mon, 01 Jan 2024 00:00:00 GMT</D:getlastmodified></D:prop>\
             <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
        ));
    }
    x.push_str("</D:multistatus>");
    x
}

/// A `copy` and a `sync` from the lying `remote` into fresh destinations, each within a
/// bounded time and each leaving what [`assert_contained`] asks.
fn copy_and_sync_stay_contained(name: &str, remote: &str) {
    for verb in ["copy", "sync"] {
        let sc = scratch();
        let dst = sc.dst();
        let (code, err) = bounded(
            &[verb, "--retries=1", "--timeout=5s", remote, &dst],
            Duration::from_secs(90),
        );
        assert_contained(&sc, &format!("{name} {verb}"), code, &err);
    }
}

#[test]
fn a_lying_webdav_server_writes_nothing_outside_the_destination_and_deletes_nothing() {
    let server = HostileServer::start(webdav_handler);
    let remote = format!(":webdav,url='{}/dav/':", server.url());
    copy_and_sync_stay_contained("webdav", &remote);
    eprintln!(
        "figures: hostile webdav entries={} requests={}",
        entries().len() + 3,
        server.requests().len()
    );
}

/// An HTTP server whose `/files/` page links [`entries`] (and links out of the tree).
fn http_handler(req: &Request) -> Response {
    let list = entries();
    let path = pct_decode(req.path());
    if path == "/files/" {
        let mut page = String::from("<html><body>");
        for e in &list {
            page.push_str(&format!("<a href=\"{}\">x</a>\n", pct(e.name)));
        }
        page.push_str(
            "<a href=\"/elsewhere/outside.txt\">x</a><a href=\"http://other.invalid/x\">x</a>",
        );
        page.push_str("<a href=\"a%2Fb.txt\">x</a></body></html>");
        return Response::ok(page).header("Content-Type", "text/html");
    }
    match path.strip_prefix("/files/") {
        // A HEAD gives the size the listing claims; a GET then sends other bytes.
        Some(name) if req.method == "HEAD" => match find(&list, name) {
            Some(e) if !matches!(e.body, Body::Endless) => Response::new(
                200,
                Body::Lying {
                    claimed: e.size,
                    sent: Vec::new(),
                },
            ),
            _ => body_of(&list, name),
        },
        Some(name) => body_of(&list, name),
        None => Response::status(404),
    }
}

#[test]
fn a_lying_http_index_writes_nothing_outside_the_destination_and_deletes_nothing() {
    let server = HostileServer::start(http_handler);
    let remote = format!(":http,url='{}/files/':", server.url());
    copy_and_sync_stay_contained("http", &remote);
    eprintln!(
        "figures: hostile http entries={} requests={}",
        entries().len() + 3,
        server.requests().len()
    );
}

/// A listing whose every page is the same page of 20,000 entries, saying more follow, is read in bounded time and
/// memory, and a sync from it deletes nothing when it can't be trusted.
#[test]
fn a_huge_repeating_s3_listing_ends_and_is_read_once() {
    const N: usize = 20_000;
    let server = HostileServer::start(|req: &Request| {
        if !req.query().contains("list-type=2") {
            return Response::status(404);
        }
        // Every page is the same page, and says more follow, for ever: a listing that
        // repeats without end. ferry must notice, not loop.
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name>\
             <IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken>",
        );
        for i in 0..N {
            xml.push_str(&format!(
                "<Contents><Key>f{i:06}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>\
                 <Size>1</Size></Contents>"
            ));
        }
        xml.push_str("</ListBucketResult>");
        Response::xml(xml)
    });
    let remote = format!(
        ":s3,provider=Other,access_key_id=k,secret_access_key=s,endpoint='{}',region=us-east-1,\
         force_path_style=true:b",
        server.url()
    );
    let sc = scratch();
    let dst = sc.dst();
    let (code, err) = bounded(
        &["sync", "--retries=1", "--timeout=5s", &remote, &dst],
        Duration::from_secs(120),
    );
    assert_ne!(
        code, 0,
        "a listing that repeats for ever can't succeed: {err}"
    );
    assert_eq!(sc.read("dst/only-dst.txt"), "mine", "{err}");
    eprintln!(
        "figures: hostile s3-endless-listing entries-per-page={N} pages-read={} exit={code}",
        server.requests().len()
    );
}
