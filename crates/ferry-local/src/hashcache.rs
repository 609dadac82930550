//! A persistent cache of file hashes, so `--checksum` re-runs, `check`, `md5sum` and
//! bisync's checksums read only files that changed.
//!
//! A hash is kept under the file's path and hash kind, with the file's identity when it
//! was hashed: device, inode, size, modification time and change time (nanoseconds). It
//! is used only while all of them still match, read from the open file itself. Anything
//! that rewrites a file changes its change time, even when size and mtime are put back
//! (`touch -d`), and a file swapped in by rename has another inode. A hash is stored only
//! if the file did not change while it was read, and not for a file changed in the last
//! two seconds (a write within the same timestamp tick could not be told apart, as git's
//! "racy" entries).
//!
//! One store per user (redb) under the cache directory. Another run holding it makes
//! this run go without (never wait, never share a half-written state); a store that can't
//! be read is rebuilt with a notice. New entries are written in batches; the store stays
//! bounded: past [`MAX_ENTRIES`] the entries of files that are gone or changed are dropped,
//! and if that leaves more than [`KEEP_ENTRIES`], a spread of the others too, so the next
//! prune is due only after many new entries, not on every run.

// redb's error type is large; it is only ever built on the cold path of a failed write.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use ferry_core::HashKind;
use redb::{Database, Durability, ReadableTableMetadata, TableDefinition};

/// Keys are the file's directory, a NUL, its name, a NUL and the hash kind, so one
/// directory's entries are one range of keys (a NUL is in no path).
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("hashes-by-dir");
/// The table of earlier versions, keyed by whole path (a directory's entries were not
/// together): dropped when found.
const OLD_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("hashes");
/// A directory with more entries than this is looked up file by file, not read whole.
const DIR_READ_MAX: usize = 4096;
/// New entries are committed this many at a time (and when the cache is dropped).
const BATCH: usize = 256;
/// Past this many entries, a prune drops those of files that are gone or changed.
pub const MAX_ENTRIES: u64 = 2_000_000;
/// What a prune leaves at most: a store full of valid entries would otherwise be over
/// [`MAX_ENTRIES`] again at once, and every run would stat every entry to drop none.
pub const KEEP_ENTRIES: u64 = MAX_ENTRIES * 3 / 4;

/// When a prune is due and what it leaves.
#[derive(Clone, Copy, Debug)]
struct Bound {
    max: u64,
    keep: u64,
}

const BOUND: Bound = Bound {
    max: MAX_ENTRIES,
    keep: KEEP_ENTRIES,
};
/// Files changed this recently are hashed but not cached.
const RACY: Duration = Duration::from_secs(2);

/// What identifies one version of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Stamp {
    #[cfg(unix)]
    pub fn of(m: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }

    /// Elsewhere there is no change time to trust: nothing is cached.
    #[cfg(not(unix))]
    pub fn of(_m: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    fn encode(&self, hash: &str) -> Vec<u8> {
        let mut v = Vec::with_capacity(56 + hash.len());
        for n in [self.dev, self.ino, self.size] {
            v.extend_from_slice(&n.to_le_bytes());
        }
        for n in [self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1] {
            v.extend_from_slice(&n.to_le_bytes());
        }
        v.extend_from_slice(hash.as_bytes());
        v
    }

    fn decode(v: &[u8]) -> Option<(Stamp, &str)> {
        let word = |i: usize| -> Option<[u8; 8]> { v.get(i * 8..i * 8 + 8)?.try_into().ok() };
        let u = |i| word(i).map(u64::from_le_bytes);
        let s = |i| word(i).map(i64::from_le_bytes);
        let stamp = Stamp {
            dev: u(0)?,
            ino: u(1)?,
            size: u(2)?,
            mtime: (s(3)?, s(4)?),
            ctime: (s(5)?, s(6)?),
        };
        Some((stamp, std::str::from_utf8(v.get(56..)?).ok()?))
    }

    /// Whether the file changed so recently that a change in the same tick could follow.
    fn is_racy(&self, now: SystemTime) -> bool {
        let secs = |(s, n): (i64, i64)| {
            std::time::UNIX_EPOCH + Duration::new(s.max(0) as u64, n.clamp(0, 999_999_999) as u32)
        };
        [self.mtime, self.ctime]
            .into_iter()
            .any(|t| now.duration_since(secs(t)).map_or(true, |age| age < RACY))
    }
}

/// The store, shared by every local backend of one run; opened when first used, so a
/// run that hashes nothing never touches it.
pub struct HashCache {
    path: PathBuf,
    bound: Bound,
    db: OnceLock<Option<Database>>,
    /// A snapshot to read from, shared by every lookup until the next write (a read
    /// transaction per lookup would cost more than the lookup).
    reader: RwLock<Option<Arc<Reader>>>,
    pending: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    /// Whether `pending` may hold anything: a lookup then needs its lock. Listing threads
    /// look up every file, and taking one lock for each made them queue on it. (A lookup
    /// that misses a just-added entry only hashes again: an answer is given only for the
    /// identity it was kept for.)
    any_pending: AtomicBool,
}

type Reader = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

impl std::fmt::Debug for HashCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashCache({})", self.path.display())
    }
}

fn key(path: &Path, kind: HashKind) -> Vec<u8> {
    let mut k = Vec::new();
    key_into(&mut k, path, kind);
    k
}

fn key_into(k: &mut Vec<u8>, path: &Path, kind: HashKind) {
    k.clear();
    let (dir, name) = split(path);
    k.extend_from_slice(dir);
    k.push(0);
    k.extend_from_slice(name);
    k.push(0);
    k.extend_from_slice(kind.name().as_bytes());
}

/// A path's directory and name, as bytes.
fn split(path: &Path) -> (&[u8], &[u8]) {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => (dir.as_os_str().as_encoded_bytes(), name.as_encoded_bytes()),
        _ => (path.as_os_str().as_encoded_bytes(), b""),
    }
}

/// The path a key is for.
fn path_of(k: &[u8]) -> Option<PathBuf> {
    let dir_end = k.iter().position(|b| *b == 0)?;
    let name_end = dir_end + 1 + k[dir_end + 1..].iter().position(|b| *b == 0)?;
    Some(Path::new(&os(&k[..dir_end])?).join(os(&k[dir_end + 1..name_end])?))
}

#[cfg(unix)]
fn os(b: &[u8]) -> Option<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    Some(std::ffi::OsStr::from_bytes(b).to_owned())
}

#[cfg(not(unix))]
fn os(b: &[u8]) -> Option<std::ffi::OsString> {
    std::str::from_utf8(b).ok().map(Into::into)
}

/// What the store kept for the files of one directory and one hash kind, read in one
/// range (one descent of the tree, then its leaves in order) instead of a lookup from the
/// root per file: names and values one after another in `buf`, in name order.
pub struct DirHashes {
    dir: Vec<u8>,
    kind: HashKind,
    buf: Vec<u8>,
    /// Per entry: where its name starts, where its value starts, where it ends.
    index: Vec<(u32, u32, u32)>,
}

impl DirHashes {
    fn value(&self, name: &[u8]) -> Option<&[u8]> {
        let name_of = |&(a, b, _): &(u32, u32, u32)| &self.buf[a as usize..b as usize];
        let i = self.index.binary_search_by(|e| name_of(e).cmp(name)).ok()?;
        let (_, b, c) = self.index[i];
        Some(&self.buf[b as usize..c as usize])
    }
}

thread_local! {
    static KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl HashCache {
    /// The store at `file`, opened (or made) when first used.
    pub fn at(file: impl Into<PathBuf>) -> HashCache {
        HashCache {
            path: file.into(),
            bound: BOUND,
            db: OnceLock::new(),
            reader: RwLock::new(None),
            pending: Mutex::new(HashMap::new()),
            any_pending: AtomicBool::new(false),
        }
    }

    /// The open store; `None` when another run holds it or it can't be made (a store that
    /// can't be read is replaced).
    fn db(&self) -> Option<&Database> {
        self.db.get_or_init(|| self.open()).as_ref()
    }

    fn open(&self) -> Option<Database> {
        let db = ferry_core::store::open(&self.path, "hash cache")?;
        drop_old_table(&db, &self.path);
        prune_if_full(&db, &self.path, self.bound);
        Some(db)
    }

    /// What is kept for the files of `dir` (absolute, as listed), read at once; `None`
    /// when the store can't be read or the directory has too many entries to hold.
    pub fn dir(&self, dir: &Path, kind: HashKind) -> Option<DirHashes> {
        let mut start = dir.as_os_str().as_encoded_bytes().to_vec();
        start.push(0);
        let mut end = start.clone();
        *end.last_mut()? = 1;
        let reader = self.reader()?;
        let mut out = DirHashes {
            dir: dir.as_os_str().as_encoded_bytes().to_vec(),
            kind,
            buf: Vec::new(),
            index: Vec::new(),
        };
        let suffix = kind.name().as_bytes();
        for item in reader.range(start.as_slice()..end.as_slice()).ok()? {
            let (k, v) = item.ok()?;
            // The name, then a NUL and the kind.
            let Some(name) = k.value()[start.len()..]
                .strip_suffix(suffix)
                .and_then(|n| n.strip_suffix(&[0u8]))
            else {
                continue;
            };
            if out.index.len() == DIR_READ_MAX {
                return None;
            }
            let a = out.buf.len();
            out.buf.extend_from_slice(name);
            let b = out.buf.len();
            out.buf.extend_from_slice(v.value());
            let to = |n: usize| u32::try_from(n).ok();
            out.index.push((to(a)?, to(b)?, to(out.buf.len())?));
        }
        Some(out)
    }

    /// The hash kept for the file at `path`, listed in the directory `dir` was read for,
    /// while it still is what `meta`, a `stat` of it, says.
    pub fn get_listed(
        &self,
        dir: &DirHashes,
        path: &Path,
        meta: &std::fs::Metadata,
    ) -> Option<String> {
        let (in_dir, name) = split(path);
        if in_dir != dir.dir.as_slice() {
            return self.get_for(path, meta, dir.kind);
        }
        let stamp = Stamp::of(meta)?;
        if self.any_pending.load(Ordering::Acquire) {
            if let Some(v) = self.pending_value(&key(path, dir.kind)) {
                return Self::matching(&v, &stamp);
            }
        }
        Self::matching(dir.value(name)?, &stamp)
    }

    /// The hash kept for the file at `path` (made absolute, as keys are) while it still is
    /// what `meta`, a `stat` of it, says.
    pub fn get_for(&self, path: &Path, meta: &std::fs::Metadata, kind: HashKind) -> Option<String> {
        let stamp = Stamp::of(meta)?;
        // A listing's paths are absolute already (the root is made so): no copy per file.
        if path.is_absolute() {
            return self.get(path, kind, &stamp);
        }
        self.get(&std::path::absolute(path).ok()?, kind, &stamp)
    }

    /// The hash kept for `path` when `now` (the open file's identity) matches.
    pub fn get(&self, path: &Path, kind: HashKind, now: &Stamp) -> Option<String> {
        // The key is built in a buffer each thread reuses: no allocation per lookup.
        KEY.with_borrow_mut(|k| {
            key_into(k, path, kind);
            if let Some(v) = self.pending_value(k) {
                return Self::matching(&v, now);
            }
            let v = self.reader()?.get(k.as_slice()).ok()??;
            Self::matching(v.value(), now)
        })
    }

    /// The current snapshot (opened after each write).
    fn reader(&self) -> Option<Arc<Reader>> {
        if let Some(r) = self
            .reader
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Some(r.clone());
        }
        let table = self.db()?.begin_read().ok()?.open_table(TABLE).ok()?;
        let table = Arc::new(table);
        *self.reader.write().unwrap_or_else(|p| p.into_inner()) = Some(table.clone());
        Some(table)
    }

    fn matching(v: &[u8], now: &Stamp) -> Option<String> {
        let (stamp, hash) = Stamp::decode(v)?;
        (stamp == *now).then(|| hash.to_owned())
    }

    fn pending_value(&self, k: &[u8]) -> Option<Vec<u8>> {
        if !self.any_pending.load(Ordering::Acquire) {
            return None;
        }
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.get(k).cloned()
    }

    /// Keeps `hash` of `path`, read while the file was `stamp` throughout.
    pub fn put(&self, path: &Path, kind: HashKind, stamp: &Stamp, hash: &str) {
        if stamp.is_racy(SystemTime::now()) {
            return;
        }
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.insert(key(path, kind), stamp.encode(hash));
            self.any_pending.store(true, Ordering::Release);
            pending.len() >= BATCH
        };
        if full {
            self.flush();
        }
    }

    /// Writes the pending entries (the cache is only a cache: a failure loses them).
    pub fn flush(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.is_empty() {
            return;
        }
        // Written while still pending, so no lookup misses what is in between.
        if let Err(e) = self.write(&pending) {
            tracing::debug!("hash cache {}: not written: {e}", self.path.display());
        }
        *self.reader.write().unwrap_or_else(|p| p.into_inner()) = None;
        pending.clear();
        self.any_pending.store(false, Ordering::Release);
    }

    fn write(&self, batch: &HashMap<Vec<u8>, Vec<u8>>) -> Result<(), redb::Error> {
        let Some(db) = self.db() else { return Ok(()) };
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Eventual);
        {
            let mut table = txn.open_table(TABLE)?;
            for (k, v) in batch {
                table.insert(k.as_slice(), v.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

/// Past `bound.max`, drops the entries of files that are gone or changed, then, while
/// more than `bound.keep` are left, an even spread of the rest (by a hash of the key, so
/// no one tree loses all of its entries). Whether it pruned.
fn prune_if_full(db: &Database, file: &Path, bound: Bound) -> bool {
    let count = || -> Result<u64, redb::Error> { Ok(db.begin_read()?.open_table(TABLE)?.len()?) };
    if count().unwrap_or(0) <= bound.max {
        return false;
    }
    let prune = || -> Result<(), redb::Error> {
        let txn = db.begin_write()?;
        {
            let mut table = txn.open_table(TABLE)?;
            table.retain(still_valid)?;
            let left = table.len()?;
            if left > bound.keep {
                // Each entry goes with probability (left - keep) / left.
                let cut = (u64::MAX / left).saturating_mul(left - bound.keep);
                table.retain(|k, _| spread(k) >= cut)?;
            }
        }
        txn.commit()?;
        Ok(())
    };
    if let Err(e) = prune() {
        tracing::debug!("hash cache {}: not pruned: {e}", file.display());
    }
    true
}

/// Drops the table earlier versions kept (a store that has it is read by none of its
/// lookups, and would keep its size for ever).
fn drop_old_table(db: &Database, file: &Path) {
    use redb::TableHandle;
    let has_old = || -> Option<bool> {
        let txn = db.begin_read().ok()?;
        let mut tables = txn.list_tables().ok()?;
        Some(tables.any(|t| t.name() == OLD_TABLE.name()))
    };
    if has_old() != Some(true) {
        return;
    }
    let drop = || -> Result<(), redb::Error> {
        let txn = db.begin_write()?;
        txn.delete_table(OLD_TABLE)?;
        txn.commit()?;
        Ok(())
    };
    if let Err(e) = drop() {
        tracing::debug!("hash cache {}: old table not dropped: {e}", file.display());
    }
}

/// FNV-1a 64 of a key, with a final mix so that keys differing only at the end spread.
fn spread(k: &[u8]) -> u64 {
    let h = k.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Whether an entry's file is still there, as it was.
#[cfg(unix)]
fn still_valid(k: &[u8], v: &[u8]) -> bool {
    let Some(path) = path_of(k) else {
        return false;
    };
    let now = std::fs::metadata(path).ok().and_then(|m| Stamp::of(&m));
    matches!((now, Stamp::decode(v)), (Some(n), Some((s, _))) if n == s)
}

#[cfg(not(unix))]
fn still_valid(_k: &[u8], _v: &[u8]) -> bool {
    false
}

impl Drop for HashCache {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn stamp_of(p: &Path) -> Stamp {
        Stamp::of(&std::fs::metadata(p).unwrap()).unwrap()
    }

    fn aged(p: &Path) {
        let t = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn a_hash_is_used_only_while_the_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"one").unwrap();
        aged(&f);
        let cache = HashCache::at(dir.path().join("c.redb"));
        let s = stamp_of(&f);
        // Changed two seconds ago or less (the change time): not kept.
        cache.put(&f, HashKind::Md5, &s, "aaaa");
        assert_eq!(cache.get(&f, HashKind::Md5, &s), None, "racy entry kept");
        let old = Stamp {
            ctime: (s.ctime.0 - 10, s.ctime.1),
            mtime: (s.mtime.0 - 10, s.mtime.1),
            ..s
        };
        cache.put(&f, HashKind::Md5, &old, "bbbb");
        assert_eq!(cache.get(&f, HashKind::Md5, &old).as_deref(), Some("bbbb"));
        assert_eq!(cache.get(&f, HashKind::Sha1, &old), None, "another kind");
        for changed in [
            Stamp {
                size: old.size + 1,
                ..old
            },
            Stamp {
                ino: old.ino + 1,
                ..old
            },
            Stamp {
                ctime: (old.ctime.0, old.ctime.1 + 1),
                ..old
            },
            Stamp {
                mtime: (old.mtime.0 + 1, old.mtime.1),
                ..old
            },
        ] {
            assert_eq!(cache.get(&f, HashKind::Md5, &changed), None, "{changed:?}");
        }
        // Kept across runs.
        drop(cache);
        let cache = HashCache::at(dir.path().join("c.redb"));
        assert_eq!(cache.get(&f, HashKind::Md5, &old).as_deref(), Some("bbbb"));
    }

    #[test]
    fn a_store_in_use_is_left_alone_and_a_damaged_one_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.redb");
        let first = HashCache::at(&file);
        assert!(first.db().is_some());
        assert!(HashCache::at(&file).db().is_none(), "shared while in use");
        drop(first);
        std::fs::write(&file, b"not a database at all, just some bytes").unwrap();
        let rebuilt = HashCache::at(&file);
        assert!(rebuilt.db().is_some(), "rebuilt");
        let f = dir.path().join("x");
        std::fs::write(&f, b"x").unwrap();
        assert_eq!(rebuilt.get(&f, HashKind::Md5, &stamp_of(&f)), None);
    }

    #[test]
    fn pruning_keeps_only_files_that_are_still_there_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, gone) = (dir.path().join("kept"), dir.path().join("gone"));
        std::fs::write(&kept, b"k").unwrap();
        std::fs::write(&gone, b"g").unwrap();
        let entry = |p: &Path| (key(p, HashKind::Md5), stamp_of(p).encode("h"));
        let (a, b) = (entry(&kept), entry(&gone));
        std::fs::remove_file(&gone).unwrap();
        assert!(still_valid(&a.0, &a.1));
        assert!(!still_valid(&b.0, &b.1));
    }

    fn count(cache: &HashCache) -> u64 {
        let db = cache.db().unwrap();
        db.begin_read()
            .unwrap()
            .open_table(TABLE)
            .unwrap()
            .len()
            .unwrap()
    }

    #[test]
    fn a_prune_leaves_room_so_the_next_run_does_not_prune_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.redb");
        let bound = Bound {
            max: 500,
            keep: 300,
        };
        // 1,000 entries of files still there unchanged, 100 of files gone.
        let mut batch = HashMap::new();
        for i in 0..1100 {
            let f = dir.path().join(format!("f{i}"));
            std::fs::write(&f, b"x").unwrap();
            batch.insert(key(&f, HashKind::Md5), stamp_of(&f).encode("h"));
            if i >= 1000 {
                std::fs::remove_file(&f).unwrap();
            }
        }
        let cache = HashCache::at(&file);
        cache.write(&batch).unwrap();
        assert_eq!(count(&cache), 1100);
        drop(cache);
        let db = ferry_core::store::open(&file, "test").unwrap();
        assert!(prune_if_full(&db, &file, bound), "over the bound: pruned");
        let left = db.begin_read().unwrap().open_table(TABLE).unwrap();
        let n = left.len().unwrap();
        // About `keep` (each valid entry went with probability 0.7), well below `max`.
        assert!((200..=400).contains(&n), "{n} left");
        use redb::ReadableTable;
        for item in left.iter().unwrap() {
            let (k, v) = item.unwrap();
            assert!(
                still_valid(k.value(), v.value()),
                "a gone file's entry was kept"
            );
        }
        drop(left);
        assert!(!prune_if_full(&db, &file, bound), "pruned again at once");
    }

    #[test]
    fn a_directory_read_at_once_answers_as_lookups_do() {
        let dir = tempfile::tempdir().unwrap();
        let (a, sub) = (dir.path().join("a"), dir.path().join("a/sub"));
        std::fs::create_dir_all(&sub).unwrap();
        let files: Vec<PathBuf> = ["x", "xy", "y", "sub/z"]
            .iter()
            .map(|n| a.join(n))
            .collect();
        let mut batch = HashMap::new();
        for f in &files {
            std::fs::write(f, f.to_string_lossy().as_bytes()).unwrap();
            batch.insert(key(f, HashKind::Md5), stamp_of(f).encode("md5-of-it"));
            batch.insert(key(f, HashKind::Sha1), stamp_of(f).encode("sha1-of-it"));
        }
        let cache = HashCache::at(dir.path().join("c.redb"));
        cache.write(&batch).unwrap();
        let read = cache.dir(&a, HashKind::Md5).unwrap();
        assert_eq!(read.index.len(), 3, "a's own files, this kind only");
        let meta = |p: &Path| std::fs::metadata(p).unwrap();
        for f in &files[..3] {
            assert_eq!(
                cache.get_listed(&read, f, &meta(f)).as_deref(),
                Some("md5-of-it")
            );
        }
        // A file of another directory is looked up alone.
        let z = &files[3];
        assert_eq!(
            cache.get_listed(&read, z, &meta(z)).as_deref(),
            Some("md5-of-it")
        );
        // Changed since it was kept (a new change time): no answer.
        let x = &files[0];
        std::fs::write(x, b"other").unwrap();
        assert_eq!(cache.get_listed(&read, x, &meta(x)), None);
        // Not kept at all.
        let new = a.join("new");
        std::fs::write(&new, b"n").unwrap();
        assert_eq!(cache.get_listed(&read, &new, &meta(&new)), None);
        // Kept in this run, after the directory was read (still pending): found too.
        let pending = (key(&new, HashKind::Md5), stamp_of(&new).encode("put-now"));
        cache.pending.lock().unwrap().insert(pending.0, pending.1);
        cache.any_pending.store(true, Ordering::Release);
        assert_eq!(
            cache.get_listed(&read, &new, &meta(&new)).as_deref(),
            Some("put-now")
        );
    }

    #[test]
    fn a_directory_too_big_to_hold_is_looked_up_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = Stamp {
            dev: 1,
            ino: 2,
            size: 3,
            mtime: (1_000_000, 0),
            ctime: (1_000_000, 0),
        };
        let batch: HashMap<_, _> = (0..=DIR_READ_MAX)
            .map(|i| {
                (
                    key(&dir.path().join(format!("f{i}")), HashKind::Md5),
                    s.encode("h"),
                )
            })
            .collect();
        let cache = HashCache::at(dir.path().join("c.redb"));
        cache.write(&batch).unwrap();
        assert!(cache.dir(dir.path(), HashKind::Md5).is_none());
        let f = dir.path().join("f7");
        assert_eq!(cache.get(&f, HashKind::Md5, &s).as_deref(), Some("h"));
    }

    #[test]
    fn the_table_of_earlier_versions_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.redb");
        {
            let db = ferry_core::store::open(&file, "test").unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(OLD_TABLE)
                .unwrap()
                .insert(b"/x\0md5".as_slice(), b"v".as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let cache = HashCache::at(&file);
        let txn = cache.db().unwrap().begin_read().unwrap();
        use redb::TableHandle;
        assert!(txn.list_tables().unwrap().all(|t| t.name() != "hashes"));
    }

    #[test]
    fn a_key_names_its_path() {
        let p = Path::new("/some dir/a b/file.txt");
        assert_eq!(path_of(&key(p, HashKind::Sha1)).as_deref(), Some(p));
    }

    /// Against a model that keeps nothing: whatever was stored, for whichever identity, a
    /// lookup answers only with the hash stored for exactly its identity.
    mod model {
        use super::*;
        use proptest::prelude::*;
        use proptest::test_runner::RngSeed;

        fn stamp() -> impl Strategy<Value = Stamp> {
            // Few values per field, so that near-misses (one field different) are common.
            (
                0..2u64,
                0..3u64,
                0..3u64,
                0..2i64,
                0..2i64,
                0..2i64,
                0..2i64,
            )
                .prop_map(|(dev, ino, size, ms, mn, cs, cn)| Stamp {
                    dev,
                    ino,
                    size,
                    mtime: (1_000_000 + ms, mn),
                    ctime: (1_000_000 + cs, cn),
                })
        }

        #[derive(Clone, Debug)]
        enum Step {
            Put(usize, Stamp, u8),
            Get(usize, Stamp),
            Reopen,
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                3 => (0..3usize, stamp(), any::<u8>()).prop_map(|(f, s, h)| Step::Put(f, s, h)),
                3 => (0..3usize, stamp()).prop_map(|(f, s)| Step::Get(f, s)),
                1 => Just(Step::Reopen),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 64,
                rng_seed: RngSeed::Fixed(0x4a5_ca5e),
                ..ProptestConfig::default()
            })]

            #[test]
            fn never_answers_for_another_identity(steps in prop::collection::vec(step(), 1..40)) {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("c.redb");
                let paths: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("f{i}"))).collect();
                let mut cache = HashCache::at(&file);
                let mut model: std::collections::HashMap<usize, (Stamp, String)> = Default::default();
                for s in steps {
                    match s {
                        Step::Put(f, st, h) => {
                            let hash = format!("{h:02x}");
                            cache.put(&paths[f], HashKind::Md5, &st, &hash);
                            model.insert(f, (st, hash));
                        }
                        Step::Get(f, st) => {
                            let want = model.get(&f).filter(|(s, _)| *s == st).map(|(_, h)| h.clone());
                            prop_assert_eq!(cache.get(&paths[f], HashKind::Md5, &st), want);
                        }
                        Step::Reopen => {
                            drop(cache);
                            cache = HashCache::at(&file);
                        }
                    }
                }
            }
        }
    }
}
