//! Property tests: random trees with random changes on both sides, then `ferry sync`
//! (the destination ends up identical to the source), `ferry copy` (nothing at the
//! destination is ever deleted), `--dry-run` (nothing changes), and mtime-only changes
//! (fixed by setting the mtime, not by copying).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use filetime::FileTime;
use proptest::prelude::*;
use proptest::sample::Index;
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// Name pieces: ASCII, space, dot, and precomposed (NFC) non-ASCII letters, so no two
/// generated names are the same after unicode normalisation or differ only by case.
const ALPHABET: &[&str] = &[
    "a", "b", "c", "D", "E", "0", "9", " ", ".", "-", "_", "é", "ß", "Ω", "日", "本", "😀",
];

// ---------------------------------------------------------------------------
// Generated trees and changes
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct FileSpec {
    len: usize,
    seed: u64,
    mtime: (i64, u32),
}

#[derive(Clone, Debug)]
enum Node {
    File(FileSpec),
    /// Entries and the directory's own mtime.
    Dir(BTreeMap<String, Node>, (i64, u32)),
}

type Tree = BTreeMap<String, Node>;

/// A change made to the source after the last sync.
#[derive(Clone, Debug)]
enum SrcChange {
    /// Same size, new bytes, new mtime.
    Modify(Index, u64, (i64, u32)),
    /// New size, new bytes, new mtime.
    Resize(Index, usize, u64, (i64, u32)),
    /// New mtime only.
    Touch(Index, (i64, u32)),
    DeleteFile(Index),
    AddFile(Index, String, FileSpec),
    /// A new directory (possibly empty) holding these files.
    AddDir(Index, String, Vec<(String, FileSpec)>),
    DeleteDir(Index),
}

/// A change made at the destination behind ferry's back.
#[derive(Clone, Debug)]
enum DstChange {
    /// An extraneous file, directly in an existing directory or in a new one.
    Extra(Index, String, FileSpec, bool),
    /// New bytes, size and mtime.
    Modify(Index, FileSpec),
    /// Same bytes, new mtime.
    Touch(Index, (i64, u32)),
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..7)
        .prop_map(|parts| parts.concat())
        .prop_filter("not a special name", |n| n != "." && n != "..")
}

fn mtime() -> impl Strategy<Value = (i64, u32)> {
    (1_000_000_000i64..1_800_000_000, 0u32..1_000_000_000)
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), 1usize..100, 100usize..=64 * 1024]
}

fn file_spec() -> impl Strategy<Value = FileSpec> {
    (len(), any::<u64>(), mtime()).prop_map(|(len, seed, mtime)| FileSpec { len, seed, mtime })
}

fn tree() -> impl Strategy<Value = Tree> {
    let node = file_spec()
        .prop_map(Node::File)
        .prop_recursive(3, 24, 5, |inner| {
            (prop::collection::btree_map(name(), inner, 0..5), mtime())
                .prop_map(|(entries, m)| Node::Dir(entries, m))
        });
    prop::collection::btree_map(name(), node, 0..8)
}

fn src_change() -> impl Strategy<Value = SrcChange> {
    prop_oneof![
        (any::<Index>(), any::<u64>(), mtime()).prop_map(|(i, s, m)| SrcChange::Modify(i, s, m)),
        (any::<Index>(), len(), any::<u64>(), mtime())
            .prop_map(|(i, l, s, m)| SrcChange::Resize(i, l, s, m)),
        (any::<Index>(), mtime()).prop_map(|(i, m)| SrcChange::Touch(i, m)),
        any::<Index>().prop_map(SrcChange::DeleteFile),
        (any::<Index>(), name(), file_spec()).prop_map(|(i, n, f)| SrcChange::AddFile(i, n, f)),
        (
            any::<Index>(),
            name(),
            prop::collection::vec((name(), file_spec()), 0..4)
        )
            .prop_map(|(i, n, fs)| SrcChange::AddDir(i, n, fs)),
        any::<Index>().prop_map(SrcChange::DeleteDir),
    ]
}

fn dst_change() -> impl Strategy<Value = DstChange> {
    prop_oneof![
        (any::<Index>(), name(), file_spec(), any::<bool>())
            .prop_map(|(i, n, f, d)| DstChange::Extra(i, n, f, d)),
        (any::<Index>(), file_spec()).prop_map(|(i, f)| DstChange::Modify(i, f)),
        (any::<Index>(), mtime()).prop_map(|(i, m)| DstChange::Touch(i, m)),
    ]
}

/// A base tree, changes to the source, changes to the destination, and whether the
/// destination got the base's empty directories.
type Scenario = (Tree, Vec<SrcChange>, Vec<DstChange>, bool);

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        tree(),
        prop::collection::vec(src_change(), 0..10),
        prop::collection::vec(dst_change(), 0..6),
        any::<bool>(),
    )
}

// ---------------------------------------------------------------------------
// Building and changing trees on disk
// ---------------------------------------------------------------------------

fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

fn ft((secs, nanos): (i64, u32)) -> FileTime {
    FileTime::from_unix_time(secs, nanos)
}

fn write_file(path: &Path, spec: &FileSpec) {
    fs::write(path, content(spec.len, spec.seed)).unwrap();
    filetime::set_file_mtime(path, ft(spec.mtime)).unwrap();
}

/// Whether a tree holds a file anywhere below.
fn has_files(tree: &Tree) -> bool {
    tree.values().any(|n| match n {
        Node::File(_) => true,
        Node::Dir(children, _) => has_files(children),
    })
}

/// Writes `tree` under `dir`, directory mtimes included; `empty_dirs: false` leaves
/// out directories with no file below them (as a sync without
/// `--create-empty-src-dirs` would have).
fn build(dir: &Path, tree: &Tree, empty_dirs: bool) {
    fs::create_dir_all(dir).unwrap();
    for (name, node) in tree {
        let path = dir.join(name);
        match node {
            Node::File(spec) => write_file(&path, spec),
            Node::Dir(children, m) => {
                if empty_dirs || has_files(children) {
                    build(&path, children, empty_dirs);
                    filetime::set_file_mtime(&path, ft(*m)).unwrap();
                }
            }
        }
    }
}

/// Everything under a root: files with bytes and mtime, directories with mtime.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot {
    files: BTreeMap<String, (Vec<u8>, FileTime)>,
    dirs: BTreeMap<String, FileTime>,
}

fn scan(root: &Path) -> Snapshot {
    fn go(dir: &Path, rel: &str, snap: &mut Snapshot) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().expect("UTF-8 name");
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            let mtime = FileTime::from_last_modification_time(&meta);
            if meta.is_dir() {
                snap.dirs.insert(rel.clone(), mtime);
                go(&entry.path(), &rel, snap);
            } else {
                snap.files
                    .insert(rel, (fs::read(entry.path()).unwrap(), mtime));
            }
        }
    }
    let mut snap = Snapshot {
        files: BTreeMap::new(),
        dirs: BTreeMap::new(),
    };
    go(root, "", &mut snap);
    snap
}

impl Snapshot {
    fn file_list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// Directories, with "" for the root.
    fn dir_list(&self) -> Vec<String> {
        std::iter::once(String::new())
            .chain(self.dirs.keys().cloned())
            .collect()
    }

    fn exists(&self, rel: &str) -> bool {
        self.files.contains_key(rel) || self.dirs.contains_key(rel)
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn pick<'a>(list: &'a [String], i: &Index) -> Option<&'a String> {
    (!list.is_empty()).then(|| &list[i.index(list.len())])
}

/// Applies source changes; additions get a `+` prefix (not in the alphabet) so they
/// never collide with a name of the base tree or the destination.
fn apply_src(root: &Path, changes: &[SrcChange], other: &Path) {
    for change in changes {
        let snap = scan(root);
        let other = scan(other);
        let (files, dirs) = (snap.file_list(), snap.dir_list());
        match change {
            SrcChange::Modify(i, seed, m) => {
                if let Some(f) = pick(&files, i) {
                    let len = snap.files[f].0.len();
                    write_file(&root.join(f), &spec(len, *seed, *m));
                }
            }
            SrcChange::Resize(i, len, seed, m) => {
                if let Some(f) = pick(&files, i) {
                    write_file(&root.join(f), &spec(*len, *seed, *m));
                }
            }
            SrcChange::Touch(i, m) => {
                if let Some(f) = pick(&files, i) {
                    filetime::set_file_mtime(root.join(f), ft(*m)).unwrap();
                }
            }
            SrcChange::DeleteFile(i) => {
                if let Some(f) = pick(&files, i) {
                    fs::remove_file(root.join(f)).unwrap();
                }
            }
            SrcChange::AddFile(i, name, spec) => {
                let rel = join(pick(&dirs, i).unwrap(), &format!("+{name}"));
                if !snap.exists(&rel) && !other.exists(&rel) {
                    write_file(&root.join(&rel), spec);
                }
            }
            SrcChange::AddDir(i, name, children) => {
                let rel = join(pick(&dirs, i).unwrap(), &format!("+{name}"));
                if !snap.exists(&rel) && !other.exists(&rel) {
                    let tree = children
                        .iter()
                        .map(|(n, s)| (n.clone(), Node::File(s.clone())))
                        .collect();
                    build(&root.join(&rel), &tree, true);
                }
            }
            SrcChange::DeleteDir(i) => {
                if let Some(d) = pick(&dirs[1..], i) {
                    fs::remove_dir_all(root.join(d)).unwrap();
                }
            }
        }
    }
}

/// Applies destination changes; extraneous names get a `~` prefix.
fn apply_dst(root: &Path, changes: &[DstChange], other: &Path) {
    for change in changes {
        let snap = scan(root);
        let other = scan(other);
        let (files, dirs) = (snap.file_list(), snap.dir_list());
        match change {
            DstChange::Extra(i, name, spec, in_new_dir) => {
                let mut dir = pick(&dirs, i).unwrap().clone();
                if *in_new_dir {
                    dir = join(&dir, &format!("~dir {name}"));
                }
                let rel = join(&dir, &format!("~{name}"));
                // `~` names never occur in the source, and `~dir` never as a file.
                if snap.exists(&rel) || other.exists(&rel) {
                    continue;
                }
                fs::create_dir_all(root.join(&dir)).unwrap();
                write_file(&root.join(&rel), spec);
            }
            DstChange::Modify(i, spec) => {
                if let Some(f) = pick(&files, i) {
                    write_file(&root.join(f), spec);
                }
            }
            DstChange::Touch(i, m) => {
                if let Some(f) = pick(&files, i) {
                    filetime::set_file_mtime(root.join(f), ft(*m)).unwrap();
                }
            }
        }
    }
}

fn spec(len: usize, seed: u64, mtime: (i64, u32)) -> FileSpec {
    FileSpec { len, seed, mtime }
}

/// ferry, like rclone, takes two files of the same size and mtime to be the same
/// without reading them; a random change that happens to produce such a pair with
/// different bytes is not something a sync can see, so its destination mtime is moved.
fn separate_indistinguishable(src: &Path, dst: &Path) {
    let (s, d) = (scan(src), scan(dst));
    for (rel, (bytes, mtime)) in &s.files {
        if let Some((dbytes, dmtime)) = d.files.get(rel) {
            if bytes.len() == dbytes.len() && mtime == dmtime && bytes != dbytes {
                let moved = FileTime::from_unix_time(mtime.unix_seconds() + 1, mtime.nanoseconds());
                filetime::set_file_mtime(dst.join(rel), moved).unwrap();
            }
        }
    }
}

/// Builds SRC and DST from `base` (DST as an earlier sync, with or without
/// `--create-empty-src-dirs`, left it) and applies the changes.
fn setup(
    tmp: &Path,
    (base, src_changes, dst_changes, prior_empty_dirs): &Scenario,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (src, dst) = (tmp.join("src"), tmp.join("dst"));
    build(&src, base, true);
    build(&dst, base, *prior_empty_dirs);
    apply_src(&src, src_changes, &dst);
    apply_dst(&dst, dst_changes, &src);
    separate_indistinguishable(&src, &dst);
    (src, dst)
}

fn ferry(args: &[&str], src: &Path, dst: &Path) -> Output {
    let (cmd, flags) = args.split_first().unwrap();
    Command::new(FERRY)
        .arg(cmd)
        .arg(src)
        .arg(dst)
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Differences between the files of two snapshots, one line each (empty: same).
fn file_diffs(want: &Snapshot, got: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, (bytes, mtime)) in &want.files {
        match got.files.get(rel) {
            None => out.push(format!("{rel:?}: missing")),
            Some((b, _)) if b != bytes => out.push(format!(
                "{rel:?}: bytes differ ({} vs {} bytes)",
                b.len(),
                bytes.len()
            )),
            Some((_, m)) if m != mtime => {
                out.push(format!("{rel:?}: mtime {m} instead of {mtime}"))
            }
            Some(_) => {}
        }
    }
    for rel in got.files.keys().filter(|r| !want.files.contains_key(*r)) {
        out.push(format!("{rel:?}: should not exist"));
    }
    out
}

/// `cases` by default; `PROPTEST_CASES` asks for more (or fewer).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // No regression files: this test must not write into the source tree.
        failure_persistence: None,
        max_shrink_iters: 128,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(32))]

    /// After `ferry sync` the destination holds exactly the source's files, with the
    /// same bytes and the same mtimes to the nanosecond (the local backend keeps them).
    /// With `--create-empty-src-dirs` it has the same directories too; without it, at
    /// least no directory the source lacks survives.
    #[test]
    fn sync_makes_destination_identical(
        scenario in scenario(),
        empty_dirs in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = setup(tmp.path(), &scenario);
        let src_before = scan(&src);
        let mut args = vec!["sync", "-vv"];
        if empty_dirs {
            args.push("--create-empty-src-dirs");
        }
        let out = ferry(&args, &src, &dst);
        let log = stderr(&out);
        prop_assert!(out.status.success(), "ferry {args:?} failed: {log}");
        let (s, d) = (scan(&src), scan(&dst));
        prop_assert!(s == src_before, "the source changed");
        let diffs = file_diffs(&s, &d);
        prop_assert!(diffs.is_empty(), "destination differs from source: {diffs:#?}\nlog:\n{log}");
        let src_dirs: BTreeSet<_> = s.dirs.keys().collect();
        let dst_dirs: BTreeSet<_> = d.dirs.keys().collect();
        if empty_dirs {
            prop_assert_eq!(&dst_dirs, &src_dirs, "directories; log:\n{}", log);
        } else {
            let extra: Vec<_> = dst_dirs.difference(&src_dirs).collect();
            prop_assert!(
                extra.is_empty(),
                "directories only the destination has: {extra:?}\nlog:\n{log}"
            );
        }
    }

    /// ferry gives destination directories their source mtimes after a sync (it sets
    /// them once their contents have changed): with `--create-empty-src-dirs`, every
    /// directory's mtime matches the source's to the nanosecond.
    #[test]
    fn sync_gives_directories_their_source_mtimes(scenario in scenario()) {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = setup(tmp.path(), &scenario);
        let out = ferry(&["sync", "-vv", "--create-empty-src-dirs"], &src, &dst);
        let log = stderr(&out);
        prop_assert!(out.status.success(), "ferry sync failed: {log}");
        let (s, d) = (scan(&src), scan(&dst));
        let wrong: Vec<_> = s
            .dirs
            .iter()
            .filter(|(rel, m)| d.dirs.get(*rel) != Some(m))
            .map(|(rel, m)| format!("{rel:?}: {:?} instead of {m}", d.dirs.get(rel)))
            .collect();
        prop_assert!(wrong.is_empty(), "directory mtimes differ: {wrong:#?}\nlog:\n{log}");
    }

    /// `ferry copy` brings every source file over and never deletes or touches a file
    /// only the destination has.
    #[test]
    fn copy_never_deletes(scenario in scenario()) {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = setup(tmp.path(), &scenario);
        let before = scan(&dst);
        let out = ferry(&["copy"], &src, &dst);
        prop_assert!(out.status.success(), "ferry copy failed: {}", stderr(&out));
        let (s, d) = (scan(&src), scan(&dst));
        let mut want = s.clone();
        for (rel, file) in &before.files {
            if !s.files.contains_key(rel) {
                want.files.insert(rel.clone(), file.clone());
            }
        }
        let diffs = file_diffs(&want, &d);
        prop_assert!(diffs.is_empty(), "after copy: {diffs:#?}");
        let gone: Vec<_> = before.dirs.keys().filter(|r| !d.dirs.contains_key(*r)).collect();
        prop_assert!(gone.is_empty(), "copy removed directories: {gone:?}");
    }

    /// `--dry-run` changes nothing on either side: not a byte, not an mtime, not a directory.
    #[test]
    fn dry_run_changes_nothing(
        scenario in scenario(),
        command in prop::sample::select(vec!["sync", "copy"]),
        empty_dirs in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = setup(tmp.path(), &scenario);
        let (src_before, dst_before) = (scan(&src), scan(&dst));
        let mut args = vec![command, "--dry-run"];
        if empty_dirs {
            args.push("--create-empty-src-dirs");
        }
        let out = ferry(&args, &src, &dst);
        prop_assert!(out.status.success(), "ferry {args:?} failed: {}", stderr(&out));
        let (s, d) = (scan(&src), scan(&dst));
        prop_assert!(s == src_before, "the source changed");
        let diffs = file_diffs(&dst_before, &d);
        prop_assert!(diffs.is_empty(), "--dry-run changed files: {diffs:#?}");
        prop_assert_eq!(&d.dirs, &dst_before.dirs, "--dry-run changed directories");
    }

    /// Source files whose mtime alone changed are fixed by setting the destination's
    /// mtime ("Updated modification time in destination"), never by copying them.
    #[test]
    fn touched_files_get_their_mtime_updated_not_copied(
        base in tree(),
        touches in prop::collection::vec((any::<Index>(), mtime()), 1..8),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = setup(tmp.path(), &(base, vec![], vec![], true));
        let files = scan(&src).file_list();
        let mut touched = BTreeSet::new();
        for (i, m) in &touches {
            let Some(rel) = pick(&files, i) else { break };
            let path = src.join(rel);
            let old = FileTime::from_last_modification_time(&fs::metadata(&path).unwrap());
            if ft(*m) != old {
                filetime::set_file_mtime(&path, ft(*m)).unwrap();
                touched.insert(rel.clone());
            }
        }
        let out = ferry(&["sync", "-v"], &src, &dst);
        let log = stderr(&out);
        prop_assert!(out.status.success(), "ferry sync failed: {log}");
        let lines: Vec<&str> = log.lines().collect();
        for rel in &touched {
            let want = format!(" : {rel}: Updated modification time in destination");
            prop_assert!(
                lines.iter().any(|l| l.ends_with(&want)),
                "no {want:?} line for touched {rel:?} in:\n{log}"
            );
        }
        let updated = lines
            .iter()
            .filter(|l| l.ends_with(": Updated modification time in destination"))
            .count();
        prop_assert_eq!(updated, touched.len(), "mtime updates in:\n{}", log);
        prop_assert!(!log.contains(": Copied"), "a touched file was copied:\n{log}");
        let diffs = file_diffs(&scan(&src), &scan(&dst));
        prop_assert!(diffs.is_empty(), "after sync: {diffs:#?}");
    }
}

/// The case `sync_gives_directories_their_source_mtimes` shrinks to, made
/// deterministic: a sync without `--create-empty-src-dirs` gives `D` its source mtime
/// but leaves out the empty `D/empty`; a second sync with the flag creates `D/empty`,
/// which moves `D`'s mtime to now, and `D` must get its source mtime back.
#[test]
fn creating_an_empty_dir_keeps_the_parent_mtime() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    fs::create_dir_all(src.join("D/empty")).unwrap();
    write_file(&src.join("D/f"), &spec(10, 1, (1_600_000_000, 5)));
    let d_mtime = FileTime::from_unix_time(1_500_000_000, 123_456_789);
    filetime::set_file_mtime(src.join("D"), d_mtime).unwrap();
    let out = ferry(&["sync"], &src, &dst);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        scan(&dst).dirs.get("D"),
        Some(&d_mtime),
        "after the first sync"
    );
    let out = ferry(&["sync", "-vv", "--create-empty-src-dirs"], &src, &dst);
    assert!(out.status.success(), "{}", stderr(&out));
    let d = scan(&dst);
    assert!(d.dirs.contains_key("D/empty"), "D/empty was not created");
    assert_eq!(
        d.dirs.get("D"),
        Some(&d_mtime),
        "D's mtime was left at the time D/empty was made; log:\n{}",
        stderr(&out)
    );
}
