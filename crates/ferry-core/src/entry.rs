use std::time::SystemTime;

use crate::{Hashes, RelPath};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// One object or directory as a backend lists it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: RelPath,
    pub kind: EntryKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    pub mtime: SystemTime,
    /// Hashes the backend already knows without reading the data (e.g. an S3 ETag).
    pub hashes: Hashes,
}

impl Entry {
    pub fn file(path: RelPath, size: u64, mtime: SystemTime) -> Self {
        Entry {
            path,
            kind: EntryKind::File,
            size,
            mtime,
            hashes: Hashes::default(),
        }
    }

    pub fn dir(path: RelPath, mtime: SystemTime) -> Self {
        Entry {
            path,
            kind: EntryKind::Dir,
            size: 0,
            mtime,
            hashes: Hashes::default(),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }

    pub fn name(&self) -> &str {
        self.path.name()
    }
}
