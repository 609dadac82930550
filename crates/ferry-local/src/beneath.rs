//! Changing a tree only below its root: directories are opened without following links.
//!
//! Every change this backend makes (create, rename, delete, set a time, make or remove a
//! directory, make a link) is made relative to the directory that holds its target,
//! opened here one component at a time with symbolic links refused. A link below the
//! root, whether a remote planted it as `NAME.rclonelink` under `-l` or anyone else made
//! it, can therefore never send a write outside the tree: rclone refuses the same writes
//! with "path escapes from parent". The root itself, named by the user, may be a link.
//!
//! On Linux one `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` call usually opens the
//! whole parent; the step-by-step walk remains for creating missing directories, for
//! naming the link that stopped it, and for kernels without `openat2`. Elsewhere on unix
//! the walk alone runs (`openat` with `O_NOFOLLOW`). Without `openat` (Windows) each
//! component is checked with `symlink_metadata` before use, which stops planted links
//! but not a link swapped in during the run.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use ferry_core::{Error, ErrorKind, RelPath, Result};

use ferry_core::encoding::Names;

use crate::names;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
// Also built for unix tests, so the fallback is exercised where CI runs.
#[cfg(any(not(unix), test))]
mod portable;
#[cfg(not(unix))]
use portable as imp;

pub(crate) use imp::Dir;

/// What the caller is about to do, for the refusal message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Write,
    Delete,
    SetTime,
    MakeDir,
    RemoveDir,
    Move,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Write => "write",
            Op::Delete => "delete",
            Op::SetTime => "set a time",
            Op::MakeDir => "make a directory",
            Op::RemoveDir => "remove a directory",
            Op::Move => "move a file",
        }
    }
}

/// A root directory, as used and as the user wrote it.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    pub root: PathBuf,
    pub display: String,
    /// How ferry's names are stored on disk.
    pub names: Names,
    /// Sync each file written, and its directory, to the disk (`--fsync`).
    pub fsync: bool,
}

/// A path below a root, as ferry's (encoded) names, one per component.
#[derive(Clone, Debug)]
pub(crate) struct Below {
    names: Vec<String>,
}

impl Below {
    pub fn of(rel: &RelPath) -> Below {
        Below {
            names: rel.segments().map(str::to_owned).collect(),
        }
    }

    /// `full`'s place below `root`; `None` if it isn't below it.
    pub fn of_path(root: &Path, full: &Path, codec: &Names) -> Option<Below> {
        let rel = full.strip_prefix(root).ok()?;
        let mut names = Vec::new();
        for c in rel.components() {
            match c {
                std::path::Component::Normal(n) => {
                    names.push(names::listed(codec, n).ok()?.0.into_owned())
                }
                _ => return None,
            }
        }
        Some(Below { names })
    }

    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }

    fn shown(&self, upto: usize) -> String {
        self.names[..upto].join("/")
    }

    fn os(&self, i: usize, codec: &Names) -> OsString {
        names::stored(codec, &self.names[i])
    }
}

/// Why a walk stopped: at component `at`, a link, or another failure.
enum Stop {
    Link(usize),
    Io(usize, io::Error),
    Root(io::Error),
}

impl Tree {
    /// The directory holding `below`'s last component (made as needed when `create`),
    /// and that component's on-disk name.
    pub fn parent(&self, below: &Below, create: bool, op: Op) -> Result<(Dir, OsString)> {
        let Some(last) = below.names.len().checked_sub(1) else {
            return Err(Error::new(
                ErrorKind::InvalidPath,
                format!("can't {} at the root itself", op.verb()),
            ));
        };
        let dir = self.open(below, last, create, op)?;
        Ok((dir, below.os(last, &self.names)))
    }

    /// `below` itself as a directory, made (with its parents) when `create`.
    pub fn dir(&self, below: &Below, create: bool, op: Op) -> Result<Dir> {
        self.open(below, below.names.len(), create, op)
    }

    /// Opens the directory of `below`'s first `depth` components.
    fn open(&self, below: &Below, depth: usize, create: bool, op: Op) -> Result<Dir> {
        let segs: Vec<OsString> = (0..depth).map(|i| below.os(i, &self.names)).collect();
        imp::walk(&self.root, &segs, create).map_err(|stop| self.error(below, op, stop))
    }

    fn error(&self, below: &Below, op: Op, stop: Stop) -> Error {
        let rel = below.shown(below.names.len());
        match stop {
            Stop::Link(i) => refusal(&rel, &below.shown(i + 1), &self.display, op),
            Stop::Io(i, e) => {
                let what = match op {
                    Op::MakeDir | Op::Write => "failed to make directory",
                    _ => "failed to open directory",
                };
                crate::write::write_failure(format!("{what} {:?}", below.shown(i + 1)), e)
                    .with_path(rel)
            }
            Stop::Root(e) => {
                Error::io(format!("failed to open {}", self.display), e).with_path(rel)
            }
        }
    }
}

/// The one-line, permanent refusal for a link met on the way to `rel`.
pub(crate) fn refusal(rel: &str, link: &str, root: &str, op: Op) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!(
            "refusing to {} through the symbolic link {link:?} below {root} (path escapes from parent); remove or replace the link",
            op.verb()
        ),
    )
    .with_path(rel)
    // Every attempt would meet the same link: a whole-run retry can't help.
    .retryable(false)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, UNIX_EPOCH};

    fn tree(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            display: "dst".into(),
            names: Names::new(ferry_core::encoding::Encoding::LOCAL_DEFAULT),
            fsync: false,
        }
    }

    fn below(s: &str) -> Below {
        Below::of(&RelPath::new(s).unwrap())
    }

    #[test]
    fn opens_and_makes_real_directories() {
        let d = tempfile::tempdir().unwrap();
        let t = tree(d.path());
        let (dir, name) = t.parent(&below("a/b/c.txt"), true, Op::Write).unwrap();
        assert_eq!(name, "c.txt");
        assert!(d.path().join("a/b").is_dir());
        dir.create_file(&name, false).unwrap();
        assert!(d.path().join("a/b/c.txt").is_file());
        // Present already: the fast path (or the walk) opens it without making anything.
        let (dir, _) = t.parent(&below("a/b/c.txt"), false, Op::Write).unwrap();
        assert!(dir
            .stat(OsString::from("c.txt").as_os_str())
            .unwrap()
            .is_some());
        let e = t.parent(&below("x/y.txt"), false, Op::Delete).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }

    #[test]
    fn refuses_a_link_at_any_depth_and_names_it() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a")).unwrap();
        symlink(outside.path(), d.path().join("a/evil")).unwrap();
        // A link to a directory inside the tree is refused too: nothing is followed.
        symlink("..", d.path().join("up")).unwrap();
        let t = tree(d.path());
        for create in [false, true] {
            let e = t
                .parent(&below("a/evil/sub/victim.txt"), create, Op::Write)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
            assert_eq!(
                e.to_string(),
                "a/evil/sub/victim.txt: refusing to write through the symbolic link \"a/evil\" below dst (path escapes from parent); remove or replace the link"
            );
            assert!(!e.is_temporary() && !e.is_retryable());
        }
        let e = t.dir(&below("up"), true, Op::MakeDir).unwrap_err();
        assert!(e.to_string().contains("\"up\""), "{e}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // The last component of a parent lookup is the caller's, and may be a link.
        let (_, name) = t.parent(&below("a/evil"), false, Op::Delete).unwrap();
        assert_eq!(name, "evil");
    }

    #[test]
    fn a_linked_root_is_followed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("real")).unwrap();
        symlink("real", d.path().join("root")).unwrap();
        let t = tree(&d.path().join("root"));
        let (dir, name) = t.parent(&below("n/f"), true, Op::Write).unwrap();
        dir.create_file(&name, false).unwrap();
        assert!(d.path().join("real/n/f").is_file());
    }

    #[test]
    fn times_of_a_link_are_its_own() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let before = std::fs::metadata(&target).unwrap().modified().unwrap();
        symlink(&target, d.path().join("link")).unwrap();
        let t = tree(d.path());
        let (dir, name) = t.parent(&below("link"), false, Op::SetTime).unwrap();
        let when = UNIX_EPOCH + Duration::new(1_500_000_000, 7);
        dir.set_times(Some(&name), None, Some(when)).unwrap();
        let link = std::fs::symlink_metadata(d.path().join("link")).unwrap();
        assert_eq!(link.modified().unwrap(), when);
        assert_eq!(
            std::fs::metadata(&target).unwrap().modified().unwrap(),
            before
        );
        let early = UNIX_EPOCH - Duration::new(10, 250);
        dir.set_times(Some(&name), None, Some(early)).unwrap();
        assert_eq!(dir.stat(&name).unwrap().unwrap().1, early);
    }

    #[test]
    fn truncating_create_refuses_a_final_link() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        symlink(&target, d.path().join("link")).unwrap();
        let (dir, name) = tree(d.path())
            .parent(&below("link"), false, Op::Write)
            .unwrap();
        assert!(dir.create_file(&name, true).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }
}
