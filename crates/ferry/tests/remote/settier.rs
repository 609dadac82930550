//! `settier` end to end: S3 storage classes (moto, with a provider that has them) and
//! Azure access tiers (Azurite), each read back by rclone 1.75; remotes without tiers
//! refuse as rclone does. Every test skips (or fails under `CI=true`) when a server is not
//! running.

use crate::common;

use common::{cloud_ok, cloud_run};
use ferry_testbed::Testbed;

fn tiers(mut cmd: std::process::Command) -> Vec<String> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}={}",
                e["Path"].as_str().unwrap(),
                e["Tier"].as_str().unwrap_or("-")
            )
        })
        .collect();
    got.sort();
    got
}

#[test]
fn s3_storage_classes_change_where_the_filters_say() {
    let Some(s3) = Testbed::s3() else { return };
    // moto keeps storage classes; rclone shows and sets them only for providers that
    // have them, so the remote says AWS.
    let aws = |rel: &str| {
        s3.rclone_path(rel)
            .replacen("provider=Other", "provider=AWS", 1)
    };
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("d")).unwrap();
    std::fs::write(src.path().join("d/a.txt"), "aaa").unwrap();
    std::fs::write(src.path().join("d/b.log"), "bbb").unwrap();
    cloud_ok(&["copy", src.path().to_str().unwrap(), &aws("")]);
    cloud_ok(&["settier", "standard_ia", &aws("d"), "--include", "*.txt"]);
    let listed = |rel: &str| {
        let mut c = s3.rclone();
        c.args(["lsjson", &aws(rel)]);
        tiers(c)
    };
    assert_eq!(listed("d"), ["a.txt=STANDARD_IA", "b.log=STANDARD"]);
    // One file; the data and metadata stay.
    cloud_ok(&["settier", "GLACIER", &aws("d/b.log")]);
    assert_eq!(listed("d"), ["a.txt=STANDARD_IA", "b.log=GLACIER"]);
    let (out, _) = cloud_ok(&["cat", &aws("d/a.txt")]);
    assert_eq!(out, "aaa");
    cloud_ok(&["check", src.path().to_str().unwrap(), &aws("")]);
    // --dry-run says what it would do and does nothing.
    let (_, err) = cloud_ok(&["settier", "STANDARD", &aws("d"), "--dry-run"]);
    assert!(
        err.contains("a.txt: Skipped set tier to STANDARD as --dry-run is set"),
        "{err}"
    );
    assert_eq!(listed("d"), ["a.txt=STANDARD_IA", "b.log=GLACIER"]);
    // A class the server refuses: each object said, and the run fails.
    let (code, _, err) = cloud_run(&["settier", "BOGUS", &aws("d/a.txt")]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("a.txt: Failed to do SetTier, failed to set tier"),
        "{err}"
    );
    assert_eq!(listed("d"), ["a.txt=STANDARD_IA", "b.log=GLACIER"]);
    // A provider without storage classes: refused as rclone refuses.
    let (code, _, err) = cloud_run(&["settier", "STANDARD", &s3.rclone_path("d")]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Failed to settier: remote s3 does not support settier"),
        "{err}"
    );
}

#[test]
fn azure_access_tiers_change() {
    let Some(az) = Testbed::azure() else { return };
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), "aaa").unwrap();
    std::fs::write(src.path().join("b.txt"), "bbb").unwrap();
    cloud_ok(&["copy", src.path().to_str().unwrap(), &az.rclone_path("t")]);
    cloud_ok(&["settier", "cool", &az.rclone_path("t")]);
    cloud_ok(&["settier", "Archive", &az.rclone_path("t/b.txt")]);
    let mut c = az.rclone();
    c.args(["lsjson", &az.rclone_path("t")]);
    assert_eq!(tiers(c), ["a.txt=Cool", "b.txt=Archive"]);
    let (code, _, err) = cloud_run(&["settier", "warm", &az.rclone_path("t/a.txt")]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("tier warm not supported by Azure Blob Storage"),
        "{err}"
    );
}

#[test]
fn a_local_path_has_no_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = cloud_run(&["settier", "Hot", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Failed to settier: remote local does not support settier"),
        "{err}"
    );
}
