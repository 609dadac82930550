//! `gs://BUCKET/PATH`: the URL form gsutil and gcloud use, with credentials from the
//! environment (`env_auth`).

use ferry_core::kind::{BadUrl, UrlRemote};
use ferry_core::Secretish;

pub(crate) fn parse(rest: &str) -> Result<Option<UrlRemote>, BadUrl> {
    let bucket = rest.split('/').next().unwrap_or("");
    if bucket.is_empty() {
        return Err(BadUrl::new(
            format!("gs://{rest}"),
            "the bucket name is missing: use gs://BUCKET/PATH",
        ));
    }
    if bucket.contains(['@', ':']) {
        return Err(BadUrl::new(
            format!("gs://{}", bucket.rsplit('@').next().unwrap_or("")),
            "credentials or ports can't go in a gs:// URL: use GOOGLE_APPLICATION_CREDENTIALS or `ferry config create NAME gcs ...`",
        ));
    }
    Ok(Some(UrlRemote {
        options: vec![("env_auth", Secretish::plain("true"))],
        path: rest.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_path() {
        let r = parse("b/a/c.txt").unwrap().unwrap();
        assert_eq!(r.path, "b/a/c.txt");
        assert!(parse("").is_err());
        assert!(parse("user@b/x").is_err());
    }
}
