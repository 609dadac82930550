//! S3's backend commands on moto, side by side with rclone 1.75: unfinished multipart
//! uploads listed (the same JSON) and cleaned up by age, and a bucket's versioning.

use crate::common;

use common::{cloud_ok, cloud_run, side_by_side};
use ferry_testbed::{Testbed, S3};

/// Begins a multipart upload of `key` that nobody finishes (moto dates it 2010).
fn begin_upload(s3: &S3, key: &str) {
    // rclone has no command that leaves an upload open; the SDK's own request does.
    let status = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"])
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .arg(format!("{}/{}/{key}?uploads", s3.endpoint, s3.bucket))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "200");
}

fn uploads(s3: &S3, rel: &str) -> Vec<String> {
    let (out, _) = cloud_ok(&["backend", "list-multipart-uploads", &s3.rclone_path(rel)]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut keys: Vec<String> = v[&s3.bucket]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

#[test]
fn multipart_uploads_are_listed_as_rclone_lists_them_and_cleaned_by_age() {
    let Some(s3) = Testbed::s3() else { return };
    for key in ["old/a.bin", "old/b&<c>.bin", "keep/d.bin"] {
        begin_upload(&s3, key);
    }
    let args = ["backend", "list-multipart-uploads", &s3.rclone_path("old")];
    let ((rc, rout), (fc, fout)) = side_by_side(s3.rclone(), &args);
    assert_eq!((fc, &fout), (rc, &rout));
    assert!(fout.contains("b\\u0026\\u003cc\\u003e.bin"), "{fout}");
    assert_eq!(
        uploads(&s3, ""),
        ["keep/d.bin", "old/a.bin", "old/b&<c>.bin"]
    );
    // --dry-run names each upload it would abort, and aborts none.
    let path = s3.rclone_path("old");
    let (_, err) = cloud_ok(&["backend", "cleanup", &path, "-o", "max-age=1d", "--dry-run"]);
    assert!(
        err.contains("key \"old/a.bin\" dated 2010-")
            && err.contains("Skipped remove pending upload as --dry-run is set"),
        "{err}"
    );
    assert_eq!(uploads(&s3, "old").len(), 2);
    // Younger than a century: kept.
    cloud_ok(&["backend", "cleanup", &path, "-o", "max-age=100y"]);
    assert_eq!(uploads(&s3, "old").len(), 2);
    let (_, err) = cloud_ok(&["backend", "cleanup", &path, "-o", "max-age=7d", "-v"]);
    assert!(err.contains("older than 168h0m0s"), "{err}");
    assert!(uploads(&s3, "old").is_empty());
    assert_eq!(uploads(&s3, ""), ["keep/d.bin"]);
    let (code, _, err) = cloud_run(&["backend", "cleanup", &path, "-o", "max-age=soon"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("command \"cleanup\" failed: bad max-age: invalid duration \"soon\""),
        "{err}"
    );
}

#[test]
fn versioning_is_read_and_set_as_rclone_does() {
    let Some(s3) = Testbed::s3() else { return };
    let bucket = s3.rclone_path("");
    for args in [
        vec!["backend", "versioning", bucket.as_str()],
        vec!["backend", "versioning", bucket.as_str(), "Enabled"],
        vec!["backend", "versioning", bucket.as_str(), "Suspended"],
        vec!["backend", "versioning", bucket.as_str()],
        vec!["backend", "versioning", bucket.as_str(), "a", "b"],
    ] {
        let ((rc, rout), (fc, fout)) = side_by_side(s3.rclone(), &args);
        assert_eq!((fc, &fout), (rc, &rout), "{args:?}");
    }
    let (_, out, _) = cloud_run(&["backend", "versioning", &bucket]);
    assert_eq!(out, "\"Suspended\"\n");
    let root = s3.rclone_remote();
    let (code, _, err) = cloud_run(&["backend", "versioning", &root]);
    assert_eq!(code, 1);
    assert!(
        err.contains("command \"versioning\" failed: need a bucket"),
        "{err}"
    );
    // features: what the remote is.
    let (out, _) = cloud_ok(&["backend", "features", &s3.rclone_path("dir")]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Root"], format!("{}/dir", s3.bucket));
    assert_eq!(v["Hashes"], serde_json::json!(["md5"]));
    assert_eq!(v["Features"]["BucketBased"], true);
    assert_eq!(v["Features"]["Copy"], true);
    assert_eq!(v["Features"]["Command"], true);
}
