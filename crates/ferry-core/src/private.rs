//! Files and directories only their owner may read: ferry's state and cache (bisync
//! listings, journals and locks; S3 resume journals) name the paths and files of the
//! user's remotes, so they are created 0600 in 0700 directories, whatever the umask.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The user's cache directory: `$XDG_CACHE_HOME` when set to an absolute path (the XDG
/// rule: a relative one is ignored), else `~/.cache`; `None` without either.
pub fn cache_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
}

/// `--cache-dir`: set once, before anything is cached.
static CACHE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// rclone's `--cache-dir DIR`: DIR holds ferry's caches instead of `~/.cache/ferry`, and
/// rclone's (its bisync listings) are looked for there instead of `~/.cache/rclone`.
pub fn set_cache_dir(dir: PathBuf) {
    let _ = CACHE_DIR.set(dir);
}

/// Whether `--cache-dir` named the cache directory (the user's, not ferry's to tighten).
pub fn cache_dir_given() -> bool {
    CACHE_DIR.get().is_some()
}

/// Where ferry keeps its caches and state: `--cache-dir`, else `ferry` under
/// [`cache_home`].
pub fn ferry_cache() -> Option<PathBuf> {
    match CACHE_DIR.get() {
        Some(d) => Some(d.clone()),
        None => Some(cache_home()?.join("ferry")),
    }
}

/// Where rclone keeps its cache: `--cache-dir`, else `rclone` under [`cache_home`].
pub fn rclone_cache() -> Option<PathBuf> {
    match CACHE_DIR.get() {
        Some(d) => Some(d.clone()),
        None => Some(cache_home()?.join("rclone")),
    }
}

/// Creates `dir` and any missing parents, each new one 0700 (on Unix).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Makes an existing directory of ferry's own 0700 (an older ferry made them 0755).
/// Only for directories ferry owns by name (`~/.cache/ferry/...`), never one a user chose.
pub fn tighten_dir(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = fs::metadata(dir) {
            if m.is_dir() && m.permissions().mode() & 0o077 != 0 {
                let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Options that create a file 0600 (on Unix); add `write`, `append`, `create`… as needed.
pub fn file_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Makes an existing file 0600 (one an older ferry created 0644).
pub fn tighten_file(file: &fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = file.metadata() {
            if m.permissions().mode() & 0o077 != 0 {
                let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Writes `bytes` to a new or truncated 0600 file.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use io::Write;
    let mut f = file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    tighten_file(&f);
    f.write_all(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_files_and_directories_are_private() {
        let t = tempfile_dir();
        let d = t.join("a/b");
        create_dir_all(&d).unwrap();
        for p in [t.join("a"), d.clone()] {
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        let f = d.join("f");
        fs::write(&f, b"old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        write(&f, b"new").unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        tighten_dir(&d);
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let _ = fs::remove_dir_all(&t);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("ferry-private-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }
}
