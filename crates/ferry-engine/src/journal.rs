//! The modification-time journal: what a `stat` told about an object's real modification
//! time, kept under what its listing showed (size, version tag, listed time), so the next
//! run needs no request for an object whose listing still shows exactly that (an S3
//! `HEAD` per object is most of a no-op sync's cost, as destination or as source).
//!
//! A record answers in one of two ways ([`Known`]):
//! - *exactly*: the listing shows the same size, version tag (ETag) and listed time, and
//!   that time was at least `settle` old when recorded (a listing shows whole seconds, so
//!   a rewrite within the recorded second that kept size and ETag would look the same);
//! - *if the content is the same*: size and version tag match but the listed time differs
//!   (the object was written again, e.g. re-uploaded by another tool) or the record is
//!   young. The caller may trust it only after proving the object holds exactly the other
//!   side's content: its version tag is a plain MD5 of the content and equals the other
//!   side's MD5, known without a request. Identical content means rclone's rules would
//!   never transfer the file; what the record can miss is a modification time someone
//!   changed without changing the content, which is then not put right.
//!
//! An object rewritten with other content has another ETag, and its record is then
//! ignored: the journal never answers for changed content, so it can't make a run skip
//! what rclone's rules would transfer. Only listings that carry a version tag are
//! recorded. One store per user under the cache directory; a store in use by another
//! run, or unreadable, is simply not used (it is rebuilt when unreadable).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::{Entry, Location};
use redb::{Database, Durability, TableDefinition};

/// Values: the real mtime (16 bytes, ns), whether the record is settled (1 byte), then
/// what the listing showed ([`Journal::listed`]). (Records of the first format, in the
/// table "mtimes", are no longer read.)
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("mtimes.2");

/// What the journal holds for a listed object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known {
    /// This exact listing, settled: its real modification time.
    Exactly(SystemTime),
    /// The same size and version tag under another (or a too recent) listed time: the
    /// real modification time it had, to be trusted only once the content is proven the
    /// same (see the module's notes).
    IfSameContent(SystemTime),
}

/// The journal of one run's two sides, opened when first needed.
pub struct Journal {
    file: PathBuf,
    /// Records under listed times younger than this (by this machine's clock) only
    /// answer [`Known::IfSameContent`].
    settle: Duration,
    /// Each side's root, prefixed to its keys.
    roots: [Vec<u8>; 2],
    db: OnceLock<Option<Database>>,
    /// Records not yet written (key, value): written [`BATCH`] at a time, and the rest
    /// when the journal is dropped.
    pending: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Whether a batch was committed (without durability): only then does the drop
    /// commit again to make them durable.
    written: AtomicBool,
}

/// Records written per transaction: one commit per record made a first run of 2,000
/// objects a fifth slower than without the journal.
const BATCH: usize = 256;

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
            pending: Mutex::new(Vec::new()),
            written: AtomicBool::new(false),
        }
    }

    /// Records under listed times less than `settle` old answer only if the content is
    /// the same (see `SyncOptions`).
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

    /// What the journal knows of `e`, a listed entry.
    pub fn lookup(&self, side: Side, e: &Entry) -> Option<Known> {
        let listed = Self::listed(e)?;
        let txn = self.db()?.begin_read().ok()?;
        let table = txn.open_table(TABLE).ok()?;
        let value = table.get(self.key(side, e).as_slice()).ok()??;
        let value = value.value();
        let (head, shown) = value.split_at_checked(17)?;
        let mtime = from_nanos(i128::from_le_bytes(head[..16].try_into().ok()?));
        let settled = head[16] == 1;
        if settled && shown == listed.as_slice() {
            return Some(Known::Exactly(mtime));
        }
        // The listed time (bytes 8..24) aside, the same size and version tag.
        let same_object = shown.len() == listed.len()
            && shown[..8] == listed[..8]
            && shown.get(24..) == listed.get(24..);
        same_object.then_some(Known::IfSameContent(mtime))
    }

    /// Records that `listed` (as the listing showed it) has the real modification time
    /// `mtime`.
    pub fn record(&self, side: Side, listed: &Entry, mtime: SystemTime) {
        let settled = SystemTime::now()
            .duration_since(listed.mtime)
            .is_ok_and(|age| age >= self.settle);
        let Some(shown) = Self::listed(listed) else {
            return;
        };
        let mut value = nanos(mtime).to_le_bytes().to_vec();
        value.push(settled as u8);
        value.extend_from_slice(&shown);
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.push((self.key(side, listed), value));
            if pending.len() < BATCH {
                return;
            }
            std::mem::take(&mut *pending)
        };
        self.write(&batch);
    }

    /// Writes `batch` in one transaction (a lost record costs one request next time,
    /// never a wrong answer).
    // redb's error type is large; it is only built on the cold path of a failed write.
    #[allow(clippy::result_large_err)]
    fn write(&self, batch: &[(Vec<u8>, Vec<u8>)]) {
        // Checked before the store is opened: a run with nothing to record (a local
        // sync) never opens it, which would cost a write and syncs at open and close.
        if batch.is_empty() {
            return;
        }
        let Some(db) = self.db() else {
            return;
        };
        let write = || -> Result<(), redb::Error> {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::None);
            {
                let mut table = txn.open_table(TABLE)?;
                for (k, v) in batch {
                    table.insert(k.as_slice(), v.as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        match write() {
            Ok(()) => self.written.store(true, Ordering::Relaxed),
            Err(e) => tracing::debug!("journal {}: not written: {e}", self.file.display()),
        }
    }
}

impl Drop for Journal {
    /// Writes what is pending, and makes the records of this run durable with one last
    /// commit.
    fn drop(&mut self) {
        let batch = std::mem::take(self.pending.get_mut().unwrap_or_else(|p| p.into_inner()));
        self.write(&batch);
        if !*self.written.get_mut() {
            return;
        }
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
        let file = dir.path().join("j.redb");
        let j = Journal::new(&file, &local, &dst);
        let e = listed("a.txt", 10, 2_000_000, Some("etag-1"));
        assert_eq!(j.lookup(Side::Dst, &e), None);
        j.record(Side::Dst, &e, real);
        // Records are written in batches, the last when the journal is dropped.
        drop(j);
        let j = Journal::new(&file, &local, &dst);
        assert_eq!(j.lookup(Side::Dst, &e), Some(Known::Exactly(real)));
        assert_eq!(j.lookup(Side::Src, &e), None, "the other side's");
        // Written again (another listed time), same size and ETag: only if the content is.
        let rewritten = listed("a.txt", 10, 2_000_001, Some("etag-1"));
        assert_eq!(
            j.lookup(Side::Dst, &rewritten),
            Some(Known::IfSameContent(real))
        );
        for changed in [
            listed("a.txt", 11, 2_000_000, Some("etag-1")),
            listed("a.txt", 10, 2_000_000, Some("etag-2")),
            listed("a.txt", 10, 2_000_001, Some("etag-2")),
            listed("a.txt", 10, 2_000_000, Some("etag-10")),
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
        assert_eq!(
            Journal::new(&file, &local, &other).lookup(Side::Dst, &e),
            None
        );
        // Kept across runs, and found from either side (a download reads it as source).
        assert_eq!(
            Journal::new(&file, &local, &dst).lookup(Side::Dst, &e),
            Some(Known::Exactly(real))
        );
        assert_eq!(
            Journal::new(&file, &dst, &local).lookup(Side::Src, &e),
            Some(Known::Exactly(real))
        );
        // A listed time too recent to tell a same-second rewrite apart: recorded, but it
        // answers only if the content is the same.
        let fresh = {
            let mut e = listed("d.txt", 1, 0, Some("etag"));
            e.mtime = SystemTime::now() - Duration::from_secs(5);
            e
        };
        let j = Journal::new(&file, &local, &dst);
        j.record(Side::Dst, &fresh, real);
        drop(j);
        let j = Journal::new(&file, &local, &dst);
        assert_eq!(
            j.lookup(Side::Dst, &fresh),
            Some(Known::IfSameContent(real))
        );
        // No version tag: nothing recorded.
        let bare = listed("c.txt", 1, 5, None);
        j.record(Side::Dst, &bare, real);
        assert_eq!(j.lookup(Side::Dst, &bare), None);
    }

    #[test]
    fn a_run_with_nothing_to_record_never_opens_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("j.redb");
        let local = Location {
            namespace: "local".into(),
            path: "/data".into(),
        };
        let j = Journal::new(&file, &local, &local);
        // A local listing's times are not provisional: nothing to record, nothing asked.
        j.record(Side::Dst, &listed("a", 1, 5, None), UNIX_EPOCH);
        drop(j);
        assert!(!file.exists(), "opened (a write and syncs) for nothing");
    }
}
