//! `copyurl` end to end: the `ferry` binary downloading from the testbed's nginx into
//! local directories and S3, side by side with rclone 1.75's `copyurl`. Every test skips
//! (or fails under `CI=true`) when the server is not running.

use crate::common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{cloud_ok, cloud_run};
use ferry_testbed::{Http, Testbed};

const SERVED_AT: u64 = 1_600_000_000;

fn serve(h: &Http, rel: &str, data: &str) {
    let p = h.write(rel, data);
    let t = UNIX_EPOCH + Duration::from_secs(SERVED_AT);
    filetime::set_file_mtime(&p, filetime::FileTime::from_system_time(t)).unwrap();
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn rclone(h: &Http, args: &[&str]) -> (i32, String) {
    let out = h.rclone().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_url_becomes_the_same_file_as_rclones() {
    let Some(h) = Testbed::http() else { return };
    serve(&h, "dir/page one.txt", "hello from nginx\n");
    let url = format!("{}dir/page%20one.txt", h.url());
    let out = tempfile::tempdir().unwrap();
    let ours = out.path().join("ours/named.txt");
    let theirs = out.path().join("theirs/named.txt");
    cloud_ok(&["copyurl", &url, ours.to_str().unwrap()]);
    assert_eq!(
        rclone(&h, &["copyurl", &url, theirs.to_str().unwrap()]).0,
        0
    );
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );
    // The time is the server's Last-Modified, as rclone keeps it.
    assert_eq!(mtime(&ours), UNIX_EPOCH + Duration::from_secs(SERVED_AT));
    assert_eq!(mtime(&ours), mtime(&theirs));

    // -a: the name from the URL, decoded; -p prints it.
    let (stdout, _) = cloud_ok(&[
        "copyurl",
        "-a",
        "-p",
        &url,
        out.path().join("auto").to_str().unwrap(),
    ]);
    assert_eq!(stdout, "page one.txt\n");
    assert_eq!(
        std::fs::read_to_string(out.path().join("auto/page one.txt")).unwrap(),
        "hello from nginx\n"
    );

    // `-` and --stdout: to standard output, nothing written.
    for args in [
        vec!["copyurl", &url, "-"],
        vec!["copyurl", "--stdout", &url],
    ] {
        let (stdout, _) = cloud_ok(&args);
        assert_eq!(stdout, "hello from nginx\n", "{args:?}");
    }

    // --no-clobber: an existing file is kept, and the run fails as rclone's does.
    std::fs::write(&ours, "mine").unwrap();
    let (code, _, err) = cloud_run(&["copyurl", "--no-clobber", &url, ours.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Failed to copyurl: CopyURL failed: file already exist"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), "mine");
    assert_eq!(
        rclone(
            &h,
            &[
                "copyurl",
                "--no-clobber",
                "--retries",
                "1",
                &url,
                ours.to_str().unwrap()
            ]
        )
        .0,
        1
    );

    // --dry-run reads the URL but writes nothing.
    let dry = out.path().join("dry.txt");
    let (_, err) = cloud_ok(&["copyurl", "--dry-run", &url, dry.to_str().unwrap()]);
    assert!(
        err.contains("dry.txt: Skipped upload from pipe as --dry-run is set"),
        "{err}"
    );
    assert!(!dry.exists());
}

#[test]
fn failures_are_one_line_with_rclones_words_and_exit_codes() {
    let Some(h) = Testbed::http() else { return };
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("x.txt");
    let missing = format!("{}missing.txt", h.url());
    let (code, _, err) = cloud_run(&["copyurl", &missing, dst.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("Failed to copyurl: CopyURL failed: 404 Not Found"),
        "{err}"
    );
    assert!(!dst.exists());
    assert_eq!(
        rclone(
            &h,
            &["copyurl", "--retries", "1", &missing, dst.to_str().unwrap()]
        )
        .0,
        1
    );

    let (code, _, err) = cloud_run(&["copyurl", &missing]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("need 2 arguments if not using --stdout"),
        "{err}"
    );

    // -a on a URL without a file name.
    let (code, _, err) = cloud_run(&["copyurl", "-a", &h.url, out.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("CopyURL failed: file name wasn't found in url"),
        "{err}"
    );

    // Nothing listening: a temporary failure (exit 5), said once.
    let (code, _, err) = cloud_run(&["copyurl", "http://127.0.0.1:9/x", dst.to_str().unwrap()]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("connection refused to 127.0.0.1:9"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let (code, _, err) = cloud_run(&["copyurl", "ftp://127.0.0.1/x", dst.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("give an http:// or https:// URL"), "{err}");
}

#[test]
fn urls_from_a_csv_file_are_copied_below_the_destination() {
    let Some(h) = Testbed::http() else { return };
    serve(&h, "a.txt", "aaa");
    serve(&h, "b.txt", "bbb");
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("urls.csv");
    std::fs::write(
        &csv,
        format!(
            "{u}a.txt,sub/dir/renamed.txt\n{u}b.txt\n{u}nope.txt,nope.txt\n",
            u = h.url()
        ),
    )
    .unwrap();
    let dst = out.path().join("dst");
    let (code, _, err) = cloud_run(&[
        "copyurl",
        "--urls",
        csv.to_str().unwrap(),
        dst.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nope.txt: failed to copy URL"), "{err}");
    assert!(
        err.contains("not all URLs copied successfully: CopyURL failed: 404 Not Found"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dst.join("sub/dir/renamed.txt")).unwrap(),
        "aaa"
    );
    assert_eq!(std::fs::read_to_string(dst.join("b.txt")).unwrap(), "bbb");
    // rclone writes the same files.
    let theirs = out.path().join("theirs");
    rclone(
        &h,
        &[
            "copyurl",
            "--retries",
            "1",
            "--urls",
            csv.to_str().unwrap(),
            theirs.to_str().unwrap(),
        ],
    );
    assert_eq!(common::tree(&dst), common::tree(&theirs));

    for flag in ["--stdout", "--print-filename"] {
        let (code, _, err) = cloud_run(&[
            "copyurl",
            "--urls",
            flag,
            csv.to_str().unwrap(),
            dst.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!("can't use {flag} with --urls")),
            "{err}"
        );
    }
    // A name that would leave the destination is refused, nothing written outside.
    std::fs::write(&csv, format!("{}a.txt,../escaped.txt\n", h.url())).unwrap();
    let (code, _, err) = cloud_run(&[
        "copyurl",
        "--urls",
        csv.to_str().unwrap(),
        dst.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.path().join("escaped.txt").exists());
}

#[test]
fn header_filename_and_pages_of_unknown_length() {
    let Some(h) = Testbed::http_in("disposition") else {
        return;
    };
    serve(&h, "f.bin", "disposed");
    let out = tempfile::tempdir().unwrap();
    let url = format!("{}f.bin", h.url());
    let (stdout, _) = cloud_ok(&[
        "copyurl",
        "-a",
        "--header-filename",
        "-p",
        &url,
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(stdout, "served name.txt\n");
    assert_eq!(
        std::fs::read_to_string(out.path().join("served name.txt")).unwrap(),
        "disposed"
    );
    // A directory page comes without a Content-Length: spooled, then stored whole.
    let page = out.path().join("index.html");
    cloud_ok(&["copyurl", &h.url(), page.to_str().unwrap()]);
    let theirs = out.path().join("theirs.html");
    assert_eq!(
        rclone(&h, &["copyurl", &h.url(), theirs.to_str().unwrap()]).0,
        0
    );
    let ours = std::fs::read_to_string(&page).unwrap();
    assert!(ours.contains("f.bin"), "{ours}");
    assert_eq!(ours, std::fs::read_to_string(&theirs).unwrap());
}

#[test]
fn copyurl_uploads_to_a_remote() {
    let Some(h) = Testbed::http() else { return };
    let Some(s3) = Testbed::s3() else { return };
    serve(&h, "up.txt", "to the bucket");
    let dst = s3.rclone_path("from-url/up.txt");
    cloud_ok(&["copyurl", &format!("{}up.txt", h.url()), &dst]);
    let (code, listed) = rclone(&h, &["lsl", &s3.rclone_path("from-url")]);
    assert_eq!(code, 0);
    assert!(
        listed.contains("       13 2020-09-13 12:26:40.000000000 up.txt"),
        "{listed}"
    );
}
