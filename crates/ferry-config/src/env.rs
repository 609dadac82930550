//! A snapshot of the environment, so that resolution is testable and does
//! not read the process environment behind the caller's back.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Prefix of ferry's per-remote variables: `FERRY_CONFIG_<REMOTE>_<KEY>`.
pub const FERRY_PREFIX: &str = "FERRY_CONFIG_";
/// Prefix of rclone's per-remote variables, used as a fallback.
pub const RCLONE_PREFIX: &str = "RCLONE_CONFIG_";
/// Variable naming the config file.
pub const FERRY_CONFIG_VAR: &str = "FERRY_CONFIG";
/// rclone's variable naming the config file, read when ferry's is unset.
pub const RCLONE_CONFIG_VAR: &str = "RCLONE_CONFIG";

/// Environment variables (name → value). Values may be secrets, so `Debug`
/// prints only the names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// An empty environment.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The current process environment (variables whose name or value is
    /// not Unicode are skipped).
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of the given pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Set one variable (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// One variable.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// One variable, treating an empty value as unset.
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// All variable names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// The user's home directory: `HOME`, else (Windows) `USERPROFILE`.
    pub fn home_dir(&self) -> Option<PathBuf> {
        self.get_nonempty("HOME")
            .or_else(|| self.get_nonempty("USERPROFILE"))
            .map(PathBuf::from)
    }

    /// The variable that sets `key` of `remote` with the given prefix,
    /// following rclone's rule: `PREFIX` + uppercase(`remote` + `_` + `key`
    /// with `-` turned into `_`). The remote name keeps its own `-`.
    pub fn remote_var(prefix: &str, remote: &str, key: &str) -> String {
        format!(
            "{prefix}{}",
            format!("{remote}_{}", key.replace('-', "_")).to_uppercase()
        )
    }

    /// `key` of `remote` from `FERRY_CONFIG_<REMOTE>_<KEY>`, falling back to
    /// `RCLONE_CONFIG_<REMOTE>_<KEY>`. Returns the value and the variable
    /// it came from.
    pub fn remote_value(&self, remote: &str, key: &str) -> Option<(&str, String)> {
        for prefix in [FERRY_PREFIX, RCLONE_PREFIX] {
            let var = Self::remote_var(prefix, remote, key);
            if let Some(v) = self.get(&var) {
                return Some((v, var));
            }
        }
        None
    }

    /// Remotes defined by a `…_TYPE` variable: (lowercased name, type,
    /// variable). Names come from `FERRY_CONFIG_*` first, then from
    /// `RCLONE_CONFIG_*` if not already seen.
    pub fn env_remotes(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        for prefix in [FERRY_PREFIX, RCLONE_PREFIX] {
            for (k, v) in &self.vars {
                let Some(rest) = k.strip_prefix(prefix) else {
                    continue;
                };
                let Some(name) = rest.strip_suffix("_TYPE") else {
                    continue;
                };
                if name.is_empty() || v.is_empty() {
                    continue;
                }
                let name = name.to_lowercase();
                if out.iter().any(|(n, _, _)| *n == name) {
                    continue;
                }
                out.push((name, v.to_lowercase(), k.clone()));
            }
        }
        out
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_names_follow_rclone() {
        assert_eq!(
            Env::remote_var(FERRY_PREFIX, "my-remote", "ignore-size"),
            "FERRY_CONFIG_MY-REMOTE_IGNORE_SIZE"
        );
        assert_eq!(
            Env::remote_var(RCLONE_PREFIX, "s3x", "secret_access_key"),
            "RCLONE_CONFIG_S3X_SECRET_ACCESS_KEY"
        );
    }

    #[test]
    fn ferry_wins_over_rclone() {
        let env = Env::from_pairs([
            ("FERRY_CONFIG_A_HOST", "ferry.example"),
            ("RCLONE_CONFIG_A_HOST", "rclone.example"),
            ("RCLONE_CONFIG_A_USER", "bob"),
        ]);
        assert_eq!(env.remote_value("a", "host").unwrap().0, "ferry.example");
        assert_eq!(env.remote_value("a", "user").unwrap().0, "bob");
        assert_eq!(
            env.remote_value("a", "user").unwrap().1,
            "RCLONE_CONFIG_A_USER"
        );
        assert!(env.remote_value("a", "port").is_none());
    }

    #[test]
    fn env_remotes_listed_once() {
        let env = Env::from_pairs([
            ("FERRY_CONFIG_MY_REMOTE_TYPE", "S3"),
            ("RCLONE_CONFIG_MY_REMOTE_TYPE", "sftp"),
            ("RCLONE_CONFIG_OTHER_TYPE", "local"),
            ("RCLONE_CONFIG_PASS", "x"),
            ("FERRY_CONFIG", "/x"),
        ]);
        let r = env.env_remotes();
        assert_eq!(
            r.iter()
                .map(|(n, t, _)| (n.as_str(), t.as_str()))
                .collect::<Vec<_>>(),
            vec![("my_remote", "s3"), ("other", "local")]
        );
    }

    #[test]
    fn debug_hides_values() {
        let env = Env::from_pairs([("FERRY_CONFIG_A_PASS", "hunter2")]);
        let d = format!("{env:?}");
        assert!(d.contains("FERRY_CONFIG_A_PASS"));
        assert!(!d.contains("hunter2"));
    }
}
