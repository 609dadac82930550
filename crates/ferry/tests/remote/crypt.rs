//! crypt over the testbed's S3 and SFTP servers, with rclone 1.75 reading what ferry
//! wrote and the other way round (one config file, one section, for both).

use std::path::Path;

use crate::common::{self, cloud_run, tree, write_file, Scratch};
use ferry_testbed::Testbed;

/// A config file with a crypt remote `secret` over `remote` (a connection string).
fn config(s: &Scratch, remote: &str) -> String {
    let pass = ferry_core::obscure::obscure("correct horse").unwrap();
    let pass2 = ferry_core::obscure::obscure("battery staple").unwrap();
    let path = s.path("rclone.conf");
    std::fs::write(
        &path,
        format!(
            "[secret]\ntype = crypt\nremote = {remote}\npassword = {pass}\npassword2 = {pass2}\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn sample_tree(root: &Path) {
    for (name, len) in [
        ("empty.txt", 0usize),
        ("a.txt", 10),
        ("dir/two-blocks.bin", 65536 + 7),
        ("dir/ünï 日本.txt", 300),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 13 % 251) as u8).collect();
        write_file(&root.join(name), &data, 1000);
    }
}

/// Same files with the same bytes (SFTP keeps whole seconds only, so times are not compared).
#[track_caller]
fn same_contents(a: &Path, b: &Path) {
    let strip = |t: std::collections::BTreeMap<String, (Vec<u8>, std::time::SystemTime)>| {
        t.into_iter()
            .map(|(k, (bytes, _))| (k, bytes))
            .collect::<Vec<_>>()
    };
    assert!(
        strip(tree(a)) == strip(tree(b)),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

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

/// ferry writes, rclone lists the same names and reads the same bytes; then rclone
/// writes elsewhere under the same remote and ferry reads it.
fn both_ways(under: &str) {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let s = Scratch::new();
    let conf = config(&s, under);
    sample_tree(&s.path("src"));
    ferry_ok(&conf, &["copy", &s.src(), "secret:ours"]);
    let mut theirs: Vec<String> = rclone_ok(
        &rclone,
        &conf,
        &["lsf", "-R", "--files-only", "secret:ours"],
    )
    .lines()
    .map(str::to_owned)
    .collect();
    let mut mine: Vec<String> = ferry_ok(&conf, &["lsf", "-R", "--files-only", "secret:ours"])
        .lines()
        .map(str::to_owned)
        .collect();
    theirs.sort();
    mine.sort();
    assert_eq!(theirs, mine);
    assert_eq!(mine.len(), 4, "{mine:?}");
    rclone_ok(
        &rclone,
        &conf,
        &[
            "copy",
            "secret:ours",
            s.path("rclone-read").to_str().unwrap(),
        ],
    );
    same_contents(&s.path("src"), &s.path("rclone-read"));
    rclone_ok(&rclone, &conf, &["copy", &s.src(), "secret:theirs"]);
    ferry_ok(
        &conf,
        &[
            "copy",
            "secret:theirs",
            s.path("ferry-read").to_str().unwrap(),
        ],
    );
    same_contents(&s.path("src"), &s.path("ferry-read"));
}

#[test]
fn crypt_over_s3_interoperates_with_rclone() {
    let Some(s3) = Testbed::s3() else {
        return;
    };
    both_ways(&s3.rclone_path("enc"));
}

#[test]
fn crypt_over_sftp_interoperates_with_rclone() {
    let Some(sftp) = Testbed::sftp() else {
        return;
    };
    both_ways(&sftp.rclone_path("enc"));
}
