//! A remote's options, read typed: one reader per type, the default taken from the spec
//! (written once), and one error for every bad value, naming the remote and the key and
//! what was expected. The value itself is never quoted: a secret pasted under the wrong
//! key must not reach a log.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{BackendKind, OptionType};
use crate::encoding::Encoding;
use crate::secret::{Secret, Secretish};
use crate::units;
use crate::{Error, ErrorKind, Result};

/// The options of one remote: what was set (connection string, flags, environment, config
/// file, already merged by precedence) over the kind's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    kind: &'static BackendKind,
    remote: String,
    values: BTreeMap<String, Secretish>,
}

impl Options {
    /// Options of a remote of `kind` shown as `remote` in errors (`name:` or `:kind:`).
    pub fn new(
        kind: &'static BackendKind,
        remote: impl Into<String>,
        values: BTreeMap<String, Secretish>,
    ) -> Self {
        Options {
            kind,
            remote: remote.into(),
            values,
        }
    }

    /// Options of an on-the-fly remote from plain pairs (tests, and the conformance suite).
    pub fn from_pairs<'a>(
        kind: &'static BackendKind,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let values = pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Secretish::new(v, kind.is_redacted(k))))
            .collect();
        Options::new(kind, format!(":{}:", kind.name), values)
    }

    /// The kind these options belong to.
    pub fn kind(&self) -> &'static BackendKind {
        self.kind
    }

    /// The remote as messages name it.
    pub fn remote(&self) -> &str {
        &self.remote
    }

    /// Whether `key` was set to something other than blanks (not just defaulted).
    pub fn is_set(&self, key: &str) -> bool {
        self.values
            .get(key)
            .is_some_and(|v| !v.expose().trim().is_empty())
    }

    /// The value of `key` as text: what was set, else the default (a blank value counts
    /// as unset, as `key = ` in a config file does); trimmed, and `None` when blank.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|v| v.expose().trim())
            .filter(|v| !v.is_empty())
            .or_else(|| self.kind.default_for(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// [`Options::text`], owned.
    pub fn string(&self, key: &str) -> Option<String> {
        self.text(key).map(str::to_owned)
    }

    /// A boolean option (unset and no default: false).
    pub fn bool(&self, key: &str) -> Result<bool> {
        match self.text(key) {
            None => Ok(false),
            Some(v) => {
                units::parse_bool(v).ok_or_else(|| self.invalid(key, "expected true or false"))
            }
        }
    }

    /// A whole-number option in `min..=max`.
    pub fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>> {
        self.text(key)
            .map(|v| {
                units::parse_count(v, min, max).map_err(|_| {
                    self.invalid(key, &format!("expected a whole number from {min} to {max}"))
                })
            })
            .transpose()
    }

    /// A size option (`5Mi`, `1G`; a bare number is KiB, as in rclone).
    pub fn size(&self, key: &str) -> Result<Option<u64>> {
        self.text(key)
            .map(|v| {
                units::parse_size_checked(v).map_err(|_| {
                    self.invalid(key, "expected a size like 512Ki, 5Mi or 1G (at most 8Ei)")
                })
            })
            .transpose()
    }

    /// A duration option (`1m30s`, `500ms`, plain seconds).
    pub fn duration(&self, key: &str) -> Result<Option<Duration>> {
        self.text(key)
            .map(|v| {
                units::parse_duration(v).map_err(|_| {
                    self.invalid(key, "expected a duration like 500ms, 30s, 5m or 1h30m")
                })
            })
            .transpose()
    }

    /// A choice option: the listed word it matches (ignoring ASCII case).
    pub fn choice(&self, key: &str) -> Result<Option<&'static str>> {
        let Some(v) = self.text(key) else {
            return Ok(None);
        };
        let words = match self.kind.option(key).map(|o| o.ty) {
            Some(OptionType::Choice(words)) => words,
            _ => return Err(self.invalid(key, "not a choice option")),
        };
        words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(v))
            .copied()
            .map(Some)
            .ok_or_else(|| self.invalid(key, &format!("expected one of {}", words.join(", "))))
    }

    /// The `encoding` option (rclone's default for the kind when unset).
    pub fn encoding(&self) -> Result<Encoding> {
        let v = self.text("encoding").unwrap_or("");
        // rclone's own message names the unknown word and lists the known ones: encoding
        // words are never secrets, and the list is what the user needs.
        Encoding::parse(v).map_err(|e| self.invalid("encoding", &e.to_string()))
    }

    /// A `secret` option revealed (it is stored obscured, as rclone stores it).
    pub fn revealed(&self, key: &str) -> Result<Option<Secret>> {
        self.text(key)
            .map(|v| {
                crate::obscure::reveal(v)
                    .map(Secret::new)
                    .map_err(|e| self.invalid(key, &format!("{e}; store it with `ferry obscure`")))
            })
            .transpose()
    }

    /// Checks every value that was set against its option's type, so a bad value is one
    /// clear error when the remote is opened, whether or not the backend reads it.
    pub fn check(&self) -> Result<()> {
        for key in self.values.keys() {
            let Some(spec) = self.kind.option(key) else {
                continue;
            };
            match spec.ty {
                OptionType::Text => {}
                OptionType::Bool => drop(self.bool(key)?),
                OptionType::Int => drop(self.int(key, i64::MIN, i64::MAX)?),
                OptionType::Size => drop(self.size(key)?),
                OptionType::Duration => drop(self.duration(key)?),
                OptionType::Choice(_) => drop(self.choice(key)?),
                OptionType::Encoding => drop(self.encoding()?),
            }
        }
        Ok(())
    }

    /// The one error for a bad option value: names the remote and the key and says what
    /// was expected (never the value: see the module's note).
    pub fn invalid(&self, key: &str, why: &str) -> Error {
        Error::new(
            ErrorKind::Config,
            format!("{} invalid value for option {key}: {why}", self.remote),
        )
    }

    /// The same options with `key` set (a layer of the binary's, e.g. a global flag).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        let secret = self.kind.is_redacted(key);
        self.values
            .insert(key.to_owned(), Secretish::new(value, secret));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::testkind::KIND;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(&KIND, pairs.iter().copied())
    }

    #[test]
    fn typed_reads_take_the_default_once() {
        let o = opts(&[]);
        assert_eq!(o.int("port", 1, 65535).unwrap(), Some(22));
        assert!(o.bool("set_modtime").unwrap());
        assert_eq!(o.size("chunk_size").unwrap(), Some(5 << 20));
        assert_eq!(
            o.duration("idle_timeout").unwrap(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(o.choice("tier").unwrap(), None);
        assert_eq!(o.text("host"), None);
        assert!(!o.is_set("port"));
        let o = opts(&[
            ("port", " 2222 "),
            ("tier", "COOL"),
            ("host", "  "),
            ("encoding", " "),
        ]);
        assert!(o.encoding().is_ok(), "a blank encoding is the default");
        assert!(opts(&[("chunk_size", "")]).size("chunk_size").unwrap() == Some(5 << 20));
        assert_eq!(o.int("port", 1, 65535).unwrap(), Some(2222));
        assert_eq!(o.choice("tier").unwrap(), Some("cool"));
        assert_eq!(o.text("host"), None);
        assert!(o.is_set("port") && !o.is_set("host"));
    }

    #[test]
    fn one_error_names_remote_key_and_value() {
        let o = opts(&[("port", "http"), ("set_modtime", "maybe"), ("tier", "warm")]);
        let e = o.int("port", 1, 65535).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.to_string()
                .starts_with(":test: invalid value for option port: expected a whole number"),
            "{e}"
        );
        assert!(o
            .bool("set_modtime")
            .unwrap_err()
            .to_string()
            .contains("true or false"));
        assert!(o
            .choice("tier")
            .unwrap_err()
            .to_string()
            .contains("hot, cool"));
        assert!(o.check().is_err());
        assert!(opts(&[("port", "2"), ("chunk_size", "1M")]).check().is_ok());
        let e = opts(&[("encoding", "Nope")]).check().unwrap_err();
        assert!(e.to_string().contains("bad encoding \"Nope\""), "{e}");
    }

    #[test]
    fn values_never_reach_the_error() {
        let e = opts(&[("port", "hunter2")]).int("port", 1, 9).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let o = opts(&[("pass", "hunter2-not-obscured")]);
        let e = o.revealed("pass").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("option pass"), "{e}");
        let ob = crate::obscure::obscure("hunter2").unwrap();
        let o = opts(&[("pass", &ob)]);
        assert_eq!(o.revealed("pass").unwrap().unwrap().expose(), "hunter2");
        assert!(!format!("{o:?}").contains(&ob));
    }
}
