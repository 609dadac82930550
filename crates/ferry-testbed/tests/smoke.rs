//! Smoke tests of the test servers themselves, through the anchor CLIs only (no ferry code):
//! write an object, list it, read it back and compare the bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_testbed::{run, Testbed};

/// Deterministic, incompressible test bytes.
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn local_file(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn text(out: Vec<u8>) -> String {
    String::from_utf8(out).expect("UTF-8 output")
}

/// The first word of each output line (hash listings: `<hash>  <name>`).
fn first_words(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

fn rclone_lsf(mut cmd: Command, path: &str) -> String {
    text(run(cmd.args(["lsf", "-R", "--files-only", path])))
}

fn rclone_cat(mut cmd: Command, path: &str) -> Vec<u8> {
    run(cmd.args(["cat", path]))
}

/// rclone's own (local) hash of a file.
fn local_hash(cmd: Command, kind: &str, file: &Path) -> String {
    let mut cmd = cmd;
    let out = text(run(cmd.args(["hashsum", kind]).arg(file)));
    first_words(&out)[0].to_string()
}

#[test]
fn sftp_rclone_round_trip_and_remote_shell_hashes() {
    let Some(sftp) = Testbed::sftp() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = payload(300_000, 1);
    let file = local_file(tmp.path(), "data.bin", &data);

    run(sftp
        .rclone()
        .arg("copyto")
        .arg(&file)
        .arg(sftp.rclone_path("sub/data.bin")));
    assert_eq!(
        rclone_lsf(sftp.rclone(), &sftp.rclone_path("")),
        "sub/data.bin\n"
    );
    assert_eq!(
        rclone_cat(sftp.rclone(), &sftp.rclone_path("sub/data.bin")),
        data
    );

    // The login shell runs coreutils: md5sum/sha1sum over ssh agree with rclone's local hashes,
    // and so does rclone's sftp backend, which runs the same commands remotely.
    let remote = sftp.path("sub/data.bin");
    let out = text(run(sftp.ssh().arg(format!(
        "md5sum '{remote}' && sha1sum '{remote}' && echo $0"
    ))));
    let words = first_words(&out);
    let (md5, sha1) = (
        local_hash(sftp.rclone(), "md5", &file),
        local_hash(sftp.rclone(), "sha1", &file),
    );
    assert_eq!(words[..2], [md5.as_str(), sha1.as_str()], "{out}");
    assert!(
        out.lines().nth(2).unwrap_or("").ends_with("bash"),
        "login shell is not bash: {out}"
    );
    let via_sftp = text(run(sftp
        .rclone()
        .args(["md5sum", &sftp.rclone_path("sub")])));
    assert_eq!(first_words(&via_sftp), [md5.as_str()], "{via_sftp}");
}

#[test]
fn sftp_password_and_passphrase_key_logins() {
    let Some(sftp) = Testbed::sftp() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = payload(5_000, 2);
    let file = local_file(tmp.path(), "a.txt", &data);
    let by_password = format!("{}{}", sftp.rclone_remote_password(), sftp.path("a.txt"));
    let by_key_pass = format!("{}{}", sftp.rclone_remote_key_pass(), sftp.path("a.txt"));

    run(sftp.rclone().arg("copyto").arg(&file).arg(&by_password));
    assert_eq!(rclone_cat(sftp.rclone(), &by_key_pass), data);
    assert_eq!(
        rclone_lsf(
            sftp.rclone(),
            &format!("{}{}", sftp.rclone_remote_password(), sftp.dir)
        ),
        "a.txt\n"
    );
    assert!(
        sftp.hostkey_line
            .starts_with(&format!("[{}]:{} ", sftp.host, sftp.port)),
        "{}",
        sftp.hostkey_line
    );
}

#[test]
fn s3_s5cmd_and_rclone_round_trip() {
    let Some(s3) = Testbed::s3() else { return };
    let Some(mut s5) = s3.s5cmd() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = payload(400_000, 3);
    let file = local_file(tmp.path(), "data.bin", &data);

    run(s5.arg("cp").arg(&file).arg(s3.url("s5/data.bin")));
    let mut s5 = s3.s5cmd().unwrap();
    let listing = text(run(s5.args(["ls", &s3.url("s5/*")])));
    assert!(
        listing.contains("data.bin") && listing.contains("400000"),
        "{listing}"
    );
    let mut s5 = s3.s5cmd().unwrap();
    assert_eq!(run(s5.args(["cat", &s3.url("s5/data.bin")])), data);

    run(s3
        .rclone()
        .arg("copyto")
        .arg(&file)
        .arg(s3.rclone_path("rc/data.bin")));
    assert_eq!(
        rclone_lsf(s3.rclone(), &s3.rclone_path("")),
        "rc/data.bin\ns5/data.bin\n"
    );
    assert_eq!(
        rclone_cat(s3.rclone(), &s3.rclone_path("s5/data.bin")),
        data
    );
    let mut s5 = s3.s5cmd().unwrap();
    assert_eq!(run(s5.args(["cat", &s3.url("rc/data.bin")])), data);
}

#[test]
fn azure_azcopy_and_rclone_round_trip() {
    let Some(az) = Testbed::azure() else { return };
    let Some(mut azcopy) = az.azcopy() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = payload(300_000, 4);
    let file = local_file(tmp.path(), "data.bin", &data);

    // azcopy takes only a SAS: here an account SAS signed by the testbed crate. Each azcopy job
    // costs about 2 s, so it writes one blob and reads the other, rclone the rest.
    run(azcopy
        .arg("copy")
        .arg(&file)
        .arg(az.sas_url("azc/data.bin"))
        .args([
            "--from-to",
            "LocalBlob",
            "--put-md5",
            "--log-level",
            "ERROR",
        ]));
    run(az
        .rclone()
        .arg("copyto")
        .arg(&file)
        .arg(az.rclone_path("rc/data.bin")));
    let mut azcopy = az.azcopy().unwrap();
    let listing = text(run(azcopy.args([
        "list",
        &az.sas_url(""),
        "--location",
        "Blob",
    ])));
    assert!(
        listing.contains("azc/data.bin") && listing.contains("rc/data.bin"),
        "{listing}"
    );
    assert_eq!(
        rclone_lsf(az.rclone(), &az.rclone_path("")),
        "azc/data.bin\nrc/data.bin\n"
    );
    assert_eq!(
        rclone_cat(az.rclone(), &az.rclone_path("azc/data.bin")),
        data
    );
    let down = tmp.path().join("down.bin");
    let mut azcopy = az.azcopy().unwrap();
    run(azcopy
        .arg("copy")
        .arg(az.sas_url("rc/data.bin"))
        .arg(&down)
        .args([
            "--from-to",
            "BlobLocal",
            "--check-md5",
            "FailIfDifferent",
            "--log-level",
            "ERROR",
        ]));
    assert_eq!(std::fs::read(&down).unwrap(), data);

    // A container SAS (service SAS) works for rclone too.
    let via_sas = format!("{}{}", az.rclone_sas_remote(), az.container);
    assert_eq!(
        rclone_lsf(az.rclone(), &via_sas),
        "azc/data.bin\nrc/data.bin\n"
    );
}

#[test]
fn handles_remove_their_remote_on_drop() {
    // Every server that is up: its directory / bucket / container is gone after the handle drops.
    if let Some(sftp) = Testbed::sftp() {
        let (conf, dir) = ((*sftp).clone(), sftp.dir.clone());
        let home = format!("{}{}", conf.rclone_remote(), conf.root);
        let name = format!("{}/", dir.rsplit('/').next().unwrap());
        run(sftp.rclone().arg("touch").arg(sftp.rclone_path("x/y")));
        let listing = text(run(conf.rclone().args(["lsf", "--dirs-only", &home])));
        assert!(listing.lines().any(|l| l == name), "{listing}");
        drop(sftp);
        let listing = text(run(conf.rclone().args(["lsf", "--dirs-only", &home])));
        assert!(!listing.lines().any(|l| l == name), "{listing}");
    }
    if let Some(s3) = Testbed::s3() {
        let (conf, bucket) = ((*s3).clone(), s3.bucket.clone());
        run(s3.rclone().arg("touch").arg(s3.rclone_path("x/y")));
        drop(s3);
        let listing = text(run(conf.rclone().args(["lsd", &conf.rclone_remote()])));
        assert!(!listing.contains(&bucket), "{listing}");
    }
    if let Some(az) = Testbed::azure() {
        let (conf, container) = ((*az).clone(), az.container.clone());
        run(az.rclone().arg("touch").arg(az.rclone_path("x/y")));
        drop(az);
        let listing = text(run(conf.rclone().args(["lsd", &conf.rclone_remote()])));
        assert!(!listing.contains(&container), "{listing}");
    }
}
