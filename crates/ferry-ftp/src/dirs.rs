//! Directories this run knows to exist on the server (made by it, or holding a file it
//! stored), so an upload into a new directory makes only what is missing, once.
//!
//! Without it each upload whose `STOR` failed made its whole directory chain from the
//! top (`MKD` of every ancestor, each answering "exists"), and the four uploads that
//! start together in a new directory all did so: 2,000 small files into a fresh tree
//! sent 987 `MKD`s for 126 directories. The knowledge is only a hint: a directory
//! removed behind ferry's back makes the short way fail, and the long way is taken.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use suppaftp::FtpResult;

use crate::conn::Conn;
use crate::error::code;
use crate::ops;
use crate::options::FtpOptions;

#[derive(Default)]
pub struct Dirs {
    /// Each known directory (stored path) with the tick at which it became known.
    known: Mutex<HashMap<String, u64>>,
    tick: AtomicU64,
    /// One directory chain made at a time: uploads racing into the same new directory
    /// wait for the first to make it, then find it known.
    making: tokio::sync::Mutex<()>,
}

impl Dirs {
    /// The current tick: directories noted after it are newer than what the caller saw.
    pub fn now(&self) -> u64 {
        self.tick.load(Ordering::SeqCst)
    }

    /// Notes `dir` and its ancestors as existing.
    pub fn note(&self, dir: &str) {
        if is_root(dir) {
            return;
        }
        let mut known = self.lock();
        if known.contains_key(dir) {
            return;
        }
        let t = self.tick.fetch_add(1, Ordering::SeqCst) + 1;
        for (i, _) in dir.match_indices('/').filter(|(i, _)| *i > 0) {
            known.entry(dir[..i].to_owned()).or_insert(t);
        }
        known.insert(dir.to_owned(), t);
    }

    /// Forgets `dir` and everything below it (it was removed).
    pub fn forget(&self, dir: &str) {
        let below = format!("{dir}/");
        self.lock()
            .retain(|k, _| k != dir && !k.starts_with(&below));
    }

    /// Makes `dir` and its missing parents, for an upload whose `STOR` failed after it
    /// read the tick `seen`: if another upload made `dir` since, nothing is sent.
    pub async fn make(
        &self,
        conn: &mut Conn,
        dir: &str,
        o: &FtpOptions,
        seen: u64,
    ) -> FtpResult<()> {
        let _one = self.making.lock().await;
        if self.lock().get(dir).is_some_and(|&t| t > seen) {
            return Ok(());
        }
        let below = self.deepest_known(dir);
        let made = match ops::mkdir_all(conn, dir, o, below).await {
            Err(e) if below > 0 && code(&e).is_some() => {
                // A directory believed to exist is gone: start again from the top.
                self.lock().clear();
                ops::mkdir_all(conn, dir, o, 0).await
            }
            other => other,
        };
        made?;
        self.note(dir);
        Ok(())
    }

    /// The length of `dir`'s longest ancestor known to exist (0: none).
    fn deepest_known(&self, dir: &str) -> usize {
        let known = self.lock();
        dir.match_indices('/')
            .map(|(i, _)| i)
            .filter(|&i| i > 0 && known.contains_key(&dir[..i]))
            .max()
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn is_root(dir: &str) -> bool {
    dir.is_empty() || dir == "/"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noted_directory_makes_its_ancestors_known() {
        let d = Dirs::default();
        d.note("top/a/b");
        assert_eq!(d.deepest_known("top/a/b/c"), "top/a/b".len());
        assert_eq!(d.deepest_known("top/x/y"), "top".len());
        assert_eq!(d.deepest_known("other/y"), 0);
        d.note("/abs/p");
        assert_eq!(d.deepest_known("/abs/p/q"), "/abs/p".len());
        assert_eq!(d.deepest_known("/abs/z"), "/abs".len());
    }

    #[test]
    fn forgetting_a_directory_forgets_what_is_below_it() {
        let d = Dirs::default();
        d.note("top/a/b");
        d.note("top/ab");
        d.forget("top/a");
        assert_eq!(d.deepest_known("top/a/b/c"), "top".len());
        assert_eq!(d.deepest_known("top/ab/c"), "top/ab".len());
    }

    #[test]
    fn ticks_tell_newer_directories_from_older() {
        let d = Dirs::default();
        d.note("x");
        let seen = d.now();
        d.note("y");
        let known = d.lock();
        assert!(known["x"] <= seen && known["y"] > seen);
    }
}
