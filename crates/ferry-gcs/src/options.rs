//! rclone's `google cloud storage` options, and the endpoint and credentials they add up to.

use ferry_core::encoding::Encoding;
use ferry_core::kind::Options;
use ferry_core::{Error, ErrorKind, Result, Secret};

use crate::auth::{Credentials, KeyFile};

/// Google's JSON API host.
const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
/// Resumable uploads send chunks of a multiple of this (GCS's rule).
pub const CHUNK_UNIT: u64 = 256 * 1024;

/// Everything the backend takes from the remote's configuration.
#[derive(Clone, Debug)]
pub struct GcsOptions {
    /// `--contimeout`/`--timeout` (the run's).
    pub timeouts: ferry_core::net::Timeouts,
    /// `--user-agent`, `--header*` and the TLS flags.
    pub http: ferry_core::net::HttpSettings,
    /// `--header-upload`, as metadata laid over each upload's.
    pub upload_meta: Option<ferry_core::Metadata>,
    /// `--dump` (the run's).
    pub dump: ferry_core::dump::Dump,
    /// `scheme://host[:port]` without a trailing slash: the JSON API is below
    /// `/storage/v1`, uploads below `/upload/storage/v1`.
    pub endpoint: String,
    pub credentials: Credentials,
    pub project_number: Option<String>,
    pub user_project: Option<String>,
    /// Predefined ACL of new objects (`None` with `bucket_policy_only`).
    pub object_acl: Option<String>,
    /// Predefined ACL of new buckets (`None` with `bucket_policy_only`).
    pub bucket_acl: Option<String>,
    pub bucket_policy_only: bool,
    pub location: Option<String>,
    pub storage_class: Option<String>,
    pub no_check_bucket: bool,
    /// rclone's `directory_markers`: `dir/` objects keep empty directories.
    pub directory_markers: bool,
    /// rclone's `decompress`: objects stored with `Content-Encoding: gzip` are
    /// decompressed as they are read, and so list with an unknown size and no MD5.
    pub decompress: bool,
    /// Files bigger than this go as resumable uploads, in chunks of this size.
    pub chunk_size: u64,
    /// Journal resumable uploads so an interrupted one is continued (`--resume`).
    pub resume: bool,
    /// How names are stored (rclone's `encoding`).
    pub encoding: Encoding,
}

fn refused(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Refused, format!("gcs: {}", msg.into()))
}

impl GcsOptions {
    /// Reads the options of a `gcs` remote (typed, with the defaults of its spec) and the
    /// environment (read only with `env_auth`, or when nothing else names credentials).
    pub fn from_options(o: &Options, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let s = |k: &str| o.string(k).filter(|v| !v.is_empty());
        let chunk_size = o.size("chunk_size")?.unwrap_or(16 << 20);
        if chunk_size == 0 || chunk_size % CHUNK_UNIT != 0 {
            return Err(o.invalid(
                "chunk_size",
                "use a multiple of 256 KiB (256Ki, 8Mi, 16Mi, ...)",
            ));
        }
        let bucket_policy_only = o.bool("bucket_policy_only")?;
        // rclone's defaults: `private` unless given; none at all with uniform access.
        let acl = |k: &str| (!bucket_policy_only).then(|| s(k).unwrap_or_else(|| "private".into()));
        Ok(GcsOptions {
            timeouts: ferry_core::net::Timeouts::DEFAULT,
            http: Default::default(),
            upload_meta: None,
            dump: ferry_core::dump::Dump::default(),
            endpoint: endpoint(s("endpoint").or(emulator(o, &env)?).as_deref()),
            credentials: credentials(o, &env)?,
            project_number: s("project_number"),
            user_project: s("user_project"),
            object_acl: acl("object_acl"),
            bucket_acl: acl("bucket_acl"),
            bucket_policy_only,
            location: s("location"),
            storage_class: s("storage_class"),
            no_check_bucket: o.bool("no_check_bucket")?,
            directory_markers: o.bool("directory_markers")?,
            decompress: o.bool("decompress")?,
            chunk_size,
            resume: o.bool("resume")?,
            encoding: o.encoding()?,
        })
    }

    /// For tests: a remote from plain pairs, no environment.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self> {
        Self::from_options(
            &Options::from_pairs(&crate::KIND, pairs.iter().copied()),
            |_| None,
        )
    }
}

/// `storage.example.org:4443`, `http://127.0.0.1:9023/storage/v1/` or empty, as
/// `scheme://host[:port]`: rclone's endpoint may name the API path or not, and without a
/// scheme it is HTTPS.
fn endpoint(v: Option<&str>) -> String {
    let Some(v) = v else {
        return DEFAULT_ENDPOINT.to_owned();
    };
    let with_scheme = if v.contains("://") {
        v.to_owned()
    } else {
        format!("https://{v}")
    };
    let trimmed = with_scheme.trim_end_matches('/');
    trimmed
        .strip_suffix("/storage/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_owned()
}

/// With `env_auth`, `STORAGE_EMULATOR_HOST` (as Google's client libraries read it): the
/// emulator to talk to, over plain HTTP unless it names a scheme.
fn emulator(o: &Options, env: &impl Fn(&str) -> Option<String>) -> Result<Option<String>> {
    if !o.bool("env_auth")? {
        return Ok(None);
    }
    Ok(env("STORAGE_EMULATOR_HOST")
        .filter(|h| !h.trim().is_empty())
        .map(|h| match h.contains("://") {
            true => h,
            false => format!("http://{h}"),
        }))
}

/// rclone's order: anonymous, a service account (credentials, then file), the runtime's
/// credentials with `env_auth`, a static access token; with none of them and no OAuth
/// token either, the runtime's credentials when there are some.
fn credentials(o: &Options, env: &impl Fn(&str) -> Option<String>) -> Result<Credentials> {
    let s = |k: &str| o.string(k).filter(|v| !v.is_empty());
    if o.bool("anonymous")? {
        return Ok(Credentials::Anonymous);
    }
    if let Some(json) = s("service_account_credentials") {
        return KeyFile::parse(&json, "service_account_credentials").map(Credentials::Key);
    }
    if let Some(file) = s("service_account_file") {
        let path = expand_home(&file, env);
        let json = std::fs::read_to_string(&path).map_err(|e| {
            refused(format!(
                "can't read service_account_file {path}: {e}; check the path (the file holds the key, so it is not shown)"
            ))
        })?;
        return KeyFile::parse(&json, &path).map(Credentials::Key);
    }
    if o.bool("env_auth")? {
        if emulator(o, env)?.is_some() {
            // Google's client libraries send no credentials to an emulator either.
            return Ok(Credentials::Anonymous);
        }
        return runtime_credentials(env)?.ok_or_else(|| {
            refused(
                "env_auth is set but GOOGLE_APPLICATION_CREDENTIALS is not, and gcloud's application default credentials file is missing: set GOOGLE_APPLICATION_CREDENTIALS to a key file (ferry does not ask the metadata server)",
            )
        });
    }
    if let Some(token) = s("access_token") {
        return Ok(Credentials::Token(Secret::new(token)));
    }
    if s("token").is_none() {
        if let Some(c) = runtime_credentials(env)? {
            return Ok(c);
        }
    }
    Err(refused(
        "this remote needs Google's interactive OAuth login (client_id/token), which ferry does not do yet: set service_account_file, env_auth (GOOGLE_APPLICATION_CREDENTIALS), access_token or anonymous",
    ))
}

/// GOOGLE_APPLICATION_CREDENTIALS, else gcloud's well-known file, if either exists.
fn runtime_credentials(env: &impl Fn(&str) -> Option<String>) -> Result<Option<Credentials>> {
    let path = match env("GOOGLE_APPLICATION_CREDENTIALS").filter(|v| !v.is_empty()) {
        Some(p) => p,
        None => {
            let Some(home) = env("HOME").filter(|h| !h.is_empty()) else {
                return Ok(None);
            };
            let p = format!("{home}/.config/gcloud/application_default_credentials.json");
            if !std::path::Path::new(&p).exists() {
                return Ok(None);
            }
            p
        }
    };
    let json = std::fs::read_to_string(&path).map_err(|e| {
        refused(format!(
            "can't read the credentials file {path} (GOOGLE_APPLICATION_CREDENTIALS): {e}"
        ))
    })?;
    KeyFile::parse(&json, &path).map(|k| Some(Credentials::Key(k)))
}

fn expand_home(path: &str, env: &impl Fn(&str) -> Option<String>) -> String {
    match (path.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => format!("{home}/{rest}"),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_take_rclone_forms() {
        assert_eq!(endpoint(None), DEFAULT_ENDPOINT);
        assert_eq!(
            endpoint(Some("storage.example.org:4443")),
            "https://storage.example.org:4443"
        );
        assert_eq!(
            endpoint(Some("http://127.0.0.1:9023/storage/v1/")),
            "http://127.0.0.1:9023"
        );
        assert_eq!(
            endpoint(Some("http://127.0.0.1:9023")),
            "http://127.0.0.1:9023"
        );
    }

    #[test]
    fn env_auth_talks_to_an_emulator_anonymously() {
        let o = Options::from_pairs(&crate::KIND, [("env_auth", "true")]);
        let env = |k: &str| (k == "STORAGE_EMULATOR_HOST").then(|| "127.0.0.1:9023".to_owned());
        let g = GcsOptions::from_options(&o, env).unwrap();
        assert_eq!(g.endpoint, "http://127.0.0.1:9023");
        assert!(matches!(g.credentials, Credentials::Anonymous));
        // Without env_auth the variable is not read.
        let o = Options::from_pairs(&crate::KIND, [("anonymous", "true")]);
        let g = GcsOptions::from_options(&o, env).unwrap();
        assert_eq!(g.endpoint, DEFAULT_ENDPOINT);
    }

    #[test]
    fn acls_default_to_private_unless_uniform() {
        let o = GcsOptions::from_pairs(&[("anonymous", "true")]).unwrap();
        assert_eq!(o.object_acl.as_deref(), Some("private"));
        let o = GcsOptions::from_pairs(&[
            ("anonymous", "true"),
            ("bucket_policy_only", "true"),
            ("object_acl", "publicRead"),
        ])
        .unwrap();
        assert_eq!(o.object_acl, None);
        assert_eq!(o.bucket_acl, None);
        assert!(GcsOptions::from_pairs(&[("anonymous", "true"), ("chunk_size", "100k")]).is_err());
    }

    #[test]
    fn an_oauth_only_remote_is_refused_in_one_line() {
        for pairs in [
            &[("token", "{\"access_token\":\"x\"}")][..],
            &[("client_id", "id")][..],
            &[][..],
        ] {
            let e = GcsOptions::from_pairs(pairs).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Refused);
            assert!(e.message().contains("interactive OAuth login"), "{e}");
            assert!(
                !e.message().contains('\n') && !e.message().contains("access_token\":"),
                "{e}"
            );
        }
        let o = GcsOptions::from_pairs(&[("access_token", "tok")]).unwrap();
        assert!(matches!(o.credentials, Credentials::Token(_)));
        assert!(!format!("{o:?}").contains("tok\""));
    }
}
