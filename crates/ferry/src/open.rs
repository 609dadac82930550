//! Turning path arguments (`/local`, `remote:path`, `:backend,opt=v:path`, URLs) into backends.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ferry_config::{
    locate_config, ConfigFile, ConfigLocation, Env, Registry, ResolvedRemote, Secretish,
};
use ferry_core::{Backend, ErrorKind};
use ferry_local::{LinkMode, LocalBackend, LocalOptions};

use crate::args::{HashCacheMode, LocalArgs};
use crate::backend_flags::{self, BackendFlags};
use crate::exit::{self, fail, ERROR, USAGE};

/// A source: the backend, and the file name when the argument named a single file.
pub struct Source {
    pub backend: Arc<dyn Backend>,
    pub file: Option<String>,
}

/// Opens backends from arguments, reading the config file once, when first needed.
pub struct Remotes {
    pub env: Env,
    pub registry: Registry,
    config_flag: Option<PathBuf>,
    local: LocalArgs,
    /// Backend options given as flags (`--azureblob-chunk-size`, azcopy's aliases), keyed
    /// `KIND_OPTION`; they win over the config file, as rclone's flags do.
    backend_flags: BackendFlags,
    config: OnceLock<Result<(ConfigLocation, ConfigFile), String>>,
    /// Remotes whose ignored options were already noticed (one NOTICE each per run).
    noticed: Mutex<BTreeSet<String>>,
    /// The local hash cache, shared by every local backend of the run.
    hash_cache: OnceLock<Option<Arc<ferry_local::HashCache>>>,
    /// `--tpslimit`: one limit for every HTTP backend of the run.
    tps: Option<Arc<ferry_core::layer::tps::TpsLimit>>,
}

impl Remotes {
    pub fn new(config_flag: Option<PathBuf>, local: LocalArgs) -> Self {
        Remotes {
            env: Env::from_process(),
            registry: Registry::with_builtins(),
            config_flag,
            local,
            backend_flags: BackendFlags::new(),
            config: OnceLock::new(),
            noticed: Mutex::new(BTreeSet::new()),
            hash_cache: OnceLock::new(),
            tps: None,
        }
    }

    /// `--tpslimit`/`--tpslimit-burst` (a rate of 0 is no limit).
    pub fn with_tps_limit(mut self, rate: f64, burst: u32) -> Self {
        self.tps = (rate > 0.0 && rate.is_finite())
            .then(|| Arc::new(ferry_core::layer::tps::TpsLimit::new(rate, burst)));
        self
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

    pub fn with_backend_flags(mut self, flags: BackendFlags) -> Self {
        self.backend_flags = flags;
        self
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
        let loc = ferry_config::parse_location(arg).map_err(|e| fail(ERROR, e.to_string()))?;
        let empty;
        let cfg = match &loc {
            ferry_config::Location::Local { .. } => {
                empty = ConfigFile::new("");
                &empty
            }
            _ => self.config()?,
        };
        let r = ferry_config::resolve(&loc, cfg, &self.env, &self.registry).map_err(|e| {
            let code = match e {
                ferry_config::ConfigError::Unimplemented { .. } => USAGE,
                _ => ERROR,
            };
            fail(code, e.to_string())
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
        let mut tuning = Vec::new();
        for (k, _) in backend_flags::for_kind(&self.backend_flags, &r.kind) {
            let flag = format!("--{}-{}", r.kind, k.replace('_', "-"));
            match ferry_config::unimplemented(&r.kind, k) {
                Some(ferry_config::Unimplemented::Refused) => {
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
                Some(ferry_config::Unimplemented::Tuning) => tuning.push(flag),
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

    fn local_options(&self) -> LocalOptions {
        let a = &self.local;
        LocalOptions {
            links: if a.copy_links {
                LinkMode::Follow
            } else if a.links {
                LinkMode::Translate
            } else {
                LinkMode::Skip
            },
            skip_links_quietly: a.skip_links,
            one_file_system: a.one_file_system,
            hash_cache: self.hash_cache(),
            encoding: None,
        }
    }

    /// `--hash-cache`: one store per run (opened when something is first hashed).
    fn hash_cache(&self) -> Option<Arc<ferry_local::HashCache>> {
        let dir = match &self.local.hash_cache {
            HashCacheMode::Off => return None,
            HashCacheMode::On => ferry_core::private::cache_home().map(|d| d.join("ferry")),
            HashCacheMode::In(dir) => Some(dir.clone()),
        };
        self.hash_cache
            .get_or_init(|| {
                dir.map(|d| Arc::new(ferry_local::HashCache::at(d.join("hashes.redb"))))
            })
            .clone()
    }

    /// The local options of a `type = local` remote: its `copy_links`, `links`,
    /// `skip_links` and `one_file_system` add to the flags (rclone's remote options were
    /// dropped here before). Options ferry's local backend doesn't honour are refused when
    /// they would change what is stored (`no_set_modtime`, `unicode_normalization`), else
    /// noticed.
    fn local_remote_options(&self, r: &ResolvedRemote) -> anyhow::Result<LocalOptions> {
        let mut o = self.local_options();
        let on = |k: &str| -> anyhow::Result<bool> {
            match r.get(k).map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(false),
                // The value is not quoted: a misplaced secret must not reach the log.
                Some(v) => ferry_core::units::parse_bool(v).ok_or_else(|| {
                    fail(
                        USAGE,
                        format!("{} option {k} must be true or false", r.display_name()),
                    )
                }),
            }
        };
        if on("copy_links")? {
            o.links = LinkMode::Follow;
        } else if on("links")? && o.links == LinkMode::Skip {
            o.links = LinkMode::Translate;
        }
        o.skip_links_quietly |= on("skip_links")?;
        o.one_file_system |= on("one_file_system")?;
        if let Some(v) = r.get("encoding").map(str::trim).filter(|v| !v.is_empty()) {
            let enc = ferry_core::encoding::Encoding::parse(v).map_err(|e| {
                fail(
                    ERROR,
                    format!(
                        "{}: invalid value for option encoding: {e}",
                        r.display_name()
                    ),
                )
            })?;
            o.encoding = Some(enc);
        }
        let mut tuning = Vec::new();
        for k in [
            "no_set_modtime",
            "unicode_normalization",
            "no_check_updated",
            "no_preallocate",
            "no_sparse",
            "case_sensitive",
            "case_insensitive",
            "nounc",
        ] {
            if !on(k)? {
                continue;
            }
            if matches!(k, "no_set_modtime" | "unicode_normalization") {
                let e = ferry_config::ConfigError::Unimplemented {
                    backend: "local".into(),
                    key: k.into(),
                    remote: r.display_name(),
                };
                return Err(fail(USAGE, e.to_string()));
            }
            tuning.push(k);
        }
        if !tuning.is_empty() && r.name.is_some() {
            let mut seen = self.noticed.lock().unwrap_or_else(|p| p.into_inner());
            if seen.insert(format!("local {}", r.display_name())) {
                tracing::warn!(
                    "{} options that only tune rclone are ignored by ferry: {}",
                    r.display_name(),
                    tuning.join(", ")
                );
            }
        }
        Ok(o)
    }

    /// `r` with the backend flags (and environment) for its kind laid over its options.
    fn with_flags<'r>(&self, r: &'r ResolvedRemote) -> std::borrow::Cow<'r, ResolvedRemote> {
        let mut flags = backend_flags::for_kind(&self.backend_flags, &r.kind).peekable();
        if flags.peek().is_none() {
            return std::borrow::Cow::Borrowed(r);
        }
        let mut copy = r.clone();
        let kind = self.registry.get(&r.kind);
        for (k, v) in flags {
            let secret = kind.is_some_and(|kind| kind.is_redacted(k));
            copy.options.insert(k.to_owned(), Secretish::new(v, secret));
        }
        std::borrow::Cow::Owned(copy)
    }

    /// A backend rooted at the argument's path.
    pub fn open(&self, arg: &str) -> anyhow::Result<Arc<dyn Backend>> {
        let r = self.resolve(arg)?;
        self.open_resolved(&r, &r.path)
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
        self.check_unimplemented_flags(r)?;
        let r = self.with_flags(r);
        let r = &*r;
        match r.kind.as_str() {
            "local" | "alias" => Ok(LocalBackend::new(
                local_root(path),
                self.local_remote_options(r)?,
            )),
            "s3" => {
                let kind = self.registry.get("s3");
                let get = |k: &str| match kind {
                    Some(kind) => r.get_or_default(k, kind).map(str::to_owned),
                    None => r.get(k).map(str::to_owned),
                };
                let backend = ferry_s3::S3Backend::from_lookup(path, get)
                    .map_err(|e| fail(ERROR, e.to_string()))?;
                Ok(self.limited(backend))
            }
            "azureblob" => {
                let kind = self.registry.get("azureblob");
                let get = |k: &str| match kind {
                    Some(kind) => r.get_or_default(k, kind).map(str::to_owned),
                    None => r.get(k).map(str::to_owned),
                };
                let env = |k: &str| std::env::var(k).ok();
                let backend = ferry_azblob::AzBackend::from_lookup(path, get, env)
                    .map_err(|e| fail(ERROR, e.to_string()))?;
                Ok(self.limited(backend))
            }
            "sftp" => {
                let loc = self.location().ok();
                let config = loc.as_ref().map(|l| (l.path.as_path(), l.writable));
                let backend =
                    ferry_sftp::open(r, path, config).map_err(|e| fail(ERROR, e.to_string()))?;
                Ok(backend)
            }
            other => Err(fail(
                ERROR,
                format!(
                    "{} uses the {other} backend, which is not built into this version of ferry yet; available now: local, sftp, s3, azureblob",
                    r.display_name()
                ),
            )),
        }
    }

    /// Opens a source; a path to a single file is opened at its parent with the file named.
    pub async fn open_source(&self, arg: &str) -> anyhow::Result<Source> {
        let r = self.resolve(arg)?;
        if r.kind == "local" {
            let path = local_root(&r.path);
            let opts = self.local_remote_options(&self.with_flags(&r))?;
            let follow = opts.links == LinkMode::Follow;
            let meta = if follow {
                std::fs::metadata(&path)
            } else {
                std::fs::symlink_metadata(&path)
            };
            if meta.is_ok_and(|m| !m.is_dir()) {
                let abs = std::path::absolute(&path).unwrap_or(path);
                let parent = abs.parent().map(Path::to_path_buf).unwrap_or_default();
                let backend = LocalBackend::new(parent, opts);
                let name = match abs.file_name() {
                    Some(n) => Some(backend.name_of(n).map_err(|e| fail(ERROR, e.to_string()))?),
                    None => None,
                };
                return Ok(Source {
                    backend,
                    file: name,
                });
            }
        }
        if let Some(single) = self.remote_file(&r).await? {
            return Ok(single);
        }
        Ok(Source {
            backend: self.open_resolved(&r, &r.path)?,
            file: None,
        })
    }

    /// A remote path naming one object (`remote:dir/file`), opened at its parent; as
    /// rclone does, the parent is asked whether the last segment is a file.
    async fn remote_file(&self, r: &ResolvedRemote) -> anyhow::Result<Option<Source>> {
        let trimmed = r.path.trim_end_matches('/');
        if r.kind == "local"
            || r.kind == "alias"
            || trimmed.is_empty()
            || trimmed.len() != r.path.len()
        {
            return Ok(None);
        }
        // `/x` is `x` in the root, not in the login directory (`""`).
        let Some((parent, name)) = ferry_config::split_leaf(trimmed) else {
            return Ok(None);
        };
        // Object stores can't list above a bucket/container: a bare name is one.
        if parent.is_empty() && matches!(r.kind.as_str(), "s3" | "azureblob") {
            return Ok(None);
        }
        let Ok(rel) = ferry_core::RelPath::new(name) else {
            return Ok(None);
        };
        let backend = self.open_resolved(r, parent)?;
        match backend.stat(&rel).await {
            Ok(Some(e)) if !e.is_dir() => Ok(Some(Source {
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

fn local_root(path: &str) -> PathBuf {
    if path.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(path)
    }
}
