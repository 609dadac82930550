//! The unix walk: `openat` with `O_NOFOLLOW` one component at a time (one `openat2`
//! call on Linux when it can), and every change made with the `*at` calls.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Stop;

/// An open directory every change is made relative to.
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
}

/// Directories are opened for lookups only where the system allows it (Linux's
/// `O_PATH`), so a directory that may be searched but not read is no obstacle.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIR_FLAGS: libc::c_int = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn fd_or_err(ret: libc::c_int) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return from open/openat is a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

fn openat(dir: &OwnedFd, name: &OsStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    loop {
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        let r = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode) };
        match fd_or_err(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Opens the root (following it if it is a link: the user named it), then each of
/// `segs` without following links, making missing ones when `create`.
pub(super) fn walk(root: &Path, segs: &[OsString], create: bool) -> Result<Dir, Stop> {
    let c = cstr(root.as_os_str()).map_err(Stop::Root)?;
    // SAFETY: a NUL-terminated path.
    let open_root = || fd_or_err(unsafe { libc::open(c.as_ptr(), DIR_FLAGS) });
    let mut fd = match open_root() {
        // The root, links and all, is the user's: made as a plain path when missing.
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            std::fs::create_dir_all(root).map_err(Stop::Root)?;
            open_root()
        }
        other => other,
    }
    .map_err(Stop::Root)?;
    if segs.is_empty() {
        return Ok(Dir { fd });
    }
    if let Some(fd) = fast::open_beneath(&fd, segs) {
        return Ok(Dir { fd });
    }
    for (i, seg) in segs.iter().enumerate() {
        fd = step(&fd, seg, create).map_err(|e| match e {
            Step::Link => Stop::Link(i),
            Step::Io(e) => Stop::Io(i, e),
        })?;
    }
    Ok(Dir { fd })
}

enum Step {
    Link,
    Io(io::Error),
}

fn step(dir: &OwnedFd, seg: &OsStr, create: bool) -> Result<OwnedFd, Step> {
    let open = || openat(dir, seg, DIR_FLAGS | libc::O_NOFOLLOW, 0);
    match open() {
        Ok(fd) => Ok(fd),
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            let c = cstr(seg).map_err(Step::Io)?;
            // SAFETY: a valid directory descriptor and a NUL-terminated name.
            let made = check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o777) });
            match made {
                Ok(()) => {}
                // Made meanwhile by another writer: open what is there.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Step::Io(e)),
            }
            open().map_err(|e| classify(dir, seg, e))
        }
        Err(e) => Err(classify(dir, seg, e)),
    }
}

/// A failed open names a link if one is there (systems differ in the errno).
fn classify(dir: &OwnedFd, seg: &OsStr, e: io::Error) -> Step {
    match lstat(dir, seg) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => Step::Link,
        _ => Step::Io(e),
    }
}

fn lstat(dir: &OwnedFd, name: &OsStr) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid descriptor, NUL-terminated name, and room for the result.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded, so it filled the struct.
    Ok(unsafe { st.assume_init() })
}

#[cfg(target_os = "linux")]
mod fast {
    use std::ffi::{CString, OsString};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set once the kernel (or a sandbox) turned `openat2` down.
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

    /// linux/openat2.h's `struct open_how` (libc's is non-exhaustive).
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }

    /// The whole of `segs` below `root` in one call; `None` sends the caller to the
    /// walk, which makes what is missing and names what stopped it.
    pub(super) fn open_beneath(root: &OwnedFd, segs: &[OsString]) -> Option<OwnedFd> {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return None;
        }
        let mut bytes = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            if i > 0 {
                bytes.push(b'/');
            }
            bytes.extend_from_slice(s.as_bytes());
        }
        let path = CString::new(bytes).ok()?;
        let how = OpenHow {
            flags: super::DIR_FLAGS as u64,
            mode: 0,
            resolve: libc::RESOLVE_BENEATH
                | libc::RESOLVE_NO_SYMLINKS
                | libc::RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: a valid descriptor, a NUL-terminated path, and `how` with its size.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error().raw_os_error();
            if matches!(e, Some(libc::ENOSYS | libc::EPERM | libc::E2BIG)) {
                UNAVAILABLE.store(true, Ordering::Relaxed);
            }
            return None;
        }
        super::fd_or_err(r as libc::c_int).ok()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod fast_tests {
    use super::*;

    #[test]
    fn one_call_opens_real_directories_and_stops_at_links() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink("b", d.path().join("a/l")).unwrap();
        let root = std::fs::File::open(d.path()).unwrap().into();
        let segs = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        let opened = fast::open_beneath(&root, &segs(&["a", "b"]));
        // Kernels before 5.6 (or sandboxes) lack openat2; the walk then does it all.
        let unavailable = opened.is_none();
        if unavailable {
            eprintln!("openat2 is unavailable here; only the walk was tested");
            return;
        }
        assert!(fast::open_beneath(&root, &segs(&["a", "l"])).is_none());
        assert!(fast::open_beneath(&root, &segs(&["a", "missing"])).is_none());
    }
}

#[cfg(not(target_os = "linux"))]
mod fast {
    use std::ffi::OsString;
    use std::os::fd::OwnedFd;

    pub(super) fn open_beneath(_root: &OwnedFd, _segs: &[OsString]) -> Option<OwnedFd> {
        None
    }
}

fn timespec(t: Option<SystemTime>) -> libc::timespec {
    let Some(t) = t else {
        return libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        };
    };
    let (sec, nsec) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos() as i64),
        Err(e) => {
            // Before 1970: whole seconds down, nanoseconds up from there.
            let d = e.duration();
            let up = Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)) - d;
            (
                -(d.as_secs() as i64) - i64::from(d.subsec_nanos() > 0),
                up.subsec_nanos() as i64,
            )
        }
    };
    libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: nsec as _,
    }
}

impl Dir {
    /// Creates `name` for writing, never through a link: a new file (failing if
    /// anything is there), or, `truncate`, the file there emptied.
    pub fn create_file(&self, name: &OsStr, truncate: bool) -> io::Result<File> {
        // A new file is opened for reading too (whatever its mode, its creator may):
        // ranged writes read it back to hash it. One truncated in place keeps write-only
        // access, which is all an existing file's mode may grant.
        let how = if truncate {
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC
        } else {
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL
        };
        let flags = libc::O_NOFOLLOW | libc::O_CLOEXEC | how;
        openat(&self.fd, name, flags, 0o666).map(File::from)
    }

    /// Flushes this directory's entries (names made or renamed in it) to the disk.
    pub fn sync(&self) -> io::Result<()> {
        // The lookup descriptor (`O_PATH` on Linux) can't be synced: open the directory.
        let fd = openat(
            &self.fd,
            OsStr::new("."),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )?;
        File::from(fd).sync_all()
    }

    /// Renames `from` here to `to` in `dir`; neither last component is followed.
    pub fn rename(&self, from: &OsStr, dir: &Dir, to: &OsStr) -> io::Result<()> {
        let (f, t) = (cstr(from)?, cstr(to)?);
        // SAFETY: valid descriptors and NUL-terminated names.
        check(unsafe {
            libc::renameat(
                self.fd.as_raw_fd(),
                f.as_ptr(),
                dir.fd.as_raw_fd(),
                t.as_ptr(),
            )
        })
    }

    /// Removes the file (or link: not what it points to) `name`.
    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) })
    }

    /// Removes the empty directory `name` (a link there is refused by the system).
    pub fn rmdir(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) })
    }

    /// Sets `name`'s times (this directory's own when `None`); a link gets its own,
    /// never its target's. A `None` time is left as it is.
    pub fn set_times(
        &self,
        name: Option<&OsStr>,
        atime: Option<SystemTime>,
        mtime: Option<SystemTime>,
    ) -> io::Result<()> {
        let c = cstr(name.unwrap_or(OsStr::new(".")))?;
        let times = [timespec(atime), timespec(mtime)];
        // SAFETY: a valid descriptor, a NUL-terminated name and two timespecs.
        check(unsafe {
            libc::utimensat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
    }

    /// Makes a link `name` holding `target`.
    pub fn symlink(&self, target: &str, name: &OsStr) -> io::Result<()> {
        let (t, n) = (cstr(OsStr::new(target))?, cstr(name)?);
        // SAFETY: a valid descriptor and NUL-terminated strings.
        check(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), n.as_ptr()) })
    }

    /// Whether `name` is a symbolic link.
    pub fn is_link(&self, name: &OsStr) -> bool {
        lstat(&self.fd, name).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
    }

    /// `name`'s size and modification time (a link's own); `None` if nothing is there.
    pub fn stat(&self, name: &OsStr) -> io::Result<Option<(u64, SystemTime)>> {
        match lstat(&self.fd, name) {
            Ok(st) => {
                #[allow(clippy::unnecessary_cast)] // time_t is 32 bits on some targets
                let secs = st.st_mtime as i64;
                let nanos = Duration::from_nanos(st.st_mtime_nsec as u64);
                let t = if secs >= 0 {
                    UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
                } else {
                    UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
                };
                Ok(Some((st.st_size as u64, t)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}
