//! The recursive listing: ListObjectsV2 without a delimiter, in key order. A page is asked
//! for only once the previous one has been consumed, so memory stays O(page) however many
//! objects there are. Directories come from key prefixes and `dir/` marker objects.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::EncodingType;
use ferry_core::{Error, ErrorKind, Listing, RelPath, Result};
use ferry_objstore::flat::{self, Below, EntryStream};

use crate::error::Failure;
use crate::{meta, S3Backend};

/// Where a recursive listing is, between pages.
struct Pager {
    b: Arc<S3Backend>,
    bucket: String,
    token: Option<String>,
    done: bool,
    below: Below,
}

/// Everything below `dir`, page by page.
pub(crate) fn list(b: Arc<S3Backend>, dir: &RelPath) -> Result<EntryStream> {
    let t = b.target(dir)?;
    let names = b.names;
    let pager = Pager {
        b,
        bucket: t.bucket,
        token: None,
        done: false,
        below: Below::new(dir.clone(), &t.key, names),
    };
    Ok(flat::paged(pager))
}

#[async_trait]
impl flat::Pager for Pager {
    fn done(&self) -> bool {
        self.done
    }

    async fn next_page(&mut self) -> Result<Listing> {
        let out = self
            .b
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.below.prefix())
            .encoding_type(EncodingType::Url)
            .max_keys(self.b.opts.list_chunk)
            .set_continuation_token(self.token.clone())
            .send()
            .await
            .map_err(|e| list_error(Failure::of(&e), &self.bucket, self.below.dir()))?;
        let given = self.token.take();
        self.token = out.next_continuation_token().map(str::to_owned);
        ferry_core::listing::check_next_token(
            given.as_deref(),
            self.token.as_deref(),
            &self.below.dir().to_string(),
        )?;
        self.done = !out.is_truncated().unwrap_or(false) || self.token.is_none();
        let encoded = out.encoding_type() == Some(&EncodingType::Url);
        let mut page = Listing::new();
        let entries = &mut page.entries;
        let mut skipped = Vec::new();
        for obj in out.contents() {
            let Some(raw) = obj.key() else { continue };
            let full = if encoded {
                match meta::url_decode_key(raw) {
                    Some(k) => k,
                    None => {
                        skipped.push(ferry_objstore::bucket::undecodable_key(raw));
                        continue;
                    }
                }
            } else {
                raw.to_owned()
            };
            let (rel_path, is_marker) = match self.below.name(&full) {
                Ok(Some(named)) => named,
                Ok(None) => continue,
                Err(_) => {
                    skipped.push(ferry_objstore::bucket::unsafe_key(&self.b.names, &full));
                    continue;
                }
            };
            let mut found = self.below.dirs.enter(&rel_path, is_marker);
            if is_marker {
                // A `dir/` marker object lists as a directory of 0 bytes in rclone; the
                // directories only implied by longer keys have no size (-1).
                if let Some(d) = found.last_mut().filter(|d| d.path == rel_path) {
                    d.dir_size = Some(0);
                }
            }
            self.below.push_dirs(found, entries);
            if is_marker {
                continue;
            }
            let md5 = obj
                .e_tag()
                .filter(|_| self.b.opts.etag_is_md5())
                .and_then(meta::md5_from_etag);
            let path = self.below.path(&rel_path);
            entries.push(self.b.listed_entry(path, obj, md5));
        }
        if self.done {
            self.below.finish(entries)?;
        }
        page.errors = skipped;
        Ok(page)
    }
}

/// A listing's failure: a missing bucket is a missing directory.
pub(crate) fn list_error(f: Failure, bucket: &str, dir: &RelPath) -> Error {
    if f.is_no_bucket() {
        Error::new(
            ErrorKind::DirNotFound,
            format!("directory not found: bucket {bucket:?} does not exist"),
        )
        .with_path(dir.to_string())
    } else {
        f.into_error("failed to list", dir.as_str())
    }
}
