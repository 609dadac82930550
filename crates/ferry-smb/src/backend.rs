//! [`SmbBackend`]: ferry's `Backend` over the pool of SMB connections.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::partial::temp_name;
use ferry_core::{
    Backend, ByteStream, Capabilities, Entry, Error, ErrorKind, Features, HashKind, HashSet,
    ListPages, Location, PutOptions, RelPath, Result, Semantics,
};

use crate::dirs::Dirs;
use crate::error::{op_error, op_error_not_missing};
use crate::io::{upload, upload_error};
use crate::listing::{dir_not_found, entry};
use crate::ops;
use crate::options::SmbOptions;
use crate::paths::{clean_root, join, Place};
use crate::pool::Pool;

/// An SMB server rooted at a share and a directory in it (or at the server itself,
/// whose listing is its shares).
pub struct SmbBackend {
    pub(crate) pool: Arc<Pool>,
    /// The root as stored (encoded), `/`-separated, share first; `""`: the server.
    root: String,
    shown_root: String,
    features: Features,
    /// Set once a run is about to write here; only then do listings remove temporary
    /// files that interrupted runs left.
    writing: AtomicBool,
    /// Directories known to exist, so uploads make only the missing ones.
    dirs: Arc<Dirs>,
}

/// How long a temporary file must sit untouched before a listing removes it as a leftover.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

impl SmbBackend {
    pub fn new(opts: SmbOptions, root: &str) -> Result<SmbBackend> {
        let shown_root = clean_root(root);
        let stored = opts.names.stored_slashed(&shown_root)?.into_owned();
        let features = Features {
            caps: Capabilities {
                set_modtime: true,
                atomic_put: true,
                // Renames within one share.
                moves: true,
                // With no share given, the top level lists the server's shares.
                bucket_roots: true,
                // A big file comes down in ranges on several connections, as rclone's
                // multi-thread downloads do (one connection waited on one smbd).
                parallel_reads: true,
                ..Capabilities::default()
            },
            semantics: Semantics {
                hashes: HashSet::empty(),
                // rclone declares 1 ms for smb (the protocol keeps 100 ns).
                modtime_precision: Some(Duration::from_millis(1)),
                empty_dirs: true,
                case_insensitive: opts.case_insensitive,
                ..Semantics::default()
            },
        };
        Ok(SmbBackend {
            pool: Arc::new(Pool::new(Arc::new(opts))),
            root: stored,
            shown_root,
            features,
            writing: AtomicBool::new(false),
            dirs: Arc::default(),
        })
    }

    pub(crate) fn opts(&self) -> &SmbOptions {
        &self.pool.opts
    }

    /// Where `path` (below the root) is on the server.
    pub(crate) fn place(&self, path: &RelPath) -> Result<Place> {
        let rel = self
            .opts()
            .names
            .stored_path(path)
            .map_err(|e| e.with_path(path.to_string()))?;
        Ok(Place::of(&join(&self.root, &rel)))
    }

    /// A file or directory below a share: the server and shares themselves are neither.
    fn in_share(&self, path: &RelPath, what: &str) -> Result<Place> {
        let place = self.place(path)?;
        if place.is_top() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{what}: an SMB server's top level holds only shares, and ferry can't \
                     make or change shares — name a path inside one (smb:share/dir)"
                ),
            )
            .with_path(path.to_string()));
        }
        Ok(place)
    }

    async fn stat_place(&self, place: &Place, path: &RelPath) -> Result<Option<Entry>> {
        let (share, p) = (place.share.clone(), place.path.clone());
        let raw = self
            .pool
            .run(&place.share, |c| {
                let (s, p) = (share.clone(), p.clone());
                Box::pin(async move { ops::stat(c, &s, &p).await })
            })
            .await?
            .map_err(|e| op_error(e, "stat", path.as_str()))?;
        Ok(raw.map(|r| entry(path.clone(), &r)))
    }

    /// Removes a temporary file an interrupted run left, once it is old enough that no
    /// other run can still be writing it, and only when this run writes here.
    pub(crate) async fn remove_if_stale(
        &self,
        dir: &Place,
        name: &str,
        path: &RelPath,
        mtime: SystemTime,
    ) {
        let old = mtime.elapsed().is_ok_and(|age| age > STALE_PARTIAL);
        if !old || !self.writing.load(Ordering::Relaxed) {
            return;
        }
        let place = Place {
            share: dir.share.clone(),
            path: join_in(&dir.path, name),
        };
        if self.remove_place(&place, false).await.is_ok() {
            tracing::info!("{path}: removed a temporary file an interrupted run left");
        }
    }

    async fn remove_place(&self, place: &Place, dir: bool) -> Result<smb::Result<()>> {
        let (share, p) = (place.share.clone(), place.path.clone());
        self.pool
            .run(&place.share, |c| {
                let (s, p) = (share.clone(), p.clone());
                Box::pin(async move { ops::remove(c, &s, &p, dir).await })
            })
            .await
    }

    async fn mkdir_place(&self, share: &str, path: &str, shown: &RelPath) -> Result<()> {
        if path.is_empty() {
            return Ok(());
        }
        let (s0, p0) = (share.to_owned(), path.to_owned());
        self.pool
            .run(share, |c| {
                let (s, p) = (s0.clone(), p0.clone());
                Box::pin(async move { ops::mkdir_all(c, &s, &p, 0).await })
            })
            .await?
            .map_err(|e| op_error_not_missing(e, "make directory", shown.as_str()))
    }

    /// Makes the directory an upload found missing (see [`Dirs::make`]).
    async fn make_upload_dir(
        &self,
        share: &str,
        path: &str,
        shown: &RelPath,
        seen: u64,
    ) -> Result<()> {
        let (s0, p0, dirs) = (share.to_owned(), path.to_owned(), self.dirs.clone());
        self.pool
            .run(share, |c| {
                let (s, p, dirs) = (s0.clone(), p0.clone(), dirs.clone());
                Box::pin(async move { dirs.make(c, &s, &p, seen).await })
            })
            .await?
            .map_err(|e| op_error_not_missing(e, "make directory", shown.as_str()))
    }

    /// Renames `from` to `to` in one share, making `to`'s directory if it is missing.
    async fn rename_place(&self, from: &Place, to: &Place, shown: &RelPath) -> Result<()> {
        let (share, f, t) = (to.share.clone(), from.path.clone(), to.path.clone());
        let first = self
            .pool
            .run(&share, |c| {
                let (s, f, t) = (share.clone(), f.clone(), t.clone());
                Box::pin(async move { ops::rename(c, &s, &f, &t).await })
            })
            .await?;
        match first {
            Ok(()) => return Ok(()),
            Err(e) if !crate::error::is_missing(&e) || to.parent().is_empty() => {
                return Err(op_error(e, "rename", shown.as_str()))
            }
            Err(_) => {}
        }
        // The target's directory may be missing: make it and try once more.
        self.mkdir_place(&to.share, to.parent(), shown).await?;
        self.pool
            .run(&share, |c| {
                let (s, f, t) = (share.clone(), f.clone(), t.clone());
                Box::pin(async move { ops::rename(c, &s, &f, &t).await })
            })
            .await?
            .map_err(|e| op_error(e, "rename", shown.as_str()))
    }

    /// Writes `data` to `temp` with its time set, then renames it to `target`.
    async fn store(
        &self,
        path: &RelPath,
        target: &Place,
        temp: &Place,
        mut data: ByteStream,
        opts: &PutOptions,
    ) -> Result<Entry> {
        let idle = self.opts().timeouts.idle;
        let mut lease = self.pool.get(&temp.share).await?;
        let mut made_dir = false;
        let sent = loop {
            let seen = self.dirs.now();
            match upload(&lease, temp, &mut data, opts.mtime, idle).await {
                Ok(n) => {
                    self.pool.give_back(lease);
                    self.dirs.note(&temp.share, temp.parent());
                    break n;
                }
                // Only the create can fail this way, before any byte was read.
                Err(crate::io::UploadFail::Server(e))
                    if crate::error::is_missing(&e) && !made_dir && !temp.parent().is_empty() =>
                {
                    made_dir = true;
                    self.pool.give_back(lease);
                    self.make_upload_dir(&temp.share, temp.parent(), path, seen)
                        .await?;
                    lease = self.pool.get(&temp.share).await?;
                }
                Err(fail) => {
                    let lost = matches!(&fail, crate::io::UploadFail::Server(e) if crate::error::is_lost(e));
                    if lost {
                        drop(lease);
                    } else {
                        self.pool.give_back(lease);
                    }
                    self.discard(temp).await;
                    return Err(upload_error(fail, path.as_str()));
                }
            }
        };
        if sent != opts.size {
            self.discard(temp).await;
            return Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "upload: {sent} bytes arrived, {} expected (the source changed?)",
                    opts.size
                ),
            )
            .with_path(path.to_string()));
        }
        if temp != target {
            ferry_core::crash::point(ferry_core::crash::TEMP_WRITTEN);
            if let Err(e) = self.rename_place(temp, target, path).await {
                self.discard(temp).await;
                return Err(e);
            }
        }
        self.stat_place(target, path).await?.ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                "upload: the file is not there after it was stored",
            )
            .with_path(path.to_string())
        })
    }

    /// Removes a file that must not stay (a failed upload's temporary file), best effort
    /// and on a fresh connection if need be.
    async fn discard(&self, place: &Place) {
        let _ = self.remove_place(place, false).await;
    }
}

fn join_in(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}\\{name}")
    }
}

#[async_trait]
impl Backend for SmbBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let o = self.opts();
        Location {
            namespace: format!("smb://{}@{}", o.account(), o.target()),
            path: format!("/{}", self.shown_root)
                .trim_end_matches('/')
                .to_owned(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "SMB server at {} path {:?}",
            self.opts().target(),
            self.shown_root
        )
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let place = self.place(path)?;
        if place.share.is_empty() {
            return Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time())));
        }
        if place.is_top() {
            // A share: there if a connection to it can be made.
            return match self.pool.get(&place.share).await {
                Ok(lease) => {
                    self.pool.give_back(lease);
                    Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time())))
                }
                Err(e) if e.kind() == ErrorKind::DirNotFound => Ok(None),
                Err(e) => Err(e),
            };
        }
        self.stat_place(&place, path).await
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // smb-rs hands a directory over whole: one page.
        ferry_core::listing::one_page(async move { self.read_dir(&dir).await })
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let place = self.in_share(path, "download")?;
        crate::io::download(self.pool.clone(), place, path.to_string(), offset, len).await
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let target = self.in_share(path, "upload")?;
        let temp = if opts.inplace {
            target.clone()
        } else {
            let name = self
                .opts()
                .names
                .stored(&temp_name(path.name()))?
                .into_owned();
            target.sibling(&name)
        };
        self.store(path, &target, &temp, data, opts).await
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(src_smb) = src.as_any().downcast_ref::<SmbBackend>() else {
            return Ok(None);
        };
        let (a, b) = (src_smb.opts(), self.opts());
        if (&a.host, a.port, a.account()) != (&b.host, b.port, b.account()) {
            return Ok(None);
        }
        let from = src_smb.in_share(src_path, "move")?;
        let to = self.in_share(dst_path, "move")?;
        if from.share != to.share {
            return Ok(None); // SMB renames within one share only
        }
        self.rename_place(&from, &to, dst_path).await?;
        self.stat_place(&to, dst_path)
            .await?
            .map(Some)
            .ok_or_else(|| Error::not_found(dst_path.to_string()))
    }

    async fn prepare_write(&self) {
        self.writing.store(true, Ordering::Relaxed);
    }

    async fn hash(&self, _path: &RelPath, _kind: HashKind) -> Result<Option<String>> {
        Ok(None)
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let place = self.in_share(path, "set modification time")?;
        let (share, p) = (place.share.clone(), place.path.clone());
        self.pool
            .run(&place.share, |c| {
                let (s, p) = (share.clone(), p.clone());
                Box::pin(async move { ops::set_time(c, &s, &p, mtime).await })
            })
            .await?
            .map_err(|e| op_error(e, "set modification time", path.as_str()))
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let place = self.in_share(path, "delete")?;
        self.remove_place(&place, false)
            .await?
            .map_err(|e| op_error(e, "delete", path.as_str()))
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        let place = self.place(dir)?;
        if place.share.is_empty() {
            return Ok(());
        }
        if place.is_top() {
            // rclone makes nothing for a share: it must exist.
            return match self.stat(dir).await? {
                Some(_) => Ok(()),
                None => Err(dir_not_found(dir)),
            };
        }
        self.mkdir_place(&place.share, &place.path, dir).await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        let place = self.in_share(dir, "remove directory")?;
        self.dirs.forget(&place.share, &place.path);
        match self.remove_place(&place, true).await? {
            Ok(()) => Ok(()),
            Err(e) if crate::error::is_missing(&e) => Err(dir_not_found(dir)),
            Err(e) => Err(op_error_not_missing(e, "remove directory", dir.as_str())),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::kind::Options;

    fn backend(root: &str) -> SmbBackend {
        let o = Options::from_pairs(&crate::KIND, [("host", "h"), ("user", "u")]);
        SmbBackend::new(SmbOptions::from_options(&o).unwrap(), root).unwrap()
    }

    fn rel(p: &str) -> RelPath {
        RelPath::new(p).unwrap()
    }

    #[test]
    fn the_first_segment_is_the_share_and_names_are_encoded() {
        let b = backend("share/dir");
        let p = b.place(&rel("a/b")).unwrap();
        assert_eq!((p.share.as_str(), p.path.as_str()), ("share", "dir\\a\\b"));
        let p = backend("").place(&rel("s/x")).unwrap();
        assert_eq!((p.share.as_str(), p.path.as_str()), ("s", "x"));
        assert!(backend("")
            .place(&RelPath::root())
            .unwrap()
            .share
            .is_empty());
        assert!(backend("/s/").place(&RelPath::root()).unwrap().is_top());
        // Windows can't store `:`, `?` or a trailing period: rclone's encoding.
        let p = backend("s").place(&rel("a:b?c.")).unwrap();
        assert_eq!(p.path, "a：b？c．");
        assert_eq!(backend("s/d").location().path, "/s/d");
        assert_eq!(backend("").location().namespace, "smb://WORKGROUP\\u@h:445");
        let f = backend("s").features().clone();
        assert_eq!(
            f.semantics.modtime_precision,
            Some(Duration::from_millis(1))
        );
        assert!(f.caps.atomic_put && f.semantics.empty_dirs && f.semantics.case_insensitive);
    }
}
