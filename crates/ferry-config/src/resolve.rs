//! From a parsed [`Location`] to "which backend, which options, which path".

use std::collections::BTreeMap;

use serde::Serialize;

use crate::env::Env;
use crate::error::{ConfigError, Result};
use crate::file::ConfigFile;
use crate::path::Location;
use ferry_core::kind::{BackendKind, Effect, Options, Registry};
use ferry_core::secret::{Secret, Secretish};

/// A path argument resolved against the config file, the environment and
/// the registry.
///
/// `options` holds the options that were set somewhere (connection string,
/// environment or file), not the defaults: use [`BackendKind::default_for`]
/// or [`ResolvedRemote::get_or_default`] for those. Values of `secret` keys
/// are as stored in the file, i.e. obscured; use
/// [`ResolvedRemote::revealed`]. Values of secret or sensitive keys print as
/// `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRemote {
    /// Backend type: `local`, `sftp`, `s3`, `azureblob`…
    pub kind: String,
    /// Remote name, for `remote:` forms; `None` for local paths and
    /// on-the-fly remotes.
    pub name: Option<String>,
    /// Options, by key.
    pub options: BTreeMap<String, Secretish>,
    /// Path inside the backend.
    pub path: String,
    /// Keys of the file section that neither ferry nor rclone knows for this backend (kept
    /// in the file, not passed on) — for a notice.
    pub ignored_keys: Vec<String>,
    /// rclone options set for this remote that only tune rclone, which ferry ignores —
    /// for a notice.
    pub tuning_ignored: Vec<String>,
}

impl ResolvedRemote {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(Secretish::expose)
    }

    /// The value of `key`, or the kind's default.
    pub fn get_or_default<'a>(&'a self, key: &str, kind: &BackendKind) -> Option<&'a str> {
        self.get(key).or_else(|| kind.default_for(key))
    }

    /// The value of `key` revealed (for `secret` keys, which are stored
    /// obscured). `Ok(None)` if unset or empty.
    pub fn revealed(&self, key: &str) -> Result<Option<Secret>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => Ok(Some(Secret::new(crate::obscure::reveal(v)?))),
        }
    }

    /// The options, typed, over the defaults of `kind` (the registered kind of this
    /// remote's type).
    pub fn typed(&self, kind: &'static BackendKind) -> Options {
        Options::new(kind, self.display_name(), self.options.clone())
    }

    /// A name for messages: `remote:` or `:kind:`.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => format!("{n}:"),
            None => format!(":{}:", self.kind),
        }
    }
}

fn find_kind(
    registry: &Registry,
    kind: &str,
    remote: Option<&str>,
) -> Result<&'static BackendKind> {
    registry
        .get(kind)
        .ok_or_else(|| ConfigError::UnknownBackend {
            kind: kind.to_string(),
            remote: remote.map(str::to_string),
            known: registry.names_joined(),
        })
}

fn check_keys<'a>(
    spec: &BackendKind,
    keys: impl Iterator<Item = &'a String>,
    remote: Option<&str>,
    allow_type: bool,
) -> Result<()> {
    for k in keys {
        if (allow_type && k == "type") || spec.option(k).is_some() {
            continue;
        }
        return Err(ConfigError::UnknownOption {
            backend: spec.name.to_string(),
            key: k.clone(),
            remote: remote.map(str::to_string),
        });
    }
    Ok(())
}

/// Sorts keys the backend lacks: an unimplemented rclone option that changes what is
/// stored or who may read it is an error; the ones that only tune rclone come back first,
/// keys nobody knows second (both for notices). A boolean rclone option set to false asks
/// for rclone's default, which is what ferry does: it is neither refused nor noticed.
fn sort_unimplemented<'a>(
    spec: &BackendKind,
    entries: impl Iterator<Item = (&'a String, Option<&'a str>)>,
    remote: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut tuning, mut unknown) = (Vec::new(), Vec::new());
    for (k, value) in entries {
        if k == "type" || spec.option(k).is_some() || asks_for_the_default(spec, k, value) {
            continue;
        }
        let list = match spec.unimplemented.effect(k) {
            Some(Effect::Refused) => {
                return Err(ConfigError::Unimplemented {
                    backend: spec.name.to_string(),
                    key: k.clone(),
                    remote: remote.to_string(),
                })
            }
            Some(Effect::Tuning) => &mut tuning,
            None => &mut unknown,
        };
        if !list.contains(k) {
            list.push(k.clone());
        }
    }
    Ok((tuning, unknown))
}

/// Whether `key`, an rclone boolean ferry lacks, is set to false (rclone's default).
pub fn asks_for_the_default(spec: &BackendKind, key: &str, value: Option<&str>) -> bool {
    spec.unimplemented.booleans.contains(&key)
        && value.and_then(|v| ferry_core::units::parse_bool(v.trim())) == Some(false)
}

/// Resolve a parsed location.
///
/// * local path → kind `local`, no options;
/// * `:backend,…:path` and URL forms → that backend with the given options
///   (each must be an option of the backend);
/// * `remote,…:path` → the remote's type and options, each option taken
///   from, in order: the connection string, `FERRY_CONFIG_<REMOTE>_<KEY>`,
///   `RCLONE_CONFIG_<REMOTE>_<KEY>`, the config file. A remote defined only
///   by `FERRY_CONFIG_<REMOTE>_TYPE` (or rclone's) exists.
pub fn resolve(
    loc: &Location,
    cfg: &ConfigFile,
    env: &Env,
    registry: &Registry,
) -> Result<ResolvedRemote> {
    match loc {
        Location::Local { path } => Ok(ResolvedRemote {
            kind: "local".to_string(),
            name: None,
            options: BTreeMap::new(),
            path: path.clone(),
            ignored_keys: Vec::new(),
            tuning_ignored: Vec::new(),
        }),
        Location::OnTheFly {
            backend,
            options,
            path,
        } => {
            let spec = find_kind(registry, backend, None)?;
            let display = format!(":{backend}:");
            let (tuning_ignored, _) = sort_unimplemented(
                spec,
                options.iter().map(|(k, v)| (k, Some(v.expose()))),
                &display,
            )?;
            check_keys(
                spec,
                options.iter().filter_map(|(k, v)| {
                    let known = tuning_ignored.contains(k)
                        || asks_for_the_default(spec, k, Some(v.expose()));
                    (!known).then_some(k)
                }),
                None,
                false,
            )?;
            Ok(ResolvedRemote {
                kind: spec.name.to_string(),
                name: None,
                options: options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().remark(spec.is_redacted(k))))
                    .collect(),
                path: path.clone(),
                ignored_keys: Vec::new(),
                tuning_ignored,
            })
        }
        Location::Remote {
            name,
            overrides,
            path,
        } => {
            let lookup = |key: &str| -> Option<String> {
                if let Some(v) = overrides.get(key) {
                    return Some(v.expose().to_string());
                }
                if let Some((v, _var)) = env.remote_value(name, key) {
                    return Some(v.to_string());
                }
                cfg.get(name, key).map(str::to_string)
            };
            let Some(kind) = lookup("type").filter(|t| !t.is_empty()) else {
                return Err(if cfg.has_section(name) {
                    ConfigError::MissingType {
                        name: name.clone(),
                        path: cfg.path().to_path_buf(),
                    }
                } else {
                    ConfigError::RemoteNotFound { name: name.clone() }
                });
            };
            let spec = find_kind(registry, &kind, Some(name))?;
            let kind = spec.name.to_string();
            let display = format!("{name}:");
            let (mut tuning_ignored, _) = sort_unimplemented(
                spec,
                overrides.iter().map(|(k, v)| (k, Some(v.expose()))),
                &display,
            )?;
            check_keys(
                spec,
                overrides.iter().filter_map(|(k, v)| {
                    let known = tuning_ignored.contains(k)
                        || asks_for_the_default(spec, k, Some(v.expose()));
                    (!known).then_some(k)
                }),
                Some(name),
                true,
            )?;
            let mut options = BTreeMap::new();
            for opt in spec.options {
                if let Some(v) = lookup(opt.name) {
                    options.insert(opt.name.to_string(), Secretish::new(v, opt.redacted()));
                }
            }
            // Keys of the file and of the environment that ferry doesn't implement: refused,
            // or ignored with a notice (never silently).
            let from_env: Vec<(String, Option<String>)> = spec
                .unimplemented
                .keys()
                .filter_map(|k| {
                    Some((
                        k.to_string(),
                        Some(env.remote_value(name, k)?.0.to_string()),
                    ))
                })
                .collect();
            let from_file: Vec<(String, Option<String>)> = cfg
                .keys(name)
                .into_iter()
                .filter(|k| k != "type" && spec.option(k).is_none())
                .map(|k| {
                    let v = cfg.get(name, &k).map(str::to_string);
                    (k, v)
                })
                .collect();
            let (tuning, ignored_keys) = sort_unimplemented(
                spec,
                from_file
                    .iter()
                    .chain(&from_env)
                    .map(|(k, v)| (k, v.as_deref())),
                &display,
            )?;
            for k in tuning {
                if !tuning_ignored.contains(&k) {
                    tuning_ignored.push(k);
                }
            }
            Ok(ResolvedRemote {
                kind,
                name: Some(name.clone()),
                options,
                path: path.clone(),
                ignored_keys,
                tuning_ignored,
            })
        }
    }
}

/// Parse and resolve in one go.
pub fn resolve_arg(
    arg: &str,
    cfg: &ConfigFile,
    env: &Env,
    registry: &Registry,
) -> Result<ResolvedRemote> {
    resolve(
        &crate::path::parse_location(arg, registry)?,
        cfg,
        env,
        registry,
    )
}

/// Where a remote is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteSource {
    /// A section of the config file.
    File,
    /// `FERRY_CONFIG_<NAME>_TYPE` or `RCLONE_CONFIG_<NAME>_TYPE`.
    Environment,
}

/// One remote, for `listremotes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteInfo {
    /// Remote name.
    pub name: String,
    /// Its `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it is defined.
    pub source: RemoteSource,
    /// Its `description` key, if any.
    pub description: String,
}

/// Remotes from the environment and the file (sections with a `type`),
/// sorted by name. An environment remote hides a file section of the same
/// name (compared case-insensitively, since variable names are uppercase).
pub fn list_remotes(cfg: &ConfigFile, env: &Env) -> Vec<RemoteInfo> {
    let mut out: Vec<RemoteInfo> = env
        .env_remotes()
        .into_iter()
        .map(|(name, kind, _)| {
            let description = env
                .remote_value(&name, "description")
                .map(|(v, _)| v.to_string())
                .unwrap_or_default();
            RemoteInfo {
                name,
                kind,
                source: RemoteSource::Environment,
                description,
            }
        })
        .collect();
    for s in cfg.sections() {
        if out
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(&s) || r.name == s.to_lowercase())
        {
            continue;
        }
        if let Some(kind) = cfg.get(&s, "type").filter(|t| !t.is_empty()) {
            out.push(RemoteInfo {
                kind: kind.to_string(),
                description: cfg.get(&s, "description").unwrap_or_default().to_string(),
                name: s,
                source: RemoteSource::File,
            });
        }
    }
    // As rclone lists them: the environment's first, then the file's in file order.
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_location;

    const CONF: &str = "\
[box]
type = sftp
host = file.example
user = filer
pass = OBSCURED
x_unknown = 1

[bucket]
type = s3
provider = AWS
secret_access_key = FILESECRET

[notype]
host = x

[odd]
type = dropbox
";

    fn cfg() -> ConfigFile {
        ConfigFile::parse(CONF, "/c/ferry.conf").unwrap()
    }

    fn reg() -> Registry {
        crate::testkinds::registry()
    }

    fn res(arg: &str, env: &Env) -> Result<ResolvedRemote> {
        resolve(&parse_location(arg, &reg()).unwrap(), &cfg(), env, &reg())
    }

    #[test]
    fn local_and_file_remote() {
        let r = res("/tmp/x", &Env::empty()).unwrap();
        assert_eq!(
            (r.kind.as_str(), r.name.as_deref(), r.path.as_str()),
            ("local", None, "/tmp/x")
        );
        assert!(r.options.is_empty());

        let r = res("box:dir", &Env::empty()).unwrap();
        assert_eq!(r.kind, "sftp");
        assert_eq!(r.name.as_deref(), Some("box"));
        assert_eq!(r.path, "dir");
        assert_eq!(r.get("host"), Some("file.example"));
        assert_eq!(r.get("port"), None);
        let sftp = *reg().get("sftp").unwrap();
        assert_eq!(r.get_or_default("port", &sftp), Some("22"));
        assert_eq!(r.ignored_keys, vec!["x_unknown"]);
        assert_eq!(r.display_name(), "box:");
    }

    #[test]
    fn precedence_connection_string_env_file() {
        let env = Env::from_pairs([
            ("FERRY_CONFIG_BOX_HOST", "ferry.example"),
            ("RCLONE_CONFIG_BOX_HOST", "rclone.example"),
            ("RCLONE_CONFIG_BOX_USER", "rcuser"),
            ("RCLONE_CONFIG_BOX_PORT", "2200"),
        ]);
        let r = res("box:", &env).unwrap();
        assert_eq!(r.get("host"), Some("ferry.example"));
        assert_eq!(r.get("user"), Some("rcuser"));
        assert_eq!(r.get("port"), Some("2200"));
        let r = res("box,host=cli.example,port=1:", &env).unwrap();
        assert_eq!(r.get("host"), Some("cli.example"));
        assert_eq!(r.get("port"), Some("1"));
        assert_eq!(r.get("user"), Some("rcuser"));
        // The type itself can come from the environment.
        let env = Env::from_pairs([("FERRY_CONFIG_BOX_TYPE", "local")]);
        assert_eq!(res("box:", &env).unwrap().kind, "local");
    }

    #[test]
    fn env_only_remote_exists() {
        let env = Env::from_pairs([
            ("FERRY_CONFIG_MYS3_TYPE", "s3"),
            ("FERRY_CONFIG_MYS3_REGION", "eu-west-1"),
            ("RCLONE_CONFIG_MYS3_SECRET_ACCESS_KEY", "ENVSECRET"),
            ("RCLONE_CONFIG_OTHER_TYPE", "local"),
        ]);
        let r = res("mys3:bucket/p", &env).unwrap();
        assert_eq!(r.kind, "s3");
        assert_eq!(r.get("region"), Some("eu-west-1"));
        assert_eq!(r.get("secret_access_key"), Some("ENVSECRET"));
        assert!(!format!("{r:?}").contains("ENVSECRET"));
        assert_eq!(res("other:", &env).unwrap().kind, "local");
        let names: Vec<_> = list_remotes(&cfg(), &env)
            .into_iter()
            .map(|r| (r.name, r.kind, r.source))
            .collect();
        assert_eq!(
            names,
            // As rclone lists them: the environment's first, then the file's in its order.
            vec![
                ("mys3".into(), "s3".into(), RemoteSource::Environment),
                ("other".into(), "local".into(), RemoteSource::Environment),
                ("box".into(), "sftp".into(), RemoteSource::File),
                ("bucket".into(), "s3".into(), RemoteSource::File),
                ("odd".into(), "dropbox".into(), RemoteSource::File),
            ]
        );
    }

    #[test]
    fn on_the_fly_and_urls() {
        let r = res(":s3,env_auth,region=x:b/p", &Env::empty()).unwrap();
        assert_eq!(
            (r.kind.as_str(), r.name.as_deref(), r.path.as_str()),
            ("s3", None, "b/p")
        );
        assert_eq!(r.get("env_auth"), Some("true"));
        let r = res("sftp://u@h:2/x", &Env::empty()).unwrap();
        assert_eq!(
            (r.get("host"), r.get("user"), r.get("port")),
            (Some("h"), Some("u"), Some("2"))
        );
        assert_eq!(r.path, "/x");
        let r = res("https://a.blob.core.windows.net/c/p?sig=S1", &Env::empty()).unwrap();
        assert_eq!(r.kind, "azureblob");
        assert_eq!(
            r.get("sas_url"),
            Some("https://a.blob.core.windows.net/c?sig=S1")
        );
        assert!(!format!("{r:?}").contains("S1"));
        assert_eq!(r.display_name(), ":azureblob:");
    }

    #[test]
    fn secrets_redacted_in_debug_and_revealed_on_demand() {
        let ob = ferry_core::obscure::obscure("hunter2").unwrap();
        let env = Env::from_pairs([("FERRY_CONFIG_BOX_PASS", ob.as_str())]);
        let r = res("box:", &env).unwrap();
        let d = format!("{r:?}");
        assert!(!d.contains(&ob) && d.contains("file.example"), "{d}");
        assert_eq!(r.revealed("pass").unwrap().unwrap().expose(), "hunter2");
        assert!(r.revealed("key_file_pass").unwrap().is_none());
        let r = res("bucket:", &Env::empty()).unwrap();
        assert!(!format!("{r:?}").contains("FILESECRET"));
        assert_eq!(r.get("secret_access_key"), Some("FILESECRET"));
        // A plain value where an obscured one belongs: a clear error.
        let r = res("box:", &Env::empty()).unwrap();
        assert!(r.revealed("pass").is_err());
    }

    #[test]
    fn resolution_errors() {
        let e = res("nope:x", &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "didn't find section in config file (\"nope\"): run `ferry config create nope TYPE ...` to add it, or check the name with `ferry listremotes`"
        );
        let e = res("notype:", &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "remote \"notype\" in /c/ferry.conf has no `type` key: add one with `ferry config update notype type=TYPE` or recreate it with `ferry config create`"
        );
        let e = res("odd:", &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown backend type \"dropbox\" (remote \"odd\"): known types are azureblob, http, local, s3, sftp, webdav"
        );
        let e = res(":ftp:x", &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown backend type \"ftp\": known types are azureblob, http, local, s3, sftp, webdav"
        );
        let e = res(":s3,bogus=1:x", &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown option \"bogus\" for backend \"s3\": see `ferry config providers` for the valid keys"
        );
        let e = res("box,bogus=SECRETVAL:x", &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown option \"bogus\" for backend \"sftp\" (remote \"box\"): see `ferry config providers` for the valid keys"
        );
        assert!(!format!("{e:?}").contains("SECRETVAL"));
    }
}
