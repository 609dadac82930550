//! The backend kinds a program was built with.

use super::{BackendKind, BadUrl, UrlRemote};

/// The set of backend kinds the binary lists, looked up by name or alias.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    kinds: Vec<&'static BackendKind>,
}

impl Registry {
    /// An empty registry (no URL forms, no kinds).
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry of these kinds.
    pub fn of(kinds: impl IntoIterator<Item = &'static BackendKind>) -> Self {
        let mut r = Self::new();
        for k in kinds {
            r.register(k);
        }
        r
    }

    /// Add a kind, replacing (and returning) any kind of the same name.
    pub fn register(&mut self, kind: &'static BackendKind) -> Option<&'static BackendKind> {
        let old = self
            .kinds
            .iter()
            .position(|k| k.name == kind.name)
            .map(|i| self.kinds.remove(i));
        let at = self.kinds.partition_point(|k| k.name < kind.name);
        self.kinds.insert(at, kind);
        old
    }

    /// The kind called `name` (its `type`, or an alias of it).
    pub fn get(&self, name: &str) -> Option<&'static BackendKind> {
        self.kinds
            .iter()
            .find(|k| k.name == name)
            .or_else(|| self.kinds.iter().find(|k| k.aliases.contains(&name)))
            .copied()
    }

    /// All kinds, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &'static BackendKind> + '_ {
        self.kinds.iter().copied()
    }

    /// All names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name).collect()
    }

    /// Names joined with `, ` (for error messages).
    pub fn names_joined(&self) -> String {
        if self.kinds.is_empty() {
            "(none registered)".to_string()
        } else {
            self.names().join(", ")
        }
    }

    /// The remote a URL argument names, if a kind claims its scheme: `None` when none
    /// does (the argument is then a path or a connection string, as in rclone).
    pub fn parse_url(
        &self,
        arg: &str,
    ) -> Option<Result<(&'static BackendKind, UrlRemote), BadUrl>> {
        let (scheme, rest) = arg.split_once("://")?;
        for kind in &self.kinds {
            for form in kind.urls.iter().filter(|f| f.scheme == scheme) {
                match (form.parse)(rest) {
                    Ok(Some(remote)) => return Some(Ok((kind, remote))),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::testkind::KIND;

    #[test]
    fn lookup_by_name_alias_and_scheme() {
        let r = Registry::of([&KIND]);
        assert_eq!(r.get("test").unwrap().name, "test");
        assert_eq!(r.get("testing").unwrap().name, "test");
        assert!(r.get("nope").is_none());
        let (k, u) = r.parse_url("test://h").unwrap().unwrap();
        assert_eq!((k.name, u.options[0].1.expose()), ("test", "h"));
        assert!(r.parse_url("other://h").is_none());
        assert!(r.parse_url("plain/path").is_none());
        assert_eq!(Registry::new().names_joined(), "(none registered)");
        let mut r = r;
        assert!(r.register(&KIND).is_some());
        assert_eq!(r.names(), vec!["test"]);
    }
}
