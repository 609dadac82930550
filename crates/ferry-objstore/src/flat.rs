//! Flat (recursive) listings of object stores: keys arrive in key order, page by page, and
//! directories exist only as key prefixes or `dir/` marker objects.

use std::collections::BTreeSet;

use async_trait::async_trait;
use futures::stream::{self, TryStreamExt};

use ferry_core::encoding::Names;
pub use ferry_core::EntryStream;
use ferry_core::{Entry, Listing, RelPath, Result};

/// A listing that arrives a page at a time.
#[async_trait]
pub trait Pager: Send + 'static {
    /// Whether the last page has been fetched.
    fn done(&self) -> bool;
    /// Fetches the next page, with the entries of it that had to be skipped.
    async fn next_page(&mut self) -> Result<Listing>;
}

/// One stream of a paged listing's entries. The next page is fetched only once the
/// previous one was consumed, so memory stays O(page) however long the listing.
pub fn paged(pager: impl Pager) -> EntryStream {
    let pages = stream::try_unfold(pager, |mut p| async move {
        if p.done() {
            return Ok(None);
        }
        let page = p.next_page().await?;
        Ok(Some((page, p)))
    });
    Box::pin(
        pages
            .map_ok(|page: Listing| {
                let skipped = page.errors.into_iter().map(Err);
                stream::iter(skipped.chain(page.entries.into_iter().map(Ok)))
            })
            .try_flatten(),
    )
}

/// The key prefix that holds everything under directory `key` ("" for the root).
pub fn dir_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}/")
    }
}

/// What a flat listing below `dir` shares across object stores: keys made relative to
/// its prefix and the directories they imply.
#[derive(Debug)]
pub struct Below {
    dir: RelPath,
    /// Key prefix of `dir`, with its trailing slash ("" for the root).
    prefix: String,
    /// How the store's keys become ferry's names.
    names: Names,
    pub dirs: DirSynth,
}

impl Below {
    /// The listing of `dir`, whose (stored) key or blob name is `key`.
    pub fn new(dir: RelPath, key: &str, names: Names) -> Self {
        Below {
            dir,
            prefix: dir_prefix(key),
            names,
            dirs: DirSynth::new(),
        }
    }

    /// The prefix to list.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The directory listed.
    pub fn dir(&self) -> &RelPath {
        &self.dir
    }

    /// A listed key's path below `dir`, and whether it ends in `/` (a directory marker).
    /// `Ok(None)` for the directory's own marker or a key outside the prefix; an error for
    /// one that is not a safe relative path (the caller logs and skips it).
    pub fn name(&mut self, full: &str) -> Result<Option<(RelPath, bool)>> {
        let Some(rel) = full.strip_prefix(&self.prefix).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let (name, slashed) = match rel.strip_suffix('/') {
            Some(n) => (n, true),
            None => (rel, false),
        };
        Ok(Some((self.names.listed_path(name)?, slashed)))
    }

    /// `rel` (below `dir`) as a path of the whole listing.
    pub fn path(&self, rel: &RelPath) -> RelPath {
        self.dir.join_path(rel)
    }

    /// Adds directories found by [`DirSynth`] to `out`, as paths of the whole listing.
    pub fn push_dirs(&self, found: Vec<Entry>, out: &mut Vec<Entry>) {
        for mut d in found {
            d.path = self.path(&d.path);
            out.push(d);
        }
    }

    /// After the last page: the markers still held. A prefix that held nothing at all is
    /// an empty directory, as in a delimited listing (`Semantics::bucket_dirs`).
    pub fn finish(&mut self, out: &mut Vec<Entry>) -> Result<()> {
        let held = self.dirs.finish();
        self.push_dirs(held, out);
        Ok(())
    }
}

/// The directories of a key-ordered listing, reported as rclone's recursive listings
/// report them: a marker object (`dir/`) where it is listed, and a directory only implied
/// by longer keys once, after every key (at [`finish`](Self::finish), sorted, timed when
/// the listing ended, size unknown).
///
/// All keys under one prefix are adjacent in key order, so only the chain of directories
/// the last key lay in is compared with each key; the implied directories themselves are
/// held until the end, as rclone holds them (memory O(directories), not O(keys)).
#[derive(Debug, Default)]
pub struct DirSynth {
    open: Vec<RelPath>,
    /// Directories only implied so far, to be reported at the end.
    implied: BTreeSet<RelPath>,
    /// Markers reported where they were listed (never reported again).
    reported: BTreeSet<RelPath>,
    /// Markers named without a trailing slash (Azure's `hdi_isfolder` blobs), with the
    /// `dir/` their contents start with: `dir` sorts before `dir.txt`, which sorts before
    /// `dir/…`, so such a marker waits until the listing reaches or passes `dir/`.
    held: Vec<(RelPath, String)>,
}

impl DirSynth {
    pub fn new() -> Self {
        DirSynth::default()
    }

    /// Notes the directories `path` lies in, and returns the markers to report now:
    /// `path` itself when it is a directory (a `dir/` marker), and held markers the
    /// listing has reached or passed.
    pub fn enter(&mut self, path: &RelPath, is_dir: bool) -> Vec<Entry> {
        let key = if is_dir {
            format!("{path}/")
        } else {
            path.to_string()
        };
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.held.len() {
            let slashed = &self.held[i].1;
            if key.as_str() < slashed.as_str() {
                i += 1;
                continue;
            }
            let (held, _) = self.held.remove(i);
            out.extend(self.chain(&held, true));
        }
        out.extend(self.chain(path, is_dir));
        out
    }

    /// A directory marker that sorts before names like `dir.txt` (no trailing slash):
    /// reported once the listing reaches `dir/` or passes it, or at [`finish`](Self::finish).
    pub fn hold_marker(&mut self, path: RelPath) {
        let slashed = format!("{path}/");
        self.held.push((path, slashed));
    }

    /// After the last key: the held markers the listing never passed, then the
    /// directories only implied by keys, in name order.
    pub fn finish(&mut self) -> Vec<Entry> {
        let held = std::mem::take(&mut self.held);
        let mut out: Vec<Entry> = held.iter().flat_map(|(p, _)| self.chain(p, true)).collect();
        let now = std::time::SystemTime::now();
        let implied = std::mem::take(&mut self.implied);
        out.extend(implied.into_iter().map(|d| Entry::dir(d, now)));
        out
    }

    /// Notes `path`'s parents as implied; returns `path` itself when it is a marker not
    /// reported yet.
    fn chain(&mut self, path: &RelPath, is_dir: bool) -> Vec<Entry> {
        let mut chain = Vec::new();
        let mut p = if is_dir {
            Some(path.clone())
        } else {
            path.parent()
        };
        while let Some(d) = p.filter(|d| !d.is_root()) {
            p = d.parent();
            chain.push(d);
        }
        chain.reverse();
        let same = self
            .open
            .iter()
            .zip(&chain)
            .take_while(|(a, b)| a == b)
            .count();
        self.open.truncate(same);
        // `path` itself, when a marker, is reported below, not implied.
        let marker = is_dir.then_some(path);
        for d in chain[same..].iter().filter(|d| Some(*d) != marker) {
            if !self.reported.contains(d) {
                self.implied.insert(d.clone());
            }
        }
        self.open.extend(chain.into_iter().skip(same));
        if !is_dir || !self.reported.insert(path.clone()) {
            return Vec::new();
        }
        self.implied.remove(path);
        vec![Entry::dir(path.clone(), ferry_core::no_dir_time())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: Vec<Entry>) -> Vec<String> {
        list.into_iter().map(|e| e.path.to_string()).collect()
    }

    #[test]
    fn slashless_markers_wait_for_their_contents() {
        let mut s = DirSynth::new();
        let p = |x: &str| RelPath::new(x).unwrap();
        s.hold_marker(p("a/b"));
        assert!(s.enter(&p("a/b.txt"), false).is_empty());
        assert_eq!(paths(s.enter(&p("a/b/c"), false)), ["a/b"]);
        s.hold_marker(p("a/empty"));
        assert!(s.enter(&p("a/empty-file"), false).is_empty());
        assert_eq!(paths(s.enter(&p("b"), false)), ["a/empty"]);
        s.hold_marker(p("z"));
        // Held markers first, then what was only implied ("a/b" was a marker).
        assert_eq!(paths(s.finish()), ["z", "a"]);
    }

    #[test]
    fn markers_where_listed_and_implied_directories_once_at_the_end() {
        let mut s = DirSynth::new();
        let mut out = Vec::new();
        for (p, dir) in [
            ("a/b/c.txt", false),
            ("a/b/d.txt", false),
            ("a/b/e/", true),
            ("a/b/e/f", false),
            ("a/x", false),
            ("a-z/y", false),
            ("b.txt", false),
            ("c/", true),
            ("c/d/e", false),
        ] {
            let path = RelPath::new(p.trim_end_matches('/')).unwrap();
            for e in s.enter(&path, dir) {
                assert_eq!(e.mtime, ferry_core::no_dir_time(), "a marker keeps no time");
                out.push(format!("{}/", e.path));
            }
            if !dir {
                out.push(p.to_owned());
            }
        }
        let before = std::time::SystemTime::now();
        let end = s.finish();
        assert!(end
            .iter()
            .all(|e| e.is_dir() && e.mtime >= before && e.dir_size.is_none()));
        out.extend(end.into_iter().map(|e| format!("{}/", e.path)));
        assert_eq!(
            out,
            [
                "a/b/c.txt",
                "a/b/d.txt",
                "a/b/e/",
                "a/b/e/f",
                "a/x",
                "a-z/y",
                "b.txt",
                "c/",
                "c/d/e",
                // Sorted by name as rclone sorts them: "a" < "a-z" < "a/b".
                "a/",
                "a-z/",
                "a/b/",
                "c/d/",
            ]
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::Below;
    use ferry_core::RelPath;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    proptest! {
        // Fixed seed and case count, so CI is deterministic and quick.
        #![proptest_config({
            let (cases, seed) = ferry_testbed::fuzz_budget(2000, 0x00f3_e77a);
            ProptestConfig {
                cases,
                rng_seed: RngSeed::Fixed(seed),
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        })]

        #[test]
        fn listing_keys_never_panic(dir in "[a-z/]{0,6}", key in any::<String>()) {
            let Ok(dir_path) = RelPath::new(dir.trim_matches('/')) else { return Ok(()) };
            let names = ferry_core::encoding::Names::new(ferry_core::encoding::Encoding::S3_DEFAULT);
            let mut below = Below::new(dir_path, &dir, names);
            if let Ok(Some((rel, _))) = below.name(&key) {
                let _ = below.path(&rel);
            }
            let _ = RelPath::new(&key);
        }
    }
}
