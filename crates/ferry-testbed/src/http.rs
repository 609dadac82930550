//! The HTTP server (nginx with `autoindex on`, serving a directory on this machine): tests
//! write files into the served directory directly, then read them through ferry.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{answers, file_var, http_host_port, unavailable, unique_name, var};

/// The HTTP server's facts, from `FERRY_TEST_HTTP_*`.
#[derive(Clone, Debug)]
pub struct HttpConf {
    /// `http://127.0.0.1:18080/`: the served root.
    pub url: String,
    /// The directory the server serves.
    pub root: PathBuf,
    /// `Name,value`: the header `/header-only/` needs.
    pub header: String,
    /// The login `/auth/` needs.
    pub user: String,
    pub pass: String,
    pub rclone: PathBuf,
    /// `https://127.0.0.1:18443/`: the same root over TLS, with a certificate from `ca`.
    pub https_url: String,
    /// The test CA (PEM) that signed the server's certificate and `client_cert`.
    pub ca: PathBuf,
    /// A client certificate and key (PEM) that `/client-cert/` over TLS accepts.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// One test's directory on the server, removed on drop. Derefs to [`HttpConf`].
#[derive(Debug)]
pub struct Http {
    conf: HttpConf,
    /// This test's directory's path under the served root (`ferry-t-...`, or below one of
    /// the server's special locations: `header-only/ferry-t-...`).
    pub name: String,
}

impl std::ops::Deref for Http {
    type Target = HttpConf;
    fn deref(&self) -> &HttpConf {
        &self.conf
    }
}

impl HttpConf {
    /// rclone with an empty config (see [`super::rclone`]).
    pub fn rclone(&self) -> Command {
        super::rclone(&self.rclone)
    }
}

impl Http {
    /// The served directory of this test (exists and is empty at first).
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.name)
    }

    /// Where `rel` (below this test's directory) is on disk.
    pub fn path(&self, rel: &str) -> PathBuf {
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() {
            self.dir()
        } else {
            self.dir().join(rel)
        }
    }

    /// Writes `data` at `rel` (parents made), for the server to serve.
    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("create served dir");
        std::fs::write(&p, data).expect("write served file");
        p
    }

    /// This test's directory as a URL, ending in `/`.
    pub fn url(&self) -> String {
        format!("{}{}/", self.conf.url, self.name)
    }

    /// This test's directory over TLS, ending in `/`.
    pub fn https_url(&self) -> String {
        format!("{}{}/", self.conf.https_url, self.name)
    }

    /// The server's access log (combined format: each request's User-Agent last).
    pub fn access_log(&self) -> String {
        let log = self
            .root
            .parent()
            .expect("the root's parent")
            .join("access.log");
        std::fs::read_to_string(log).unwrap_or_default()
    }

    /// `:http,url='http://127.0.0.1:18080/ferry-t-.../':` (paths below it follow).
    pub fn rclone_remote(&self) -> String {
        format!(":http,url='{}':", self.url())
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.dir());
    }
}

static HTTP_CONF: OnceLock<Result<HttpConf, String>> = OnceLock::new();

/// A fresh, empty directory under `location` (`""`: the root; `header-only`: needs the
/// header of [`HttpConf::header`]; `auth`: needs the login; `json-index`: directory
/// pages in JSON) of the HTTP server's root, removed on drop.
#[track_caller]
pub(super) fn open(location: &str) -> Option<Http> {
    let conf = super::available("HTTP test server", &HTTP_CONF, http_conf)?;
    let name = match location.trim_matches('/') {
        "" => unique_name(),
        loc => format!("{loc}/{}", unique_name()),
    };
    if let Err(e) = std::fs::create_dir(conf.root.join(&name)) {
        return unavailable("HTTP test server", &format!("can't create {name}: {e}"));
    }
    Some(Http { conf, name })
}

fn http_conf() -> Result<HttpConf, String> {
    let url = var("FERRY_TEST_HTTP_URL")?;
    let (host, port) = http_host_port(&url)?;
    answers(&host, port)?;
    let root = file_var("FERRY_TEST_HTTP_ROOT")?;
    Ok(HttpConf {
        url: if url.ends_with('/') { url } else { url + "/" },
        root: Path::new(&root).to_path_buf(),
        header: var("FERRY_TEST_HTTP_HEADER")?,
        user: var("FERRY_TEST_HTTP_USER")?,
        pass: var("FERRY_TEST_HTTP_PASS")?,
        rclone: file_var("FERRY_TEST_RCLONE")?,
        https_url: var("FERRY_TEST_HTTPS_URL")?,
        ca: file_var("FERRY_TEST_HTTP_CA")?,
        client_cert: file_var("FERRY_TEST_HTTP_CLIENT_CERT")?,
        client_key: file_var("FERRY_TEST_HTTP_CLIENT_KEY")?,
    })
}
