//! The Google Cloud Storage backend, compatible with rclone's `google cloud storage`
//! (`gcs`) remotes, over the JSON API.
//!
//! - This crate is the store ([`Gcs`], an [`ferry_objstore::ObjectStore`]): the JSON
//!   API's requests and answers. Object names map to paths under `bucket/prefix`, and
//!   listings, directories and the `Backend` itself are [`ferry_objstore::ObjectBackend`]'s.
//! - Listings use the `/` delimiter (a sync's walk of a small tree: one recursive listing,
//!   see [`ferry_objstore::ObjectBackend`]), and each object's metadata (so its `mtime`)
//!   and MD5 arrive with the listing: no request per object.
//! - The modification time lives in the `mtime` metadata as rclone writes it (with
//!   gsutil's `goog-reserved-file-mtime` beside it); changing it patches the metadata.
//! - Uploads up to `chunk_size` are one multipart request carrying the MD5 and CRC32C (GCS
//!   checks them); bigger ones are resumable uploads sent in chunks whose last request
//!   carries both (see [`upload`]).
//! - A download of an object without an MD5 (a composite object) is checked against its
//!   CRC32C (see [`checksum`]); only MD5 is a hash ferry shows, as rclone.
//! - Copies within one endpoint stay on the server (`rewriteTo`, followed until done);
//!   moves are a copy and a delete, as rclone does them.
//! - Objects stored gzip-compressed are read as stored (rclone without `decompress`): the
//!   listed size and MD5 are those of the stored bytes, so checks still hold. With
//!   `decompress` they are decompressed as read ([`gunzip`]) and list with an unknown
//!   size and no MD5, as rclone lists them (-1).
//! - With `directory_markers`, `dir/` objects keep empty directories, as rclone writes
//!   them ([`ferry_objstore::ObjectBackend`] makes and removes them).
//! - Credentials: anonymous, an access token, a service account (JWT bearer grant) or
//!   the runtime's (`env_auth`); see [`auth`]. No token or key reaches a message.

mod auth;
mod checksum;
mod client;
mod gunzip;
mod kind;
mod object;
pub mod options;
mod resume;
mod store;
mod upload;
mod url;

use std::sync::atomic::AtomicBool;

use ferry_core::{Capabilities, Error, ErrorKind, Features, HashKind, HashSet, Result};
use ferry_objstore::ObjectBackend;

pub use crate::auth::{Credentials, KeyFile, SCOPE};
use crate::client::Client;
pub use crate::kind::KIND;
pub use crate::options::GcsOptions;

/// A bucket (or the project's root), rooted at a prefix: the generic object-store
/// backend over [`Gcs`].
pub type GcsBackend = ObjectBackend<Gcs>;

/// Google Cloud Storage as an object store: the JSON API's client and the remote's
/// options ([`store`] implements [`ferry_objstore::ObjectStore`] on it).
pub struct Gcs {
    client: Client,
    opts: GcsOptions,
    /// Whether the notice about gzip-encoded objects was given (once per remote, as rclone).
    gzip_noticed: AtomicBool,
}

fn gcs_features(opts: &GcsOptions) -> Features {
    Features {
        caps: Capabilities {
            // The MD5 `put` returns is the one GCS computed of what it stored.
            put_returns_hashes: true,
            // No move of its own, as rclone's (Copy and no Move): a move is a server-side
            // copy (rewrite) and a delete, logged and counted as both; --track-renames,
            // --backup-dir and case fixes still copy on the server.
            // GCS's limit on one object: 5 TiB.
            max_object_size: Some(5 << 40),
            ..ferry_objstore::capabilities()
        },
        semantics: ferry_core::Semantics {
            // Markers keep empty directories (rclone's CanHaveEmptyDirectories).
            empty_dirs: opts.directory_markers,
            ..ferry_objstore::semantics([HashKind::Md5].into_iter().collect::<HashSet>())
        },
    }
}

/// GCS's rule, loosely: 3-222 characters of lowercase letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit. (The server has the last word.)
fn check_bucket_name(name: &str) -> Result<()> {
    let ok = (3..=222).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidPath,
            format!("gcs: {name:?} is not a valid bucket name: use 3-63 lowercase letters, digits, dashes, underscores and dots"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::RelPath;
    use std::sync::Arc;

    fn backend(path: &str) -> Arc<GcsBackend> {
        GcsBackend::new(
            path,
            GcsOptions::from_pairs(&[("anonymous", "true")]).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn paths_split_into_bucket_and_prefix() {
        let b = backend("bkt/a/b/");
        let t = b.target(&RelPath::new("x y/z").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", "a/b/x y/z"));
        let root = backend("");
        let t = root.target(&RelPath::new("bkt/k").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", "k"));
        assert!(root.target(&RelPath::root()).is_err());
        assert!(GcsBackend::new(
            "Bad_Name/x",
            GcsOptions::from_pairs(&[("anonymous", "true")]).unwrap()
        )
        .is_err());
    }
}
