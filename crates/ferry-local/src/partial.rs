//! Temporary names for files being written, and the cleanup of ones a crash left.
//!
//! A file being written gets a name only ferry makes (`ferry_core::partial`) beside its
//! target and holds an exclusive `flock` for as long as its writer lives. The lock dies
//! with the process, however it dies, so a listing in a run that writes here (and only
//! such a listing) can take the lock, know the writer is gone, and remove the leftover;
//! a live writer in another ferry is never disturbed, and a user's file that merely
//! looks alike is never touched.

use std::fs::File;
use std::path::{Path, PathBuf};

pub(crate) fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(ferry_core::partial::temp_name(&name))
}

pub(crate) fn is_partial_name(name: &str) -> bool {
    ferry_core::partial::is_temp_name(name)
}

/// Marks `file` as owned by this process until it is closed.
pub(crate) fn lock(file: &File) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a valid, open descriptor has no memory-safety preconditions.
        unsafe {
            libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB);
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Removes a leftover temporary file if no live writer holds it.
pub(crate) fn remove_if_stale(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let Ok(file) = File::open(path) else { return };
        // SAFETY: as above.
        let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if free && std::fs::remove_file(path).is_ok() {
            tracing::info!(
                "{}: removed a partial file left by an interrupted run",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        let t = temp_path(Path::new("/x/report.pdf"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(is_partial_name(name), "{name}");
        assert!(!is_partial_name("report.pdf"));
        assert!(!is_partial_name(".hidden.partial"));
        assert!(!is_partial_name(".notes.ferry-deadbeef.partial"));
        let long = "é".repeat(200);
        let t = temp_path(&Path::new("/x").join(&long));
        assert!(t.file_name().unwrap().len() < 255);
    }

    #[cfg(unix)]
    #[test]
    fn stale_partials_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let live = temp_path(&dir.path().join("a"));
        let stale = temp_path(&dir.path().join("b"));
        let held = File::create(&live).unwrap();
        lock(&held);
        File::create(&stale).unwrap();
        remove_if_stale(&live);
        remove_if_stale(&stale);
        assert!(live.exists(), "a file locked by a live writer must stay");
        assert!(!stale.exists());
    }
}
