//! Validated relative paths.
//!
//! Every name a backend returns passes through [`RelPath::new`] or [`RelPath::join`]
//! before the engine acts on it, so a hostile listing (`..`, absolute names, empty
//! segments, NUL) can never make ferry write outside the destination.

use std::fmt;

use unicode_normalization::{is_nfc, UnicodeNormalization};

use crate::{Error, ErrorKind, Result};

/// A relative, `/`-separated path inside a backend's root. The empty path is the root.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RelPath(String);

impl RelPath {
    /// The root of a backend.
    pub fn root() -> Self {
        RelPath(String::new())
    }

    /// Validates a whole relative path such as `a/b/c.txt`.
    pub fn new(path: &str) -> Result<Self> {
        if path.is_empty() {
            return Ok(Self::root());
        }
        for segment in path.split('/') {
            check_segment(segment, path)?;
        }
        Ok(RelPath(path.to_owned()))
    }

    /// Appends one name (a single segment) to this path.
    pub fn join(&self, name: &str) -> Result<Self> {
        check_segment(name, name)?;
        Ok(self.join_unchecked(name))
    }

    fn join_unchecked(&self, name: &str) -> Self {
        if self.0.is_empty() {
            RelPath(name.to_owned())
        } else {
            RelPath(format!("{}/{}", self.0, name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last segment ("" for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The containing directory; the root's parent is `None`.
    pub fn parent(&self) -> Option<RelPath> {
        if self.0.is_empty() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => RelPath(self.0[..i].to_owned()),
            None => RelPath::root(),
        })
    }

    /// Number of segments (the root has depth 0).
    pub fn depth(&self) -> usize {
        if self.0.is_empty() {
            0
        } else {
            self.0.split('/').count()
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &RelPath) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// Re-roots `self` (which must lie below `base`) relative to `base`.
    pub fn strip_prefix(&self, base: &RelPath) -> Option<RelPath> {
        if base.is_root() {
            return Some(self.clone());
        }
        if self.0 == base.0 {
            return Some(RelPath::root());
        }
        self.0
            .strip_prefix(&base.0)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| RelPath(rest.to_owned()))
    }

    /// Appends a whole relative path.
    pub fn join_path(&self, other: &RelPath) -> RelPath {
        if other.is_root() {
            self.clone()
        } else {
            self.join_unchecked(&other.0)
        }
    }
}

fn check_segment(segment: &str, whole: &str) -> Result<()> {
    let bad = match segment {
        "" => Some("an empty path segment"),
        "." | ".." => Some("a '.' or '..' segment"),
        s if s.contains('/') => Some("a '/' inside a name"),
        s if s.contains('\0') => Some("a NUL byte"),
        _ => None,
    };
    match bad {
        Some(why) => Err(Error::new(
            ErrorKind::InvalidPath,
            format!("{whole:?} is not a safe relative path ({why}); it was skipped"),
        )),
        None => Ok(()),
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The key two listings are matched and sorted by: NFC-normalised unless
/// `normalize` is off, lower-cased when matching is case-insensitive.
pub fn match_key(name: &str, normalize: bool, ignore_case: bool) -> String {
    let nfc: String = if normalize && !is_nfc(name) {
        name.nfc().collect()
    } else {
        name.to_owned()
    };
    if ignore_case {
        nfc.to_lowercase()
    } else {
        nfc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escaping_paths() {
        for bad in ["..", "a/../b", "/abs", "a//b", "a/", ".", "a/./b", "nul\0x"] {
            assert!(RelPath::new(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(RelPath::root().join("..").is_err());
        assert!(RelPath::root().join("a/b").is_err());
    }

    #[test]
    fn accepts_ordinary_paths() {
        let p = RelPath::new("a/b c/d.txt").unwrap();
        assert_eq!(p.name(), "d.txt");
        assert_eq!(p.parent().unwrap().as_str(), "a/b c");
        assert_eq!(p.depth(), 3);
        assert_eq!(RelPath::new("x").unwrap().parent(), Some(RelPath::root()));
        assert_eq!(RelPath::root().parent(), None);
    }

    #[test]
    fn prefix_logic_respects_segments() {
        let a = RelPath::new("dir").unwrap();
        assert!(RelPath::new("dir/x").unwrap().starts_with(&a));
        assert!(!RelPath::new("dirx/y").unwrap().starts_with(&a));
        assert_eq!(
            RelPath::new("dir/x/y")
                .unwrap()
                .strip_prefix(&a)
                .unwrap()
                .as_str(),
            "x/y"
        );
        assert_eq!(RelPath::new("dirx").unwrap().strip_prefix(&a), None);
    }

    #[test]
    fn match_key_normalises_and_folds() {
        let decomposed = "e\u{301}";
        assert_eq!(match_key(decomposed, true, false), "\u{e9}");
        assert_eq!(match_key(decomposed, false, false), decomposed);
        assert_eq!(match_key("ABC", true, true), "abc");
    }
}
