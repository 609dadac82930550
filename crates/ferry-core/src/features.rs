use std::time::Duration;

use crate::{HashSet, MetadataSupport};

/// What a backend can do. The engine plans by these, never by the backend's name.
#[derive(Clone, Debug)]
pub struct Features {
    /// Hashes the backend can produce (cheaply or by reading).
    pub hashes: HashSet,
    /// The finest modification time the backend stores; `None` if it keeps none.
    pub modtime_precision: Option<Duration>,
    /// Whether an existing object's mtime can be changed without rewriting it.
    pub can_set_modtime: bool,
    /// Whether directories can hold an mtime of their own.
    pub can_set_dir_modtime: bool,
    /// Whether empty directories exist on their own (false for object stores).
    pub empty_dirs: bool,
    /// Whether directories are only key prefixes of a bucket (object stores): a missing
    /// one is an empty directory (only a missing bucket is "directory not found"), and an
    /// object `thing` and objects below `thing/` are two different things that coexist.
    pub bucket_dirs: bool,
    /// Whether names differing only in case are the same object.
    pub case_insensitive: bool,
    /// Whether `put` writes to a temporary name and renames, so readers never see a partial file.
    pub atomic_put: bool,
    /// Whether the entry `put` returns carries the stored object's hashes (e.g. an ETag),
    /// so a hash of the streamed bytes can verify the upload.
    pub put_returns_hashes: bool,
    /// Whether [`Backend::put_ranges`](crate::Backend::put_ranges) can write one object
    /// from several streams at once.
    pub ranged_put: bool,
    /// Whether object metadata (`--metadata`) can be read, written, and hold user keys.
    pub metadata: MetadataSupport,
    /// Whether [`Backend::copy_from`](crate::Backend::copy_from) has the server copy (no
    /// byte passes through this machine), as opposed to a local fast path; shown as
    /// rclone's "Copied (server-side copy)" and counted as a server-side copy.
    pub server_side_copy: bool,
    /// Whether reading one object through several ranged streams at once is faster than
    /// through one (a network backend: rclone's multi-thread downloads); false where one
    /// stream already reads at full speed (local disk).
    pub parallel_reads: bool,
    /// Whether the backend only reads (rclone's http remotes): every write (`put`,
    /// `delete_file`, `mkdir`, `rmdir`, `set_modtime`) fails, so nothing is planned
    /// that writes to it and tests check reads through what another backend wrote.
    pub read_only: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            hashes: HashSet::empty(),
            modtime_precision: Some(Duration::from_secs(1)),
            can_set_modtime: false,
            can_set_dir_modtime: false,
            empty_dirs: false,
            bucket_dirs: false,
            case_insensitive: false,
            atomic_put: false,
            put_returns_hashes: false,
            ranged_put: false,
            metadata: MetadataSupport::default(),
            server_side_copy: false,
            parallel_reads: false,
            read_only: false,
        }
    }
}
