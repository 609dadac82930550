//! `--dry-run`'s report, as azcopy gives it: a `DRYRUN: copy … to …` or `DRYRUN: remove …`
//! line per planned transfer, or with `--output-type json` a `Dryrun` record per transfer
//! (azcopy's `DryrunTransfer`, its fields in azcopy's order, empty ones left out) and an
//! empty `EndOfJob` record once all are listed.

use ferry_core::Entry;
use serde::Serialize;

use super::output::Printer;
use super::paths::AzPath;

/// What a dry run would do to one path.
pub enum Planned<'a> {
    /// Copy `from` (its source entry, when known) to `to`.
    Copy {
        from: &'a AzPath,
        to: &'a AzPath,
        entry: Option<&'a Entry>,
    },
    /// Delete `what` from the destination of a sync (`--delete-destination`).
    SyncDelete { what: &'a AzPath },
    /// Delete `what` (the `remove` command), listed as `entry`.
    Remove { what: &'a AzPath, entry: &'a Entry },
    /// Change `what`'s properties (`set-properties`), listed as `entry`; `tier`: the new
    /// access tier, when one is set.
    SetProperties {
        what: &'a AzPath,
        entry: &'a Entry,
        tier: Option<&'a str>,
    },
}

/// One transfer as azcopy's JSON names it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Record<'a> {
    entity_type: &'static str,
    blob_type: &'static str,
    from_to: String,
    source: &'a str,
    destination: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    source_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    #[serde(rename = "ContentMD5", skip_serializing_if = "Option::is_none")]
    content_md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blob_tier: Option<&'a str>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// azcopy's name for where a path is: a URL is Blob storage (the only kind ferry's azcopy
/// serves), anything else the local disk.
fn location(p: &AzPath) -> &'static str {
    if p.is_url() {
        "Blob"
    } else {
        "Local"
    }
}

/// The blob type azcopy reports: a blob's own (ferry writes and lists block blobs), or
/// `Detect` (the zero value) for a local file.
fn blob_type(p: &AzPath) -> &'static str {
    if p.is_url() {
        "BlockBlob"
    } else {
        "Detect"
    }
}

/// A deletion's FromTo: `BlobTrash`; a local file has no named pair, so Go prints the
/// number (Local is 1, shifted past the Unknown destination).
fn trash(p: &AzPath) -> String {
    if p.is_url() {
        "BlobTrash".into()
    } else {
        "256".into()
    }
}

/// The properties azcopy's enumeration reads from a blob listing: the size, and for a
/// blob its content type and MD5 (and its tier in a copy, whose enumerator keeps it).
fn with_properties<'a>(mut r: Record<'a>, from: &AzPath, e: &'a Entry, tier: bool) -> Record<'a> {
    r.source_size = e.size;
    if from.is_url() {
        r.content_type = e.content_type.as_deref();
        r.content_md5 = super::list::content_md5(e);
        if tier {
            r.blob_tier = e.tier.as_deref();
        }
    }
    r
}

fn record<'a>(plan: &'a Planned<'a>, copy_tier: bool) -> Record<'a> {
    let bare = |entity_type, blob_type, from_to, source| Record {
        entity_type,
        blob_type,
        from_to,
        source,
        destination: "",
        source_size: 0,
        content_type: None,
        content_md5: None,
        blob_tier: None,
    };
    match plan {
        Planned::Copy { from, to, entry } => {
            let from_to = format!("{}{}", location(from), location(to));
            let mut r = bare("File", blob_type(from), from_to, &from.base);
            r.destination = &to.base;
            match entry {
                Some(e) => with_properties(r, from, e, copy_tier),
                None => r,
            }
        }
        Planned::SyncDelete { what } => bare("File", blob_type(what), trash(what), &what.base),
        Planned::Remove { what, entry } => {
            let r = bare("File", blob_type(what), trash(what), &what.base);
            with_properties(r, what, entry, false)
        }
        Planned::SetProperties { what, entry, tier } => {
            let r = bare("File", blob_type(what), "BlobNone".into(), &what.base);
            let mut r = with_properties(r, what, entry, false);
            // The tier the blob is given, not the one it has.
            r.blob_tier = *tier;
            r
        }
    }
}

/// The text line for one planned transfer.
fn line(plan: &Planned) -> String {
    match plan {
        Planned::Copy { from, to, .. } => format!("DRYRUN: copy {} to {}", from.base, to.base),
        Planned::SyncDelete { what } | Planned::Remove { what, .. } => {
            format!("DRYRUN: remove {}", what.base)
        }
        Planned::SetProperties { what, .. } => format!("DRYRUN: set-properties {}", what.base),
    }
}

/// Prints the plan; `copy_tier`: the command is `copy`, whose records carry a blob's tier.
pub fn report(p: &Printer, plans: &[Planned], copy_tier: bool) {
    if !p.json() {
        for plan in plans {
            p.line(&line(plan));
        }
        return;
    }
    for plan in plans {
        let json = serde_json::to_string(&record(plan, copy_tier)).expect("record serializes");
        p.record("Dryrun", &super::output::go_escaped(&json));
    }
    p.record("EndOfJob", "");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{HashKind, RelPath};
    use std::time::UNIX_EPOCH;

    fn blob(rel: &str) -> AzPath {
        AzPath::parse(&format!("http://127.0.0.1:10000/acct/c/{rel}?sig=secret"))
    }

    #[test]
    fn a_download_record_carries_the_blob_properties_in_azcopys_order() {
        let mut e = Entry::file(RelPath::new("a.txt").unwrap(), 2, UNIX_EPOCH);
        e.content_type = Some("text/plain".into());
        e.tier = Some("Hot".into());
        e.hashes
            .set(HashKind::Md5, "b026324c6904b2a9cb4b88d6d61c81d1".into());
        let (from, to) = (blob("a.txt"), AzPath::parse("/tmp/d/a.txt"));
        let plan = Planned::Copy {
            from: &from,
            to: &to,
            entry: Some(&e),
        };
        let json = serde_json::to_string(&record(&plan, true)).unwrap();
        assert_eq!(
            json,
            "{\"EntityType\":\"File\",\"BlobType\":\"BlockBlob\",\"FromTo\":\"BlobLocal\",\
             \"Source\":\"http://127.0.0.1:10000/acct/c/a.txt\",\"Destination\":\"/tmp/d/a.txt\",\
             \"SourceSize\":2,\"ContentType\":\"text/plain\",\
             \"ContentMD5\":\"sCYyTGkEsqnLS4jW1hyB0Q==\",\"BlobTier\":\"Hot\"}"
        );
        // A sync's records leave the tier out, as azcopy's sync enumerator does.
        let json = serde_json::to_string(&record(&plan, false)).unwrap();
        assert!(!json.contains("BlobTier"), "{json}");
    }

    #[test]
    fn deletions_name_no_destination_and_a_local_one_has_a_numeric_from_to() {
        let local = AzPath::parse("/tmp/d/z");
        let json = serde_json::to_string(&record(&Planned::SyncDelete { what: &local }, false));
        assert_eq!(
            json.unwrap(),
            "{\"EntityType\":\"File\",\"BlobType\":\"Detect\",\"FromTo\":\"256\",\
             \"Source\":\"/tmp/d/z\",\"Destination\":\"\"}"
        );
        let b = blob("z");
        let json = serde_json::to_string(&record(&Planned::SyncDelete { what: &b }, false));
        assert!(json.unwrap().contains("\"FromTo\":\"BlobTrash\""));
        assert_eq!(
            line(&Planned::SyncDelete { what: &b }),
            "DRYRUN: remove http://127.0.0.1:10000/acct/c/z"
        );
    }

    #[test]
    fn an_upload_of_an_empty_file_leaves_the_size_out() {
        let e = Entry::file(RelPath::new("e").unwrap(), 0, UNIX_EPOCH);
        let (from, to) = (AzPath::parse("/tmp/s/e"), blob("e"));
        let plan = Planned::Copy {
            from: &from,
            to: &to,
            entry: Some(&e),
        };
        let json = serde_json::to_string(&record(&plan, true)).unwrap();
        assert!(
            json.ends_with("\"Destination\":\"http://127.0.0.1:10000/acct/c/e\"}"),
            "{json}"
        );
        assert!(
            json.contains("\"BlobType\":\"Detect\",\"FromTo\":\"LocalBlob\""),
            "{json}"
        );
    }
}
