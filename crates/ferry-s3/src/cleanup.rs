//! rclone's `cleanup` on S3: multipart uploads begun over a day ago (or `backend cleanup
//! -o max-age=AGE`) and never completed or aborted are aborted (S3 bills their parts until
//! then). Younger ones may belong to a transfer still running, or to one `--resume` will
//! continue, and are left alone.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::types::MultipartUpload;
use ferry_core::Result;

use crate::error::sdk;
use crate::object::to_system;
use crate::S3;

/// rclone's age limit for `cleanup`.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Aborts the uploads of `bucket` whose keys start with `prefix`, begun over `max_age`
/// ago (with `dry_run`, only says so); the last failure, once all were tried.
pub(crate) async fn clean_up(
    s3: &S3,
    bucket: &str,
    prefix: &str,
    max_age: Duration,
    dry_run: bool,
) -> Result<()> {
    tracing::info!(
        "S3 bucket {bucket}: cleaning bucket {bucket:?} of pending multipart uploads older than {}",
        ferry_core::units::go_duration(max_age.as_secs())
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
        let what = format!(
            "pending multipart upload for bucket {bucket:?} key {key:?} dated {} ({} ago)",
            go_time(u.initiated()),
            ferry_core::units::go_duration_exact(age)
        );
        if age <= max_age {
            tracing::debug!("S3 bucket {bucket}: ignoring {what}");
            continue;
        }
        tracing::info!("S3 bucket {bucket}: removing {what}");
        if dry_run {
            tracing::warn!("{what}: Skipped remove pending upload as --dry-run is set");
            continue;
        }
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

/// Every unfinished upload of `bucket` below `prefix`, a page at a time.
pub(crate) async fn list(s3: &S3, bucket: &str, prefix: &str) -> Result<Vec<MultipartUpload>> {
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

/// A time as Go prints one in UTC: `2010-11-10 20:48:33 +0000 UTC`.
fn go_time(t: Option<&aws_smithy_types::DateTime>) -> String {
    let t: chrono::DateTime<chrono::Utc> = to_system(t).into();
    t.format("%Y-%m-%d %H:%M:%S%.f +0000 UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_go_prints_them() {
        let t = aws_smithy_types::DateTime::from_secs(1_289_422_113);
        assert_eq!(go_time(Some(&t)), "2010-11-10 20:48:33 +0000 UTC");
    }
}
