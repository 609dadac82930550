//! A remote's options, read once through [`Options`] (defaults live in the spec).

use std::time::Duration;

use ferry_core::encoding::{Encoding, Names};
use ferry_core::kind::Options;
use ferry_core::net::Timeouts;
use ferry_core::{Error, ErrorKind, Result, Secret};

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// `AUTH TLS` on the plain connection (`explicit_tls`).
    Explicit,
    /// TLS from the first byte (`tls`).
    Implicit,
}

/// Everything the backend reads from a remote's options.
#[derive(Clone, Debug)]
pub struct FtpOptions {
    /// The remote as messages name it (`name:` or `:ftp:`).
    pub remote: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub pass: Secret,
    pub security: Security,
    /// 0: unlimited.
    pub concurrency: usize,
    pub no_check_certificate: bool,
    pub disable_epsv: bool,
    pub disable_mlsd: bool,
    pub disable_utf8: bool,
    pub writing_mdtm: bool,
    pub force_list_hidden: bool,
    /// `None`: keep idle connections.
    pub idle_timeout: Option<Duration>,
    pub close_timeout: Option<Duration>,
    pub shut_timeout: Option<Duration>,
    pub tls_cache_size: usize,
    pub disable_tls13: bool,
    pub no_check_upload: bool,
    /// `--contimeout` (dialling, TLS and login) and `--timeout` (a command or transfer
    /// going quiet); rclone's 1m and 5m unless the run says otherwise.
    pub timeouts: Timeouts,
    /// How names are stored: the `encoding` option plus `CrLf`, which rclone adds to
    /// every name it sends in a command (a line break would end the command).
    pub names: Names,
}

impl FtpOptions {
    pub fn from_options(o: &Options) -> Result<FtpOptions> {
        let remote = o.remote().to_owned();
        let host = o.string("host").ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("{remote} has no host: set host = the FTP server's name or address"),
            )
        })?;
        let security = match (o.bool("tls")?, o.bool("explicit_tls")?) {
            (true, true) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{remote} sets both tls (implicit FTPS) and explicit_tls: \
                         choose one (the server's port usually tells: 990 is implicit)"
                    ),
                ))
            }
            (true, false) => Security::Implicit,
            (false, true) => Security::Explicit,
            (false, false) => Security::Plain,
        };
        let pass = match o.revealed("pass")? {
            Some(p) => p,
            None if o.bool("ask_password")? => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{remote} has ask_password set and no pass: ferry doesn't prompt; \
                         set pass (`ferry config password` or `rclone obscure`)"
                    ),
                ))
            }
            None => Secret::new(String::new()),
        };
        let port = o.int("port", 1, 65535)?.unwrap_or(21) as u16;
        let enc = o.encoding()?.union(Encoding::CR_LF);
        Ok(FtpOptions {
            user: o.string("user").unwrap_or_else(current_user),
            host,
            port,
            pass,
            security,
            concurrency: o.int("concurrency", 0, 1 << 20)?.unwrap_or(0) as usize,
            no_check_certificate: o.bool("no_check_certificate")?,
            disable_epsv: o.bool("disable_epsv")?,
            disable_mlsd: o.bool("disable_mlsd")?,
            disable_utf8: o.bool("disable_utf8")?,
            writing_mdtm: o.bool("writing_mdtm")?,
            force_list_hidden: o.bool("force_list_hidden")?,
            idle_timeout: nonzero(o.duration("idle_timeout")?),
            close_timeout: nonzero(o.duration("close_timeout")?),
            shut_timeout: nonzero(o.duration("shut_timeout")?),
            tls_cache_size: o
                .int("tls_cache_size", i64::MIN, 1 << 20)?
                .unwrap_or(0)
                .max(0) as usize,
            disable_tls13: o.bool("disable_tls13")?,
            no_check_upload: o.bool("no_check_upload")?,
            names: Names::new(enc),
            timeouts: Timeouts::DEFAULT,
            remote,
        })
    }

    /// `host:port` as messages show it.
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// 0 (or rclone's `off`) means no limit.
fn nonzero(d: Option<Duration>) -> Option<Duration> {
    d.filter(|d| !d.is_zero())
}

/// rclone's default user: the one running it.
fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "anonymous".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KIND;

    fn opts(pairs: &[(&str, &str)]) -> Result<FtpOptions> {
        FtpOptions::from_options(&Options::from_pairs(&KIND, pairs.iter().copied()))
    }

    #[test]
    fn rclone_defaults_and_obscured_password() {
        let ob = ferry_core::obscure::obscure("s3cret").unwrap();
        let o = opts(&[("host", "ftp.example.com"), ("user", "u"), ("pass", &ob)]).unwrap();
        assert_eq!(o.port, 21);
        assert_eq!(o.pass.expose(), "s3cret");
        assert_eq!(o.security, Security::Plain);
        assert_eq!(o.concurrency, 0);
        assert_eq!(o.idle_timeout, Some(Duration::from_secs(60)));
        assert_eq!(o.tls_cache_size, 32);
        assert_eq!(
            o.names.encoding().to_string(),
            "Slash,CrLf,Del,Ctl,RightSpace,Dot"
        );
        assert_eq!(o.target(), "ftp.example.com:21");
        let o = opts(&[("host", "h"), ("tls", "true"), ("idle_timeout", "0")]).unwrap();
        assert_eq!(o.security, Security::Implicit);
        assert_eq!(o.idle_timeout, None);
    }

    #[test]
    fn bad_combinations_are_one_config_error() {
        let e = opts(&[("user", "u")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("no host"), "{e}");
        let e = opts(&[("host", "h"), ("tls", "true"), ("explicit_tls", "yes")]).unwrap_err();
        assert!(e.to_string().contains("choose one"), "{e}");
        let e = opts(&[("host", "h"), ("pass", "not-obscured")]).unwrap_err();
        assert!(!e.to_string().contains("not-obscured"), "{e}");
        let e = opts(&[("host", "h"), ("ask_password", "true")]).unwrap_err();
        assert!(e.to_string().contains("doesn't prompt"), "{e}");
        assert!(opts(&[("host", "h"), ("port", "70000")]).is_err());
    }
}
