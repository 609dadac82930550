//! Path arguments: local paths, `remote:path`, rclone connection strings and
//! a few URL forms.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{ConfigError, Result};
use ferry_core::kind::Registry;
use ferry_core::secret::Secretish;

/// Which platform's path rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// `/`-separated paths. A one-letter name followed by `:\` is still
    /// taken as a Windows drive (a remote path starting with `\` would make
    /// no sense), but `c:/x` is remote `c`, as in rclone.
    Unix,
    /// Any one-letter name before `:` is a drive letter, and `\` in paths is
    /// turned into `/`, as rclone does on Windows.
    Windows,
}

impl PathStyle {
    /// The style of the platform this was built for.
    pub const fn native() -> Self {
        if cfg!(windows) {
            PathStyle::Windows
        } else {
            PathStyle::Unix
        }
    }
}

/// A parsed path argument, before looking anything up.
///
/// Option values are [`Secretish`]: values of keys that may hold secrets
/// (per the built-in backends, or a name containing `pass`, `secret`,
/// `token`, `key`, `sas`…) print as `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A path on the local disk.
    Local {
        /// The path as given (with `\` turned into `/` under Windows rules).
        path: String,
    },
    /// `remote:path` or `remote,key=value:path`: a named remote, possibly
    /// with options that override its configuration.
    Remote {
        /// Remote name (a section of the config file or an environment
        /// remote).
        name: String,
        /// Options from the connection string.
        overrides: BTreeMap<String, Secretish>,
        /// Path inside the remote; empty for its root.
        path: String,
    },
    /// `:backend,key=value:path` or a URL form: a remote made on the fly.
    OnTheFly {
        /// Backend type, e.g. `sftp`.
        backend: String,
        /// Its options.
        options: BTreeMap<String, Secretish>,
        /// Path inside it.
        path: String,
    },
}

impl Location {
    /// The path part.
    pub fn path(&self) -> &str {
        match self {
            Location::Local { path }
            | Location::Remote { path, .. }
            | Location::OnTheFly { path, .. } => path,
        }
    }
}

/// Splits a parsed path into its directory and its last name, for commands that name
/// one file (`copyto`, `rcat`, `touch`…): `dir/sub/new.txt` gives `("dir/sub",
/// "new.txt")`, `/x` gives `("/", "x")`, `x` gives `("", "x")` (the root, or the current
/// directory). `None` when there is no name (`""`, `/`, `.`, `..`, or a trailing `/`,
/// which names a directory).
///
/// Always split the path of a parsed [`Location`], never the argument: a URL's query
/// or a connection string's options may hold `/`.
pub fn split_leaf(path: &str) -> Option<(&str, &str)> {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    let (dir, name) = path.split_at(cut);
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let bare = dir.trim_end_matches('/');
    // Keep the slash of `/` and of a drive's root (`C:/`).
    let dir = if bare.is_empty() || bare.ends_with(':') {
        &dir[..dir.len().min(bare.len() + 1)]
    } else {
        bare
    };
    Some((dir, name))
}

fn write_opts(f: &mut fmt::Formatter<'_>, opts: &BTreeMap<String, Secretish>) -> fmt::Result {
    for (k, v) in opts {
        write!(f, ",{k}=")?;
        if v.is_secret() {
            f.write_str("***")?;
        } else {
            // Quote like rclone if the value has separators or quotes.
            let s = v.expose();
            if s.contains([',', ':', '"', '\'']) {
                write!(f, "\"{}\"", s.replace('"', "\"\""))?;
            } else {
                f.write_str(s)?;
            }
        }
    }
    Ok(())
}

/// Shows the argument in connection-string form with secrets as `***`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local { path } => f.write_str(path),
            Location::Remote {
                name,
                overrides,
                path,
            } => {
                f.write_str(name)?;
                write_opts(f, overrides)?;
                write!(f, ":{path}")
            }
            Location::OnTheFly {
                backend,
                options,
                path,
            } => {
                write!(f, ":{backend}")?;
                write_opts(f, options)?;
                write!(f, ":{path}")
            }
        }
    }
}

/// True if a value for `key` should not be printed before we know the
/// backend: an option some registered backend marks secret/sensitive, or a
/// name that sounds like a credential.
pub(crate) fn looks_sensitive(key: &str, registry: &Registry) -> bool {
    registry.kinds().any(|b| b.is_redacted(key)) || sounds_secret(key)
}

/// A key whose name suggests a credential, whatever the backend.
fn sounds_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "secret", "token", "key", "sas", "credential", "sig"]
        .iter()
        .any(|w| k.contains(w))
}

// ----- remote names -----------------------------------------------------------

/// A character of rclone's `[\w\p{L}\p{N}.+@]`.
fn is_name_word(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c.is_alphabetic()
        || c.is_numeric()
        || ".+@".contains(c)
}

/// Check a remote name against rclone's rule: letters, digits, `_`, `-`,
/// `.`, `+`, `@` and space; not starting with `-` or space, not ending with
/// space. (Exactly rclone's pattern
/// `W+([ -]+[W-]+)*`, W being the word characters above.)
pub fn check_remote_name(name: &str) -> Result<()> {
    // Run the pattern as a small NFA: A = in the first W+ run,
    // B = in a `[ -]+` run, C = in a `[W-]+` run. Accept in A or C.
    let (mut a, mut b, mut c) = (false, false, false);
    for (i, ch) in name.chars().enumerate() {
        let w = is_name_word(ch);
        let sep = ch == ' ' || ch == '-';
        let wd = w || ch == '-';
        let (na, nb, nc) = if i == 0 {
            (w, false, false)
        } else {
            (a && w, (a || b || c) && sep, (b || c) && wd)
        };
        a = na;
        b = nb;
        c = nc;
        if !(a || b || c) {
            break;
        }
    }
    if a || c {
        Ok(())
    } else {
        Err(ConfigError::InvalidRemoteName {
            name: name.to_string(),
        })
    }
}

/// rclone's `[a-zA-Z0-9_.]` for option keys in connection strings.
fn is_param_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

// ----- parsing ------------------------------------------------------------------

/// Parse a path argument with the rules of this platform.
///
/// Forms: `/abs`, `./rel`, `rel` (local); `remote:path`, `remote:`;
/// `remote,key=value:path` (override options of a named remote);
/// `:backend,key=value,key2='v,x',key3="q""q":path` (a remote made on the
/// fly, quoting as rclone: `'` or `"`, doubled to escape);
/// `sftp://user@host:port/path`, `s3://bucket/prefix`,
/// `https://ACCOUNT.blob.core.windows.net/container/path?SAS`.
pub fn parse_location(arg: &str, registry: &Registry) -> Result<Location> {
    parse_location_with(arg, PathStyle::native(), registry)
}

/// Parse a path argument with the given platform rules. URL forms are the ones the
/// registered backends claim (`sftp://`, `s3://`, blob URLs); any other `x://` is a
/// connection string or a path, as in rclone.
pub fn parse_location_with(arg: &str, style: PathStyle, registry: &Registry) -> Result<Location> {
    if arg.is_empty() {
        return Err(ConfigError::EmptyPath);
    }
    if let Some(url) = registry.parse_url(arg) {
        let (kind, remote) = url.map_err(|e| ConfigError::BadUrl {
            url: e.url,
            reason: e.reason,
        })?;
        return Ok(Location::OnTheFly {
            backend: kind.name.to_string(),
            options: remote
                .options
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            path: remote.path,
        });
    }
    parse_connection_string(arg, style, registry)
}

fn local(arg: &str, style: PathStyle) -> Location {
    let path = match style {
        PathStyle::Windows => arg.replace('\\', "/"),
        PathStyle::Unix => arg.to_string(),
    };
    Location::Local { path }
}

#[derive(Clone, Copy)]
enum St {
    Name,
    Param,
    Value,
    Quoted,
    AfterQuote,
}

fn conn_err(name: &str, reason: &'static str) -> ConfigError {
    ConfigError::ConnectionString {
        remote: name.to_string(),
        reason,
    }
}

/// Validate the name part (`remote` or `:backend`) of a connection string.
fn check_conn_name(name: &str) -> Result<()> {
    let bare = name.strip_prefix(':').unwrap_or(name);
    if bare.is_empty() || bare == ":" {
        return Err(ConfigError::EmptyRemoteName);
    }
    check_remote_name(bare)
}

fn parse_connection_string(arg: &str, style: PathStyle, registry: &Registry) -> Result<Location> {
    // No `:` at all: a local path.
    if !arg.contains(':') {
        return Ok(local(arg, style));
    }
    let mut st = St::Name;
    let mut prev = 0usize;
    let mut quote = '"';
    let mut doubled = false;
    let mut param = "";
    let mut name = "";
    let mut config: BTreeMap<String, String> = BTreeMap::new();
    let mut end = None;
    for (i, c) in arg.char_indices() {
        match st {
            St::Name => {
                if i == 0 && c == ':' {
                    continue;
                }
                if c == '/' || c == '\\' {
                    // A separator before any `:` or `,`: a local path,
                    // unless it was meant as `:backend`.
                    if arg.starts_with(':') {
                        check_conn_name(&arg[..i])?;
                        return Err(conn_err(
                            &arg[..i],
                            "config name needs a trailing `:` before the path, e.g. `:local:/tmp`",
                        ));
                    }
                    return Ok(local(arg, style));
                }
                if c == ':' || c == ',' {
                    name = &arg[..i];
                    check_conn_name(name)?;
                    prev = i + 1;
                    if c == ':' {
                        let is_letter = name.len() == 1 && name.as_bytes()[0].is_ascii_alphabetic();
                        let drive = is_letter
                            && match style {
                                PathStyle::Windows => true,
                                PathStyle::Unix => arg[i + 1..].starts_with('\\'),
                            };
                        if drive {
                            return Ok(local(arg, style));
                        }
                        end = Some(i);
                        break;
                    }
                    st = St::Param;
                }
            }
            St::Param => {
                if c == ':' || c == ',' || c == '=' {
                    param = &arg[prev..i];
                    if param.is_empty() {
                        return Err(conn_err(name, "config parameters can't be empty"));
                    }
                    prev = i + 1;
                    if c == '=' {
                        st = St::Value;
                        continue;
                    }
                    config.insert(param.to_string(), "true".to_string());
                    if c == ':' {
                        end = Some(i);
                        break;
                    }
                } else if !is_param_char(c) {
                    return Err(conn_err(
                        name,
                        "config parameters may only contain `0-9`, `A-Z`, `a-z`, `_` and `.`",
                    ));
                }
            }
            St::Value => {
                if c == '\'' || c == '"' {
                    if i == prev {
                        quote = c;
                        st = St::Quoted;
                        prev = i + 1;
                        doubled = false;
                    }
                } else if c == ':' || c == ',' {
                    config.insert(param.to_string(), arg[prev..i].to_string());
                    prev = i + 1;
                    if c == ':' {
                        end = Some(i);
                        break;
                    }
                    st = St::Param;
                }
            }
            St::Quoted => {
                if c == quote {
                    st = St::AfterQuote;
                }
            }
            St::AfterQuote => {
                if c == ':' || c == ',' {
                    // The closing quote is one byte, just before `i`.
                    let mut value = arg[prev..i - 1].to_string();
                    if doubled {
                        let q = quote.to_string();
                        value = value.replace(&format!("{q}{q}"), &q);
                    }
                    config.insert(param.to_string(), value);
                    prev = i + 1;
                    if c == ':' {
                        end = Some(i);
                        break;
                    }
                    st = St::Param;
                } else if c == quote {
                    st = St::Quoted;
                    doubled = true;
                } else {
                    return Err(conn_err(
                        name,
                        "expecting `:` or `,` or another quote after a quote",
                    ));
                }
            }
        }
    }
    let Some(end) = end else {
        return Err(match st {
            St::Name if arg == ":" => ConfigError::EmptyRemoteName,
            St::Name => conn_err(
                arg.split(',').next().unwrap_or(arg),
                "config name needs a trailing `:`",
            ),
            St::Param => conn_err(name, "config parameter must end with `,` or `:`"),
            St::Value => conn_err(name, "unquoted config value must end with `,` or `:`"),
            St::Quoted => conn_err(name, "unterminated quoted config value"),
            St::AfterQuote => conn_err(name, "expecting `:` or `,` or another quote after a quote"),
        });
    };
    let _ = param;
    let mut path = arg[end + 1..].to_string();
    if style == PathStyle::Windows {
        path = path.replace('\\', "/");
    }
    // `:backend,...` names its kind, whose own specs say what is secret (webdav's `user`
    // is, sftp's isn't); a named remote's kind is known only later, so any kind's word
    // counts there.
    let kind = name.strip_prefix(':').and_then(|b| registry.get(b));
    let opts: BTreeMap<String, Secretish> = config
        .into_iter()
        .map(|(k, v)| {
            let s = match kind {
                Some(kind) => kind.is_redacted(&k) || sounds_secret(&k),
                None => looks_sensitive(&k, registry),
            };
            (k, Secretish::new(v, s))
        })
        .collect();
    Ok(match name.strip_prefix(':') {
        Some(backend) => Location::OnTheFly {
            backend: backend.to_string(),
            options: opts,
            path,
        },
        None => Location::Remote {
            name: name.to_string(),
            overrides: opts,
            path,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkinds::registry as reg;

    fn p(s: &str) -> Location {
        parse_location_with(s, PathStyle::Unix, &reg()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn pw(s: &str) -> Location {
        parse_location_with(s, PathStyle::Windows, &reg()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn err(s: &str) -> String {
        parse_location_with(s, PathStyle::Unix, &reg())
            .unwrap_err()
            .to_string()
    }
    fn local(s: &str) -> Location {
        Location::Local { path: s.into() }
    }
    fn opts(l: &Location) -> BTreeMap<String, String> {
        let m = match l {
            Location::Remote { overrides, .. } => overrides,
            Location::OnTheFly { options, .. } => options,
            Location::Local { .. } => panic!("local"),
        };
        m.iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string()))
            .collect()
    }
    fn remote(name: &str, path: &str) -> Location {
        Location::Remote {
            name: name.into(),
            overrides: BTreeMap::new(),
            path: path.into(),
        }
    }
    fn kv(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn local_forms() {
        assert_eq!(p("/local/path"), local("/local/path"));
        assert_eq!(p("./rel"), local("./rel"));
        assert_eq!(p("rel"), local("rel"));
        assert_eq!(p("rel/with,comma"), local("rel/with,comma"));
        assert_eq!(p("./name:x"), local("./name:x"));
        assert_eq!(p("/abs/name:x"), local("/abs/name:x"));
        assert_eq!(p("dir\\name:x"), local("dir\\name:x"));
        assert_eq!(p("a,b=c"), local("a,b=c"));
    }

    #[test]
    fn remote_forms() {
        assert_eq!(p("remote:path"), remote("remote", "path"));
        assert_eq!(p("remote:"), remote("remote", ""));
        assert_eq!(p("remote:/abs/x"), remote("remote", "/abs/x"));
        assert_eq!(p("remote:a:b:c"), remote("remote", "a:b:c"));
        assert_eq!(p("my remote:x y"), remote("my remote", "x y"));
        assert_eq!(p("a.b+c@d_e-f:x"), remote("a.b+c@d_e-f", "x"));
        assert_eq!(p("données:x"), remote("données", "x"));
        assert_eq!(p("日本2:x"), remote("日本2", "x"));
        assert_eq!(p("name:x/y"), remote("name", "x/y"));
        assert_eq!(p("r:dir\\file"), remote("r", "dir\\file"));
    }

    #[test]
    fn connection_strings() {
        let l = p(":s3,env_auth,region=eu-west-1:bucket/x");
        match &l {
            Location::OnTheFly { backend, path, .. } => {
                assert_eq!((backend.as_str(), path.as_str()), ("s3", "bucket/x"));
            }
            _ => panic!("{l:?}"),
        }
        assert_eq!(
            opts(&l),
            kv(&[("env_auth", "true"), ("region", "eu-west-1")])
        );

        let l = p(r#":sftp,host=h,user='a,b',pass="q""x",shell_type='it''s':p/q"#);
        assert_eq!(
            opts(&l),
            kv(&[
                ("host", "h"),
                ("user", "a,b"),
                ("pass", "q\"x"),
                ("shell_type", "it's")
            ])
        );
        assert_eq!(l.path(), "p/q");

        let l = p(":sftp,host='a:b',user=\"\":x");
        assert_eq!(opts(&l), kv(&[("host", "a:b"), ("user", "")]));

        // A quote not at the start of a value is literal.
        let l = p(":local,k=v'x\":y");
        assert_eq!(opts(&l), kv(&[("k", "v'x\"")]));

        // Empty value, later duplicate wins, on-the-fly root.
        let l = p(":local,a=,a=2,b=:");
        assert_eq!(opts(&l), kv(&[("a", "2"), ("b", "")]));
        assert_eq!(l.path(), "");

        assert_eq!(
            p(":local:/tmp"),
            Location::OnTheFly {
                backend: "local".into(),
                options: BTreeMap::new(),
                path: "/tmp".into()
            }
        );
    }

    #[test]
    fn overrides_of_named_remote() {
        let l = p("remote,region=us-east-1,no_check_bucket:bucket");
        match &l {
            Location::Remote { name, path, .. } => {
                assert_eq!((name.as_str(), path.as_str()), ("remote", "bucket"));
            }
            _ => panic!("{l:?}"),
        }
        assert_eq!(
            opts(&l),
            kv(&[("no_check_bucket", "true"), ("region", "us-east-1")])
        );
    }

    #[test]
    fn windows_looking_paths() {
        // Portable rule: a drive letter followed by a backslash is local.
        assert_eq!(p("C:\\Users\\x"), local("C:\\Users\\x"));
        assert_eq!(p("d:\\"), local("d:\\"));
        // rclone on Unix: `c:/x` is remote `c`.
        assert_eq!(p("c:/x"), remote("c", "/x"));
        // Windows rules: any single letter is a drive, `\` becomes `/`.
        assert_eq!(pw("C:\\Users\\x"), local("C:/Users/x"));
        assert_eq!(pw("c:/x"), local("c:/x"));
        assert_eq!(pw("C:"), local("C:"));
        assert_eq!(pw("dir\\sub"), local("dir/sub"));
        assert_eq!(pw("remote:dir\\f"), remote("remote", "dir/f"));
        // Two letters are a remote on both.
        assert_eq!(pw("cd:x"), remote("cd", "x"));
        // `:c:` is an on-the-fly backend, never a drive.
        assert!(matches!(pw(":c:x"), Location::OnTheFly { .. }));
    }

    #[test]
    fn remote_name_rule() {
        for ok in [
            "a", "A1", "_x", ".x", "+x", "@x", "a b", "a-b", "a--", "a b-", "a - b", "ü", "x.y",
        ] {
            assert!(check_remote_name(ok).is_ok(), "{ok:?} should be valid");
        }
        for bad in [
            "", "-a", " a", "a ", "a-", "a/b", "a:b", "a,b", "a*b", "a\tb", "a'b",
        ] {
            assert!(check_remote_name(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            err(""),
            "can't use an empty string as a path: give a local path or `remote:path`"
        );
        let empty = "remote or backend name is empty: use `remote:path` or `:backend:path` (e.g. `:local:/tmp`)";
        assert_eq!(err(":"), empty);
        assert_eq!(err("::x"), empty);
        assert_eq!(err(":,a=b:x"), empty);
        assert_eq!(err(",a:x"), empty);
        assert_eq!(
            err("-bad:x"),
            "remote name \"-bad\" is invalid: it may contain only letters, digits, `_`, `-`, `.`, `+`, `@` and space, may not start with `-` or space, and may not end with space"
        );
        assert!(err("bad :x").starts_with("remote name \"bad \" is invalid"));
        assert!(err(" bad:x").starts_with("remote name \" bad\" is invalid"));
        assert!(err("a*b:x").starts_with("remote name \"a*b\" is invalid"));
        assert!(err(":a*b/x:y").starts_with("remote name \"a*b\" is invalid"));
        assert_eq!(
            err(":s3"),
            "bad connection string for \":s3\": config name needs a trailing `:`"
        );
        assert_eq!(
            err("r,:x"),
            "bad connection string for \"r\": config parameters can't be empty"
        );
        assert_eq!(
            err("r,a b=1:x"),
            "bad connection string for \"r\": config parameters may only contain `0-9`, `A-Z`, `a-z`, `_` and `.`"
        );
        assert_eq!(
            err("r,k='v:x"),
            "bad connection string for \"r\": unterminated quoted config value"
        );
        assert_eq!(
            err("r,k='v'x:y"),
            "bad connection string for \"r\": expecting `:` or `,` or another quote after a quote"
        );
        // No `:` at all: a local path, however odd.
        assert_eq!(p("r,k='v'"), local("r,k='v'"));
        assert_eq!(
            err(":ab/x:y"),
            "bad connection string for \":ab\": config name needs a trailing `:` before the path, e.g. `:local:/tmp`"
        );
    }

    #[test]
    fn param_and_value_errors_at_end() {
        // Only reachable when a `:` appears inside a quoted value.
        assert_eq!(
            err(":s3,k='a:b',flag"),
            "bad connection string for \":s3\": config parameter must end with `,` or `:`"
        );
        assert_eq!(
            err(":s3,k='a:b',v=1"),
            "bad connection string for \":s3\": unquoted config value must end with `,` or `:`"
        );
    }

    #[test]
    fn secrets_in_connection_strings_are_hidden() {
        let l = p(":sftp,host=h,pass=hunter2,key_file_pass=kfp,sas_url=sig:x");
        let d = format!("{l:?} {l}");
        assert!(
            !d.contains("hunter2") && !d.contains("kfp") && !d.contains("sig:"),
            "{d}"
        );
        assert!(d.contains("\"h\""), "{d}");
        assert_eq!(
            l.to_string(),
            ":sftp,host=h,key_file_pass=***,pass=***,sas_url=***:x"
        );
        let e = err(":sftp,pass='hunter2");
        assert!(!e.contains("hunter2"));
    }

    #[test]
    fn display_round_trips_plain_values() {
        let l = p(r#"r,a='x,y',b=z:p"#);
        assert_eq!(l.to_string(), r#"r,a="x,y",b=z:p"#);
        assert_eq!(p(&l.to_string()), l);
    }

    #[test]
    fn leaves_split_from_parsed_paths() {
        assert_eq!(split_leaf("a/b/new.txt"), Some(("a/b", "new.txt")));
        assert_eq!(split_leaf("a/b//new.txt"), Some(("a/b", "new.txt")));
        assert_eq!(split_leaf("/x"), Some(("/", "x")));
        assert_eq!(split_leaf("//x"), Some(("/", "x")));
        assert_eq!(split_leaf("C:/x"), Some(("C:/", "x")));
        assert_eq!(split_leaf("x"), Some(("", "x")));
        for none in ["", "/", "a/..", "a/.", ".", "a/b/"] {
            assert_eq!(split_leaf(none), None, "{none:?}");
        }
        // The SAS stays out of the name, whatever it holds.
        let l = p("https://acct.blob.core.windows.net/c/dir/new.txt?sv=1&sig=a/b+c");
        assert_eq!(split_leaf(l.path()), Some(("c/dir", "new.txt")));
        let l = p("http://127.0.0.1:10000/devstoreaccount1/c/dir/new.txt?sv=1&sig=x/y");
        assert_eq!(split_leaf(l.path()), Some(("c/dir", "new.txt")));
    }

    #[test]
    fn sftp_urls() {
        let l = p("sftp://bob@example.com:2222/srv/data");
        assert_eq!(
            opts(&l),
            kv(&[("host", "example.com"), ("port", "2222"), ("user", "bob")])
        );
        assert!(
            matches!(&l, Location::OnTheFly { backend, path, .. } if backend == "sftp" && path == "/srv/data")
        );
        assert_eq!(p("sftp://example.com").path(), "");
        assert_eq!(p("sftp://example.com/").path(), "/");
        assert_eq!(p("sftp://h/~/rel/x").path(), "rel/x");
        assert_eq!(p("sftp://h/~").path(), "");
        assert_eq!(p("sftp://h/a%20b").path(), "/a b");
        let l = p("sftp://[::1]:22/x");
        assert_eq!(opts(&l), kv(&[("host", "::1"), ("port", "22")]));
        let l = p("sftp://[fe80::1]/x");
        assert_eq!(opts(&l), kv(&[("host", "fe80::1")]));
        let l = p("sftp://us%40er:p%40ss@h/x");
        let o = opts(&l);
        assert_eq!(o["user"], "us@er");
        assert_eq!(ferry_core::obscure::reveal(&o["pass"]).unwrap(), "p@ss");
        assert!(!format!("{l:?}").contains("p@ss"));
    }

    #[test]
    fn sftp_url_errors_hide_user_info() {
        assert_eq!(
            err("sftp://bob:hunter2@:22/x"),
            "can't use URL sftp://:22/x: the host is missing: use sftp://[USER@]HOST[:PORT]/PATH"
        );
        assert_eq!(
            err("sftp://bob:hunter2@h:99999/x"),
            "can't use URL sftp://h:99999/x: the port must be a number from 1 to 65535"
        );
        assert_eq!(
            err("sftp://h:0/x"),
            "can't use URL sftp://h:0/x: the port must be a number from 1 to 65535"
        );
        assert_eq!(
            err("sftp://::1/x"),
            "can't use URL sftp://::1/x: an IPv6 address must be written in brackets, e.g. sftp://[::1]:22/path"
        );
        assert_eq!(
            err("sftp://[::1/x"),
            "can't use URL sftp://[::1/x: missing `]` after the IPv6 address"
        );
        assert!(err("sftp://h/%+1").contains("bad percent-encoding"));
        assert_eq!(
            err("sftp://h/%zz"),
            "can't use URL sftp://h/%zz: path: bad percent-encoding (a `%` must be followed by two hex digits)"
        );
        assert_eq!(
            err("sftp://bob:%ff@h/x"),
            "can't use URL sftp://h/x: password: percent-encoding does not decode to UTF-8 text"
        );
    }

    #[test]
    fn s3_urls() {
        let l = p("s3://bucket/prefix/x");
        assert_eq!(opts(&l), kv(&[("env_auth", "true")]));
        assert!(
            matches!(&l, Location::OnTheFly { backend, path, .. } if backend == "s3" && path == "bucket/prefix/x")
        );
        assert_eq!(p("s3://bucket").path(), "bucket");
        assert_eq!(p("s3://b/a%20b").path(), "b/a%20b");
        assert_eq!(
            err("s3://"),
            "can't use URL s3://: the bucket name is missing: use s3://BUCKET/PATH"
        );
        assert_eq!(
            err("s3:///x"),
            "can't use URL s3:///x: the bucket name is missing: use s3://BUCKET/PATH"
        );
        assert_eq!(
            err("s3://AKIA:secret@b/x"),
            "can't use URL s3://b: credentials or ports can't go in an s3:// URL: use environment credentials or `ferry config create NAME s3 ...`"
        );
    }

    #[test]
    fn emulator_urls() {
        let l = p("http://127.0.0.1:10000/devstoreaccount1/cont/d%20x/f?sv=1&sig=S");
        assert!(
            matches!(&l, Location::OnTheFly { backend, path, .. } if backend == "azureblob" && path == "cont/d x/f")
        );
        assert_eq!(
            opts(&l)["sas_url"],
            "http://127.0.0.1:10000/devstoreaccount1/cont?sv=1&sig=S"
        );
        let l = p("http://localhost:10000/devstoreaccount1/cont");
        assert_eq!(opts(&l)["use_emulator"], "true");
        assert_eq!(
            opts(&l)["endpoint"],
            "http://localhost:10000/devstoreaccount1"
        );
        assert!(!matches!(
            p("http://example.com/x"),
            Location::OnTheFly { .. }
        ));
    }

    #[test]
    fn azure_urls() {
        let l = p("https://acct.blob.core.windows.net/cont/dir/f%20x?sv=2024&sig=SECRETSIG");
        assert!(
            matches!(&l, Location::OnTheFly { backend, path, .. } if backend == "azureblob" && path == "cont/dir/f x")
        );
        let o = opts(&l);
        assert_eq!(o["account"], "acct");
        assert_eq!(
            o["sas_url"],
            "https://acct.blob.core.windows.net/cont?sv=2024&sig=SECRETSIG"
        );
        let shown = format!("{l:?} {l}");
        assert!(!shown.contains("SECRETSIG"), "{shown}");
        let l = p("https://ACCT.blob.core.windows.net/?sv=1&sig=s");
        assert_eq!(
            opts(&l)["sas_url"],
            "https://acct.blob.core.windows.net/?sv=1&sig=s"
        );
        assert_eq!(l.path(), "");
        let l = p("https://acct.blob.core.windows.net/c");
        assert_eq!(opts(&l), kv(&[("account", "acct")]));
        assert_eq!(l.path(), "c");
        assert_eq!(
            err("https://example.com/x?token=SECRET"),
            "can't use URL https://example.com/x: only Azure Blob URLs (https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH?SAS) are understood: for other services create a remote with `ferry config create`"
        );
        assert_eq!(
            err("https://a_b.blob.core.windows.net/c"),
            "can't use URL https://a_b.blob.core.windows.net/c: the storage account name must be lowercase letters and digits"
        );
    }
}
