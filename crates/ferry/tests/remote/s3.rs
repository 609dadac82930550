//! The S3 backend end to end: the `ferry` binary against the testbed's S3 server (moto on
//! 127.0.0.1:9000), with rclone 1.75 as the reference for metadata, hashes and mtimes.
//! Every test skips (or fails under `CI=true`) when the server is not running.

use crate::common;
use common::sorted_lines;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{split, tree, write_file, Scratch};
use ferry_testbed::{Testbed, S3};

/// `ferry` with nothing that could send an S3 client off loopback.
use common::{cloud as fy, cloud_run as fy_run};

#[track_caller]
fn fy_ok(args: &[&str]) -> String {
    common::cloud_ok(args).1
}

/// The testbed's remote with extra options: `:s3,...,k=v:bucket/rel`.
fn remote_with(s3: &S3, extra: &[(&str, &str)], rel: &str) -> String {
    let base = s3.rclone_remote();
    let mut s = base[..base.len() - 1].to_owned();
    for (k, v) in extra {
        s.push_str(&format!(",{k}={v}"));
    }
    s.push(':');
    s.push_str(&s3.bucket);
    if !rel.is_empty() {
        s.push('/');
        s.push_str(rel);
    }
    s
}

fn rclone_ok(s3: &S3, args: &[&str]) -> String {
    let out = ferry_testbed::run(s3.rclone().args(args));
    String::from_utf8(out).unwrap()
}

/// Transfers and server-side copies of one run, from `--use-json-log`'s final stats.
fn stats_of(stderr: &str) -> (u64, u64) {
    for line in stderr.lines().rev() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(s) = v.get("stats") {
            return (
                s["transfers"].as_u64().unwrap_or(0),
                s["serverSideCopies"].as_u64().unwrap_or(0),
            );
        }
    }
    panic!("no stats line in:\n{stderr}");
}

/// A raw request to the S3 server with curl (moto accepts any signature), `key` already
/// percent-encoded as it must appear in the URL.
fn raw(s3: &S3, method: &str, key: &str, body: Option<&[u8]>, headers: &[&str]) -> String {
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
    let mut c = Command::new("curl");
    c.args(["-s", "--path-as-is", "-X", method, "-H"])
        .arg(format!("Authorization: {auth}"))
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .args(["-H", "Content-Type: application/octet-stream"]);
    for h in headers {
        c.args(["-H", h]);
    }
    if method == "HEAD" {
        c.arg("-I");
    }
    if let Some(b) = body {
        let f = std::env::temp_dir().join(format!("ferry-s3-raw-{}", std::process::id()));
        std::fs::write(&f, b).unwrap();
        c.arg("--data-binary").arg(format!("@{}", f.display()));
    }
    c.arg(format!("{}/{}/{key}", s3.endpoint, s3.bucket));
    let out = c.output().expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn head_header(s3: &S3, key: &str, name: &str) -> Option<String> {
    let out = raw(s3, "HEAD", key, None, &[]);
    out.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn md5_hex(data: &[u8]) -> String {
    let out = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..32].to_owned()
}

fn set_mtime(p: &Path, t: SystemTime) {
    filetime::set_file_mtime(p, filetime::FileTime::from_system_time(t)).unwrap();
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn upload_list_download_round_trip() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/a.txt", "hello", 100);
    sc.write("src/dir/b.txt", "world!", 200);
    sc.write("src/dir/sub/c.json", "{}", 300);
    sc.write("src/with space+plus é.txt", "unicode", 400);
    let t = UNIX_EPOCH + Duration::new(1_683_356_889, 123_456_789);
    set_mtime(&sc.path("src/a.txt"), t);
    let dest = s3.rclone_path("data");
    let err = fy_ok(&["sync", &sc.src(), &dest, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err).0, 4);

    let listed = fy_ok(&["ls", &dest]);
    let (_, out, _) = fy_run(&["ls", &dest]);
    assert_eq!(
        sorted_lines(&out),
        sorted_lines(
            "        5 a.txt\n        6 dir/b.txt\n        2 dir/sub/c.json\n        7 with space+plus é.txt\n"
        ),
        "{listed}"
    );
    // rclone reads the same names, sizes and nanosecond mtime.
    let rc = rclone_ok(&s3, &["lsl", &dest]);
    assert!(
        rc.contains("        5 2023-05-06 07:08:09.123456789 a.txt"),
        "{rc}"
    );
    assert!(rc.contains("with space+plus é.txt"), "{rc}");

    fy_ok(&["sync", &dest, &sc.dst()]);
    common::assert_same_tree(&sc.path("src"), &sc.path("dst"));

    // Nothing changed: nothing moves either way.
    let err = fy_ok(&["sync", &sc.src(), &dest, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err).0, 0, "{err}");
    let err = fy_ok(&["sync", &dest, &sc.dst(), "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err).0, 0, "{err}");
    fy_ok(&["check", &sc.src(), &dest]);

    // A deleted source file is deleted at the destination.
    std::fs::remove_file(sc.path("src/dir/b.txt")).unwrap();
    fy_ok(&["sync", &sc.src(), &dest]);
    let (_, out, _) = fy_run(&["ls", &dest]);
    assert!(!out.contains("b.txt"), "{out}");
}

#[test]
fn path_forms_and_option_sources() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/f.txt", "form", 10);
    // `remote:bucket/path` from FERRY_CONFIG_* variables, as rclone spells them.
    let mut c = fy();
    c.env("FERRY_CONFIG_MYS3_TYPE", "s3")
        .env("FERRY_CONFIG_MYS3_PROVIDER", "Other")
        .env("FERRY_CONFIG_MYS3_ACCESS_KEY_ID", &s3.access_key)
        .env("FERRY_CONFIG_MYS3_SECRET_ACCESS_KEY", &s3.secret_key)
        .env("FERRY_CONFIG_MYS3_ENDPOINT", &s3.endpoint)
        .env("FERRY_CONFIG_MYS3_REGION", &s3.region)
        .args(["copy", &sc.src(), &format!("mys3:{}/named", s3.bucket)]);
    let (code, _, err) = split(c.output().unwrap());
    assert_eq!(code, 0, "{err}");
    // `s3://bucket/path` takes its credentials and endpoint from the environment.
    let mut c = fy();
    c.envs(s3.env()).args(["copy", &sc.src(), &s3.url("url")]);
    let (code, _, err) = split(c.output().unwrap());
    assert_eq!(code, 0, "{err}");
    // And the connection-string form.
    fy_ok(&["copy", &sc.src(), &s3.rclone_path("conn")]);
    let all = rclone_ok(&s3, &["lsf", "-R", "--files-only", &s3.rclone_path("")]);
    assert_eq!(
        sorted_lines(&all),
        vec!["conn/f.txt", "named/f.txt", "url/f.txt"]
    );
    // The root of the service lists buckets.
    let (code, out, err) = fy_run(&["lsd", &s3.rclone_remote()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&s3.bucket), "{out}");
}

#[test]
fn buckets_are_created_unless_no_check_bucket() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/f.txt", "x", 10);
    let fresh = format!("{}-new", &s3.bucket[..s3.bucket.len().min(55)]);
    let remote = s3.rclone_remote();
    // no_check_bucket: the missing bucket is not created, so the upload fails.
    let base = &remote[..remote.len() - 1];
    let (code, _, err) = fy_run(&[
        "copy",
        &sc.src(),
        &format!("{base},no_check_bucket=true:{fresh}/p"),
        "--retries",
        "1",
        "--low-level-retries",
        "1",
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("NoSuchBucket"), "{err}");
    // Without it the bucket is made.
    fy_ok(&["copy", &sc.src(), &format!("{remote}{fresh}/p")]);
    let out = rclone_ok(&s3, &["lsf", "-R", &format!("{remote}{fresh}")]);
    let _ = ferry_testbed::run(s3.rclone().args(["purge", &format!("{remote}{fresh}")]));
    assert_eq!(sorted_lines(&out), vec!["p/", "p/f.txt"]);
    // `mkdir` of a bucket makes it; `rmdir` of an empty bucket removes it, as rclone does.
    let other = format!("{}-mk", &s3.bucket[..s3.bucket.len().min(55)]);
    fy_ok(&["mkdir", &format!("{remote}{other}")]);
    let buckets = rclone_ok(&s3, &["lsd", &remote]);
    assert!(buckets.contains(&other), "{buckets}");
    fy_ok(&["rmdir", &format!("{remote}{other}")]);
    let buckets = rclone_ok(&s3, &["lsd", &remote]);
    assert!(!buckets.contains(&other), "{buckets}");
}

#[test]
fn markers_ranges_deletes() {
    let Some(s3) = Testbed::s3() else { return };
    raw(&s3, "PUT", "top/empty/", Some(b""), &[]);
    raw(&s3, "PUT", "top/", Some(b""), &[]);
    raw(&s3, "PUT", "top/file.txt", Some(b"0123456789"), &[]);
    let top = s3.rclone_path("top");
    let (code, out, err) = fy_run(&["lsf", &top]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sorted_lines(&out), vec!["empty/", "file.txt"]);
    // Ranged reads.
    let (code, out, err) = fy_run(&[
        "cat",
        &top,
        "--max-depth",
        "1",
        "--offset",
        "3",
        "--count",
        "4",
    ]);
    assert_eq!((code, out.as_str()), (0, "3456"), "{err}");
    let (_, out, _) = fy_run(&["cat", &top, "--max-depth", "1", "--tail", "2"]);
    assert_eq!(out, "89");
    // A missing prefix is an empty directory (as in rclone); a missing bucket is not found.
    let (code, out, err) = fy_run(&["ls", &s3.rclone_path("nope")]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let (code, _, err) = fy_run(&["ls", &format!("{}{}-gone", s3.rclone_remote(), s3.bucket)]);
    assert_eq!(code, 3, "{err}");
    // Removing the marker-only directory, then the file.
    fy_ok(&["rmdir", &format!("{top}/empty")]);
    fy_ok(&["delete", &top, "--include", "/file.txt"]);
    let left = rclone_ok(&s3, &["lsf", "-R", &s3.rclone_path("")]);
    assert_eq!(left.trim(), "top/", "{left}");
}

#[test]
fn hostile_keys_never_leave_the_destination() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    for (key, body) in [
        ("h/..%2F..%2Fescaped.txt", "up two"),
        ("h/../escape2.txt", "dotdot"),
        ("h//abs.txt", "double slash"),
        ("h/./dot.txt", "dot"),
        ("h/a/..", "dotdot name"),
        ("h/nul%00.txt", "nul"),
        ("h/ok.txt", "fine"),
    ] {
        raw(&s3, "PUT", key, Some(body.as_bytes()), &[]);
    }
    let listing = rclone_ok(&s3, &["lsf", "-R", &s3.rclone_path("")]);
    assert!(listing.contains("h/ok.txt"), "{listing}");
    let dst = sc.path("deep/dst");
    std::fs::create_dir_all(&dst).unwrap();
    let (code, _, err) = fy_run(&["sync", &s3.rclone_path("h"), dst.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(err.contains("not a safe relative path"), "{err}");
    let everything = tree(sc.dir.path());
    let names: Vec<&String> = everything.keys().collect();
    assert_eq!(names, vec!["deep/dst/ok.txt"], "{err}");
    for bad in ["escaped.txt", "escape2.txt", "abs.txt", "dot.txt"] {
        assert!(!std::path::Path::new("/").join(bad).exists());
    }
}

#[test]
fn mtimes_match_rclone_both_ways() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/ferry.txt", "by ferry", 0);
    let t = UNIX_EPOCH + Duration::new(1_600_000_000, 987_654_321);
    set_mtime(&sc.path("src/ferry.txt"), t);
    fy_ok(&["copy", &sc.src(), &s3.rclone_path("m")]);
    assert_eq!(
        head_header(&s3, "m/ferry.txt", "x-amz-meta-mtime").as_deref(),
        Some("1600000000.987654321")
    );
    let rc = rclone_ok(&s3, &["lsl", &s3.rclone_path("m")]);
    assert!(
        rc.contains("2020-09-13 12:26:40.987654321 ferry.txt"),
        "{rc}"
    );

    // rclone's upload, read by ferry.
    let other = sc.path("other");
    write_file(&other.join("rclone.txt"), b"by rclone", 0);
    set_mtime(&other.join("rclone.txt"), t + Duration::from_nanos(1));
    rclone_ok(
        &s3,
        &["copy", other.to_str().unwrap(), &s3.rclone_path("m")],
    );
    let (_, out, _) = fy_run(&["lsl", &s3.rclone_path("m")]);
    assert!(
        out.contains("2020-09-13 12:26:40.987654322 rclone.txt"),
        "{out}"
    );

    // An object without mtime metadata falls back to Last-Modified.
    raw(&s3, "PUT", "m/plain.txt", Some(b"plain"), &[]);
    let (_, out, _) = fy_run(&["lsjson", &s3.rclone_path("m"), "--include", "plain.txt"]);
    let year = chrono_year_now();
    assert!(out.contains(&format!("\"ModTime\":\"{year}")), "{out}");
}

fn chrono_year_now() -> String {
    let out = Command::new("date").args(["-u", "+%Y"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn modtime_only_change_is_a_metadata_copy() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/page.html", "<html></html>", 1000);
    let dest = remote_with(&s3, &[("storage_class", "STANDARD_IA")], "mt");
    fy_ok(&["copy", &sc.src(), &dest]);
    let before = rclone_ok(&s3, &["lsjson", "-M", &s3.rclone_path("mt/page.html")]);
    assert!(
        before.contains("\"content-type\":\"text/html; charset=utf-8\""),
        "{before}"
    );
    assert!(before.contains("\"tier\":\"STANDARD_IA\""), "{before}");
    // Only the mtime changes: ferry rewrites the metadata instead of uploading again.
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
    set_mtime(&sc.path("src/page.html"), t);
    let err = fy_ok(&["sync", &sc.src(), &s3.rclone_path("mt"), "-v"]);
    assert!(err.contains("Updated modification time"), "{err}");
    assert!(!err.contains("Copied"), "{err}");
    let after = rclone_ok(&s3, &["lsjson", "-M", &s3.rclone_path("mt/page.html")]);
    assert!(
        after.contains("\"mtime\":\"2023-11-14T22:13:20.000000005Z\""),
        "{after}"
    );
    assert!(
        after.contains("\"content-type\":\"text/html; charset=utf-8\""),
        "{after}"
    );
    assert!(after.contains("\"tier\":\"STANDARD_IA\""), "{after}");
    let out = rclone_ok(&s3, &["cat", &s3.rclone_path("mt/page.html")]);
    assert_eq!(out, "<html></html>");
}

#[test]
fn hashes_from_etag_and_md5chksum() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    let small = b"small file\n";
    let big = pseudo_random(12 * 1024 * 1024 + 17, 7);
    write_file(&sc.path("src/small.txt"), small, 10);
    write_file(&sc.path("src/big.bin"), &big, 10);
    let dest = remote_with(&s3, &[("upload_cutoff", "5M"), ("chunk_size", "5M")], "h");
    let err = fy_ok(&["copy", &sc.src(), &dest, "-vv"]);
    assert!(
        err.contains("big.bin: multipart upload completed in 3 parts"),
        "{err}"
    );
    // Single part: the ETag is the MD5. Multipart: rclone's md5chksum.
    assert_eq!(
        head_header(&s3, "h/small.txt", "etag")
            .unwrap()
            .trim_matches('"'),
        md5_hex(small)
    );
    assert!(head_header(&s3, "h/big.bin", "x-amz-meta-md5chksum").is_some());
    // The local source was hashed first, so no metadata rewrite was needed: the ETag is
    // still the multipart one.
    let etag = head_header(&s3, "h/big.bin", "etag").unwrap();
    assert!(etag.ends_with("-3\""), "{etag}");
    let sums = rclone_ok(&s3, &["md5sum", &s3.rclone_path("h")]);
    assert!(
        sums.contains(&format!("{}  big.bin", md5_hex(&big))),
        "{sums}"
    );
    let (_, ours, _) = fy_run(&["md5sum", &s3.rclone_path("h")]);
    assert_eq!(sorted_lines(&ours), sorted_lines(&sums));
    fy_ok(&["check", &sc.src(), &s3.rclone_path("h")]);
    // A changed object with the same size and mtime is found by --checksum.
    raw(&s3, "PUT", "h/small.txt", Some(b"SMALL FILE\n"), &[]);
    let (code, _, _) = fy_run(&["check", &sc.src(), &s3.rclone_path("h")]);
    assert_eq!(code, 1);
}

/// The same file uploaded again takes its MD5 from the local hash cache, which the first
/// upload filled: nothing is read before the second multipart upload, and both objects
/// carry the same `md5chksum` that rclone reads.
#[test]
fn a_second_upload_takes_its_md5_from_the_hash_cache() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    let big = pseudo_random(11 * 1024 * 1024 + 5, 11);
    write_file(&sc.path("src/big.bin"), &big, 100);
    // The cache keeps nothing of a file changed within the last seconds.
    std::thread::sleep(Duration::from_millis(2100));
    let cache = sc.path("cache");
    for (rel, warm) in [("hc1", false), ("hc2", true)] {
        let dest = remote_with(&s3, &[("upload_cutoff", "5M"), ("chunk_size", "5M")], rel);
        let err = fy_ok(&[
            "copy",
            &sc.src(),
            &dest,
            "-vv",
            "--hash-cache",
            cache.to_str().unwrap(),
        ]);
        assert_eq!(
            err.contains("big.bin: md5 known before the upload without reading the file"),
            warm,
            "{err}"
        );
        assert!(
            err.contains("multipart upload completed in 3 parts"),
            "{err}"
        );
        let etag = head_header(&s3, &format!("{rel}/big.bin"), "etag").unwrap();
        assert!(etag.ends_with("-3\""), "{etag}");
        let sums = rclone_ok(&s3, &["md5sum", &s3.rclone_path(rel)]);
        assert_eq!(sums.trim(), format!("{}  big.bin", md5_hex(&big)), "{rel}");
    }
}

#[test]
fn multipart_upload_of_60_mib() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    let data = pseudo_random(60 * 1024 * 1024, 60);
    write_file(&sc.path("src/big.bin"), &data, 50);
    let dest = remote_with(
        &s3,
        &[
            ("upload_cutoff", "20M"),
            ("chunk_size", "5M"),
            ("upload_concurrency", "4"),
        ],
        "mp",
    );
    let err = fy_ok(&["copy", &sc.src(), &dest, "-vv"]);
    assert!(
        err.contains("big.bin: multipart upload completed in 12 parts"),
        "{err}"
    );
    assert!(head_header(&s3, "mp/big.bin", "x-amz-meta-md5chksum").is_some());
    let sums = rclone_ok(&s3, &["md5sum", &s3.rclone_path("mp")]);
    assert_eq!(sums.trim(), format!("{}  big.bin", md5_hex(&data)));
    fy_ok(&["copy", &s3.rclone_path("mp"), &sc.dst()]);
    assert!(std::fs::read(sc.path("dst/big.bin")).unwrap() == data);
    assert_eq!(
        common::mtime(&sc.path("dst/big.bin")),
        common::mtime(&sc.path("src/big.bin"))
    );
    let uploads = raw(&s3, "GET", "?uploads", None, &[]);
    assert!(!uploads.contains("<UploadId>"), "{uploads}");
    // The same options as rclone's flags and environment variables.
    let plain = s3.rclone_path("flags");
    let err = split(
        fy().args([
            "copy",
            "-vv",
            "--s3-upload-cutoff",
            "20M",
            &sc.src(),
            &plain,
        ])
        .env("RCLONE_S3_CHUNK_SIZE", "10M")
        .output()
        .unwrap(),
    )
    .2;
    assert!(
        err.contains("big.bin: multipart upload completed in 6 parts"),
        "{err}"
    );
    let (code, _, err) = fy_run(&["ls", "--s3-chunk-size", "lots", &plain]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(":s3: invalid value for option chunk_size: expected a size")
            && !err.contains("lots"),
        "{err}"
    );
}

#[test]
fn rclone_uploads_need_no_transfer() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/one.txt", "single part", 100);
    sc.write("src/d/two.txt", "another", 200);
    write_file(
        &sc.path("src/d/multi.bin"),
        &pseudo_random(11 * 1024 * 1024, 3),
        300,
    );
    for (dir, extra) in [
        ("single", vec![]),
        (
            "multi",
            vec!["--s3-chunk-size", "5M", "--s3-upload-cutoff", "5M"],
        ),
    ] {
        let dest = s3.rclone_path(dir);
        let mut args = vec![
            "copy",
            sc.path("src").to_str().unwrap().to_owned().leak() as &str,
            &dest,
        ];
        args.extend(extra);
        rclone_ok(&s3, &args);
        let err = fy_ok(&["sync", &sc.src(), &dest, "--use-json-log", "-v"]);
        assert_eq!(stats_of(&err).0, 0, "{dir}: {err}");
        assert!(!err.contains("Updated modification time"), "{err}");
        fy_ok(&["check", &sc.src(), &dest]);
        // Downloads keep rclone's mtimes.
        let local = sc.path(dir);
        fy_ok(&["sync", &dest, local.to_str().unwrap()]);
        common::assert_same_tree(&sc.path("src"), &local);
    }
}

#[test]
fn ferry_uploads_need_no_transfer_by_rclone() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/one.txt", "single part", 100);
    sc.write("src/d/two.txt", "another", 200);
    write_file(
        &sc.path("src/d/multi.bin"),
        &pseudo_random(11 * 1024 * 1024, 4),
        300,
    );
    let dest = remote_with(&s3, &[("upload_cutoff", "5M"), ("chunk_size", "5M")], "f");
    fy_ok(&["sync", &sc.src(), &dest]);
    let out = ferry_testbed::run(s3.rclone().args([
        "sync",
        &sc.src(),
        &s3.rclone_path("f"),
        "-v",
        "--stats-one-line",
    ]));
    let _ = out;
    let mut c = s3.rclone();
    c.args(["sync", &sc.src(), &s3.rclone_path("f"), "-v"]);
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("Copied"), "{err}");
    assert!(!err.contains("Updated modification time"), "{err}");
    rclone_ok(&s3, &["check", &sc.src(), &s3.rclone_path("f")]);
}

/// Two files, uploaded to `orig/` in the bucket; the local copy to check against.
fn uploaded_orig(s3: &S3) -> Scratch {
    let sc = Scratch::new();
    sc.write("src/a.txt", "aaa", 100);
    sc.write("src/sub/b.css", "b {}", 200);
    fy_ok(&["copy", &sc.src(), &s3.rclone_path("orig")]);
    sc
}

#[test]
fn server_side_copy_and_move() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = uploaded_orig(&s3);
    let err = fy_ok(&[
        "copy",
        &s3.rclone_path("orig"),
        &s3.rclone_path("copy"),
        "--use-json-log",
        "-v",
    ]);
    assert_eq!(stats_of(&err), (2, 2), "{err}");
    fy_ok(&["check", &sc.src(), &s3.rclone_path("copy")]);
    // rclone's words and stats for copies the server made, replaced or new.
    let err = fy_ok(&[
        "copy",
        "--ignore-times",
        &s3.rclone_path("orig"),
        &s3.rclone_path("copy"),
        "-v",
    ]);
    assert!(err.contains("a.txt: Copied (server-side copy)\n"), "{err}");
    assert!(err.contains("Server Side Copies:     2 @ 7 B\n"), "{err}");
    assert!(!err.contains("Copied (replaced existing)"), "{err}");
    let meta = rclone_ok(&s3, &["lsjson", "-M", &s3.rclone_path("copy/sub/b.css")]);
    assert!(
        meta.contains("\"content-type\":\"text/css; charset=utf-8\""),
        "{meta}"
    );
    let err = fy_ok(&[
        "move",
        &s3.rclone_path("copy"),
        &s3.rclone_path("moved"),
        "-v",
    ]);
    // As rclone's S3, which has no move: a server-side copy and a delete.
    assert!(err.contains("a.txt: Copied (server-side copy)\n"), "{err}");
    assert!(err.contains("a.txt: Deleted\n"), "{err}");
    assert!(err.contains("Renamed:                2\n"), "{err}");
    assert!(err.contains("Deleted:                2 (files)"), "{err}");
    let left = rclone_ok(&s3, &["lsf", "-R", "--files-only", &s3.rclone_path("")]);
    assert_eq!(
        sorted_lines(&left),
        vec![
            "moved/a.txt",
            "moved/sub/b.css",
            "orig/a.txt",
            "orig/sub/b.css"
        ]
    );
    // Modification times survive the copies.
    let (_, a, _) = fy_run(&["lsl", &s3.rclone_path("orig")]);
    let (_, b, _) = fy_run(&["lsl", &s3.rclone_path("moved")]);
    assert_eq!(sorted_lines(&a), sorted_lines(&b));
}

/// `--disable copy,move`: the server copies nothing, the bytes come through ferry, and a
/// move is a copy and a delete, as rclone does with those features off.
#[test]
fn disabled_features_make_the_long_way() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = uploaded_orig(&s3);
    let err = fy_ok(&[
        "copy",
        &s3.rclone_path("orig"),
        &s3.rclone_path("copy"),
        "--use-json-log",
        "-v",
        "--disable",
        "Copy",
    ]);
    assert_eq!(stats_of(&err), (2, 0), "{err}");
    fy_ok(&["check", &sc.src(), &s3.rclone_path("copy")]);
    let err = fy_ok(&[
        "move",
        &s3.rclone_path("copy"),
        &s3.rclone_path("moved"),
        "-v",
        "--disable",
        "copy,MOVE,purge",
    ]);
    assert!(!err.contains("server-side"), "{err}");
    assert!(err.contains("a.txt: Copied (new)"), "{err}");
    fy_ok(&["check", &sc.src(), &s3.rclone_path("moved")]);
    let left = rclone_ok(&s3, &["lsf", "-R", "--files-only", &s3.rclone_path("copy")]);
    assert!(left.is_empty(), "{left}");
}

/// The parts recorded in the (only) resume journal under `cache`, if there is one.
fn journal_parts(cache: &Path) -> Option<usize> {
    let dir = cache.join("ferry/s3-uploads");
    let file = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))?;
    let parts = std::fs::read_to_string(file.path().with_extension("parts")).unwrap_or_default();
    Some(parts.lines().count())
}

#[test]
fn interrupted_multipart_upload_resumes() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    let cache = sc.path("cache");
    let data = pseudo_random(40 * 1024 * 1024, 40);
    write_file(&sc.path("src/big.bin"), &data, 50);
    let dest = remote_with(
        &s3,
        &[
            ("upload_cutoff", "5M"),
            ("chunk_size", "5M"),
            ("upload_concurrency", "1"),
        ],
        "resume",
    );
    let start = |extra: &[&str]| {
        fy().args(["copy", "-vv", "--resume", &sc.src(), &dest])
            .args(extra)
            .env("XDG_CACHE_HOME", &cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Slowed down, killed once some parts are safely on the server.
    let interrupt = |parts: usize| {
        let mut child = start(&["--bwlimit", "8M"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while journal_parts(&cache).unwrap_or(0) < parts {
            assert!(std::time::Instant::now() < deadline, "no parts recorded");
            assert!(
                child.try_wait().unwrap().is_none(),
                "finished before it could be interrupted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    };
    interrupt(3);
    let recorded = journal_parts(&cache).unwrap();
    assert!((3..8).contains(&recorded), "{recorded} parts");
    assert!(raw(&s3, "GET", "?uploads", None, &[]).contains("<UploadId>"));
    // The next run uploads only the missing parts.
    let out = start(&[]).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "resuming multipart upload: {recorded} of 8 parts already uploaded"
        )),
        "{err}"
    );
    assert!(
        err.contains("multipart upload completed in 8 parts"),
        "{err}"
    );
    let sums = rclone_ok(&s3, &["md5sum", &s3.rclone_path("resume")]);
    assert_eq!(sums.trim(), format!("{}  big.bin", md5_hex(&data)));
    assert_eq!(
        journal_parts(&cache),
        None,
        "the journal goes once the upload completes"
    );
    assert!(!raw(&s3, "GET", "?uploads", None, &[]).contains("<UploadId>"));
    // A source that changed after the interruption starts over (and the old upload goes).
    write_file(
        &sc.path("src/big.bin"),
        &pseudo_random(40 * 1024 * 1024, 41),
        30,
    );
    interrupt(2);
    let changed = pseudo_random(40 * 1024 * 1024, 42);
    write_file(&sc.path("src/big.bin"), &changed, 20);
    let out = start(&[]).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("the source changed since the interrupted upload"),
        "{err}"
    );
    let sums = rclone_ok(&s3, &["md5sum", &s3.rclone_path("resume")]);
    assert_eq!(sums.trim(), format!("{}  big.bin", md5_hex(&changed)));
    assert!(!raw(&s3, "GET", "?uploads", None, &[]).contains("<UploadId>"));
}

#[test]
fn a_missing_prefix_is_an_empty_directory_and_a_missing_bucket_is_not_found() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    std::fs::create_dir_all(s.dst()).unwrap();
    let (missing, file) = (s3.rclone_path("missing"), s3.rclone_path("missing.txt"));
    let gone = format!("{}{}-gone/sub", s3.rclone_remote(), s3.bucket);
    let dst = s.dst();
    for args in common::missing_prefix_commands(&missing, &file, &gone, &dst) {
        let (rclone, ferry) = common::side_by_side(s3.rclone(), &args);
        assert_eq!(ferry, rclone, "ferry {args:?} differs from rclone");
    }
    // Nothing was made from an empty source.
    assert_eq!(std::fs::read_dir(&dst).unwrap().count(), 0);
}

#[test]
fn an_object_and_objects_below_its_name_coexist_as_in_rclone() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    write_file(&s.path("dir/thing/inside.txt"), b"in", 1000);
    write_file(&s.path("file/thing"), b"file", 1000);
    let local = |d: &str| s.path(d).to_string_lossy().into_owned();
    rclone_ok(&s3, &["copy", &local("dir"), &s3.rclone_path("dir")]);
    rclone_ok(&s3, &["copy", &local("file"), &s3.rclone_path("file")]);
    // A directory over a file and a file over a directory, from S3 and from local disk;
    // and a sync, which deletes the file a directory replaced.
    let cases = [
        ("copy", s3.rclone_path("dir"), "file"),
        ("copy", s3.rclone_path("file"), "dir"),
        ("copy", local("dir"), "file"),
        ("copy", local("file"), "dir"),
        ("sync", s3.rclone_path("dir"), "file"),
    ];
    for (i, (cmd, src, seed)) in cases.iter().enumerate() {
        let mut trees = Vec::new();
        for tool in ["rclone", "ferry"] {
            let dst = s3.rclone_path(&format!("{tool}{i}"));
            rclone_ok(&s3, &["copy", &s3.rclone_path(seed), &dst]);
            let args = [*cmd, src.as_str(), &dst, "--retries", "1"];
            let code = match tool {
                "rclone" => split(s3.rclone().args(args).output().unwrap()).0,
                _ => fy_run(&args).0,
            };
            trees.push((code, rclone_ok(&s3, &["lsf", "-R", &dst])));
        }
        assert_eq!(trees[1], trees[0], "ferry {cmd} {src} over {seed} differs");
        assert_eq!(trees[0].0, 0);
    }
    // Both in the source, to S3: both copied. To local disk only one can be: an error.
    let both = s3.rclone_path("both");
    rclone_ok(&s3, &["copy", &local("dir"), &both]);
    rclone_ok(&s3, &["copy", &local("file"), &both]);
    fy_ok(&["copy", &both, &s3.rclone_path("both2")]);
    let out = rclone_ok(&s3, &["lsf", "-R", &s3.rclone_path("both2")]);
    assert_eq!(out, "thing\nthing/inside.txt\nthing/\n");
    let (code, _, err) = fy_run(&["copy", &both, &local("both"), "--retries", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is both a file and a directory"), "{err}");
    assert_eq!(
        std::fs::read(s.path("both/thing/inside.txt")).unwrap(),
        b"in"
    );
}

#[test]
fn directory_listings_show_sizes_and_times_as_rclone_does() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/p/f.txt"), b"abc", 1000);
    write_file(&s.path("src/p/q/f.txt"), b"abc", 1000);
    rclone_ok(&s3, &["copy", &s.src(), &s3.rclone_path("t")]);
    // `m/`: a marker object alone; `p/` and `p/q/`: prefixes only.
    let markers = remote_with(&s3, &[("directory_markers", "true")], "t/m");
    rclone_ok(&s3, &["mkdir", &markers]);
    let top = s3.rclone_path("t");
    for args in [
        &["lsjson"][..],
        &["lsjson", "--dirs-only"],
        &["lsd"],
        &["lsd", "-R"],
        &["lsf", "--format", "pst"],
    ] {
        let args = [args, &[top.as_str()]].concat();
        let (rclone, ferry) = common::side_by_side(s3.rclone(), &args);
        assert_eq!(ferry, rclone, "ferry {args:?} differs from rclone");
    }
}

/// A file bigger than S3 can hold (5 TiB) fails at once with one error naming it and
/// the limit, before any upload begins; the other files still go, and nothing is deleted.
#[test]
fn a_file_over_the_object_size_limit_fails_before_uploading() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/small.txt", "fits", 100);
    // Sparse: no disk is used. The cap on bytes sent makes a missing check fail fast.
    let huge = std::fs::File::create(sc.path("src/huge.bin")).unwrap();
    huge.set_len((5u64 << 40) + 1).unwrap();
    let dest = s3.rclone_path("toolarge");
    let (code, _, err) = fy_run(&["copy", &sc.src(), &dest, "--max-transfer", "64M"]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        lines.iter().any(|l| l.contains("huge.bin")
            && l.contains("file too large")
            && l.contains("5497558138880")),
        "{err}"
    );
    let (_, listed, _) = fy_run(&["ls", &dest]);
    assert_eq!(sorted_lines(&listed), ["        4 small.txt"], "{err}");
}

/// `copyto` and `moveto` of one file within a bucket stay on the server (a CopyObject,
/// and for a move a delete): no byte is downloaded or uploaded, as rclone does them.
#[test]
fn copyto_and_moveto_in_one_bucket_copy_on_the_server() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/x.bin", &"x".repeat(70_000), 100);
    let at = |name: &str| s3.rclone_path(&format!("mv/{name}"));
    fy_ok(&[
        "copyto",
        &sc.path("src/x.bin").to_string_lossy(),
        &at("x.bin"),
    ]);
    let err = fy_ok(&[
        "copyto",
        &at("x.bin"),
        &at("c.bin"),
        "-v",
        "--dump",
        "headers",
    ]);
    assert!(
        err.contains("x.bin: Copied (server-side copy) to: c.bin"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("x-amz-copy-source"), "{err}");
    let err = fy_ok(&[
        "moveto",
        &at("x.bin"),
        &at("m.bin"),
        "-v",
        "--dump",
        "headers",
    ]);
    assert!(
        err.contains("x.bin: Copied (server-side copy) to: m.bin"),
        "{err}"
    );
    assert!(err.contains("x.bin: Deleted"), "{err}");
    assert!(err.to_lowercase().contains("x-amz-copy-source"), "{err}");
    // No object was read: the only GETs are listings.
    assert!(!err.contains(&format!("GET /{}/mv/", s3.bucket)), "{err}");
    assert_eq!(
        sorted_lines(&rclone_ok(&s3, &["lsf", &s3.rclone_path("mv")])),
        ["c.bin", "m.bin"]
    );
    for name in ["c.bin", "m.bin"] {
        assert_eq!(rclone_ok(&s3, &["cat", &at(name)]), "x".repeat(70_000));
    }
}

/// The keys of the bucket's unfinished multipart uploads, sorted.
fn pending_uploads(s3: &S3) -> Vec<String> {
    let out = raw(s3, "GET", "?uploads", None, &[]);
    let mut keys: Vec<String> = out
        .split("<Key>")
        .skip(1)
        .map(|k| k.split("</Key>").next().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

/// `cleanup` aborts the unfinished multipart uploads of the path's prefix that are over a
/// day old (moto dates every upload 2010), as rclone's does; `--dry-run` keeps them, and
/// a remote with nothing to clean says it doesn't support cleanup (exit 1).
#[test]
fn cleanup_aborts_stale_multipart_uploads_like_rclone() {
    let Some(s3) = Testbed::s3() else { return };
    let start = |key: &str| {
        let out = raw(&s3, "POST", &format!("{key}?uploads"), None, &[]);
        assert!(out.contains("<UploadId>"), "{out}");
    };
    start("keep/a.bin");
    start("old/b.bin");
    start("old/c.bin");
    let (code, _, err) = fy_run(&["cleanup", "--dry-run", &s3.rclone_path("old")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Skipped clean up old files as --dry-run is set"),
        "{err}"
    );
    assert_eq!(
        pending_uploads(&s3),
        ["keep/a.bin", "old/b.bin", "old/c.bin"]
    );
    let (code, _, err) = fy_run(&["cleanup", "-v", &s3.rclone_path("old")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removing pending multipart upload"), "{err}");
    assert_eq!(pending_uploads(&s3), ["keep/a.bin"]);
    // rclone, on the same kind of leftovers, leaves the same.
    start("old/d.bin");
    rclone_ok(&s3, &["cleanup", &s3.rclone_path("old")]);
    assert_eq!(pending_uploads(&s3), ["keep/a.bin"]);
    // The whole bucket.
    let (code, _, err) = fy_run(&["cleanup", &s3.rclone_path("")]);
    assert_eq!(code, 0, "{err}");
    assert!(pending_uploads(&s3).is_empty());
    let sc = Scratch::new();
    let (code, _, err) = fy_run(&["cleanup", &sc.src()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("doesn't support cleanup"), "{err}");
}

/// `link` prints a presigned URL anyone can read the file by, valid a week at most (as
/// rclone says when it shortens one), or as long as `--expire` asks; a missing object is
/// "object not found" (exit 4), and a remote without links says so (exit 1).
#[test]
fn link_prints_a_presigned_url_like_rclone() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/page.html", "<p>linked</p>", 100);
    fy_ok(&["copy", &sc.src(), &s3.rclone_path("web")]);
    let get = |url: &str| {
        let out = Command::new("curl")
            .args(["-sS", "-f", url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (code, url, err) = fy_run(&["link", &s3.rclone_path("web/page.html")]);
    assert_eq!(code, 0, "{err}");
    assert!(url.contains("X-Amz-Expires=604800"), "{url}");
    assert!(
        err.contains(
            "Public Link: Reducing expiry to 1w as off is greater than the max time allowed"
        ),
        "{err}"
    );
    assert_eq!(get(url.trim()), "<p>linked</p>");
    let theirs = rclone_ok(&s3, &["link", &s3.rclone_path("web/page.html")]);
    assert_eq!(get(theirs.trim()), get(url.trim()));
    let (code, url, err) = fy_run(&["link", "--expire", "1h", &s3.rclone_path("web/page.html")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        url.contains("X-Amz-Expires=3600") && err.is_empty(),
        "{url}{err}"
    );
    // Under --tpslimit (a layer over the backend) the link is still the store's.
    let (code, url, err) = fy_run(&["link", "--tpslimit", "10", &s3.rclone_path("web/page.html")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(get(url.trim()), "<p>linked</p>");
    let (code, _, err) = fy_run(&["link", &s3.rclone_path("web/nope.html")]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("Failed to link: object not found"), "{err}");
    let (code, _, err) = fy_run(&["link", &sc.path("src/page.html").to_string_lossy()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("doesn't support public links"), "{err}");
}

/// --copy-dest on S3: a file held identically in the other directory is copied from
/// there on the server (rclone's "Copied (server-side copy)"), the others are sent; the
/// other directory is only read. A dry run changes nothing.
#[test]
fn copy_dest_copies_identical_files_server_side() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/a.txt", "alpha", 100);
    sc.write("src/dir/b.txt", "bravo", 100);
    sc.write("prev/a.txt", "alpha", 100);
    sc.write("prev/dir/b.txt", "BRAVO", 100);
    fy_ok(&[
        "copy",
        &sc.path("prev").to_string_lossy(),
        &s3.rclone_path("prev"),
    ]);
    let (dst, prev) = (s3.rclone_path("dst"), s3.rclone_path("prev"));
    let (code, _, err) = fy_run(&["sync", &sc.src(), &dst, "--copy-dest", &prev, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    let out = |args: &[&str]| {
        let (code, out, err) = fy_run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let listed = out(&["lsf", "-R", &s3.rclone_path("")]);
    assert!(
        listed.contains("prev/a.txt") && !listed.contains("dst/"),
        "{listed}"
    );
    let (code, _, err) = fy_run(&["sync", &sc.src(), &dst, "--copy-dest", &prev, "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("a.txt: Copied (server-side copy)"), "{err}");
    assert!(err.contains("dir/b.txt: Copied (new)"), "{err}");
    assert_eq!(out(&["cat", &s3.rclone_path("dst/dir/b.txt")]), "bravo");
    assert_eq!(out(&["cat", &s3.rclone_path("dst/a.txt")]), "alpha");
    assert_eq!(out(&["cat", &s3.rclone_path("prev/dir/b.txt")]), "BRAVO");
}
