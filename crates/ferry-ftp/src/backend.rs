//! [`FtpBackend`]: ferry's `Backend` over the pool of FTP connections.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ferry_core::partial::{is_temp_name, temp_name};
use ferry_core::{
    Backend, ByteStream, Capabilities, Entry, Error, ErrorKind, Features, HashKind, HashSet,
    ListPages, Listing, Location, PutOptions, RelPath, Result, Semantics,
};

use crate::conn::tls_config;
use crate::dirs::Dirs;
use crate::error::{op_error, op_error_not_missing};
use crate::listing::{Line, RawEntry};
use crate::ops;
use crate::options::FtpOptions;
use crate::pool::Pool;
use crate::put::store;

/// An FTP server rooted at one directory (relative to the login directory unless it
/// starts with `/`, as rclone reads it).
pub struct FtpBackend {
    pub(crate) pool: Arc<Pool>,
    /// The root as stored (encoded), without a trailing slash; `""`: the login directory.
    pub(crate) root: String,
    shown_root: String,
    with_times: Features,
    without_times: Features,
    /// Set once a run is about to write here; only then do listings remove temporary
    /// files that interrupted runs left.
    writing: AtomicBool,
    /// Directories known to exist, so uploads make only the missing ones.
    pub(crate) dirs: Arc<Dirs>,
}

/// How long a temporary file must sit untouched before a listing removes it as a leftover.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

impl FtpBackend {
    pub fn new(opts: FtpOptions, root: &str) -> Result<FtpBackend> {
        let tls = tls_config(&opts)?;
        let trimmed = clean_root(root);
        let stored = opts.names.stored_slashed(&trimmed)?.into_owned();
        let with_times = Features {
            caps: Capabilities {
                set_modtime: true,
                atomic_put: true,
                moves: true,
                // A big file comes down in ranges (REST + RETR) on several connections,
                // as rclone's multi-thread downloads do: one data connection ran at one
                // pure-ftpd process's speed (256 MiB: 1.4-5.7 s, rclone 0.9-1.4 s). Not
                // under a `concurrency` limit: every range holds a connection until it
                // is read, and the ranges are all opened before any is read, so a
                // limit below the streams would wait forever.
                parallel_reads: opts.concurrency == 0,
                ..Capabilities::default()
            },
            semantics: Semantics {
                hashes: HashSet::empty(),
                modtime_precision: Some(Duration::from_secs(1)),
                empty_dirs: true,
                ..Semantics::default()
            },
        };
        let mut without_times = with_times.clone();
        without_times.semantics.modtime_precision = None;
        without_times.caps.set_modtime = false;
        Ok(FtpBackend {
            pool: Arc::new(Pool::new(Arc::new(opts), tls)),
            root: stored,
            shown_root: trimmed,
            with_times,
            without_times,
            writing: AtomicBool::new(false),
            dirs: Arc::default(),
        })
    }

    pub(crate) fn opts(&self) -> &FtpOptions {
        &self.pool.opts
    }

    /// The stored path of `path` below the root.
    pub(crate) fn stored(&self, path: &RelPath) -> Result<String> {
        let rel = self
            .opts()
            .names
            .stored_path(path)
            .map_err(|e| e.with_path(path.to_string()))?;
        Ok(match (self.root.as_str(), rel.as_ref()) {
            (root, "") => root.to_owned(),
            ("", rel) => rel.to_owned(),
            ("/", rel) => format!("/{rel}"),
            (root, rel) => format!("{root}/{rel}"),
        })
    }

    /// Whether the server keeps times (assumed until the first login says otherwise).
    fn keeps_times(&self) -> bool {
        self.pool.caps().is_none_or(|c| c.keeps_times(self.opts()))
    }

    /// An entry for a listed or stat'ed raw entry at `path`.
    fn entry(&self, path: RelPath, raw: &RawEntry) -> Entry {
        let mtime = raw.mtime.unwrap_or(SystemTime::UNIX_EPOCH);
        let mut e = if raw.is_dir {
            Entry::dir(path, mtime)
        } else {
            Entry::file(path, raw.size, mtime)
        };
        // A LIST time is to the minute at best; MDTM gives the exact one on request.
        let exact_on_request = self.pool.caps().is_some_and(|c| c.mdtm);
        e.mtime_provisional = !raw.is_dir && !raw.precise && exact_on_request && self.keeps_times();
        e
    }

    /// Removes a temporary file an interrupted run left, once it is old enough that no
    /// other run can still be writing it, and only when this run writes here.
    async fn remove_if_stale(&self, path: &RelPath, raw: &RawEntry) {
        let old = raw
            .mtime
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_PARTIAL);
        if !old || !self.writing.load(Ordering::Relaxed) {
            return;
        }
        let Ok(stored) = self.stored(path) else {
            return;
        };
        let removed = self
            .pool
            .run(|c| {
                let s = stored.clone();
                Box::pin(async move { c.ftp.rm(&s).await })
            })
            .await;
        if matches!(removed, Ok(Ok(()))) {
            tracing::info!("{path}: removed a temporary file an interrupted run left");
        }
    }

    pub(crate) async fn stat_stored(&self, stored: &str, path: &RelPath) -> Result<Option<Entry>> {
        let o = self.pool.opts.clone();
        let raw = self
            .pool
            .run(|c| {
                let (s, o) = (stored.to_owned(), o.clone());
                Box::pin(async move { ops::stat(c, &s, &o).await })
            })
            .await?
            .map_err(|e| op_error(e, "stat", path.as_str()))?;
        Ok(raw.map(|r| self.entry(path.clone(), &r)))
    }
}

/// The root as rclone joins it with every path (Go's `path.Join`): empty and `.`
/// segments dropped, `..` taking the segment before it away; absolute if it starts with `/`.
fn clean_root(root: &str) -> String {
    let absolute = root.starts_with('/');
    let mut segs: Vec<&str> = Vec::new();
    for seg in root.split('/') {
        match seg {
            "" | "." => {}
            ".." if segs.last().is_some_and(|l| *l != "..") => drop(segs.pop()),
            ".." if absolute => {}
            seg => segs.push(seg),
        }
    }
    let joined = segs.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

impl FtpBackend {
    /// One directory, as the server gives it: whole.
    async fn list_whole(&self, dir: &RelPath) -> Result<Listing> {
        let stored = self.stored(dir)?;
        let o = self.pool.opts.clone();
        let lines = self
            .pool
            .run(|c| {
                let (s, o) = (stored.clone(), o.clone());
                Box::pin(async move { ops::list_lines(c, &s, &o).await })
            })
            .await?
            .map_err(|e| {
                let e = op_error(e, "list", dir.as_str());
                match e.kind() {
                    ErrorKind::NotFound => e.with_kind(ErrorKind::DirNotFound),
                    _ => e,
                }
            })?;
        if lines.iter().all(|l| !matches!(l, Line::Entry(_))) && !stored.is_empty() {
            // Some servers list a missing directory as empty.
            match self.stat_stored(&stored, dir).await? {
                Some(e) if e.is_dir() => {}
                _ => {
                    return Err(Error::new(ErrorKind::DirNotFound, "directory not found")
                        .with_path(dir.to_string()))
                }
            }
        }
        let mut out = Listing::new();
        for line in lines {
            let raw = match line {
                Line::Entry(raw) => raw,
                Line::Skip => continue,
                Line::Bad => {
                    out.skip(
                        Error::new(ErrorKind::Io, "a listing line ferry can't read")
                            .with_path(dir.to_string()),
                    );
                    continue;
                }
            };
            match self.opts().names.child(dir, &raw.name) {
                Ok(path) if !raw.is_dir && is_temp_name(path.name()) => {
                    self.remove_if_stale(&path, &raw).await;
                }
                Ok(path) => out.entries.push(self.entry(path, &raw)),
                Err(e) => out.skip(e.with_path(dir.to_string())),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Backend for FtpBackend {
    fn features(&self) -> &Features {
        if self.keeps_times() {
            &self.with_times
        } else {
            &self.without_times
        }
    }

    fn location(&self) -> Location {
        let o = self.opts();
        let path = if self.shown_root.starts_with('/') {
            self.shown_root.clone()
        } else {
            format!("/{}", self.shown_root)
        };
        Location {
            namespace: format!("ftp://{}@{}", o.user, o.target()),
            path: path.trim_end_matches('/').to_owned(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "FTP server at {} path {:?}",
            self.opts().target(),
            self.shown_root
        )
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let stored = self.stored(path)?;
        // The login directory and `/` exist; anything else (the root included) is asked.
        if stored.is_empty() || stored == "/" {
            return Ok(Some(Entry::dir(path.clone(), ferry_core::no_dir_time())));
        }
        self.stat_stored(&stored, path).await
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // MLSD or LIST answers over one data connection, read whole.
        ferry_core::listing::one_page(async move { self.list_whole(&dir).await })
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let stored = self.stored(path)?;
        crate::io::download(self.pool.clone(), stored, path.to_string(), offset, len).await
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let target = self.stored(path)?;
        let temp = if opts.inplace {
            target.clone()
        } else {
            let (parent, _) = ops::split(&target);
            let name = temp_name(path.name());
            let temp = self.opts().names.stored(&name)?;
            match parent {
                "" => temp.into_owned(),
                "/" => format!("/{temp}"),
                p => format!("{p}/{temp}"),
            }
        };
        store(self, path, &target, &temp, data, opts).await
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(src_ftp) = src.as_any().downcast_ref::<FtpBackend>() else {
            return Ok(None);
        };
        let (a, b) = (src_ftp.opts(), self.opts());
        if (&a.host, a.port, &a.user, a.security) != (&b.host, b.port, &b.user, b.security) {
            return Ok(None);
        }
        let from = src_ftp.stored(src_path)?;
        let to = self.stored(dst_path)?;
        crate::put::rename(self, &from, &to, dst_path).await?;
        self.stat_stored(&to, dst_path)
            .await?
            .map(Some)
            .ok_or_else(|| Error::not_found(dst_path.to_string()))
    }

    async fn prepare_write(&self) {
        self.writing.store(true, Ordering::Relaxed);
        let _ = self.pool.caps_now().await;
    }

    async fn hash(&self, _path: &RelPath, _kind: HashKind) -> Result<Option<String>> {
        Ok(None)
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let caps = self.pool.caps_now().await?;
        if !caps.can_set_time(self.opts()) {
            return Err(Error::unsupported(
                "this FTP server can't set modification times (no MFMT; writing_mdtm is off)",
            )
            .with_path(path.to_string()));
        }
        let stored = self.stored(path)?;
        self.pool
            .run(|c| {
                let s = stored.clone();
                Box::pin(async move { ops::set_time(c, &s, mtime).await })
            })
            .await?
            .map_err(|e| op_error(e, "set modification time", path.as_str()))
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let stored = self.stored(path)?;
        self.pool
            .run(|c| {
                let s = stored.clone();
                Box::pin(async move { c.ftp.rm(&s).await })
            })
            .await?
            .map_err(|e| op_error(e, "delete", path.as_str()))
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        let stored = self.stored(dir)?;
        if stored.is_empty() || stored == "/" {
            return Ok(());
        }
        let (o, dirs, seen) = (self.pool.opts.clone(), self.dirs.clone(), self.dirs.now());
        self.pool
            .run(|c| {
                let (s, o, dirs) = (stored.clone(), o.clone(), dirs.clone());
                Box::pin(async move { dirs.make(c, &s, &o, seen).await })
            })
            .await?
            .map_err(|e| op_error_not_missing(e, &format!("mkdir {stored:?}"), dir.as_str()))
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        let stored = self.stored(dir)?;
        self.dirs.forget(&stored);
        let result = self
            .pool
            .run(|c| {
                let s = stored.clone();
                Box::pin(async move { c.ftp.rmdir(&s).await })
            })
            .await?;
        let Err(e) = result else { return Ok(()) };
        // 550 is both "no such directory" and "not empty": ask which.
        if ops::missing(&e) && self.stat_stored(&stored, dir).await?.is_none() {
            return Err(Error::new(ErrorKind::DirNotFound, "directory not found")
                .with_path(dir.to_string()));
        }
        Err(op_error_not_missing(e, "remove directory", dir.as_str()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::kind::Options;

    fn backend(root: &str) -> FtpBackend {
        let o = Options::from_pairs(&crate::KIND, [("host", "h"), ("user", "u")]);
        FtpBackend::new(FtpOptions::from_options(&o).unwrap(), root).unwrap()
    }

    fn rel(p: &str) -> RelPath {
        RelPath::new(p).unwrap()
    }

    #[test]
    fn stored_paths_are_relative_to_the_login_directory_unless_absolute() {
        let b = backend("");
        assert_eq!(b.stored(&rel("a/b")).unwrap(), "a/b");
        assert_eq!(b.stored(&RelPath::root()).unwrap(), "");
        let b = backend("dir/sub/");
        assert_eq!(b.stored(&rel("x")).unwrap(), "dir/sub/x");
        assert_eq!(b.stored(&RelPath::root()).unwrap(), "dir/sub");
        let b = backend("/srv//ftp/");
        assert_eq!(b.stored(&rel("x")).unwrap(), "/srv/ftp/x");
        let b = backend("/");
        assert_eq!(b.stored(&rel("x")).unwrap(), "/x");
        assert_eq!(backend("a/./b/../c").stored(&rel("x")).unwrap(), "a/c/x");
        assert_eq!(backend("/../a").stored(&rel("x")).unwrap(), "/a/x");
        assert_eq!(b.location().path, "");
        assert_eq!(backend("a b").location().path, "/a b");
        assert_eq!(backend("a").location().namespace, "ftp://u@h:21");
    }

    #[test]
    fn names_go_through_the_encoding_root_included() {
        let b = backend("trail /x");
        // A trailing space (RightSpace) and a line break (CrLf, added for commands).
        assert_eq!(b.stored(&rel("f ")).unwrap(), "trail␠/x/f␠");
        assert_eq!(b.stored(&rel("a␊b")).unwrap(), "trail␠/x/a␊b");
        assert!(b.describe().contains("h:21"));
        // Times are assumed kept until the server says otherwise.
        assert_eq!(
            b.features().semantics.modtime_precision,
            Some(Duration::from_secs(1))
        );
        assert!(b.features().caps.atomic_put && b.features().semantics.empty_dirs);
    }
}
