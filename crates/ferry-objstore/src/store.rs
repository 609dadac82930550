//! The few operations an object store really offers, as one trait: each backend crate
//! implements it over its client (signing, HTTP, error mapping), and
//! [`ObjectBackend`](crate::ObjectBackend) turns it into a whole ferry
//! [`Backend`](ferry_core::Backend).
//!
//! Requests name an object by [`Target`] (bucket and stored key); the store never sees
//! ferry's paths except as the `path` its messages name. What the store says about one
//! object is its own type ([`ObjectStore::Object`]): a HEAD's headers or a listing's
//! item, turned into an [`Entry`] and [`Metadata`] by the store's rules.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::command::{CommandCall, CommandHelp, CommandOutput};
use ferry_core::encoding::Encoding;
use ferry_core::{
    Backend, ByteStream, Entry, Features, HashKind, Metadata, PutOptions, RelPath, Result,
};

/// Where one object lives: its bucket (container) and its stored key ("" for the
/// bucket itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub key: String,
}

/// One page of a listing: objects, the common prefixes of a delimited listing (each
/// ending in `/`), the token of the next page (`None` after the last), and the names
/// the store could not read (S3's URL-encoded keys that don't decode), which the
/// listing reports as its errors.
#[derive(Debug)]
pub struct Page<O> {
    pub objects: Vec<O>,
    pub prefixes: Vec<String>,
    pub next: Option<String>,
    pub skipped: Vec<ferry_core::Error>,
}

impl<O> Default for Page<O> {
    fn default() -> Self {
        Page {
            objects: Vec::new(),
            prefixes: Vec::new(),
            next: None,
            skipped: Vec::new(),
        }
    }
}

/// User metadata as a store keeps it (key → value), without its header prefix.
pub type UserMeta = BTreeMap<String, String>;

/// An object store, as [`ObjectBackend`](crate::ObjectBackend) drives it.
///
/// A missing object is `Ok(None)` from [`head`](Self::head); a missing bucket is an
/// error of kind `DirNotFound` from [`list`](Self::list). Everything else a store
/// answers is mapped to ferry's error kinds by the store (temporary or not), naming the
/// operation and the path, never a secret.
#[async_trait]
pub trait ObjectStore: Send + Sync + Sized + 'static {
    /// The remote's options, as the backend crate parses them.
    type Options: Send + Sync;
    /// What a HEAD or a listing says about one object.
    type Object: Send + Sync;

    /// How messages name the account's root ("a GCS project").
    const ROOT_NAME: &'static str;
    /// How messages name one object, with its article ("an object", "a blob").
    const OBJECT_NAME: &'static str;
    /// The remote type's name in messages (`gcs`, `azureblob`).
    const TYPE_NAME: &'static str;
    /// How messages name a bucket (`bucket`, `container`).
    const BUCKET_NAME: &'static str;
    /// The size a listing gives the directories the server names (a delimited
    /// listing's prefixes, a flat listing's `dir/` markers): rclone's S3 and GCS say 0,
    /// Azure Blob leaves it unknown. Directories only implied by longer keys have none.
    const LISTED_DIR_SIZE: Option<u64> = None;
    /// Whether the service itself refuses to delete a bucket that holds objects (S3's
    /// `BucketNotEmpty`): rmdir then asks no listing first.
    const BUCKET_DELETE_CHECKS_EMPTY: bool = false;
    /// Whether rmdir of a directory below a bucket looks at it (rclone's S3): it
    /// deletes the `dir/` marker object when that is all the prefix holds, and refuses
    /// a prefix that holds more. Otherwise such a directory is only a prefix, gone with
    /// its last object, and rmdir asks nothing.
    const RMDIR_REMOVES_MARKER: bool = false;

    // --- opening -----------------------------------------------------------------------

    /// A client for `opts` (no request is made yet).
    fn connect(opts: Self::Options) -> Result<Self>;
    /// Parses a remote's options (the environment is read only where they say so).
    fn options_from(
        options: &ferry_core::kind::Options,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self::Options>;
    fn options(&self) -> &Self::Options;
    /// How ferry's names are stored as keys.
    fn encoding(&self) -> Encoding;
    /// What this store can do and how its objects compare (its declared extras on top
    /// of [`capabilities`](crate::capabilities)).
    fn features(&self) -> Features;
    /// The bucket of a root that names none (an Azure SAS limited to one container).
    fn default_bucket(&self) -> Option<String> {
        None
    }
    /// Refuses a bucket name the service would refuse.
    fn check_bucket_name(name: &str) -> Result<()>;
    /// Refuses the bucket a root names (by default: by its name only).
    fn check_root_bucket(&self, bucket: &str) -> Result<()> {
        Self::check_bucket_name(bucket)
    }
    /// The namespace of [`Location`](ferry_core::Location)s (one per endpoint).
    fn namespace(&self) -> String;
    /// A human description of a root, in rclone's words.
    fn describe(&self, bucket: Option<&str>, prefix: &str) -> String;
    /// Whether a server-side copy from `other` can read its objects (same endpoint,
    /// same credentials).
    fn same_service(&self, other: &Self) -> bool;
    /// How many objects one listing request asks for.
    fn list_chunk(&self) -> u32;
    /// rclone's `directory_markers`: `mkdir` (and each upload, for its directory) writes
    /// an empty `dir/` object so the directory persists empty, and `rmdir` removes it.
    fn directory_markers(&self) -> bool {
        false
    }

    // --- objects, as the store describes them ---------------------------------------------

    /// The object's full stored key.
    fn key(o: &Self::Object) -> &str;
    /// Whether the object is a directory marker without a trailing slash (Azure's
    /// `hdi_isfolder` blobs); a key ending in `/` always is one.
    fn is_folder_marker(_o: &Self::Object) -> bool {
        false
    }
    /// The object as an entry at `path`: size, mtime (from the user metadata the store
    /// keeps it in, else the service's time), hashes, tier, version.
    fn entry(o: &Self::Object, path: RelPath) -> Entry;
    /// A hash the object's description carries (e.g. its MD5).
    fn hash(o: &Self::Object, kind: HashKind) -> Option<String>;
    /// The object's metadata with rclone's key names.
    fn metadata(o: &Self::Object) -> Metadata;
    /// The user metadata the object keeps, as stored.
    fn user_metadata(o: &Self::Object) -> UserMeta;
    /// The user-metadata keys and values recording `mtime`, as rclone writes them (the
    /// store says its key names and format).
    fn mtime_metadata(mtime: SystemTime) -> Vec<(String, String)>;

    // --- requests -----------------------------------------------------------------------

    /// HEAD (or GET of the resource) of one object; `Ok(None)` if there is none.
    async fn head(&self, t: &Target, path: &str) -> Result<Option<Self::Object>>;
    /// One page of the objects under `prefix`, delimited by `/` or flat (every key, in
    /// key order), at most `max`, from `token`.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimited: bool,
        max: u32,
        token: Option<String>,
        path: &str,
    ) -> Result<Page<Self::Object>>;
    /// One page of the account's buckets: names and creation times where known.
    async fn list_buckets(
        &self,
        token: Option<String>,
    ) -> Result<Page<(String, Option<SystemTime>)>>;
    /// Whether the bucket exists (the store may fall back to listing where its
    /// credentials can't read the bucket's properties).
    async fn bucket_exists(&self, bucket: &str) -> Result<bool>;
    /// Makes sure the bucket exists before a write, creating it if needed (called once
    /// per bucket; the backend remembers).
    async fn ready_bucket(&self, bucket: &str) -> Result<()>;
    /// Removes an (empty) bucket.
    async fn delete_bucket(&self, bucket: &str) -> Result<()>;
    /// Reads the object from `offset`, at most `len` bytes (`len` is not 0); a range
    /// past the end reads as empty.
    async fn read(
        &self,
        t: &Target,
        offset: u64,
        len: Option<u64>,
        path: &RelPath,
    ) -> Result<ByteStream>;
    /// [`read`](Self::read), plus what the answer told about the object as an entry
    /// at `path` (an S3 GET carries a HEAD's headers), so a listing's provisional mtime
    /// needs no HEAD. By default: nothing beyond the bytes.
    async fn read_entry(
        &self,
        t: &Target,
        offset: u64,
        len: Option<u64>,
        path: &RelPath,
    ) -> Result<(ByteStream, Option<Entry>)> {
        Ok((self.read(t, offset, len, path).await?, None))
    }
    /// Called when a copy to `t` comes from a backend of another kind, just before the
    /// caller streams it with [`put`](Self::put): the store may read what it needs of
    /// the source first (S3 hashes a local file, part by part, so the upload sends
    /// Content-MD5s). By default: nothing.
    async fn prepare_upload(
        &self,
        _src: &dyn Backend,
        _src_path: &RelPath,
        _t: &Target,
        _opts: &PutOptions,
    ) -> Result<()> {
        Ok(())
    }
    /// Whether the coming [`put`](Self::put) to `t` checks every stored byte against
    /// the source's hashes, listed or taken before it ([`Backend::put_verifies`]). By
    /// default: no.
    fn put_verifies(&self, _t: &Target, _opts: &PutOptions) -> bool {
        false
    }
    /// Moves the object at `t` to the tier `tier`, keeping its data and metadata (see
    /// [`Backend::set_tier`]). Called only where the store's features say it can.
    async fn set_tier(&self, _t: &Target, path: &RelPath, _tier: &str) -> Result<()> {
        Err(ferry_core::Error::unsupported("settier is not supported").with_path(path.to_string()))
    }
    /// Replaces the object's index tags (see [`Backend::set_tags`]). By default: none.
    async fn set_tags(
        &self,
        _t: &Target,
        path: &RelPath,
        _tags: &[(String, String)],
    ) -> Result<()> {
        Err(
            ferry_core::Error::unsupported("index tags are not supported")
                .with_path(path.to_string()),
        )
    }
    /// `--header-upload`, as metadata laid over every upload's own
    /// ([`ferry_core::metadata::from_upload_headers`]). By default: none.
    fn upload_metadata(&self) -> Option<&Metadata> {
        None
    }
    /// Stores a whole object (one request or an upload session, as the store decides),
    /// visible only once complete.
    async fn put(
        &self,
        t: &Target,
        path: &RelPath,
        data: ByteStream,
        opts: &PutOptions,
    ) -> Result<Entry>;
    /// Copies `s` of `src` to `d` on the server, with the metadata `opts` asks for.
    /// `Ok(None)`: not possible for this object; the caller streams it.
    async fn copy(
        &self,
        src: &Self,
        s: &Target,
        d: &Target,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>>;
    /// Replaces the user metadata of `o` (at `t`) with `meta`, keeping its content.
    async fn replace_metadata(
        &self,
        t: &Target,
        o: &Self::Object,
        meta: UserMeta,
        path: &str,
    ) -> Result<()>;
    /// Deletes one object.
    async fn delete(&self, t: &Target, path: &str) -> Result<()>;

    /// A presigned GET of the object, valid for `expire` (`None`: the longest allowed);
    /// `shown` names the remote in what is logged. Where the store's features say.
    async fn presign_get(
        &self,
        _t: &Target,
        _expire: Option<Duration>,
        _shown: &str,
    ) -> Result<String> {
        Err(ferry_core::Error::unsupported("no public links"))
    }

    /// rclone's `cleanup` of one bucket below `prefix`, where the store's features say
    /// it has one.
    async fn clean_up(&self, _bucket: &str, _prefix: &str) -> Result<()> {
        Ok(())
    }

    /// The store's own commands (`backend COMMAND remote:`).
    fn commands(&self) -> &'static [CommandHelp] {
        &[]
    }

    /// Runs one of [`commands`](Self::commands) on the buckets and prefix of `scope`.
    async fn command(&self, _scope: &Scope, call: &CommandCall) -> Result<CommandOutput> {
        Err(ferry_core::Error::unsupported(format!(
            "{:?} command not found",
            call.name
        )))
    }
}

/// Where a store's own command acts: the remote's bucket and prefix, or at an account's
/// root every bucket (with an empty prefix).
#[derive(Debug, Clone)]
pub struct Scope {
    /// The buckets, in the store's order.
    pub buckets: Vec<String>,
    /// The key prefix below each, as the remote's path gives it (no slash at either
    /// end; empty at a bucket's root).
    pub prefix: String,
    /// Whether the remote names no bucket (the account's root).
    pub account_root: bool,
    /// The remote, as messages name it (`S3 bucket b path p`).
    pub shown: String,
}
