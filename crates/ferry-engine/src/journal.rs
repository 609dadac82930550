//! The modification-time journal: what a `stat` told about an object's real modification
//! time, kept under what its listing showed (size, version tag, listed time), so the next
//! run needs no request for an object whose listing still shows exactly that (an S3
//! `HEAD` per object is most of a no-op sync's cost, as destination or as source).
//!
//! An object rewritten by anyone has another version tag (ETag) or listed time, and its
//! record is then ignored: the journal never answers for an object that changed, so it
//! can't make a run skip what rclone's rules would transfer. Only listings that carry a
//! version tag are recorded. One store per user under the cache directory; a store in use
//! by another run, or unreadable, is simply not used (it is rebuilt when unreadable).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::{Entry, Location};
use redb::{Database, Durability, TableDefinition};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mtimes");

/// The journal of one run's two sides, opened when first needed.
pub struct Journal {
    file: PathBuf,
    /// Listed times younger than this (by this machine's clock) are not recorded under.
    settle: Duration,
    /// Each side's root, prefixed to its keys.
    roots: [Vec<u8>; 2],
    db: OnceLock<Option<Database>>,
}

/// Which side of the run an entry is from.
#[derive(Clone, Copy, Debug)]
pub enum Side {
    Src = 0,
    Dst = 1,
}

fn root_of(loc: &Location) -> Vec<u8> {
    let mut root = loc.namespace.as_bytes().to_vec();
    root.push(0);
    root.extend_from_slice(loc.path.as_bytes());
    root.push(0);
    root
}

fn nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn from_nanos(n: i128) -> SystemTime {
    let d = Duration::from_nanos(n.unsigned_abs().min(u64::MAX as u128) as u64);
    if n >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

impl Journal {
    /// The journal of a run from `src` to `dst`, kept in `file`.
    pub fn new(file: impl Into<PathBuf>, src: &Location, dst: &Location) -> Journal {
        Journal {
            file: file.into(),
            settle: Duration::from_secs(60),
            roots: [root_of(src), root_of(dst)],
            db: OnceLock::new(),
        }
    }

    /// Records only under listed times at least `settle` old (see `SyncOptions`).
    pub fn settle(mut self, settle: Duration) -> Journal {
        self.settle = settle;
        self
    }

    fn db(&self) -> Option<&Database> {
        self.db
            .get_or_init(|| ferry_core::store::open(&self.file, "journal"))
            .as_ref()
    }

    fn key(&self, side: Side, e: &Entry) -> Vec<u8> {
        let mut k = self.roots[side as usize].clone();
        k.extend_from_slice(e.path.as_str().as_bytes());
        k
    }

    /// What `e`'s listing shows (its mtime the listed, provisional one); `None` when the
    /// listing carries no version tag to trust.
    fn listed(e: &Entry) -> Option<Vec<u8>> {
        let version = e.version.as_deref()?;
        let mut v = Vec::with_capacity(40 + version.len());
        v.extend_from_slice(&e.size.to_le_bytes());
        v.extend_from_slice(&nanos(e.mtime).to_le_bytes());
        v.extend_from_slice(version.as_bytes());
        Some(v)
    }

    /// The real modification time of `e`, a listed entry, when the journal holds it for
    /// exactly this listing.
    pub fn lookup(&self, side: Side, e: &Entry) -> Option<SystemTime> {
        let listed = Self::listed(e)?;
        let txn = self.db()?.begin_read().ok()?;
        let table = txn.open_table(TABLE).ok()?;
        let value = table.get(self.key(side, e).as_slice()).ok()??;
        let value = value.value();
        let (mtime, rest) = value.split_at_checked(16)?;
        let mtime: [u8; 16] = mtime.try_into().ok()?;
        (rest == listed.as_slice()).then(|| from_nanos(i128::from_le_bytes(mtime)))
    }

    /// Records that `listed` (as the listing showed it) has the real modification time
    /// `mtime`.
    // redb's error type is large; it is only built on the cold path of a failed write.
    #[allow(clippy::result_large_err)]
    pub fn record(&self, side: Side, listed: &Entry, mtime: SystemTime) {
        let settled = SystemTime::now()
            .duration_since(listed.mtime)
            .is_ok_and(|age| age >= self.settle);
        if !settled {
            return;
        }
        let Some(shown) = Self::listed(listed) else {
            return;
        };
        let Some(db) = self.db() else { return };
        let mut value = nanos(mtime).to_le_bytes().to_vec();
        value.extend_from_slice(&shown);
        let write = || -> Result<(), redb::Error> {
            let mut txn = db.begin_write()?;
            // A lost record costs one request next time, never a wrong answer.
            txn.set_durability(Durability::None);
            txn.open_table(TABLE)?
                .insert(self.key(side, listed).as_slice(), value.as_slice())?;
            txn.commit()?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!("journal {}: not written: {e}", self.file.display());
        }
    }
}

impl Drop for Journal {
    /// Makes the records of this run durable with one last commit.
    fn drop(&mut self) {
        if let Some(Some(db)) = self.db.get() {
            if let Ok(txn) = db.begin_write() {
                let _ = txn.commit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::RelPath;

    fn listed(path: &str, size: u64, secs: u64, version: Option<&str>) -> Entry {
        let mut e = Entry::file(
            RelPath::new(path).unwrap(),
            size,
            UNIX_EPOCH + Duration::from_secs(secs),
        );
        e.mtime_provisional = true;
        e.version = version.map(str::to_owned);
        e
    }

    #[test]
    fn answers_only_for_exactly_the_listing_it_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let dst = Location {
            namespace: "s3://endpoint".into(),
            path: "bucket/dir".into(),
        };
        let real = UNIX_EPOCH + Duration::new(1_000_000, 123_456_789);
        let local = Location {
            namespace: "local".into(),
            path: "/data".into(),
        };
        let j = Journal::new(dir.path().join("j.redb"), &local, &dst);
        let e = listed("a.txt", 10, 2_000_000, Some("etag-1"));
        assert_eq!(j.lookup(Side::Dst, &e), None);
        j.record(Side::Dst, &e, real);
        assert_eq!(j.lookup(Side::Dst, &e), Some(real));
        assert_eq!(j.lookup(Side::Src, &e), None, "the other side's");
        for changed in [
            listed("a.txt", 11, 2_000_000, Some("etag-1")),
            listed("a.txt", 10, 2_000_001, Some("etag-1")),
            listed("a.txt", 10, 2_000_000, Some("etag-2")),
            listed("a.txt", 10, 2_000_000, None),
            listed("b.txt", 10, 2_000_000, Some("etag-1")),
        ] {
            assert_eq!(j.lookup(Side::Dst, &changed), None, "{changed:?}");
        }
        // Another destination has its own records.
        let other = Location {
            path: "bucket/other".into(),
            ..dst.clone()
        };
        drop(j);
        let file = dir.path().join("j.redb");
        assert_eq!(
            Journal::new(&file, &local, &other).lookup(Side::Dst, &e),
            None
        );
        // Kept across runs, and found from either side (a download reads it as source).
        assert_eq!(
            Journal::new(&file, &local, &dst).lookup(Side::Dst, &e),
            Some(real)
        );
        assert_eq!(
            Journal::new(&file, &dst, &local).lookup(Side::Src, &e),
            Some(real)
        );
        // A listed time too recent to tell a same-second rewrite apart: nothing recorded.
        let fresh = {
            let mut e = listed("d.txt", 1, 0, Some("etag"));
            e.mtime = SystemTime::now() - Duration::from_secs(5);
            e
        };
        // No version tag: nothing recorded.
        let j = Journal::new(&file, &local, &dst);
        j.record(Side::Dst, &fresh, real);
        assert_eq!(j.lookup(Side::Dst, &fresh), None);
        let bare = listed("c.txt", 1, 5, None);
        j.record(Side::Dst, &bare, real);
        assert_eq!(j.lookup(Side::Dst, &bare), None);
    }
}
