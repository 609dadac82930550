//! Reading a local file that ferry parses (a key, a config, a filter or sum file) with a
//! ceiling, so a wrong path (`/dev/zero`, a disk image) fails at once with a clear error
//! instead of reading for ever while memory grows.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Keys, certificates: a few KiB in practice.
pub const KEY_LIMIT: u64 = 1 << 20;
/// Config and known_hosts files.
pub const CONFIG_LIMIT: u64 = 64 << 20;
/// Lists a user may make long: filter rules, `--files-from`, sum files.
pub const LIST_LIMIT: u64 = 1 << 30;

/// The whole file, or an error when it holds more than `limit` bytes (or never ends).
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    if let Ok(meta) = file.metadata() {
        if meta.is_dir() {
            return Err(io::Error::other("is a directory, not a file"));
        }
        if meta.is_file() && meta.len() > limit {
            return Err(too_big(limit));
        }
    }
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_big(limit));
    }
    Ok(buf)
}

/// As [`read_limited`], as UTF-8 text.
pub fn read_limited_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_limited(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "is not UTF-8 text"))
}

fn too_big(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "is larger than {} (the most ferry reads from such a file); is it the right file?",
            crate::units::size_suffix(limit)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_and_oversized_files_fail_fast() {
        let err = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        assert!(read_limited(&big, 1024).is_err());
        assert_eq!(read_limited(&big, 2048).unwrap().len(), 2048);
        assert!(read_limited(dir.path(), 1024).is_err());
    }
}
