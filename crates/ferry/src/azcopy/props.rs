//! What `azcopy copy` gives the blobs it uploads (metadata, content properties, access
//! tier, index tags, blob type) and which time a downloaded file gets, as engine options
//! and `azureblob` backend flags. azcopy's parse errors keep its wording.

use ferry_core::Metadata;
use ferry_engine::SyncOptions;

use super::cli::BlobFlags;
use crate::backend_flags::BackendFlags;

/// azcopy's block blob tiers, as the `azureblob` backend's `access_tier` takes them.
const TIERS: [&str; 4] = ["Hot", "Cool", "Cold", "Archive"];

/// Applies the flags to a copy whose destination is Blob (`upload`) or a file system.
pub fn apply(
    f: &BlobFlags,
    upload: bool,
    opts: &mut SyncOptions,
    backend: &mut BackendFlags,
) -> anyhow::Result<()> {
    check_blob_type(f.blob_type.as_deref())?;
    let tier = tier(f.block_blob_tier.as_deref()).map_err(|why| {
        anyhow::anyhow!("error parsing the input given by the user. Failed with error {why}")
    })?;
    if !upload {
        if f.no_guess_mime_type == Some(true) || f.content_type.is_some() {
            // azcopy sets "don't guess" whenever a Content-Type is given.
            anyhow::bail!("no-guess-mime-type is not supported while downloading");
        }
        // azcopy's downloads are stamped with the time they were written, unless asked.
        opts.preserve_modtime = f.preserve_last_modified_time == Some(true);
        return Ok(());
    }
    if f.preserve_last_modified_time == Some(true) {
        anyhow::bail!(
            "preserve-last-modified-time is only available when the destination is a file system"
        );
    }
    opts.metadata_upload = upload_metadata(f);
    if let Some(tier) = tier {
        backend.insert("azureblob_access_tier".into(), tier.into());
    }
    if let Some(tags) = &f.blob_tags {
        check_tags(tags)?;
        backend.insert("azureblob_blob_tags".into(), tags.clone());
    }
    Ok(())
}

/// `--metadata k=v;k2=v2` (a key without `=` gets an empty value, as in azcopy) and the
/// content properties, as metadata keys the Blob backend stores as such.
fn upload_metadata(f: &BlobFlags) -> Metadata {
    let mut m = f
        .metadata
        .as_deref()
        .map(metadata_pairs)
        .unwrap_or_default();
    let content = [
        ("content-type", &f.content_type),
        ("content-encoding", &f.content_encoding),
        ("content-disposition", &f.content_disposition),
        ("content-language", &f.content_language),
        ("cache-control", &f.cache_control),
    ];
    for (key, value) in content {
        if let Some(v) = value {
            m.set(key, v.as_str());
        }
    }
    if f.no_guess_mime_type == Some(true) && f.content_type.is_none() {
        // What Blob storage answers for a blob stored without a Content-Type.
        m.set("content-type", "application/octet-stream");
    }
    m
}

/// azcopy's `k=v;k2=v2` (a key without `=` gets an empty value).
pub(super) fn metadata_pairs(list: &str) -> Metadata {
    let mut m = Metadata::new();
    for pair in list.split(';') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !k.trim().is_empty() {
            m.set(k.trim(), v);
        }
    }
    m
}

/// ferry writes block blobs only: `Detect` and `BlockBlob` are what it does; page and
/// append blobs are refused by name rather than uploaded as another type.
fn check_blob_type(t: Option<&str>) -> anyhow::Result<()> {
    match t.map(str::to_ascii_lowercase).as_deref() {
        None | Some("detect") | Some("blockblob") => Ok(()),
        Some("pageblob") | Some("appendblob") => anyhow::bail!(
            "--blob-type={} is not implemented by ferry's azcopy (it writes block blobs): drop it, or use Microsoft's azcopy for this job",
            t.unwrap_or_default()
        ),
        _ => anyhow::bail!(
            "error parsing the input given by the user. Failed with error couldn't parse \"{}\" into a \"BlobType\"",
            t.unwrap_or_default()
        ),
    }
}

/// `--block-blob-tier`, case as azcopy accepts it; `None` keeps the account's default.
/// The error is azcopy's reason, which each command words its own way around.
pub(super) fn tier(t: Option<&str>) -> Result<Option<&'static str>, String> {
    let Some(t) = t else { return Ok(None) };
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match TIERS.iter().find(|x| x.eq_ignore_ascii_case(t)) {
        Some(x) => Ok(Some(x)),
        None => Err(format!("couldn't parse \"{t}\" into a \"BlockBlobTier\"")),
    }
}

/// `--blob-tags k=v&k2=v2` as pairs, taken literally as azcopy takes them for
/// `set-properties`; `clear` is none.
pub(super) fn tag_pairs(tags: &str) -> anyhow::Result<Vec<(String, String)>> {
    if tags.eq_ignore_ascii_case("clear") {
        return Ok(Vec::new());
    }
    check_tags(tags)?;
    Ok(tags
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// Index tags go to the service as given (`k=v&k2=v2`, URL-encoded); a pair without a
/// key or `=` is refused here instead of by the service after the upload.
fn check_tags(tags: &str) -> anyhow::Result<()> {
    for pair in tags.split('&') {
        match pair.split_once('=') {
            Some((k, _)) if !k.is_empty() => {}
            _ => anyhow::bail!(
                "--blob-tags: \"{pair}\" is not a key=value pair (give k=v&k2=v2, URL-encoded)"
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> BlobFlags {
        BlobFlags::default()
    }

    #[test]
    fn metadata_and_content_properties_become_upload_keys() {
        let f = BlobFlags {
            metadata: Some("k1=v1;K2=a=b;bare;".into()),
            content_type: Some("text/foo".into()),
            cache_control: Some("no-cache".into()),
            ..flags()
        };
        let m = upload_metadata(&f);
        let got: Vec<_> = m.iter().collect();
        assert_eq!(
            got,
            [
                ("bare", ""),
                ("cache-control", "no-cache"),
                ("content-type", "text/foo"),
                ("k1", "v1"),
                ("k2", "a=b"),
            ]
        );
    }

    #[test]
    fn no_guess_stores_octet_stream_unless_a_type_is_given() {
        let f = BlobFlags {
            no_guess_mime_type: Some(true),
            ..flags()
        };
        assert_eq!(
            upload_metadata(&f).get("content-type"),
            Some("application/octet-stream")
        );
    }

    #[test]
    fn tiers_and_types_parse_as_azcopy() {
        assert_eq!(tier(Some("cool")).unwrap(), Some("Cool"));
        assert_eq!(tier(Some("None")).unwrap(), None);
        let e = tier(Some("Warm")).unwrap_err();
        assert!(
            e.contains("couldn't parse \"Warm\" into a \"BlockBlobTier\""),
            "{e}"
        );
        assert!(check_blob_type(Some("BlockBlob")).is_ok());
        let e = check_blob_type(Some("PageBlob")).unwrap_err().to_string();
        assert!(e.contains("--blob-type=PageBlob is not implemented"), "{e}");
        assert!(check_blob_type(Some("Foo")).is_err());
    }

    #[test]
    fn downloads_refuse_upload_only_flags_and_keep_write_times() {
        let (mut o, mut b) = (SyncOptions::default(), BackendFlags::new());
        apply(&flags(), false, &mut o, &mut b).unwrap();
        assert!(!o.preserve_modtime);
        let f = BlobFlags {
            preserve_last_modified_time: Some(true),
            ..flags()
        };
        apply(&f, false, &mut o, &mut b).unwrap();
        assert!(o.preserve_modtime);
        let f = BlobFlags {
            content_type: Some("x/y".into()),
            ..flags()
        };
        assert!(apply(&f, false, &mut o, &mut b).is_err());
    }

    #[test]
    fn tags_and_tier_reach_the_backend_flags() {
        let (mut o, mut b) = (SyncOptions::default(), BackendFlags::new());
        let f = BlobFlags {
            blob_tags: Some("a=1&b%20c=2".into()),
            block_blob_tier: Some("archive".into()),
            ..flags()
        };
        apply(&f, true, &mut o, &mut b).unwrap();
        assert_eq!(b["azureblob_blob_tags"], "a=1&b%20c=2");
        assert_eq!(b["azureblob_access_tier"], "Archive");
        let f = BlobFlags {
            blob_tags: Some("bad".into()),
            ..flags()
        };
        assert!(apply(&f, true, &mut o, &mut b).is_err());
    }
}
