//! The URL forms this backend claims, as the registry hands them over.

use ferry_core::kind::{percent_decode, BadUrl, UrlRemote};
use ferry_core::Secretish;

fn bad_url(shown: String, reason: impl Into<String>) -> BadUrl {
    BadUrl::new(shown, reason)
}

/// `sftp://[USER[:PASS]@]HOST[:PORT]/PATH` (`/~/x` is relative to the login directory).
pub(crate) fn parse(rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    let (authority, raw_path) = match rest.find('/') {
        Some(p) => (&rest[..p], &rest[p..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(p) => (Some(&authority[..p]), &authority[p + 1..]),
        None => (None, authority),
    };
    // Never show user info (it may hold a password).
    let shown = format!("sftp://{hostport}{raw_path}");
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let Some(close) = h.find(']') else {
            return Err(bad_url(shown, "missing `]` after the IPv6 address"));
        };
        let after = &h[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => {
                return Err(bad_url(
                    shown,
                    "unexpected text after `]`; expected `:PORT`",
                ))
            }
        };
        (&h[..close], port)
    } else {
        match hostport.rfind(':') {
            Some(p) if hostport[..p].contains(':') => {
                return Err(bad_url(
                    shown,
                    "an IPv6 address must be written in brackets, e.g. sftp://[::1]:22/path",
                ))
            }
            Some(p) => (&hostport[..p], Some(&hostport[p + 1..])),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad_url(
            shown,
            "the host is missing: use sftp://[USER@]HOST[:PORT]/PATH",
        ));
    }
    let mut options = vec![("host", Secretish::plain(host))];
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {
                options.push(("port", Secretish::plain(n.to_string())));
            }
            _ => return Err(bad_url(shown, "the port must be a number from 1 to 65535")),
        }
    }
    if let Some(ui) = userinfo {
        let (user, pass) = match ui.find(':') {
            Some(p) => (&ui[..p], Some(&ui[p + 1..])),
            None => (ui, None),
        };
        let user =
            percent_decode(user).map_err(|r| bad_url(shown.clone(), format!("user name: {r}")))?;
        if !user.is_empty() {
            options.push(("user", Secretish::plain(user)));
        }
        if let Some(pass) = pass {
            let pass = percent_decode(pass)
                .map_err(|r| bad_url(shown.clone(), format!("password: {r}")))?;
            if !pass.is_empty() {
                // Options hold `pass` obscured, as the config file does.
                let obscured = ferry_core::obscure::obscure(&pass)
                    .map_err(|e| bad_url(shown.clone(), e.to_string()))?;
                options.push(("pass", Secretish::secret(obscured)));
            }
        }
    }
    let path =
        percent_decode(raw_path).map_err(|r| bad_url(shown.clone(), format!("path: {r}")))?;
    // `/~` and `/~/x` are relative to the login directory.
    let path = if path == "/~" {
        String::new()
    } else if let Some(rel) = path.strip_prefix("/~/") {
        rel.to_string()
    } else {
        path
    };
    Ok(Some(UrlRemote { options, path }))
}
