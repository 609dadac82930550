//! The URL forms this backend claims, as the registry hands them over.

use ferry_core::kind::{BadUrl, UrlRemote};
use ferry_core::Secretish;

fn bad_url(shown: String, reason: impl Into<String>) -> BadUrl {
    BadUrl::new(shown, reason)
}

/// `s3://BUCKET/PATH`, with credentials from the environment.
pub(crate) fn parse(rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    let bucket = rest.split('/').next().unwrap_or("");
    if bucket.is_empty() {
        return Err(bad_url(
            format!("s3://{rest}"),
            "the bucket name is missing: use s3://BUCKET/PATH",
        ));
    }
    if bucket.contains(['@', ':']) {
        return Err(bad_url(
            format!("s3://{}", bucket.rsplit('@').next().unwrap_or("")),
            "credentials or ports can't go in an s3:// URL: use environment credentials or `ferry config create NAME s3 ...`",
        ));
    }
    let options = vec![("env_auth", Secretish::plain("true"))];
    Ok(Some(UrlRemote {
        options,
        path: rest.to_string(),
    }))
}
