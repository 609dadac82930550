//! The local hash cache never answers for a file that changed: content rewritten with its
//! size and modification time put back, a file swapped in by rename, a file still being
//! written. Each case compares with `md5sum` computed from the bytes.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::common::{run_in, Scratch};

fn md5(s: &Scratch, cache: &Path, extra: &[&str]) -> (String, String) {
    let cache = format!("--hash-cache={}", cache.display());
    let mut args = vec!["md5sum", "tree", "-vv", &cache];
    args.extend_from_slice(extra);
    let (code, out, err) = run_in(s.dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    (out, err)
}

fn line(out: &str, name: &str) -> String {
    out.lines()
        .find(|l| l.ends_with(&format!("  {name}")))
        .unwrap_or_else(|| panic!("{name} not listed:\n{out}"))
        .to_owned()
}

fn expected(content: &str, name: &str) -> String {
    use md5::Digest;
    format!(
        "{}  {name}",
        hex::encode(md5::Md5::digest(content.as_bytes()))
    )
}

fn set_mtime(p: &Path, t: SystemTime) {
    filetime::set_file_mtime(p, filetime::FileTime::from_system_time(t)).unwrap();
}

#[test]
fn never_trusts_a_cached_hash_of_a_changed_file() {
    let s = Scratch::new();
    let cache = s.dir.path().join("cache");
    let t = SystemTime::now() - Duration::from_secs(86_400);
    for (name, content) in [("a.txt", "alpha"), ("b.txt", "bravo"), ("c.txt", "charl")] {
        s.write(&format!("tree/{name}"), content, 0);
        set_mtime(&s.path(&format!("tree/{name}")), t);
    }
    // Files changed in the last two seconds are not cached (a same-tick change could follow).
    let (_, err) = md5(&s, &cache, &[]);
    assert!(!err.contains("from the hash cache"), "{err}");
    std::thread::sleep(Duration::from_millis(2100));
    md5(&s, &cache, &[]);
    let (out, err) = md5(&s, &cache, &[]);
    assert!(err.contains("a.txt: md5 from the hash cache"), "{err}");
    assert_eq!(line(&out, "a.txt"), expected("alpha", "a.txt"));

    // Rewritten with the same size, its mtime put back: the change time tells.
    std::fs::write(s.path("tree/a.txt"), "ALPHA").unwrap();
    set_mtime(&s.path("tree/a.txt"), t);
    // Swapped by rename with a file of the same size and mtime: another inode.
    std::fs::rename(s.path("tree/c.txt"), s.path("tree/swap")).unwrap();
    std::fs::rename(s.path("tree/b.txt"), s.path("tree/c.txt")).unwrap();
    std::fs::rename(s.path("tree/swap"), s.path("tree/b.txt")).unwrap();
    let (out, err) = md5(&s, &cache, &[]);
    assert_eq!(line(&out, "a.txt"), expected("ALPHA", "a.txt"), "{err}");
    assert_eq!(line(&out, "b.txt"), expected("charl", "b.txt"), "{err}");
    assert_eq!(line(&out, "c.txt"), expected("bravo", "c.txt"), "{err}");

    // Off: nothing is taken from it.
    let (_, err) = md5(&s, &cache, &["--hash-cache=off"]);
    assert!(!err.contains("from the hash cache"), "{err}");
}

#[test]
fn a_damaged_hash_cache_is_rebuilt_and_gives_right_answers() {
    let s = Scratch::new();
    let cache = s.dir.path().join("cache");
    s.write("tree/a.txt", "alpha", 3600);
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("hashes.redb"), b"garbage, not a hash cache").unwrap();
    let (out, err) = md5(&s, &cache, &[]);
    assert!(
        err.contains("could not be read") && err.contains("starting a new one"),
        "{err}"
    );
    assert_eq!(line(&out, "a.txt"), expected("alpha", "a.txt"));
}

/// `sync --checksum` takes each side's hash from the cache as it lists, and still copies a
/// destination file whose content changed under its old size and modification time.
#[test]
fn a_checksum_sync_takes_listed_hashes_from_the_cache_and_still_sees_changes() {
    let s = Scratch::new();
    let cache = format!("--hash-cache={}", s.dir.path().join("cache").display());
    let t = SystemTime::now() - Duration::from_secs(86_400);
    for (name, content) in [("a.txt", "alpha"), ("b.txt", "bravo")] {
        for side in ["src", "dst"] {
            let p = format!("{side}/{name}");
            s.write(&p, content, 0);
            set_mtime(&s.path(&p), t);
        }
    }
    let sync = || {
        let (code, out, err) = run_in(
            s.dir.path(),
            &["sync", "src", "dst", "--checksum", "-vv", &cache],
        );
        assert_eq!(code, 0, "{out}{err}");
        err
    };
    // Files changed in the last two seconds are not cached.
    std::thread::sleep(Duration::from_millis(2100));
    sync();
    let err = sync();
    // Both sides of both files.
    for name in ["a.txt", "b.txt"] {
        let line = format!("{name}: md5 from the hash cache, as listed");
        assert_eq!(err.matches(&line).count(), 2, "{err}");
    }
    assert!(!err.contains("Copied"), "{err}");

    // The destination's a.txt rewritten, its size and mtime put back: its change time
    // differs, so the listing takes nothing from the cache and the file is copied.
    std::fs::write(s.path("dst/a.txt"), "ALPHA").unwrap();
    set_mtime(&s.path("dst/a.txt"), t);
    let err = sync();
    assert!(err.contains("a.txt: Copied"), "{err}");
    assert_eq!(
        std::fs::read_to_string(s.path("dst/a.txt")).unwrap(),
        "alpha"
    );
}
