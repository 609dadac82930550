//! Where the config file is.

use std::path::{Path, PathBuf};

use crate::env::{Env, FERRY_CONFIG_VAR, RCLONE_CONFIG_VAR};
use crate::error::{ConfigError, Result};

/// How the config file was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config FILE`.
    Flag,
    /// `$FERRY_CONFIG`.
    EnvVar,
    /// ferry's default, `$XDG_CONFIG_HOME/ferry/ferry.conf` or
    /// `~/.config/ferry/ferry.conf` (it may not exist yet).
    Default,
    /// rclone's config, read because ferry's default does not exist.
    /// Read-only.
    RcloneFallback,
}

/// The config file to use, and whether ferry may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The file.
    pub path: PathBuf,
    /// How it was chosen.
    pub source: ConfigSource,
    /// False for [`ConfigSource::RcloneFallback`]: rclone's file is written
    /// only when named explicitly.
    pub writable: bool,
}

impl ConfigLocation {
    /// A line for the CLI to print at `-v`, when the choice is worth telling.
    pub fn notice(&self) -> Option<String> {
        match self.source {
            ConfigSource::RcloneFallback => Some(format!(
                "using rclone's config file {} (read-only: pass --config {} to allow changes)",
                self.path.display(),
                self.path.display()
            )),
            _ => None,
        }
    }
}

/// Choose the config file: `--config FILE` (`flag`), else `$FERRY_CONFIG`, else
/// `$RCLONE_CONFIG` (rclone's variable for `--config`, so a script that sets it for rclone
/// names the same file to ferry), else ferry's default path; if that does not exist but rclone's config
/// does (`$XDG_CONFIG_HOME/rclone/rclone.conf`, `~/.config/rclone/rclone.conf`
/// or `~/.rclone.conf`), rclone's, read-only.
///
/// A file named by the flag or the variable is writable even when it is
/// rclone's.
pub fn locate_config(flag: Option<&Path>, env: &Env) -> Result<ConfigLocation> {
    if let Some(p) = flag.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(ConfigLocation {
            path: p.to_path_buf(),
            source: ConfigSource::Flag,
            writable: true,
        });
    }
    let named = env
        .get_nonempty(FERRY_CONFIG_VAR)
        .or_else(|| env.get_nonempty(RCLONE_CONFIG_VAR));
    if let Some(p) = named {
        return Ok(ConfigLocation {
            path: PathBuf::from(p),
            source: ConfigSource::EnvVar,
            writable: true,
        });
    }
    let home = env.home_dir();
    let xdg = env
        .get_nonempty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let config_dir = match (&xdg, &home) {
        (Some(x), _) => x.clone(),
        (None, Some(h)) => h.join(".config"),
        (None, None) => return Err(ConfigError::NoHome),
    };
    let ferry = config_dir.join("ferry").join("ferry.conf");
    if ferry.exists() {
        return Ok(ConfigLocation {
            path: ferry,
            source: ConfigSource::Default,
            writable: true,
        });
    }
    let mut rclone_candidates = Vec::new();
    if let Some(x) = &xdg {
        rclone_candidates.push(x.join("rclone").join("rclone.conf"));
    }
    if let Some(h) = &home {
        rclone_candidates.push(h.join(".config").join("rclone").join("rclone.conf"));
        rclone_candidates.push(h.join(".rclone.conf"));
    }
    if let Some(r) = rclone_candidates.into_iter().find(|p| p.is_file()) {
        return Ok(ConfigLocation {
            path: r,
            source: ConfigSource::RcloneFallback,
            writable: false,
        });
    }
    Ok(ConfigLocation {
        path: ferry,
        source: ConfigSource::Default,
        writable: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env_home(home: &Path) -> Env {
        Env::from_pairs([("HOME", home.to_str().unwrap())])
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let env = Env::from_pairs([("HOME", "/h"), ("FERRY_CONFIG", "/e/f.conf")]);
        let l = locate_config(Some(Path::new("/flag.conf")), &env).unwrap();
        assert_eq!(
            (l.path.to_str().unwrap(), l.source, l.writable),
            ("/flag.conf", ConfigSource::Flag, true)
        );
        let l = locate_config(None, &env).unwrap();
        assert_eq!(
            (l.path.to_str().unwrap(), l.source, l.writable),
            ("/e/f.conf", ConfigSource::EnvVar, true)
        );
        assert!(l.notice().is_none());
    }

    #[test]
    fn rclones_variable_names_the_file_below_ferrys() {
        let rclone_only = Env::from_pairs([("HOME", "/h"), ("RCLONE_CONFIG", "/r/rclone.conf")]);
        let l = locate_config(None, &rclone_only).unwrap();
        assert_eq!(
            (l.path.to_str().unwrap(), l.source, l.writable),
            ("/r/rclone.conf", ConfigSource::EnvVar, true)
        );
        let both = rclone_only.with("FERRY_CONFIG", "/e/f.conf");
        assert_eq!(
            locate_config(None, &both).unwrap().path,
            Path::new("/e/f.conf")
        );
        let flag = locate_config(Some(Path::new("/flag.conf")), &both).unwrap();
        assert_eq!(flag.path, Path::new("/flag.conf"));
    }

    #[test]
    fn default_then_rclone_fallback_read_only() {
        let d = tempfile::tempdir().unwrap();
        let env = env_home(d.path());
        let l = locate_config(None, &env).unwrap();
        assert_eq!(l.path, d.path().join(".config/ferry/ferry.conf"));
        assert_eq!(l.source, ConfigSource::Default);
        assert!(l.writable);

        let rc = d.path().join(".config/rclone/rclone.conf");
        fs::create_dir_all(rc.parent().unwrap()).unwrap();
        fs::write(&rc, "[r]\ntype = local\n").unwrap();
        let l = locate_config(None, &env).unwrap();
        assert_eq!(l.path, rc);
        assert_eq!(l.source, ConfigSource::RcloneFallback);
        assert!(!l.writable);
        assert!(l.notice().unwrap().contains("rclone's config file"));

        // Named explicitly, rclone's file is writable.
        let l = locate_config(Some(&rc), &env).unwrap();
        assert!(l.writable);

        // Once ferry's own exists it wins.
        let f = d.path().join(".config/ferry/ferry.conf");
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(&f, "").unwrap();
        let l = locate_config(None, &env).unwrap();
        assert_eq!((l.path, l.source), (f, ConfigSource::Default));
    }

    #[test]
    fn xdg_config_home_and_legacy_rclone() {
        let d = tempfile::tempdir().unwrap();
        let xdg = d.path().join("xdg");
        let env = env_home(d.path()).with("XDG_CONFIG_HOME", xdg.to_str().unwrap());
        let l = locate_config(None, &env).unwrap();
        assert_eq!(l.path, xdg.join("ferry/ferry.conf"));
        fs::write(d.path().join(".rclone.conf"), "").unwrap();
        let l = locate_config(None, &env).unwrap();
        assert_eq!(l.path, d.path().join(".rclone.conf"));
        assert_eq!(l.source, ConfigSource::RcloneFallback);
    }

    #[test]
    fn no_home_is_an_error() {
        let e = locate_config(None, &Env::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "can't find the home directory to locate the config file: set HOME or pass --config FILE"
        );
    }

    #[test]
    fn read_only_config_refuses_to_save() {
        let d = tempfile::tempdir().unwrap();
        let rc = d.path().join("rclone.conf");
        fs::write(&rc, "[r]\ntype = local\n").unwrap();
        let loc = ConfigLocation {
            path: rc.clone(),
            source: ConfigSource::RcloneFallback,
            writable: false,
        };
        let mut c = crate::ConfigFile::open(&loc).unwrap();
        c.set("r", "x", "y").unwrap();
        let e = c.save().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "won't write {0}: it is rclone's config, used read-only because it was not named explicitly; pass --config {0} to allow writing it",
                rc.display()
            )
        );
        assert_eq!(fs::read_to_string(&rc).unwrap(), "[r]\ntype = local\n");
    }
}
