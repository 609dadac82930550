//! The Google Cloud Storage backend, compatible with rclone's `google cloud storage`
//! (`gcs`) remotes, over the JSON API.
//!
//! - Object names map to paths under `bucket/prefix`; listings use the `/` delimiter, and
//!   each object's metadata (so its `mtime`) and MD5 arrive with the listing: no request
//!   per object. Recursive listings are flat and paged ([`ferry_objstore::flat`]).
//! - The modification time lives in the `mtime` metadata as rclone writes it (with
//!   gsutil's `goog-reserved-file-mtime` beside it); changing it patches the metadata.
//! - Uploads up to `chunk_size` are one multipart request carrying the MD5 (GCS checks
//!   it); bigger ones are resumable uploads sent in chunks (see [`upload`]).
//! - Copies within one endpoint stay on the server (`rewriteTo`, followed until done);
//!   moves are a copy and a delete, as rclone does them.
//! - Objects stored gzip-compressed are read as stored (rclone without `decompress`): the
//!   listed size and MD5 are those of the stored bytes, so checks still hold.
//! - Credentials: anonymous, an access token, a service account (JWT bearer grant) or
//!   the runtime's (`env_auth`); see [`auth`]. No token or key reaches a message.

mod auth;
mod client;
mod flat;
mod kind;
mod object;
pub mod options;
mod remote;
mod resume;
mod upload;
mod url;

use std::collections::HashSet as StdHashSet;
use std::sync::{Arc, Mutex};

use ferry_core::encoding::Names;
use ferry_core::{Capabilities, Error, ErrorKind, Features, HashKind, HashSet, Result};
use ferry_objstore::bucket::{split_stored_root, stored_key};

pub use crate::auth::{Credentials, KeyFile, SCOPE};
use crate::client::Client;
pub use crate::kind::KIND;
pub use crate::options::GcsOptions;

/// A bucket (or the project's root), rooted at a prefix.
pub struct GcsBackend {
    client: Arc<Client>,
    opts: GcsOptions,
    /// `None`: the root lists buckets and paths start with a bucket name.
    bucket: Option<String>,
    /// Object-name prefix of the root (stored form), without slashes at either end.
    prefix: String,
    /// How ferry's names are stored as object names.
    names: Names,
    features: Features,
    /// Buckets known to exist (checked or created).
    buckets_ok: Mutex<StdHashSet<String>>,
    /// Whether the notice about gzip-encoded objects was given (once per remote, as rclone).
    gzip_noticed: std::sync::atomic::AtomicBool,
}

/// Where one path lives.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    bucket: String,
    name: String,
}

fn gcs_features() -> Features {
    Features {
        caps: Capabilities {
            // The MD5 `put` returns is the one GCS computed of what it stored.
            put_returns_hashes: true,
            // GCS's limit on one object: 5 TiB.
            max_object_size: Some(5 << 40),
            ..ferry_objstore::capabilities()
        },
        semantics: ferry_objstore::semantics([HashKind::Md5].into_iter().collect::<HashSet>()),
    }
}

impl GcsBackend {
    /// Opens `bucket/prefix` (or the project's root for an empty path) with `opts`.
    pub fn new(path: &str, opts: GcsOptions) -> Result<Arc<Self>> {
        let client = Arc::new(Client::new(&opts)?);
        let names = Names::new(opts.encoding);
        let (bucket, prefix) = match split_stored_root(&names, path)? {
            Some((b, p)) => (Some(b), p),
            None => (None, String::new()),
        };
        if let Some(b) = &bucket {
            check_bucket_name(b)?;
        }
        Ok(Arc::new(GcsBackend {
            client,
            opts,
            bucket,
            prefix,
            names,
            features: gcs_features(),
            buckets_ok: Mutex::new(StdHashSet::new()),
            gzip_noticed: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Opens a backend from a remote's options and the environment.
    pub fn from_options(
        path: &str,
        options: &ferry_core::kind::Options,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Arc<Self>> {
        Self::new(path, GcsOptions::from_options(options, env)?)
    }

    pub fn options(&self) -> &GcsOptions {
        &self.opts
    }

    pub(crate) fn target(&self, path: &ferry_core::RelPath) -> Result<Target> {
        match &self.bucket {
            Some(b) => Ok(Target {
                bucket: b.clone(),
                name: stored_key(&self.names, &self.prefix, path)?,
            }),
            None => {
                let Some((bucket, name)) = split_stored_root(&self.names, path.as_str())? else {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        "gcs: this needs a bucket name in the path (remote:bucket/path)",
                    ));
                };
                check_bucket_name(&bucket)?;
                Ok(Target { bucket, name })
            }
        }
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
        assert_eq!((t.bucket.as_str(), t.name.as_str()), ("bkt", "a/b/x y/z"));
        let root = backend("");
        let t = root.target(&RelPath::new("bkt/k").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.name.as_str()), ("bkt", "k"));
        assert!(root.target(&RelPath::root()).is_err());
        assert!(GcsBackend::new(
            "Bad_Name/x",
            GcsOptions::from_pairs(&[("anonymous", "true")]).unwrap()
        )
        .is_err());
    }
}
