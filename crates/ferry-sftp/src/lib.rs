//! The SFTP backend: rclone's `sftp` remotes over russh, with host-key checking by
//! default, pooled connections, pipelined transfers and remote hashing.
//!
//! Files are written to a hidden temporary name (`.NAME.ferry-XXXXXXXX.partial`) in the
//! target directory and renamed into place (with `posix-rename@openssh.com` where the
//! server offers it) once the size — and, when the server can hash, the MD5 — checked
//! out, so a dropped connection never leaves a partial file under a final name.

mod checks;
mod conn;
mod exec;
mod hostkeys;
mod io;
mod kind;
mod meta;
mod modtimes;
mod options;
mod pool;
mod url;
mod verify;

#[cfg(test)]
mod fuzz_tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ferry_core::encoding::Names;
use ferry_core::partial::{is_temp_name as is_partial_name, temp_name};
use ferry_core::{
    Backend, ByteStream, Capabilities, Entry, Error, ErrorKind, Features, HashKind, HashSet,
    ListPages, Listing, Location, Metadata, MetadataSupport, PutOptions, RelPath, Result,
    Semantics,
};
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};

pub use hostkeys::fingerprint;
pub use kind::KIND;
pub use options::{HostKeyPolicy, SftpOptions};

use pool::{Lease, Load, Pool};

type SftpError = russh_sftp::client::error::Error;

/// An operation's failure: the connection broke (retry elsewhere), or anything else.
pub(crate) enum SftpFailure {
    Lost(String),
    Other(Error),
}

/// An SFTP server rooted at one directory.
pub struct SftpBackend {
    pool: Arc<Pool>,
    /// Batch the remote `md5sum`/`sha1sum` runs of `hash` calls and upload checks.
    md5_batch: Option<verify::Verifier>,
    sha1_batch: Option<verify::Verifier>,
    /// Batches `cksum` runs of upload checks.
    cksum_batch: Option<verify::Verifier>,
    opts: Arc<SftpOptions>,
    /// The root as an absolute path on the server (no trailing slash; `/` for the top).
    root: String,
    /// How ferry's names are stored on the server: every path is built and every listed
    /// name read through it.
    names: Names,
    /// The path as the user wrote it, for `describe`.
    shown_path: String,
    features: Features,
    /// `features` once the server is found not to keep modification times.
    features_without_times: Features,
    modtimes: modtimes::ModtimeSupport,
    md5_cmd: Option<String>,
    sha1_cmd: Option<String>,
    posix_rename: bool,
    /// Set once a run is about to write here; only then do listings remove temporary
    /// files that interrupted runs left.
    writing: std::sync::atomic::AtomicBool,
}

/// How long a `.partial` file must sit untouched before a listing removes it as a leftover.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

/// Opens an `sftp` remote rooted at `path` (relative to the login directory unless it
/// starts with `/`). Connects once, so wrong credentials or host keys fail here.
/// The context's config file location is where ferry's known_hosts goes; its timeouts and
/// low-level retries bound each connect and how often one is tried.
pub fn open(
    options: &ferry_core::kind::Options,
    path: &str,
    context: &ferry_core::kind::OpenContext,
) -> Result<Arc<SftpBackend>> {
    let config = context.config_file.as_ref();
    let kh = options::ferry_known_hosts(config.map(|c| c.0.as_path()), config.is_some_and(|c| c.1));
    let mut opts = SftpOptions::from_options(options, kh, &context.timeouts)?;
    if let Some(tries) = context.low_level_retries {
        opts.connect_tries = tries.max(1);
    }
    let fut = SftpBackend::connect(opts, path.to_string());
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(fut))
        }
        Ok(_) => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::new(ErrorKind::Io, format!("runtime: {e}")))?
                    .block_on(fut)
            })
            .join()
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Io, "connect thread panicked")))
        }),
        Err(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, format!("runtime: {e}")))?
            .block_on(fut),
    }
}

fn status_kind(code: StatusCode) -> ErrorKind {
    match code {
        StatusCode::NoSuchFile => ErrorKind::NotFound,
        StatusCode::PermissionDenied => ErrorKind::PermissionDenied,
        StatusCode::OpUnsupported => ErrorKind::Unsupported,
        _ => ErrorKind::Io,
    }
}

fn is_status(e: &SftpError, code: StatusCode) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == code)
}

/// Classifies an SFTP error for `Pool::run`.
fn fail(what: &str, rel: &RelPath, e: SftpError) -> SftpFailure {
    if io::lost(&e) {
        return SftpFailure::Lost(e.to_string());
    }
    SftpFailure::Other(to_error(what, rel, e))
}

fn to_error(what: &str, rel: &RelPath, e: SftpError) -> Error {
    let (kind, temporary) = match &e {
        SftpError::Status(s) => (status_kind(s.status_code), false),
        _ if io::lost(&e) => (ErrorKind::Io, true),
        _ => (ErrorKind::Io, false),
    };
    let msg = match &e {
        SftpError::Status(s) if !s.error_message.is_empty() => {
            format!("{what}: {}", s.error_message)
        }
        _ => format!("{what}: {e}"),
    };
    Error::new(kind, msg)
        .with_path(rel.to_string())
        .temporary(temporary)
}

/// A step on the server that failed (making a directory or one of its parents, creating
/// or removing a file): the operation, the full server path it failed on and why, so the
/// one error names what actually failed (`mkdir "/etc/x" failed: permission denied`), not
/// only the file that needed it.
struct StepFailure {
    op: &'static str,
    full: String,
    err: SftpError,
}

impl StepFailure {
    fn new(op: &'static str, full: String, err: SftpError) -> StepFailure {
        StepFailure { op, full, err }
    }

    /// The failure as seen by `rel`, the path whose operation needed the directory.
    fn fail(self, rel: &RelPath) -> SftpFailure {
        if io::lost(&self.err) {
            return SftpFailure::Lost(self.err.to_string());
        }
        let kind = match &self.err {
            SftpError::Status(s) => status_kind(s.status_code),
            _ => ErrorKind::Io,
        };
        let msg = format!("{} {:?} failed: {}", self.op, self.full, reason(&self.err));
        SftpFailure::Other(Error::new(kind, msg).with_path(rel.to_string()))
    }
}

/// Why the server refused, in the words rclone uses for the common statuses.
fn reason(e: &SftpError) -> String {
    match e {
        SftpError::Status(s) => match s.status_code {
            StatusCode::PermissionDenied => "permission denied".to_string(),
            StatusCode::NoSuchFile => "file does not exist".to_string(),
            _ if !s.error_message.is_empty() => s.error_message.clone(),
            _ => e.to_string(),
        },
        _ => e.to_string(),
    }
}

/// The entry a followed path stands for: a file or a directory. Anything else (a FIFO,
/// a socket, a device such as `/dev/zero`, whose reads never end) is passed over with
/// rclone's notice.
fn followed_entry(rel: &RelPath, a: &FileAttributes) -> Option<Entry> {
    if a.is_dir() {
        Some(Entry::dir(rel.clone(), mtime_of(a)))
    } else if a.is_regular() || a.permissions.is_none() {
        Some(Entry::file(rel.clone(), a.size.unwrap_or(0), mtime_of(a)))
    } else {
        tracing::warn!("{rel}: Can't transfer non file/directory");
        None
    }
}

fn mtime_of(a: &FileAttributes) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(a.mtime.unwrap_or(0) as u64)
}

fn unix_secs(t: SystemTime) -> u32 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(u32::MAX as u64) as u32,
        Err(_) => 0,
    }
}

fn times(t: SystemTime) -> FileAttributes {
    let s = unix_secs(t);
    FileAttributes {
        atime: Some(s),
        mtime: Some(s),
        ..FileAttributes::empty()
    }
}

/// Normalises a root: `a//b/./c/` -> `a/b/c`; keeps a leading `/`.
fn clean_path(p: &str) -> String {
    let abs = p.starts_with('/');
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let joined = parts.join("/");
    if abs {
        format!("/{joined}")
    } else {
        joined
    }
}

impl SftpBackend {
    async fn connect(opts: SftpOptions, path: String) -> Result<Arc<SftpBackend>> {
        let creds = conn::Credentials::load(&opts)?;
        let opts = Arc::new(opts);
        let pool = Arc::new(Pool::new(opts.clone(), creds));
        let lease = pool.lease(Load::Request).await?;
        let names = Names::new(opts.encoding);
        let cleaned = clean_path(&names.stored_slashed(&path)?);
        let root = if cleaned.starts_with('/') {
            cleaned.clone()
        } else {
            let home = lease
                .sftp
                .realpath(".")
                .await
                .ok()
                .and_then(|n| n.files.into_iter().next())
                .map(|f| f.filename)
                .unwrap_or_else(|| "/".into());
            let home = home.trim_end_matches('/').to_string();
            if cleaned.is_empty() {
                if home.is_empty() {
                    "/".into()
                } else {
                    home
                }
            } else {
                format!("{home}/{cleaned}")
            }
        };
        let root = if root.len() > 1 {
            root.trim_end_matches('/').to_string()
        } else {
            root
        };
        let posix_rename = lease.has_ext("posix-rename@openssh.com");
        let remote = checks::detect(&opts, &lease).await;
        let (md5_cmd, sha1_cmd) = (remote.md5, remote.sha1);
        drop(lease);
        let mut hashes = HashSet::empty();
        if md5_cmd.is_some() {
            hashes.insert(HashKind::Md5);
        }
        if sha1_cmd.is_some() {
            hashes.insert(HashKind::Sha1);
        }
        let features = Features {
            caps: Capabilities {
                set_modtime: opts.set_modtime,
                set_dir_modtime: opts.set_modtime,
                atomic_put: true,
                parallel_reads: true,
                metadata: MetadataSupport {
                    read: true,
                    write: true,
                    user: false,
                },
                moves: true,
                ..Capabilities::default()
            },
            semantics: Semantics {
                hashes,
                modtime_precision: Some(Duration::from_secs(1)),
                empty_dirs: true,
                ..Semantics::default()
            },
        };
        let mut features_without_times = features.clone();
        features_without_times.semantics.modtime_precision = None;
        features_without_times.caps.set_modtime = false;
        features_without_times.caps.set_dir_modtime = false;
        let batch =
            |cmd: &String, format| verify::Verifier::start(pool.clone(), cmd.clone(), format);
        let md5_batch = md5_cmd.as_ref().map(|c| batch(c, verify::Format::Hex(32)));
        let sha1_batch = sha1_cmd.as_ref().map(|c| batch(c, verify::Format::Hex(40)));
        let cksum_batch = remote
            .cksum
            .as_ref()
            .map(|c| batch(c, verify::Format::Cksum));
        Ok(Arc::new(SftpBackend {
            pool,
            md5_batch,
            sha1_batch,
            cksum_batch,
            root,
            names,
            shown_path: path,
            features,
            features_without_times,
            modtimes: modtimes::ModtimeSupport::new(opts.set_modtime),
            md5_cmd,
            sha1_cmd,
            posix_rename,
            opts,
            writing: Default::default(),
        }))
    }

    /// The options in force.
    pub fn options(&self) -> &SftpOptions {
        &self.opts
    }

    /// The root as an absolute path on the server.
    pub fn root(&self) -> &str {
        &self.root
    }

    fn full(&self, rel: &RelPath) -> String {
        let rel = self.stored(rel);
        if rel.is_empty() {
            self.root.clone()
        } else if self.root == "/" {
            format!("/{rel}")
        } else {
            format!("{}/{rel}", self.root)
        }
    }

    /// `rel` as stored on the server.
    fn stored<'a>(&self, rel: &'a RelPath) -> std::borrow::Cow<'a, str> {
        // Fails only for a name holding a byte that is not UTF-8 (`‛XX`, from a local
        // name) under an encoding that is not rclone's default and lacks InvalidUtf8:
        // the SFTP client takes text, so such a name is stored as ferry writes it.
        self.names
            .stored_path(rel)
            .unwrap_or(std::borrow::Cow::Borrowed(rel.as_str()))
    }

    /// The path a remote command should use (`path_override` for chroots).
    fn command_path(&self, rel: &RelPath) -> String {
        match &self.opts.path_override {
            Some(o) => {
                let base = o.trim_end_matches('/');
                if rel.is_root() {
                    base.to_string()
                } else {
                    format!("{base}/{}", self.stored(rel))
                }
            }
            None => self.full(rel),
        }
    }

    fn same_server(&self, other: &SftpBackend) -> bool {
        self.opts.host == other.opts.host
            && self.opts.port == other.opts.port
            && self.opts.user == other.opts.user
    }

    fn chunk_read(&self, c: &conn::Conn) -> u32 {
        c.max_read
    }

    /// What a path is, links followed. A FIFO, socket or device (a link to `/dev/zero`)
    /// is nothing ferry can copy: passed over with rclone's notice, as if absent.
    async fn stat_full(&self, rel: &RelPath) -> Result<Option<Entry>> {
        Ok(self
            .stat_attrs(rel)
            .await?
            .and_then(|a| followed_entry(rel, &a)))
    }

    async fn stat_attrs(&self, rel: &RelPath) -> Result<Option<FileAttributes>> {
        let full = self.full(rel);
        self.pool
            .run(Load::Request, |c| {
                let full = full.clone();
                async move {
                    match c.sftp.stat(full).await {
                        Ok(a) => Ok(Some(a.attrs)),
                        Err(e) if is_status(&e, StatusCode::NoSuchFile) => Ok(None),
                        Err(e) => Err(fail("failed to stat", rel, e)),
                    }
                }
            })
            .await
    }

    /// `mkdir -p` (also above the root), from the deepest missing directory up.
    async fn mkdir_all(
        &self,
        lease: &Lease,
        dir: &RelPath,
    ) -> std::result::Result<(), StepFailure> {
        let mut missing = Vec::new();
        let mut cur = self.full(dir);
        loop {
            match lease.sftp.stat(cur.clone()).await {
                Ok(a) if a.attrs.is_dir() => break,
                Ok(_) => {
                    let err = SftpError::Status(russh_sftp::protocol::Status {
                        id: 0,
                        status_code: StatusCode::Failure,
                        error_message: "a file is in the way".to_string(),
                        language_tag: String::new(),
                    });
                    return Err(StepFailure::new("mkdir", cur, err));
                }
                Err(e) if is_status(&e, StatusCode::NoSuchFile) => {
                    let parent = match cur.rfind('/') {
                        Some(0) => "/".to_string(),
                        Some(i) => cur[..i].to_string(),
                        None => String::new(),
                    };
                    missing.push(std::mem::replace(&mut cur, parent));
                    if cur.is_empty() || cur == "/" {
                        break;
                    }
                }
                Err(e) => return Err(StepFailure::new("stat", cur, e)),
            }
        }
        for full in missing.into_iter().rev() {
            if let Err(e) = lease
                .sftp
                .mkdir(full.clone(), FileAttributes::empty())
                .await
            {
                // Lost a race with another writer: fine if it is a directory now.
                match lease.sftp.stat(full.clone()).await {
                    Ok(a) if a.attrs.is_dir() => {}
                    _ => return Err(StepFailure::new("mkdir", full, e)),
                }
            }
        }
        Ok(())
    }

    async fn rename_over(
        &self,
        lease: &Lease,
        from: &str,
        to: &str,
    ) -> std::result::Result<(), SftpError> {
        if self.posix_rename {
            let mut data = Vec::with_capacity(from.len() + to.len() + 8);
            for s in [from, to] {
                data.extend_from_slice(&(s.len() as u32).to_be_bytes());
                data.extend_from_slice(s.as_bytes());
            }
            match lease.sftp.extended("posix-rename@openssh.com", data).await {
                Ok(russh_sftp::protocol::Packet::Status(s)) if s.status_code == StatusCode::Ok => {
                    return Ok(())
                }
                Ok(russh_sftp::protocol::Packet::Status(s)) => return Err(SftpError::Status(s)),
                Ok(_) => return Err(SftpError::UnexpectedPacket),
                Err(e) => return Err(e),
            }
        }
        match lease.sftp.rename(from, to).await {
            Ok(_) => Ok(()),
            Err(e) if !io::lost(&e) => {
                // Plain SFTP rename refuses to replace: remove the old file, then rename.
                if lease.sftp.remove(to).await.is_ok() {
                    lease.sftp.rename(from, to).await.map(|_| ())
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn hash_cmd(&self, rel: &RelPath, kind: HashKind) -> Result<Option<String>> {
        let cmd = match kind {
            HashKind::Md5 => self.md5_cmd.as_deref(),
            HashKind::Sha1 => self.sha1_cmd.as_deref(),
            _ => None,
        };
        let Some(cmd) = cmd else { return Ok(None) };
        let batch = match kind {
            HashKind::Md5 => self.md5_batch.as_ref(),
            _ => self.sha1_batch.as_ref(),
        };
        if let Some(b) = batch {
            if let Some(h) = b.sum(self.command_path(rel)).await {
                return Ok(Some(h));
            }
            // Missing file or a failed shell: one plain exec tells which.
        }
        let line = format!("{cmd} {}", exec::shell_quote(&self.command_path(rel)));
        let width = kind.hex_width();
        let out = self
            .pool
            .run(Load::Request, |c| {
                let line = line.clone();
                async move { exec::run(&c, &line).await.map_err(SftpFailure::Lost) }
            })
            .await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match (
            out.status,
            exec::parse_sum(stdout.lines().next().unwrap_or(""), width),
        ) {
            (Some(0), Some(h)) => Ok(Some(h)),
            _ => {
                let err = String::from_utf8_lossy(&out.stderr);
                let err = err.trim();
                if err.contains("No such file") {
                    return Err(Error::not_found(rel.to_string()));
                }
                Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "remote {kind} command failed{}",
                        if err.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", err.lines().last().unwrap_or(err))
                        }
                    ),
                )
                .with_path(rel.to_string()))
            }
        }
    }

    async fn put_once(
        &self,
        rel: &RelPath,
        data: &mut ByteStream,
        opts: &PutOptions,
    ) -> std::result::Result<Entry, SftpFailure> {
        let lease = self
            .pool
            .lease(Load::of_file(opts.size))
            .await
            .map_err(SftpFailure::Other)?;
        let target = self.full(rel);
        let parent_rel = rel.parent().unwrap_or_default();
        let tmp = if opts.inplace {
            target.clone()
        } else {
            let parent = self.full(&parent_rel);
            let sep = if parent.ends_with('/') { "" } else { "/" };
            // Made from the stored name, as listings see it (and as the server can hold).
            let leaf = target.rsplit('/').next().unwrap_or_default();
            format!("{parent}{sep}{}", temp_name(leaf))
        };
        let check = self.upload_check(opts, &lease);
        let mut flags = if opts.inplace {
            OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE
        } else {
            OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE
        };
        if matches!(check, Some(checks::UploadCheck::ReadBack)) {
            flags |= OpenFlags::READ;
        }
        let handle = match lease
            .sftp
            .open(tmp.clone(), flags, FileAttributes::empty())
            .await
        {
            Ok(h) => h.handle,
            Err(e) if is_status(&e, StatusCode::NoSuchFile) => {
                self.mkdir_all(&lease, &parent_rel)
                    .await
                    .map_err(|e| e.fail(rel))?;
                lease
                    .sftp
                    .open(tmp.clone(), flags, FileAttributes::empty())
                    .await
                    .map_err(|e| StepFailure::new("create", tmp.clone(), e).fail(rel))?
                    .handle
            }
            Err(e) => return Err(StepFailure::new("create", tmp.clone(), e).fail(rel)),
        };
        let guard = TempGuard {
            conn: Some(lease.conn().clone()),
            path: tmp.clone(),
            keep: opts.inplace,
        };
        let sent = self
            .send_and_commit(rel, data, opts, &lease, handle, (&tmp, &target), check)
            .await;
        let mut entry = match sent {
            Ok(entry) => entry,
            Err(e) => {
                // Awaited, not left to the guard: the process may be about to exit.
                guard.remove().await;
                return Err(e);
            }
        };
        guard.disarm();
        let sent_time = self.modtimes.should_set();
        if !sent_time || self.modtimes.unproven() {
            if let Ok(a) = lease.sftp.stat(target).await {
                let kept = mtime_of(&a.attrs);
                if sent_time {
                    self.modtimes.record(entry.mtime, kept, &self.opts.display);
                }
                entry.mtime = kept;
            }
        }
        Ok(entry)
    }

    /// Sends the data to the open temporary file, checks it, and renames it into place.
    #[allow(clippy::too_many_arguments)]
    async fn send_and_commit(
        &self,
        rel: &RelPath,
        data: &mut ByteStream,
        opts: &PutOptions,
        lease: &Lease,
        handle: String,
        (tmp, target): (&str, &str),
        check: Option<checks::UploadCheck<'_>>,
    ) -> std::result::Result<Entry, SftpFailure> {
        // The sum of what is sent is computed while sending; a small file's bytes are
        // kept to compare with what the server reads back.
        let mut sent_sum = checks::SentSum::for_check(check);
        let mut kept: Option<Vec<u8>> = matches!(check, Some(checks::UploadCheck::ReadBack))
            .then(|| Vec::with_capacity(opts.size as usize));
        let chunk = lease.max_write.max(4096) as usize;
        let depth = io::depth(self.opts.concurrency, chunk as u32);
        let mut w = io::Writer::new(lease.conn().clone(), handle, depth);
        let mut offset = 0u64;
        let result: std::result::Result<(), SftpFailure> = async {
            loop {
                // Small files get small buffers; past the expected size, one byte finds EOF.
                let remaining = opts.size.saturating_sub(offset);
                let mut buf = vec![0u8; (remaining.min(chunk as u64) as usize).max(1)];
                let n = ferry_core::fill(data, &mut buf).await.map_err(|e| {
                    SftpFailure::Other(
                        Error::io("failed to read source", e).with_path(rel.to_string()),
                    )
                })?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                if let Some(h) = sent_sum.as_mut() {
                    h.update(&buf).await;
                }
                if let Some(k) = kept.as_mut() {
                    k.extend_from_slice(&buf);
                }
                w.write(offset, buf)
                    .await
                    .map_err(|e| fail("failed to write", rel, e))?;
                offset += n as u64;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = w.close().await;
            return Err(e);
        }
        if offset != opts.size {
            let _ = w.close().await;
            return Err(SftpFailure::Other(
                Error::new(
                    ErrorKind::Corrupted,
                    format!(
                        "corrupted on transfer: sizes differ (expected {}, wrote {offset}); the partial file was removed",
                        opts.size
                    ),
                )
                .with_path(rel.to_string()),
            ));
        }
        // The time is set behind the writes and the handle closed behind it, all in flight
        // together: a small file costs one round trip after the open.
        let attrs = meta::put_attrs(opts, self.modtimes.should_set());
        let stored_mtime = attrs
            .as_ref()
            .and_then(|a| a.mtime)
            .map_or(opts.mtime, |s| UNIX_EPOCH + Duration::from_secs(s.into()));
        if let Some(attrs) = attrs {
            w.set_times(attrs)
                .await
                .map_err(|e| fail("failed to set modification time", rel, e))?;
        }
        // Read behind the writes: the server handles one handle's requests in order.
        let read_back = match kept.as_ref() {
            Some(_) => Some(w.read_back(0, opts.size as u32).await),
            None => None,
        };
        w.close()
            .await
            .map_err(|e| fail("failed to write", rel, e))?;
        let mut entry = Entry::file(rel.clone(), offset, stored_mtime);
        if let (Some(sent), Some(read)) = (kept, read_back) {
            let stored = read
                .await
                .map_err(|e| fail("failed to read back", rel, e))?;
            if stored != sent {
                return Err(SftpFailure::Other(
                    Error::new(
                        ErrorKind::Corrupted,
                        format!(
                            "corrupted on transfer: the server read back other bytes than were sent ({} of {}); the partial file was removed",
                            stored.len(),
                            sent.len()
                        ),
                    )
                    .with_path(rel.to_string())
                    .temporary(true),
                ));
            }
        }
        if let (Some(sum), Some(check)) = (sent_sum, check) {
            let path = self.command_path_abs(tmp);
            if let Some((kind, hash)) = sum
                .confirm(check, path, offset, rel)
                .await
                .map_err(SftpFailure::Other)?
            {
                entry.hashes.set(kind, hash);
            }
        }
        if !opts.inplace {
            ferry_core::crash::point(ferry_core::crash::TEMP_WRITTEN);
            self.rename_over(lease, tmp, target)
                .await
                .map_err(|e| fail("failed to move file into place", rel, e))?;
        }
        Ok(entry)
    }

    /// How an upload is checked, when the server runs commands at all (`disable_hashcheck`
    /// turns all checks off): see `checks`.
    fn upload_check(&self, opts: &PutOptions, lease: &Lease) -> Option<checks::UploadCheck<'_>> {
        use checks::UploadCheck;
        if opts.inplace {
            return None;
        }
        let by_sum = (self.cksum_batch.as_ref().map(UploadCheck::Cksum))
            .or_else(|| {
                self.sha1_batch
                    .as_ref()
                    .map(|v| UploadCheck::Hash(HashKind::Sha1, v))
            })
            .or_else(|| {
                self.md5_batch
                    .as_ref()
                    .map(|v| UploadCheck::Hash(HashKind::Md5, v))
            })?;
        if opts.size <= lease.max_read.min(checks::READ_BACK_MAX) as u64 {
            Some(UploadCheck::ReadBack)
        } else {
            Some(by_sum)
        }
    }

    /// Like `command_path`, for an absolute server path under the root.
    fn command_path_abs(&self, full: &str) -> String {
        match (&self.opts.path_override, full.strip_prefix(&self.root)) {
            (Some(o), Some(rest)) => format!("{}{rest}", o.trim_end_matches('/')),
            _ => full.to_string(),
        }
    }
}

/// Removes a temporary file unless disarmed (also when a transfer is cancelled).
struct TempGuard {
    conn: Option<Arc<conn::Conn>>,
    path: String,
    keep: bool,
}

impl TempGuard {
    fn disarm(mut self) {
        self.keep = true;
        self.conn = None;
    }

    /// Removes the temporary file now, and waits for it.
    async fn remove(mut self) {
        if let (false, Some(conn)) = (self.keep, self.conn.take()) {
            if conn.is_usable() {
                let _ = conn.sftp.remove(std::mem::take(&mut self.path)).await;
            }
        }
        self.keep = true;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let (Some(conn), Ok(rt)) = (self.conn.take(), tokio::runtime::Handle::try_current()) {
            let path = std::mem::take(&mut self.path);
            rt.spawn(async move {
                if conn.is_usable() {
                    let _ = conn.sftp.remove(path).await;
                }
            });
        }
    }
}

impl SftpBackend {
    /// The next page of a directory listing: the directory opened on first call, then
    /// one readdir batch per page on that connection, until the end.
    async fn next_page(
        &self,
        dir: &RelPath,
        open: Option<(Lease, String)>,
    ) -> Result<Option<(Listing, Option<(Lease, String)>)>> {
        let (lease, handle) = match open {
            Some(open) => open,
            None => self.open_dir(dir).await?,
        };
        match lease.sftp.readdir(handle.clone()).await {
            Ok(batch) => {
                let page = self.listed(dir, batch.files).await;
                Ok(Some((page, Some((lease, handle)))))
            }
            Err(e) if is_status(&e, StatusCode::Eof) => {
                let _ = lease.sftp.close(handle).await;
                Ok(None)
            }
            Err(e) => Err(match fail("error reading directory", dir, e) {
                SftpFailure::Lost(why) => {
                    lease.poison();
                    self.pool.lost(&why)
                }
                SftpFailure::Other(e) => e,
            }),
        }
    }

    /// Opens `dir` for reading on a connection (another one if the first broke).
    async fn open_dir(&self, dir: &RelPath) -> Result<(Lease, String)> {
        let full = self.full(dir);
        self.pool
            .run(Load::Request, |c| {
                let full = full.clone();
                async move {
                    match c.sftp.opendir(full).await {
                        Ok(h) => Ok((c, h.handle)),
                        Err(e) if is_status(&e, StatusCode::NoSuchFile) => Err(SftpFailure::Other(
                            Error::new(ErrorKind::DirNotFound, "directory not found")
                                .with_path(dir.to_string()),
                        )),
                        Err(e) => Err(fail("error listing directory", dir, e)),
                    }
                }
            })
            .await
    }

    /// One batch of a directory's names as a listing page: partial files of dead
    /// writers removed, links followed (as rclone's sftp backend does).
    async fn listed(&self, dir: &RelPath, names: Vec<russh_sftp::protocol::File>) -> Listing {
        let mut out = Listing::new();
        out.entries.reserve(names.len());
        let mut links = Vec::new();
        for f in names {
            let name = f.filename;
            if name == "." || name == ".." {
                continue;
            }
            if name.contains('\u{FFFD}') {
                out.skip(
                    Error::new(
                        ErrorKind::InvalidPath,
                        "skipping a name that is not valid UTF-8",
                    )
                    .with_path(dir.join(&name).map(|p| p.to_string()).unwrap_or(name)),
                );
                continue;
            }
            if is_partial_name(&name) {
                // Never shown as a file; removed only by a run that writes here.
                let old = mtime_of(&f.attrs)
                    .elapsed()
                    .is_ok_and(|age| age > STALE_PARTIAL);
                if old && self.writing.load(std::sync::atomic::Ordering::Relaxed) {
                    // Temp names are stored as they are made: remove it by that name.
                    let parent = self.full(dir);
                    let sep = if parent.ends_with('/') { "" } else { "/" };
                    let full = format!("{parent}{sep}{name}");
                    if let Ok(l) = self.pool.lease(Load::Request).await {
                        if l.sftp.remove(full).await.is_ok() {
                            tracing::info!(
                                "{}: removed a partial file left by an interrupted run",
                                ferry_core::shown::name(&format!("{dir}/{name}"))
                            );
                        }
                    }
                }
                continue;
            }
            let Ok(path) = self.names.child(dir, &name) else {
                out.skip(Error::new(
                    ErrorKind::InvalidPath,
                    format!("{name:?}: skipping a name that is not a safe relative path"),
                ));
                continue;
            };
            let a = &f.attrs;
            if a.is_symlink() {
                links.push(path);
            } else if a.is_dir() {
                out.entries.push(Entry::dir(path, mtime_of(a)));
            } else if a.is_regular() || a.permissions.is_none() {
                out.entries
                    .push(Entry::file(path, a.size.unwrap_or(0), mtime_of(a)));
            }
        }
        // Links are followed, as rclone's sftp backend does. A dangling one can't be read:
        // an error of the run, so nothing its name stands for is deleted elsewhere.
        for path in links {
            match self.stat_attrs(&path).await {
                Ok(Some(a)) => out.entries.extend(followed_entry(&path, &a)),
                Ok(None) => out.skip(
                    Error::new(
                        ErrorKind::NotFound,
                        "can't follow symlink: its target does not exist",
                    )
                    .with_path(path.to_string()),
                ),
                Err(e) => out.skip(e),
            }
        }
        out
    }
}

#[async_trait]
impl Backend for SftpBackend {
    fn features(&self) -> &Features {
        if self.modtimes.ignored() {
            &self.features_without_times
        } else {
            &self.features
        }
    }

    fn location(&self) -> Location {
        Location {
            namespace: format!(
                "sftp://{}@{}:{}",
                self.opts.user, self.opts.host, self.opts.port
            ),
            path: if self.root == "/" {
                String::new()
            } else {
                self.root.clone()
            },
        }
    }

    fn describe(&self) -> String {
        format!(
            "sftp://{}@{}:{}/{}",
            self.opts.user,
            self.opts.host,
            self.opts.port,
            self.shown_path.trim_start_matches('/')
        )
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.stat_full(path).await
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // The state: the open directory's connection and handle, once opened.
        ferry_core::listing::pages(None, move |open: Option<(Lease, String)>| {
            let dir = dir.clone();
            async move { self.next_page(&dir, open).await }
        })
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let full = self.full(path);
        let mut tries = 0;
        loop {
            tries += 1;
            // Unknown size: small until the reader has seen more (see `spawn_reader`).
            let lease = self
                .pool
                .lease(len.map_or(Load::Small, Load::of_file))
                .await?;
            match lease
                .sftp
                .open(full.clone(), OpenFlags::READ, FileAttributes::empty())
                .await
            {
                Ok(h) => {
                    let chunk = self.chunk_read(&lease);
                    let depth = io::depth(self.opts.concurrency, chunk);
                    return Ok(Box::pin(io::spawn_reader(
                        lease, h.handle, offset, len, chunk, depth,
                    )));
                }
                Err(e) if io::lost(&e) && tries < 3 => {
                    lease.poison();
                    drop(lease);
                    ferry_core::retry::Backoff::DEFAULT.wait(tries).await;
                }
                Err(e) => return Err(to_error("failed to open source", path, e)),
            }
        }
    }

    async fn put(&self, path: &RelPath, mut data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        match self.put_once(path, &mut data, opts).await {
            Ok(e) => Ok(e),
            Err(SftpFailure::Other(e)) => Err(e),
            Err(SftpFailure::Lost(why)) => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "connection to {} lost while writing: {why}; nothing was written under the final name",
                    self.opts.target()
                ),
            )
            .with_path(path.to_string())
            .temporary(true)),
        }
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(other) = src.as_any().downcast_ref::<SftpBackend>() else {
            return Ok(None);
        };
        if !self.same_server(other) {
            return Ok(None);
        }
        let from = other.full(src_path);
        let to = self.full(dst_path);
        let parent = dst_path.parent().unwrap_or_default();
        self.pool
            .run(Load::Request, |c| {
                let (from, to, parent) = (from.clone(), to.clone(), parent.clone());
                async move {
                    match self.rename_over(&c, &from, &to).await {
                        Ok(()) => Ok(()),
                        Err(e) if is_status(&e, StatusCode::NoSuchFile) => {
                            self.mkdir_all(&c, &parent)
                                .await
                                .map_err(|e| e.fail(dst_path))?;
                            self.rename_over(&c, &from, &to)
                                .await
                                .map_err(|e| fail("failed to move", dst_path, e))
                        }
                        Err(e) => Err(fail("failed to move", dst_path, e)),
                    }
                }
            })
            .await?;
        self.stat_full(dst_path).await
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let full = self.full(path);
        self.pool
            .run(Load::Request, |c| {
                let full = full.clone();
                async move {
                    match c.sftp.stat(full).await {
                        Ok(a) => Ok(Some(meta::read(&a.attrs))),
                        Err(e) => Err(fail("failed to read metadata", path, e)),
                    }
                }
            })
            .await
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if !self.features.semantics.hashes.contains(kind) {
            return Ok(None);
        }
        self.hash_cmd(path, kind).await
    }

    /// One small probe file in the root tells whether the server keeps times, before
    /// any comparison relies on them.
    async fn prepare_write(&self) {
        self.writing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if !self.modtimes.unproven() {
            return;
        }
        let probe = {
            let sep = if self.root.ends_with('/') { "" } else { "/" };
            format!("{}{sep}{}", self.root, temp_name("probe"))
        };
        let wanted = UNIX_EPOCH + Duration::from_secs(946_684_800); // 2000-01-01
        let _ = self
            .pool
            .run(Load::Request, |c| {
                let probe = probe.clone();
                async move {
                    let flags = OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE;
                    // No root yet, or not writable: the first upload will tell instead.
                    let Ok(h) = c
                        .sftp
                        .open(probe.clone(), flags, FileAttributes::empty())
                        .await
                    else {
                        return Ok(());
                    };
                    let _ = c.sftp.close(h.handle).await;
                    match c.sftp.setstat(probe.clone(), times(wanted)).await {
                        Ok(_) => {
                            if let Ok(a) = c.sftp.stat(probe.clone()).await {
                                self.modtimes.record(
                                    wanted,
                                    mtime_of(&a.attrs),
                                    &self.opts.display,
                                );
                            }
                        }
                        Err(e) if !io::lost(&e) => self.modtimes.refused(&self.opts.display),
                        Err(_) => {}
                    }
                    let _ = c.sftp.remove(probe).await;
                    Ok::<_, SftpFailure>(())
                }
            })
            .await;
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        if !self.modtimes.should_set() {
            return Ok(());
        }
        let full = self.full(path);
        let check = self.modtimes.unproven();
        let kept = self
            .pool
            .run(Load::Request, |c| {
                let full = full.clone();
                async move {
                    match c.sftp.setstat(full.clone(), times(mtime)).await {
                        Ok(_) if check => {
                            Ok(c.sftp.stat(full).await.ok().map(|a| mtime_of(&a.attrs)))
                        }
                        Ok(_) => Ok(None),
                        // Refused while unproven: the server doesn't do times, not this file.
                        // A missing path says nothing about times (its mkdir or upload
                        // failed, and that failure was reported).
                        Err(e)
                            if check && !io::lost(&e) && !is_status(&e, StatusCode::NoSuchFile) =>
                        {
                            tracing::debug!("{path}: setstat refused: {e}");
                            self.modtimes.refused(&self.opts.display);
                            Ok(None)
                        }
                        Err(e) => Err(fail("failed to set modification time", path, e)),
                    }
                }
            })
            .await?;
        if let Some(kept) = kept {
            self.modtimes.record(mtime, kept, &self.opts.display);
        }
        Ok(())
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let full = self.full(path);
        self.pool
            .run(Load::Request, |c| {
                let full = full.clone();
                async move {
                    c.sftp
                        .remove(full.clone())
                        .await
                        .map(|_| ())
                        .map_err(|e| StepFailure::new("remove", full, e).fail(path))
                }
            })
            .await
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.pool
            .run(Load::Request, |c| async move {
                self.mkdir_all(&c, dir).await.map_err(|e| e.fail(dir))
            })
            .await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        let full = self.full(dir);
        self.pool
            .run(Load::Request, |c| {
                let full = full.clone();
                async move {
                    c.sftp.rmdir(full).await.map(|_| ()).map_err(|e| {
                        // A directory that isn't there is "directory not found" (rclone's
                        // exit 3 for rmdir, rmdirs and purge of a missing SFTP directory).
                        let missing = is_status(&e, StatusCode::NoSuchFile);
                        match fail("failed to remove directory", dir, e) {
                            SftpFailure::Other(err) if missing => {
                                SftpFailure::Other(err.with_kind(ErrorKind::DirNotFound))
                            }
                            f => f,
                        }
                    })
                }
            })
            .await
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        let t = temp_name("report.pdf");
        assert!(is_partial_name(&t), "{t}");
        assert!(!is_partial_name("report.pdf"));
        assert!(temp_name(&"é".repeat(200)).len() < 255);
    }

    #[test]
    fn roots() {
        assert_eq!(clean_path("a//b/./c/"), "a/b/c");
        assert_eq!(clean_path("/"), "/");
        assert_eq!(clean_path("/x/"), "/x");
        assert_eq!(clean_path(""), "");
    }
}
