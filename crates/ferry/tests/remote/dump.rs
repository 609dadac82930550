//! `--dump` on the HTTP backends: rclone's request and response blocks in the debug log,
//! credentials shown as `XXXX` unless `auth` is asked for, and nothing else changed.

use ferry_testbed::Testbed;

use super::common::run;

#[test]
fn dump_headers_shows_s3_requests_without_credentials() {
    let Some(s3) = Testbed::s3() else { return };
    let (code, out, err) = run(&["lsf", &s3.rclone_path(""), "--dump", "headers"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.is_empty() || !out.contains("HTTP"),
        "the dump goes to the log: {out}"
    );
    assert!(
        err.contains("NOTICE: Automatically setting -vv as --dump is enabled"),
        "{err}"
    );
    assert!(
        err.contains("HTTP REQUEST (req 0x") && err.contains("HTTP RESPONSE (req 0x"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "Host: {}",
            s3.endpoint.trim_start_matches("http://")
        )),
        "{err}"
    );
    assert!(err.contains("\nAuthorization: XXXX\n"), "{err}");
    assert!(!err.contains("AWS4-HMAC-SHA256 Credential"), "{err}");
    assert!(err.contains("HTTP/1.1 200 OK"), "{err}");

    // rclone's older spelling says the same.
    let (code, _, err) = run(&["lsf", &s3.rclone_path(""), "--dump-headers"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("HTTP REQUEST (req 0x"), "{err}");
    assert!(err.contains("\nAuthorization: XXXX\n"), "{err}");

    let (code, _, err) = run(&["lsf", &s3.rclone_path(""), "--dump", "headers,auth"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Authorization: AWS4-HMAC-SHA256 Credential="),
        "auth shows it: {err}"
    );
}

#[test]
fn dump_keeps_an_azure_sas_signature_out_of_the_log() {
    let Some(az) = Testbed::azure() else { return };
    let remote = format!("{}{}", az.rclone_sas_remote(), az.container);
    let sas = az.container_sas(std::time::Duration::from_secs(3600));
    let sig = sas
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
        .expect("a SAS has a signature")
        .to_owned();
    let (code, _, err) = run(&["lsf", &remote, "--dump", "headers,responses"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("sig=XXXX"), "{err}");
    assert!(!err.contains(&sig), "the signature leaked: {err}");
    assert!(
        err.contains("<EnumerationResults"),
        "responses shows the body: {err}"
    );
}

#[test]
fn a_bad_dump_word_is_a_usage_error() {
    let (code, _, err) = run(&["lsf", "/", "--dump", "headers,nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid choice \"nope\""), "{err}");
}

#[test]
fn dump_shows_webdav_requests_and_bodies_without_the_password() {
    let Some(w) = Testbed::webdav() else { return };
    let s = super::common::Scratch::new();
    super::common::write_file(&s.path("src/a.txt"), b"dumped", 10);
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &w.rclone_path("d"),
        "--dump",
        "headers,bodies",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("PROPFIND /"), "{err}");
    assert!(err.contains("\nAuthorization: XXXX\n"), "{err}");
    assert!(err.contains("<d:propfind"), "request bodies: {err}");
    assert!(err.contains("multistatus"), "response bodies: {err}");
    assert!(err.contains("HTTP/1.1 207"), "{err}");
    // The upload's body is a stream: its headers show, never a password.
    assert!(err.contains("PUT /"), "{err}");
    assert!(!err.contains("Basic c3luY3Rlc3Q6"), "{err}");
    let (code, out, err) = run(&["lsf", &w.rclone_path("d"), "--dump", "responses"]);
    assert_eq!((code, out.trim()), (0, "a.txt"), "{err}");
}
