//! Wrappers that keep secret values out of `Debug`, `Display` and logs.

use std::fmt;

/// What `Debug` and `Display` print instead of a secret.
pub const REDACTED: &str = "***";

/// A string that must never be printed: `Debug` and `Display` show `***`.
///
/// Use [`Secret::expose`] at the one place that really needs the value
/// (handing it to the network library, writing it to the config file).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Don't log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Take the value out. Don't log it.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// True if the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// An option value that may or may not be secret.
///
/// Resolved options are stored as `Secretish`: values of keys the backend
/// marks `secret` or `sensitive` are [`Secretish::Secret`] and print as
/// `***`; the rest print normally. [`Secretish::expose`] gives the value
/// either way.
#[derive(Clone, PartialEq, Eq)]
pub enum Secretish {
    /// A value that may be shown.
    Plain(String),
    /// A value that must not be shown.
    Secret(Secret),
}

impl Secretish {
    /// A value that may be shown.
    pub fn plain(value: impl Into<String>) -> Self {
        Secretish::Plain(value.into())
    }

    /// A value that must not be shown.
    pub fn secret(value: impl Into<String>) -> Self {
        Secretish::Secret(Secret::new(value))
    }

    /// Wrap `value` as secret if `secret` is true.
    pub fn new(value: impl Into<String>, secret: bool) -> Self {
        if secret {
            Self::secret(value)
        } else {
            Self::plain(value)
        }
    }

    /// The value itself, whether secret or not. Don't log it.
    pub fn expose(&self) -> &str {
        match self {
            Secretish::Plain(s) => s,
            Secretish::Secret(s) => s.expose(),
        }
    }

    /// True if this value is redacted when printed.
    pub fn is_secret(&self) -> bool {
        matches!(self, Secretish::Secret(_))
    }

    /// The same value, re-marked as secret or not.
    pub fn remark(self, secret: bool) -> Self {
        let v = match self {
            Secretish::Plain(s) => s,
            Secretish::Secret(s) => s.into_inner(),
        };
        Secretish::new(v, secret)
    }
}

impl fmt::Debug for Secretish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secretish::Plain(s) => fmt::Debug::fmt(s, f),
            Secretish::Secret(_) => f.write_str(REDACTED),
        }
    }
}

impl fmt::Display for Secretish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secretish::Plain(s) => f.write_str(s),
            Secretish::Secret(_) => f.write_str(REDACTED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:#?}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secretish_prints_plain_only() {
        let p = Secretish::plain("example.com");
        let s = Secretish::secret("hunter2");
        assert_eq!(format!("{p:?}"), "\"example.com\"");
        assert_eq!(format!("{p}"), "example.com");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
        assert!(s.is_secret() && !p.is_secret());
        let back = s.remark(false);
        assert_eq!(format!("{back}"), "hunter2");
    }
}
