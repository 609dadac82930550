//! copy, sync and move against local trees: rclone's semantics, flag by flag.

use crate::common;

use common::*;

fn basic() -> Scratch {
    let s = Scratch::new();
    s.write("src/a.txt", "alpha", 100);
    s.write("src/dir/b.txt", "bravo", 100);
    s.write("src/dir/sub/c.txt", "charlie", 100);
    s
}

#[test]
fn sync_creates_missing_destination_and_copies_contents() {
    let s = basic();
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0, "{err}");
    assert_same_tree(&s.path("src"), &s.path("dst"));
    assert!(err.contains("a.txt: Copied (new)"), "{err}");
    assert!(err.contains("Transferred:"), "stats block at -v: {err}");
    // A kernel copy on this machine is no server-side copy (as rclone's local backend).
    assert!(
        !err.contains("Server Side") && !err.contains("server-side"),
        "{err}"
    );
    // The contents are synced, not the directory itself.
    assert!(!s.exists("dst/src"));
}

#[test]
fn noop_sync_reports_nothing_to_transfer() {
    let s = basic();
    assert_eq!(run(&["sync", &s.src(), &s.dst()]).0, 0);
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0);
    assert!(err.contains("There was nothing to transfer"), "{err}");
    assert!(!err.contains("Copied"), "{err}");
}

#[test]
fn sync_deletes_extraneous_but_copy_does_not() {
    let s = basic();
    s.write("dst/extra.txt", "x", 10);
    s.write("dst/olddir/y.txt", "y", 10);
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(s.exists("dst/extra.txt") && s.exists("dst/olddir/y.txt"));
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("extra.txt: Deleted"), "{err}");
    assert!(!s.exists("dst/extra.txt") && !s.exists("dst/olddir"));
    assert_same_tree(&s.path("src"), &s.path("dst"));
}

#[test]
fn changed_files_are_replaced_and_mtimes_kept() {
    let s = basic();
    run(&["sync", &s.src(), &s.dst()]);
    s.write("src/a.txt", "alpha two", 5);
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0);
    assert!(err.contains("a.txt: Copied (replaced existing)"), "{err}");
    assert_eq!(mtime(&s.path("src/a.txt")), mtime(&s.path("dst/a.txt")));
}

#[test]
fn same_content_new_mtime_only_updates_modtime() {
    let s = basic();
    run(&["sync", &s.src(), &s.dst()]);
    set_age(&s.path("src/a.txt"), 3);
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("a.txt: Updated modification time in destination"),
        "{err}"
    );
    assert!(!err.contains("Copied"), "{err}");
    assert_eq!(mtime(&s.path("src/a.txt")), mtime(&s.path("dst/a.txt")));
}

#[test]
fn no_update_modtime_leaves_mtime_alone() {
    let s = basic();
    run(&["sync", &s.src(), &s.dst()]);
    set_age(&s.path("src/a.txt"), 3);
    let before = mtime(&s.path("dst/a.txt"));
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "-v", "--no-update-modtime"]);
    assert_eq!(code, 0);
    assert!(!err.contains("Updated modification time"), "{err}");
    assert!(!err.contains("Copied"), "{err}");
    assert_eq!(before, mtime(&s.path("dst/a.txt")));
}

#[test]
fn dry_run_changes_nothing_and_says_so() {
    let s = basic();
    s.write("dst/extra.txt", "x", 10);
    s.write("dst/a.txt", "old", 1000);
    let before = tree(&s.path("dst"));
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Skipped copy as --dry-run is set"), "{err}");
    assert!(
        err.contains("extra.txt: Skipped delete as --dry-run is set"),
        "{err}"
    );
    assert_eq!(before, tree(&s.path("dst")));
}

#[test]
fn checksum_size_only_and_ignore_times() {
    let s = Scratch::new();
    s.write("src/f", "same-size-1", 100);
    s.write("dst/f", "same-size-2", 100);
    // Same size, same mtime: the default compare sees them as equal.
    copy_mtime(&s.path("src/f"), &s.path("dst/f"));
    run(&["sync", &s.src(), &s.dst()]);
    assert_eq!(s.read("dst/f"), "same-size-2");
    run(&["sync", &s.src(), &s.dst(), "--size-only"]);
    assert_eq!(s.read("dst/f"), "same-size-2");
    let (code, _, _) = run(&["sync", &s.src(), &s.dst(), "--checksum"]);
    assert_eq!(code, 0);
    assert_eq!(s.read("dst/f"), "same-size-1");
    // --ignore-times transfers even identical files.
    let (_, _, err) = run(&["sync", &s.src(), &s.dst(), "-I", "-v"]);
    assert!(err.contains("f: Copied (replaced existing)"), "{err}");
}

#[test]
fn update_skips_newer_destination_files() {
    let s = Scratch::new();
    s.write("src/f", "source", 1000);
    s.write("dst/f", "newer destination", 10);
    let (code, _, _) = run(&["copy", &s.src(), &s.dst(), "--update"]);
    assert_eq!(code, 0);
    assert_eq!(s.read("dst/f"), "newer destination");
    run(&["copy", &s.src(), &s.dst()]);
    assert_eq!(s.read("dst/f"), "source");
}

#[test]
fn ignore_existing_and_ignore_size() {
    let s = Scratch::new();
    s.write("src/f", "new content", 10);
    s.write("dst/f", "old", 1000);
    run(&["copy", &s.src(), &s.dst(), "--ignore-existing"]);
    assert_eq!(s.read("dst/f"), "old");
    s.write("dst/g", "x", 10);
    s.write("src/g", "longer", 10);
    copy_mtime(&s.path("src/g"), &s.path("dst/g"));
    run(&["copy", &s.src(), &s.dst(), "--ignore-size"]);
    assert_eq!(
        s.read("dst/g"),
        "x",
        "--ignore-size with equal mtimes keeps the file"
    );
}

#[test]
fn immutable_refuses_to_modify_with_exit_6() {
    let s = Scratch::new();
    s.write("src/f", "new", 10);
    s.write("dst/f", "old content", 1000);
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--immutable"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("immutable file modified"), "{err}");
    // As rclone: the same files would refuse again, so the run is not retried.
    assert!(
        err.contains("Can't retry any of the errors - not attempting retries"),
        "{err}"
    );
    assert!(!err.contains("Attempt 1/3"), "{err}");
    assert_eq!(
        err.matches("ERROR : f: Source and destination exist")
            .count(),
        1,
        "{err}"
    );
    assert_eq!(s.read("dst/f"), "old content");
}

#[test]
fn single_file_source_copies_into_destination_dir() {
    let s = basic();
    s.write("dst/keep.txt", "k", 10);
    let file = s.path("src/a.txt").to_string_lossy().into_owned();
    let (code, _, err) = run(&["sync", &file, &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("dst/a.txt"), "alpha");
    assert!(
        s.exists("dst/keep.txt"),
        "a single-file sync deletes nothing else"
    );
    assert!(!s.exists("dst/dir"));
}

#[test]
fn move_moves_and_deletes_empty_source_dirs() {
    let s = basic();
    let (code, _, err) = run(&["move", &s.src(), &s.dst(), "--delete-empty-src-dirs", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("dst/dir/sub/c.txt"), "charlie");
    assert!(
        !s.exists("src/a.txt") && !s.exists("src/dir"),
        "source emptied"
    );
    assert!(
        !s.exists("src"),
        "the emptied source root goes too, as in rclone"
    );
}

#[test]
fn move_deletes_source_copies_already_at_destination() {
    let s = basic();
    run(&["copy", &s.src(), &s.dst()]);
    let (code, _, _) = run(&["move", &s.src(), &s.dst()]);
    assert_eq!(code, 0);
    assert!(!s.exists("src/a.txt"));
    assert_eq!(s.read("dst/a.txt"), "alpha");
}

/// A move deletes each source file it finds already at the destination; those deletes
/// count against `--max-delete` as rclone counts them: one goes, the rest stay, exit 7.
/// A file moved by renaming deletes nothing and still moves.
#[test]
fn max_delete_limits_a_moves_source_deletes_as_rclone() {
    let setup = |s: &Scratch| {
        for i in 1..=4 {
            s.write(&format!("src/f{i}"), &format!("f{i}"), 100);
        }
        for i in 1..=3 {
            s.write(&format!("dst/f{i}"), &format!("f{i}"), 100);
        }
    };
    let args = ["move", "src", "dst", "--max-delete", "1"];
    let Some(((code, err, ours), (rcode, rerr, theirs))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((code, rcode), (7, 7), "ferry: {err}\nrclone: {rerr}");
    assert!(err.contains("--max-delete threshold reached"), "{err}");
    for s in [&ours, &theirs] {
        let kept = (1..=3).filter(|i| s.exists(&format!("src/f{i}"))).count();
        assert_eq!(kept, 2, "one source delete fits the budget");
        assert!(!s.exists("src/f4") && s.exists("dst/f4"));
    }
}

#[test]
fn create_empty_src_dirs() {
    let s = basic();
    std::fs::create_dir_all(s.path("src/empty/nested")).unwrap();
    run(&["sync", &s.src(), &s.dst()]);
    assert!(
        !s.exists("dst/empty"),
        "empty dirs are not created by default"
    );
    run(&["sync", &s.src(), &s.dst(), "--create-empty-src-dirs"]);
    assert!(s.path("dst/empty/nested").is_dir());
}

#[test]
fn directory_mtimes_follow_the_source() {
    let s = basic();
    set_age(&s.path("src/dir"), 5000);
    run(&["sync", &s.src(), &s.dst()]);
    assert_eq!(mtime(&s.path("src/dir")), mtime(&s.path("dst/dir")));
}

#[test]
fn delete_modes_all_end_identical() {
    for mode in ["--delete-before", "--delete-during", "--delete-after"] {
        let s = basic();
        s.write("dst/gone.txt", "x", 10);
        let (code, _, err) = run(&["sync", &s.src(), &s.dst(), mode]);
        assert_eq!(code, 0, "{mode}: {err}");
        assert_same_tree(&s.path("src"), &s.path("dst"));
    }
    let (code, _, _) = run(&["sync", "a", "b", "--delete-before", "--delete-during"]);
    assert_eq!(
        code, 1,
        "conflicting delete modes are an error, as in rclone"
    );
}

#[test]
fn max_delete_stops_deleting_with_exit_7() {
    let s = basic();
    for i in 0..5 {
        s.write(&format!("dst/extra{i}"), "x", 10);
    }
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--max-delete", "2"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("--max-delete"), "{err}");
    let left = (0..5)
        .filter(|i| s.exists(&format!("dst/extra{i}")))
        .count();
    assert_eq!(left, 3, "exactly 2 deletes happen");
    assert_eq!(s.read("dst/a.txt"), "alpha", "transfers still happen");
}

#[test]
fn max_delete_size_stops_at_the_byte_budget_with_exit_7() {
    let s = basic();
    // 600 bytes each: a 1 KiB budget (a bare number is KiB, as in rclone) allows one.
    for i in 0..3 {
        s.write(&format!("dst/extra{i}"), &"x".repeat(600), 10);
    }
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--max-delete-size", "1"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("--max-delete-size threshold reached"), "{err}");
    let left = (0..3)
        .filter(|i| s.exists(&format!("dst/extra{i}")))
        .count();
    assert_eq!(left, 2, "exactly one delete fits: {err}");
    assert_eq!(s.read("dst/a.txt"), "alpha", "transfers still happen");
    // Within the budget, the sync completes.
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--max-delete-size", "2K"]);
    assert_eq!(code, 0, "{err}");
    assert_same_tree(&s.path("src"), &s.path("dst"));
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--max-delete-size", "lots"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn no_check_dest_copies_everything_without_listing_and_refuses_sync() {
    let s = basic();
    s.write("dst/a.txt", "stale", 100);
    s.write("dst/extra", "x", 10);
    // Identical already: sent anyway, since the destination is never looked at.
    s.write("dst/dir/b.txt", "bravo", 100);
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--no-check-dest"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("can't use --no-check-dest with sync: use copy instead"),
        "{err}"
    );
    assert_eq!(
        s.read("dst/a.txt"),
        "stale",
        "sync refused before doing anything"
    );
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--no-check-dest", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("dst/a.txt"), "alpha");
    assert!(s.exists("dst/extra"), "copy never deletes");
    assert!(err.contains("dir/b.txt: Copied (new)"), "{err}");
    assert_eq!(err.matches("Copied (new)").count(), 3, "{err}");
}

/// src: a.txt, dir/b.txt, dir/sub/c.txt; prev: an identical a.txt, a different dir/b.txt.
fn with_previous_backup() -> Scratch {
    let s = basic();
    s.write("prev/a.txt", "alpha", 100);
    s.write("prev/dir/b.txt", "BRAVO", 100);
    s.write("dst/stale", "x", 10);
    s
}

#[test]
fn compare_dest_skips_files_held_identically_there() {
    let s = with_previous_backup();
    let prev = s.path("prev").to_string_lossy().into_owned();
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--compare-dest", &prev, "-vv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !s.exists("dst/a.txt"),
        "identical in --compare-dest: not sent"
    );
    assert!(
        err.contains("a.txt: Destination found in --compare-dest, skipping"),
        "{err}"
    );
    assert_eq!(s.read("dst/dir/b.txt"), "bravo", "different there: sent");
    assert_eq!(s.read("dst/dir/sub/c.txt"), "charlie", "absent there: sent");
    assert!(!s.exists("dst/stale"), "sync still deletes");
    // A move spares the source too, as rclone does: deleted where the destination had
    // another version of the file, kept where it had none.
    s.write("src/d.txt", "delta", 100);
    s.write("prev/d.txt", "delta", 100);
    s.write("moved/d.txt", "older delta", 100);
    let moved = s.path("moved").to_string_lossy().into_owned();
    let (code, _, err) = run(&["move", &s.src(), &moved, "--compare-dest", &prev]);
    assert_eq!(code, 0, "{err}");
    assert!(!s.exists("src/d.txt"), "{err}");
    assert_eq!(s.read("moved/d.txt"), "older delta");
    assert!(s.exists("src/a.txt") && !s.exists("moved/a.txt"), "{err}");
    assert_eq!(s.read("moved/dir/b.txt"), "bravo");
}

/// --copy-dest copies on the server; the local disk can't, so rclone refuses it there
/// (a fatal error, exit 7) before anything moves, and so does ferry. (The S3 tests copy
/// from there.)
#[test]
fn copy_dest_is_refused_where_the_destination_cannot_copy_server_side() {
    let s = with_previous_backup();
    let prev = s.path("prev").to_string_lossy().into_owned();
    for verb in ["sync", "copy"] {
        let (code, _, err) = run(&[verb, &s.src(), &s.dst(), "--copy-dest", &prev]);
        assert_eq!(code, 7, "{err}");
        assert!(
            err.contains(
                "can't use --copy-dest on a remote which doesn't support server side copy"
            ),
            "{err}"
        );
        assert!(!s.exists("dst/a.txt") && s.exists("dst/stale"), "{err}");
    }
    // Both at once is a usage error, as the two answer the same question differently.
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "--copy-dest",
        &prev,
        "--compare-dest",
        &prev,
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn no_deletes_when_anything_failed() {
    let s = basic();
    s.write("dst/extra.txt", "x", 10);
    s.write("src/unreadable", "secret", 10);
    let p = s.path("src/unreadable");
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        eprintln!(
            "running as a user who can read mode-000 files (root); using a directory instead"
        );
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        std::fs::remove_file(&p).unwrap();
        // A file in the destination where the source has a directory is an error too.
        std::fs::create_dir_all(s.path("src/clash")).unwrap();
        s.write("src/clash/f", "f", 10);
        s.write("dst/clash", "file", 10);
    }
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--retries", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("not deleting files as there were IO errors"),
        "{err}"
    );
    assert!(s.exists("dst/extra.txt"));
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "--retries",
        "1",
        "--ignore-errors",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(!s.exists("dst/extra.txt"), "--ignore-errors deletes anyway");
}

#[test]
fn backup_dir_keeps_replaced_and_deleted_files() {
    let s = basic();
    s.write("dst/a.txt", "old alpha", 1000);
    s.write("dst/gone.txt", "gone", 1000);
    let backup = s.path("backup").to_string_lossy().into_owned();
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "--backup-dir",
        &backup,
        "--suffix",
        ".bak",
        "-v",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("backup/a.txt.bak"), "old alpha");
    assert_eq!(s.read("backup/gone.txt.bak"), "gone");
    assert_same_tree(&s.path("src"), &s.path("dst"));
}

#[test]
fn suffix_keep_extension_without_backup_dir() {
    let s = basic();
    s.write("dst/a.txt", "old alpha", 1000);
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "--suffix",
        "-old",
        "--suffix-keep-extension",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("dst/a-old.txt"), "old alpha");
    assert_eq!(s.read("dst/a.txt"), "alpha");
}

/// A `..` in the path leads out of the destination: `dst/../bk` lies beside it, as
/// rclone reads it, and is no overlap.
#[test]
fn backup_dir_beside_the_destination_through_dot_dot() {
    let s = basic();
    s.write("dst/old.txt", "old", 1000);
    let beside = s.path("dst/../bk").to_string_lossy().into_owned();
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--backup-dir", &beside]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("bk/old.txt"), "old");
    assert!(!s.exists("dst/old.txt"), "{err}");
    // And `src/../dst/bk` is still inside the destination.
    let inside = s.path("src/../dst/bk").to_string_lossy().into_owned();
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--backup-dir", &inside]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("mustn't overlap"), "{err}");
}

#[test]
fn backup_dir_inside_destination_is_fatal() {
    let s = basic();
    let inside = s.path("dst/bk").to_string_lossy().into_owned();
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--backup-dir", &inside]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("mustn't overlap"), "{err}");
    // Excluded by a filter, it is allowed.
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "--backup-dir",
        &inside,
        "--exclude",
        "/bk/**",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn overlapping_paths_are_fatal() {
    let s = basic();
    let inner = s.path("src/dir").to_string_lossy().into_owned();
    let (code, _, err) = run(&["sync", &s.src(), &inner]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("overlapping"), "{err}");
    let (code, _, _) = run(&["sync", &s.src(), &s.src()]);
    assert_eq!(code, 7);
    let (code, _, err) = run(&["sync", &s.src(), &inner, "--exclude", "/dir/**"]);
    assert_eq!(
        code, 0,
        "excluded destination inside the source is allowed: {err}"
    );
}

#[test]
fn missing_source_is_exit_3_but_a_move_into_nothing_says_1() {
    let s = Scratch::new();
    let missing = s.path("nope").to_string_lossy().into_owned();
    for cmd in ["sync", "copy", "check"] {
        let (code, _, err) = run(&[cmd, &missing, &s.dst()]);
        assert_eq!(code, 3, "{cmd}: {err}");
        assert!(err.contains("directory not found"), "{err}");
    }
    // rclone's lines: the root at ERROR, so -q still says what failed.
    for quiet in [false, true] {
        let mut args = vec!["copy", "nope", "dst"];
        if quiet {
            args.push("-q");
        }
        let (code, _, err) = run_in(s.dir.path(), &args);
        assert_eq!(code, 3, "{err}");
        let mut want = vec![
            "ERROR: Local file system at nope: error reading source root directory: directory not found"
                .to_owned(),
        ];
        if !quiet {
            want.push("NOTICE: Failed to copy: directory not found".to_owned());
        }
        let got: Vec<String> = log_messages(&err)
            .into_iter()
            .map(|l| {
                // ferry names the root by its full path.
                let at = s.dir.path().join("nope");
                l.replace(&at.to_string_lossy().into_owned(), "nope")
            })
            .collect();
        assert_eq!(got, want, "{err}");
    }
    let (code, _, _) = run(&["move", &missing, &s.dst()]);
    assert_eq!(code, 1);
    assert!(!s.exists("dst"), "a failed run creates no destination");
    // Into a destination that exists, rclone lists the source instead of renaming it,
    // and says 3, as the other commands do.
    std::fs::create_dir(s.path("dst")).unwrap();
    let (code, _, err) = run(&["move", &missing, &s.dst()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("directory not found"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["sync", "only-one-arg"]).0, 2);
    assert_eq!(run(&["sync", "a", "b", "--no-such-flag"]).0, 2);
    assert_eq!(run(&["sync", "a", "b", "--transfers", "zero"]).0, 2);
    let (code, _, err) = run(&["sync", "a", "b", "--max-transfer", "12Q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-transfer"), "{err}");
    assert_eq!(run(&["bogus-command"]).0, 2);
    assert_eq!(run(&["--help"]).0, 0);
    assert_eq!(run(&["sync", "--help"]).0, 0);
}

#[test]
fn rclone_tuning_flags_are_accepted_and_checked() {
    let s = Scratch::new();
    s.write("src/d/f", "data", 100);
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "--fast-list",
        "--no-traverse",
        "--check-first",
        "--order-by",
        "size,desc",
        "--buffer-size",
        "16M",
        "--use-mmap",
        "--timeout",
        "5m",
        "--contimeout",
        "60s",
        "--stats-log-level",
        "NOTICE",
        "--stats-unit",
        "bits",
        "--user-agent",
        "x",
        "--no-gzip-encoding",
        "--max-backlog",
        "100",
        "--multi-thread-write-buffer-size",
        "1M",
        "--server-side-across-configs",
        "--list-cutoff",
        "1000",
        "--streaming-upload-cutoff",
        "100Ki",
        "--no-console",
        "--color",
        "never",
        "--temp-dir",
        "/nonexistent-ferry-temp",
        "-vv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no effect here: --no-traverse, --order-by"),
        "{err}"
    );
    assert!(
        err.contains("--max-backlog, --multi-thread-write-buffer-size, --server-side-across-configs, --list-cutoff, --streaming-upload-cutoff, --no-console, --color"),
        "{err}"
    );
    assert_eq!(s.read("dst/d/f"), "data");
    for bad in [
        ["--order-by", "colour"],
        ["--buffer-size", "12Q"],
        ["--stats-unit", "nibbles"],
        ["--max-backlog", "many"],
        ["--color", "sometimes"],
        ["--multi-thread-write-buffer-size", "1Q"],
    ] {
        let (code, _, err) = run(&["sync", &s.src(), &s.dst(), bad[0], bad[1]]);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains(bad[0]), "{err}");
    }
}

#[test]
fn no_update_dir_modtime_leaves_directory_times_alone() {
    let s = Scratch::new();
    s.write("src/d/f", "data", 100);
    set_age(&s.path("src/d"), 86_400 * 10);
    run(&["copy", &s.src(), &s.dst(), "--no-update-dir-modtime"]);
    let fresh = std::time::SystemTime::now()
        .duration_since(mtime(&s.path("dst/d")))
        .unwrap_or_default();
    assert!(
        fresh < std::time::Duration::from_secs(3600),
        "dir time was set: {fresh:?} old"
    );
    run(&["copy", &s.src(), &s.dst()]);
    assert_eq!(mtime(&s.path("dst/d")), mtime(&s.path("src/d")));
}

#[test]
fn max_transfer_stops_with_exit_8() {
    let s = Scratch::new();
    for i in 0..6 {
        s.write(&format!("src/f{i}"), &"x".repeat(4096), 10);
    }
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "--max-transfer",
        "5K",
        "--cutoff-mode",
        "cautious",
        "--transfers",
        "1",
    ]);
    assert_eq!(code, 8, "{err}");
    let copied = (0..6).filter(|i| s.exists(&format!("dst/f{i}"))).count();
    assert_eq!(
        copied, 1,
        "cautious mode starts no transfer that would go over"
    );
    assert!(err.contains("max transfer limit reached"), "{err}");
}

#[test]
fn max_transfer_hard_cuts_mid_file_and_soft_finishes_running_ones() {
    let s = Scratch::new();
    for i in 0..3 {
        s.write(&format!("src/f{i}"), &"h".repeat(64 * 1024), 10);
    }
    let args = ["--max-transfer", "100K", "--transfers", "1"];
    let (code, _, err) = run(&[&["copy", &s.src(), &s.dst()][..], &args].concat());
    assert_eq!(code, 8, "{err}");
    assert_eq!(
        tree(&s.path("dst")).len(),
        1,
        "hard: the second file is cut off, not kept"
    );
    assert!(
        std::fs::read_dir(s.path("dst")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")),
        "no partial file is left behind"
    );
    std::fs::remove_dir_all(s.path("dst")).unwrap();
    let (code, _, err) = run(&[
        &["copy", &s.src(), &s.dst(), "--cutoff-mode", "soft"][..],
        &args,
    ]
    .concat());
    assert_eq!(code, 8, "{err}");
    assert_eq!(
        tree(&s.path("dst")).len(),
        2,
        "soft: the running transfer finishes, no new one starts"
    );
}

#[test]
fn error_on_no_transfer_exits_9() {
    let s = basic();
    run(&["sync", &s.src(), &s.dst()]);
    assert_eq!(run(&["sync", &s.src(), &s.dst()]).0, 0);
    let (code, _, err) = run(&["sync", &s.src(), &s.dst(), "--error-on-no-transfer"]);
    assert_eq!(code, 9, "{err}");
}

#[test]
fn max_duration_exits_10() {
    let s = Scratch::new();
    for i in 0..4 {
        s.write(&format!("src/f{i}"), &"y".repeat(64 * 1024), 10);
    }
    // 256 KiB at 64 KiB/s can't finish within 1s.
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "--bwlimit",
        "64K",
        "--max-duration",
        "1s",
        "--transfers",
        "1",
    ]);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("--max-duration"), "{err}");
}

#[test]
fn bwlimit_slows_transfers() {
    let s = Scratch::new();
    s.write("src/f", &"z".repeat(300 * 1024), 10);
    let start = std::time::Instant::now();
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--bwlimit", "200K"]);
    assert_eq!(code, 0, "{err}");
    // 300 KiB at 200 KiB/s: the first 200 KiB pass at once (the burst), the rest waits.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(400),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(s.read("dst/f").len(), 300 * 1024);
}

#[test]
fn bwlimit_file_slows_each_file() {
    let s = Scratch::new();
    s.write("src/f", &"z".repeat(300 * 1024), 10);
    let start = std::time::Instant::now();
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--bwlimit-file", "200K"]);
    assert_eq!(code, 0, "{err}");
    // 300 KiB at 200 KiB/s, from an empty bucket: about 1.5 s.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(1200),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(s.read("dst/f").len(), 300 * 1024);
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--bwlimit-file", "fast"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--bwlimit-file"), "{err}");
}

#[test]
fn interactive_without_a_terminal_refuses() {
    let s = basic();
    s.write("dst/extra", "x", 10);
    let out = ferry()
        .args(["sync", &s.src(), &s.dst(), "-i"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let (code, _, err) = split(out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("terminal"), "{err}");
    assert!(
        s.exists("dst/extra") && !s.exists("dst/a.txt"),
        "nothing was touched"
    );
}

#[test]
fn log_format_shapes_each_line_as_rclone_does() {
    let s = basic();
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "-v",
        "--log-format",
        "time,microseconds,pid",
    ]);
    assert_eq!(code, 0, "{err}");
    let line = err
        .lines()
        .find(|l| l.ends_with("a.txt: Copied (new)"))
        .unwrap_or_else(|| panic!("{err}"));
    // "15:04:05.000000 [pid] INFO  : a.txt: Copied (new)", no date.
    let (time, rest) = line.split_once(' ').unwrap();
    assert_eq!(time.len(), "15:04:05.000000".len(), "{line}");
    assert!(time.as_bytes()[8] == b'.' && !time.contains('/'), "{line}");
    assert!(
        rest.starts_with('[') && rest.contains("] INFO  : "),
        "{line}"
    );

    let (code, _, err) = run(&["lsf", &s.src(), "--log-format", "date,sometimes"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"sometimes\"") && err.contains("microseconds"),
        "{err}"
    );
}

/// `--log-file-max-size`: a log file already at its size is rotated before the run's
/// first line, as rclone's logger does (renamed with its time, gzipped with
/// `--log-file-compress`), and `--log-file-max-backups` keeps only the newest old ones.
#[test]
fn log_file_rotation() {
    let s = basic();
    let log = s.path("run.log");
    let old = "old line\n".repeat(120_000);
    std::fs::write(&log, &old).unwrap();
    // An older rotated file, which the one kept backup replaces.
    std::fs::write(s.path("run-2001-01-01T00-00-00.000.log.gz"), "stale").unwrap();
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "-v",
        "--log-file",
        log.to_str().unwrap(),
        "--log-file-max-size",
        "1M",
        "--log-file-max-backups",
        "1",
        "--log-file-compress",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("a.txt: Copied (new)") && !text.contains("old line"),
        "{text}"
    );
    let backups: Vec<std::path::PathBuf> = std::fs::read_dir(s.path(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("run-") && n.ends_with(".log.gz")
        })
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let mut back = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&backups[0]).unwrap()),
        &mut back,
    )
    .unwrap();
    assert_eq!(back, old);
}

#[test]
fn log_file_json_log_and_summary_file() {
    let s = basic();
    s.write("dst/extra", "x", 10);
    let log = s.path("run.log");
    let summary = s.path("summary.json");
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "-v",
        "--use-json-log",
        "--log-file",
        log.to_str().unwrap(),
        "--summary-file",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["msg"] == "a.txt: Copied (new)" && l["level"] == "info"),
        "{text}"
    );
    let stats = lines
        .iter()
        .find(|l| l.get("stats").is_some())
        .expect("final stats as one JSON object");
    assert_eq!(stats["stats"]["transfers"], 3);
    assert_eq!(stats["stats"]["deletes"], 1);
    let sum: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(sum["exit_code"], 0);
    assert_eq!(sum["files_transferred"], 3);
    assert_eq!(sum["counts"]["deleted"], 1);
    assert!(sum["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["path"] == "dir/b.txt" && a["action"] == "copied_new"));
}

#[test]
fn quiet_prints_nothing_on_success() {
    let s = basic();
    let (code, out, err) = run(&["sync", &s.src(), &s.dst(), "-q"]);
    assert_eq!(code, 0);
    assert!(out.is_empty() && err.is_empty(), "{out}{err}");
}

#[test]
fn stats_one_line_and_log_level() {
    let s = basic();
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "--log-level",
        "INFO",
        "--stats-one-line",
    ]);
    assert_eq!(code, 0);
    assert!(err.contains(", 100%,"), "{err}");
    assert!(!err.contains("Elapsed time"), "one line only: {err}");
    assert_eq!(run(&["copy", "a", "b", "--log-level", "LOUD"]).0, 2);
}

#[test]
fn version_and_help_commands() {
    let (code, out, _) = run(&["version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ferry v"), "{out}");
    let (code, out, _) = run(&["help", "sync"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--dry-run") && out.contains("--max-delete"),
        "{out}"
    );
}

#[test]
fn inplace_writes_directly() {
    let s = basic();
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--inplace"]);
    assert_eq!(code, 0, "{err}");
    assert_same_tree(&s.path("src"), &s.path("dst"));
}

#[test]
fn a_source_that_keeps_changing_is_a_temporary_error_exit_5() {
    // /proc files stat as 0 bytes but read as more: every attempt sees a size mismatch,
    // which rclone (and ferry) retry as temporary, and which ends the run with exit 5.
    let s = Scratch::new();
    std::os::unix::fs::symlink("/proc/cpuinfo", s.path("src/cpuinfo")).unwrap();
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "-L",
        "--retries",
        "2",
        "--low-level-retries",
        "2",
    ]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("sizes differ"), "{err}");
    assert!(err.contains("Attempt 1/2 failed"), "{err}");
    assert!(
        !s.exists("dst/cpuinfo"),
        "nothing is left under the final name"
    );
}

/// Runs the same command with ferry and with rclone, each in its own copy of the tree
/// `setup` builds (relative paths); returns both (exit code, stderr) and the two roots.
/// One tool's run: exit code, stderr, and its tree.
type Ran = (i32, String, Scratch);

fn side_by_side(setup: impl Fn(&Scratch), args: &[&str]) -> Option<(Ran, Ran)> {
    let bin = rclone()?;
    let (f, r) = (Scratch::new(), Scratch::new());
    setup(&f);
    setup(&r);
    let (fc, _, fe) = run_in(f.dir.path(), args);
    let (rc, _, re) = rclone_in(&bin, r.dir.path(), args);
    Some(((fc, fe, f), (rc, re, r)))
}

#[test]
fn update_with_an_older_identical_destination_only_fixes_its_time_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "same", 100);
        s.write("dst/a.txt", "same", 5000);
    };
    let Some(((fc, fe, f), (rc, re, r))) =
        side_by_side(setup, &["copy", "--update", "-v", "src", "dst"])
    else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    assert!(
        fe.contains("a.txt: Updated modification time in destination"),
        "{fe}"
    );
    assert!(
        re.contains("a.txt: Updated modification time in destination"),
        "{re}"
    );
    assert_eq!(mtime(&f.path("dst/a.txt")), mtime(&f.path("src/a.txt")));
    assert_eq!(mtime(&r.path("dst/a.txt")), mtime(&r.path("src/a.txt")));
}

#[test]
fn copy_onto_itself_is_a_no_op_with_exit_0_as_rclone() {
    let setup = |s: &Scratch| s.write("src/a.txt", "a", 100);
    let Some(((fc, fe, f), (rc, re, _))) = side_by_side(setup, &["copy", "src", "src"]) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    assert!(
        fe.contains("Nothing to do as source and destination are the same"),
        "{fe}"
    );
    assert!(
        re.contains("Nothing to do as source and destination are the same"),
        "{re}"
    );
    assert_eq!(f.read("src/a.txt"), "a");
    // sync still refuses to overlap.
    let (code, _, err) = run_in(f.dir.path(), &["sync", "src", "src"]);
    assert_eq!(code, 7, "{err}");
}

/// A source root that is a symbolic link to a directory is that directory, as rclone
/// follows it: copy and sync send its files (they once sent nothing and said so
/// successfully), and move moves them.
#[cfg(unix)]
#[test]
fn a_source_root_linked_to_a_directory_is_followed_as_rclone_does() {
    let setup = |s: &Scratch| {
        s.write("real/a.txt", "a", 100);
        s.write("real/sub/b.txt", "b", 100);
        s.write("dst/old.txt", "old", 100);
        std::os::unix::fs::symlink(s.path("real"), s.path("link")).unwrap();
    };
    for verb in ["copy", "sync", "move"] {
        let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &[verb, "link", "dst"]) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{verb}: {fe}\n{re}");
        for s in [&f, &r] {
            assert_eq!(s.read("dst/a.txt"), "a", "{verb}");
            assert_eq!(s.read("dst/sub/b.txt"), "b", "{verb}");
            assert_eq!(s.path("dst/old.txt").exists(), verb != "sync", "{verb}");
            assert_eq!(s.path("real/a.txt").exists(), verb != "move", "{verb}");
        }
    }
}

/// A move onto itself must not delete the only copy: the same tree (rclone: "Nothing to
/// do"), the same file by name (`moveto a a`), and the same file reached through a
/// symlinked directory, which no path comparison can see.
#[test]
fn moving_a_file_or_tree_onto_itself_never_deletes_it() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "a", 100);
        s.write("src/sub/b.txt", "b", 100);
    };
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &["move", "src", "src"]) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    assert!(
        fe.contains("Nothing to do as source and destination are the same"),
        "{fe}"
    );
    assert!(
        re.contains("Nothing to do as source and destination are the same"),
        "{re}"
    );
    for s in [&f, &r] {
        assert_eq!(s.read("src/a.txt"), "a");
        assert_eq!(s.read("src/sub/b.txt"), "b");
    }
    for args in [
        ["moveto", "src/a.txt", "src/a.txt"],
        ["moveto", "src/a.txt", "./src/a.txt"],
    ] {
        let (code, _, err) = run_in(f.dir.path(), &args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(f.read("src/a.txt"), "a", "{args:?} deleted the file");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(f.path("src"), f.path("link")).unwrap();
        let (code, _, err) = run_in(f.dir.path(), &["moveto", "src/a.txt", "link/a.txt"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            f.read("src/a.txt"),
            "a",
            "moveto through a symlinked dir deleted it"
        );
        let (code, _, err) = run_in(f.dir.path(), &["move", "src", "link"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            f.read("src/a.txt"),
            "a",
            "move through a symlinked dir deleted it"
        );
        assert_eq!(
            f.read("src/sub/b.txt"),
            "b",
            "move through a symlinked dir deleted it"
        );
    }
}

#[test]
fn two_delete_modes_are_an_error_exit_1_not_a_usage_error_as_rclone() {
    let setup = |s: &Scratch| s.write("src/a.txt", "a", 100);
    let args = ["sync", "--delete-before", "--delete-after", "src", "dst"];
    let Some(((fc, fe, f), (rc, re, _))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (1, 1), "{fe}\n{re}");
    assert!(
        fe.contains("Only one of --delete-before, --delete-during or --delete-after can be used"),
        "{fe}"
    );
    assert!(!f.exists("dst"), "nothing is done");
}

/// rclone's `move` to a destination that doesn't exist, with no filter, renames the whole
/// tree (its server-side directory move): the source is gone, empty directories and all.
/// Otherwise it moves file by file, and `--delete-empty-src-dirs` removes the emptied
/// directories below the source root but keeps the root.
#[test]
fn move_takes_the_source_root_along_only_when_it_moves_the_whole_tree_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/x/y/f.txt", "f", 100);
        std::fs::create_dir_all(s.path("src/empty")).unwrap();
        std::fs::create_dir_all(s.path("there")).unwrap();
    };
    let cases: [(&[&str], bool, bool); 5] = [
        (&["move", "src", "dst"], false, true),
        (
            &["move", "--delete-empty-src-dirs", "src", "dst"],
            false,
            true,
        ),
        (
            &["move", "--delete-empty-src-dirs", "src", "there"],
            true,
            false,
        ),
        (
            &[
                "move",
                "--delete-empty-src-dirs",
                "--exclude",
                "zzz",
                "src",
                "dst",
            ],
            true,
            false,
        ),
        (&["move", "src", "there"], true, false),
    ];
    for (args, root_stays, empty_moved) in cases {
        let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, args) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{args:?}: {fe}\n{re}");
        assert_eq!(
            r.exists("src"),
            root_stays,
            "{args:?}: rclone changed? {re}"
        );
        assert_eq!(f.exists("src"), root_stays, "{args:?}: {fe}");
        let to = args[args.len() - 1];
        assert_eq!(f.read(&format!("{to}/x/y/f.txt")), "f", "{args:?}");
        let empty = format!("{to}/empty");
        assert_eq!(
            r.exists(&empty),
            empty_moved,
            "{args:?}: rclone changed? {re}"
        );
        assert_eq!(f.exists(&empty), empty_moved, "{args:?}: {fe}");
    }
}

#[test]
fn a_run_that_writes_nothing_does_not_create_the_destination_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/a/b/f.txt", "f", 100);
        std::fs::create_dir_all(s.path("empty")).unwrap();
    };
    for args in [
        &["copy", "--max-depth", "1", "src", "dst"][..],
        &["sync", "empty", "dst"],
        &["copy", "--exclude", "*.txt", "src", "dst"],
    ] {
        let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, args) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{args:?}: {fe}\n{re}");
        assert_eq!(f.exists("dst"), r.exists("dst"), "{args:?}: {fe}");
        assert!(!f.exists("dst"), "{args:?}");
    }
    // Something written: the destination is made.
    let s = Scratch::new();
    s.write("src/a.txt", "a", 100);
    let (code, _, err) = run(&["copy", &s.src(), &s.path("new/deep").to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.read("new/deep/a.txt"), "a");
}

#[test]
fn delete_dry_run_names_each_size_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("d/a.txt", "12345", 100);
        s.write("d/sub/b.txt", "1", 100);
    };
    for args in [
        &["delete", "--dry-run", "d"][..],
        &["purge", "--dry-run", "d"],
        &["deletefile", "--dry-run", "d/a.txt"],
    ] {
        let Some(((fc, fe, f), (rc, re, _))) = side_by_side(setup, args) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{args:?}: {fe}\n{re}");
        let notices = |e: &str| -> Vec<String> {
            let mut v: Vec<String> = e
                .lines()
                .filter(|l| l.contains("Skipped delete"))
                .map(|l| l.split_once("NOTICE: ").map_or(l, |x| x.1).to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(notices(&fe), notices(&re), "{args:?}");
        assert!(
            fe.contains("a.txt: Skipped delete as --dry-run is set (size 5)"),
            "{fe}"
        );
        assert!(f.exists("d/a.txt"));
    }
}

#[test]
fn track_renames_moves_instead_of_sending_again_as_rclone() {
    use std::os::unix::fs::MetadataExt;
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "hello", 100);
        s.write("src/d/b.txt", "world", 100);
        s.write("src/same.txt", "same", 100);
        let (code, _, err) = run(&["sync", &s.src(), &s.dst()]);
        assert_eq!(code, 0, "{err}");
        std::fs::rename(s.path("src/a.txt"), s.path("src/renamed.txt")).unwrap();
        std::fs::rename(s.path("src/d"), s.path("src/e")).unwrap();
        s.write("src/new.txt", "new", 100);
    };
    let args = ["sync", "--track-renames", "-v", "src", "dst"];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    for log in [&fe, &re] {
        assert!(
            log.contains("a.txt: Moved (server-side) to: renamed.txt"),
            "{log}"
        );
        assert!(log.contains("e/b.txt: Renamed from \"d/b.txt\""), "{log}");
        assert!(!log.contains("renamed.txt: Copied"), "{log}");
    }
    assert_same_tree(&f.path("src"), &f.path("dst"));
    assert_eq!(
        tree(&f.path("dst")).keys().collect::<Vec<_>>(),
        tree(&r.path("dst")).keys().collect::<Vec<_>>()
    );
    // A rename keeps the file itself (same inode), not a fresh copy.
    let s = Scratch::new();
    s.write("src/a.txt", "hello", 100);
    run(&["sync", &s.src(), &s.dst()]);
    let inode = std::fs::metadata(s.path("dst/a.txt")).unwrap().ino();
    std::fs::rename(s.path("src/a.txt"), s.path("src/b.txt")).unwrap();
    for strategy in ["modtime", "leaf,modtime", "hash"] {
        let (code, _, err) = run(&[
            "sync",
            "--track-renames",
            "--track-renames-strategy",
            strategy,
            &s.src(),
            &s.dst(),
        ]);
        assert_eq!(code, 0, "{strategy}: {err}");
    }
    assert_eq!(std::fs::metadata(s.path("dst/b.txt")).unwrap().ino(), inode);
    // Only sync tracks renames; --delete-before can't.
    let (code, _, err) = run(&["copy", "--track-renames", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Ignoring --track-renames as it doesn't work with copy or move, only sync"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "sync",
        "--track-renames",
        "--delete-before",
        &s.src(),
        &s.dst(),
    ]);
    assert_eq!(code, 7, "{err}");
    let (code, _, _) = run(&[
        "sync",
        "--track-renames-strategy",
        "size",
        &s.src(),
        &s.dst(),
    ]);
    assert_eq!(code, 2);
}

/// A tree whose destination names match the source's only with case ignored.
fn case_differs(s: &Scratch) {
    s.write("src/Foo.txt", "same", 100);
    s.write("dst/foo.txt", "same", 100);
    copy_mtime(&s.path("src/Foo.txt"), &s.path("dst/foo.txt"));
    s.write("src/Dir/A.txt", "new content", 100);
    s.write("dst/dir/a.txt", "old", 100);
}

#[test]
fn fix_case_renames_destination_names_to_the_source_case_as_rclone() {
    let args = [
        "sync",
        "--ignore-case-sync",
        "--fix-case",
        "-v",
        "src",
        "dst",
    ];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(case_differs, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    for (log, s) in [(&fe, &f), (&re, &r)] {
        assert!(
            log.contains("foo.txt: Fixed case by renaming to: Foo.txt"),
            "{log}"
        );
        assert!(log.contains("dir: Fixed case by renaming to: Dir"), "{log}");
        assert_eq!(s.read("dst/Foo.txt"), "same");
        assert!(!s.exists("dst/foo.txt") && !s.exists("dst/dir"), "{log}");
        assert_eq!(s.read("dst/Dir/A.txt"), "new content");
    }
    // What lies below a renamed directory is matched under its new name: the old file is
    // renamed and updated, not left beside a new copy (rclone 1.75 leaves both here).
    assert!(!f.exists("dst/Dir/a.txt"), "{fe}");
    assert!(
        fe.contains("Dir/a.txt: Fixed case by renaming to: Dir/A.txt"),
        "{fe}"
    );
}

/// Without --fix-case the names matched with case ignored stay as the destination has
/// them: a changed file is written over the destination's own name, never beside it.
#[test]
fn ignore_case_sync_updates_the_matched_destination_name_as_rclone() {
    let args = ["sync", "--ignore-case-sync", "-v", "src", "dst"];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(case_differs, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    for (log, s) in [(&fe, &f), (&re, &r)] {
        assert_eq!(s.read("dst/foo.txt"), "same", "{log}");
        assert_eq!(s.read("dst/dir/a.txt"), "new content", "{log}");
        assert!(
            !s.exists("dst/Foo.txt") && !s.exists("dst/Dir"),
            "nothing under the source's case: {log}"
        );
    }
    assert!(fe.contains("dir/a.txt: Copied (replaced existing)"), "{fe}");
}

#[test]
fn fix_case_under_dry_run_renames_nothing() {
    let s = Scratch::new();
    case_differs(&s);
    let (code, _, err) = run_in(
        s.dir.path(),
        &[
            "sync",
            "--ignore-case-sync",
            "--fix-case",
            "-n",
            "src",
            "dst",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("foo.txt: Skipped move to Foo.txt as --dry-run is set (size 4)"),
        "{err}"
    );
    assert!(
        err.contains("dir: Skipped dirMove as --dry-run is set"),
        "{err}"
    );
    assert!(
        s.exists("dst/foo.txt") && s.exists("dst/dir/a.txt"),
        "{err}"
    );
    assert!(!s.exists("dst/Foo.txt") && !s.exists("dst/Dir"), "{err}");
}

#[test]
fn fix_case_leaves_an_immutable_destination_alone() {
    let s = Scratch::new();
    case_differs(&s);
    let (code, _, err) = run_in(
        s.dir.path(),
        &[
            "copy",
            "--ignore-case-sync",
            "--fix-case",
            "--immutable",
            "src",
            "dst",
        ],
    );
    assert!(!err.contains("Fixed case"), "{err}");
    assert!(
        s.exists("dst/foo.txt") && s.exists("dst/dir"),
        "{code}: {err}"
    );
}

/// A destination root that can't be made gives one error per file naming the directory
/// and why (the root's relative path is empty, so the message carries the full one), then
/// the refusal to delete; nothing else. /proc refuses directories even to root.
#[cfg(target_os = "linux")]
#[test]
fn an_unmakeable_destination_names_the_directory_once_per_file() {
    let s = basic();
    let (code, _, err) = run(&[
        "sync",
        "-v",
        "--retries",
        "1",
        &s.src(),
        "/proc/ferry-no-dir",
    ]);
    assert_eq!(code, 1, "{err}");
    let mkdir = "mkdir \"/proc/ferry-no-dir\" failed: No such file or directory (os error 2)";
    let mut want: Vec<String> = ["a.txt", "dir/b.txt", "dir/sub/c.txt"]
        .iter()
        .map(|n| format!("ERROR: {n}: Failed to copy: {mkdir}"))
        .collect();
    want.push(
        "ERROR: Local file system at /proc/ferry-no-dir: not deleting files as there were IO errors"
            .to_string(),
    );
    want.push(
        "NOTICE: Failed to sync with 4 errors: last error was: not deleting files as there were IO errors"
            .to_string(),
    );
    want.sort();
    assert_eq!(log_messages(&err), want, "{err}");
}

/// A destination under a file: the listing's error names the full path (the root's
/// relative one is empty), then the refusal to delete; nothing else.
#[cfg(unix)]
#[test]
fn a_destination_under_a_file_names_the_path_that_failed() {
    let s = basic();
    s.write("file", "x", 100);
    let dst = s.path("file/d");
    let (code, _, err) = run(&["sync", "--retries", "1", &s.src(), dst.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let shown = dst.display();
    assert_eq!(
        log_messages(&err),
        [
            format!("ERROR: Local file system at {shown}: not deleting files as there were IO errors"),
            format!("ERROR: error listing directory \"{shown}\": Not a directory (os error 20)"),
            "NOTICE: Failed to sync with 2 errors: last error was: not deleting files as there were IO errors".to_string(),
        ],
        "{err}"
    );
}

/// A destination whose parent can't be made fails each file, and the run exits 1 as
/// rclone's does: a missing place is a failed transfer, not the "file not found" exit (4)
/// of single-object commands.
#[cfg(target_os = "linux")]
#[test]
fn a_destination_that_cant_be_made_fails_with_exit_1_as_rclone() {
    let setup = |s: &Scratch| s.write("src/a.txt", "a", 100);
    let args = [
        "copy",
        "src",
        "/proc/ferry-cant-be-made/x",
        "--retries",
        "1",
    ];
    let Some(((fc, fe, _), (rc, re, _))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (1, 1), "ferry:\n{fe}\nrclone:\n{re}");
    assert!(fe.contains("a.txt: Failed to copy"), "{fe}");
}

/// `--backup-dir` with `--suffix` on one disk: the old files move server-side into the
/// backup, logged, counted and then copied anew, as rclone does.
/// rclone's split before extensions: a dot file is all extension, and an earlier
/// extension of a known type stays with the last (`a.js.gz` keeps `.js.gz`).
#[test]
fn suffix_keep_extension_splits_names_as_rclone() {
    let setup = |s: &Scratch| {
        for name in [".hidden", "a.js.gz", "v1.2.txt", "noext"] {
            s.write(&format!("src/{name}"), "new", 100);
            s.write(&format!("dst/{name}"), "old", 5000);
        }
    };
    let args = [
        "sync",
        "src",
        "dst",
        "--suffix",
        "-bak",
        "--suffix-keep-extension",
    ];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    let names = |s: &Scratch| {
        let mut n: Vec<String> = std::fs::read_dir(s.path("dst"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&f), names(&r));
    assert!(
        names(&f).contains(&"-bak.hidden".to_owned()),
        "{:?}",
        names(&f)
    );
    assert!(
        names(&f).contains(&"a-bak.js.gz".to_owned()),
        "{:?}",
        names(&f)
    );
}

#[test]
fn backups_are_server_side_moves_as_rclone_counts_them() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "new a", 100);
        s.write("dst/a.txt", "old", 5000);
        s.write("dst/gone.txt", "gone", 5000);
    };
    let args = [
        "sync",
        "src",
        "dst",
        "--backup-dir",
        "bk",
        "--suffix",
        ".old",
        "--suffix-keep-extension",
        "-v",
    ];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    let counts = |err: &str| {
        let wanted = ["Renamed:", "Server Side Moves:", "Deleted:"];
        err.lines()
            .filter(|l| wanted.iter().any(|w| l.starts_with(w)))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&fe), counts(&re), "ferry:\n{fe}\nrclone:\n{re}");
    assert!(counts(&fe).iter().any(|l| l.ends_with(" 2")), "{fe}");
    for line in [
        "a.txt: Moved (server-side) to: a.old.txt",
        "a.txt: Copied (new)",
        "gone.txt: Moved (server-side) to: gone.old.txt",
        "gone.txt: Moved into backup dir",
    ] {
        assert!(fe.contains(line), "{line} in {fe}");
        assert!(re.contains(line), "{line} in {re}");
    }
    for s in [&f, &r] {
        assert_eq!(s.read("bk/a.old.txt"), "old");
        assert_eq!(s.read("bk/gone.old.txt"), "gone");
        assert_eq!(s.read("dst/a.txt"), "new a");
    }
}

/// One named file is copied without a listing or a check in the stats (rclone's block has
/// no "Checks:" line then), and `copyto` to the same name logs no "to:".
#[test]
fn a_single_file_copy_reports_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "new a", 100);
        s.write("dst/a.txt", "old", 5000);
    };
    for args in [
        &["copyto", "src/a.txt", "dst/a.txt", "-v"][..],
        &["copy", "src/a.txt", "dst", "-v"],
        &["copyto", "src/a.txt", "dst/b.txt", "-v"],
    ] {
        let Some(((fc, fe, _), (rc, re, _))) = side_by_side(setup, args) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
        let shape = |err: &str| {
            err.lines()
                // The log lines without their "2026/12/06 00:56:06 " stamp.
                .map(|l| match l.as_bytes().first() {
                    Some(b'0'..=b'9') => l.get(20..).unwrap_or(l),
                    _ => l,
                })
                .filter(|l| l.contains(": Copied") || l.starts_with("Checks:"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            shape(&fe),
            shape(&re),
            "{args:?}\nferry:\n{fe}\nrclone:\n{re}"
        );
        assert!(!shape(&fe).is_empty(), "{fe}");
    }
}

/// A move that takes an existing file's place, with `--delete-empty-src-dirs`: the same
/// "Deleted" line and counts as rclone's (the replaced file, the removed directories).
#[test]
fn a_move_counts_what_it_replaced_and_removed_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "new a", 100);
        s.write("src/sub/deep/c.txt", "c", 100);
        s.write("dst/a.txt", "old", 5000);
    };
    let args = ["move", "src", "dst", "--delete-empty-src-dirs", "-v"];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    let deleted = |err: &str| {
        err.lines()
            .find(|l| l.starts_with("Deleted:"))
            .map(str::to_owned)
    };
    assert_eq!(deleted(&fe), deleted(&re), "ferry:\n{fe}\nrclone:\n{re}");
    assert!(fe.contains("a.txt: Deleted"), "{fe}");
    for s in [&f, &r] {
        assert_eq!(s.read("dst/a.txt"), "new a");
        assert!(!s.path("src/sub").exists());
    }
}

/// The report files `--combined` and the rest, and `--dest-after`, of one run in `s`.
const REPORTS: [&str; 7] = [
    "combined",
    "differ",
    "missing-on-dst",
    "missing-on-src",
    "match",
    "error",
    "dest-after",
];

/// A way to run ferry or rclone: (exit code, stdout, stderr).
type Tool<'a> = &'a dyn Fn(&[&str]) -> (i32, String, String);

/// Runs `tool` (ferry, or rclone with its own args) over a fresh copy of one tree pair
/// with every report flag; each report's lines, sorted.
fn reports_of(tool: Tool<'_>, cmd: &str, extra: &[&str]) -> Vec<(String, Vec<String>)> {
    let s = Scratch::new();
    s.write("src/same", "same", 100);
    s.write("dst/same", "same", 100);
    s.write("src/diff", "a", 100);
    s.write("dst/diff", "bb", 100);
    s.write("src/d/new", "new", 100);
    s.write("dst/d/old", "old", 100);
    s.write("dst/gone/only", "only", 100);
    let out: Vec<String> = REPORTS
        .iter()
        .map(|r| s.path(&format!("{r}.txt")).display().to_string())
        .collect();
    let mut args = vec![cmd.to_string(), s.src(), s.dst()];
    for (r, file) in REPORTS.iter().zip(&out) {
        args.push(format!("--{r}"));
        args.push(file.clone());
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = tool(&args);
    assert_eq!(code, 0, "{args:?}: {err}");
    REPORTS
        .iter()
        .zip(&out)
        .map(|(r, file)| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            (r.to_string(), sorted_lines(&text))
        })
        .collect()
}

#[test]
fn sync_and_copy_reports_list_what_rclones_list() {
    let Some(bin) = rclone() else { return };
    let home = tempfile::tempdir().unwrap();
    let rclone = |args: &[&str]| rclone_in(&bin, home.path(), args);
    for (cmd, extra) in [
        ("sync", &[][..]),
        ("copy", &[][..]),
        ("sync", &["--dry-run"][..]),
        ("copy", &["--dry-run"][..]),
    ] {
        let ours = reports_of(&run, cmd, extra);
        let theirs = reports_of(&rclone, cmd, extra);
        assert_eq!(ours, theirs, "{cmd} {extra:?}");
    }
    // Spot checks, so a change on both sides can't pass unseen.
    let sync = reports_of(&run, "sync", &[]);
    let combined = &sync[0].1;
    for line in ["= same", "* diff", "+ d/new", "- d/old"] {
        assert!(combined.contains(&line.to_string()), "{combined:?}");
    }
    assert_eq!(sync[6].1, ["d/new", "diff", "same"]);
    // move reports as copy does. (rclone 1.75 also lists each file it matched, and so
    // deleted from the source, under --error and twice in --dest-after, though nothing
    // failed; ferry doesn't copy that.)
    let moved = reports_of(&run, "move", &[]);
    assert_eq!(moved, reports_of(&run, "copy", &[]));
    assert!(moved[5].1.is_empty(), "{moved:?}");
}

#[test]
fn an_unwritable_report_fails_before_anything_is_copied() {
    let s = Scratch::new();
    s.write("src/f", "data", 100);
    let (code, _, err) = run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "--combined",
        "/nonexistent-ferry-dir/report.txt",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("can't write report file /nonexistent-ferry-dir/report.txt"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!s.path("dst").exists());
}

#[test]
fn partial_suffix_names_the_temporary_file_and_is_checked() {
    let s = Scratch::new();
    // Big enough that the temporary file lives a while: the first write waits for a
    // full buffer (1 MiB), then the rest arrives at 1 MiB/s.
    s.write("src/f", &"z".repeat(3 << 20), 100);
    let mut child = ferry()
        .args(["copy", &s.src(), &s.dst(), "--partial-suffix", ".part"])
        .args(["--bwlimit", "1M"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The file is written under `.f.ferry-<tag><check>.part` until its rename.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let temp = loop {
        let names: Vec<String> = std::fs::read_dir(s.path("dst"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(n) = names.into_iter().find(|n| n.starts_with(".f.ferry-")) {
            break n;
        }
        assert!(std::time::Instant::now() < deadline, "no temporary file");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        temp.ends_with(".part") && !temp.ends_with(".partial"),
        "{temp}"
    );
    // The next run with that suffix knows the leftover as ferry's and removes it.
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--partial-suffix", ".part"]);
    assert_eq!(code, 0, "{err}");
    assert!(!s.path(&format!("dst/{temp}")).exists(), "{temp} left");
    assert_eq!(s.read("dst/f").len(), 3 << 20);
    // rclone's limit, and no suffix that leaves the directory.
    for (bad, why) in [
        (".12345678901234567", "not greater than 16 but got 18"),
        ("/../x", "slash"),
    ] {
        let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--partial-suffix", bad]);
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains(why), "{bad}: {err}");
    }
}

/// The directory lines of a sync, as rclone logs them: `--dry-run`'s notices that it
/// skipped making directories, setting their times and removing them; `-v`'s "Set
/// directory modification time", "using SetModTime" for a directory that was already
/// there and "using DirSetModTime" for a new one. Compared as sets: the order of the
/// removals and the times differs (ferry removes first, so a parent's time isn't
/// disturbed after it was set).
#[test]
fn directory_lines_of_a_sync_match_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "a", 100);
        s.write("src/sub/deep/b.txt", "b", 100);
        std::fs::create_dir_all(s.path("src/empty")).unwrap();
        s.write("src/kept/c.txt", "c", 100);
        s.write("dst/kept/c.txt", "c", 100);
        s.write("dst/old/o.txt", "o", 100);
        set_age(&s.path("src/kept"), 100);
        set_age(&s.path("dst/kept"), 9000);
    };
    // The message after the date and time. rclone's dry run with
    // --create-empty-src-dirs also names the root ("Local file system at dst: Skipped set
    // directory modification time"), though its real run leaves the root's time alone;
    // ferry names neither.
    let dir_lines = |err: &str| -> std::collections::BTreeSet<String> {
        err.lines()
            .filter(|l| l.contains("director") && !l.contains("Local file system at"))
            .map(|l| l.get(20..).unwrap_or(l).to_owned())
            .collect()
    };
    for args in [
        &["sync", "--dry-run", "--create-empty-src-dirs", "src", "dst"][..],
        &["sync", "-v", "src", "dst"][..],
    ] {
        let Some(((fc, fe, _), (rc, re, _))) = side_by_side(setup, args) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
        assert_eq!(
            dir_lines(&fe),
            dir_lines(&re),
            "{args:?}\nferry: {fe}\nrclone: {re}"
        );
        assert!(!dir_lines(&fe).is_empty(), "{fe}");
    }
}

/// Whole sizes print without decimals, as rclone's (`1 MiB`, not `1.000 MiB`), in the
/// stats and in `size`; `--stats-unit bits` shows speeds in bits per second.
#[test]
fn whole_sizes_and_bit_rates_print_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/one", &"x".repeat(1024 * 1024), 100);
    };
    let Some(((fc, fe, f), (rc, re, _))) =
        side_by_side(setup, &["copy", "-v", "--stats-unit", "bits", "src", "dst"])
    else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    let sizes = |err: &str| -> String {
        let line = err
            .lines()
            .find(|l| l.starts_with("Transferred:") && l.contains("MiB"));
        let line = line.unwrap_or_else(|| panic!("no bytes line: {err}"));
        line.split(", ").next().unwrap().to_owned()
    };
    assert_eq!(sizes(&fe), sizes(&re));
    assert!(sizes(&fe).ends_with("1 MiB / 1 MiB"), "{fe}");
    let speed = fe
        .lines()
        .find(|l| l.starts_with("Transferred:") && l.contains("MiB"));
    assert!(speed.unwrap().contains("bit/s"), "{fe}");
    let (code, out, err) = run_in(f.dir.path(), &["size", "src"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Total size: 1 MiB (1048576 Byte)"), "{out}");
}

/// `--stats-log-level`: the stats come at that level, so NOTICE shows them without -v
/// and DEBUG hides them from -v, as in rclone.
#[test]
fn stats_log_level_decides_when_stats_show_as_rclone() {
    let setup = |s: &Scratch| s.write("src/a", "a", 100);
    for (args, shown) in [
        (
            &["copy", "--stats-log-level", "NOTICE", "src", "dst"][..],
            true,
        ),
        (
            &["copy", "-v", "--stats-log-level", "DEBUG", "src", "dst"][..],
            false,
        ),
    ] {
        let Some(((fc, fe, _), (rc, re, _))) = side_by_side(setup, args) else {
            return;
        };
        assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
        for err in [&fe, &re] {
            assert_eq!(err.contains("\nTransferred:"), shown, "{args:?}: {err}");
        }
        if shown {
            assert!(fe.contains("NOTICE: \nTransferred:"), "{fe}");
        }
    }
}

/// A move into a directory that exists: rclone tries its one rename first and says why it
/// moves file by file; the source's files are then deleted and counted as rclone counts.
#[test]
fn move_into_an_existing_directory_says_and_counts_as_rclone() {
    let setup = |s: &Scratch| {
        s.write("src/a.txt", "alpha", 100);
        s.write("src/d/b.txt", "beta", 100);
        s.write("dst/d/b.txt", "beta", 100);
    };
    let args = ["move", "src", "dst", "-v"];
    let Some(((fc, fe, f), (rc, re, r))) = side_by_side(setup, &args) else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{fe}\n{re}");
    // Whether rclone resets `d`'s time depends on when it reads it (the move changes the
    // source's `d` meanwhile): those lines are left out.
    let lines = |err: &str| {
        log_messages(err)
            .into_iter()
            .filter(|l| !l.contains("directory modification time"))
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&fe), lines(&re));
    assert!(
        fe.contains("Server side directory move failed - fallback to file moves"),
        "{fe}"
    );
    let counts = |err: &str| {
        err.lines()
            .filter(|l| l.starts_with("Deleted:") || l.starts_with("Renamed:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&fe), counts(&re), "ferry:\n{fe}\nrclone:\n{re}");
    // The two scratch trees were written moments apart: names and bytes compared.
    let files = |s: &Scratch| -> Vec<(String, Vec<u8>)> {
        tree(&s.path("dst"))
            .into_iter()
            .map(|(k, (bytes, _))| (k, bytes))
            .collect()
    };
    assert_eq!(files(&f), files(&r));
    assert!(!f.exists("src/a.txt") && !r.exists("src/a.txt"));
}
