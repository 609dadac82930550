//! Server-side copies too big for one CopyObject (over `copy_cutoff`, and necessarily over
//! S3's 5 GiB limit): a multipart upload whose parts are UploadPartCopy ranges of the
//! source, `upload_concurrency` at a time, then completed — or aborted on any failure, so
//! no half-copied parts are left to be billed.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use ferry_core::{Error, ErrorKind, RelPath, Result};
use ferry_objstore::Target;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::error::sdk;
use crate::meta::{self, META_MD5};
use crate::object::{with_info_headers, ObjectInfo};
use crate::options::{MAX_PART, MAX_PARTS, MIN_PART};
use crate::{upload, S3};

/// The size of each copied part: `copy_cutoff` (as rclone), grown when the object would
/// otherwise need more than S3's 10,000 parts.
pub(crate) fn part_size(cutoff: u64, size: u64) -> u64 {
    cutoff
        .max(MIN_PART)
        .max(size.div_ceil(MAX_PARTS))
        .min(MAX_PART)
}

/// The parts of an object of `size` bytes: (number, first byte, last byte).
fn ranges(size: u64, part: u64) -> Vec<(i32, u64, u64)> {
    (0..size)
        .step_by(part as usize)
        .enumerate()
        .map(|(i, first)| (i as i32 + 1, first, (first + part).min(size) - 1))
        .collect()
}

/// Copies `src` (described by `info`: its size, and the metadata and headers the new object
/// gets) to `dst` in parts. Returns the new object's ETag.
pub(crate) async fn multipart_copy(
    b: &S3,
    src: &Target,
    dst: &Target,
    dst_path: &RelPath,
    info: &ObjectInfo,
) -> Result<Option<String>> {
    // A multipart upload starts with no metadata of its own: everything is carried over.
    // Its ETag won't be an MD5, so a source MD5 known only from its ETag is kept as
    // `md5chksum` (as for multipart uploads) — else the copy would have no hash to check.
    let mut metadata = info.metadata.clone();
    if !b.opts.disable_checksum && !metadata.contains_key(META_MD5) {
        if let Some(m) = info.md5.as_deref().and_then(meta::md5_to_meta) {
            metadata.insert(META_MD5.to_owned(), m);
        }
    }
    let create = b
        .client
        .create_multipart_upload()
        .bucket(&dst.bucket)
        .key(&dst.key);
    let req = with_info_headers!(create, info, metadata);
    let created = upload::with_upload_options(b, req)
        .send()
        .await
        .map_err(|e| sdk("failed to start multipart copy", dst_path.as_str(), e))?;
    let Some(upload_id) = created.upload_id().map(str::to_owned) else {
        return Err(
            Error::new(ErrorKind::Io, "S3 returned no upload id").with_path(dst_path.to_string())
        );
    };
    let part = part_size(b.opts.copy_cutoff, info.size);
    let plan = ranges(info.size, part);
    tracing::debug!(
        "{dst_path}: copying on the server in {} parts of {part} bytes",
        plan.len()
    );
    let source = meta::copy_source(&src.bucket, &src.key);
    let copied: Result<Vec<CompletedPart>> = stream::iter(plan)
        .map(|(n, first, last)| {
            let (source, upload_id) = (&source, &upload_id);
            async move {
                let out = b
                    .client
                    .upload_part_copy()
                    .bucket(&dst.bucket)
                    .key(&dst.key)
                    .upload_id(upload_id)
                    .part_number(n)
                    .copy_source(source)
                    .copy_source_range(format!("bytes={first}-{last}"))
                    .send()
                    .await
                    .map_err(|e| {
                        sdk("failed to copy a part on the server", dst_path.as_str(), e)
                    })?;
                let Some(etag) = out.copy_part_result().and_then(|r| r.e_tag()) else {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("S3 returned no ETag for copied part {n}"),
                    )
                    .with_path(dst_path.to_string()));
                };
                Ok(CompletedPart::builder().part_number(n).e_tag(etag).build())
            }
        })
        .buffered(b.opts.upload_concurrency.max(1))
        .try_collect()
        .await;
    let parts = match copied {
        Ok(p) => p,
        Err(e) => {
            upload::abort(b, dst, dst_path, &upload_id).await;
            return Err(e);
        }
    };
    let done = b
        .client
        .complete_multipart_upload()
        .bucket(&dst.bucket)
        .key(&dst.key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await;
    match done {
        Ok(d) => Ok(d.e_tag().map(str::to_owned)),
        Err(e) => {
            upload::abort(b, dst, dst_path, &upload_id).await;
            Err(sdk(
                "failed to complete multipart copy",
                dst_path.as_str(),
                e,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_object_once() {
        const MI: u64 = 1024 * 1024;
        assert_eq!(part_size(5 * MI, 12 * MI), 5 * MI);
        let r = ranges(12 * MI, 5 * MI);
        assert_eq!(
            r,
            [
                (1, 0, 5 * MI - 1),
                (2, 5 * MI, 10 * MI - 1),
                (3, 10 * MI, 12 * MI - 1)
            ]
        );
        // Never more than 10,000 parts, never under 5 MiB, never over 5 GiB.
        let huge = 5 * 1024 * 1024 * MI;
        assert!(huge.div_ceil(part_size(5 * MI, huge)) <= MAX_PARTS);
        assert_eq!(part_size(1, 10), MIN_PART);
        assert_eq!(part_size(u64::MAX, 10), MAX_PART);
        assert_eq!(ranges(10, 5), [(1, 0, 4), (2, 5, 9)]);
    }
}
