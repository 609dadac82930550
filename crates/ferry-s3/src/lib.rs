//! The S3 backend, compatible with rclone's `s3` remotes.
//!
//! - This crate is the store ([`S3`], an [`ferry_objstore::ObjectStore`]): the SDK's
//!   client, options, URL forms, uploads and copies. Keys map to paths under
//!   `bucket/prefix`, and listings (a directory with the `/` delimiter, a whole tree
//!   without it, page by page), directories and the `Backend` itself are
//!   [`ferry_objstore::ObjectBackend`]'s; keys that are not safe relative paths are
//!   skipped with an error line.
//! - The modification time lives in `x-amz-meta-mtime` exactly as rclone writes it
//!   (`seconds.nanoseconds`); without it, `Last-Modified` is used. Listings carry only
//!   `Last-Modified` (a provisional mtime): the real one costs a HEAD, made only when
//!   something needs it, and comes free with every GET. Changing it copies the object
//!   onto itself with new metadata.
//! - Server-side copies over `copy_cutoff` go in parts (UploadPartCopy).
//! - MD5 comes from the ETag of single-part objects, else from rclone's `md5chksum`
//!   metadata, which ferry also writes for its multipart uploads.
//! - Uploads send `Content-MD5` (whole object, or per part) and check the ETags S3 returns;
//!   a local source is hashed before a streamed or multipart upload (see [`prehash`]).
//! - Copies and moves between two S3 remotes on the same endpoint stay on the server
//!   (a move is a copy and a delete).

mod cleanup;
mod client;
mod command;
mod copy;
mod dump;
mod error;
mod headers;
mod http_flags;
mod kind;
mod link;
pub mod meta;
mod object;
pub mod options;
mod prehash;
mod put_body;
mod reach;
mod resume;
mod store;
mod upload;
mod url;

use std::collections::HashMap;
use std::sync::Mutex;

use ferry_core::{Capabilities, Features, HashKind, HashSet};
use ferry_objstore::ObjectBackend;

pub use kind::KIND;
pub use options::S3Options;

/// A bucket (or the service root) on one S3 endpoint, rooted at a prefix: the generic
/// object-store backend over [`S3`].
pub type S3Backend = ObjectBackend<S3>;

/// One S3 endpoint as an object store: the SDK's client and the remote's options
/// ([`store`] implements [`ferry_objstore::ObjectStore`] on it).
pub struct S3 {
    client: aws_sdk_s3::Client,
    opts: S3Options,
    /// Identifies the endpoint (for server-side copies and overlap checks).
    endpoint_id: String,
    /// MD5s of local sources about to be streamed up, by `bucket/key`: hashed before
    /// the upload (as rclone does) so `md5chksum` can go into the upload's metadata,
    /// with each part's MD5 for a multipart upload (see [`prehash`]).
    prehashed: Mutex<HashMap<String, prehash::Prehashed>>,
}

fn s3_features(opts: &S3Options) -> Features {
    Features {
        caps: Capabilities {
            put_returns_hashes: true,
            // No move of its own: as rclone's (its S3 has none), a move is a server-side
            // copy and a delete, logged and counted as both.
            // S3's limit on one object (10,000 parts of at most 5 GiB).
            max_object_size: Some(5 << 40),
            // Unfinished multipart uploads.
            clean_up: true,
            // Presigned URLs.
            public_link: true,
            // A copy onto itself with a new storage class, where the provider has them.
            set_tier: opts.has_storage_classes(),
            ..ferry_objstore::capabilities()
        },
        semantics: ferry_objstore::semantics([HashKind::Md5].into_iter().collect::<HashSet>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{Backend, RelPath};

    #[test]
    fn paths_split_into_bucket_and_prefix() {
        let o = S3Options::default;
        let b = S3Backend::new("bkt/a/b/", o()).unwrap();
        assert_eq!(b.bucket(), Some("bkt"));
        let t = b.target(&RelPath::new("x/y").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bkt", "a/b/x/y"));
        assert_eq!(b.describe(), "S3 bucket bkt path a/b");
        assert_eq!(b.location().path, "/bkt/a/b");
        let root = S3Backend::new("", o()).unwrap();
        assert!(root.bucket().is_none());
        let t = root.target(&RelPath::new("bk/k").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("bk", "k"));
        assert!(root.target(&RelPath::root()).is_err());
        let bare = S3Backend::new("bkt", o()).unwrap();
        assert_eq!(bare.target(&RelPath::root()).unwrap().key, "");
        assert!(bare.location().overlaps(&b.location()));
    }
}
