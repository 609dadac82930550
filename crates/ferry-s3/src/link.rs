//! rclone's `link` on S3: a presigned GET of the object, valid for at most a week (the
//! longest a SigV4 signature may be), as rclone's is.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use ferry_core::{Error, ErrorKind, Result};
use ferry_objstore::Target;

use crate::S3;

/// The longest a presigned URL may live.
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

pub(crate) async fn presign_get(
    s3: &S3,
    t: &Target,
    expire: Option<Duration>,
    shown: &str,
) -> Result<String> {
    let expire = match expire {
        Some(e) if e <= MAX_EXPIRY => e,
        asked => {
            let asked = asked.map_or_else(|| "off".to_owned(), rclone_duration);
            tracing::warn!(
                "{shown}: Public Link: Reducing expiry to 1w as {asked} is greater than the max time allowed"
            );
            MAX_EXPIRY
        }
    };
    let config = PresigningConfig::expires_in(expire)
        .map_err(|e| Error::new(ErrorKind::Io, format!("public link: {e}")))?;
    let signed = s3
        .client
        .get_object()
        .bucket(&t.bucket)
        .key(&t.key)
        .presigned(config)
        .await
        .map_err(|e| crate::error::sdk("failed to make a public link", &t.key, e))?;
    Ok(signed.uri().to_owned())
}

/// A duration as rclone's `fs.Duration` prints one of a day or more: in the largest unit
/// it reaches (years of 365 days, months of 30, weeks, days), as a shortest decimal.
fn rclone_duration(d: Duration) -> String {
    const DAY: f64 = 24.0 * 3600.0;
    let secs = d.as_secs_f64();
    for (suffix, unit) in [
        ("y", 365.0 * DAY),
        ("M", 30.0 * DAY),
        ("w", 7.0 * DAY),
        ("d", DAY),
    ] {
        if secs >= unit {
            return format!("{}{suffix}", secs / unit);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_their_largest_unit_as_rclone() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(rclone_duration(10 * day), "1.4285714285714286w");
        assert_eq!(rclone_duration(7 * day), "1w");
        assert_eq!(rclone_duration(45 * day), "1.5M");
        assert_eq!(rclone_duration(730 * day), "2y");
    }
}
