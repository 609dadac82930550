//! The Azure Blob backend end to end: the `ferry` binary against the testbed's Azurite
//! (127.0.0.1:10000), with rclone 1.75 as the reference for metadata, hashes and mtimes.
//! Every test skips (or fails under `CI=true`) when the server is not running.

use crate::common;
use common::sorted_lines as sorted;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_same_tree, ferry, run_in_pty, split, write_file, Scratch};
use ferry_testbed::{Azure, Testbed};

fn fy_run(args: &[&str]) -> (i32, String, String) {
    split(
        ferry()
            .args(args)
            .env_remove("AZURE_STORAGE_ACCOUNT_KEY")
            .stdin(Stdio::null())
            .output()
            .expect("ferry runs"),
    )
}

#[track_caller]
fn fy_ok(args: &[&str]) -> (String, String) {
    let (code, out, err) = fy_run(args);
    assert_eq!(
        code, 0,
        "ferry {args:?} failed\nstdout: {out}\nstderr: {err}"
    );
    (out, err)
}

fn rclone_ok(az: &Azure, args: &[&str]) -> String {
    String::from_utf8(ferry_testbed::run(az.rclone().args(args))).unwrap()
}

/// Transfers, server-side copies and errors of one run, from `--use-json-log`'s stats.
fn stats_of(stderr: &str) -> (u64, u64, u64) {
    let s = common::last_stats(stderr);
    (
        common::stat(&s, "transfers"),
        common::stat(&s, "serverSideCopies"),
        common::stat(&s, "errors"),
    )
}

/// Names that trip up URL encoding, XML and signing.
const NASTY: [&str; 7] = [
    "plain.txt",
    "with space.txt",
    "hash#and?query.txt",
    "percent%20literal.txt",
    "ünïcødé/日本語.txt",
    "amp&lt;.xml",
    "deep/er/still/leaf+plus=eq.bin",
];

fn nasty_tree(root: &Path) {
    for (i, name) in NASTY.iter().enumerate() {
        write_file(
            &root.join(name),
            format!("content {i} of {name}").as_bytes(),
            100 + i as u64,
        );
    }
}

/// One backend handle for what the CLI can't do: damage a blob's recorded MD5.
fn set_stored_md5(az: &Azure, rel: &str, md5: Option<&str>) {
    let options = ferry_azblob::AzOptions::from_pairs(&[
        ("account", &az.account),
        ("key", &az.key),
        ("endpoint", &az.endpoint),
    ])
    .unwrap();
    let b = ferry_azblob::AzBackend::new(&az.container, options).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(ferry_azblob::set_stored_md5(
        &b,
        &ferry_core::RelPath::new(rel).unwrap(),
        md5,
    ))
    .unwrap();
}

/// A response header of a raw HEAD on the blob (curl with an account SAS).
fn blob_header(az: &Azure, rel: &str, name: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sS", "-I", &az.sas_url(rel)])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[test]
fn copy_and_sync_both_ways_with_awkward_names() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    nasty_tree(&s.path("src"));
    let remote = az.rclone_path("tree");
    let (_, err) = fy_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err).0, NASTY.len() as u64);
    // rclone sees the same names, sizes and mtimes.
    let ours = fy_ok(&["lsl", &remote]).0;
    let theirs = rclone_ok(&az, &["lsl", &remote]);
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&ours), sorted(&theirs));
    assert_eq!(
        sorted(&fy_ok(&["md5sum", &remote]).0),
        sorted(&rclone_ok(&az, &["md5sum", &remote]))
    );
    fy_ok(&["check", &s.src(), &remote]);
    // A second sync finds everything equal from the listing alone.
    let (_, err) = fy_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err).0, 0, "{err}");
    // Back down again, mtimes included.
    fy_ok(&["sync", &remote, &s.dst()]);
    assert_same_tree(&s.path("src"), &s.path("dst"));
    // sync deletes what the source lost.
    std::fs::remove_file(s.path("src/with space.txt")).unwrap();
    fy_ok(&["sync", &s.src(), &remote]);
    assert!(!fy_ok(&["ls", &remote]).0.contains("with space.txt"));
}

#[test]
fn listing_carries_mtimes_without_a_request_per_blob() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    for i in 0..40 {
        write_file(&s.path(&format!("src/d{}/f{i}", i % 4)), b"x", 50);
    }
    let remote = az.rclone_path("many");
    fy_ok(&["copy", &s.src(), &remote]);
    let (_, err) = fy_ok(&["lsl", "-vv", &remote]);
    let requests: Vec<&str> = err.lines().filter(|l| l.contains(" HTTP ")).collect();
    // Whether the path is a file (one HEAD, one single-item listing), then one recursive
    // listing (40 blobs: one page, no delimiter): nothing per blob or per directory.
    let heads = requests.iter().filter(|l| l.contains("HTTP HEAD")).count();
    assert_eq!(heads, 1, "{err}");
    let lists = requests.iter().filter(|l| l.contains("comp=list")).count();
    assert_eq!(lists, 1 + 1, "{err}");
    let delimited = requests.iter().filter(|l| l.contains("delimiter")).count();
    assert_eq!(delimited, 0, "{err}");
    assert_eq!(requests.len(), heads + lists, "{err}");
    // A no-op sync looks at nothing beyond the listings either.
    let (_, err) = fy_ok(&["sync", "-vv", &s.src(), &remote]);
    let blob_heads = err
        .lines()
        .filter(|l| l.contains("HTTP HEAD") && !l.contains("restype=container"))
        .count();
    assert_eq!(blob_heads, 0, "{err}");
    assert!(!err.contains("HTTP PUT /"), "{err}");
}

#[test]
fn recursive_listings_show_directories_and_tiers_as_rclone() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    for p in ["a.txt", "b/c.txt", "b/d/e.txt", "b-x/f.txt", "g.txt"] {
        write_file(&s.path(&format!("src/{p}")), p.as_bytes(), 1000);
    }
    let remote = az.rclone_path("rl");
    fy_ok(&["copy", &s.src(), &remote]);
    for args in [
        vec!["lsjson", "-R", &remote],
        vec!["lsjson", &remote],
        vec!["lsf", "-R", "--format", "pstT", &remote],
        vec!["lsjson", "-R", "--dirs-only", &remote],
    ] {
        let ((rc, theirs), (fc, ours)) = common::side_by_side(az.rclone(), &args);
        assert_eq!((fc, rc), (0, 0), "{args:?}");
        // Each blob's access tier; the directories only implied by names after every
        // blob, in name order ("b" < "b-x" < "b/d"), timed when the listing ran.
        assert_eq!(
            common::dir_times_blanked(&ours),
            common::dir_times_blanked(&theirs),
            "{args:?}\nours:\n{ours}\nrclone's:\n{theirs}"
        );
    }
    let (json, _) = fy_ok(&["lsjson", "-R", &remote]);
    assert!(json.contains("\"Tier\":\"Hot\""), "{json}");
}

#[test]
fn blobs_written_by_rclone_need_no_upload() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    nasty_tree(&s.path("src"));
    let remote = az.rclone_path("byrclone");
    rclone_ok(&az, &["copy", &s.src(), &remote]);
    let (_, err) = fy_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0), "{err}");
    let (_, err) = fy_ok(&["check", &s.src(), &remote]);
    assert!(err.contains("0 differences found"), "{err}");
    // And the other way: what ferry writes, rclone takes as equal.
    let ours = az.rclone_path("byferry");
    fy_ok(&["copy", &s.src(), &ours]);
    let (code, _, err) = split(
        az.rclone()
            .args(["copy", "-v", &s.src(), &ours])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("Copied"),
        "rclone re-uploaded ferry's blobs:\n{err}"
    );
}

#[test]
fn large_files_go_in_blocks_with_their_md5() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    let data: Vec<u8> = (0..(9 * 1024 * 1024 + 123))
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    write_file(&s.path("src/big.bin"), &data, 10);
    let remote = az.rclone_path("blocks");
    let (_, err) = fy_ok(&[
        "copy",
        "-vv",
        "--azureblob-chunk-size",
        "2M",
        &s.src(),
        &remote,
    ]);
    let blocks = err.lines().filter(|l| l.contains("comp=block ")).count();
    assert_eq!(blocks, 5, "9 MiB in 2 MiB blocks\n{err}");
    assert!(err.contains("comp=blocklist"), "{err}");
    let md5 = format!("{:x}", md5_of(&data));
    assert!(fy_ok(&["md5sum", &remote]).0.starts_with(&md5));
    assert!(rclone_ok(&az, &["md5sum", &remote]).starts_with(&md5));
    fy_ok(&["copy", &remote, &s.dst()]);
    assert_eq!(std::fs::read(s.path("dst/big.bin")).unwrap(), data);
    // --put-md5=false: the block upload stores no MD5 (as rclone's disable_checksum).
    let bare = az.rclone_path("nomd5");
    fy_ok(&[
        "copy",
        "--block-size-mb",
        "2",
        "--put-md5=false",
        &s.src(),
        &bare,
    ]);
    let json = fy_ok(&["lsjson", "--hash", &bare]).0;
    assert!(!json.contains("md5"), "{json}");
    // The aliases really set the block size: 2 MiB blocks again.
    let (_, err) = fy_ok(&[
        "copy",
        "-vv",
        "--block-size-mb",
        "4",
        "--put-blob-size-mb",
        "1",
        &s.src(),
        &az.rclone_path("alias"),
    ]);
    let blocks = err.lines().filter(|l| l.contains("comp=block ")).count();
    assert_eq!(blocks, 3, "9 MiB in 4 MiB blocks\n{err}");
}

fn md5_of(data: &[u8]) -> u128 {
    use md5::Digest;
    u128::from_be_bytes(md5::Md5::digest(data).into())
}

#[test]
fn check_md5_modes_on_a_damaged_or_missing_md5() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/f.txt"), b"the real bytes", 10);
    let remote = az.rclone_path("md5");
    fy_ok(&["copy", &s.src(), &remote]);
    let file = az.rclone_path("md5/f.txt");
    let get = |mode: &str, to: &str| {
        let dst = s.path(to);
        let dst = dst.to_str().unwrap();
        let (code, _, err) = fy_run(&[
            "copyto",
            &file,
            &format!("{dst}/f.txt"),
            "--check-md5",
            mode,
            "--low-level-retries",
            "1",
            "--retries",
            "1",
        ]);
        (code, err, s.path(&format!("{to}/f.txt")).exists())
    };
    set_stored_md5(&az, "md5/f.txt", Some("00112233445566778899aabbccddeeff"));
    let (code, err, kept) = get("FailIfDifferent", "a");
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("hashes differ"), "{err}");
    assert!(!kept, "a copy that failed its MD5 check must not stay");
    let (code, err, kept) = get("LogOnly", "b");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("hashes differ") && kept, "{err}");
    let (code, err, kept) = get("NoCheck", "c");
    assert_eq!(code, 0, "{err}");
    assert!(kept && !err.contains("differ"), "{err}");
    // No MD5 at all: only FailIfDifferentOrMissing objects.
    set_stored_md5(&az, "md5/f.txt", None);
    let (code, err, kept) = get("FailIfDifferent", "d");
    assert_eq!(code, 0, "{err}");
    assert!(kept);
    let (code, err, kept) = get("FailIfDifferentOrMissing", "e");
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("no MD5"), "{err}");
    assert!(!kept);
    let (code, _, err) = fy_run(&["copy", &file, s.dst().as_str(), "--check-md5", "Sometimes"]);
    assert_eq!(code, 2, "{err}");
    // --compare-hash MD5 refuses to guess without an MD5; --checksum falls back to size.
    write_file(&s.path("local/f.txt"), b"the real bytes", 10);
    let (code, _, err) = fy_run(&[
        "sync",
        &remote,
        s.path("local").to_str().unwrap(),
        "--compare-hash",
        "MD5",
        "--retries",
        "1",
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("has no md5 to compare"), "{err}");
    fy_ok(&[
        "sync",
        &remote,
        s.path("local").to_str().unwrap(),
        "--checksum",
    ]);
}

#[test]
fn sas_auth_and_clear_errors_that_never_show_secrets() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    nasty_tree(&s.path("src"));
    let log = s.path("ferry.log");
    // A container SAS URL pasted as the path, azcopy style.
    let url = format!(
        "{}/{}/viasas?{}",
        az.endpoint,
        az.container,
        az.container_sas(Duration::from_secs(600))
    );
    let (out, err) = fy_ok(&[
        "copy",
        "-vv",
        "--log-file",
        log.to_str().unwrap(),
        &s.src(),
        &url,
    ]);
    let listed = fy_ok(&["ls", &url]).0;
    assert_eq!(listed.lines().count(), NASTY.len(), "{listed}");
    let logged = std::fs::read_to_string(&log).unwrap();
    for text in [&out, &err, &logged, &listed] {
        assert!(!text.contains("sig="), "a signature leaked:\n{text}");
    }
    // An expired SAS: a clear error, still no signature.
    let expired = format!(
        "{}/{}/viasas?{}",
        az.endpoint,
        az.container,
        az.container_sas(Duration::ZERO)
    );
    std::thread::sleep(Duration::from_millis(2100));
    let (code, out, err) = fy_run(&["ls", "-vv", &expired]);
    assert_ne!(code, 0);
    assert!(err.contains("the SAS was refused"), "{err}");
    assert!(!err.contains("sig=") && !out.contains("sig="), "{err}");
    // A wrong key: says which setting to fix, shows no key.
    let wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk=";
    let remote = format!(
        ":azureblob,account={},key={wrong},endpoint='{}':{}",
        az.account, az.endpoint, az.container
    );
    let (code, _, err) = fy_run(&["ls", &remote]);
    assert_ne!(code, 0);
    assert!(err.contains("account key was refused"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(&az.key), "{err}");
    // A key that is not base64 never reaches the server.
    let (code, _, err) = fy_run(&["ls", ":azureblob,account=a,key=nope!:c0ntainer"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a base64 storage account key"), "{err}");
}

#[test]
fn server_side_copy_keeps_access_tier_and_tags() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/t.txt"), b"tiered", 10);
    let cool = format!(
        "{},access_tier=cool:{}/one",
        &az.rclone_remote()[..az.rclone_remote().len() - 1],
        az.container
    );
    fy_ok(&["copy", &s.src(), &cool]);
    assert_eq!(
        blob_header(&az, "one/t.txt", "x-ms-access-tier").as_deref(),
        Some("Cool")
    );
    // Tags, set directly on the server.
    let tags = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Tags><TagSet><Tag><Key>team</Key><Value>a b</Value></Tag></TagSet></Tags>";
    let url = az.sas_url("one/t.txt").replacen('?', "?comp=tags&", 1);
    let put = Command::new("curl")
        .args([
            "-sS",
            "-f",
            "-X",
            "PUT",
            "-H",
            "x-ms-version: 2021-08-06",
            "--data-binary",
            tags,
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let (_, err) = fy_ok(&[
        "copy",
        "--use-json-log",
        "-v",
        "--s2s-preserve-blob-tags",
        &az.rclone_path("one"),
        &az.rclone_path("two"),
    ]);
    assert_eq!(stats_of(&err).1, 1, "server-side copy expected\n{err}");
    assert_eq!(
        blob_header(&az, "two/t.txt", "x-ms-access-tier").as_deref(),
        Some("Cool")
    );
    assert_eq!(
        blob_header(&az, "two/t.txt", "x-ms-tag-count").as_deref(),
        Some("1")
    );
    assert_eq!(
        fy_ok(&["lsl", &az.rclone_path("one")]).0,
        fy_ok(&["lsl", &az.rclone_path("two")]).0,
        "mtime and size survive the copy"
    );
    // A tier asked for on the destination wins over the source's.
    fy_ok(&[
        "copy",
        "--azureblob-access-tier",
        "hot",
        &az.rclone_path("one"),
        &az.rclone_path("three"),
    ]);
    assert_eq!(
        blob_header(&az, "three/t.txt", "x-ms-access-tier").as_deref(),
        Some("Hot")
    );
    let (_, err) = fy_ok(&[
        "move",
        "--use-json-log",
        "-v",
        &az.rclone_path("two"),
        &az.rclone_path("four"),
    ]);
    // As rclone with Azure: a server-side copy, then the source is deleted.
    assert_eq!(stats_of(&err).1, 1, "server-side copy expected\n{err}");
    assert!(fy_ok(&["ls", &az.rclone_path("four")]).0.contains("t.txt"));
    // What is gone lists as an empty directory (a prefix), as in rclone.
    let (code, out, _) = fy_run(&["ls", &az.rclone_path("two")]);
    assert_eq!((code, out.as_str()), (0, ""), "moved blob still there");
}

#[test]
fn delete_destination_as_azcopy_users_type_it() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/keep.txt"), b"keep", 10);
    let remote = az.rclone_path("dd");
    fy_ok(&["copy", &s.src(), &remote]);
    write_file(&s.path("extra/old1.txt"), b"1", 10);
    write_file(&s.path("extra/old2.txt"), b"2", 10);
    fy_ok(&["copy", s.path("extra").to_str().unwrap(), &remote]);
    // =false: sync acts as copy.
    fy_ok(&["sync", "--delete-destination=false", &s.src(), &remote]);
    assert_eq!(fy_ok(&["ls", &remote]).0.lines().count(), 3);
    // =prompt without a terminal: refused before anything happens.
    let (code, _, err) = fy_run(&["sync", "--delete-destination=prompt", &s.src(), &remote]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
    // =prompt on a terminal: asked once with the count; "n" keeps them, "y" deletes.
    let (code, screen) = run_in_pty(
        &["sync", "--delete-destination=prompt", &s.src(), &remote],
        "n\n",
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("would delete 2 files"), "{screen}");
    assert_eq!(fy_ok(&["ls", &remote]).0.lines().count(), 3);
    let (code, screen) = run_in_pty(
        &["sync", "--delete-destination=prompt", &s.src(), &remote],
        "y\n",
    );
    assert_eq!(code, 0, "{screen}");
    assert_eq!(fy_ok(&["ls", &remote]).0.trim_end(), "        4 keep.txt");
    // --from-to is checked against the paths.
    let (code, _, err) = fy_run(&["sync", "--from-to", "BlobLocal", &s.src(), &remote]);
    assert_eq!(code, 2);
    assert!(err.contains("says the source is Blob"), "{err}");
    fy_ok(&["sync", "--from-to", "LocalBlob", &s.src(), &remote]);
    // --mirror-mode transfers even what is equal; --update skips a newer destination.
    let (_, err) = fy_ok(&[
        "sync",
        "--mirror-mode",
        "--use-json-log",
        "-v",
        &s.src(),
        &remote,
    ]);
    assert_eq!(stats_of(&err).0, 1);
    write_file(&s.path("src/keep.txt"), b"older", 1_000_000);
    let (_, err) = fy_ok(&[
        "sync",
        "--update",
        "--use-json-log",
        "-v",
        &s.src(),
        &remote,
    ]);
    assert_eq!(stats_of(&err).0, 0, "destination is newer\n{err}");
    // --output-type json: JSON lines ending with the stats, no -v needed.
    let (_, err) = fy_ok(&[
        "copy",
        "--output-type",
        "json",
        "--mirror-mode",
        &s.src(),
        &remote,
    ]);
    assert!(
        err.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{err}"
    );
    assert_eq!(stats_of(&err).0, 1);
    let (code, _, err) = fy_run(&["copy", "--cap-mbps", "0", &s.src(), &remote]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--cap-mbps must be a positive number"),
        "{err}"
    );
}

#[test]
fn hostile_blob_names_never_escape_the_destination() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    let sas = az.account_sas(Duration::from_secs(600));
    for name in ["..%2Fevil.txt", "a/../../b.txt", "a//c.txt", "ok.txt"] {
        let url = format!("{}/{}/h/{name}?{sas}", az.endpoint, az.container);
        let out = Command::new("curl")
            .args([
                "-sS",
                "-f",
                "--path-as-is",
                "-X",
                "PUT",
                "-H",
                "x-ms-blob-type: BlockBlob",
            ])
            .args(["-H", "x-ms-version: 2021-08-06", "--data-binary", "x", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Each skipped name is an error of the run (it sets the exit code).
    let (code, _, err) = fy_run(&["copy", &az.rclone_path("h"), &s.dst()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a safe relative path"), "{err}");
    let written: Vec<_> = walk(&s.path("dst")).into_iter().collect();
    assert_eq!(written, vec!["ok.txt".to_owned()]);
    assert!(!s.path("evil.txt").exists() && !s.path("b.txt").exists());
    // Content-Type comes from the name, as rclone sets it.
    write_file(&s.path("src/page.html"), b"<p>", 10);
    fy_ok(&["copy", &s.src(), &az.rclone_path("web")]);
    assert_eq!(
        blob_header(&az, "web/page.html", "content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
}

/// Every path under `root`, relative, sorted.
fn walk(root: &Path) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

#[test]
fn listings_page_and_missing_things_are_clear() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    for i in 0..7 {
        write_file(&s.path(&format!("src/f{i}")), b"x", 10);
        write_file(&s.path(&format!("src/d{i}/g")), b"y", 10);
    }
    let remote = az.rclone_path("paged");
    fy_ok(&["copy", &s.src(), &remote]);
    // Three entries a page: files and virtual directories both cross page boundaries.
    let small_pages = format!(
        ":azureblob,account={},key='{}',endpoint='{}',list_chunk=3:{}/paged",
        az.account, az.key, az.endpoint, az.container
    );
    let (out, err) = fy_ok(&["lsf", "-R", "-vv", &small_pages]);
    assert_eq!(out.lines().count(), 21, "{out}");
    assert!(err.matches("comp=list").count() >= 5, "{err}");
    assert_eq!(out, fy_ok(&["lsf", "-R", &remote]).0);
    // env_auth takes the key from the environment.
    let env_remote = format!(
        ":azureblob,env_auth=true,endpoint='{}':{}/paged",
        az.endpoint, az.container
    );
    let out = ferry()
        .args(["ls", &env_remote])
        .env("AZURE_STORAGE_ACCOUNT_NAME", &az.account)
        .env("AZURE_STORAGE_ACCOUNT_KEY", &az.key)
        .output()
        .unwrap();
    let (code, out, err) = split(out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 14, "{out}");
    // A missing container is "directory not found" (exit 3), as in rclone; a missing
    // prefix in one is an empty directory.
    let missing = format!("{}nosuchcontainer/x", &az.rclone_remote());
    let (code, _, err) = fy_run(&["ls", &missing]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("directory not found"), "{err}");
    let (code, out, err) = fy_run(&["ls", &az.rclone_path("paged/nothing-here")]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}

#[test]
fn big_downloads_use_several_streams_and_are_checked() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    let data: Vec<u8> = (0..(12 * 1024 * 1024 + 7))
        .map(|i| (i * 7 % 253) as u8)
        .collect();
    write_file(&s.path("src/big.bin"), &data, 1000);
    let remote = az.rclone_path("mt");
    fy_ok(&["copy", &s.src(), &remote]);
    // 12 MiB and 7 bytes in chunks of 4 MiB: four, three at a time (the last one opened
    // when an earlier one is done).
    let flags = [
        "--multi-thread-cutoff",
        "4M",
        "--multi-thread-streams",
        "3",
        "--multi-thread-chunk-size",
        "4M",
    ];
    let (_, err) = fy_ok(&[&["copy", "-vv", &remote, &s.dst()][..], &flags[..]].concat());
    assert!(
        err.contains("big.bin: downloading in 4 chunks, 3 at a time"),
        "{err}"
    );
    assert!(std::fs::read(s.path("dst/big.bin")).unwrap() == data);
    assert_eq!(
        common::mtime(&s.path("dst/big.bin")),
        common::mtime(&s.path("src/big.bin"))
    );
    // With one stream it streams as before.
    let (_, err) = fy_ok(&[
        "copy",
        "-vv",
        "--multi-thread-streams",
        "1",
        &remote,
        s.path("one").to_str().unwrap(),
    ]);
    assert!(!err.contains("chunks"), "{err}");
    // The ranged copy is checked against the blob's MD5 like a streamed one.
    set_stored_md5(&az, "mt/big.bin", Some("00112233445566778899aabbccddeeff"));
    let out = s.path("again");
    let (code, _, err) = fy_run(
        &[
            &[
                "copy",
                "-vv",
                "--retries",
                "1",
                "--low-level-retries",
                "1",
                &remote,
                out.to_str().unwrap(),
            ][..],
            &flags[..],
        ]
        .concat(),
    );
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("downloading in 4 chunks") && err.contains("hashes differ"),
        "{err}"
    );
    assert!(!s.path("again/big.bin").exists());
}

/// A blob written raw (curl with the account SAS), with extra headers.
fn put_blob(az: &Azure, rel: &str, body: &[u8], headers: &[&str]) {
    let mut c = Command::new("curl");
    c.args(["-sS", "-f", "-X", "PUT", "-H", "x-ms-blob-type: BlockBlob"]);
    for h in headers {
        c.args(["-H", h]);
    }
    let out = c
        .arg("--data-binary")
        .arg(String::from_utf8_lossy(body).into_owned())
        .arg(az.sas_url(rel))
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn recursive_listing_understands_folder_markers() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    for p in ["m/a.txt", "m/sub.txt", "m/sub/x", "m/sub/y/z", "n/only"] {
        write_file(&s.path(&format!("src/{p}")), p.as_bytes(), 10);
    }
    let remote = az.rclone_path("flat");
    fy_ok(&["copy", &s.src(), &remote]);
    // Folder markers: `hdi_isfolder` blobs (sorting before `sub.txt`, which sorts before
    // `sub/…`), one for an empty directory, and a `name/` blob.
    let folder = ["x-ms-meta-hdi_isfolder: true"];
    put_blob(&az, "flat/m/sub", b"", &folder);
    put_blob(&az, "flat/m/empty", b"", &folder);
    put_blob(&az, "flat/slashed/", b"", &[]);
    let small_pages = format!(
        ":azureblob,account={},key='{}',endpoint='{}',list_chunk=2:{}/flat",
        az.account, az.key, az.endpoint, az.container
    );
    let (flat, err) = fy_ok(&["lsf", "-R", "-vv", &small_pages]);
    assert!(!err.contains("delimiter"), "{err}");
    let (walked, _) = fy_ok(&["lsf", "-R", "--max-depth", "50", &small_pages]);
    assert_eq!(sorted(&flat), sorted(&walked));
    let dirs: Vec<&str> = flat.lines().filter(|l| l.ends_with('/')).collect();
    assert_eq!(dirs.len(), 6, "each directory once:\n{flat}");
    for d in ["m/empty/", "m/sub/", "m/sub/y/", "slashed/"] {
        assert!(dirs.contains(&d), "{d} in\n{flat}");
    }
    // Exact mtimes come with the listing: lsl matches the walk's.
    let (a, _) = fy_ok(&["lsl", &small_pages]);
    let (b, _) = fy_ok(&["lsl", "--max-depth", "50", &small_pages]);
    assert_eq!(sorted(&a), sorted(&b));
}

#[test]
fn a_missing_prefix_is_an_empty_directory_and_a_missing_container_is_not_found() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    std::fs::create_dir_all(s.dst()).unwrap();
    let (missing, file) = (az.rclone_path("missing"), az.rclone_path("missing.txt"));
    let gone = format!("{}{}-gone/sub", az.rclone_remote(), az.container);
    let dst = s.dst();
    for args in common::missing_prefix_commands(&missing, &file, &gone, &dst) {
        let (rclone, ferry) = common::side_by_side(az.rclone(), &args);
        assert_eq!(ferry, rclone, "ferry {args:?} differs from rclone");
    }
    assert_eq!(std::fs::read_dir(&dst).unwrap().count(), 0);
}

/// Azure can copy server-side but not move, so a rename under `--track-renames` is a
/// server-side copy and a delete, as rclone's move falls back to: no byte is sent again,
/// and the counts equal rclone's for the same rename.
#[test]
fn track_renames_copies_server_side_where_blobs_cant_move() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_file(&s.path("src/old.bin"), &[9u8; 70_000], 1000);
    write_file(&s.path("src/keep.txt"), b"keep", 1000);
    let counts = |err: &str| {
        let st = common::last_stats(err);
        [
            "transfers",
            "serverSideCopies",
            "deletes",
            "renames",
            "errors",
        ]
        .map(|k| common::stat(&st, k))
    };
    let ours = az.rclone_path("tr-ferry");
    let theirs = az.rclone_path("tr-rclone");
    fy_ok(&["sync", &s.src(), &ours]);
    rclone_ok(&az, &["sync", &s.src(), &theirs]);
    std::fs::rename(s.path("src/old.bin"), s.path("src/new.bin")).unwrap();
    let args = ["--track-renames", "--use-json-log", "-v"];
    let src = s.src();
    let mut fargs = vec!["sync", &*src, &*ours];
    fargs.extend(args);
    let (_, ferr) = fy_ok(&fargs);
    let mut rargs = vec!["sync".to_owned(), s.src(), theirs.clone()];
    rargs.extend(args.map(str::to_owned));
    let out = az.rclone().args(&rargs).output().expect("rclone runs");
    let rerr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{rerr}");
    assert_eq!(counts(&ferr), [1, 1, 1, 1, 0], "{ferr}");
    assert_eq!(
        counts(&ferr),
        counts(&rerr),
        "ferry:\n{ferr}\nrclone:\n{rerr}"
    );
    assert!(ferr.contains("Renamed from"), "{ferr}");
    assert_eq!(sorted(&fy_ok(&["lsf", &ours]).0), ["keep.txt", "new.bin"]);
    fy_ok(&["check", &s.src(), &ours]);
}

/// A source whose listed MD5 is not that of its bytes (a blob whose Content-MD5 was
/// changed) fails its upload to S3 and leaves nothing there, as a multipart upload and
/// as a streamed PutObject. S3 checks the bytes it sends against the source's MD5
/// itself (the whole stream's MD5, or the Content-MD5 S3 verifies), so ferry doesn't
/// hash them a second time on the way.
#[test]
fn a_source_md5_that_lies_fails_the_upload_to_s3() {
    let Some(az) = Testbed::azure() else { return };
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    let data: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 15) as u8)
        .collect();
    write_file(&s.path("src/multi.bin"), &data, 10);
    write_file(&s.path("src/streamed.bin"), &data[..6 << 20], 10);
    write_file(&s.path("src/honest.bin"), &data[..7 << 20], 10);
    fy_ok(&["copy", &s.src(), &az.rclone_path("lie")]);
    for name in ["multi.bin", "streamed.bin"] {
        set_stored_md5(
            &az,
            &format!("lie/{name}"),
            Some("00112233445566778899aabbccddeeff"),
        );
    }
    let dst = s3.rclone_path("lie");
    let (code, _, err) = fy_run(&[
        "copy",
        &az.rclone_path("lie"),
        &dst,
        "--s3-upload-cutoff",
        "10Mi",
        "--retries",
        "1",
        "--low-level-retries",
        "1",
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("multi.bin") && err.contains("md5 hashes differ"),
        "{err}"
    );
    // S3 refuses a body whose Content-MD5 is wrong, or stores it (moto does): its ETag
    // then differs from the source's MD5, and the copy goes.
    let streamed = "streamed.bin: Failed to copy: corrupted on transfer: md5 hashes differ \
                    (source 00112233445566778899aabbccddeeff vs stored ";
    assert!(err.contains(streamed) || err.contains("BadDigest"), "{err}");
    let (_, listed, _) = fy_run(&["lsf", "-R", &dst]);
    assert_eq!(
        listed.trim(),
        "honest.bin",
        "only the honest file is stored"
    );
}
