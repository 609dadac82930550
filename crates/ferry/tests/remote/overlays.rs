//! union and combine over a local directory and the testbed's S3 server, side by side
//! with rclone 1.75 (one config file for both): the same files listed, and files written
//! through the union landing on the same upstream rclone's default policy chooses.

use std::path::Path;

use crate::common::{self, cloud_run, sorted_lines, write_file, Scratch};
use ferry_testbed::Testbed;

#[track_caller]
fn ferry_ok(conf: &str, args: &[&str]) -> String {
    let mut all = vec!["--config", conf];
    all.extend_from_slice(args);
    let (code, out, err) = cloud_run(&all);
    assert_eq!(code, 0, "ferry {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

#[track_caller]
fn rclone_ok(bin: &Path, conf: &str, args: &[&str]) -> String {
    let mut all = vec!["--config", conf];
    all.extend_from_slice(args);
    let (code, out, err) = common::rclone_in(bin, Path::new("/"), &all);
    assert_eq!(code, 0, "rclone {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

#[test]
fn union_and_combine_over_local_and_s3_agree_with_rclone() {
    let Some(s3) = Testbed::s3() else {
        return;
    };
    let Some(rclone) = common::rclone() else {
        return;
    };
    let s = Scratch::new();
    let disk = s.path("disk");
    write_file(&disk.join("docs/a.txt"), b"a", 1000);
    write_file(&disk.join("same.txt"), b"on disk", 1000);
    write_file(&s.path("stage/pics/p.jpg"), b"p", 1000);
    write_file(&s.path("stage/same.txt"), b"in the bucket, longer", 1000);
    let bucket = s3.rclone_path("");
    let conf = s.path("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[u]\ntype = union\nupstreams = {d} {bucket}\n\n\
             [c]\ntype = combine\nupstreams = disk={d} store={bucket}\n",
            d = disk.display()
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    rclone_ok(
        &rclone,
        conf,
        &["copy", &s.path("stage").display().to_string(), &bucket],
    );

    // rclone lists a union or combine with S3 below it through S3's flat listing, which
    // shows no directories: files are compared.
    for remote in ["u:", "c:", "c:store"] {
        let args = ["lsf", "-R", "--files-only", "--format", "ps", remote];
        let theirs = rclone_ok(&rclone, conf, &args);
        let ours = ferry_ok(conf, &args);
        assert_eq!(sorted_lines(&ours), sorted_lines(&theirs), "{remote}");
    }

    // epmfs: where the parent exists (docs on the disk, pics in the bucket).
    write_file(&s.path("ferry/docs/f.txt"), b"f", 100);
    write_file(&s.path("ferry/pics/f.jpg"), b"f", 100);
    write_file(&s.path("rclone/docs/r.txt"), b"r", 100);
    write_file(&s.path("rclone/pics/r.jpg"), b"r", 100);
    ferry_ok(
        conf,
        &["copy", &s.path("ferry").display().to_string(), "u:"],
    );
    rclone_ok(
        &rclone,
        conf,
        &["copy", &s.path("rclone").display().to_string(), "u:"],
    );
    let on_disk = sorted_lines(&rclone_ok(
        &rclone,
        conf,
        &["lsf", "-R", "--files-only", "c:disk"],
    ));
    let in_bucket = sorted_lines(&rclone_ok(
        &rclone,
        conf,
        &["lsf", "-R", "--files-only", "c:store"],
    ));
    assert_eq!(
        on_disk,
        ["docs/a.txt", "docs/f.txt", "docs/r.txt", "same.txt"]
    );
    assert_eq!(
        in_bucket,
        ["pics/f.jpg", "pics/p.jpg", "pics/r.jpg", "same.txt"]
    );

    // sync and check through combine into the bucket.
    ferry_ok(
        conf,
        &[
            "sync",
            &s.path("ferry").display().to_string(),
            "c:store/synced",
        ],
    );
    ferry_ok(
        conf,
        &[
            "check",
            &s.path("ferry").display().to_string(),
            "c:store/synced",
        ],
    );
}
