use super::*;
use ferry_core::kind::{OpenContext, OpenRequest, Options, RemoteOpener};
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Opens local directories only.
#[derive(Debug)]
struct LocalOpener;

impl RemoteOpener for LocalOpener {
    fn open_remote(&self, remote: &str) -> Result<Arc<dyn Backend>> {
        Ok(ferry_local::LocalBackend::new(remote, Default::default()))
    }
}

fn open_with(upstreams: &str, extra: &[(&str, &str)]) -> Result<Arc<dyn Backend>> {
    let mut options = Options::from_pairs(&KIND, []).with("upstreams", upstreams);
    for (k, v) in extra {
        options = options.with(k, *v);
    }
    let context = OpenContext {
        remotes: Some(Arc::new(LocalOpener)),
        ..OpenContext::default()
    };
    (KIND.open)(&OpenRequest {
        options: &options,
        root: "",
        context: &context,
    })
}

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn opts(size: usize) -> PutOptions {
    PutOptions {
        size: size as u64,
        mtime: SystemTime::now(),
        inplace: false,
        hashes: Hashes::default(),
        metadata: None,
    }
}

async fn put(b: &dyn Backend, path: &str, data: &'static [u8]) -> Result<Entry> {
    b.put(&p(path), Box::pin(data), &opts(data.len())).await
}

async fn read(b: &dyn Backend, path: &str) -> String {
    let mut s = String::new();
    b.open(&p(path), 0, None)
        .await
        .unwrap()
        .read_to_string(&mut s)
        .await
        .unwrap();
    s
}

fn write(root: &Path, rel: &str, data: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

struct Two {
    a: tempfile::TempDir,
    b: tempfile::TempDir,
}

impl Two {
    fn new() -> Two {
        Two {
            a: tempfile::tempdir().unwrap(),
            b: tempfile::tempdir().unwrap(),
        }
    }
    fn with(&self, a_tag: &str, b_tag: &str) -> String {
        format!(
            "{}{a_tag} {}{b_tag}",
            self.a.path().display(),
            self.b.path().display()
        )
    }
}

#[tokio::test]
async fn listings_merge_and_the_first_upstream_wins_a_name_under_ff() {
    let t = Two::new();
    write(t.a.path(), "same.txt", "from a");
    write(t.b.path(), "same.txt", "from b, longer");
    write(t.a.path(), "dir/only_a", "1");
    write(t.b.path(), "dir/only_b", "2");
    let u = open_with(&t.with("", ""), &[]).unwrap();
    let mut top: Vec<_> = u.list_dir(&p("")).await.unwrap().entries;
    top.sort_by(|x, y| x.path.as_str().cmp(y.path.as_str()));
    assert_eq!(top.len(), 2);
    assert_eq!(top[1].size, 6, "ff shows the first upstream's file");
    let mut dir: Vec<_> = u
        .list_dir(&p("dir"))
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.path.as_str().to_owned())
        .collect();
    dir.sort();
    assert_eq!(dir, ["dir/only_a", "dir/only_b"]);
    assert_eq!(read(&*u, "same.txt").await, "from a");
    let u = open_with(&t.with("", ""), &[("search_policy", "newest")]).unwrap();
    filetime_set(t.b.path().join("same.txt"), 4_000_000_000);
    assert_eq!(read(&*u, "same.txt").await, "from b, longer");
}

fn filetime_set(path: std::path::PathBuf, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap();
}

#[tokio::test]
async fn epmfs_creates_where_the_parent_exists() {
    let t = Two::new();
    std::fs::create_dir(t.b.path().join("docs")).unwrap();
    let u = open_with(&t.with("", ""), &[]).unwrap();
    put(&*u, "docs/new.txt", b"x").await.unwrap();
    assert!(t.b.path().join("docs/new.txt").exists());
    assert!(!t.a.path().join("docs").exists());
    // No upstream has the parent: it is made where the policy says, then written.
    put(&*u, "fresh/deep/f", b"y").await.unwrap();
    let in_a = t.a.path().join("fresh/deep/f").exists();
    let in_b = t.b.path().join("fresh/deep/f").exists();
    assert!(in_a ^ in_b, "exactly one upstream gets it");
}

#[tokio::test]
async fn read_only_upstreams_are_never_written() {
    let t = Two::new();
    std::fs::create_dir(t.a.path().join("docs")).unwrap();
    std::fs::create_dir(t.b.path().join("docs")).unwrap();
    let u = open_with(&t.with(":ro", ""), &[]).unwrap();
    put(&*u, "docs/n.txt", b"n").await.unwrap();
    assert!(!t.a.path().join("docs/n.txt").exists());
    assert!(t.b.path().join("docs/n.txt").exists());
    // A file only on the read-only upstream is written anew on a writable one.
    write(t.a.path(), "docs/old.txt", "old");
    put(&*u, "docs/old.txt", b"new").await.unwrap();
    assert_eq!(
        std::fs::read_to_string(t.a.path().join("docs/old.txt")).unwrap(),
        "old"
    );
    assert_eq!(
        std::fs::read_to_string(t.b.path().join("docs/old.txt")).unwrap(),
        "new"
    );
}

#[tokio::test]
async fn a_union_of_read_only_upstreams_refuses_writes_in_one_line() {
    let t = Two::new();
    let u = open_with(&t.with(":ro", ":ro"), &[]).unwrap();
    assert!(u.features().caps.read_only);
    let err = put(&*u, "f", b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(!err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.starts_with("f: can't write") && !msg.contains('\n'),
        "{msg}"
    );
}

#[tokio::test]
async fn an_unknown_policy_is_refused_by_name() {
    let t = Two::new();
    let err = open_with(&t.with("", ""), &[("create_policy", "mru")])
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.to_string();
    assert!(
        msg.contains("create_policy \"mru\"") && msg.contains("epmfs"),
        "{msg}"
    );
}

#[tokio::test]
async fn epall_deletes_every_copy_and_all_creates_on_every_upstream() {
    let t = Two::new();
    let u = open_with(&t.with("", ""), &[("create_policy", "all")]).unwrap();
    put(&*u, "both.txt", b"twice").await.unwrap();
    assert_eq!(
        std::fs::read_to_string(t.a.path().join("both.txt")).unwrap(),
        "twice"
    );
    assert_eq!(
        std::fs::read_to_string(t.b.path().join("both.txt")).unwrap(),
        "twice"
    );
    u.delete_file(&p("both.txt")).await.unwrap();
    assert!(!t.a.path().join("both.txt").exists() && !t.b.path().join("both.txt").exists());
}

#[tokio::test]
async fn lfs_refuses_when_no_upstream_has_min_free_space() {
    let t = Two::new();
    let u = open_with(
        &t.with("", ""),
        &[("create_policy", "lfs"), ("min_free_space", "4Ei")],
    )
    .unwrap();
    let err = put(&*u, "f", b"x").await.unwrap_err();
    assert!(err.to_string().contains("min_free_space"), "{err}");
}

#[tokio::test]
async fn a_writeback_upstream_gets_a_copy_of_what_is_read() {
    let t = Two::new();
    write(t.b.path(), "cold.txt", "cold");
    let u = open_with(&t.with(":writeback", ""), &[]).unwrap();
    assert_eq!(read(&*u, "cold.txt").await, "cold");
    assert_eq!(
        std::fs::read_to_string(t.a.path().join("cold.txt")).unwrap(),
        "cold"
    );
}

#[tokio::test]
async fn a_large_file_feeds_every_upstream_and_a_failing_one_holds_none_back() {
    let t = Two::new();
    let data: &'static [u8] = Box::leak(
        (0..3 * 1024 * 1024u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into_boxed_slice(),
    );
    let u = open_with(&t.with("", ""), &[("create_policy", "all")]).unwrap();
    put(&*u, "big.bin", data).await.unwrap();
    assert_eq!(std::fs::read(t.a.path().join("big.bin")).unwrap(), data);
    assert_eq!(std::fs::read(t.b.path().join("big.bin")).unwrap(), data);
    // The second upstream's directory is a file: its upload fails at once; the first
    // still gets every byte and the error names the failing upstream.
    let c = tempfile::tempdir().unwrap();
    let blocked = c.path().join("blocked");
    std::fs::write(&blocked, "not a directory").unwrap();
    let ups = format!("{} {}", c.path().join("ok").display(), blocked.display());
    let u = open_with(&ups, &[("create_policy", "all")]).unwrap();
    let err = put(&*u, "big.bin", data).await.unwrap_err();
    assert!(err.to_string().contains("blocked"), "{err}");
    assert_eq!(std::fs::read(c.path().join("ok/big.bin")).unwrap(), data);
}
