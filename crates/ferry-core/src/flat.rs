//! Flat (recursive) listings of object stores: keys arrive in key order, page by page, and
//! directories exist only as key prefixes or `dir/` marker objects.

use std::pin::Pin;

use async_trait::async_trait;
use futures::stream::{self, TryStreamExt};
use futures::Stream;

use crate::encoding::Names;
use crate::{Entry, Listing, RelPath, Result};

/// Entries of a recursive listing, each yielded as soon as its page arrived. An error
/// of kind [`crate::ErrorKind::InvalidPath`] is one entry skipped (the listing goes on); any
/// other error ends the listing.
pub type EntryStream = Pin<Box<dyn Stream<Item = Result<Entry>> + Send>>;

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
    /// an empty directory, as in a delimited listing (`Features::bucket_dirs`).
    pub fn finish(&mut self, out: &mut Vec<Entry>) -> Result<()> {
        let held = self.dirs.finish();
        self.push_dirs(held, out);
        Ok(())
    }
}

/// Reports each directory of a key-ordered listing once, before its contents.
///
/// All keys under one prefix are adjacent in key order, so only the chain of directories
/// the last key lay in needs remembering: memory is O(depth), not O(directories).
#[derive(Debug, Default)]
pub struct DirSynth {
    open: Vec<RelPath>,
    /// Markers named without a trailing slash (Azure's `hdi_isfolder` blobs), with the
    /// `dir/` their contents start with: `dir` sorts before `dir.txt`, which sorts before
    /// `dir/…`, so such a marker waits until the listing reaches or passes `dir/`.
    held: Vec<(RelPath, String)>,
}

impl DirSynth {
    pub fn new() -> Self {
        DirSynth::default()
    }

    /// The directories not reported yet that `path` lies in — and `path` itself when it is
    /// a directory (a `dir/` marker) — outermost first.
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
            let (held, slashed) = self.held.remove(i);
            // Contents under it report it on their own; past it, it was empty.
            if !key.starts_with(&slashed) {
                out.extend(self.chain(&held, true));
            }
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

    /// The held markers the listing never passed (it ended first).
    pub fn finish(&mut self) -> Vec<Entry> {
        let held = std::mem::take(&mut self.held);
        held.iter().flat_map(|(p, _)| self.chain(p, true)).collect()
    }

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
        let new: Vec<Entry> = chain[same..]
            .iter()
            .map(|d| Entry::dir(d.clone(), crate::no_dir_time()))
            .collect();
        self.open.extend(chain.into_iter().skip(same));
        new
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
        assert_eq!(paths(s.enter(&p("a/b.txt"), false)), ["a"]);
        assert_eq!(paths(s.enter(&p("a/b/c"), false)), ["a/b"]);
        s.hold_marker(p("a/empty"));
        assert!(s.enter(&p("a/empty-file"), false).is_empty());
        assert_eq!(paths(s.enter(&p("b"), false)), ["a/empty"]);
        s.hold_marker(p("z"));
        assert_eq!(paths(s.finish()), ["z"]);
    }

    #[test]
    fn each_directory_once_before_its_contents() {
        let mut s = DirSynth::new();
        let mut out = Vec::new();
        for (p, dir) in [
            ("a/b/c.txt", false),
            ("a/b/d.txt", false),
            ("a/b/e/", true),
            ("a/b/e/f", false),
            ("a/x", false),
            ("b.txt", false),
            ("c/", true),
            ("c/d/e", false),
        ] {
            let path = RelPath::new(p.trim_end_matches('/')).unwrap();
            for e in s.enter(&path, dir) {
                out.push(format!("{}/", e.path));
            }
            if !dir {
                out.push(p.to_owned());
            }
        }
        assert!(s.finish().is_empty());
        assert_eq!(
            out,
            [
                "a/",
                "a/b/",
                "a/b/c.txt",
                "a/b/d.txt",
                "a/b/e/",
                "a/b/e/f",
                "a/x",
                "b.txt",
                "c/",
                "c/d/",
                "c/d/e"
            ]
        );
    }
}
