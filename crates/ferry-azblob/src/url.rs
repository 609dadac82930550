//! The URL forms this backend claims, as the registry hands them over.

use ferry_core::kind::{percent_decode, BadUrl, UrlRemote};
use ferry_core::Secretish;

fn bad_url(shown: String, reason: impl Into<String>) -> BadUrl {
    BadUrl::new(shown, reason)
}

const AZURE_BLOB_SUFFIX: &str = ".blob.core.windows.net";

/// A blob URL on a local storage emulator (Azurite), path-style as azcopy takes it:
/// `http://127.0.0.1:10000/ACCOUNT/CONTAINER/PATH?SAS`. Only loopback hosts count, so no
/// other URL is mistaken for one. Without a SAS, Azurite's well-known key is used.
fn emulator(scheme: &str, rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..auth_end];
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    if !matches!(bare, "127.0.0.1" | "localhost" | "::1") {
        return Ok(None);
    }
    let after = rest[auth_end..].split('#').next().unwrap_or("");
    let (raw_path, query) = after.split_once('?').unwrap_or((after, ""));
    let shown = format!("{scheme}://{host}{raw_path}");
    let mut parts = raw_path.trim_start_matches('/').splitn(2, '/');
    let account = parts.next().unwrap_or("");
    if account.is_empty() {
        return Err(bad_url(
            shown,
            "an emulator URL needs the account: http://127.0.0.1:10000/ACCOUNT/CONTAINER/PATH",
        ));
    }
    let inner = parts.next().unwrap_or("");
    let raw_container = inner.split('/').next().unwrap_or("");
    let path = percent_decode(inner).map_err(|r| bad_url(shown.clone(), format!("path: {r}")))?;
    let base = format!("{scheme}://{host}/{account}");
    let mut options = vec![("account", Secretish::plain(account))];
    if query.is_empty() {
        options.push(("use_emulator", Secretish::plain("true")));
        options.push(("endpoint", Secretish::plain(base)));
    } else {
        let sas = format!("{base}/{raw_container}?{query}");
        options.push(("sas_url", Secretish::secret(sas)));
    }
    Ok(Some(UrlRemote { options, path }))
}

fn azure(rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..auth_end];
    let after = &rest[auth_end..];
    let after = after.split('#').next().unwrap_or("");
    let (raw_path, query) = match after.find('?') {
        Some(q) => (&after[..q], &after[q + 1..]),
        None => (after, ""),
    };
    let shown = format!(
        "https://{}{raw_path}",
        host.rsplit('@').next().unwrap_or(host)
    );
    let lower = host.to_ascii_lowercase();
    let Some(account) = lower.strip_suffix(AZURE_BLOB_SUFFIX) else {
        return Err(bad_url(
            shown,
            "only Azure Blob URLs (https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH?SAS) are understood: for other services create a remote with `ferry config create`",
        ));
    };
    if account.is_empty() || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad_url(
            shown,
            "the storage account name must be lowercase letters and digits",
        ));
    }
    let trimmed = raw_path.trim_start_matches('/');
    let raw_container = trimmed.split('/').next().unwrap_or("");
    let path = percent_decode(trimmed).map_err(|r| bad_url(shown.clone(), format!("path: {r}")))?;
    let mut options = vec![("account", Secretish::plain(account))];
    if !query.is_empty() {
        let sas = format!("https://{lower}/{raw_container}?{query}");
        options.push(("sas_url", Secretish::secret(sas)));
    }
    Ok(Some(UrlRemote { options, path }))
}

/// `http://127.0.0.1:10000/ACCOUNT/CONTAINER/PATH[?SAS]` (a local emulator only).
pub(crate) fn parse_http(rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    emulator("http", rest)
}

/// A blob URL, `https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH[?SAS]`, or an
/// emulator's over https.
pub(crate) fn parse_https(rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    match emulator("https", rest)? {
        Some(remote) => Ok(Some(remote)),
        None => azure(rest),
    }
}
