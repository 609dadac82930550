//! azcopy's path arguments: local paths and Blob URLs (a SAS in the query), with
//! azcopy's conventions: a trailing `/*` means "the contents", a folder source lands in
//! a subdirectory of its own name (`--as-subdir`), and a file copied to a URL that names
//! a blob becomes that blob. Amazon S3 URLs (`https://BUCKET.s3.REGION.amazonaws.com/KEY`
//! and the path-style forms) open ferry's S3 backend with the environment's credentials.

/// One side of a transfer as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzPath {
    /// Without the query: `/tmp/x` or `https://acct.blob.core.windows.net/c/dir`.
    pub base: String,
    /// The query with its `?` (a SAS), or empty.
    pub query: String,
    /// The argument ended in `/*`: the contents, not the folder itself.
    pub contents: bool,
}

pub fn is_url(arg: &str) -> bool {
    let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

impl AzPath {
    pub fn parse(arg: &str) -> AzPath {
        let (base, query) = match (is_url(arg), arg.find('?')) {
            (true, Some(i)) => (&arg[..i], &arg[i..]),
            _ => (arg, ""),
        };
        let (base, contents) = match base.strip_suffix("/*") {
            Some(b) => (b, true),
            None => (base, false),
        };
        AzPath {
            base: base.to_owned(),
            query: query.to_owned(),
            contents,
        }
    }

    pub fn is_url(&self) -> bool {
        is_url(&self.base)
    }

    /// A URL over plain HTTP (azcopy warns of it).
    pub fn is_plain_http(&self) -> bool {
        self.base
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    }

    /// The argument ferry's path parser takes.
    pub fn arg(&self) -> String {
        if let Some(s3) = S3Url::parse(&self.base) {
            return s3.remote();
        }
        if let Some((bucket, key)) = gcs_url(&self.base) {
            return format!(":gcs,env_auth=true:{bucket}/{}", key.trim_end_matches('/'));
        }
        format!("{}{}", self.base, self.query)
    }

    /// The last path segment: the folder's (or container's) name; for a local path, of
    /// the folder it resolves to (`.` copies the current directory under its own name).
    pub fn name(&self) -> Option<String> {
        if !self.is_url() {
            return local_name(&self.base);
        }
        self.base
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
    }

    /// This path with `name` appended as one more segment.
    pub fn join(&self, name: &str) -> AzPath {
        let sep = if self.base.ends_with('/') { "" } else { "/" };
        AzPath {
            base: format!("{}{sep}{name}", self.base),
            query: self.query.clone(),
            contents: false,
        }
    }

    /// Whether a single file copied here should keep its own name inside this place (a
    /// local directory, a URL ending in `/`, a container) rather than take this name.
    pub fn holds_files(&self) -> bool {
        if !self.is_url() {
            return self.base.ends_with('/') || std::path::Path::new(&self.base).is_dir();
        }
        if let Some(s3) = S3Url::parse(&self.base) {
            return self.base.ends_with('/') || s3.key.is_empty();
        }
        if let Some((_, key)) = gcs_url(&self.base) {
            return self.base.ends_with('/') || key.is_empty();
        }
        self.base.ends_with('/') || blob_part(&self.base).is_empty()
    }
}

/// A Google Cloud Storage URL as azcopy takes it (`https://storage.cloud.google.com/BUCKET/KEY`,
/// or the API host `storage.googleapis.com`): bucket and key, opened by ferry's GCS backend
/// with the environment's credentials (`GOOGLE_APPLICATION_CREDENTIALS`, as azcopy reads).
fn gcs_url(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://")?.1;
    let (host, path) = rest.split_once('/')?;
    let host = host.to_ascii_lowercase();
    if host != "storage.cloud.google.com" && host != "storage.googleapis.com" {
        return None;
    }
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        return None;
    }
    let key = ferry_core::kind::percent_decode(key).unwrap_or_else(|_| key.to_owned());
    Some((bucket.to_owned(), key))
}

/// An Amazon S3 URL as azcopy takes it: virtual-hosted (`BUCKET.s3.amazonaws.com`,
/// `BUCKET.s3.REGION…`, `BUCKET.s3-REGION…`) or path-style (`s3.REGION.amazonaws.com/BUCKET`).
#[derive(Debug, PartialEq, Eq)]
struct S3Url {
    bucket: String,
    key: String,
    region: Option<String>,
}

impl S3Url {
    fn parse(url: &str) -> Option<S3Url> {
        let rest = url.split_once("://")?.1;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.to_ascii_lowercase();
        let labels: Vec<&str> = host.strip_suffix(".amazonaws.com")?.split('.').collect();
        let at = labels
            .iter()
            .position(|l| *l == "s3" || l.starts_with("s3-"))?;
        let region = match labels[at].strip_prefix("s3-") {
            Some(r) => Some(r),
            None => labels.get(at + 1).copied(),
        }
        .filter(|r| !r.is_empty() && *r != "dualstack")
        .map(str::to_owned);
        let hosted = labels[..at].join(".");
        let (bucket, key) = if hosted.is_empty() {
            path.split_once('/').unwrap_or((path, ""))
        } else {
            (hosted.as_str(), path)
        };
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.to_owned(),
            key: ferry_core::kind::percent_decode(key).unwrap_or_else(|_| key.to_owned()),
            region,
        })
    }

    /// ferry's remote for it: the environment's credentials (azcopy reads
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` too) and the URL's region.
    fn remote(&self) -> String {
        let region = self
            .region
            .as_ref()
            .map(|r| format!(",region={r}"))
            .unwrap_or_default();
        format!(
            ":s3,provider=AWS,env_auth=true{region}:{}/{}",
            self.bucket,
            self.key.trim_end_matches('/')
        )
    }
}

/// The name of the folder a local path resolves to, without following links.
fn local_name(path: &str) -> Option<String> {
    use std::path::Component;
    let abs = std::path::absolute(path).ok()?;
    let mut parts: Vec<String> = Vec::new();
    for c in abs.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.pop()
}

/// The blob path of a Blob URL (after the container); the account is the first
/// segment for a loopback or IP endpoint (`http://127.0.0.1:10000/account/c/blob`).
fn blob_part(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let account_in_path = host.starts_with("127.")
        || host.starts_with("localhost")
        || host.starts_with('[')
        || host.split(':').next().is_some_and(|h| {
            h.split('.').count() == 4 && h.split('.').all(|p| p.parse::<u8>().is_ok())
        });
    let skip = if account_in_path { 2 } else { 1 };
    path.splitn(skip + 1, '/').nth(skip).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_sas_and_lose_the_wildcard() {
        let p = AzPath::parse("https://a.blob.core.windows.net/c/dir/*?sv=1&sig=x");
        assert!(p.contents && p.is_url());
        assert_eq!(p.arg(), "https://a.blob.core.windows.net/c/dir?sv=1&sig=x");
        assert_eq!(p.name().as_deref(), Some("dir"));
        assert_eq!(
            p.join("f.txt").arg(),
            "https://a.blob.core.windows.net/c/dir/f.txt?sv=1&sig=x"
        );
    }

    #[test]
    fn s3_urls_open_the_s3_backend() {
        let arg = |s: &str| AzPath::parse(s).arg();
        assert_eq!(
            arg("https://bkt.s3.amazonaws.com/dir/a%20b.txt"),
            ":s3,provider=AWS,env_auth=true:bkt/dir/a b.txt"
        );
        assert_eq!(
            arg("https://bkt.s3.eu-west-1.amazonaws.com/dir/*"),
            ":s3,provider=AWS,env_auth=true,region=eu-west-1:bkt/dir"
        );
        assert_eq!(
            arg("https://s3-us-west-2.amazonaws.com/bkt/k"),
            ":s3,provider=AWS,env_auth=true,region=us-west-2:bkt/k"
        );
        assert_eq!(
            arg("https://s3.amazonaws.com/bkt"),
            ":s3,provider=AWS,env_auth=true:bkt/"
        );
        assert_eq!(
            arg("https://storage.cloud.google.com/bkt/d/a%20b"),
            ":gcs,env_auth=true:bkt/d/a b"
        );
        assert!(AzPath::parse("https://storage.googleapis.com/bkt").holds_files());
        assert!(AzPath::parse("https://bkt.s3.amazonaws.com/").holds_files());
        assert!(!AzPath::parse("https://bkt.s3.amazonaws.com/k").holds_files());
        assert_eq!(
            arg("https://a.blob.core.windows.net/c"),
            "https://a.blob.core.windows.net/c"
        );
    }

    #[test]
    fn which_urls_hold_files() {
        let h = |s: &str| AzPath::parse(s).holds_files();
        assert!(h("https://a.blob.core.windows.net/c"));
        assert!(h("https://a.blob.core.windows.net/c/dir/?sig=1"));
        assert!(!h("https://a.blob.core.windows.net/c/path/to/blob?sig=1"));
        assert!(h("http://127.0.0.1:10000/devstoreaccount1/c?sig=1"));
        assert!(!h("http://127.0.0.1:10000/devstoreaccount1/c/blob"));
    }

    #[test]
    fn local_names() {
        let name = |p: &str| AzPath::parse(p).name();
        assert_eq!(name("/tmp/src/").as_deref(), Some("src"));
        assert_eq!(name("/tmp/src/*").as_deref(), Some("src"));
        assert_eq!(name("/tmp/src/sub/..").as_deref(), Some("src"));
        let cwd = std::env::current_dir().unwrap();
        let here = cwd.file_name().map(|n| n.to_string_lossy().into_owned());
        assert_eq!(name("."), here);
        assert_eq!(name("/"), None);
    }
}
