//! Temporary names for files being written, and the cleanup of ones a crash left.
//!
//! A file being written is named `.NAME.ferry-XXXXXXXX.partial` beside its target and
//! holds an exclusive `flock` for as long as its writer lives. The lock dies with the
//! process, however it dies, so a listing that can take the lock knows the writer is
//! gone and removes the leftover; a live writer in another ferry is never disturbed.

use std::fs::File;
use std::path::{Path, PathBuf};

const PREFIX: char = '.';
const MARK: &str = ".ferry-";
const SUFFIX: &str = ".partial";
/// Keeps temporary names within the usual 255-byte limit.
const MAX_STEM: usize = 200;

pub(crate) fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cut = name.len().min(MAX_STEM);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let tag: u32 = rand::random();
    target.with_file_name(format!("{PREFIX}{}{MARK}{tag:08x}{SUFFIX}", &name[..cut]))
}

pub(crate) fn is_partial_name(name: &str) -> bool {
    name.starts_with(PREFIX)
        && name.ends_with(SUFFIX)
        && name
            .len()
            .checked_sub(SUFFIX.len() + 8 + MARK.len())
            .and_then(|i| name.get(i..i + MARK.len()))
            == Some(MARK)
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
        let long = "é".repeat(200);
        let t = temp_path(&Path::new("/x").join(&long));
        assert!(t.file_name().unwrap().len() < 255);
    }

    #[cfg(unix)]
    #[test]
    fn stale_partials_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join(".a.ferry-00000001.partial");
        let stale = dir.path().join(".b.ferry-00000002.partial");
        let held = File::create(&live).unwrap();
        lock(&held);
        File::create(&stale).unwrap();
        remove_if_stale(&live);
        remove_if_stale(&stale);
        assert!(live.exists(), "a file locked by a live writer must stay");
        assert!(!stale.exists());
    }
}
