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
    /// Whether rclone sets a listed directory's time through the directory itself (its
    /// log says "using SetModTime", else "using DirSetModTime"): only its local
    /// backend's directories can.
    pub listed_dir_modtime: bool,
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
    /// Whether [`Backend::clean_up`](crate::Backend::clean_up) has something to clean
    /// (rclone's `cleanup`: S3's unfinished multipart uploads).
    pub clean_up: bool,
    /// Whether [`Backend::public_link`](crate::Backend::public_link) can make a link
    /// (rclone's `link`: a presigned URL on S3).
    pub public_link: bool,
    /// Whether [`Backend::set_tier`](crate::Backend::set_tier) can change an object's
    /// storage tier (rclone's `settier`: S3's storage class, Azure's access tier).
    pub set_tier: bool,
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
            listed_dir_modtime: false,
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
            clean_up: false,
            public_link: false,
            set_tier: false,
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

impl Features {
    /// What an overlay over several backends (union, combine) can promise: an operation
    /// only where every one of them offers it, hashes they all have, the coarsest
    /// modification time, and each rule of comparison that any of them imposes.
    pub fn shared<'a>(all: impl IntoIterator<Item = &'a Features>) -> Features {
        let all: Vec<&Features> = all.into_iter().collect();
        let every = |f: fn(&Features) -> bool| !all.is_empty() && all.iter().all(|x| f(x));
        let any = |f: fn(&Features) -> bool| all.iter().any(|x| f(x));
        let copy = all
            .iter()
            .map(|f| f.caps.copy)
            .min_by_key(|k| match k {
                CopyKind::None => 0,
                CopyKind::Local => 1,
                CopyKind::ServerSide => 2,
            })
            .unwrap_or_default();
        let hashes = all
            .iter()
            .map(|f| f.semantics.hashes)
            .reduce(HashSet::intersect)
            .unwrap_or_else(HashSet::empty);
        let modtime_precision = all
            .iter()
            .map(|f| f.semantics.modtime_precision)
            .try_fold(Duration::ZERO, |acc, p| p.map(|p| acc.max(p)));
        Features {
            caps: Capabilities {
                set_modtime: every(|f| f.caps.set_modtime),
                set_dir_modtime: every(|f| f.caps.set_dir_modtime),
                listed_dir_modtime: every(|f| f.caps.listed_dir_modtime),
                atomic_put: every(|f| f.caps.atomic_put),
                put_returns_hashes: every(|f| f.caps.put_returns_hashes),
                ranged_put: every(|f| f.caps.ranged_put),
                parallel_reads: any(|f| f.caps.parallel_reads),
                metadata: MetadataSupport {
                    read: every(|f| f.caps.metadata.read),
                    write: every(|f| f.caps.metadata.write),
                    user: every(|f| f.caps.metadata.user),
                },
                copy,
                moves: every(|f| f.caps.moves),
                recursive_list: every(|f| f.caps.recursive_list),
                bucket_roots: false,
                max_object_size: all.iter().filter_map(|f| f.caps.max_object_size).min(),
                read_only: every(|f| f.caps.read_only),
                // Not delegated to the members (rclone's union and combine do).
                clean_up: false,
                public_link: false,
                set_tier: false,
            },
            semantics: Semantics {
                hashes,
                modtime_precision,
                empty_dirs: every(|f| f.semantics.empty_dirs),
                bucket_dirs: any(|f| f.semantics.bucket_dirs),
                case_insensitive: any(|f| f.semantics.case_insensitive),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashKind;

    #[test]
    fn shared_features_keep_what_every_backend_offers() {
        let mut a = Features::default();
        a.caps.set_modtime = true;
        a.caps.copy = CopyKind::ServerSide;
        a.semantics.hashes = [HashKind::Md5].into_iter().collect();
        a.semantics.modtime_precision = Some(Duration::from_nanos(1));
        let mut b = Features::default();
        b.caps.copy = CopyKind::Local;
        b.semantics.hashes = [HashKind::Md5, HashKind::Sha1].into_iter().collect();
        b.semantics.bucket_dirs = true;
        let s = Features::shared([&a, &b]);
        assert!(!s.caps.set_modtime);
        assert_eq!(s.caps.copy, CopyKind::Local);
        assert_eq!(
            s.semantics.hashes.iter().collect::<Vec<_>>(),
            [HashKind::Md5]
        );
        assert_eq!(s.semantics.modtime_precision, Some(Duration::from_secs(1)));
        assert!(s.semantics.bucket_dirs);
        b.semantics.modtime_precision = None;
        assert_eq!(Features::shared([&a, &b]).semantics.modtime_precision, None);
    }
}
