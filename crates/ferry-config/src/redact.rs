//! Path arguments as they may be shown: the one place that decides how an argument
//! holding a secret (a connection-string password, a SAS signature, a URL's password)
//! is printed, in log lines, errors, `--dry-run` notices, summaries and bisync state.

use crate::path::{parse_location, Location};
use ferry_core::kind::Registry;
use ferry_core::secret::REDACTED;

/// A path argument made safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The argument as given when it holds no secret; else the same place with every
    /// secret replaced by `***` (stable when a secret changes, e.g. a renewed SAS).
    pub text: String,
    /// True when the argument held a secret (so `text` differs from it).
    pub had_secret: bool,
}

impl std::fmt::Display for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `arg` with its secrets hidden; see [`Redacted`].
///
/// * `remote:path`, local paths, `s3://` URLs: unchanged (they can't hold a secret);
/// * connection strings: values of secret or sensitive options (per the backends, or a
///   key that sounds like a credential) become `***`: `:s3,secret_access_key=***:b/p`;
/// * `sftp://user:pass@host/p` loses its password: `sftp://user@host/p`;
/// * a blob URL's query (its SAS) becomes `?***`.
///
/// An argument that doesn't parse is cut before anything that could hold a secret.
pub fn redact(arg: &str, registry: &Registry) -> Redacted {
    if let Some(shown) = redact_url(arg) {
        return shown;
    }
    match parse_location(arg, registry).map(without_url_logins) {
        Ok((loc @ (Location::Remote { .. } | Location::OnTheFly { .. }), had_login))
            if had_login || any_secret(&loc) =>
        {
            Redacted {
                text: loc.to_string(),
                had_secret: true,
            }
        }
        Ok(_) => plain(arg),
        Err(_) => match arg.find([',', '?', '@']) {
            Some(cut) => Redacted {
                text: format!("{}{REDACTED}", &arg[..cut]),
                had_secret: true,
            },
            None => plain(arg),
        },
    }
}

fn plain(arg: &str) -> Redacted {
    Redacted {
        text: arg.to_owned(),
        had_secret: false,
    }
}

/// The location with a password in an option's URL (`:http,url=https://u:p@h/:`, where
/// rclone's `url` option is not secret) cut out, and whether there was one.
fn without_url_logins(mut loc: Location) -> (Location, bool) {
    let mut had = false;
    if let Location::Remote { overrides: o, .. } | Location::OnTheFly { options: o, .. } = &mut loc
    {
        for v in o.values_mut() {
            if v.is_secret() {
                continue;
            }
            if let Some(shown) = redact_url(v.expose()).filter(|r| r.had_secret) {
                *v = ferry_core::Secretish::plain(shown.text);
                had = true;
            }
        }
    }
    (loc, had)
}

fn any_secret(loc: &Location) -> bool {
    match loc {
        Location::Local { .. } => false,
        Location::Remote { overrides: o, .. } | Location::OnTheFly { options: o, .. } => {
            o.values().any(|v| v.is_secret())
        }
    }
}

/// URL forms: the user name and host stay, a password and the query go.
fn redact_url(arg: &str) -> Option<Redacted> {
    let (scheme, rest) = arg.split_once("://")?;
    if !matches!(scheme, "sftp" | "http" | "https") {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or("");
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(auth_end);
    let (path, query) = after.split_once('?').unwrap_or((after, ""));
    let (user, pass, host) = match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((u, p)) => (Some(u), !p.is_empty(), host),
            None => (Some(info), false, host),
        },
        None => (None, false, authority),
    };
    // Only sftp:// carries a user; elsewhere user info is dropped whole.
    let user = user.filter(|u| scheme == "sftp" && !u.is_empty());
    let had_secret = pass || !query.is_empty() || (scheme != "sftp" && authority.contains('@'));
    if !had_secret {
        return Some(plain(arg));
    }
    let mut text = format!("{scheme}://");
    if let Some(u) = user {
        text.push_str(u);
        text.push('@');
    }
    text.push_str(host);
    text.push_str(path);
    if !query.is_empty() {
        text.push('?');
        text.push_str(REDACTED);
    }
    Some(Redacted {
        text,
        had_secret: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(arg: &str) -> (String, bool) {
        let r = redact(arg, &crate::testkinds::registry());
        (r.text, r.had_secret)
    }

    #[test]
    fn arguments_without_secrets_are_unchanged() {
        for arg in [
            "/home/me/notes",
            "remote:notes",
            "remote,region=x:b/p",
            ":sftp,host=h,user='a,b':p",
            "s3://bucket/x",
            "sftp://bob@h:22/x",
            "http://127.0.0.1:10000/devstoreaccount1/c/x",
            "https://acct.blob.core.windows.net/c/x",
        ] {
            assert_eq!(shown(arg), (arg.to_owned(), false), "{arg}");
        }
    }

    #[test]
    fn secrets_are_replaced() {
        assert_eq!(
            shown(":s3,access_key_id=AK,secret_access_key=SK/x+y,endpoint='http://h:9':b/p").0,
            ":s3,access_key_id=***,endpoint=\"http://h:9\",secret_access_key=***:b/p"
        );
        assert_eq!(
            shown(":sftp,host=h,pass=hunter2:p"),
            (":sftp,host=h,pass=***:p".into(), true)
        );
        assert_eq!(
            shown("sftp://bob:hunter2@h:22/x"),
            ("sftp://bob@h:22/x".into(), true)
        );
        assert_eq!(
            shown("https://acct.blob.core.windows.net/c/d/new.txt?sv=1&sig=a/b%2Bc"),
            (
                "https://acct.blob.core.windows.net/c/d/new.txt?***".into(),
                true
            )
        );
        assert_eq!(
            shown("http://127.0.0.1:10000/devstoreaccount1/c/x?sv=1&sig=S"),
            (
                "http://127.0.0.1:10000/devstoreaccount1/c/x?***".into(),
                true
            )
        );
        // A URL option's login (rclone's http `url` is not a secret option).
        assert_eq!(
            shown(":http,url='https://bob:hunter2@h/files/':dir"),
            (":http,url=\"https://h/files/\":dir".into(), true)
        );
        assert_eq!(
            shown(":http,url='https://h/files/':dir"),
            (":http,url='https://h/files/':dir".into(), false)
        );
        // Unparsable: cut before anything that could be a secret.
        let (t, s) = shown(":sftp,pass='hunter2");
        assert!(s && !t.contains("hunter2"), "{t}");
    }
}
