//! S3 listings and copies by what they cost: requests counted by a pass-through proxy in
//! front of the testbed's S3 server (moto, 127.0.0.1:9000). Listing asks for no object's
//! metadata unless a modification time is shown or compared; recursive listings go page by
//! page without a delimiter; server-side copies over `copy_cutoff` go in parts.
//! Every test skips (or fails under `CI=true`) when the server is not running.

use crate::common;
use common::sorted_lines as sorted;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::Scratch;
use ferry_testbed::{Testbed, S3};

use common::cloud_ok as fy_ok;

/// A TCP pass-through to the S3 server that keeps every byte clients sent, so a test can
/// count the requests of one command.
pub(crate) struct Proxy {
    url: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    pub(crate) fn start(upstream: &str) -> Proxy {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let log = log.clone();
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    let mut mine = Vec::new();
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        mine.extend_from_slice(&buf[..n]);
                    }
                    log.lock().unwrap().extend_from_slice(&mine);
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Proxy { url, sent }
    }

    /// The remote for `rel` in the test bucket, through this proxy, with extra options.
    pub(crate) fn remote(&self, s3: &S3, extra: &[(&str, &str)], rel: &str) -> String {
        let base = s3
            .rclone_remote()
            .replace(&format!("'{}'", s3.endpoint), &format!("'{}'", self.url));
        let mut s = base[..base.len() - 1].to_owned();
        for (k, v) in extra {
            s.push_str(&format!(",{k}={v}"));
        }
        format!("{s}:{}/{rel}", s3.bucket)
    }

    /// Forgets what was sent so far.
    pub(crate) fn reset(&self) {
        self.sent.lock().unwrap().clear();
    }

    /// Requests sent since the last reset whose request line starts with `method` and
    /// contains `needle`.
    pub(crate) fn count(&self, method: &str, needle: &str) -> usize {
        // Every connection has closed by the time the command exited; its bytes are in.
        std::thread::sleep(Duration::from_millis(200));
        let sent = self.sent.lock().unwrap();
        let text = String::from_utf8_lossy(&sent);
        text.split("\r\n")
            .filter(|l| l.starts_with(&format!("{method} /")) && l.contains(needle))
            .count()
    }
}

/// A raw PUT to the S3 server with curl (moto accepts any signature); `key` percent-encoded.
fn put_raw(s3: &S3, key: &str, body: &[u8]) {
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
    let f = std::env::temp_dir().join(format!("ferry-s3-list-raw-{}", std::process::id()));
    std::fs::write(&f, body).unwrap();
    let out = Command::new("curl")
        .args(["-s", "--path-as-is", "-X", "PUT", "-H"])
        .arg(format!("Authorization: {auth}"))
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .arg("--data-binary")
        .arg(format!("@{}", f.display()))
        .arg(format!("{}/{}/{key}", s3.endpoint, s3.bucket))
        .output()
        .expect("curl runs");
    assert!(out.status.success());
    let _ = std::fs::remove_file(f);
}

/// Ten small files in nested directories, uploaded by ferry with mtimes from 2001.
fn populate(s3: &S3, sc: &Scratch, rel: &str) {
    for (i, p) in [
        "a.txt",
        "b/c.txt",
        "b/d/e.txt",
        "b/d/f.txt",
        "b/g.txt",
        "h/i/j/k.txt",
        "h/l.txt",
        "m.txt",
        "n/o.txt",
        "n/p.txt",
    ]
    .iter()
    .enumerate()
    {
        let path = sc.path(&format!("src/{p}"));
        common::write_file(&path, p.as_bytes(), 0);
        let t = UNIX_EPOCH + Duration::new(1_000_000_000 + i as u64, 123_456_789);
        filetime::set_file_mtime(&path, filetime::FileTime::from_system_time(t)).unwrap();
    }
    fy_ok(&["copy", &sc.src(), &s3.rclone_path(rel)]);
}

#[test]
fn listings_head_objects_only_when_showing_or_comparing_mtimes() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "data");
    let proxy = Proxy::start(&s3.endpoint);
    let remote = proxy.remote(&s3, &[], "data");

    for args in [
        vec!["ls", &remote],
        vec!["lsf", "-R", &remote],
        vec!["size", &remote],
        vec!["md5sum", &remote],
    ] {
        proxy.reset();
        fy_ok(&args);
        assert_eq!(proxy.count("HEAD", "/data/"), 0, "{args:?} sent HEADs");
    }
    // lsl shows the stored mtimes (2001), one HEAD per object; --use-server-modtime
    // shows the upload times and sends none.
    proxy.reset();
    let (out, _) = fy_ok(&["lsl", &remote]);
    assert_eq!(proxy.count("HEAD", "/data/"), 10);
    assert!(out.contains("2001-09-0"), "{out}");
    proxy.reset();
    let (out, _) = fy_ok(&["lsl", &remote, "--use-server-modtime"]);
    assert_eq!(proxy.count("HEAD", "/data/"), 0);
    assert!(!out.contains("2001-09-0"), "{out}");

    // A download takes each mtime from its GET: no HEAD, mtimes exact.
    proxy.reset();
    fy_ok(&["sync", &remote, &sc.dst()]);
    assert_eq!(proxy.count("HEAD", "/data/"), 0);
    common::assert_same_tree(&sc.path("src"), &sc.path("dst"));
    // A no-op sync compares mtimes (same sizes): then each source object is HEADed once.
    proxy.reset();
    fy_ok(&["sync", &remote, &sc.dst()]);
    assert_eq!(proxy.count("HEAD", "/data/"), 10);
    // ...but not with --size-only.
    proxy.reset();
    fy_ok(&["sync", &remote, &sc.dst(), "--size-only"]);
    assert_eq!(proxy.count("HEAD", "/data/"), 0);
}

#[test]
fn recursive_listing_goes_page_by_page_and_matches_the_walk() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "data");
    put_raw(&s3, "data/marker-only/", b"");
    put_raw(&s3, "data/b/d/", b"");
    put_raw(&s3, "data/..%2Fescape.txt", b"hostile");
    let proxy = Proxy::start(&s3.endpoint);
    let remote = proxy.remote(&s3, &[("list_chunk", "3")], "data");

    // The hostile key is skipped, and is an error of each listing that meets it (exit 1).
    let listed = |args: &[&str]| {
        let (code, out, err) = common::cloud_run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        (out, err)
    };
    // One listing without a delimiter: 13 keys in pages of 3.
    proxy.reset();
    let (flat, err) = listed(&["lsf", "-R", &remote]);
    assert_eq!(proxy.count("GET", "max-keys=3"), 5, "{err}");
    assert_eq!(proxy.count("GET", "delimiter"), 0);
    assert!(err.contains("not a safe relative path"), "{err}");
    // The same as walking directory by directory (a depth limit forces the walk).
    let (walked, _) = listed(&["lsf", "-R", "--max-depth", "50", &remote]);
    assert_eq!(sorted(&flat), sorted(&walked));
    assert_eq!(
        flat.lines().filter(|l| l.ends_with('/')).count(),
        7,
        "each directory once:\n{flat}"
    );
    assert!(flat.contains("marker-only/\n"), "{flat}");
    assert!(!flat.contains("escape"), "{flat}");
    // Key order with markers where they are listed, as rclone; the directories only
    // implied by keys come after every key, in name order.
    let lines: Vec<&str> = flat.lines().collect();
    assert_eq!(
        &lines[..4],
        ["a.txt", "b/c.txt", "b/d/", "b/d/e.txt"],
        "{flat}"
    );
    assert_eq!(
        lines[lines.len() - 5..],
        ["b/", "h/", "h/i/", "h/i/j/", "n/"],
        "{flat}"
    );

    let (ls_flat, _) = listed(&["ls", &remote]);
    let (ls_walk, _) = listed(&["ls", "--max-depth", "50", &remote]);
    assert_eq!(sorted(&ls_flat), sorted(&ls_walk));
    // size counts nothing it can't be sure of: the error stops it, as rclone's.
    let (_, err) = listed(&["size", &remote]);
    assert!(err.contains("not a safe relative path"), "{err}");
    // Directory filters need the walk; results agree.
    let (filtered, _) = listed(&["lsf", "-R", &remote, "--exclude", "/b/**"]);
    assert!(
        !filtered.contains("b/c.txt") && filtered.contains("n/o.txt"),
        "{filtered}"
    );

    // purge enumerates its files from one flat listing (2 keys: one page); only the
    // removal of the emptied directories afterwards looks into each.
    proxy.reset();
    fy_ok(&[
        "purge",
        &proxy.remote(&s3, &[("list_chunk", "3")], "data/h"),
    ]);
    let listings = proxy.count("GET", "max-keys=3");
    assert_eq!(listings - proxy.count("GET", "delimiter"), 1);
    let (left, _) = listed(&["lsf", "-R", &remote]);
    assert!(!left.contains("h/"), "{left}");
}

#[test]
fn copies_over_copy_cutoff_go_in_parts() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    let mut data = Vec::with_capacity(12 << 20);
    let mut x: u64 = 7;
    while data.len() < 12 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let src = sc.path("src/big.bin");
    common::write_file(&src, &data, 0);
    let t = UNIX_EPOCH + Duration::new(1_234_567_890, 5);
    filetime::set_file_mtime(&src, filetime::FileTime::from_system_time(t)).unwrap();
    fy_ok(&["copy", &sc.src(), &s3.rclone_path("orig")]);

    let proxy = Proxy::start(&s3.endpoint);
    let from = proxy.remote(&s3, &[("copy_cutoff", "5M")], "orig");
    let to = proxy.remote(&s3, &[("copy_cutoff", "5M")], "copy");
    let (_, err) = fy_ok(&["copy", &from, &to, "-vv"]);
    assert!(err.contains("copying on the server in 3 parts"), "{err}");
    assert_eq!(proxy.count("PUT", "partNumber="), 3, "{err}");
    // The same options work as flags.
    let (_, err) = fy_ok(&[
        "copy",
        &s3.rclone_path("orig"),
        &s3.rclone_path("flagged"),
        "--s3-copy-cutoff",
        "5M",
        "-vv",
    ]);
    assert!(err.contains("in 3 parts"), "{err}");

    // Content, mtime and MD5 survive: check is clean, lsl and md5sum agree.
    fy_ok(&["check", &sc.src(), &s3.rclone_path("copy")]);
    let (a, _) = fy_ok(&["lsl", &s3.rclone_path("orig")]);
    let (b, _) = fy_ok(&["lsl", &s3.rclone_path("copy")]);
    assert_eq!(a, b);
    assert!(a.contains("2009-02-1"), "{a}");
    let (a, _) = fy_ok(&["md5sum", &s3.rclone_path("orig")]);
    let (b, _) = fy_ok(&["md5sum", &s3.rclone_path("copy")]);
    assert_eq!(a, b);
    let (json, _) = fy_ok(&["lsjson", &s3.rclone_path("copy/big.bin"), "--stat"]);
    assert!(json.contains("\"Size\": 12582912"), "{json}");
    fy_ok(&["copy", &s3.rclone_path("copy"), &sc.dst()]);
    assert!(std::fs::read(sc.path("dst/big.bin")).unwrap() == data);
    // The copy is a multipart object: its ETag ends in -3 (read with rclone's view).
    let etag = Command::new("curl")
        .args(["-sI", "-H"])
        .arg("Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
        .arg(format!("{}/{}/copy/big.bin", s3.endpoint, s3.bucket))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&etag.stdout).to_ascii_lowercase();
    assert!(head.contains("-3\""), "{head}");
}

#[test]
fn prefix_directories_show_rclones_time() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "dt");
    let (out, _) = fy_ok(&["lsd", &s3.rclone_path("dt")]);
    let rclone = Command::new(&s3.rclone)
        .env("RCLONE_CONFIG", "/dev/null")
        .args(["lsd", &s3.rclone_path("dt")])
        .output()
        .expect("rclone runs");
    let theirs = String::from_utf8_lossy(&rclone.stdout);
    // Key prefixes keep no time: both show 2000-01-01 (rclone prints S3's size as 0).
    let dates = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(
        dates(&out),
        dates(&theirs),
        "ours:\n{out}\nrclone's:\n{theirs}"
    );
    assert!(out.contains("2000-01-01 00:00:00"), "{out}");
    let (json, _) = fy_ok(&["lsjson", "--dirs-only", &s3.rclone_path("dt")]);
    assert!(json.contains("\"ModTime\":\"2000-01-01T00:00:00"), "{json}");
    // --default-time: the time shown instead, the same in both.
    let stamp = "2020-02-03T04:05:06Z";
    let (out, _) = fy_ok(&["lsd", "--default-time", stamp, &s3.rclone_path("dt")]);
    let rclone = Command::new(&s3.rclone)
        .env("RCLONE_CONFIG", "/dev/null")
        .args(["lsd", "--default-time", stamp, &s3.rclone_path("dt")])
        .output()
        .expect("rclone runs");
    let theirs = String::from_utf8_lossy(&rclone.stdout);
    assert_eq!(
        dates(&out),
        dates(&theirs),
        "ours:\n{out}\nrclone's:\n{theirs}"
    );
    assert!(!out.contains("2000-01-01"), "{out}");
    let (json, _) = fy_ok(&[
        "lsjson",
        "--dirs-only",
        "--default-time",
        stamp,
        &s3.rclone_path("dt"),
    ]);
    assert!(json.contains("\"ModTime\":\"2020-02-03T04:05:06"), "{json}");
}

#[test]
fn recursive_listings_show_directories_and_tiers_as_rclone() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "rl");
    let rclone = || {
        let mut c = Command::new(&s3.rclone);
        c.env("RCLONE_CONFIG", "/dev/null");
        c
    };
    let here = s3.rclone_path("rl");
    // A provider with storage classes shows each object's tier (STANDARD unless named).
    let aws = here.replacen("provider=Other", "provider=AWS", 1);
    assert_ne!(aws, here, "the testbed's remote names its provider: {here}");
    let started = std::time::SystemTime::now();
    for args in [
        vec!["lsjson", "-R", &here],
        vec!["lsjson", "-R", "--dirs-only", &here],
        vec!["lsf", "-R", "--format", "pst", &here],
        vec!["lsf", "-R", &here],
        vec!["lsjson", "-R", &aws],
        vec!["lsf", "-R", "--format", "pT", &aws],
    ] {
        let ((rc, theirs), (fc, ours)) = common::side_by_side(rclone(), &args);
        assert_eq!((fc, rc), (0, 0), "{args:?}");
        // Files in key order, then the directories only implied by keys, timed now.
        assert_eq!(
            common::dir_times_blanked(&ours),
            common::dir_times_blanked(&theirs),
            "{args:?}\nours:\n{ours}\nrclone's:\n{theirs}"
        );
    }
    let (json, _) = fy_ok(&["lsjson", "-R", "--dirs-only", &here]);
    for line in json.lines().filter(|l| l.contains("IsDir")) {
        let at = line.find("\"ModTime\":\"").unwrap() + 11;
        let end = at + line[at..].find('"').unwrap();
        let when = chrono::DateTime::parse_from_rfc3339(&line[at..end]).unwrap();
        let started = chrono::DateTime::<chrono::Utc>::from(started - Duration::from_secs(2));
        assert!(when >= started, "{line}");
    }
}

#[test]
fn a_no_op_rerun_needs_no_request_per_object_and_a_changed_one_is_noticed() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "j");
    let proxy = Proxy::start(&s3.endpoint);
    let remote = proxy.remote(&s3, &[], "j");
    let cache = tempfile::tempdir().unwrap();
    let src = sc.src();
    // The journal records under listed times a settling margin old (60 s by default).
    std::thread::sleep(Duration::from_millis(1200));
    let sync = |extra: &[&str]| {
        let mut c = common::cloud();
        c.env("XDG_CACHE_HOME", cache.path())
            .env("FERRY_JOURNAL_SETTLE", "1s");
        let mut args = vec!["sync", "-v", &src, &remote];
        args.extend_from_slice(extra);
        common::ok_with(c, &args)
    };
    // The first no-op run learns each object's mtime (a HEAD each), the next needs none.
    proxy.reset();
    sync(&[]);
    assert_eq!(proxy.count("HEAD", "/j/"), 10);
    proxy.reset();
    let (_, err) = sync(&[]);
    assert_eq!(proxy.count("HEAD", "/j/"), 0, "{err}");
    assert!(!err.contains("Copied") && !err.contains("Updated"), "{err}");
    // Another client rewrites one object keeping its size: noticed and put right.
    let other = sc.path("other.txt");
    common::write_file(&other, b"b/g.TXT", 0);
    let theirs = s3.rclone_path("j/b/g.txt");
    ferry_testbed::run(
        s3.rclone()
            .args(["copyto", &other.to_string_lossy(), &theirs]),
    );
    proxy.reset();
    let (_, err) = sync(&[]);
    assert!(err.contains("b/g.txt: Copied (replaced existing)"), "{err}");
    assert_eq!(proxy.count("HEAD", "/j/b/g.txt"), 1, "{err}");
    assert_eq!(proxy.count("HEAD", "/j/"), 1, "only the changed one: {err}");
    // Without the journal every object is asked again.
    proxy.reset();
    sync(&["--no-journal"]);
    assert_eq!(proxy.count("HEAD", "/j/"), 10);
}

#[test]
fn runs_killed_while_journaling_leave_a_journal_that_still_only_tells_the_truth() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "k");
    let remote = s3.rclone_path("k");
    let cache = tempfile::tempdir().unwrap();
    let src = sc.src();
    let ferry = || {
        let mut c = common::cloud();
        c.env("XDG_CACHE_HOME", cache.path())
            .env("FERRY_JOURNAL_SETTLE", "1s")
            .args(["sync", "-v", &src, &remote])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        c
    };
    for delay in [5, 20, 40, 80, 160] {
        let mut child = ferry().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL, mid-way through the HEADs or their records
        let _ = child.wait();
    }
    std::thread::sleep(Duration::from_millis(1200));
    for _ in 0..2 {
        let out = ferry().output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(
            !err.contains("could not be read"),
            "the journal was damaged: {err}"
        );
        assert!(!err.contains("Copied") && !err.contains("Updated"), "{err}");
    }
    // What it holds is still only the truth: another client (rclone) rewrites every
    // object with other content of the same size and another time; each must be noticed
    // and put back.
    let alt = sc.path("alt");
    for (rel, (content, _)) in common::tree(&sc.path("src")) {
        common::write_file(&alt.join(&rel), &content.to_ascii_uppercase(), 0);
        let t = UNIX_EPOCH + Duration::from_secs(1_012_615_322);
        filetime::set_file_mtime(alt.join(&rel), filetime::FileTime::from_system_time(t)).unwrap();
    }
    let before = fy_ok(&["lsl", &remote]).0;
    ferry_testbed::run(s3.rclone().args(["sync", &alt.to_string_lossy(), &remote]));
    assert_ne!(before, fy_ok(&["lsl", &remote]).0, "rclone changed nothing");
    let out = ferry().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("Copied (replaced existing)").count(),
        10,
        "{err}"
    );
}

/// Uploads `src` to `remote` again with rclone (as the benchmark's s3-noop does before
/// each run): every object new, with the same content, ETag and mtime metadata but a new
/// LastModified. A file over 5 MiB goes in parts (a `-2` ETag, no MD5 of the content).
fn upload_again(s3: &S3, src: &str, remote: &str) {
    ferry_testbed::run(s3.rclone().args(["delete", remote]));
    ferry_testbed::run(s3.rclone().args([
        "copy",
        src,
        remote,
        "--s3-upload-cutoff",
        "5Mi",
        "--s3-chunk-size",
        "5Mi",
    ]));
}

#[test]
fn a_tree_uploaded_again_with_the_same_content_needs_no_request_per_object() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "u");
    let big = sc.path("src/big.bin");
    let data: Vec<u8> = (0..6u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    common::write_file(&big, &data, 0);
    let t = UNIX_EPOCH + Duration::from_secs(1_100_000_000);
    filetime::set_file_mtime(&big, filetime::FileTime::from_system_time(t)).unwrap();
    let proxy = Proxy::start(&s3.endpoint);
    let remote = proxy.remote(&s3, &[], "u");
    let direct = s3.rclone_path("u");
    let cache = tempfile::tempdir().unwrap();
    let src = sc.src();
    // The default settling margin (60 s): every record is young, as in the benchmark.
    let sync = || {
        let mut c = common::cloud();
        c.env("XDG_CACHE_HOME", cache.path());
        common::ok_with(c, &["sync", "-v", &src, &remote])
    };
    upload_again(&s3, &src, &direct);
    proxy.reset();
    let (_, err) = sync();
    assert_eq!(
        proxy.count("HEAD", "/u/"),
        11,
        "the journal starts empty: {err}"
    );
    assert!(!err.contains("Copied") && !err.contains("Updated"), "{err}");
    // Uploaded again: a new LastModified each, but the same size and a plain-MD5 ETag
    // equal to the source file's MD5. Only the multipart object is asked.
    upload_again(&s3, &src, &direct);
    proxy.reset();
    let (_, err) = sync();
    assert_eq!(proxy.count("HEAD", "/u/big.bin"), 1, "{err}");
    assert_eq!(
        proxy.count("HEAD", "/u/"),
        1,
        "only the multipart one: {err}"
    );
    assert!(!err.contains("Copied") && !err.contains("Updated"), "{err}");
    // Changes of content under the same size are noticed: a source file rewritten; one
    // rewritten with its old mtime put back (`touch -d`: the hash cache must not answer
    // from before); an object rewritten by rclone with other content.
    upload_again(&s3, &src, &direct);
    common::write_file(&sc.path("src/a.txt"), b"A.TXT", 0);
    let c = sc.path("src/b/c.txt");
    let old = std::fs::metadata(&c).unwrap().modified().unwrap();
    common::write_file(&c, b"B/C.TXT", 0);
    filetime::set_file_mtime(&c, filetime::FileTime::from_system_time(old)).unwrap();
    let other = sc.path("other.txt");
    common::write_file(&other, b"M.TXT", 0);
    ferry_testbed::run(s3.rclone().args([
        "copyto",
        &other.to_string_lossy(),
        &s3.rclone_path("u/m.txt"),
    ]));
    proxy.reset();
    let (_, err) = sync();
    for asked in ["a.txt", "b/c.txt", "m.txt", "big.bin"] {
        assert_eq!(
            proxy.count("HEAD", &format!("/u/{asked}")),
            1,
            "{asked}: {err}"
        );
    }
    assert_eq!(proxy.count("HEAD", "/u/"), 4, "{err}");
    assert!(err.contains("a.txt: Copied (replaced existing)"), "{err}");
    assert!(err.contains("m.txt: Copied (replaced existing)"), "{err}");
    // Same size and mtime: rclone's rules keep b/c.txt as it is, and so does ferry.
    assert!(!err.contains("b/c.txt: Copied"), "{err}");
}

/// The price of trusting a record for an object uploaded again with the same content: a
/// modification time that another client changed without changing the content is not
/// put back (rclone would set it again). With `--no-journal` it is.
#[test]
fn an_mtime_changed_without_the_content_is_left_as_the_journal_knew_it() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "w");
    let remote = s3.rclone_path("w");
    let cache = tempfile::tempdir().unwrap();
    let src = sc.src();
    let sync = |extra: &[&str]| {
        let mut c = common::cloud();
        c.env("XDG_CACHE_HOME", cache.path());
        let mut args = vec!["sync", "-v", &src, &remote];
        args.extend_from_slice(extra);
        common::ok_with(c, &args).1
    };
    sync(&[]);
    let alt = sc.path("alt");
    for (rel, (content, _)) in common::tree(&sc.path("src")) {
        common::write_file(&alt.join(&rel), &content, 0);
        let t = UNIX_EPOCH + Duration::from_secs(1_012_615_322);
        filetime::set_file_mtime(alt.join(&rel), filetime::FileTime::from_system_time(t)).unwrap();
    }
    ferry_testbed::run(s3.rclone().args(["sync", &alt.to_string_lossy(), &remote]));
    let err = sync(&[]);
    assert!(!err.contains("Updated modification time"), "{err}");
    let err = sync(&["--no-journal"]);
    assert_eq!(
        err.matches("Updated modification time").count(),
        10,
        "{err}"
    );
}

#[test]
fn tpslimit_is_honoured_not_refused() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    populate(&s3, &sc, "t");
    let remote = s3.rclone_path("t");
    // Limited, the run still lists everything (the pacing itself is unit-tested on a
    // paused clock in ferry_core::layer::tps).
    let (out, _) = fy_ok(&["lsl", &remote, "--tpslimit", "200", "--tpslimit-burst", "4"]);
    assert_eq!(out.lines().count(), 10, "{out}");
    // As rclone: 0 or less is no limit; a word is a usage error.
    let (out, _) = fy_ok(&["ls", &remote, "--tpslimit", "-1"]);
    assert_eq!(out.lines().count(), 10, "{out}");
    for bad in ["x", "NaN", ""] {
        let (code, _, err) = common::cloud_run(&["ls", &remote, "--tpslimit", bad]);
        assert_eq!(code, 2, "--tpslimit {bad}: {err}");
        assert!(err.contains("--tpslimit"), "{err}");
    }
}
