//! What object stores share, whatever their protocol. A store implements [`ObjectStore`]
//! (head, read, put, list a page, copy, replace metadata, delete, buckets) over its own
//! client, and [`ObjectBackend`] makes it a whole ferry backend: a root of
//! `bucket/prefix` and the keys below it ([`bucket`]), listings page by page with
//! directories only implied by keys or marker objects ([`flat`]), mtimes in user
//! metadata, and how such a store compares in a sync ([`semantics`]). S3, Google Cloud
//! Storage and Azure Blob are such stores.

mod backend;
pub mod bucket;
pub mod flat;
pub mod hasher;
pub mod store;

pub use backend::ObjectBackend;
pub use store::{ObjectStore, Page, Target, UserMeta};

use std::time::Duration;

use ferry_core::{Capabilities, CopyKind, HashSet, MetadataSupport, Semantics};

/// How an object store's objects compare: the hashes it lists, nanosecond times kept
/// in user metadata (as rclone stores them), directories that are only key prefixes
/// (so no empty directories of their own), and case-sensitive keys.
pub fn semantics(hashes: HashSet) -> Semantics {
    Semantics {
        hashes,
        modtime_precision: Some(Duration::from_nanos(1)),
        empty_dirs: false,
        bucket_dirs: true,
        case_insensitive: false,
    }
}

/// What every object store here can do: times and user metadata kept in the object's
/// metadata (changing a time is a copy of the object onto itself), uploads that appear
/// whole or not at all, ranged reads in parallel, server-side copies, one recursive
/// listing of a prefix, and an account root that lists the buckets. Each store adds its
/// own (moves, upload checks, its size limit).
pub fn capabilities() -> Capabilities {
    Capabilities {
        set_modtime: true,
        atomic_put: true,
        parallel_reads: true,
        metadata: MetadataSupport {
            read: true,
            write: true,
            user: true,
        },
        copy: CopyKind::ServerSide,
        recursive_list: true,
        bucket_roots: true,
        ..Capabilities::default()
    }
}
