//! crypt and alias remotes end to end, with rclone 1.75 as the reference: what ferry
//! writes through a crypt remote rclone lists and reads (same config section), what
//! rclone writes ferry reads, and bad input (a wrong password, a damaged block, a stray
//! name) fails clearly without leaving anything under a final name.

use std::path::{Path, PathBuf};

use crate::common::{self, assert_same_tree, run, sorted_lines, tree, write_file, Scratch};

/// A config file with crypt remotes over `under` (and an alias), obscured as rclone
/// stores passwords. `extra` lines go into the `secret` section.
fn config(s: &Scratch, under: &Path, extra: &str) -> PathBuf {
    let pass = ferry_core::obscure::obscure("correct horse").unwrap();
    let pass2 = ferry_core::obscure::obscure("battery staple").unwrap();
    let wrong = ferry_core::obscure::obscure("wrong horse").unwrap();
    let text = format!(
        "[secret]\ntype = crypt\nremote = {u}\npassword = {pass}\npassword2 = {pass2}\n{extra}\n\
         [wrongpass]\ntype = crypt\nremote = {u}\npassword = {wrong}\npassword2 = {pass2}\n{extra}\n\
         [strict]\ntype = crypt\nremote = {u}\npassword = {pass}\npassword2 = {pass2}\nstrict_names = true\n{extra}\n\
         [plain]\ntype = alias\nremote = {u}\n\n\
         [loop]\ntype = alias\nremote = loop:sub\n",
        u = under.display()
    );
    let path = s.path("rclone.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// Files of every size that matters to the block format, in nested and unicode names.
fn sample_tree(root: &Path) {
    let sizes: [(&str, usize); 7] = [
        ("empty.txt", 0),
        ("one.txt", 1),
        ("dir/block.bin", 65536),
        ("dir/block-plus-one.bin", 65537),
        ("dir/sub/three-blocks.bin", 3 * 65536 + 100),
        ("ünïcødé 日本語.txt", 1000),
        ("dir/sub/version-v2001-02-03-040506-789.txt", 10),
    ];
    for (name, len) in sizes {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        write_file(&root.join(name), &data, 1000);
    }
}

fn ferry_with(conf: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", conf.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

#[track_caller]
fn ferry_ok(conf: &Path, args: &[&str]) -> (String, String) {
    let (code, out, err) = ferry_with(conf, args);
    assert_eq!(code, 0, "ferry {args:?}\nstdout: {out}\nstderr: {err}");
    (out, err)
}

fn rclone_with(bin: &Path, conf: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", conf.to_str().unwrap()];
    all.extend_from_slice(args);
    common::rclone_in(bin, Path::new("/"), &all)
}

#[track_caller]
fn rclone_ok(bin: &Path, conf: &Path, args: &[&str]) -> String {
    let (code, out, err) = rclone_with(bin, conf, args);
    assert_eq!(code, 0, "rclone {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

/// Transfers of one run, from `--use-json-log`'s final stats.
fn transfers(stderr: &str) -> u64 {
    for line in stderr.lines().rev() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(s) = v.get("stats") {
            return s["transfers"].as_u64().unwrap_or(0);
        }
    }
    panic!("no stats line in:\n{stderr}");
}

const MODES: [&str; 4] = [
    "",
    "filename_encoding = base32768",
    "filename_encryption = obfuscate",
    "filename_encryption = off",
];

#[test]
fn ferry_writes_and_rclone_reads_the_same_names_and_bytes() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    for mode in MODES {
        let s = Scratch::new();
        let under = s.path("under");
        std::fs::create_dir_all(&under).unwrap();
        let conf = config(&s, &under, mode);
        sample_tree(&s.path("src"));
        ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
        let theirs = rclone_ok(&rclone, &conf, &["lsf", "-R", "--files-only", "secret:"]);
        let (ours, _) = ferry_ok(&conf, &["lsf", "-R", "--files-only", "secret:"]);
        assert_eq!(sorted_lines(&theirs), sorted_lines(&ours), "{mode}");
        assert_eq!(sorted_lines(&theirs).len(), 7, "{mode}: {theirs}");
        rclone_ok(
            &rclone,
            &conf,
            &["copy", "secret:", s.path("back").to_str().unwrap()],
        );
        assert_same_tree(&s.path("src"), &s.path("back"));
        // The stored bytes are not the data.
        let raw = tree(&under);
        assert!(
            raw.values()
                .all(|(bytes, _)| bytes.starts_with(b"RCLONE\0\0")),
            "{mode}"
        );
    }
}

#[test]
fn rclone_writes_and_ferry_reads_then_a_second_sync_transfers_nothing() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    for mode in MODES {
        let s = Scratch::new();
        let under = s.path("under");
        let conf = config(&s, &under, mode);
        sample_tree(&s.path("src"));
        rclone_ok(&rclone, &conf, &["copy", &s.src(), "secret:"]);
        ferry_ok(&conf, &["sync", "secret:", &s.dst()]);
        assert_same_tree(&s.path("src"), &s.path("dst"));
        // Sizes and times only (crypt has no hashes): nothing changed, nothing moves.
        let (_, err) = ferry_ok(
            &conf,
            &["sync", &s.src(), "secret:", "--use-json-log", "-v"],
        );
        assert_eq!(transfers(&err), 0, "{mode}: {err}");
        let (_, err) = ferry_ok(
            &conf,
            &["sync", "secret:", &s.dst(), "--use-json-log", "-v"],
        );
        assert_eq!(transfers(&err), 0, "{mode}: {err}");
        // A ranged read from inside the second block.
        let (out, _) = ferry_ok(
            &conf,
            &[
                "cat",
                "secret:dir/sub/three-blocks.bin",
                "--offset",
                "70000",
                "--count",
                "5",
            ],
        );
        let want: Vec<u8> = (70000..70005).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(out, String::from_utf8_lossy(&want), "{mode}");
    }
}

#[test]
fn a_wrong_password_fails_naming_the_remote_and_writes_nothing() {
    for mode in ["", "filename_encryption = off"] {
        let s = Scratch::new();
        let under = s.path("under");
        let conf = config(&s, &under, mode);
        sample_tree(&s.path("src"));
        ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
        let (code, _, err) = ferry_with(&conf, &["copy", "wrongpass:", &s.dst()]);
        assert_ne!(code, 0, "{mode}: {err}");
        assert!(err.contains("wrongpass:"), "{mode}: {err}");
        let landed: Vec<_> = tree(&s.path("dst")).into_keys().collect();
        // Only the empty file has no block to authenticate.
        assert!(
            landed.iter().all(|k| k == "empty.txt"),
            "{mode}: {landed:?}\n{err}"
        );
        assert!(
            err.contains("wrong password") || err.contains("bad password"),
            "{mode}: {err}"
        );
    }
}

#[test]
fn a_damaged_block_fails_that_file_only_and_leaves_nothing_partial() {
    let s = Scratch::new();
    let under = s.path("under");
    let conf = config(&s, &under, "filename_encryption = off");
    sample_tree(&s.path("src"));
    ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
    let victim = under.join("dir/sub/three-blocks.bin.bin");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[32 + 65552 + 100] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let (code, _, err) = ferry_with(&conf, &["copy", "secret:", &s.dst()]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("three-blocks.bin"), "{err}");
    assert!(err.contains("failed to authenticate"), "{err}");
    let landed: Vec<_> = tree(&s.path("dst")).into_keys().collect();
    assert!(
        !landed.iter().any(|k| k.contains("three-blocks")),
        "{landed:?}"
    );
    assert_eq!(landed.len(), 6, "the other files are copied: {landed:?}");
    // Truncated: the size no longer fits the format, and the file is reported by name.
    let short = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &short[..32 + 65552 + 10]).unwrap();
    let (code, _, err) = ferry_with(&conf, &["ls", "secret:"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("three-blocks.bin"), "{err}");
}

/// A big file comes out of crypt in chunks, several ranged streams at once (as rclone
/// copies it), each decrypting its part: the bytes are the file's, and a damaged block in a
/// later part fails the file with its name and leaves nothing of it behind.
#[test]
fn a_big_file_is_decrypted_in_several_streams_and_a_bad_block_fails_it() {
    let s = Scratch::new();
    let under = s.path("under");
    let conf = config(&s, &under, "filename_encryption = off");
    let data: Vec<u8> = (0..5 * 65536 + 777).map(|i| (i * 13 % 251) as u8).collect();
    write_file(&s.path("src/big.bin"), &data, 1000);
    ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
    // 328,457 bytes in chunks of 100 KiB: four, three at a time.
    let streams = [
        "--multi-thread-cutoff",
        "100k",
        "--multi-thread-streams",
        "3",
        "--multi-thread-chunk-size",
        "100k",
    ];
    let dst = s.dst();
    let mut args = vec!["copy", "secret:", dst.as_str(), "-vv"];
    args.extend_from_slice(&streams);
    let (_, err) = ferry_ok(&conf, &args);
    assert!(
        err.contains("downloading in 4 chunks, 3 at a time"),
        "{err}"
    );
    assert!(std::fs::read(s.path("dst/big.bin")).unwrap() == data);

    let victim = under.join("big.bin.bin");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[32 + 4 * 65552 + 100] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let out = s.path("out");
    let mut args = vec!["copy", "secret:", out.to_str().unwrap()];
    args.extend_from_slice(&streams);
    let (code, _, err) = ferry_with(&conf, &args);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("big.bin") && err.contains("failed to authenticate"),
        "{err}"
    );
    let landed: Vec<_> = tree(&out).into_keys().collect();
    assert!(landed.is_empty(), "{landed:?}");
}

#[test]
fn a_name_that_does_not_decrypt_is_skipped_or_with_strict_names_an_error() {
    let s = Scratch::new();
    let under = s.path("under");
    let conf = config(&s, &under, "");
    sample_tree(&s.path("src"));
    ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
    write_file(&under.join("stray.txt"), b"not ours", 10);
    let (out, err) = ferry_ok(&conf, &["lsf", "secret:"]);
    assert!(!out.contains("stray"), "{out}");
    assert!(out.contains("one.txt"), "{out}");
    assert!(
        err.contains("stray.txt") && err.contains("undecryptable"),
        "{err}"
    );
    let (code, _, err) = ferry_with(&conf, &["lsf", "strict:"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("stray.txt"), "{err}");
}

#[test]
fn cryptdecode_prints_as_rclone_does() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    for mode in MODES {
        let s = Scratch::new();
        let conf = config(&s, &s.path("under"), mode);
        let names = [
            "hello.txt",
            "dir/ünï 日本.bin",
            "x-v2001-02-03-040506-789.txt",
        ];
        let mut args = vec!["cryptdecode", "--reverse", "secret:"];
        args.extend(names);
        let theirs = rclone_ok(&rclone, &conf, &args);
        let (ours, _) = ferry_ok(&conf, &args);
        assert_eq!(ours, theirs, "{mode}");
        let encrypted: Vec<&str> = theirs
            .lines()
            .map(|l| l.split(" \t ").nth(1).unwrap())
            .collect();
        let mut args = vec!["cryptdecode", "secret:", "not-a-crypt-name"];
        args.extend(encrypted.iter().copied());
        let theirs = rclone_ok(&rclone, &conf, &args);
        let (ours, _) = ferry_ok(&conf, &args);
        assert_eq!(ours, theirs, "{mode}");
    }
}

#[test]
fn an_alias_names_a_directory_and_one_that_wraps_itself_is_refused() {
    let s = Scratch::new();
    let under = s.path("under");
    write_file(&under.join("sub/a.txt"), b"a", 10);
    let conf = config(&s, &under, "");
    let (out, _) = ferry_ok(&conf, &["lsf", "plain:sub"]);
    assert_eq!(out, "a.txt\n");
    ferry_ok(
        &conf,
        &["copy", &s.path("under").display().to_string(), "plain:copy"],
    );
    assert!(under.join("copy/sub/a.txt").exists());
    let (code, _, err) = ferry_with(&conf, &["lsf", "loop:"]);
    assert_ne!(code, 0);
    assert!(err.contains("loop: wraps itself"), "{err}");
}

#[test]
fn an_overlay_that_is_not_configured_says_so() {
    let s = Scratch::new();
    let conf = s.path("c.conf");
    std::fs::write(&conf, "[nopass]\ntype = crypt\nremote = /tmp\n").unwrap();
    let (code, _, err) = ferry_with(&conf, &["lsf", "nopass:"]);
    assert_ne!(code, 0);
    assert!(err.contains("nopass:") && err.contains("password"), "{err}");
}

#[test]
fn cryptcheck_agrees_with_rclone() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let s = Scratch::new();
    let under = s.path("under");
    let conf = config(&s, &under, "");
    sample_tree(&s.path("src"));
    ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
    let (_, err) = ferry_ok(&conf, &["cryptcheck", &s.src(), "secret:"]);
    assert!(err.contains("0 differences found"), "{err}");
    assert!(err.contains("7 matching files"), "{err}");
    rclone_ok(&rclone, &conf, &["cryptcheck", &s.src(), "secret:"]);
    // Same size, other bytes: only the encrypted hash can tell.
    let changed = s.path("src/dir/block.bin");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[10] ^= 0xFF;
    std::fs::write(&changed, bytes).unwrap();
    let (code, _, err) = ferry_with(&conf, &["cryptcheck", &s.src(), "secret:"]);
    let (rcode, _, rerr) = rclone_with(&rclone, &conf, &["cryptcheck", &s.src(), "secret:"]);
    assert_eq!(code, rcode, "ferry: {err}\nrclone: {rerr}");
    assert!(
        err.contains("dir/block.bin") && err.contains("1 differences found"),
        "{err}"
    );
    let (code, _, err) = ferry_with(
        &conf,
        &["cryptcheck", &s.src(), &under.display().to_string()],
    );
    assert_ne!(code, 0);
    assert!(err.contains("is not a crypt remote"), "{err}");
}

#[test]
fn no_data_encryption_stores_the_data_as_it_is_under_encrypted_names() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let s = Scratch::new();
    let under = s.path("under");
    let conf = config(&s, &under, "no_data_encryption = true");
    sample_tree(&s.path("src"));
    ferry_ok(&conf, &["copy", &s.src(), "secret:"]);
    let mut stored: Vec<Vec<u8>> = tree(&under).into_values().map(|(b, _)| b).collect();
    let mut plain: Vec<Vec<u8>> = tree(&s.path("src")).into_values().map(|(b, _)| b).collect();
    stored.sort();
    plain.sort();
    assert_eq!(stored, plain);
    assert!(!tree(&under).keys().any(|k| k.contains("one.txt")));
    rclone_ok(
        &rclone,
        &conf,
        &["copy", "secret:", s.path("back").to_str().unwrap()],
    );
    assert_same_tree(&s.path("src"), &s.path("back"));
}
