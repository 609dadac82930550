//! Only ferry's own temporary files are ever taken for leftovers, and only a run that
//! writes to a destination removes them there: a user's file that looks alike is data.

use std::time::{Duration, SystemTime};

use ferry_testbed::Testbed;

use super::common::{cloud, run, split, Scratch};

/// A name a user may well have: ferry's old pattern, no check tag.
const LOOKALIKE: &str = ".notes.ferry-deadbeef.partial";

#[test]
fn a_users_file_named_like_a_temp_file_is_never_deleted_or_hidden() {
    let sc = Scratch::new();
    sc.write(&format!("src/{LOOKALIKE}"), "my notes", 100);
    sc.write(&format!("dst/{LOOKALIKE}"), "other notes", 100);
    let (code, out, err) = run(&["ls", &sc.src()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(LOOKALIKE), "listed as the file it is: {out}");
    let (code, _, err) = run(&["sync", "--dry-run", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sc.read(&format!("dst/{LOOKALIKE}")), "other notes");
    let (code, _, err) = run(&["sync", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sc.read(&format!("src/{LOOKALIKE}")), "my notes");
    assert_eq!(sc.read(&format!("dst/{LOOKALIKE}")), "my notes");
    // Copied once, then left alone: a second run has nothing to do.
    let (code, _, err) = run(&["sync", "-v", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Copied"), "{err}");
    assert!(sc.exists(&format!("dst/{LOOKALIKE}")));
}

#[test]
fn only_a_writing_run_removes_ferrys_own_leftovers_at_its_destination() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 100);
    let leftover = ferry_core::partial::temp_name("f.txt");
    sc.write(&format!("dst/{leftover}"), "half", 100);
    sc.write(&format!("src/{leftover}"), "half", 100);
    // Read-only commands and dry runs hide it and leave it.
    for args in [
        &["ls", &sc.dst()][..],
        &["lsf", "-R", &sc.dst()],
        &["sync", "--dry-run", &sc.src(), &sc.dst()],
        &["check", &sc.src(), &sc.dst()],
    ] {
        let (_, out, _) = run(args);
        assert!(!out.contains(".partial"), "{args:?}: {out}");
        assert!(sc.exists(&format!("dst/{leftover}")), "{args:?} removed it");
    }
    // A run that writes there removes its own kind of leftover, and never the
    // source's (a run does not write to its source), nor copies it.
    let (code, _, err) = run(&["copy", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(!sc.exists(&format!("dst/{leftover}")), "{err}");
    assert!(sc.exists(&format!("src/{leftover}")), "{err}");
    assert_eq!(sc.read("dst/f.txt"), "data");
}

#[test]
fn a_users_file_named_like_a_temp_file_is_never_deleted_on_sftp() {
    let Some(s) = Testbed::sftp() else { return };
    let dir = std::path::Path::new(&s.dir);
    let user = dir.join(LOOKALIKE);
    std::fs::write(&user, "my notes").unwrap();
    let leftover = dir.join(ferry_core::partial::temp_name("x"));
    std::fs::write(&leftover, "half").unwrap();
    // Both old enough to count as stale leftovers.
    let old = SystemTime::now() - Duration::from_secs(3 * 3600);
    for p in [&user, &leftover] {
        filetime::set_file_mtime(p, filetime::FileTime::from_system_time(old)).unwrap();
    }
    let remote = format!("{}{}", s.rclone_remote(), s.dir);
    let (code, out, err) = split(cloud().args(["ls", &remote]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(LOOKALIKE), "{out}");
    assert!(!out.contains(".x.ferry-"), "{out}");
    assert!(leftover.exists(), "a read-only listing removed a leftover");
    let sc = Scratch::new();
    sc.write("src/y.txt", "y", 100);
    let (code, _, err) = split(cloud().args(["copy", &sc.src(), &remote]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(user.exists(), "a user's file was deleted: {err}");
    assert!(
        !leftover.exists(),
        "the writing run kept a stale leftover: {err}"
    );
}
