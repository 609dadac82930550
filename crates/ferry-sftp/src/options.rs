//! The sftp remote's options, read from a resolved remote (rclone's key names).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_core::encoding::Encoding;
use ferry_core::kind::Options;
use ferry_core::{Error, ErrorKind, Result, Secret};

/// What to do with a host key that no known_hosts file or `host_keys` entry vouches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse hosts whose key is not already known.
    Strict,
    /// Record an unknown host's key in ferry's own known_hosts file (with a notice) and go on.
    AcceptNew,
    /// Check nothing (a warning every run).
    Insecure,
}

impl HostKeyPolicy {
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "" | "accept-new" | "acceptnew" => Ok(HostKeyPolicy::AcceptNew),
            "strict" | "yes" => Ok(HostKeyPolicy::Strict),
            "insecure" | "no" | "off" => Ok(HostKeyPolicy::Insecure),
            other => Err(Error::new(
                ErrorKind::InvalidPath,
                format!(
                    "host_key_policy {other:?} is not valid: use strict, accept-new (the default) or insecure"
                ),
            )),
        }
    }
}

/// A connect timeout of "none": long enough never to matter, short enough for a deadline.
const NO_LIMIT: Duration = Duration::from_secs(365 * 86_400);

/// Where a private key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// `key_pem`: the key text itself.
    Inline(Secret),
    /// `key_file`, with `~` expanded.
    File(PathBuf),
}

/// Everything the backend needs to connect and behave, parsed once.
#[derive(Clone, Debug)]
pub struct SftpOptions {
    /// `remote:` as the user wrote it, for messages.
    pub display: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub pass: Option<Secret>,
    pub key: Option<KeySource>,
    pub key_pass: Option<Secret>,
    pub key_use_agent: bool,
    /// `known_hosts_file`; `None` when unset or `none`.
    pub known_hosts_file: Option<PathBuf>,
    /// `~/.ssh/known_hosts` (read, never written).
    pub user_known_hosts: Option<PathBuf>,
    /// ferry's own known_hosts, next to its config (read, and written under accept-new).
    pub ferry_known_hosts: Option<PathBuf>,
    /// `host_keys`: pinned `algo base64` keys.
    pub host_keys: Vec<String>,
    pub policy: HostKeyPolicy,
    /// `md5sum_command` / `sha1sum_command`: `None` = detect, `Some("")` = disabled.
    pub md5sum_command: Option<String>,
    pub sha1sum_command: Option<String>,
    /// `cksum_command` (ferry's own), the same way.
    pub cksum_command: Option<String>,
    /// `shell_type`: `none` disables remote commands.
    pub shell_type: Option<String>,
    pub set_modtime: bool,
    /// Requests in flight per file transfer.
    pub concurrency: usize,
    /// Most connections at once (0: no limit).
    pub connections: usize,
    pub idle_timeout: Option<Duration>,
    pub disable_hashcheck: bool,
    pub path_override: Option<String>,
    pub connect_timeout: Duration,
    /// How long one SFTP request may wait for its answer: the run's `--timeout` (rclone's
    /// idle timeout on the connection), so a server that stops answering mid-transfer
    /// fails the file after that long instead of holding the run.
    pub request_timeout: Duration,
    /// How many times a connect that fails fast and temporarily (refused, reset, cut
    /// mid-handshake: a server restarting) is tried: the run's `--low-level-retries`.
    pub connect_tries: u32,
    /// How names are stored on the server (rclone's `encoding`).
    pub encoding: Encoding,
}

/// `~` and `~/x` expanded with `$HOME`.
pub fn expand_tilde(p: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (p, home) {
        ("~", Some(h)) => h,
        (p, Some(h)) if p.starts_with("~/") => h.join(&p[2..]),
        (p, _) => PathBuf::from(p),
    }
}

/// ferry's own known_hosts: beside its config file (or beside ferry's default config
/// when the config in use is rclone's, read-only one).
pub fn ferry_known_hosts(config: Option<&Path>, config_writable: bool) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FERRY_KNOWN_HOSTS") {
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    if let (Some(c), true) = (config, config_writable) {
        if let Some(dir) = c.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            return Some(dir.join("known_hosts"));
        }
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        Some(x) if x.is_absolute() => x,
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("ferry").join("known_hosts"))
}

impl SftpOptions {
    /// Reads the options of an `sftp` remote. `ferry_known_hosts` is where accept-new
    /// records keys.
    pub fn from_options(
        o: &Options,
        ferry_known_hosts: Option<PathBuf>,
        timeouts: &ferry_core::net::Timeouts,
    ) -> Result<Self> {
        let display = o.remote().to_owned();
        let host = o.string("host").ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("{display} has no host: set one with `ferry config update NAME host=HOST`"),
            )
        })?;
        let port = o.int("port", 1, 65535)?.unwrap_or(22) as u16;
        let user = o
            .string("user")
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("LOGNAME").ok())
            .unwrap_or_else(|| "root".to_string());
        let reveal = |k: &str| -> Result<Option<Secret>> {
            o.revealed(k).map_err(|e| {
                Error::new(
                    ErrorKind::Auth,
                    format!("{} (store it with `ferry obscure` or `ferry config update NAME {k}=... --obscure`)", e.message()),
                )
            })
        };
        let pass = reveal("pass")?;
        let key_pass = reveal("key_file_pass")?;
        let key = if let Some(pem) = o.text("key_pem") {
            // rclone writes newlines as `\n` in the one-line config value.
            Some(KeySource::Inline(Secret::new(pem.replace("\\n", "\n"))))
        } else {
            o.text("key_file").map(|f| KeySource::File(expand_tilde(f)))
        };
        let known_hosts_file = o
            .text("known_hosts_file")
            .filter(|v| !v.eq_ignore_ascii_case("none"))
            .map(expand_tilde);
        let host_keys = o
            .text("host_keys")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let policy = HostKeyPolicy::parse(o.text("host_key_policy").unwrap_or(""))
            .map_err(|e| o.invalid("host_key_policy", e.message()))?;
        // Unset or empty: detect; `none`: disabled (empty command).
        let cmd = |k: &str| -> Option<String> {
            o.text(k).map(|v| {
                if v.eq_ignore_ascii_case("none") {
                    String::new()
                } else {
                    v.to_string()
                }
            })
        };
        let idle = o.duration("idle_timeout")?.unwrap_or_default();
        // The remote's own connect_timeout, else the run's --contimeout (0: none).
        let connect_timeout = match o.duration("connect_timeout")? {
            Some(t) => t,
            None => timeouts.connect.unwrap_or(NO_LIMIT),
        };
        Ok(SftpOptions {
            display,
            host,
            port,
            user,
            pass,
            key,
            key_pass,
            key_use_agent: o.bool("key_use_agent")?,
            known_hosts_file,
            user_known_hosts: std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".ssh").join("known_hosts")),
            ferry_known_hosts,
            host_keys,
            policy,
            md5sum_command: cmd("md5sum_command"),
            cksum_command: cmd("cksum_command"),
            sha1sum_command: cmd("sha1sum_command"),
            shell_type: o.text("shell_type").map(str::to_ascii_lowercase),
            set_modtime: o.bool("set_modtime")?,
            concurrency: o.int("concurrency", 1, 1024)?.unwrap_or(1) as usize,
            connections: o.int("connections", 0, 10_000)?.unwrap_or(0) as usize,
            idle_timeout: (!idle.is_zero()).then_some(idle),
            disable_hashcheck: o.bool("disable_hashcheck")?,
            path_override: o.string("path_override"),
            connect_timeout: if connect_timeout.is_zero() {
                NO_LIMIT
            } else {
                connect_timeout
            },
            request_timeout: timeouts.idle.filter(|t| !t.is_zero()).unwrap_or(NO_LIMIT),
            connect_tries: ferry_core::retry::LOW_LEVEL_RETRIES,
            encoding: o.encoding()?,
        })
    }

    /// `[host]:port` as known_hosts writes it (plain `host` on port 22).
    pub fn host_port(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }

    /// `user@host:port`, for messages.
    pub fn target(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert_eq!(HostKeyPolicy::parse("").unwrap(), HostKeyPolicy::AcceptNew);
        assert_eq!(
            HostKeyPolicy::parse("Strict").unwrap(),
            HostKeyPolicy::Strict
        );
        assert_eq!(
            HostKeyPolicy::parse("accept_new").unwrap(),
            HostKeyPolicy::AcceptNew
        );
        assert_eq!(
            HostKeyPolicy::parse("insecure").unwrap(),
            HostKeyPolicy::Insecure
        );
        assert!(HostKeyPolicy::parse("maybe").is_err());
    }
}
