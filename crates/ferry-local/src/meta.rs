//! rclone's local metadata (`--metadata`): `mode` (octal), `uid`, `gid`, `rdev` (hex,
//! devices only), `atime`, `mtime`, `btime` (where the filesystem records it), and user
//! keys as `user.*` extended attributes.
//!
//! Writing applies the times, then ownership, then the permission bits (setuid, setgid
//! and sticky are dropped, as rclone does by default: the source may not be trusted).
//! `btime` and `rdev` can't be set and are ignored. A failure fails the file, as in
//! rclone, except that a filesystem without extended attributes only loses the user keys
//! (reported once).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use ferry_core::metadata::format_time_local;
use ferry_core::{Error, Metadata, Result};

/// Keys this backend owns; every other key is user metadata.
const SYSTEM: [&str; 7] = ["mode", "uid", "gid", "rdev", "atime", "mtime", "btime"];

const XATTR_PREFIX: &str = "user.";

/// Set once extended attributes turned out unsupported here, so it is reported once.
static NO_XATTRS: AtomicBool = AtomicBool::new(false);

/// The metadata of the file (not following a final symlink) at `path`.
pub(crate) fn read(path: &Path) -> Result<Metadata> {
    let failed = |e| Error::io("failed to read metadata", e);
    let m = std::fs::symlink_metadata(path).map_err(failed)?;
    let mut out = read_xattrs(path)?;
    system(&m, &mut out);
    let time = |t: std::io::Result<SystemTime>| t.ok().map(format_time_local);
    if let Some(t) = time(m.accessed()) {
        out.set("atime", t);
    }
    if let Some(t) = time(m.modified()) {
        out.set("mtime", t);
    }
    if let Some(t) = time(m.created()) {
        out.set("btime", t);
    }
    Ok(out)
}

#[cfg(unix)]
fn system(m: &std::fs::Metadata, out: &mut Metadata) {
    use std::os::unix::fs::MetadataExt;
    out.set("mode", format!("{:o}", m.mode()));
    out.set("uid", m.uid().to_string());
    out.set("gid", m.gid().to_string());
    let rdev = m.rdev();
    if rdev != 0 {
        // glibc's encoding of major and minor, shown as rclone shows statx's pair.
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        out.set("rdev", format!("{:x}", (major << 32) | minor));
    }
}

#[cfg(not(unix))]
fn system(_m: &std::fs::Metadata, _out: &mut Metadata) {}

/// ENOTSUP (or EINVAL from some filesystems): no `user.*` attributes here.
#[cfg(unix)]
fn xattrs_unsupported(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Unsupported
        || matches!(e.raw_os_error(), Some(c) if c == libc::ENOTSUP || c == libc::EINVAL)
}

#[cfg(unix)]
fn disable_xattrs(e: &std::io::Error) {
    if !NO_XATTRS.swap(true, Ordering::Relaxed) {
        tracing::error!("Local file system: xattrs not supported - disabling: {e}");
    }
}

#[cfg(unix)]
fn read_xattrs(path: &Path) -> Result<Metadata> {
    let mut out = Metadata::new();
    if NO_XATTRS.load(Ordering::Relaxed) {
        return Ok(out);
    }
    let names = match xattr::list(path) {
        Ok(n) => n,
        Err(e) if xattrs_unsupported(&e) => {
            disable_xattrs(&e);
            return Ok(out);
        }
        Err(e) => return Err(Error::io("failed to read xattr", e)),
    };
    for name in names {
        let name = name.to_string_lossy().to_lowercase();
        let Some(key) = name.strip_prefix(XATTR_PREFIX) else {
            continue;
        };
        if SYSTEM.contains(&key) {
            continue;
        }
        match xattr::get(path, &name) {
            Ok(Some(v)) => out.set(key, String::from_utf8_lossy(&v).into_owned()),
            Ok(None) => {}
            Err(e) => {
                return Err(Error::io(format!("failed to read xattr key {name:?}"), e));
            }
        }
    }
    Ok(out)
}

#[cfg(not(unix))]
fn read_xattrs(_path: &Path) -> Result<Metadata> {
    Ok(Metadata::new())
}

#[cfg(unix)]
fn write_xattrs(file: &File, m: &Metadata) -> Result<()> {
    use xattr::FileExt;
    for (k, v) in m.iter().filter(|(k, _)| !SYSTEM.contains(k)) {
        if NO_XATTRS.load(Ordering::Relaxed) {
            return Ok(());
        }
        let name = format!("{XATTR_PREFIX}{k}");
        match file.set_xattr(&name, v.as_bytes()) {
            Ok(()) => {}
            Err(e) if xattrs_unsupported(&e) => disable_xattrs(&e),
            Err(e) => return Err(Error::io(format!("failed to set xattr key {name:?}"), e)),
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn write_xattrs(_file: &File, _m: &Metadata) -> Result<()> {
    Ok(())
}

/// rclone parses numbers with Go's `strconv.ParseInt`; a malformed one is ignored.
fn number(m: &Metadata, key: &str, radix: u32) -> Option<i64> {
    m.get(key).and_then(|v| i64::from_str_radix(v, radix).ok())
}

/// Applies `m` to the open `file` (through its descriptor, so nothing is looked up by
/// name); returns the modification time it now has, when the metadata set one.
pub(crate) fn apply(file: &File, m: &Metadata) -> Result<Option<SystemTime>> {
    write_xattrs(file, m)?;
    let (atime, mtime) = (m.time("atime"), m.time("mtime"));
    let mtime = match (atime, mtime) {
        (None, None) => None,
        (a, m) => {
            let (a, m) = (a.or(m).expect("one is set"), m.or(a).expect("one is set"));
            filetime::set_file_handle_times(
                file,
                Some(filetime::FileTime::from_system_time(a)),
                Some(filetime::FileTime::from_system_time(m)),
            )
            .map_err(|e| Error::io("failed to set times", e))?;
            Some(m)
        }
    };
    apply_owner_and_mode(file, m)?;
    Ok(mtime)
}

#[cfg(unix)]
fn apply_owner_and_mode(file: &File, m: &Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(uid) = number(m, "uid", 10) {
        let gid = number(m, "gid", 10).unwrap_or(uid);
        std::os::unix::fs::fchown(file, Some(uid as u32), Some(gid as u32))
            .map_err(|e| Error::io("failed to change ownership", e))?;
    }
    if let Some(mode) = number(m, "mode", 8).filter(|&v| (0..=u32::MAX as i64).contains(&v)) {
        let perm = std::fs::Permissions::from_mode(mode as u32 & 0o777);
        file.set_permissions(perm)
            .map_err(|e| Error::io("failed to change permissions", e))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn apply_owner_and_mode(_file: &File, _m: &Metadata) -> Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn applies_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
        let t = UNIX_EPOCH + Duration::new(1_600_000_000, 5);
        let given: Metadata = [
            ("mode", "100640".to_owned()),
            ("mtime", ferry_core::metadata::format_time_utc(t)),
            ("btime", "2001-01-01T00:00:00Z".to_owned()),
            ("rdev", "ff".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(apply(&file, &given).unwrap(), Some(t));
        let got = read(&f).unwrap();
        assert_eq!(got.get("mode"), Some("100640"));
        assert_eq!(got.time("mtime"), Some(t));
        assert_eq!(
            got.time("atime"),
            Some(t),
            "atime follows mtime when absent"
        );
        assert!(got.get("rdev").is_none());
        assert!(got.get("uid").is_some() && got.get("gid").is_some());
        // A malformed value is ignored, as rclone ignores it.
        let bad: Metadata = [("mode", "rwx"), ("mtime", "soon")].into_iter().collect();
        assert_eq!(apply(&file, &bad).unwrap(), None);
    }
}
