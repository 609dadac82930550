//! One line for a request that got no answer: what went wrong, where it was going and
//! what to check — instead of an HTTP library's nested error structures.

use std::error::Error as StdError;
use std::io::ErrorKind as IoKind;
use std::time::Duration;

/// How long a network backend waits: rclone's `--contimeout` (to connect) and `--timeout`
/// (for a transfer or an answer to go quiet). `None`: no limit (rclone's `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Option<Duration>,
    pub idle: Option<Duration>,
}

impl Timeouts {
    /// rclone's defaults: 1m to connect, 5m idle.
    pub const DEFAULT: Timeouts = Timeouts {
        connect: Some(Duration::from_secs(60)),
        idle: Some(Duration::from_secs(300)),
    };

    /// From the flags' values, where `0` means no limit and an unset flag rclone's default.
    pub fn from_flags(connect: Option<Duration>, idle: Option<Duration>) -> Timeouts {
        let pick = |flag: Option<Duration>, default: Option<Duration>| match flag {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None => default,
        };
        Timeouts {
            connect: pick(connect, Self::DEFAULT.connect),
            idle: pick(idle, Self::DEFAULT.idle),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// rclone's HTTP flags, for every backend that talks HTTP (and `copyurl`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpSettings {
    /// `--user-agent` (`None`: `ferry/VERSION`).
    pub user_agent: Option<String>,
    /// `--header`: sent with every request.
    pub headers: Vec<(String, String)>,
    /// `--header-upload`: sent with the requests that upload a file's data.
    pub upload_headers: Vec<(String, String)>,
    /// `--header-download`: sent with the requests that read a file's data.
    pub download_headers: Vec<(String, String)>,
    /// `--no-check-certificate`: accept any server certificate.
    pub no_check_certificate: bool,
    /// `--ca-cert`: the only CAs trusted (PEM files), instead of the system's.
    pub ca_certs: Vec<std::path::PathBuf>,
    /// `--client-cert` and `--client-key`: a client certificate (PEM), given together.
    pub client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// `--disable-http2`.
    pub disable_http2: bool,
    /// `--disable-http-keep-alives`: a new connection for every request.
    pub disable_keep_alives: bool,
    /// `--use-cookies`: a cookie jar per client, sending back what servers set.
    pub use_cookies: bool,
}

/// The PEM file a TLS flag names (`--ca-cert`, `--client-cert`, `--client-key`), read
/// whole; an unreadable one is a configuration error naming the flag and the file.
pub fn read_pem(path: &std::path::Path, flag: &str) -> crate::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| pem_error(path, flag, e))
}

/// A TLS flag's file that can't be used, and why.
pub fn pem_error(path: &std::path::Path, flag: &str, why: impl std::fmt::Display) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Config,
        format!("can't use {flag} {}: {why}", path.display()),
    )
}

/// One `--header`/`--header-upload`/`--header-download` value, `Name: value`, as rclone
/// reads it (split at the first colon, spaces around both parts trimmed).
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            let name = name.trim();
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                return Err(format!("{name:?} is not an HTTP header name"));
            }
            Ok((name.to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "{s:?} is not a header: give it as \"Name: value\", e.g. \"Cache-Control: no-cache\""
        )),
    }
}

/// `host:port` of a URL (the scheme's port when none is given), without user info,
/// path or query (which may hold a secret).
pub fn target_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let has_port = match host.rfind(']') {
        Some(close) => host[close..].contains(':'),
        None => host.contains(':'),
    };
    match (has_port, scheme) {
        (false, "http") => format!("{host}:80"),
        (false, "https") => format!("{host}:443"),
        _ => host.to_owned(),
    }
}

/// The errors of a chain, outermost first.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

/// Whether `err` won't go away by trying again: an HTTPS server's certificate refused,
/// or redirects going round in a loop.
pub fn is_permanent(err: &(dyn StdError + 'static)) -> bool {
    is_certificate(err) || chain(err).any(|e| e.to_string().contains("too many redirects"))
}

fn is_certificate(err: &(dyn StdError + 'static)) -> bool {
    chain(err).any(|e| e.to_string().contains("certificate"))
}

/// Describes a failure to reach `target` (`host:port`) in one line. `timeout` says the
/// library classed it as a timeout.
pub fn unreachable(target: &str, err: &(dyn StdError + 'static), timeout: bool) -> String {
    let io = chain(err).find_map(|e| e.downcast_ref::<std::io::Error>());
    let innermost = chain(err).last().map(|e| e.to_string()).unwrap_or_default();
    let innermost = innermost.lines().next().unwrap_or("").trim().to_owned();
    let text: String = chain(err)
        .map(|e| e.to_string().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(": ");
    if is_certificate(err) {
        return format!(
            "the TLS certificate of {target} was refused ({innermost}) — give its CA with \
             --ca-cert, or skip the check with --no-check-certificate (insecure)"
        );
    }
    if text.contains("too many redirects") {
        return format!(
            "{target} redirected too many times — a login or cookie loop? --use-cookies keeps the cookies a server sets"
        );
    }
    match io.map(std::io::Error::kind) {
        Some(IoKind::ConnectionRefused) => {
            format!(
                "connection refused to {target} — is the endpoint right, and the server running?"
            )
        }
        Some(IoKind::TimedOut) => {
            format!("timed out connecting to {target} — check the endpoint and firewalls")
        }
        Some(IoKind::ConnectionReset | IoKind::ConnectionAborted | IoKind::BrokenPipe) => {
            format!("the connection to {target} was dropped ({innermost})")
        }
        _ if text.contains("dns error") || text.contains("lookup") || text.contains("resolve") => {
            format!("can't resolve the host of {target} ({innermost}) — check the endpoint")
        }
        _ if timeout => {
            format!("timed out talking to {target} — check the endpoint and the network")
        }
        _ => format!("can't reach {target}: {innermost}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, std::io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn targets_and_one_line_reasons() {
        assert_eq!(target_of("http://127.0.0.1:9000/acct"), "127.0.0.1:9000");
        assert_eq!(
            target_of("https://u:p@s3.example.com/b?sig=x"),
            "s3.example.com:443"
        );
        assert_eq!(target_of("http://[::1]/x"), "[::1]:80");
        let e = Wrap(
            "tcp connect error",
            std::io::Error::new(
                IoKind::ConnectionRefused,
                "Connection refused (os error 111)",
            ),
        );
        assert_eq!(
            unreachable("127.0.0.1:9", &e, false),
            "connection refused to 127.0.0.1:9 — is the endpoint right, and the server running?"
        );
        let e = Wrap(
            "dns error",
            std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            ),
        );
        let m = unreachable("nohost:443", &e, false);
        assert!(
            m.starts_with("can't resolve the host of nohost:443 (failed to lookup"),
            "{m}"
        );
        assert!(!m.contains('{') && !m.contains('\n'));
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(
            parse_header("X-Token:  a:b ").unwrap(),
            ("X-Token".into(), "a:b".into())
        );
        assert_eq!(parse_header("Empty:").unwrap(), ("Empty".into(), "".into()));
        assert!(parse_header("no colon")
            .unwrap_err()
            .contains("Name: value"));
        assert!(parse_header(": v").is_err());
        assert!(parse_header("bad name: v").is_err());
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    #[test]
    fn zero_is_no_limit_and_unset_is_rclones_default() {
        let t = Timeouts::from_flags(Some(Duration::ZERO), None);
        assert_eq!(t.connect, None);
        assert_eq!(t.idle, Some(Duration::from_secs(300)));
        let t = Timeouts::from_flags(Some(Duration::from_secs(2)), Some(Duration::from_secs(9)));
        assert_eq!(
            (t.connect, t.idle),
            (Some(Duration::from_secs(2)), Some(Duration::from_secs(9)))
        );
    }
}
