//! A pass restricted to the paths that changed: the command's filters, and only what lies
//! at, below or on the way to a changed path.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use ferry_core::Metadata;
use ferry_engine::Select;

/// The command's selection narrowed to some changed paths (relative, `/`-separated).
///
/// A path outside the set is neither sent nor deleted: it is invisible on both sides, as
/// an excluded one is (the pass turns `--delete-excluded` off). A changed path the source
/// no longer has is deleted at the destination, with everything below it, by the same
/// sync rules a full run follows.
pub struct Restricted {
    inner: Arc<dyn Select>,
    paths: BTreeSet<String>,
}

impl Restricted {
    pub fn new(inner: Arc<dyn Select>, paths: BTreeSet<String>) -> Self {
        Restricted { inner, paths }
    }

    /// Whether `path` or one of its ancestors changed.
    fn covers(&self, path: &str) -> bool {
        let mut at = path;
        loop {
            if self.paths.contains(at) {
                return true;
            }
            match at.rfind('/') {
                Some(i) => at = &at[..i],
                None => return false,
            }
        }
    }

    /// Whether some changed path lies below the directory `dir`.
    fn leads_to(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.paths
            .range(prefix.clone()..)
            .next()
            .is_some_and(|p| p.starts_with(&prefix))
    }
}

impl Select for Restricted {
    fn include_file(&self, path: &str, size: u64, mtime: SystemTime) -> bool {
        self.covers(path) && (!self.inner.is_active() || self.inner.include_file(path, size, mtime))
    }
    fn include_dir(&self, path: &str) -> bool {
        (self.covers(path) || self.leads_to(path))
            && (!self.inner.is_active() || self.inner.include_dir(path))
    }
    fn within_depth(&self, path: &str, is_dir: bool) -> bool {
        self.inner.within_depth(path, is_dir)
    }
    fn exclude_if_present(&self) -> &[String] {
        self.inner.exclude_if_present()
    }
    fn is_active(&self) -> bool {
        true
    }
    fn uses_mtime(&self) -> bool {
        self.inner.is_active() && self.inner.uses_mtime()
    }
    fn uses_directory_filters(&self) -> bool {
        // Directories off the changed paths are skipped unlisted.
        true
    }
    fn uses_metadata(&self) -> bool {
        self.inner.uses_metadata()
    }
    fn include_metadata(&self, path: &str, metadata: &Metadata) -> bool {
        self.inner.include_metadata(path, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_engine::AllowAll;

    fn restricted(paths: &[&str]) -> Restricted {
        Restricted::new(
            Arc::new(AllowAll),
            paths.iter().map(|p| p.to_string()).collect(),
        )
    }

    #[test]
    fn a_changed_path_covers_itself_and_what_lies_below() {
        let r = restricted(&["a/b", "top.txt"]);
        let now = SystemTime::now();
        assert!(r.include_file("top.txt", 0, now));
        assert!(r.include_file("a/b", 0, now));
        assert!(r.include_file("a/b/c/d.txt", 0, now));
        assert!(!r.include_file("a/other.txt", 0, now));
        assert!(!r.include_file("a/bc", 0, now));
        assert!(!r.include_file("top.txt2", 0, now));
    }

    #[test]
    fn directories_on_the_way_to_a_change_are_entered_and_no_others() {
        let r = restricted(&["a/b/c.txt"]);
        assert!(r.include_dir("a"));
        assert!(r.include_dir("a/b"));
        assert!(!r.include_dir("a/bb"));
        assert!(!r.include_dir("x"));
        assert!(!r.include_dir("a/b/c.txt.d"));
    }
}
