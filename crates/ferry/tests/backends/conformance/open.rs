//! A fresh, empty root of one backend type on its testbed server.

use std::any::Any;
use std::sync::Arc;

use ferry_config::{ConfigFile, Env, Registry};
use ferry_core::kind::{OpenContext, OpenRequest, RemoteOpener};
use ferry_core::Backend;
use ferry_testbed::Testbed;

/// A backend rooted in a fresh place, and what removes that place when dropped.
pub struct Fixture {
    pub backend: Arc<dyn Backend>,
    /// What the cases write test files through: the backend itself, or, for one that
    /// declares `read_only`, the local directory its server serves.
    pub writer: Arc<dyn Backend>,
    _place: Box<dyn Any>,
}

impl std::ops::Deref for Fixture {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

/// `None` when the server is not running outside CI (the testbed says so loudly).
#[track_caller]
pub fn fixture(kind: &str) -> Option<Fixture> {
    let (remote, place): (String, Box<dyn Any>) = match kind {
        "local" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let root = dir.path().join("root");
            let backend: Arc<dyn Backend> =
                ferry_local::LocalBackend::new(root, Default::default());
            return Some(Fixture {
                writer: backend.clone(),
                backend,
                _place: Box::new(dir),
            });
        }
        "http" => {
            let h = Testbed::http()?;
            let writer = ferry_local::LocalBackend::new(h.path("root"), Default::default());
            return Some(Fixture {
                backend: open(&format!("{}root", h.rclone_remote())),
                writer,
                _place: Box::new(h),
            });
        }
        "sftp" => {
            let s = Testbed::sftp()?;
            (s.rclone_path("root"), Box::new(s))
        }
        "s3" => {
            let s = Testbed::s3()?;
            (s.rclone_path("root"), Box::new(s))
        }
        "azureblob" => {
            let a = Testbed::azure()?;
            (a.rclone_path("root"), Box::new(a))
        }
        "ftp" => {
            let f = Testbed::ftp()?;
            // pure-ftpd refuses `\` in names and can't take `[]`: rclone's documented
            // encoding for it, as a remote for that server would set.
            let mut o = f.options();
            o.push((
                "encoding",
                "BackSlash,Ctl,Del,Dot,RightSpace,Slash,SquareBracket".into(),
            ));
            (
                format!("{}{}", ferry_testbed::remote_of(&o), f.path("root")),
                Box::new(f),
            )
        }
        "webdav" => {
            let w = Testbed::webdav()?;
            (w.rclone_path("root"), Box::new(w))
        }
        // Overlays over a local directory, opened through the run's remote opener as the
        // binary opens them: crypt with both passwords, alias of a subdirectory.
        "crypt" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let obscured = |p: &str| ferry_core::obscure::obscure(p).expect("obscure");
            let remote = format!(
                ":crypt,remote='{}',password={},password2={}:",
                dir.path().join("under").display(),
                obscured("conformance"),
                obscured("salt"),
            );
            (remote, Box::new(dir))
        }
        "alias" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let remote = format!(":alias,remote='{}':root", dir.path().display());
            (remote, Box::new(dir))
        }
        // combine over a local directory and an S3 bucket, rooted below the bucket's
        // upstream (the top level holds only the upstream directories).
        "combine" => {
            let s = Testbed::s3()?;
            let dir = tempfile::tempdir().expect("temp dir");
            let upstreams = format!("disk={} store={}", dir.path().display(), s.rclone_path(""));
            let remote = format!(
                ":combine,upstreams='{}':store/root",
                upstreams.replace('\'', "''")
            );
            (remote, Box::new((s, dir)))
        }
        // union over two local directories, with rclone's default policies.
        "union" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let (a, b) = (dir.path().join("a"), dir.path().join("b"));
            let remote = format!(":union,upstreams='{} {}':root", a.display(), b.display());
            (remote, Box::new(dir))
        }
        "smb" => {
            let s = Testbed::smb()?;
            (s.rclone_path("root"), Box::new(s))
        }
        "gcs" => {
            let g = Testbed::gcs()?;
            (g.rclone_path("root"), Box::new(g))
        }
        other => panic!("no conformance fixture for backend type {other}"),
    };
    let backend = open(&remote);
    Some(Fixture {
        writer: backend.clone(),
        backend,
        _place: place,
    })
}

/// Opens an on-the-fly remote (`:type,key=value:path`) as the binary does: resolved
/// against the registered kinds, opened by the kind's own constructor with its defaults;
/// an overlay opens what it wraps the same way.
fn open(remote: &str) -> Arc<dyn Backend> {
    Opener
        .open_remote(remote)
        .unwrap_or_else(|e| panic!("opening the test remote: {e}"))
}

/// The binary's remote opener, for tests: on-the-fly remotes only (no config file).
#[derive(Debug)]
struct Opener;

impl RemoteOpener for Opener {
    fn open_remote(&self, remote: &str) -> ferry_core::Result<Arc<dyn Backend>> {
        let registry = Registry::of([
            &ferry_local::KIND,
            &ferry_sftp::KIND,
            &ferry_s3::KIND,
            &ferry_azblob::KIND,
            &ferry_ftp::KIND,
            &ferry_webdav::KIND,
            &ferry_http::KIND,
            &ferry_alias::KIND,
            &ferry_crypt::KIND,
            &ferry_smb::KIND,
            &ferry_combine::KIND,
            &ferry_union::KIND,
            &ferry_gcs::KIND,
        ]);
        let cfg = ConfigFile::new("/nonexistent/ferry-conformance.conf");
        let r = ferry_config::resolve_arg(remote, &cfg, &Env::empty(), &registry)
            .unwrap_or_else(|e| panic!("resolving the test remote: {e}"));
        let kind = registry.get(&r.kind).expect("a registered backend type");
        let options = r.typed(kind);
        let context = OpenContext {
            remotes: Some(Arc::new(Opener)),
            ..OpenContext::default()
        };
        let request = OpenRequest {
            options: &options,
            root: &r.path,
            context: &context,
        };
        (kind.open)(&request)
    }
}
