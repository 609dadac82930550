//! rclone's `cleanup` on S3: multipart uploads begun over a day ago and never completed
//! or aborted are aborted (S3 bills their parts until then). Younger ones may belong to
//! a transfer still running, or to one `--resume` will continue, and are left alone.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::types::MultipartUpload;
use ferry_core::Result;

use crate::error::sdk;
use crate::object::to_system;
use crate::S3;

/// rclone's age limit for `cleanup`.
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Aborts the stale uploads of `bucket` whose keys start with `prefix`; the last failure,
/// once all were tried.
pub(crate) async fn clean_up(s3: &S3, bucket: &str, prefix: &str) -> Result<()> {
    tracing::info!(
        "S3 bucket {bucket}: cleaning bucket {bucket:?} of pending multipart uploads older than 24h0m0s"
    );
    let now = SystemTime::now();
    let mut failed = None;
    for u in list(s3, bucket, prefix).await? {
        let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
            continue;
        };
        let age = now
            .duration_since(to_system(u.initiated()))
            .unwrap_or_default();
        let dated = u.initiated().map(|d| d.to_string()).unwrap_or_default();
        let what = format!(
            "pending multipart upload for bucket {bucket:?} key {key:?} dated {dated} ({}s ago)",
            age.as_secs()
        );
        if !stale(age) {
            tracing::debug!("S3 bucket {bucket}: ignoring {what}");
            continue;
        }
        tracing::info!("S3 bucket {bucket}: removing {what}");
        let aborted = s3
            .client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await;
        if let Err(e) = aborted {
            let e = sdk(&format!("failed to remove {what}"), key, e);
            tracing::error!("{e}");
            failed = Some(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

fn stale(age: Duration) -> bool {
    age > MAX_AGE
}

/// Every unfinished upload of `bucket` below `prefix`, a page at a time.
async fn list(s3: &S3, bucket: &str, prefix: &str) -> Result<Vec<MultipartUpload>> {
    let mut uploads = Vec::new();
    let (mut key_marker, mut id_marker) = (None, None);
    loop {
        let page = s3
            .client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .max_uploads(s3.opts.list_chunk.clamp(1, 1000))
            .set_key_marker(key_marker)
            .set_upload_id_marker(id_marker)
            .send()
            .await
            .map_err(|e| {
                let what = format!("list multipart uploads bucket {bucket:?} key {prefix:?}");
                sdk(&what, bucket, e)
            })?;
        uploads.extend(page.uploads().iter().cloned());
        if !page.is_truncated().unwrap_or(false) {
            return Ok(uploads);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_upload_id_marker().map(str::to_owned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uploads_over_a_day_old_are_stale() {
        assert!(!stale(Duration::from_secs(3600)));
        assert!(!stale(MAX_AGE));
        assert!(stale(MAX_AGE + Duration::from_secs(1)));
    }
}
