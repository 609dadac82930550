//! Symbolic links, odd names and unicode matching on the local backend.

use crate::common;

use std::os::unix::ffi::OsStrExt;

use common::*;

fn with_link() -> Scratch {
    let s = Scratch::new();
    s.write("src/target.txt", "pointed at", 100);
    std::os::unix::fs::symlink("target.txt", s.path("src/link")).unwrap();
    s
}

#[test]
fn links_are_skipped_with_a_notice_by_default() {
    let s = with_link();
    let (code, _, err) = run(&["copy", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("link: Can't follow symlink without -L/--copy-links"),
        "{err}"
    );
    assert!(!s.exists("dst/link"));
    let (_, _, err) = run(&["copy", &s.src(), &s.dst(), "--skip-links"]);
    assert!(
        !err.contains("symlink"),
        "--skip-links silences the notice: {err}"
    );
}

#[test]
fn a_single_file_source_never_reads_its_siblings() {
    let s = with_link();
    std::os::unix::fs::symlink("/nonexistent", s.path("src/dangling")).unwrap();
    let file = s.path("src/target.txt");
    let file = file.to_str().unwrap();
    let renamed = format!("{}/renamed.txt", s.dst());
    for args in [
        vec!["md5sum", file],
        vec!["lsl", file],
        vec!["lsjson", file],
        vec!["copy", file, &s.dst()],
        vec!["copyto", file, &renamed],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            !err.contains("symlink"),
            "{args:?} read the siblings: {err}"
        );
        assert!(!out.contains("link"), "{args:?}: {out}");
    }
    assert_eq!(s.read("dst/target.txt"), "pointed at");
    assert_eq!(s.read("dst/renamed.txt"), "pointed at");
    // The same file again is found at the destination by its name alone: nothing to do.
    let (_, _, err) = run(&["copy", file, &s.dst(), "-v"]);
    assert!(!err.contains("Copied"), "{err}");
}

#[test]
fn copy_links_follows() {
    let s = with_link();
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "-L"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("dst/link"), "pointed at");
    assert!(!s
        .path("dst/link")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn links_flag_keeps_links_and_round_trips() {
    let s = with_link();
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "-l"]);
    assert_eq!(code, 0, "{err}");
    let target = std::fs::read_link(s.path("dst/link")).expect("a link at the destination");
    assert_eq!(target.to_str(), Some("target.txt"));
    // A second run sees nothing to do.
    let (_, _, err) = run(&["copy", &s.src(), &s.dst(), "-l", "-v"]);
    assert!(!err.contains("Copied"), "{err}");
}

#[test]
fn invalid_utf8_names_are_carried() {
    let s = Scratch::new();
    let raw = std::ffi::OsStr::from_bytes(b"gro\xdf.txt");
    write_file(&s.path("src").join(raw), b"bytes", 100);
    let (code, _, err) = run(&["sync", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(s.path("dst").join(raw)).unwrap(), b"bytes");
    assert!(
        err.contains("gro‛DF.txt"),
        "the notice shows the quoted name: {err}"
    );
}

#[test]
fn unicode_normalisation_matches_nfd_and_nfc() {
    let s = Scratch::new();
    s.write("src/caf\u{e9}", "nfc", 100);
    s.write("dst/cafe\u{301}", "nfd", 100);
    copy_mtime(&s.path("src/caf\u{e9}"), &s.path("dst/cafe\u{301}"));
    std::fs::write(s.path("dst/cafe\u{301}"), "nfc").unwrap();
    copy_mtime(&s.path("src/caf\u{e9}"), &s.path("dst/cafe\u{301}"));
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("Deleted") && !err.contains("Copied"),
        "NFC and NFD names match: {err}"
    );
    let (_, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "-v",
        "--no-unicode-normalization",
    ]);
    assert!(err.contains("Copied (new)"), "{err}");
}

#[test]
fn ignore_case_sync_matches_names_case_insensitively() {
    let s = Scratch::new();
    s.write("src/README", "same", 100);
    s.write("dst/readme", "same", 100);
    copy_mtime(&s.path("src/README"), &s.path("dst/readme"));
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v", "--ignore-case-sync"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Deleted") && !err.contains("Copied"), "{err}");
}

#[test]
fn stale_partial_files_are_cleaned_up() {
    let s = Scratch::new();
    s.write("src/f", "data", 100);
    let leftover = format!("dst/{}", ferry_core::partial::temp_name("f"));
    s.write(&leftover, "half", 100);
    let (code, _, err) = run(&["copy", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(!s.exists(&leftover));
    assert_eq!(s.read("dst/f"), "data");
}

#[test]
fn one_file_system_does_not_cross_mount_points() {
    let s = Scratch::new();
    s.write("src/top", "t", 100);
    std::fs::create_dir_all(s.path("src/mnt")).unwrap();
    let ferry = env!("CARGO_BIN_EXE_ferry");
    // A private mount namespace: the tmpfs disappears with the shell, whatever happens.
    let script = format!(
        "mount -t tmpfs none '{src}/mnt' && echo inside > '{src}/mnt/f' && \
         '{ferry}' copy -x '{src}' '{dst}/x' && '{ferry}' copy '{src}' '{dst}/all'",
        src = s.src(),
        dst = s.dst(),
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) runs");
    let (code, _, err) = split(out);
    assert_eq!(
        code, 0,
        "needs root to mount a tmpfs in a private namespace: {err}"
    );
    assert!(
        s.exists("dst/x/top") && !s.exists("dst/x/mnt/f"),
        "-x stays on one filesystem"
    );
    assert_eq!(
        s.read("dst/all/mnt/f"),
        "inside\n",
        "without -x the mount is copied"
    );
}
