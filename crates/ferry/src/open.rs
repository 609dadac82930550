//! Turning path arguments (`/local`, `remote:path`, `:backend,opt=v:path`, URLs) into backends.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ferry_config::{
    locate_config, ConfigFile, ConfigLocation, Env, Registry, ResolvedRemote, Secretish,
};
use ferry_core::kind::{BackendKind, Effect, OpenContext, OpenRequest, RemoteOpener};
use ferry_core::{Backend, ErrorKind};

use crate::args::{HashCacheMode, LocalArgs};
use crate::backend_flags::{self, BackendFlags};
use crate::exit::{self, fail, ERROR, USAGE};

/// A source: the backend, and the file name when the argument named a single file.
pub struct Source {
    pub backend: Arc<dyn Backend>,
    pub file: Option<String>,
}

/// Opens backends from arguments, reading the config file once, when first needed.
/// Cloning is cheap enough for an overlay's open: the config file and the notices are
/// shared, so a remote opened from inside an overlay sees the same file, flags and layers.
#[derive(Clone)]
pub struct Remotes {
    pub env: Env,
    pub registry: &'static Registry,
    config_flag: Option<PathBuf>,
    /// Backend options given as flags (`--azureblob-chunk-size`, azcopy's aliases), keyed
    /// `KIND_OPTION`; they win over the config file, as rclone's flags do.
    backend_flags: BackendFlags,
    config: Arc<OnceLock<Result<(ConfigLocation, ConfigFile), String>>>,
    /// Remotes whose ignored options were already noticed (one NOTICE each per run).
    noticed: Arc<Mutex<BTreeSet<String>>>,
    /// `--contimeout`/`--timeout`, for every network backend.
    timeouts: ferry_core::net::Timeouts,
    /// `--low-level-retries` (for the backends that retry inside themselves).
    low_level_retries: Option<u32>,
    /// `--dump`, for every HTTP backend.
    dump: ferry_core::dump::Dump,
    /// `--user-agent`, `--header*`, the TLS flags: for every HTTP backend.
    http: ferry_core::net::HttpSettings,
    /// `--disable`: what every backend is seen without.
    disable: ferry_core::layer::disable::Disable,
    /// `--tpslimit`: one limit for every HTTP backend of the run.
    tps: Option<Arc<ferry_core::layer::tps::TpsLimit>>,
}

impl Remotes {
    pub fn new(config_flag: Option<PathBuf>, local: LocalArgs) -> Self {
        Remotes {
            env: Env::from_process(),
            registry: crate::kinds::registry(),
            config_flag,
            backend_flags: local_flags(&local),
            config: Arc::new(OnceLock::new()),
            noticed: Arc::new(Mutex::new(BTreeSet::new())),
            timeouts: ferry_core::net::Timeouts::DEFAULT,
            low_level_retries: None,
            dump: ferry_core::dump::Dump::default(),
            http: Default::default(),
            disable: Default::default(),
            tps: None,
        }
    }

    /// `--tpslimit`/`--tpslimit-burst` (a rate of 0 is no limit).
    pub fn with_tps_limit(mut self, rate: f64, burst: u32) -> Self {
        self.tps = (rate > 0.0 && rate.is_finite())
            .then(|| Arc::new(ferry_core::layer::tps::TpsLimit::new(rate, burst)));
        self
    }

    /// `--contimeout`/`--timeout` (`0`: no limit; unset: rclone's 1m and 5m).
    pub fn with_timeouts(mut self, timeouts: ferry_core::net::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// `--low-level-retries`, where the command takes it (`None`: rclone's default).
    pub fn with_low_level_retries(mut self, tries: Option<u32>) -> Self {
        self.low_level_retries = tries;
        self
    }

    /// `--dump`: HTTP requests and responses to the debug log.
    pub fn with_dump(mut self, dump: ferry_core::dump::Dump) -> Self {
        self.dump = dump;
        self
    }

    /// `--user-agent`, `--header*` and the TLS flags, for every HTTP backend.
    pub fn with_http(mut self, http: ferry_core::net::HttpSettings) -> Self {
        self.http = http;
        self
    }

    /// `--disable`'s features, turned off in every backend opened.
    pub fn with_disabled(mut self, disable: ferry_core::layer::disable::Disable) -> Self {
        self.disable = disable;
        self
    }

    /// The HTTP settings of the run (`copyurl` builds its client from them).
    pub fn http(&self) -> (&ferry_core::net::HttpSettings, ferry_core::net::Timeouts) {
        (&self.http, self.timeouts)
    }

    /// An HTTP backend under the run's `--tpslimit`, as rclone limits HTTP transactions.
    fn limited(&self, backend: Arc<dyn Backend>) -> Arc<dyn Backend> {
        match &self.tps {
            Some(limit) => {
                ferry_core::layer::Layered::new(backend, ferry_core::layer::tps::Tps(limit.clone()))
            }
            None => backend,
        }
    }

    /// Backend flags and variables (`--s3-chunk-size`, `RCLONE_S3_...`); the local flags
    /// given to [`Remotes::new`] stay laid over them.
    pub fn with_backend_flags(mut self, flags: BackendFlags) -> Self {
        let local = std::mem::replace(&mut self.backend_flags, flags);
        self.backend_flags.extend(local);
        self
    }

    /// The same remotes with the config file read afresh when next needed (a watching
    /// service's SIGHUP).
    pub fn reloaded(&self) -> Remotes {
        Remotes {
            config: Arc::new(OnceLock::new()),
            ..self.clone()
        }
    }

    pub fn location(&self) -> anyhow::Result<ConfigLocation> {
        locate_config(self.config_flag.as_deref(), &self.env)
            .map_err(|e| fail(ERROR, e.to_string()))
    }

    /// The config file (empty if it doesn't exist yet).
    pub fn config(&self) -> anyhow::Result<&ConfigFile> {
        let loaded = self.config.get_or_init(|| {
            let loc =
                locate_config(self.config_flag.as_deref(), &self.env).map_err(|e| e.to_string())?;
            if let Some(notice) = loc.notice() {
                tracing::info!("{notice}");
            }
            let file = ConfigFile::open(&loc).map_err(|e| e.to_string())?;
            Ok((loc, file))
        });
        match loaded {
            Ok((_, file)) => Ok(file),
            Err(e) => Err(fail(ERROR, e.clone())),
        }
    }

    pub fn resolve(&self, arg: &str) -> anyhow::Result<ResolvedRemote> {
        let loc = ferry_config::parse_location(arg, self.registry)
            .map_err(|e| fail(ERROR, e.to_string()))?;
        let empty;
        let cfg = match &loc {
            ferry_config::Location::Local { .. } => {
                empty = ConfigFile::new("");
                &empty
            }
            _ => self.config()?,
        };
        let r = ferry_config::resolve(&loc, cfg, &self.env, self.registry).map_err(|e| {
            match e {
                ferry_config::ConfigError::Unimplemented { .. } => fail(USAGE, e.to_string()),
                // rclone's words (and, in the log, its CRITICAL level) for a remote
                // nobody defined.
                ferry_config::ConfigError::RemoteNotFound { .. } => fail(
                    ERROR,
                    format!(
                        "Failed to create file system for {:?}: {e}",
                        ferry_config::redact(arg, self.registry).text
                    ),
                ),
                _ => fail(ERROR, e.to_string()),
            }
        })?;
        self.notice_ignored(&r);
        Ok(r)
    }

    /// One NOTICE per remote for the options it sets that ferry ignores: rclone's tuning
    /// options, and keys nobody knows (a typo, or an option of another backend).
    fn notice_ignored(&self, r: &ResolvedRemote) {
        let remote = r.display_name();
        let mut seen = self.noticed.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.insert(remote.clone()) {
            return;
        }
        if !r.tuning_ignored.is_empty() {
            tracing::warn!(
                "{remote} options that only tune rclone are ignored by ferry: {}",
                r.tuning_ignored.join(", ")
            );
        }
        if !r.ignored_keys.is_empty() {
            tracing::warn!(
                "{remote} unknown options ignored (not options of the {} backend): {}",
                r.kind,
                r.ignored_keys.join(", ")
            );
        }
    }

    /// Backend flags (and `RCLONE_<KIND>_<OPTION>` variables) for rclone options ferry
    /// doesn't implement, as they apply to `r`: refused when ignoring one would change what
    /// is stored or who may read it, else one NOTICE.
    fn check_unimplemented_flags(&self, r: &ResolvedRemote) -> anyhow::Result<()> {
        let Some(kind) = self.registry.get(&r.kind) else {
            return Ok(());
        };
        let mut tuning = Vec::new();
        for (k, v) in backend_flags::for_kind(&self.backend_flags, &r.kind) {
            let flag = format!("--{}-{}", r.kind, k.replace('_', "-"));
            if ferry_config::asks_for_the_default(kind, k, Some(v)) {
                continue;
            }
            match kind.unimplemented.effect(k) {
                Some(Effect::Refused) => {
                    let e = ferry_config::ConfigError::Unimplemented {
                        backend: r.kind.clone(),
                        key: format!(
                            "{k} (set by {flag} or ${})",
                            format!("RCLONE_{}_{k}", r.kind).to_ascii_uppercase()
                        ),
                        remote: r.display_name(),
                    };
                    return Err(fail(USAGE, e.to_string()));
                }
                Some(Effect::Tuning) => tuning.push(flag),
                None => {}
            }
        }
        if !tuning.is_empty() {
            let mut seen = self.noticed.lock().unwrap_or_else(|p| p.into_inner());
            if seen.insert(format!("flags {}", r.kind)) {
                tracing::warn!(
                    "backend flags that only tune rclone are ignored by ferry: {}",
                    tuning.join(", ")
                );
            }
        }
        Ok(())
    }

    /// `r` with the backend flags (and environment) for its kind laid over its options.
    /// `arg` resolved, with the backend flags laid over its options (what opening it uses).
    pub fn resolve_with_flags(&self, arg: &str) -> anyhow::Result<ResolvedRemote> {
        let r = self.resolve(arg)?;
        Ok(self.with_flags(&r).into_owned())
    }

    fn with_flags<'r>(&self, r: &'r ResolvedRemote) -> std::borrow::Cow<'r, ResolvedRemote> {
        let Some(kind) = self.registry.get(&r.kind) else {
            return std::borrow::Cow::Borrowed(r);
        };
        let mut flags = backend_flags::for_kind(&self.backend_flags, &r.kind)
            .filter(|(k, _)| kind.option(k).is_some())
            .peekable();
        if flags.peek().is_none() {
            return std::borrow::Cow::Borrowed(r);
        }
        let mut copy = r.clone();
        for (k, v) in flags {
            copy.options
                .insert(k.to_owned(), Secretish::new(v, kind.is_redacted(k)));
        }
        std::borrow::Cow::Owned(copy)
    }

    /// A backend rooted at the argument's path.
    pub fn open(&self, arg: &str) -> anyhow::Result<Arc<dyn Backend>> {
        let r = self.resolve(arg)?;
        self.open_resolved(&r, &r.path)
    }

    /// A backend rooted at the argument's path, which must be a directory or nothing yet
    /// (a destination, `mkdir`, `rmdir`): like rclone, a local file there is refused
    /// before anything is tried ("is a file not a directory").
    pub fn open_dir(&self, arg: &str) -> anyhow::Result<Arc<dyn Backend>> {
        let backend = self.open(arg)?;
        let root = backend.local_path(&ferry_core::RelPath::root());
        if root.is_some_and(|p| p.is_file()) {
            return Err(fail(
                ERROR,
                format!(
                    "Failed to create file system for {:?}: is a file not a directory",
                    ferry_config::redact(arg, crate::kinds::registry()).text
                ),
            ));
        }
        Ok(backend)
    }

    /// For commands that name one file (`copyto`'s destination, `rcat`, `touch`): the
    /// backend at the file's directory and the file's name, split from the parsed path,
    /// so a URL's query (a SAS) or a connection string's options never become part of the
    /// name. `None` when the path ends in no name (`remote:`, `dir/..`, or `dir/` unless
    /// `trailing_slash` allows one, as `copyto` does).
    pub fn open_parent(
        &self,
        arg: &str,
        trailing_slash: bool,
    ) -> anyhow::Result<Option<(Arc<dyn Backend>, String)>> {
        let r = self.resolve(arg)?;
        let path = if trailing_slash {
            r.path.trim_end_matches('/')
        } else {
            r.path.as_str()
        };
        let Some((dir, name)) = ferry_config::split_leaf(path) else {
            return Ok(None);
        };
        Ok(Some((self.open_resolved(&r, dir)?, name.to_owned())))
    }

    fn open_resolved(&self, r: &ResolvedRemote, path: &str) -> anyhow::Result<Arc<dyn Backend>> {
        self.open_within(r, path, &[])
    }

    /// Opens `r` at `path`; `outer` are the named remotes whose open is opening this one
    /// (an overlay's chain), so one that wraps itself is refused instead of recursing.
    fn open_within(
        &self,
        r: &ResolvedRemote,
        path: &str,
        outer: &[String],
    ) -> anyhow::Result<Arc<dyn Backend>> {
        self.check_unimplemented_flags(r)?;
        let r = self.with_flags(r);
        let kind = self.kind_of(&r)?;
        let options = r.typed(kind);
        options.check().map_err(|e| fail(ERROR, e.to_string()))?;
        let mut chain = outer.to_vec();
        chain.push(r.display_name());
        let context = OpenContext {
            remotes: Some(Arc::new(Nested {
                remotes: self.clone(),
                chain,
            })),
            config_file: self.location().ok().map(|l| (l.path, l.writable)),
            timeouts: self.timeouts,
            low_level_retries: self.low_level_retries,
            dump: self.dump,
            http: self.http.clone(),
        };
        let request = OpenRequest {
            options: &options,
            root: path,
            context: &context,
        };
        let backend = (kind.open)(&request).map_err(|e| fail(ERROR, e.to_string()))?;
        let backend = if kind.http {
            self.limited(backend)
        } else {
            backend
        };
        Ok(match self.disable.is_empty() {
            true => backend,
            false => ferry_core::layer::Layered::new(backend, self.disable.clone()),
        })
    }

    /// The registered kind of a resolved remote (resolution only yields registered ones).
    pub fn kind_of(&self, r: &ResolvedRemote) -> anyhow::Result<&'static BackendKind> {
        self.registry.get(&r.kind).ok_or_else(|| {
            fail(
                ERROR,
                format!(
                    "{} uses the {} backend, which is not built into this version of ferry; available: {}",
                    r.display_name(),
                    r.kind,
                    self.registry.names_joined()
                ),
            )
        })
    }

    /// Whether the argument names a place on this machine (not behind a server).
    pub fn is_on_this_machine(&self, arg: &str) -> anyhow::Result<bool> {
        let r = self.resolve(arg)?;
        Ok(!self.kind_of(&r)?.network)
    }

    /// Opens a source; a path to a single file is opened at its parent with the file named.
    pub async fn open_source(&self, arg: &str) -> anyhow::Result<Source> {
        let r = self.resolve(arg)?;
        if let Some(single) = self.single_file(&r).await? {
            return Ok(single);
        }
        Ok(Source {
            backend: self.open_resolved(&r, &r.path)?,
            file: None,
        })
    }

    /// A path naming one file (`remote:dir/file`, `dir/file`), opened at its parent; as
    /// rclone does, the parent is asked whether the last segment is a file.
    async fn single_file(&self, r: &ResolvedRemote) -> anyhow::Result<Option<Source>> {
        let trimmed = r.path.trim_end_matches('/');
        if trimmed.is_empty() || trimmed.len() != r.path.len() {
            return Ok(None);
        }
        // `/x` is `x` in the root, not in the login directory (`""`).
        let Some((parent, name)) = ferry_config::split_leaf(trimmed) else {
            return Ok(None);
        };
        let Ok(rel) = ferry_core::RelPath::new(name) else {
            return Ok(None);
        };
        let backend = self.open_resolved(r, parent)?;
        // Object stores can't list above a bucket/container: a bare name is one.
        if parent.is_empty() && backend.features().semantics.bucket_dirs {
            return Ok(None);
        }
        match backend.stat(&rel).await {
            Ok(Some(e)) if !e.is_dir() => Ok(Some(Source {
                backend,
                file: Some(name.to_owned()),
            })),
            Ok(None) if names_a_link(&*backend, &rel) => Ok(Some(Source {
                backend,
                file: Some(name.to_owned()),
            })),
            Ok(_) => Ok(None),
            // Credentials or the network: the same failure would follow, less clearly named.
            Err(e) if matches!(e.kind(), ErrorKind::Auth | ErrorKind::Io) && !e.is_temporary() => {
                Err(exit::from_core(e))
            }
            Err(_) => Ok(None),
        }
    }
}

/// How many overlays may wrap one another (alias of crypt of alias...): far more than any
/// real config has, and a bound on a cycle that goes through unnamed remotes.
const MAX_NESTING: usize = 16;

/// What an overlay's open is given to open the remote it wraps: this run's remotes, and
/// the chain of remotes being opened around it.
struct Nested {
    remotes: Remotes,
    chain: Vec<String>,
}

impl std::fmt::Debug for Nested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nested({})", self.chain.join(" -> "))
    }
}

impl RemoteOpener for Nested {
    fn open_remote(&self, remote: &str) -> ferry_core::Result<Arc<dyn Backend>> {
        // The messages were made for a user (they name the remote, never a secret).
        let user = |e: anyhow::Error| ferry_core::Error::new(ErrorKind::Config, format!("{e:#}"));
        let r = self.remotes.resolve(remote).map_err(user)?;
        if let Some(refused) = self.refuse_cycle(&r) {
            return Err(ferry_core::Error::new(ErrorKind::Config, refused));
        }
        self.remotes
            .open_within(&r, &r.path, &self.chain)
            .map_err(|e| ferry_core::Error::new(ErrorKind::Io, format!("{e:#}")))
    }
}

impl Nested {
    /// Why `r` can't be opened inside this chain: it is one of the remotes being opened
    /// (`alias a` with `remote = a:sub`), or the chain is deeper than any real config.
    fn refuse_cycle(&self, r: &ResolvedRemote) -> Option<String> {
        let outer = self.chain.last().map(String::as_str).unwrap_or("");
        let this = r.display_name();
        if r.name.is_some() && self.chain.contains(&this) {
            return Some(format!(
                "{outer} wraps itself ({} -> {this}): check the remote option of {outer}",
                self.chain.join(" -> ")
            ));
        }
        (self.chain.len() >= MAX_NESTING).then(|| {
            format!("{outer} is inside overlays nested more than {MAX_NESTING} deep: check their remote options")
        })
    }
}

/// rclone's unprefixed local flags (`--copy-links`, `--links`, `--skip-links`, `-x`, and
/// ferry's `--hash-cache` and `--fsync`) as backend flags of the local kind: only the ones given, so a
/// flag left off keeps the remote's own setting.
fn local_flags(a: &LocalArgs) -> BackendFlags {
    let key = |option: &str| format!("{}_{option}", ferry_local::KIND.name);
    let mut set: BackendFlags = [
        ("copy_links", a.copy_links),
        ("links", a.links),
        ("skip_links", a.skip_links),
        ("skip_specials", a.skip_specials),
        ("one_file_system", a.one_file_system),
        ("fsync", a.fsync),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(k, _)| (key(k), "true".to_owned()))
    .collect();
    let cache = match &a.hash_cache {
        HashCacheMode::On => None,
        HashCacheMode::Off => Some("off".to_owned()),
        HashCacheMode::In(dir) => Some(dir.to_string_lossy().into_owned()),
    };
    set.extend(cache.map(|c| (key("hash_cache"), c)));
    set
}

/// Whether `rel` is a symbolic link on this machine that listings skip: named directly,
/// it is still one file (`deletefile LINK` removes the link, as rclone does). A link to a
/// directory is not: named as a source it is that directory, as rclone follows a root
/// (`sync /data dst` with `/data -> /mnt/disk/data` syncs the files, not nothing).
fn names_a_link(backend: &dyn Backend, rel: &ferry_core::RelPath) -> bool {
    let Some(path) = backend.local_path(rel) else {
        return false;
    };
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    is_link && !std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
}
