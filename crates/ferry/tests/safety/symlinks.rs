//! Symbolic links below a root (planted by a remote under `-l`, or made by anyone):
//! no write, mkdir, rename, delete or time change may ever go through one, whatever the
//! command or flags. The root itself, named by the user, may be a link.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::common::*;

/// A directory outside every tree a test names, and how it looked before the run.
struct Outside {
    path: PathBuf,
    files: BTreeMap<String, (Vec<u8>, SystemTime)>,
    entries: Vec<String>,
    mtime: SystemTime,
}

impl Outside {
    /// Makes `s`'s `outside` directory holding `files`, its times an hour old.
    fn new(s: &Scratch, files: &[&str]) -> Outside {
        let path = s.path("outside");
        std::fs::create_dir_all(&path).unwrap();
        for f in files {
            if let Some(dir) = f.strip_suffix('/') {
                std::fs::create_dir_all(path.join(dir)).unwrap();
            } else {
                write_file(&path.join(f), format!("outside {f}").as_bytes(), 3600);
            }
        }
        set_age(&path, 3600);
        Outside {
            files: tree(&path),
            entries: entries(&path),
            mtime: mtime(&path),
            path,
        }
    }

    /// Links `at` to this directory.
    fn link_from(&self, at: &Path) {
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        symlink(&self.path, at).unwrap();
    }

    #[track_caller]
    fn assert_untouched(&self, what: &str) {
        assert_eq!(
            entries(&self.path),
            self.entries,
            "{what}: entries appeared or went outside the tree"
        );
        assert_eq!(
            tree(&self.path),
            self.files,
            "{what}: a file outside the tree changed"
        );
        assert_eq!(
            mtime(&self.path),
            self.mtime,
            "{what}: the outside directory's mtime changed"
        );
    }
}

/// Every name below `dir`, directories included, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The run failed (exit 1, as rclone) and said which link it refused to go through.
#[track_caller]
fn assert_refused(what: &str, (code, _, err): &(i32, String, String), link: &str) {
    assert_eq!(code, &1, "{what} must fail\n{err}");
    let needle = format!("through the symbolic link \"{link}\"");
    assert!(
        err.contains(&needle) && err.contains("(path escapes from parent)"),
        "{what}: the refusal must name the link {link:?}\n{err}"
    );
}

#[test]
fn never_writes_through_a_symlink_below_the_destination() {
    for flags in [
        &["copy"][..],
        &["copy", "-l"],
        &["copy", "-L"],
        &["copy", "--inplace"],
        &["sync"],
        &["sync", "-l"],
        &["move"],
    ] {
        let what = flags.join(" ");
        let s = Scratch::new();
        let outside = Outside::new(&s, &["kept.txt"]);
        s.write("src/evil/victim.txt", "from the remote", 10);
        s.write("src/evil/deeper/more.txt", "from the remote", 10);
        s.write("src/fine.txt", "fine", 10);
        s.write("dst/extra.txt", "only in dst", 10);
        outside.link_from(&s.path("dst/evil"));
        let mut args = flags.to_vec();
        let (src, dst) = (s.src(), s.dst());
        args.extend([src.as_str(), dst.as_str()]);
        let out = run(&args);
        assert_refused(&what, &out, "evil");
        outside.assert_untouched(&what);
        assert!(
            !out.2.contains("Attempt 1/") && out.2.contains("not attempting retries"),
            "{what}: a refusal is permanent, the run is not retried\n{}",
            out.2
        );
        assert!(
            std::fs::symlink_metadata(s.path("dst/evil"))
                .unwrap()
                .is_symlink(),
            "{what}: the link stays as it was"
        );
        assert_eq!(
            s.read("dst/fine.txt"),
            "fine",
            "{what}: other files still go"
        );
        assert!(
            s.exists("dst/extra.txt"),
            "{what}: a run with errors deletes nothing"
        );
        if what == "move" {
            assert!(
                s.exists("src/evil/victim.txt"),
                "move: a file that was not moved stays in the source"
            );
        }
    }
}

#[test]
fn never_follows_a_link_a_remote_planted_with_links_flag() {
    // The two steps: the remote first holds `evil.rclonelink`, written with -l as
    // the link dst/evil -> outside; later it holds evil/victim.txt instead.
    let s = Scratch::new();
    let outside = Outside::new(&s, &[]);
    s.write("src/evil.rclonelink", outside.path.to_str().unwrap(), 100);
    let (code, _, err) = run(&["copy", "-l", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_link(s.path("dst/evil")).unwrap(),
        outside.path
    );
    std::fs::remove_file(s.path("src/evil.rclonelink")).unwrap();
    s.write("src/evil/victim.txt", "written through the link", 10);
    for links in [false, true] {
        let mut args = vec!["copy", "-v"];
        if links {
            args.push("-l");
        }
        let (src, dst) = (s.src(), s.dst());
        args.extend([src.as_str(), dst.as_str()]);
        let out = run(&args);
        let what = args[..args.len() - 2].join(" ");
        assert_refused(&what, &out, "evil");
        outside.assert_untouched(&what);
    }
}

#[test]
fn never_sets_a_time_through_a_final_symlink() {
    // -L sees dst/f.txt as the file it points to; an mtime-only update must not reach it.
    let s = Scratch::new();
    let outside = Outside::new(&s, &["t.txt"]);
    s.write("src/f.txt", "outside t.txt", 10);
    std::fs::create_dir(s.path("dst")).unwrap();
    symlink(outside.path.join("t.txt"), s.path("dst/f.txt")).unwrap();
    let (code, _, err) = run(&["copy", "-L", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    outside.assert_untouched("copy -L over a link to an identical file");

    // -l: a link whose recorded time changed gets the new time itself; its target keeps its own.
    let s = Scratch::new();
    let outside = Outside::new(&s, &["t.txt"]);
    let target = outside.path.join("t.txt");
    s.write("src/l.rclonelink", target.to_str().unwrap(), 10);
    std::fs::create_dir(s.path("dst")).unwrap();
    symlink(&target, s.path("dst/l")).unwrap();
    let (code, _, err) = run(&["sync", "-l", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    outside.assert_untouched("sync -l updating a link's time");
    let link_time = std::fs::symlink_metadata(s.path("dst/l"))
        .unwrap()
        .modified()
        .unwrap();
    let want = mtime(&s.path("src/l.rclonelink"));
    assert!(
        link_time
            .duration_since(want)
            .unwrap_or_else(|e| e.duration())
            < Duration::from_secs(1),
        "the link itself carries the source's time"
    );
}

#[test]
fn walking_commands_never_change_anything_through_a_symlink() {
    // With -L a listing goes through dst/evil into the outside directory; nothing found
    // there may be touched, deleted or removed.
    for cmd in [
        &["touch", "-R", "-L"][..],
        &["delete", "-L"],
        &["delete", "-L", "--rmdirs"],
        &["purge", "-L"],
        &["rmdirs", "-L"],
    ] {
        let what = cmd.join(" ");
        let s = Scratch::new();
        let outside = Outside::new(&s, &["a.txt", "sub/b.txt", "empty/"]);
        s.write("dst/mine.txt", "mine", 10);
        outside.link_from(&s.path("dst/evil"));
        let dst = s.dst();
        let mut args = cmd.to_vec();
        args.push(&dst);
        let out = run(&args);
        assert_refused(&what, &out, "evil");
        outside.assert_untouched(&what);
    }
}

#[test]
fn moving_never_deletes_through_a_symlink_in_the_source() {
    // move -L would take what a source link points to; moving (or deleting) it would
    // reach outside the source tree, so it stays where it is (and the run says why).
    let s = Scratch::new();
    let outside = Outside::new(&s, &["a.txt"]);
    outside.link_from(&s.path("src/evil"));
    symlink(outside.path.join("a.txt"), s.path("src/f.txt")).unwrap();
    s.write("src/own.txt", "own", 10);
    let out = run(&["move", "-L", &s.src(), &s.dst()]);
    assert_refused("move -L", &out, "evil");
    outside.assert_untouched("move -L");
    assert!(
        !s.exists("src/own.txt"),
        "the source's own files still move"
    );
    // A followed file link arrives as the file it points to; only the link goes.
    let f = std::fs::symlink_metadata(s.path("dst/f.txt")).unwrap();
    assert!(f.is_file(), "move -L copies a linked file, not the link");
    assert_eq!(s.read("dst/f.txt"), "outside a.txt");
    assert!(!s.exists("src/f.txt"));
}

#[test]
fn never_backs_up_through_a_symlink_in_the_backup_dir() {
    let s = Scratch::new();
    let outside = Outside::new(&s, &[]);
    s.write("src/d/f.txt", "new", 10);
    s.write("dst/d/f.txt", "old!", 1000);
    outside.link_from(&s.path("bak/d"));
    let bak = s.path("bak").to_string_lossy().into_owned();
    let out = run(&["sync", &s.src(), &s.dst(), "--backup-dir", &bak]);
    assert_refused("sync --backup-dir", &out, "d");
    outside.assert_untouched("sync --backup-dir");
    assert_eq!(
        s.read("dst/d/f.txt"),
        "old!",
        "a file that couldn't be backed up is not replaced"
    );
}

#[test]
fn final_links_are_replaced_or_removed_never_written_through() {
    let s = Scratch::new();
    let outside = Outside::new(&s, &["t.txt"]);
    let target = outside.path.join("t.txt");
    std::fs::create_dir(s.path("dst")).unwrap();
    let link = |name: &str| {
        let p = s.path(&format!("dst/{name}"));
        symlink(&target, &p).unwrap();
        p.to_string_lossy().into_owned()
    };
    let (code, _, err) = run(&["deletefile", &link("del")]);
    assert_eq!(code, 0, "{err}");
    assert!(!s.exists("dst/del"), "deletefile removes the link itself");
    s.write("src/f.txt", "new", 10);
    let f = s.path("src/f.txt").to_string_lossy().into_owned();
    for (what, args) in [
        ("copyto", vec!["copyto", f.as_str()]),
        ("copyto --inplace", vec!["copyto", "--inplace", f.as_str()]),
    ] {
        let to = link("to");
        let mut args = args.clone();
        args.push(&to);
        let (code, _, err) = run(&args);
        if what.ends_with("--inplace") {
            assert_eq!(
                code, 1,
                "{what} must refuse to truncate through the link\n{err}"
            );
            assert!(err.contains("symbolic link"), "{err}");
        } else {
            assert_eq!(code, 0, "{err}");
            assert_eq!(s.read("dst/to"), "new", "{what} replaces the link");
        }
        outside.assert_untouched(what);
        std::fs::remove_file(s.path("dst/to")).unwrap();
    }
}

#[test]
fn bisync_never_writes_through_a_symlink_on_either_side() {
    for side in ["p1", "p2"] {
        let s = Scratch::new();
        let outside = Outside::new(&s, &[]);
        s.write("p1/a.txt", "a", 100);
        s.write("p2/a.txt", "a", 100);
        let (p1, p2) = (s.path("p1"), s.path("p2"));
        let wd = s.path("wd");
        let base = [
            "bisync",
            p1.to_str().unwrap(),
            p2.to_str().unwrap(),
            "--workdir",
            wd.to_str().unwrap(),
        ];
        let mut resync = base.to_vec();
        resync.push("--resync");
        let (code, _, err) = run(&resync);
        assert_eq!(code, 0, "{err}");
        // The link appears on one side, a new file under the same name on the other.
        let other = if side == "p1" { "p2" } else { "p1" };
        outside.link_from(&s.path(&format!("{side}/evil")));
        s.write(&format!("{other}/evil/victim.txt"), "new", 10);
        let out = run(&base);
        assert_ne!(
            out.0, 0,
            "bisync with a link on {side} must fail\n{}",
            out.2
        );
        assert!(
            out.2.contains("through the symbolic link \"evil\""),
            "bisync ({side}): {}",
            out.2
        );
        outside.assert_untouched(&format!("bisync, link on {side}"));
    }
}

#[test]
fn a_root_the_user_names_may_be_a_link() {
    // Only links below a root are refused: a root reached through a link is the user's choice.
    let s = Scratch::new();
    let outside = Outside::new(&s, &[]);
    outside.link_from(&s.path("dst"));
    s.write("src/d/f.txt", "f", 10);
    let (code, _, err) = run(&["copy", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(outside.path.join("d/f.txt")).unwrap(),
        "f"
    );
    let sub = s.path("dst/made/here").to_string_lossy().into_owned();
    let (code, _, err) = run(&["mkdir", &sub]);
    assert_eq!(code, 0, "{err}");
    assert!(outside.path.join("made/here").is_dir());
}

#[test]
fn listings_never_remove_leftovers_through_a_symlink() {
    // A listing that -L led through dst/evil must not clean up what looks like a partial
    // file left by ferry (named as partial.rs names them) in the directory outside.
    let s = Scratch::new();
    let leftover = ferry_core::partial::temp_name("a.txt");
    let outside = Outside::new(&s, &[leftover.as_str()]);
    outside.link_from(&s.path("dst/evil"));
    let (code, _, err) = run(&["lsf", "-R", "-L", &s.dst()]);
    assert_eq!(code, 0, "{err}");
    outside.assert_untouched("lsf -R -L");
    // A run that writes to dst (and so cleans leftovers there) lists evil/ with -L too.
    s.write("src/x.txt", "x", 100);
    s.write("src/evil/y.txt", "y", 100);
    let (_, _, err) = run(&["copy", "-L", &s.src(), &s.dst()]);
    assert_eq!(s.read("dst/x.txt"), "x", "{err}");
    outside.assert_untouched("copy -L");
}
