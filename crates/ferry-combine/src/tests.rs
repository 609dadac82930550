use super::*;
use ferry_core::kind::{OpenContext, OpenRequest, Options, RemoteOpener};
use tokio::io::AsyncReadExt;

/// Opens local directories only: what a combine of two local upstreams needs.
#[derive(Debug)]
struct LocalOpener;

impl RemoteOpener for LocalOpener {
    fn open_remote(&self, remote: &str) -> Result<Arc<dyn Backend>> {
        Ok(ferry_local::LocalBackend::new(remote, Default::default()))
    }
}

fn open(upstreams: &str, root: &str) -> Result<Arc<dyn Backend>> {
    let options = Options::from_pairs(&KIND, []).with("upstreams", upstreams);
    let context = OpenContext {
        remotes: Some(Arc::new(LocalOpener)),
        ..OpenContext::default()
    };
    (KIND.open)(&OpenRequest {
        options: &options,
        root,
        context: &context,
    })
}

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

async fn put(b: &dyn Backend, path: &str, data: &'static [u8]) {
    let opts = PutOptions {
        size: data.len() as u64,
        mtime: SystemTime::now(),
        inplace: false,
        hashes: Hashes::default(),
        metadata: None,
    };
    b.put(&p(path), Box::pin(data), &opts).await.unwrap();
}

async fn names(b: &dyn Backend, dir: &str) -> Vec<String> {
    let mut n: Vec<String> = b
        .list_dir(&p(dir))
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.path.as_str().to_owned())
        .collect();
    n.sort();
    n
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
    fn upstreams(&self) -> String {
        format!(
            "one={} two={}",
            self.a.path().display(),
            self.b.path().display()
        )
    }
}

#[tokio::test]
async fn the_top_level_lists_the_upstreams_and_paths_below_go_to_theirs() {
    let t = Two::new();
    let c = open(&t.upstreams(), "").unwrap();
    assert_eq!(names(&*c, "").await, ["one", "two"]);
    put(&*c, "one/sub/a.txt", b"alpha").await;
    put(&*c, "two/b.txt", b"beta").await;
    assert_eq!(
        std::fs::read(t.a.path().join("sub/a.txt")).unwrap(),
        b"alpha"
    );
    assert_eq!(std::fs::read(t.b.path().join("b.txt")).unwrap(), b"beta");
    assert_eq!(names(&*c, "one").await, ["one/sub"]);
    assert_eq!(names(&*c, "one/sub").await, ["one/sub/a.txt"]);
    let mut s = String::new();
    c.open(&p("two/b.txt"), 0, None)
        .await
        .unwrap()
        .read_to_string(&mut s)
        .await
        .unwrap();
    assert_eq!(s, "beta");
    assert!(c.stat(&p("one")).await.unwrap().unwrap().is_dir());
    assert!(c.stat(&p("three")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_root_below_an_upstream_is_that_upstream_there() {
    let t = Two::new();
    std::fs::create_dir_all(t.b.path().join("deep")).unwrap();
    std::fs::write(t.b.path().join("deep/x"), "x").unwrap();
    let c = open(&t.upstreams(), "two/deep").unwrap();
    assert_eq!(names(&*c, "").await, ["x"]);
    assert!(
        c.features().semantics.empty_dirs,
        "the local upstream's own rules"
    );
    put(&*c, "y", b"y").await;
    assert!(t.b.path().join("deep/y").exists());
    assert_eq!(c.location(), {
        let mut l = ferry_local::LocalBackend::new(t.b.path(), Default::default()).location();
        l.path.push_str("/deep");
        l
    });
}

#[tokio::test]
async fn the_top_level_holds_no_files() {
    let t = Two::new();
    let c = open(&t.upstreams(), "").unwrap();
    let opts = PutOptions {
        size: 1,
        mtime: SystemTime::now(),
        inplace: false,
        hashes: Hashes::default(),
        metadata: None,
    };
    let err = c
        .put(&p("loose.txt"), Box::pin(&b"x"[..]), &opts)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DirNotFound);
    assert!(err.to_string().contains("one, two"), "{err}");
    let err = c.list_dir(&p("three")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DirNotFound);
}

#[tokio::test]
async fn moves_within_an_upstream_are_its_own_and_across_decline() {
    let t = Two::new();
    let c = open(&t.upstreams(), "").unwrap();
    assert!(c.features().caps.moves);
    put(&*c, "one/a", b"a").await;
    let moved = c
        .move_declared(&*c, &p("one/a"), &p("one/b"))
        .await
        .unwrap();
    assert_eq!(moved.unwrap().path.as_str(), "one/b");
    assert!(t.a.path().join("b").exists() && !t.a.path().join("a").exists());
    // Two local directories can still rename into each other: the upstream decides.
    let across = c
        .move_declared(&*c, &p("one/b"), &p("two/b"))
        .await
        .unwrap();
    assert!(across.is_some());
    assert!(t.b.path().join("b").exists());
}
