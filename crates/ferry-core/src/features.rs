//! What a backend declares about itself: what it can do ([`Capabilities`]) and how what it
//! stores behaves for a sync ([`Semantics`]). The engine plans by these, never by a
//! backend's name, and calls an optional operation only where it is declared.

use std::time::Duration;

use crate::{HashSet, MetadataSupport};

/// A backend's declaration.
#[derive(Clone, Debug, Default)]
pub struct Features {
    pub caps: Capabilities,
    pub semantics: Semantics,
}

/// Operations a backend offers beyond reading and writing whole objects.
#[derive(Clone, Debug)]
pub struct Capabilities {
    /// Whether an existing object's mtime can be changed without rewriting it.
    pub set_modtime: bool,
    /// Whether directories can hold an mtime of their own.
    pub set_dir_modtime: bool,
    /// Whether `put` writes to a temporary name and renames, so readers never see a partial file.
    pub atomic_put: bool,
    /// Whether the entry `put` returns carries the stored object's hashes (e.g. an ETag),
    /// so a hash of the streamed bytes can verify the upload.
    pub put_returns_hashes: bool,
    /// Whether [`Backend::put_ranges`](crate::Backend::put_ranges) can write one object
    /// from several streams at once.
    pub ranged_put: bool,
    /// Whether reading one object through several ranged streams at once is faster than
    /// through one (a network backend: rclone's multi-thread downloads); false where one
    /// stream already reads at full speed (local disk).
    pub parallel_reads: bool,
    /// Whether object metadata (`--metadata`) can be read, written, and hold user keys.
    pub metadata: MetadataSupport,
    /// What [`Backend::copy_from`](crate::Backend::copy_from) can do. Where it can, it may
    /// still decline one pair (`Ok(None)`: another endpoint), and the caller streams.
    pub copy: CopyKind,
    /// Whether [`Backend::move_from`](crate::Backend::move_from) can move an object
    /// without copying it (a rename, a server-side move); else callers copy and delete.
    pub moves: bool,
    /// Whether [`Backend::list_recursive`](crate::Backend::list_recursive) lists a whole
    /// tree in one go (an object store's flat listing).
    pub recursive_list: bool,
    /// Whether the root of an account (no bucket, container or share given) lists its
    /// buckets as directories.
    pub bucket_roots: bool,
    /// The largest object the backend can store, if it has a limit: a bigger source
    /// file fails at once, with no upload begun.
    pub max_object_size: Option<u64>,
    /// Whether the backend only reads (rclone's http remotes): every write (`put`,
    /// `delete_file`, `mkdir`, `rmdir`, `set_modtime`) fails, so nothing is planned
    /// that writes to it and tests check reads through what another backend wrote.
    pub read_only: bool,
}

/// How [`Backend::copy_from`](crate::Backend::copy_from) copies, when it can.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CopyKind {
    /// It can't: callers stream.
    #[default]
    None,
    /// Between files on this machine (a reflink or the kernel's copy): bytes don't pass
    /// through ferry, but it is not rclone's "server-side copy".
    Local,
    /// The server copies (no byte passes through this machine); shown as rclone's
    /// "Copied (server-side copy)" and counted as a server-side copy.
    ServerSide,
}

impl Capabilities {
    /// Whether `copy_from` is the server's copy.
    pub fn server_side_copy(&self) -> bool {
        self.copy == CopyKind::ServerSide
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            set_modtime: false,
            set_dir_modtime: false,
            atomic_put: false,
            put_returns_hashes: false,
            ranged_put: false,
            parallel_reads: false,
            metadata: MetadataSupport::default(),
            copy: CopyKind::None,
            moves: false,
            recursive_list: false,
            bucket_roots: false,
            max_object_size: None,
            read_only: false,
        }
    }
}

/// How what a backend stores compares in a sync.
#[derive(Clone, Debug)]
pub struct Semantics {
    /// Hashes the backend can produce (cheaply or by reading).
    pub hashes: HashSet,
    /// The finest modification time the backend stores; `None` if it keeps none.
    pub modtime_precision: Option<Duration>,
    /// Whether empty directories exist on their own (false for object stores).
    pub empty_dirs: bool,
    /// Whether directories are only key prefixes of a bucket (object stores): a missing
    /// one is an empty directory (only a missing bucket is "directory not found"), and an
    /// object `thing` and objects below `thing/` are two different things that coexist.
    pub bucket_dirs: bool,
    /// Whether names differing only in case are the same object.
    pub case_insensitive: bool,
}

impl Default for Semantics {
    fn default() -> Self {
        Semantics {
            hashes: HashSet::empty(),
            modtime_precision: Some(Duration::from_secs(1)),
            empty_dirs: false,
            bucket_dirs: false,
            case_insensitive: false,
        }
    }
}
