//! The Google Cloud Storage backend end to end: the `ferry` binary against the testbed's
//! gcp-storage-emulator (127.0.0.1:9023, anonymous), with rclone 1.75 reading what ferry
//! wrote and the other way (names, sizes, bytes, mtimes). Every test skips (or fails
//! under `CI=true`) when the server is not running.

use crate::common;
use common::sorted_lines;

use std::path::Path;

use common::transfers_deletes_errors as stats_of;
use common::{cloud_ok, cloud_run, write_file, Scratch};
use ferry_testbed::{Gcs, Testbed};

/// Plain names, names with URL metacharacters and non-ASCII, nested directories.
const NAMES: [&str; 8] = [
    "plain.txt",
    "with space.txt",
    "what?#%&.txt",
    "plus+eq=semi;.bin",
    "ünïcødé/日本語.txt",
    "trailing dot.",
    "deep/er/still/leaf.bin",
    "deep/sibling.txt",
];

fn tree(root: &Path) {
    common::write_named(root, &NAMES);
}

fn rclone_ok(g: &Gcs, args: &[&str]) -> String {
    String::from_utf8(ferry_testbed::run(g.rclone().args(args))).unwrap()
}

/// Names, sizes and mtimes (ns) as rclone lists them.
fn rclone_pst(g: &Gcs, path: &str) -> Vec<String> {
    let fmt = [
        "lsf",
        "-R",
        "--files-only",
        "--format",
        "pst",
        "--time-format",
        "RFC3339Nano",
    ];
    sorted_lines(&rclone_ok(g, &[&fmt[..], &[path]].concat()))
}

#[test]
fn sync_then_nothing_to_do_and_rclone_agrees() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let remote = gcs.rclone_path("tree");
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (NAMES.len() as u64, 0, 0));
    // Times are kept: nothing to do the second time.
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0));
    // rclone lists the same names, sizes and times (to the nanosecond), and finds every
    // byte and MD5 equal.
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
    rclone_ok(&gcs, &["check", "--download", &s.src(), &remote]);
    rclone_ok(&gcs, &["check", &s.src(), &remote]);
    // ferry's own listing and checks say the same.
    let (out, _) = cloud_ok(&["lsf", "-R", "--files-only", "--format", "pst", &remote]);
    let fmt = ["lsf", "-R", "--files-only", "--format", "pst"];
    assert_eq!(
        sorted_lines(&out),
        sorted_lines(&rclone_ok(&gcs, &[&fmt[..], &[remote.as_str()]].concat()))
    );
    cloud_ok(&["check", "--download", &s.src(), &remote]);
    cloud_ok(&["check", &s.src(), &remote]);
    let (md5, _) = cloud_ok(&["md5sum", &remote]);
    assert_eq!(
        sorted_lines(&md5),
        sorted_lines(&rclone_ok(&gcs, &["md5sum", &remote]))
    );
    // And back: a copy down gives the same tree, times included.
    cloud_ok(&["copy", &remote, &s.dst()]);
    common::assert_same_tree(&s.path("src"), &s.path("dst"));
    // A deleted source file is one delete.
    std::fs::remove_file(s.path("src/deep/sibling.txt")).unwrap();
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 1, 0));
}

#[test]
fn ferry_takes_over_what_rclone_wrote_and_back() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let remote = gcs.rclone_path("tree");
    rclone_ok(&gcs, &["sync", &s.src(), &remote]);
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0), "nothing re-sent");
    cloud_ok(&["check", &s.src(), &remote]);
    // A change on one side is one transfer, a file gone one delete.
    write_file(
        &s.path("src/plain.txt"),
        b"now a good deal longer than before",
        10,
    );
    std::fs::remove_file(s.path("src/with space.txt")).unwrap();
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (1, 1, 0));
    rclone_ok(&gcs, &["check", "--download", &s.src(), &remote]);
    // rclone finds nothing to do after ferry, and lists ferry's mtimes as the source's.
    let out = rclone_ok(&gcs, &["sync", &s.src(), &remote, "-v", "--stats-one-line"]);
    assert!(!out.contains("Copied"), "{out}");
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
    // A time changed only (a touch) is fixed in place by either tool, no re-upload.
    common::set_age(&s.path("src/plain.txt"), 5000);
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0));
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
}

/// Over chunk_size, uploads are resumable sessions sent in chunks; rclone's own over
/// 16 MiB are too (the testbed's wrapper answers its chunks as GCS does).
#[test]
fn large_files_go_resumable_both_ways() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    let big: Vec<u8> = (0..5_300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write_file(&s.path("src/big.bin"), &big, 100);
    let remote = gcs.rclone_path("big");
    // 1 MiB chunks: five full ones and a short last one.
    cloud_ok(&["copy", &s.src(), &remote, "--gcs-chunk-size", "1Mi"]);
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
    rclone_ok(&gcs, &["check", "--download", &s.src(), &remote]);
    // rclone's resumable upload (over 16 MiB), read back by ferry.
    let huge: Vec<u8> = big.iter().cycle().take(17 << 20).copied().collect();
    write_file(&s.path("up/huge.bin"), &huge, 200);
    let up = s.path("up");
    rclone_ok(
        &gcs,
        &["copy", up.to_str().unwrap(), &gcs.rclone_path("huge")],
    );
    cloud_ok(&["copy", &gcs.rclone_path("huge"), &s.dst()]);
    common::assert_same_tree(&up, &s.path("dst"));
    cloud_ok(&["check", &up.to_string_lossy(), &gcs.rclone_path("huge")]);
}

#[test]
fn server_side_copy_and_move_keep_times_and_bytes() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let (a, b, c) = (
        gcs.rclone_path("a"),
        gcs.rclone_path("b"),
        gcs.rclone_path("c"),
    );
    cloud_ok(&["copy", &s.src(), &a]);
    let (_, err) = cloud_ok(&["copy", &a, &b, "--use-json-log", "-v"]);
    assert!(err.contains("server-side copy"), "{err}");
    assert_eq!(rclone_pst(&gcs, &b), rclone_pst(&gcs, &s.src()));
    cloud_ok(&["move", &b, &c]);
    assert_eq!(rclone_pst(&gcs, &c), rclone_pst(&gcs, &s.src()));
    assert!(rclone_pst(&gcs, &b).is_empty());
    rclone_ok(&gcs, &["check", "--download", &s.src(), &c]);
}

/// Moves within the bucket stay on the server (a rewrite and a delete, as rclone moves on
/// GCS): a file renamed at the source is moved under --track-renames, and `moveto` sends
/// no byte of it again (no upload request).
#[test]
fn renames_and_moves_stay_on_the_server() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/old.bin"), &[7u8; 50_000], 1000);
    let remote = gcs.rclone_path("mv");
    cloud_ok(&["sync", &s.src(), &remote]);
    std::fs::rename(s.path("src/old.bin"), s.path("src/new.bin")).unwrap();
    let (_, err) = cloud_ok(&[
        "sync",
        &s.src(),
        &remote,
        "--track-renames",
        "-v",
        "--dump",
        "headers",
    ]);
    // As rclone's GCS, which has no move: a server-side copy and a delete.
    assert!(
        err.contains("old.bin: Copied (server-side copy) to: new.bin"),
        "{err}"
    );
    assert!(err.contains("old.bin: Deleted"), "{err}");
    assert!(!err.contains("/upload/"), "{err}");
    let (_, err) = cloud_ok(&[
        "moveto",
        &format!("{remote}/new.bin"),
        &format!("{remote}/moved.bin"),
        "-v",
        "--dump",
        "headers",
    ]);
    assert!(err.contains("rewriteTo"), "{err}");
    assert!(!err.contains("/upload/"), "{err}");
    assert_eq!(
        sorted_lines(&rclone_ok(&gcs, &["lsf", &remote])),
        ["moved.bin"]
    );
    assert_eq!(
        rclone_pst(&gcs, &remote)[0].split(';').nth(1),
        Some("50000")
    );
}

#[test]
fn a_config_file_remote_as_rclone_writes_it_and_gs_urls() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    let conf = s.path("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[g]\ntype = google cloud storage\nendpoint = {}\nanonymous = true\nproject_number = {}\n",
            gcs.endpoint, gcs.project
        ),
    )
    .unwrap();
    write_file(&s.path("src/a.txt"), b"a", 1000);
    let c = conf.to_str().unwrap();
    let target = format!("g:{}/conf", gcs.bucket);
    cloud_ok(&["--config", c, "copy", &s.src(), &target]);
    assert_eq!(
        rclone_ok(&gcs, &["lsf", &gcs.rclone_path("conf")]).trim(),
        "a.txt"
    );
    // gs://bucket/path, with the endpoint and credentials as backend flags.
    let url = gcs.url("conf");
    let (out, _) = cloud_ok(&[
        "lsf",
        &url,
        "--gcs-endpoint",
        &gcs.endpoint,
        "--gcs-anonymous",
    ]);
    assert_eq!(out.trim(), "a.txt");
    cloud_ok(&[
        "copy",
        &url,
        &s.dst(),
        "--gcs-endpoint",
        &gcs.endpoint,
        "--gcs-anonymous",
    ]);
    common::assert_same_tree(&s.path("src"), &s.path("dst"));
}

/// The remote's bucket options reach the bucket ferry creates, and object options its
/// objects (read back through the JSON API).
#[test]
fn new_buckets_and_objects_take_the_remotes_options() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/a.txt"), b"a", 1000);
    let bucket = format!("{}-new", gcs.bucket);
    let remote = format!(
        "{}{bucket}",
        gcs.rclone_remote().trim_end_matches(':').to_owned()
            + ",location=EUROPE-WEST1,storage_class=NEARLINE,bucket_acl=projectPrivate,object_acl=publicRead:"
    );
    cloud_ok(&["copy", &s.src(), &remote]);
    let get = |path: &str| -> serde_json::Value {
        let out = std::process::Command::new("curl")
            .args(["-sf", &format!("{}/storage/v1/{path}", gcs.endpoint)])
            .output()
            .expect("curl runs");
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let b = get(&format!("b/{bucket}"));
    assert_eq!(b["location"], "EUROPE-WEST1", "{b}");
    assert_eq!(b["storageClass"], "NEARLINE", "{b}");
    let o = get(&format!("b/{bucket}/o/a.txt"));
    assert_eq!(o["storageClass"], "NEARLINE", "{o}");
    assert!(
        o["metadata"]["mtime"]
            .as_str()
            .is_some_and(|m| m.ends_with('Z')),
        "{o}"
    );
    rclone_ok(
        &gcs,
        &["purge", &format!("{}{bucket}", gcs.rclone_remote())],
    );
    // bucket_policy_only: the bucket is made with uniform access.
    let uniform = format!("{}-uni", gcs.bucket);
    let remote = format!(
        "{},bucket_policy_only=true:{uniform}",
        gcs.rclone_remote().trim_end_matches(':')
    );
    cloud_ok(&["copy", &s.src(), &remote]);
    let b = get(&format!("b/{uniform}"));
    assert_eq!(
        b["iamConfiguration"]["bucketPolicyOnly"]["enabled"], true,
        "{b}"
    );
    rclone_ok(
        &gcs,
        &["purge", &format!("{}{uniform}", gcs.rclone_remote())],
    );
}

/// "hello" gzip-compressed.
const HELLO_GZ: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00";

/// An object stored gzip-compressed is read as stored (rclone without `decompress`):
/// its listed size and MD5 are the stored bytes', so copies verify.
#[test]
fn gzip_encoded_objects_are_read_as_stored() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    write_file(&s.path("up/hello.txt.gz"), HELLO_GZ, 100);
    let up = s.path("up");
    rclone_ok(
        &gcs,
        &[
            "copy",
            up.to_str().unwrap(),
            &gcs.rclone_path("gz"),
            "--header-upload",
            "Content-Encoding: gzip",
        ],
    );
    let (_, err) = cloud_ok(&["copy", &gcs.rclone_path("gz"), &s.dst()]);
    assert_eq!(std::fs::read(s.path("dst/hello.txt.gz")).unwrap(), HELLO_GZ);
    // rclone's notice, once.
    assert_eq!(
        err.matches("Not decompressing 'Content-Encoding: gzip' compressed file. Use --gcs-decompress to override").count(),
        1,
        "{err}"
    );
    cloud_ok(&["check", &up.to_string_lossy(), &gcs.rclone_path("gz")]);
    let (rc, fy) =
        common::side_by_side(gcs.rclone(), &["lsjson", "--hash", &gcs.rclone_path("gz")]);
    assert_eq!(fy, rc);
}

/// Uploads `data` as `key` with `Content-Encoding: gzip` and no metadata (so no `mtime`:
/// as another tool would write it) through the JSON API's multipart upload.
fn upload_gzip_encoded(gcs: &Gcs, s: &Scratch, key: &str, data: &[u8]) {
    let boundary = "ferry-test-boundary";
    let resource = serde_json::json!({
        "name": key,
        "contentEncoding": "gzip",
        "contentType": "text/plain",
    });
    let mut body = format!(
        "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{resource}\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let file = s.path("multipart.body");
    std::fs::write(&file, body).unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-H",
            &format!("Content-Type: multipart/related; boundary={boundary}"),
            "--data-binary",
            &format!("@{}", file.display()),
            &format!(
                "{}/upload/storage/v1/b/{}/o?uploadType=multipart",
                gcs.endpoint, gcs.bucket
            ),
        ])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "upload of {key} failed: {out:?}");
}

/// `decompress = true`: gzip-encoded objects are read decompressed and list with an
/// unknown size (-1) and no MD5, as rclone lists them; a copy writes the decompressed
/// bytes (rclone's "Rcat"), check and a re-sync compare no size, and a plain object is
/// untouched. A gzip-encoded object that isn't gzip fails and leaves nothing behind.
#[test]
fn decompress_reads_gzip_encoded_objects_decompressed() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    let plain: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&plain).unwrap();
        e.finish().unwrap()
    };
    upload_gzip_encoded(&gcs, &s, "dz/big.txt", &gz);
    upload_gzip_encoded(&gcs, &s, "dz/hello.txt", HELLO_GZ);
    write_file(&s.path("up/plain.txt"), b"not compressed", 100);
    rclone_ok(
        &gcs,
        &[
            "copy",
            &s.path("up").to_string_lossy(),
            &gcs.rclone_path("dz"),
        ],
    );
    let remote = format!(
        "{},decompress=true:{}/dz",
        gcs.rclone_remote().trim_end_matches(':'),
        gcs.bucket
    );
    // Listings as rclone's, byte for byte (md5sum's lines come in any order, as rclone's).
    for args in [
        &["lsjson", "--hash", remote.as_str()][..],
        &["lsl", &remote],
        &["lsf", "--format", "psth", &remote],
        &["size", &remote],
        &["size", "--json", &remote],
        &["md5sum", &remote],
    ] {
        let ((rcode, rc), (fcode, fy)) = common::side_by_side(gcs.rclone(), args);
        assert_eq!(
            (fcode, sorted_lines(&fy)),
            (rcode, sorted_lines(&rc)),
            "{args:?}"
        );
    }
    let (out, _) = cloud_ok(&["lsf", "--format", "ps", &remote]);
    assert!(out.contains("big.txt;-1\n"), "{out}");
    // The copy: decompressed bytes, logged as rclone logs a stream of unknown size.
    let (_, err) = cloud_ok(&["copy", &remote, &s.dst(), "-v"]);
    assert!(err.contains("big.txt: Copied (Rcat, new)"), "{err}");
    assert_eq!(std::fs::read(s.path("dst/big.txt")).unwrap(), plain);
    assert_eq!(std::fs::read(s.path("dst/hello.txt")).unwrap(), b"hello");
    assert_eq!(
        std::fs::read(s.path("dst/plain.txt")).unwrap(),
        b"not compressed"
    );
    // check: sizes unknown, hashes missing for two; nothing to do on a re-sync.
    let (_, err) = cloud_ok(&["check", &remote, &s.dst()]);
    assert!(err.contains("2 hashes could not be checked"), "{err}");
    assert!(err.contains("3 matching files"), "{err}");
    let (_, err) = cloud_ok(&["sync", &remote, &s.dst(), "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0), "{err}");
    // A range of the decompressed content.
    let (out, _) = cloud_ok(&[
        "cat",
        &format!("{remote}/big.txt"),
        "--offset",
        "100000",
        "--count",
        "20",
    ]);
    assert_eq!(out.as_bytes(), &plain[100_000..100_020]);
    // Its end: read through (rclone prints the whole file here).
    let (out, _) = cloud_ok(&["cat", &format!("{remote}/big.txt"), "--tail", "30"]);
    assert_eq!(out.as_bytes(), &plain[plain.len() - 30..]);
    // bisync records sizes: it refuses such a remote before changing anything.
    let wd = s.path("wd");
    let (code, _, err) = cloud_run(&[
        "bisync",
        &s.dst(),
        &remote,
        "--resync",
        "--workdir",
        &wd.to_string_lossy(),
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("bisync can't track a file whose size is unknown"),
        "{err}"
    );
    // Marked gzip but not gzip: the copy fails, nothing is kept under the name.
    upload_gzip_encoded(&gcs, &s, "bad/not.gz", b"this is not gzip data at all");
    let bad = format!(
        "{},decompress=true:{}/bad",
        gcs.rclone_remote().trim_end_matches(':'),
        gcs.bucket
    );
    let (code, _, err) = cloud_run(&["copy", &bad, &s.path("bad").to_string_lossy()]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("decompress"), "{err}");
    assert!(!s.path("bad/not.gz").exists());
}

/// Listings of a bucket with key prefixes, `dir/` markers and files print as rclone's
/// (directories 0 bytes where the server names them, -1 where only implied; no `Tier`),
/// byte for byte but for the time rclone and ferry give an implied directory in a
/// recursive listing (the time of the listing).
#[test]
fn listings_match_rclone_byte_for_byte() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/top.txt"), b"top", 1000);
    write_file(&s.path("src/a/b/deep.bin"), b"deep", 2000);
    write_file(&s.path("src/a/side.txt"), b"side", 3000);
    let remote = gcs.rclone_path("ls");
    cloud_ok(&["copy", &s.src(), &remote]);
    let marked = format!(
        "{},directory_markers=true:{}/ls",
        gcs.rclone_remote().trim_end_matches(':'),
        gcs.bucket
    );
    rclone_ok(&gcs, &["mkdir", &format!("{marked}/mark/in")]);
    // The implied directories' times are the listing's own: left out.
    let untimed = |out: &str| -> String {
        out.lines()
            .map(
                |l| match l.find(r#""Size":-1,"MimeType":"inode/directory","ModTime":""#) {
                    Some(i) => l[..i].to_owned() + l[i..].split_once("Z\",").unwrap().1,
                    None => l.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n")
    };
    for args in [
        &["lsjson", remote.as_str()][..],
        &["lsjson", "--hash", "-R", &remote],
        &["lsjson", "--dirs-only", &marked],
        &["lsl", &remote],
        &["ls", &remote],
        &["lsd", &remote],
        &["lsf", "--format", "pstihmT", &remote],
        &["lsf", "-R", "--format", "psT", "--files-only", &remote],
        &["lsf", "--format", "pstT", &marked],
    ] {
        let ((rcode, rc), (fcode, fy)) = common::side_by_side(gcs.rclone(), args);
        assert_eq!((fcode, untimed(&fy)), (rcode, untimed(&rc)), "{args:?}");
    }
    let (out, _) = cloud_ok(&["lsjson", &remote]);
    assert!(out.contains(r#"{"Path":"a","Name":"a","Size":0,"#), "{out}");
    assert!(!out.contains("Tier"), "{out}");
}

/// bisync between a local tree and a bucket: a change on each side reaches the other.
#[test]
fn bisync_round_trip() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let remote = gcs.rclone_path("bi");
    let wd = s.path("wd");
    let wd = wd.to_str().unwrap();
    cloud_ok(&["bisync", &s.src(), &remote, "--resync", "--workdir", wd]);
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
    // One new file on each side, one changed locally, one deleted remotely.
    write_file(&s.path("src/local-new.txt"), b"from the local side", 50);
    write_file(&s.path("src/plain.txt"), b"changed locally", 40);
    write_file(&s.path("up/remote-new.txt"), b"from the bucket side", 60);
    let up = s.path("up");
    rclone_ok(&gcs, &["copy", up.to_str().unwrap(), &remote]);
    rclone_ok(
        &gcs,
        &["deletefile", &gcs.rclone_path("bi/deep/sibling.txt")],
    );
    cloud_ok(&["bisync", &s.src(), &remote, "--workdir", wd]);
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
    assert!(s.exists("src/remote-new.txt") && !s.exists("src/deep/sibling.txt"));
    rclone_ok(&gcs, &["check", "--download", &s.src(), &remote]);
}

/// The bytes the (only) resume journal under `cache` says the session has, if any.
fn journal_sent(cache: &Path) -> Option<u64> {
    let dir = cache.join("ferry/gcs-uploads");
    let file = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))?;
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file.path()).ok()?).ok()?;
    state["sent"].as_u64()
}

/// `--resume`: a run killed mid-upload leaves its session in a journal, and the next run
/// sends only what the session lacks.
#[test]
fn interrupted_resumable_upload_resumes() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    let cache = s.path("cache");
    let data: Vec<u8> = (0..6u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    write_file(&s.path("src/big.bin"), &data, 50);
    let dest = gcs.rclone_path("resume");
    let start = |extra: &[&str]| {
        common::cloud()
            .args([
                "copy",
                "-vv",
                "--resume",
                "--gcs-chunk-size",
                "1Mi",
                &s.src(),
                &dest,
            ])
            .args(extra)
            .env("XDG_CACHE_HOME", &cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Slowed down, killed once two chunks are safely in the session.
    let mut child = start(&["--bwlimit", "1M"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while journal_sent(&cache).unwrap_or(0) < 2 << 20 {
        assert!(std::time::Instant::now() < deadline, "no progress recorded");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let sent = journal_sent(&cache).unwrap();
    assert!((2 << 20..6 << 20).contains(&sent), "{sent}");
    assert!(
        rclone_pst(&gcs, &dest).is_empty(),
        "nothing visible before the upload completes"
    );
    // The next run continues the session.
    let out = start(&[]).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "resuming upload: {sent} of {} bytes already uploaded",
            6 << 20
        )),
        "{err}"
    );
    assert_eq!(rclone_pst(&gcs, &dest), rclone_pst(&gcs, &s.src()));
    rclone_ok(&gcs, &["check", "--download", &s.src(), &dest]);
    assert_eq!(
        journal_sent(&cache),
        None,
        "the journal goes once the upload completes"
    );
}

/// `--dump` shows requests with the bearer token and a resumable session's id hidden.
#[test]
fn dump_hides_the_token_and_the_session_id() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    let data: Vec<u8> = (0..(600u32 << 10)).map(|i| i as u8).collect();
    write_file(&s.path("src/big.bin"), &data, 50);
    // The emulator takes any token: a made-up one shows whether it leaks.
    let remote = format!(
        ":gcs,endpoint='{}',access_token=ya29.SECRET-TOKEN-VALUE:{}/dump",
        gcs.endpoint, gcs.bucket
    );
    let (_, err) = cloud_ok(&[
        "copy",
        &s.src(),
        &remote,
        "--gcs-chunk-size",
        "256Ki",
        "--dump",
        "headers,bodies",
        "-vv",
    ]);
    assert!(err.contains("Authorization: XXXX"), "{err}");
    assert!(err.contains("upload_id=XXXX"), "{err}");
    assert!(!err.contains("SECRET-TOKEN"), "{err}");
    assert!(
        !err.lines()
            .any(|l| l.contains("upload_id=") && !l.contains("upload_id=XXXX")),
        "{err}"
    );
    rclone_ok(
        &gcs,
        &["check", "--download", &s.src(), &gcs.rclone_path("dump")],
    );
}

/// `--metadata`: user keys and content fields are stored, listed and kept by a
/// server-side copy.
#[test]
fn metadata_is_stored_and_kept_by_server_side_copies() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/m.txt"), b"metadata", 100);
    let (a, b) = (gcs.rclone_path("ma"), gcs.rclone_path("mb"));
    let set = [
        "-M",
        "--metadata-set",
        "color=blue",
        "--metadata-set",
        "cache-control=no-cache",
    ];
    cloud_ok(&[&["copy", s.src().as_str(), a.as_str()][..], &set[..]].concat());
    let (_, err) = cloud_ok(&["copy", &a, &b, "-M", "-v"]);
    assert!(err.contains("server-side copy"), "{err}");
    for remote in [&a, &b] {
        let (out, _) = cloud_ok(&["lsjson", "-M", &format!("{remote}/m.txt")]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let m = &v[0]["Metadata"];
        assert_eq!(m["color"], "blue", "{out}");
        assert_eq!(m["cache-control"], "no-cache", "{out}");
    }
    assert_eq!(rclone_pst(&gcs, &b), rclone_pst(&gcs, &s.src()));
}

/// `directory_markers`: ferry's mkdir writes the `dir/` objects rclone writes (the
/// directory and its parents below the root), a sync keeps an empty directory, rclone
/// lists ferry's markers as ferry lists rclone's, and rmdir removes the marker.
#[test]
fn directory_markers_as_rclone_writes_them() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    let marked = |rel: &str| {
        format!(
            "{},directory_markers=true:{}/{rel}",
            gcs.rclone_remote().trim_end_matches(':'),
            gcs.bucket
        )
    };
    // Objects only, as rclone lists them flat (markers end in `/`).
    let keys = |rel: &str| {
        let out = rclone_ok(&gcs, &["lsf", "-R", "--files-only", &gcs.rclone_path(rel)]);
        sorted_lines(&out)
    };
    cloud_ok(&["mkdir", &marked("fy/a/b")]);
    rclone_ok(&gcs, &["mkdir", &marked("rc/a/b")]);
    cloud_ok(&["mkdir", &format!("{}/c/d", marked("fy/a/b"))]);
    rclone_ok(&gcs, &["mkdir", &format!("{}/c/d", marked("rc/a/b"))]);
    let listed = |rel: &str| rclone_ok(&gcs, &["lsf", "-R", &gcs.rclone_path(rel)]);
    assert_eq!(listed("fy"), listed("rc"));
    assert!(listed("fy").contains("a/b/c/d/"), "{}", listed("fy"));
    // A sync with --create-empty-src-dirs keeps an empty source directory on the bucket.
    write_file(&s.path("src/full/f.txt"), b"f", 1000);
    std::fs::create_dir_all(s.path("src/empty/inner")).unwrap();
    cloud_ok(&[
        "sync",
        &s.src(),
        &marked("synced"),
        "--create-empty-src-dirs",
    ]);
    let out = listed("synced");
    assert!(
        out.contains("empty/inner/") && out.contains("full/f.txt"),
        "{out}"
    );
    assert_eq!(keys("synced"), ["full/f.txt"]);
    let (rc, fy) = common::side_by_side(gcs.rclone(), &["lsf", "-R", &marked("synced")]);
    assert_eq!(fy, rc);
    // rmdirs removes the markers of the empty directories below the root (rclone's
    // Rmdir leaves the root's own). `c` has none (it was never made on its own): rclone
    // fails on it (a 404), ferry goes on.
    cloud_ok(&["rmdirs", &marked("fy/a/b")]);
    assert_eq!(sorted_lines(&listed("fy")), ["a/", "a/b/"]);
    // Without the option, nothing is written for a directory.
    cloud_ok(&["mkdir", &gcs.rclone_path("plain/x")]);
    assert_eq!(listed("plain"), "");
}

/// A sync of a small tree reads each side's tree in one recursive listing, not one
/// delimited listing per directory (rclone's default makes one per directory); the
/// result is the same, and a write drops what was read so later listings ask again.
#[test]
fn a_small_tree_is_listed_in_one_request() {
    let Some(gcs) = Testbed::gcs() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let remote = gcs.rclone_path("onelist");
    cloud_ok(&["sync", &s.src(), &remote]);
    let (_, err) = cloud_ok(&[
        "sync",
        &s.src(),
        &remote,
        "--dump",
        "headers",
        "-v",
        "--use-json-log",
    ]);
    // Each listing request, as --dump shows it.
    let listings = err.matches("/o?maxResults=").count();
    assert_eq!(stats_of(&err), (0, 0, 0), "{err}");
    assert_eq!(listings, 1, "{err}");
    assert!(!err.contains("delimiter="), "{err}");
    // Both ways, and with changes on the way: the same as rclone sees.
    std::fs::remove_file(s.path("src/deep/sibling.txt")).unwrap();
    write_file(&s.path("src/deep/er/new.txt"), b"new", 2000);
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (1, 1, 0));
    assert_eq!(rclone_pst(&gcs, &remote), rclone_pst(&gcs, &s.src()));
    cloud_ok(&["sync", &remote, &s.dst()]);
    common::assert_same_tree(&s.path("src"), &s.path("dst"));
}
