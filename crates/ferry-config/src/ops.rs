//! The `ferry config …` operations, as library functions on a
//! [`ConfigFile`]. They change the file in memory; the caller saves it.

use serde_json::{Map, Value};

use crate::error::{ConfigError, Result};
use crate::file::{check_key, check_value, ConfigFile};
use crate::obscure;
use crate::path::{check_remote_name, looks_sensitive};
use ferry_core::kind::{BackendKind, Registry};

/// What `show` prints instead of an obscured (`secret`) value.
pub const ENCRYPTED_MARKER: &str = "*** ENCRYPTED ***";
/// What `show` prints instead of a `sensitive` value (rclone's marker in
/// `config redacted`).
pub const SENSITIVE_MARKER: &str = "XXX";

/// How `create`/`update` treat values of `secret` keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ObscureMode {
    /// Obscure unless the value already reveals successfully (rclone's
    /// default).
    #[default]
    Auto,
    /// Always obscure (`--obscure`).
    Force,
    /// Never obscure: the values are already obscured (`--no-obscure`).
    Never,
}

impl ObscureMode {
    /// From the `--obscure` and `--no-obscure` flags.
    pub fn from_flags(obscure: bool, no_obscure: bool) -> Result<Self> {
        match (obscure, no_obscure) {
            (true, true) => Err(ConfigError::ObscureConflict),
            (true, false) => Ok(ObscureMode::Force),
            (false, true) => Ok(ObscureMode::Never),
            (false, false) => Ok(ObscureMode::Auto),
        }
    }
}

/// Split command-line pairs as rclone does: `key=value` or `key value`.
///
/// An error names a key left without a value.
pub fn parse_pairs<S: AsRef<str>>(args: &[S]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_ref();
        if let Some((k, v)) = a.split_once('=') {
            out.push((k.to_string(), v.to_string()));
            i += 1;
        } else if let Some(v) = args.get(i + 1) {
            out.push((a.to_string(), v.as_ref().to_string()));
            i += 2;
        } else {
            return Err(ConfigError::InvalidKey {
                key: a.to_string(),
                remote: None,
                reason: "found a key without a value: write `key=value`",
            });
        }
    }
    Ok(out)
}

fn kind_of(registry: &Registry, kind: &str, name: &str) -> Result<&'static BackendKind> {
    registry
        .get(kind)
        .ok_or_else(|| ConfigError::UnknownBackend {
            kind: kind.to_string(),
            remote: Some(name.to_string()),
            known: registry.names_joined(),
        })
}

/// Check every pair before anything is changed, and work out the values to
/// store (obscured where needed).
fn prepare(
    spec: &BackendKind,
    name: &str,
    pairs: &[(String, String)],
    mode: ObscureMode,
    allow_type: bool,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        check_key(k).map_err(|reason| ConfigError::InvalidKey {
            key: k.clone(),
            remote: Some(name.to_string()),
            reason,
        })?;
        check_value(v).map_err(|reason| ConfigError::InvalidValue {
            remote: name.to_string(),
            key: k.clone(),
            reason,
        })?;
        if k == "type" {
            if !allow_type {
                return Err(ConfigError::InvalidKey {
                    key: k.clone(),
                    remote: Some(name.to_string()),
                    reason: "the type is given as its own argument: `ferry config create NAME TYPE key=value ...`",
                });
            }
            out.push((k.clone(), v.clone()));
            continue;
        }
        let Some(opt) = spec.option(k) else {
            return Err(ConfigError::UnknownOption {
                backend: spec.name.to_string(),
                key: k.clone(),
                remote: Some(name.to_string()),
            });
        };
        let stored = if opt.secret {
            match mode {
                ObscureMode::Never => v.clone(),
                ObscureMode::Force => obscure::obscure(v)?,
                ObscureMode::Auto if obscure::looks_obscured(v) => v.clone(),
                ObscureMode::Auto => obscure::obscure(v)?,
            }
        } else {
            v.clone()
        };
        out.push((k.clone(), stored));
    }
    Ok(out)
}

/// `config create NAME TYPE key=value…`: replace any remote called `name`
/// with a new one of type `kind`. Values of `secret` keys are obscured
/// according to `mode`. Nothing changes if any key or value is refused.
pub fn create_remote(
    cfg: &mut ConfigFile,
    registry: &Registry,
    name: &str,
    kind: &str,
    pairs: &[(String, String)],
    mode: ObscureMode,
) -> Result<()> {
    check_remote_name(name)?;
    let spec = kind_of(registry, kind, name)?;
    let values = prepare(spec, name, pairs, mode, false)?;
    cfg.remove_section(name);
    cfg.set(name, "type", kind)?;
    for (k, v) in values {
        cfg.set(name, &k, &v)?;
    }
    Ok(())
}

/// `config update NAME key=value…`: set keys of an existing remote.
/// `type` may be changed to another registered type.
pub fn update_remote(
    cfg: &mut ConfigFile,
    registry: &Registry,
    name: &str,
    pairs: &[(String, String)],
    mode: ObscureMode,
) -> Result<()> {
    check_remote_name(name)?;
    let current = existing_type(cfg, name)?;
    let new_kind = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.clone())
        .unwrap_or(current);
    let spec = kind_of(registry, &new_kind, name)?;
    let values = prepare(spec, name, pairs, mode, true)?;
    for (k, v) in values {
        cfg.set(name, &k, &v)?;
    }
    Ok(())
}

fn existing_type(cfg: &ConfigFile, name: &str) -> Result<String> {
    if !cfg.has_section(name) {
        return Err(ConfigError::NoSuchRemote {
            name: name.to_string(),
            path: cfg.path().to_path_buf(),
        });
    }
    match cfg.get(name, "type") {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(ConfigError::MissingType {
            name: name.to_string(),
            path: cfg.path().to_path_buf(),
        }),
    }
}

/// `config delete NAME`.
pub fn delete_remote(cfg: &mut ConfigFile, name: &str) -> Result<()> {
    if cfg.remove_section(name) {
        Ok(())
    } else {
        Err(ConfigError::NoSuchRemote {
            name: name.to_string(),
            path: cfg.path().to_path_buf(),
        })
    }
}

/// `config unset NAME key…`: remove keys; returns those that were there.
pub fn unset_keys<S: AsRef<str>>(
    cfg: &mut ConfigFile,
    name: &str,
    keys: &[S],
) -> Result<Vec<String>> {
    existing_type(cfg, name)?;
    if keys.iter().any(|k| k.as_ref() == "type") {
        return Err(ConfigError::UnsetType {
            name: name.to_string(),
        });
    }
    Ok(keys
        .iter()
        .filter(|k| cfg.remove_key(name, k.as_ref()))
        .map(|k| k.as_ref().to_string())
        .collect())
}

/// The section as INI text, `[name]` then `key = value` lines, with values
/// of `secret` keys shown as `*** ENCRYPTED ***` and of `sensitive` keys as
/// `XXX` (as rclone prints a remote after `config create`). For a type not
/// in the registry, keys whose names sound secret are hidden.
pub fn redacted_section_text(cfg: &ConfigFile, registry: &Registry, name: &str) -> Result<String> {
    section_text(cfg, registry, name, Hide::Marked)
}

/// `config redacted [NAME]`: the sections (or one) for posting in a bug report, as rclone
/// prints them: every secret and sensitive value as `XXX`, and rclone's closing reminder.
pub fn redacted_for_posting(cfg: &ConfigFile, registry: &Registry, name: Option<&str>) -> String {
    let names = match name {
        Some(n) => vec![n.to_owned()],
        None => cfg.sections(),
    };
    let sections: Vec<String> = names
        .iter()
        .map(|n| {
            section_text(cfg, registry, n, Hide::All)
                .unwrap_or_else(|_| format!("[{n}]\n# couldn't find type of fs for {n:?}\n"))
        })
        .collect();
    // rclone's layout: a blank line between sections, then its reminder.
    let mut out = sections.join("\n");
    out.push_str("### Double check the config for sensitive info before posting publicly\n");
    out
}

/// Which values a section's text hides.
#[derive(Clone, Copy, PartialEq)]
enum Hide {
    /// None: the values as stored.
    Nothing,
    /// Secrets as `*** ENCRYPTED ***`, sensitive values as `XXX`.
    Marked,
    /// Both as `XXX`.
    All,
}

fn section_text(cfg: &ConfigFile, registry: &Registry, name: &str, hide: Hide) -> Result<String> {
    if !cfg.has_section(name) {
        return Err(ConfigError::NoSuchRemote {
            name: name.to_string(),
            path: cfg.path().to_path_buf(),
        });
    }
    let spec = cfg.get(name, "type").and_then(|t| registry.get(t));
    let mut out = format!("[{name}]\n");
    for (k, v) in cfg.section_entries(name) {
        let (secret, sensitive) = match spec.and_then(|s| s.option(&k)) {
            Some(o) => (
                o.secret,
                o.sensitive || (hide == Hide::All && o.identifying),
            ),
            // Keys ferry doesn't know (from a newer rclone, say) are hidden when their
            // name suggests a secret, whether or not the backend type is known.
            None => (false, looks_sensitive(&k, registry)),
        };
        let shown = if hide == Hide::Nothing || v.is_empty() {
            crate::file::quote_value(&v)
        } else if secret && hide == Hide::Marked {
            ENCRYPTED_MARKER.to_string()
        } else if secret || sensitive {
            SENSITIVE_MARKER.to_string()
        } else {
            crate::file::quote_value(&v)
        };
        out.push_str(&format!("{k} = {shown}\n"));
    }
    Ok(out)
}

/// `config show [NAME]`: INI text of one remote or of all, with secret and
/// sensitive values hidden unless `reveal` is true. With no name and
/// `reveal`, the file exactly as it is (comments included).
pub fn show(
    cfg: &ConfigFile,
    registry: &Registry,
    name: Option<&str>,
    reveal: bool,
) -> Result<String> {
    match name {
        Some(n) => {
            let hide = if reveal { Hide::Nothing } else { Hide::Marked };
            section_text(cfg, registry, n, hide)
        }
        None if reveal => {
            let t = cfg.to_text();
            Ok(if t.trim().is_empty() {
                "; empty config\n".to_string()
            } else {
                t
            })
        }
        None => {
            let sections = cfg.sections();
            if sections.is_empty() {
                return Ok("; empty config\n".to_string());
            }
            let parts = sections
                .iter()
                .map(|s| section_text(cfg, registry, s, Hide::Marked))
                .collect::<Result<Vec<_>>>()?;
            Ok(parts.join("\n"))
        }
    }
}

/// `config dump`: a JSON object of remote → {key: value}, values as stored
/// (rclone's format).
pub fn dump_json(cfg: &ConfigFile) -> Value {
    let mut all = Map::new();
    for s in cfg.sections() {
        let mut m = Map::new();
        for (k, v) in cfg.section_entries(&s) {
            m.insert(k, Value::String(v));
        }
        all.insert(s, Value::Object(m));
    }
    Value::Object(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obscure::reveal;

    fn reg() -> Registry {
        crate::testkinds::registry()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn create_obscures_secret_keys_by_default() {
        let mut c = ConfigFile::new("/c/f.conf");
        let already = obscure::obscure("already").unwrap();
        create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[
                ("host", "h"),
                ("pass", "hunter2"),
                ("key_file_pass", &already),
            ]),
            ObscureMode::Auto,
        )
        .unwrap();
        assert_eq!(c.keys("box"), vec!["type", "host", "pass", "key_file_pass"]);
        assert_eq!(c.get("box", "type"), Some("sftp"));
        assert_eq!(c.get("box", "host"), Some("h"));
        assert_eq!(reveal(c.get("box", "pass").unwrap()).unwrap(), "hunter2");
        assert_eq!(c.get("box", "key_file_pass"), Some(already.as_str()));

        // --obscure: obscure even what already reveals.
        create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[("pass", &already)]),
            ObscureMode::Force,
        )
        .unwrap();
        assert_eq!(
            reveal(reveal(c.get("box", "pass").unwrap()).unwrap().as_str()).unwrap(),
            "already"
        );
        // Create replaces the whole remote.
        assert_eq!(c.keys("box"), vec!["type", "pass"]);

        // --no-obscure: store as given.
        create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[("pass", "plain")]),
            ObscureMode::Never,
        )
        .unwrap();
        assert_eq!(c.get("box", "pass"), Some("plain"));

        // Sensitive-but-not-secret keys are stored as given.
        create_remote(
            &mut c,
            &reg(),
            "b",
            "s3",
            &pairs(&[("secret_access_key", "sk")]),
            ObscureMode::Auto,
        )
        .unwrap();
        assert_eq!(c.get("b", "secret_access_key"), Some("sk"));
    }

    #[test]
    fn obscure_flags() {
        assert_eq!(
            ObscureMode::from_flags(false, false).unwrap(),
            ObscureMode::Auto
        );
        assert_eq!(
            ObscureMode::from_flags(true, false).unwrap(),
            ObscureMode::Force
        );
        assert_eq!(
            ObscureMode::from_flags(false, true).unwrap(),
            ObscureMode::Never
        );
        assert_eq!(
            ObscureMode::from_flags(true, true).unwrap_err().to_string(),
            "can't use --obscure and --no-obscure together"
        );
    }

    #[test]
    fn create_errors_change_nothing() {
        let mut c = ConfigFile::parse("[box]\ntype = sftp\nhost = h\n", "/c/f.conf").unwrap();
        let before = c.to_text();
        let e = create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[("bogus", "1")]),
            ObscureMode::Auto,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown option \"bogus\" for backend \"sftp\" (remote \"box\"): see `ferry config providers` for the valid keys"
        );
        let e = create_remote(&mut c, &reg(), "box", "ftp", &[], ObscureMode::Auto).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown backend type \"ftp\" (remote \"box\"): known types are azureblob, http, local, s3, sftp, webdav"
        );
        let e = create_remote(&mut c, &reg(), "-box", "sftp", &[], ObscureMode::Auto).unwrap_err();
        assert!(e.to_string().starts_with("remote name \"-box\" is invalid"));
        let e = create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[("pass", "a\nb")]),
            ObscureMode::Auto,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for key \"pass\" of remote \"box\": a value can't contain a line break (write PEM keys with `\\n`)"
        );
        let e = create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[("type", "s3")]),
            ObscureMode::Auto,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid key \"type\" (remote \"box\"): the type is given as its own argument: `ferry config create NAME TYPE key=value ...`"
        );
        assert_eq!(c.to_text(), before);
    }

    #[test]
    fn update_unset_delete() {
        let mut c = ConfigFile::parse(
            "# keep me\n\n[box]\ntype = sftp\nhost = h\nzz = unknown\n",
            "/c/f.conf",
        )
        .unwrap();
        update_remote(
            &mut c,
            &reg(),
            "box",
            &pairs(&[("port", "2222"), ("pass", "pw")]),
            ObscureMode::Auto,
        )
        .unwrap();
        assert_eq!(c.get("box", "port"), Some("2222"));
        assert_eq!(reveal(c.get("box", "pass").unwrap()).unwrap(), "pw");
        assert!(c
            .to_text()
            .starts_with("# keep me\n\n[box]\ntype = sftp\nhost = h\nzz = unknown\nport = 2222\n"));
        let e = update_remote(&mut c, &reg(), "nope", &[], ObscureMode::Auto).unwrap_err();
        assert_eq!(
            e.to_string(),
            "remote \"nope\" not found in config file /c/f.conf: check the name with `ferry listremotes`"
        );
        // Changing type validates keys against the new type.
        let e = update_remote(
            &mut c,
            &reg(),
            "box",
            &pairs(&[("type", "s3"), ("host", "x")]),
            ObscureMode::Auto,
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("unknown option \"host\" for backend \"s3\""));
        update_remote(
            &mut c,
            &reg(),
            "box",
            &pairs(&[("type", "local")]),
            ObscureMode::Auto,
        )
        .unwrap();
        assert_eq!(c.get("box", "type"), Some("local"));

        assert_eq!(
            unset_keys(&mut c, "box", &["port", "missing"]).unwrap(),
            vec!["port"]
        );
        assert_eq!(
            unset_keys(&mut c, "box", &["type"]).unwrap_err().to_string(),
            "can't unset the \"type\" of remote \"box\": use `ferry config delete box` to remove the whole remote"
        );
        delete_remote(&mut c, "box").unwrap();
        assert_eq!(
            delete_remote(&mut c, "box").unwrap_err().to_string(),
            "remote \"box\" not found in config file /c/f.conf: check the name with `ferry listremotes`"
        );
        assert_eq!(c.to_text(), "# keep me\n\n");
    }

    #[test]
    fn show_and_dump() {
        let mut c = ConfigFile::new("/c/f.conf");
        create_remote(
            &mut c,
            &reg(),
            "box",
            "sftp",
            &pairs(&[
                ("host", "h"),
                ("pass", "hunter2"),
                ("key_pem", "PEMDATA"),
                ("user", " padded"),
            ]),
            ObscureMode::Auto,
        )
        .unwrap();
        create_remote(
            &mut c,
            &reg(),
            "b",
            "s3",
            &pairs(&[("secret_access_key", "SK"), ("region", "r")]),
            ObscureMode::Auto,
        )
        .unwrap();
        c.set("other", "type", "drive").unwrap();
        c.set("other", "token", "TOKENVALUE").unwrap();
        c.set("other", "client_id", "cid").unwrap();

        let t = redacted_section_text(&c, &reg(), "box").unwrap();
        assert_eq!(
            t,
            "[box]\ntype = sftp\nhost = h\npass = *** ENCRYPTED ***\nkey_pem = XXX\nuser = ` padded`\n"
        );
        assert_eq!(show(&c, &reg(), Some("box"), false).unwrap(), t);
        let full = show(&c, &reg(), Some("box"), true).unwrap();
        assert!(full.contains(&format!("pass = {}\n", c.get("box", "pass").unwrap())));
        assert!(full.contains("key_pem = PEMDATA\n"));

        let all = show(&c, &reg(), None, false).unwrap();
        assert_eq!(
            all,
            format!("{t}\n[b]\ntype = s3\nsecret_access_key = XXX\nregion = r\n\n[other]\ntype = drive\ntoken = XXX\nclient_id = cid\n")
        );
        for secret in ["hunter2", "PEMDATA", "SK", "TOKENVALUE"] {
            assert!(!all.contains(secret));
        }
        assert_eq!(show(&c, &reg(), None, true).unwrap(), c.to_text());
        assert_eq!(
            show(&ConfigFile::new("x"), &reg(), None, false).unwrap(),
            "; empty config\n"
        );
        assert_eq!(
            show(&ConfigFile::new("x"), &reg(), None, true).unwrap(),
            "; empty config\n"
        );
        assert!(show(&c, &reg(), Some("nope"), false).is_err());

        let j = dump_json(&c);
        assert_eq!(j["b"]["secret_access_key"], "SK");
        assert_eq!(j["box"]["type"], "sftp");
        assert_eq!(j["other"]["token"], "TOKENVALUE");
        assert_eq!(j.as_object().unwrap().len(), 3);
    }

    #[test]
    fn pairs_like_rclone() {
        let p = parse_pairs(&["a=1", "b", "2", "c=x=y", "d="]).unwrap();
        assert_eq!(p, pairs(&[("a", "1"), ("b", "2"), ("c", "x=y"), ("d", "")]));
        assert_eq!(
            parse_pairs(&["a=1", "lonely"]).unwrap_err().to_string(),
            "invalid key \"lonely\": found a key without a value: write `key=value`"
        );
    }
}
