//! Directories this run knows to exist (made by it, or holding a file it stored), so an
//! upload into a new directory makes only what is missing, once.
//!
//! Without it each upload whose create failed opened its whole directory chain from the
//! share's top (a CREATE and a CLOSE for each level), and the four uploads that start
//! together in a new directory all did: 2,000 small files into a fresh tree sent 8,008
//! CREATEs where 6,000 do the uploads. The knowledge is only a hint: a directory removed
//! behind ferry's back makes the short way fail, and the whole chain is made again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::conn::Conn;
use crate::error::is_missing;
use crate::ops;

#[derive(Default)]
pub struct Dirs {
    /// Each known directory (`share\path`) with the tick at which it became known.
    known: Mutex<HashMap<String, u64>>,
    tick: AtomicU64,
    /// One directory chain made at a time: uploads racing into the same new directory
    /// wait for the first to make it, then find it known.
    making: tokio::sync::Mutex<()>,
}

fn key(share: &str, path: &str) -> String {
    format!("{share}\\{path}")
}

impl Dirs {
    /// The current tick: directories noted after it are newer than what the caller saw.
    pub fn now(&self) -> u64 {
        self.tick.load(Ordering::SeqCst)
    }

    /// Notes `path` (`\`-separated, in `share`) and its ancestors as existing.
    pub fn note(&self, share: &str, path: &str) {
        if path.is_empty() {
            return;
        }
        let mut known = self.lock();
        if known.contains_key(&key(share, path)) {
            return;
        }
        let t = self.tick.fetch_add(1, Ordering::SeqCst) + 1;
        for (i, _) in path.match_indices('\\') {
            known.entry(key(share, &path[..i])).or_insert(t);
        }
        known.insert(key(share, path), t);
    }

    /// Forgets `path` and everything below it (it was removed).
    pub fn forget(&self, share: &str, path: &str) {
        let (k, below) = (key(share, path), format!("{}\\", key(share, path)));
        self.lock().retain(|x, _| *x != k && !x.starts_with(&below));
    }

    /// Makes `path` and its missing parents for an upload whose create failed after it
    /// read the tick `seen`: if another upload made `path` since, nothing is sent.
    pub async fn make(&self, c: &Conn, share: &str, path: &str, seen: u64) -> smb::Result<()> {
        let _one = self.making.lock().await;
        if self
            .lock()
            .get(&key(share, path))
            .is_some_and(|&t| t > seen)
        {
            return Ok(());
        }
        let from = self.deepest_known(share, path);
        match ops::mkdir_all(c, share, path, from).await {
            Err(e) if from > 0 && is_missing(&e) => {
                // A directory believed to exist is gone: make the whole chain.
                self.lock().clear();
                ops::mkdir_all(c, share, path, 0).await?;
            }
            other => other?,
        }
        self.note(share, path);
        Ok(())
    }

    /// Where in `path` making starts: just past its longest ancestor known to exist
    /// (0: at the top).
    fn deepest_known(&self, share: &str, path: &str) -> usize {
        let known = self.lock();
        path.match_indices('\\')
            .map(|(i, _)| i)
            .filter(|&i| known.contains_key(&key(share, &path[..i])))
            .max()
            .map_or(0, |i| i + 1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn making_starts_below_the_deepest_known_ancestor() {
        let d = Dirs::default();
        d.note("s", r"top\a\b");
        assert_eq!(d.deepest_known("s", r"top\a\b\c"), r"top\a\b\".len());
        assert_eq!(d.deepest_known("s", r"top\x\y"), r"top\".len());
        assert_eq!(d.deepest_known("s", r"other\y"), 0);
        // Shares are apart.
        assert_eq!(d.deepest_known("t", r"top\a\b\c"), 0);
    }

    #[test]
    fn forgetting_a_directory_forgets_what_is_below_it() {
        let d = Dirs::default();
        d.note("s", r"top\a\b");
        d.note("s", r"top\ab");
        d.forget("s", r"top\a");
        assert_eq!(d.deepest_known("s", r"top\a\b\c"), r"top\".len());
        assert_eq!(d.deepest_known("s", r"top\ab\c"), r"top\ab\".len());
    }
}
