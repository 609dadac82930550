//! rclone's `azureblob` options, and the endpoint and credentials they add up to.

use base64::Engine;
use ferry_core::encoding::Encoding;
use ferry_core::kind::Options;
use ferry_core::{Error, ErrorKind, Result};

/// Azurite's well-known development account (published by Microsoft; not a secret).
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";
pub const EMULATOR_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const EMULATOR_ENDPOINT: &str = "http://127.0.0.1:10000";

/// Azure's limits on block blobs.
pub const MAX_BLOCKS: u64 = 50_000;
pub const MAX_BLOCK: u64 = 4000 * 1024 * 1024;
/// The largest blob one Put Blob may write.
pub const MAX_PUT_BLOB: u64 = 5000 * 1024 * 1024;

/// How requests are authorised.
#[derive(Clone)]
pub enum Auth {
    SharedKey {
        account: String,
        key: String,
    },
    /// A SAS token (the query string of a SAS URL), appended to every request.
    Sas(String),
    /// Public containers only.
    Anonymous,
}

impl std::fmt::Debug for Auth {
    // Never prints a key or a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::SharedKey { account, .. } => write!(f, "SharedKey({account})"),
            Auth::Sas(_) => f.write_str("Sas"),
            Auth::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// Everything the backend takes from the remote's configuration.
#[derive(Clone, Debug)]
pub struct AzOptions {
    /// `--contimeout`/`--timeout` (not an option of the remote: the run's).
    pub timeouts: ferry_core::net::Timeouts,
    /// `--user-agent`, `--header*` and the TLS flags.
    pub http: ferry_core::net::HttpSettings,
    /// `--header-upload`, as metadata laid over each upload's.
    pub upload_meta: Option<ferry_core::Metadata>,
    /// `--dump` (the run's).
    pub dump: ferry_core::dump::Dump,
    /// Service URL without a trailing slash: `https://ACCOUNT.blob.core.windows.net`, or
    /// `http://127.0.0.1:10000/devstoreaccount1` for the emulator (path-style).
    pub base: String,
    pub auth: Auth,
    /// The container a container-level SAS is limited to.
    pub sas_container: Option<String>,
    /// Largest file sent with a single Put Blob; bigger ones go in blocks.
    pub upload_cutoff: u64,
    pub chunk_size: u64,
    /// Blocks in flight per file.
    pub upload_concurrency: usize,
    pub access_tier: Option<String>,
    pub list_chunk: u32,
    /// Don't store Content-MD5 for block uploads (rclone's `disable_checksum`; azcopy's
    /// `--put-md5=false`).
    pub disable_checksum: bool,
    /// Blob-to-blob copies keep the source's access tier (azcopy's default).
    pub preserve_access_tier: bool,
    /// Blob-to-blob copies keep the source's index tags.
    pub preserve_blob_tags: bool,
    /// Each block goes with its MD5 for the service to check (`Content-MD5`).
    pub block_md5: bool,
    /// Guess Content-Types as azcopy does (from the name and the first bytes).
    pub azcopy_content_type: bool,
    /// Index tags every new blob gets (`x-ms-tags`, as given).
    pub blob_tags: Option<String>,
    /// How names are stored (rclone's `encoding`).
    pub encoding: Encoding,
}

fn refused(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Refused, format!("azureblob: {}", msg.into()))
}

impl AzOptions {
    /// Reads the options of an `azureblob` remote (typed, with the defaults of its spec)
    /// and the environment (read only with `env_auth`).
    pub fn from_options(o: &Options, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let s = |k: &str| o.string(k);
        let flag = |k: &str| o.bool(k);
        let size = |k: &str| o.size(k);
        let chunk_size = size("chunk_size")?.unwrap_or(0);
        if chunk_size == 0 || chunk_size > MAX_BLOCK {
            return Err(o.invalid("chunk_size", "blocks must be between 1 byte and 4000 MiB"));
        }
        // rclone sends anything up to one chunk in a single request.
        let upload_cutoff = size("upload_cutoff")?.unwrap_or(chunk_size);
        if upload_cutoff > MAX_PUT_BLOB {
            return Err(o.invalid(
                "upload_cutoff",
                "a single Put Blob can write at most 5000 MiB",
            ));
        }
        let upload_concurrency = o
            .int("upload_concurrency", 1, i64::from(u32::MAX))?
            .unwrap_or(1) as usize;
        let list_chunk = o.int("list_chunk", 1, 5000)?.unwrap_or(5000) as u32;
        let access_tier =
            match s("access_tier") {
                None => None,
                Some(v) => Some(normalise_tier(&v).ok_or_else(|| {
                    o.invalid("access_tier", "expected hot, cool, cold or archive")
                })?),
            };
        let (base, auth, sas_container) =
            endpoint_and_auth(&s, flag("use_emulator")?, flag("env_auth")?, &env)?;
        Ok(AzOptions {
            timeouts: ferry_core::net::Timeouts::DEFAULT,
            http: Default::default(),
            upload_meta: None,
            dump: ferry_core::dump::Dump::default(),
            base,
            auth,
            sas_container,
            upload_cutoff,
            chunk_size,
            upload_concurrency,
            access_tier,
            list_chunk,
            disable_checksum: flag("disable_checksum")?,
            preserve_access_tier: flag("s2s_preserve_access_tier")?,
            preserve_blob_tags: flag("s2s_preserve_blob_tags")?,
            block_md5: flag("block_md5")?,
            azcopy_content_type: flag("azcopy_content_type")?,
            blob_tags: s("blob_tags").filter(|t| !t.is_empty()),
            encoding: o.encoding()?,
        })
    }

    /// The account name, for messages.
    pub fn account(&self) -> &str {
        match &self.auth {
            Auth::SharedKey { account, .. } => account,
            _ => self
                .base
                .rsplit('/')
                .next()
                .filter(|s| !s.contains('.') && !s.contains(':'))
                .or_else(|| {
                    let host = self.base.split("://").nth(1)?;
                    host.split('.').next()
                })
                .unwrap_or(""),
        }
    }
}

impl AzOptions {
    /// Options from plain pairs over the spec's defaults, no environment (for tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self> {
        Self::from_options(
            &Options::from_pairs(&crate::KIND, pairs.iter().copied()),
            |_| None,
        )
    }
}

/// Azure's spelling of an access tier, from any case.
pub fn normalise_tier(v: &str) -> Option<String> {
    let t = match v.to_ascii_lowercase().as_str() {
        "hot" => "Hot",
        "cool" => "Cool",
        "cold" => "Cold",
        "archive" => "Archive",
        _ => return None,
    };
    Some(t.to_owned())
}

type Resolved = (String, Auth, Option<String>);

fn endpoint_and_auth(
    s: &impl Fn(&str) -> Option<String>,
    use_emulator: bool,
    env_auth: bool,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Resolved> {
    if let Some(url) = s("sas_url") {
        return from_sas_url(&url, use_emulator);
    }
    let endpoint = s("endpoint").map(|e| e.trim_end_matches('/').to_owned());
    if let Some(e) = &endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(Error::new(ErrorKind::Config, format!("azureblob: invalid value {e:?} for option endpoint: expected an http:// or https:// URL")));
        }
    }
    let mut account = s("account");
    let mut key = s("key");
    if env_auth {
        account = account.or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"));
        key = key.or_else(|| env("AZURE_STORAGE_ACCOUNT_KEY"));
        if key.is_none() {
            if let Some(token) = env("AZURE_STORAGE_SAS_TOKEN") {
                let account = account.ok_or_else(|| {
                    refused("env_auth found AZURE_STORAGE_SAS_TOKEN but no account: set account or AZURE_STORAGE_ACCOUNT_NAME")
                })?;
                let base = endpoint.unwrap_or_else(|| public_base(&account));
                return Ok((
                    base,
                    Auth::Sas(token.trim_start_matches('?').to_owned()),
                    None,
                ));
            }
            return Err(refused(
                "env_auth found no AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN; Entra ID sign-in is not supported yet: set key or sas_url instead",
            ));
        }
    }
    if use_emulator {
        let account = account.unwrap_or_else(|| EMULATOR_ACCOUNT.to_owned());
        let key = key.unwrap_or_else(|| EMULATOR_KEY.to_owned());
        check_key(&key)?;
        let base = endpoint.unwrap_or_else(|| format!("{EMULATOR_ENDPOINT}/{account}"));
        return Ok((base, Auth::SharedKey { account, key }, None));
    }
    let Some(account) = account else {
        return Err(refused(
            "no storage account: set account and key, or sas_url, or use_emulator = true (run `ferry config create NAME azureblob account=... key=...`)",
        ));
    };
    if account.is_empty() || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("azureblob: invalid value {account:?} for option account: a storage account name is lowercase letters and digits"),
        ));
    }
    let base = endpoint.unwrap_or_else(|| public_base(&account));
    match key {
        Some(key) => {
            check_key(&key)?;
            Ok((base, Auth::SharedKey { account, key }, None))
        }
        None => Ok((base, Auth::Anonymous, None)),
    }
}

fn public_base(account: &str) -> String {
    format!("https://{account}.blob.core.windows.net")
}

fn check_key(key: &str) -> Result<()> {
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(k) if !k.is_empty() => Ok(()),
        _ => Err(refused(
            "key is not a base64 storage account key: copy it again from the account's access keys",
        )),
    }
}

/// Splits a SAS URL into the service base, the token and the container it may name.
/// Hosts that are IP addresses or `localhost` (Azurite) are path-style: the first path
/// segment is the account.
fn from_sas_url(url: &str, use_emulator: bool) -> Result<Resolved> {
    let invalid = |why: &str| refused(format!("sas_url is not a SAS URL: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(s, _)| *s == "https" || *s == "http")
        .ok_or_else(|| invalid("expected https://ACCOUNT.blob.core.windows.net/CONTAINER?SAS"))?;
    let (before_query, query) = rest
        .split_once('?')
        .ok_or_else(|| invalid("it has no query string (the ?sv=...&sig=... part)"))?;
    let token = query.split('#').next().unwrap_or("");
    if !token.split('&').any(|kv| kv.starts_with("sig=")) {
        return Err(invalid("its query string has no signature (sig=...)"));
    }
    let (host, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let hostname = host.rsplit('@').next().unwrap_or(host);
    let bare = hostname.split(':').next().unwrap_or(hostname);
    let path_style = use_emulator
        || bare == "localhost"
        || bare.parse::<std::net::IpAddr>().is_ok()
        || bare.starts_with('[');
    let base = if path_style {
        let account = segments.next().ok_or_else(|| {
            invalid("an emulator URL needs the account: http://HOST:PORT/ACCOUNT/CONTAINER?SAS")
        })?;
        format!("{scheme}://{hostname}/{account}")
    } else {
        format!("{scheme}://{hostname}")
    };
    let container = segments.next().map(str::to_owned);
    Ok((base, Auth::Sas(token.to_owned()), container))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Result<AzOptions> {
        AzOptions::from_pairs(pairs)
    }

    #[test]
    fn account_and_key() {
        let o = opts(&[("account", "acct"), ("key", EMULATOR_KEY)]).unwrap();
        assert_eq!(o.base, "https://acct.blob.core.windows.net");
        assert!(matches!(o.auth, Auth::SharedKey { ref account, .. } if account == "acct"));
        assert_eq!((o.chunk_size, o.upload_cutoff), (4 << 20, 4 << 20));
        assert_eq!((o.upload_concurrency, o.list_chunk), (16, 5000));
        assert!(o.preserve_access_tier && !o.preserve_blob_tags);
        assert_eq!(o.account(), "acct");
        assert!(!format!("{:?}", o).contains(EMULATOR_KEY));
    }

    #[test]
    fn emulator_defaults() {
        let o = opts(&[("use_emulator", "true")]).unwrap();
        assert_eq!(o.base, "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(o.account(), "devstoreaccount1");
        let o = opts(&[
            ("use_emulator", "true"),
            ("endpoint", "http://127.0.0.1:7/devstoreaccount1/"),
        ])
        .unwrap();
        assert_eq!(o.base, "http://127.0.0.1:7/devstoreaccount1");
    }

    #[test]
    fn sas_urls() {
        let o = opts(&[(
            "sas_url",
            "https://acct.blob.core.windows.net/cont?sv=1&sig=abc",
        )])
        .unwrap();
        assert_eq!(o.base, "https://acct.blob.core.windows.net");
        assert_eq!(o.sas_container.as_deref(), Some("cont"));
        assert!(matches!(&o.auth, Auth::Sas(t) if t == "sv=1&sig=abc"));
        assert_eq!(o.account(), "acct");
        let o = opts(&[("sas_url", "http://127.0.0.1:10000/devstoreaccount1/c?sig=x")]).unwrap();
        assert_eq!(o.base, "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(o.sas_container.as_deref(), Some("c"));
        assert_eq!(o.account(), "devstoreaccount1");
        let e = opts(&[("sas_url", "https://acct.blob.core.windows.net/c?sv=1")]).unwrap_err();
        assert!(e.message().contains("no signature"), "{e}");
        let e = opts(&[("sas_url", "https://acct.blob.core.windows.net/c")]).unwrap_err();
        assert!(e.message().contains("no query string"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = opts(&[]).unwrap_err();
        assert!(e.message().contains("no storage account"), "{e}");
        let e = opts(&[("account", "a"), ("key", "not base64!")]).unwrap_err();
        assert!(e.message().contains("not a base64"), "{e}");
        assert!(!e.message().contains("not base64!"));
        let e = opts(&[("use_emulator", "true"), ("chunk_size", "5G")]).unwrap_err();
        assert!(e.message().contains("chunk_size"), "{e}");
        let e = opts(&[("use_emulator", "true"), ("access_tier", "warm")]).unwrap_err();
        assert!(e.message().contains("hot, cool"), "{e}");
        let o = opts(&[("use_emulator", "true"), ("access_tier", "COOL")]).unwrap();
        assert_eq!(o.access_tier.as_deref(), Some("Cool"));
        let e = opts(&[("env_auth", "true"), ("account", "a")]).unwrap_err();
        assert!(e.message().contains("Entra ID"), "{e}");
    }
}
