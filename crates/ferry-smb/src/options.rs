//! A remote's options, read once through [`Options`] (defaults live in the spec).

use std::time::Duration;

use ferry_core::encoding::Names;
use ferry_core::kind::Options;
use ferry_core::net::Timeouts;
use ferry_core::{Error, ErrorKind, Result, Secret};

/// Everything the backend reads from a remote's options.
#[derive(Clone, Debug)]
pub struct SmbOptions {
    /// The remote as messages name it (`name:` or `:smb:`).
    pub remote: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub pass: Secret,
    pub domain: String,
    /// `None`: keep idle connections.
    pub idle_timeout: Option<Duration>,
    pub hide_special_share: bool,
    pub case_insensitive: bool,
    /// `--contimeout` (dialling, negotiating and logging in) and `--timeout` (an answer
    /// going quiet); rclone's 1m and 5m unless the run says otherwise.
    pub timeouts: Timeouts,
    /// How many times a connect that fails fast and temporarily (refused, reset: a
    /// server restarting) is tried: the run's `--low-level-retries`.
    pub connect_tries: u32,
    pub names: Names,
}

impl SmbOptions {
    pub fn from_options(o: &Options) -> Result<SmbOptions> {
        let remote = o.remote().to_owned();
        let host = o.string("host").filter(|h| !h.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("{remote} has no host: set host = the SMB server's name or address"),
            )
        })?;
        if o.bool("use_kerberos")? {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{remote} sets use_kerberos = true: ferry authenticates to SMB servers with \
                     NTLM only (user, pass, domain); remove use_kerberos or use rclone for this remote"
                ),
            ));
        }
        Ok(SmbOptions {
            user: o.string("user").unwrap_or_else(current_user),
            port: o.int("port", 1, 65535)?.unwrap_or(445) as u16,
            pass: o
                .revealed("pass")?
                .unwrap_or_else(|| Secret::new(String::new())),
            domain: o.string("domain").unwrap_or_default(),
            idle_timeout: o.duration("idle_timeout")?.filter(|d| !d.is_zero()),
            hide_special_share: o.bool("hide_special_share")?,
            case_insensitive: o.bool("case_insensitive")?,
            names: Names::new(o.encoding()?),
            timeouts: Timeouts::DEFAULT,
            connect_tries: ferry_core::retry::LOW_LEVEL_RETRIES,
            host,
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

    /// The account as NTLM takes it: `DOMAIN\user` (a user given as `DOMAIN\user` or
    /// `user@domain` already names its domain).
    pub fn account(&self) -> String {
        if self.domain.is_empty() || self.user.contains('\\') || self.user.contains('@') {
            self.user.clone()
        } else {
            format!("{}\\{}", self.domain, self.user)
        }
    }
}

/// rclone's default user: the one running it.
fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "guest".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Result<SmbOptions> {
        SmbOptions::from_options(&Options::from_pairs(&crate::KIND, pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_rclones_and_kerberos_is_refused() {
        let o = opts(&[("host", "h"), ("user", "u")]).unwrap();
        assert_eq!((o.port, o.domain.as_str()), (445, "WORKGROUP"));
        assert_eq!(o.account(), "WORKGROUP\\u");
        assert_eq!(o.idle_timeout, Some(Duration::from_secs(60)));
        assert!(o.hide_special_share && o.case_insensitive);
        assert_eq!(o.target(), "h:445");
        let o = opts(&[("host", "h"), ("user", "D\\u"), ("idle_timeout", "0")]).unwrap();
        assert_eq!((o.account().as_str(), o.idle_timeout), ("D\\u", None));
        let e = opts(&[("host", "h"), ("use_kerberos", "true")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("NTLM only"), "{e}");
        assert!(opts(&[("use_kerberos", "false"), ("host", "h")]).is_ok());
        assert_eq!(opts(&[]).unwrap_err().kind(), ErrorKind::Config);
    }
}
