//! rclone's HTTP flags end to end (`--ca-cert`, `--no-check-certificate`,
//! `--client-cert`/`--client-key`, `--header`, `--user-agent`, `--header-upload`): the
//! `ferry` binary against the testbed's nginx over TLS, moto and Azurite, with rclone 1.75
//! given the same flags as the reference. Every test skips (or fails under `CI=true`)
//! when a server is not running.

use crate::common;

use common::{cloud_ok, cloud_run};
use ferry_testbed::Testbed;

fn rclone_out(cmd: &mut std::process::Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn tls_trust_is_the_systems_or_the_ca_given() {
    let Some(h) = Testbed::http() else { return };
    h.write("f.txt", "over tls");
    let remote = format!(":http,url='{}':", h.https_url());
    let ca = h.ca.to_str().unwrap();
    // The test CA is no system CA: refused, said once, with what to do; not retried as
    // a temporary failure.
    let (code, _, err) = cloud_run(&["lsf", &remote]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("TLS certificate of 127.0.0.1:18443 was refused"),
        "{err}"
    );
    assert!(
        err.contains("--ca-cert") && err.contains("--no-check-certificate"),
        "{err}"
    );
    for flags in [vec!["--ca-cert", ca], vec!["--no-check-certificate"]] {
        let mut args = vec!["lsf", &remote];
        args.extend(&flags);
        let (out, _) = cloud_ok(&args);
        assert_eq!(out, "f.txt\n", "{flags:?}");
        let (code, theirs) = rclone_out(h.rclone().args(&args));
        assert_eq!(
            (code, theirs.as_str()),
            (0, out.as_str()),
            "rclone {flags:?}"
        );
    }
    let (out, _) = cloud_ok(&["cat", &format!("{remote}f.txt"), "--ca-cert", ca]);
    assert_eq!(out, "over tls");
    // A CA file that isn't one: named, before anything is sent.
    let (code, _, err) = cloud_run(&["lsf", &remote, "--ca-cert", "/nonexistent/ca.pem"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("can't use --ca-cert /nonexistent/ca.pem"),
        "{err}"
    );
}

#[test]
fn a_client_certificate_opens_what_needs_one() {
    let Some(h) = Testbed::http_in("client-cert") else {
        return;
    };
    h.write("secret.txt", "mutual");
    let remote = format!(":http,url='{}':", h.https_url());
    let ca = h.ca.to_str().unwrap();
    let (code, _, err) = cloud_run(&["lsf", &remote, "--ca-cert", ca]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("403"), "{err}");
    let with_cert = [
        "lsf",
        &remote,
        "--ca-cert",
        ca,
        "--client-cert",
        h.client_cert.to_str().unwrap(),
        "--client-key",
        h.client_key.to_str().unwrap(),
    ];
    let (out, _) = cloud_ok(&with_cert);
    assert_eq!(out, "secret.txt\n");
    assert_eq!(rclone_out(h.rclone().args(with_cert)), (0, out));
    // One without the other is a usage error.
    let (code, _, err) = cloud_run(&[
        "lsf",
        &remote,
        "--client-cert",
        h.client_cert.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--client-key"), "{err}");
}

#[test]
fn header_and_user_agent_go_with_every_request() {
    let Some(h) = Testbed::http_in("header-only") else {
        return;
    };
    h.write("h.txt", "guarded");
    let remote = h.rclone_remote();
    let (name, value) = h.header.split_once(',').unwrap();
    let header = format!("{name}: {value}");
    let (code, _, err) = cloud_run(&["lsf", &remote]);
    assert_eq!(code, 1, "{err}");
    let ua = format!("ferry-test-agent/{}", std::process::id());
    let (out, _) = cloud_ok(&["lsf", &remote, "--header", &header, "--user-agent", &ua]);
    assert_eq!(out, "h.txt\n");
    assert_eq!(
        rclone_out(h.rclone().args(["lsf", &remote, "--header", &header])),
        (0, out)
    );
    let log = h.access_log();
    assert!(log.contains(&format!("\"{ua}\"")), "no request said {ua:?}");
    // --header-download: on the GET of a file's data, not on listings.
    let url = format!("{}h.txt", h.url());
    let (out, _) = cloud_ok(&["copyurl", &url, "-", "--header-download", &header]);
    assert_eq!(out, "guarded");
    // A header without a colon is a usage error naming the form.
    let (code, _, err) = cloud_run(&["lsf", &remote, "--header", "no colon here"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"Name: value\""), "{err}");
}

#[test]
fn use_cookies_keeps_what_the_server_sets() {
    let Some(h) = Testbed::http_in("cookie") else {
        return;
    };
    h.write("c.txt", "behind a cookie");
    let url = format!("{}c.txt", h.url());
    // Without a jar the server's redirect comes back for ever: refused, said once.
    let (code, _, err) = cloud_run(&["copyurl", &url, "-"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("redirected too many times") && err.contains("--use-cookies"),
        "{err}"
    );
    let (out, _) = cloud_ok(&["copyurl", "--use-cookies", &url, "-"]);
    assert_eq!(out, "behind a cookie");
    let (out, _) = cloud_ok(&[
        "cat",
        "--use-cookies",
        &format!("{}c.txt", h.rclone_remote()),
    ]);
    assert_eq!(out, "behind a cookie");
    assert_eq!(
        rclone_out(h.rclone().args(["copyurl", "--use-cookies", &url, "-"])),
        (0, "behind a cookie".to_owned())
    );
}

#[test]
fn header_upload_sets_what_an_object_store_keeps() {
    let Some(s3) = Testbed::s3() else { return };
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("page.html"), "<p>cached</p>").unwrap();
    let dst = s3.rclone_path("hdr");
    cloud_ok(&[
        "copy",
        src.path().to_str().unwrap(),
        &dst,
        "--header-upload",
        "Cache-Control: max-age=60",
        "--header-upload",
        "X-Amz-Meta-Owner: ann",
        "--header-upload",
        "Content-Language: en",
    ]);
    let (code, meta) = rclone_out(
        s3.rclone()
            .args(["lsjson", "-M", &format!("{dst}/page.html")]),
    );
    assert_eq!(code, 0);
    for want in [
        "\"cache-control\":\"max-age=60\"",
        "\"owner\":\"ann\"",
        "\"content-language\":\"en\"",
        "\"content-type\":\"text/html; charset=utf-8\"",
    ] {
        assert!(meta.contains(want), "{want} not in {meta}");
    }
    // A header the store has nowhere to keep: refused before anything is written.
    let (code, _, err) = cloud_run(&[
        "copy",
        src.path().to_str().unwrap(),
        &s3.rclone_path("refused"),
        "--header-upload",
        "X-Custom: 1",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("s3 can't store --header-upload \"X-Custom\""),
        "{err}"
    );
    let (_, listed) = rclone_out(s3.rclone().args(["lsf", "-R", &s3.rclone_path("")]));
    assert!(!listed.contains("refused/"), "{listed}");
}

#[test]
fn header_upload_on_azure_blob_sets_content_properties_and_metadata() {
    let Some(az) = Testbed::azure() else { return };
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("doc.txt"), "props").unwrap();
    let dst = az.rclone_path("hdr");
    cloud_ok(&[
        "copy",
        src.path().to_str().unwrap(),
        &dst,
        "--header-upload",
        "Cache-Control: no-store",
        "--header-upload",
        "X-Ms-Meta-Owner: bob",
    ]);
    let (code, meta) = rclone_out(
        az.rclone()
            .args(["lsjson", "-M", &format!("{dst}/doc.txt")]),
    );
    assert_eq!(code, 0);
    assert!(meta.contains("\"owner\":\"bob\""), "{meta}");
    let (out, _) = cloud_ok(&["lsjson", "-M", &format!("{dst}/doc.txt")]);
    assert!(out.contains("\"cache-control\":\"no-store\""), "{out}");
}
