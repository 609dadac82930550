//! The Azure Blob backend, compatible with rclone's `azureblob` remotes.
//!
//! - Blob names map to paths under `container/prefix`; listings use the `/` delimiter
//!   with `include=metadata`, so each blob's `mtime` arrives with the listing (no
//!   request per blob). Names that are not safe relative paths are skipped with an error.
//! - The modification time lives in the `mtime` metadata as rclone writes it; without
//!   it, `Last-Modified` is used. MD5 is the blob's Content-MD5.
//! - Uploads are block blobs with Content-MD5 on every request (see [`upload`]).
//! - Copies and moves within one account stay on the server and keep the access tier.
//! - Requests are signed with the account's Shared Key (through `reqsign`) or carry a SAS
//!   token; neither ever reaches a log line or an error message.

mod client;
mod error;
mod kind;
pub mod listing;
pub mod meta;
pub mod options;
mod pool;
mod props;
mod store;
mod upload;
mod url;

#[cfg(test)]
mod fuzz_tests;

use std::sync::Arc;

use ferry_core::{Capabilities, Error, ErrorKind, Features, HashKind, HashSet, Result};
use ferry_objstore::{ObjectBackend, Target};

use crate::client::{Client, Req};
use crate::error::Failure;
pub use crate::kind::KIND;
pub use crate::options::AzOptions;
pub use crate::store::set_stored_md5;

/// A container (or the account's root), rooted at a prefix: the generic object-store
/// backend over [`Azure`].
pub type AzBackend = ObjectBackend<Azure>;

/// Azure Blob Storage as an object store: the signed REST client and the remote's
/// options ([`store`] implements [`ferry_objstore::ObjectStore`] on it).
pub struct Azure {
    client: Arc<Client>,
    opts: AzOptions,
}

/// The request path of a target: `/container` or `/container/blob`.
fn rest_path(t: &Target) -> String {
    if t.key.is_empty() {
        format!("/{}", t.bucket)
    } else {
        format!("/{}/{}", t.bucket, t.key)
    }
}

fn az_features() -> Features {
    Features {
        caps: Capabilities {
            // The MD5 `put` returns is of the bytes it read, not an independent record:
            // the service's own check is the Content-MD5 sent with every block.
            put_returns_hashes: false,
            // A block blob: 50,000 blocks of at most 4,000 MiB.
            max_object_size: Some(50_000 * (4000 << 20)),
            // Set Blob Tier.
            set_tier: true,
            ..ferry_objstore::capabilities()
        },
        semantics: ferry_objstore::semantics([HashKind::Md5].into_iter().collect::<HashSet>()),
    }
}

impl Azure {
    /// Refuses a root outside the container a SAS is limited to.
    fn check_sas_container(&self, container: &str) -> Result<()> {
        match &self.opts.sas_container {
            Some(limit) if limit != container => Err(Error::new(
                ErrorKind::Refused,
                format!(
                    "azureblob: the SAS URL is limited to container {limit:?}, but the path names {container:?}: start the path with {limit}/"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Sends a request; failures become errors about `op` on `path`.
    pub(crate) async fn send(&self, req: &Req, op: &str, path: &str) -> Result<reqwest::Response> {
        self.client
            .send(req)
            .await
            .map_err(|f| f.into_error(op, path, self.client.uses_sas()))
    }

    /// Like [`send`](Self::send), but hands back the failure for the caller to inspect.
    pub(crate) async fn try_send(
        &self,
        req: &Req,
    ) -> std::result::Result<reqwest::Response, Failure> {
        self.client.send(req).await
    }

    pub(crate) fn fail(&self, f: Failure, op: &str, path: &str) -> Error {
        f.into_error(op, path, self.client.uses_sas())
    }

    /// Makes sure the container exists, creating it if needed.
    async fn ensure_container(&self, container: &str) -> Result<()> {
        let path = format!("/{container}");
        let head = Req::new(http::Method::HEAD, &path).query("restype", "container");
        match self.try_send(&head).await {
            Ok(_) => {}
            Err(f) if f.is_not_found() => {
                let create = Req::new(http::Method::PUT, &path).query("restype", "container");
                match self.try_send(&create).await {
                    Ok(_) => tracing::info!("{container}: Container created"),
                    Err(f) if f.is_code("ContainerAlreadyExists") => {}
                    Err(f) => return Err(self.fail(f, "failed to create container", container)),
                }
            }
            // A container-level SAS may not allow reading the container's properties;
            // the upload that follows will say whether the container is usable.
            Err(f) if f.status == Some(403) && self.client.uses_sas() => {}
            Err(f) => return Err(self.fail(f, "failed to check container", container)),
        }
        Ok(())
    }
}

/// Azure's rule: 3-63 lowercase letters, digits and single hyphens, starting and ending
/// with a letter or digit (`$root` and `$logs` are special but valid).
fn check_container_name(name: &str) -> Result<()> {
    let ok = name.starts_with('$')
        || ((3..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--"));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidPath,
            format!(
                "azureblob: {name:?} is not a valid container name: use 3-63 lowercase letters, digits and single hyphens"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::RelPath;
    use std::time::UNIX_EPOCH;

    fn backend(path: &str) -> Arc<AzBackend> {
        AzBackend::new(
            path,
            AzOptions::from_pairs(&[("use_emulator", "true")]).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn paths_split_into_container_and_prefix() {
        let b = backend("cont/a/b/");
        let t = b.target(&RelPath::new("x y/z").unwrap()).unwrap();
        assert_eq!(rest_path(&t), "/cont/a/b/x y/z");
        let root = backend("");
        let t = root.target(&RelPath::new("cont/k").unwrap()).unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("cont", "k"));
        assert!(root.target(&RelPath::root()).is_err());
        assert_eq!(
            rest_path(&backend("cont").target(&RelPath::root()).unwrap()),
            "/cont"
        );
    }

    #[test]
    fn container_names_are_checked() {
        for bad in ["ab", "Upper", "a--b", "-ab", "with_underscore"] {
            assert!(check_container_name(bad).is_err(), "{bad}");
        }
        for good in ["abc", "a-b-c", "0123", "$logs"] {
            assert!(check_container_name(good).is_ok(), "{good}");
        }
        let e = AzBackend::new(
            "Bad_Name/x",
            AzOptions::from_pairs(&[("use_emulator", "true")]).unwrap(),
        )
        .err()
        .unwrap();
        assert!(e.message().contains("not a valid container name"), "{e}");
    }

    #[test]
    fn a_container_sas_limits_the_path() {
        let sas = || {
            AzOptions::from_pairs(&[("sas_url", "https://a.blob.core.windows.net/one?sig=x")])
                .unwrap()
        };
        assert!(AzBackend::new("one/d", sas()).is_ok());
        let root = AzBackend::new("", sas()).unwrap();
        assert_eq!(root.bucket(), Some("one"));
        let e = AzBackend::new("two/d", sas()).err().unwrap();
        assert!(e.message().contains("limited to container \"one\""), "{e}");
    }

    #[test]
    fn epoch_is_the_fallback_time() {
        assert_eq!(meta::mtime_of(&Default::default(), None), UNIX_EPOCH);
    }
}
