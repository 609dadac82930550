//! The walk without `openat` (Windows): each component is checked with
//! `symlink_metadata` before use. That stops planted links, though not one swapped in
//! during the run.
// On unix it is built only for its tests.
#![cfg_attr(unix, allow(dead_code))]

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Stop;

/// A directory every change is made relative to; here only a path, each of whose
/// components was checked not to be a link when it was opened.
#[derive(Debug)]
pub(crate) struct Dir {
    path: PathBuf,
}

pub(super) fn walk(root: &Path, segs: &[OsString], create: bool) -> Result<Dir, Stop> {
    match fs::metadata(root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            fs::create_dir_all(root).map_err(Stop::Root)?
        }
        other => {
            other.map_err(Stop::Root)?;
        }
    }
    let mut path = root.to_path_buf();
    for (i, seg) in segs.iter().enumerate() {
        path.push(seg);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err(Stop::Link(i)),
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Stop::Io(
                    i,
                    io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                match fs::create_dir(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Stop::Io(i, e)),
                }
                if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(Stop::Link(i));
                }
            }
            Err(e) => return Err(Stop::Io(i, e)),
        }
    }
    Ok(Dir { path })
}

impl Dir {
    pub fn create_file(&self, name: &OsStr, truncate: bool) -> io::Result<File> {
        let mut o = OpenOptions::new();
        o.write(true);
        if truncate {
            let p = self.path.join(name);
            if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "refusing to write through a symbolic link",
                ));
            }
            o.create(true).truncate(true);
        } else {
            // Read back by ranged writes to hash it.
            o.read(true).create_new(true);
        }
        o.open(self.path.join(name))
    }

    /// Flushes this directory's entries to the disk where the system can (unix-like
    /// systems only; elsewhere a rename is made durable by the filesystem itself).
    pub fn sync(&self) -> io::Result<()> {
        #[cfg(unix)]
        return File::open(&self.path)?.sync_all();
        #[cfg(not(unix))]
        Ok(())
    }

    pub fn rename(&self, from: &OsStr, dir: &Dir, to: &OsStr) -> io::Result<()> {
        fs::rename(self.path.join(from), dir.path.join(to))
    }

    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        fs::remove_file(self.path.join(name))
    }

    pub fn rmdir(&self, name: &OsStr) -> io::Result<()> {
        fs::remove_dir(self.path.join(name))
    }

    pub fn set_times(
        &self,
        name: Option<&OsStr>,
        atime: Option<SystemTime>,
        mtime: Option<SystemTime>,
    ) -> io::Result<()> {
        let p = name.map_or_else(|| self.path.clone(), |n| self.path.join(n));
        let m = fs::symlink_metadata(&p)?;
        let a = atime.unwrap_or_else(|| m.accessed().unwrap_or(SystemTime::UNIX_EPOCH));
        let t = mtime.unwrap_or_else(|| m.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        filetime::set_symlink_file_times(
            &p,
            filetime::FileTime::from_system_time(a),
            filetime::FileTime::from_system_time(t),
        )
    }

    pub fn symlink(&self, _target: &str, _name: &OsStr) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "symbolic links are not supported here",
        ))
    }

    pub fn is_link(&self, name: &OsStr) -> bool {
        fs::symlink_metadata(self.path.join(name)).is_ok_and(|m| m.file_type().is_symlink())
    }

    pub fn stat(&self, name: &OsStr) -> io::Result<Option<(u64, SystemTime)>> {
        match fs::symlink_metadata(self.path.join(name)) {
            Ok(m) => Ok(Some((
                m.len(),
                m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, UNIX_EPOCH};

    fn segs(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_fallback_makes_real_directories_and_refuses_links() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = walk(d.path(), &segs(&["a", "b"]), true).ok().unwrap();
        assert!(d.path().join("a/b").is_dir());
        dir.create_file(OsStr::new("f"), false).unwrap();
        assert!(dir.create_file(OsStr::new("f"), false).is_err(), "O_EXCL");
        symlink(outside.path(), d.path().join("a/evil")).unwrap();
        for create in [false, true] {
            match walk(d.path(), &segs(&["a", "evil", "x"]), create) {
                Err(Stop::Link(1)) => {}
                _ => panic!("the link must stop the walk"),
            }
        }
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        let missing = walk(d.path(), &segs(&["nope"]), false);
        assert!(matches!(missing, Err(Stop::Io(0, e)) if e.kind() == io::ErrorKind::NotFound));
    }

    #[test]
    fn the_fallback_never_writes_or_times_through_a_final_link() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        fs::write(&target, b"keep").unwrap();
        let before = fs::metadata(&target).unwrap().modified().unwrap();
        symlink(&target, d.path().join("link")).unwrap();
        let dir = walk(d.path(), &[], false).ok().unwrap();
        let link = OsStr::new("link");
        assert!(dir.is_link(link));
        assert!(dir.create_file(link, true).is_err());
        let when = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
        dir.set_times(Some(link), None, Some(when)).unwrap();
        assert_eq!(dir.stat(link).unwrap().unwrap().1, when);
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert_eq!(fs::metadata(&target).unwrap().modified().unwrap(), before);
        dir.rename(link, &dir, OsStr::new("moved")).unwrap();
        dir.unlink(OsStr::new("moved")).unwrap();
        assert!(target.exists(), "unlinking a link leaves its target");
    }
}
