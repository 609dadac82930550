//! `azcopy list URL`: the blobs under a container or virtual directory, one line (or one
//! `ListObject` record) each, named relative to the URL, level by level as azcopy's crawl
//! gives them (a directory's blobs before its subdirectories'), with the properties asked
//! for and, with `--running-tally`, a count and total size at the end.

use std::sync::Arc;

use anyhow::bail;
use ferry_core::{Entry, HashKind};
use ferry_engine::{walk_all, AllowAll, WalkOptions};

use super::cli::ListArgs;
use super::other::{plain_args, size_text};
use super::output::Printer;
use super::paths::AzPath;
use super::run::remotes;

/// azcopy's `--properties` names, in the order its JSON records give them.
const PROPERTIES: [&str; 11] = [
    "LastModifiedTime",
    "VersionId",
    "BlobType",
    "BlobAccessTier",
    "ContentType",
    "ContentEncoding",
    "ContentMD5",
    "LeaseState",
    "LeaseDuration",
    "LeaseStatus",
    "ArchiveStatus",
];

/// Those a listing gives ferry.
const SERVED: [&str; 5] = [
    "VersionId",
    "BlobType",
    "BlobAccessTier",
    "ContentType",
    "ContentMD5",
];

pub async fn list(a: &ListArgs, p: &Printer) -> anyhow::Result<i32> {
    if let Some(l) = a
        .location
        .as_deref()
        .filter(|l| !l.eq_ignore_ascii_case("blob"))
    {
        bail!("--location {l}: ferry's azcopy lists Blob locations only");
    }
    let asked = properties(a.properties.as_deref())?;
    let path = AzPath::parse(&a.container_url);
    p.notes(&[&path], None);
    let backend = remotes(&plain_args())?.open(&path.arg())?;
    let opts = WalkOptions {
        flat: true,
        ..WalkOptions::default()
    };
    let (mut entries, _) = walk_all(backend, Arc::new(AllowAll), &opts).await?;
    entries.retain(|e| !e.is_dir());
    entries
        .sort_by(|x, y| (x.path.depth(), x.path.as_str()).cmp(&(y.path.depth(), y.path.as_str())));
    let (machine, mega) = (
        a.machine_readable.unwrap_or(false),
        a.mega_units.unwrap_or(false),
    );
    let size = |n: u64| {
        if machine {
            n.to_string()
        } else {
            size_text(n, mega)
        }
    };
    let mut total = 0;
    for e in &entries {
        total += e.size;
        let values: Vec<(&str, String)> =
            asked.iter().map(|name| (*name, value(e, name))).collect();
        if p.json() {
            p.record(
                "ListObject",
                &object_json(e.path.as_str(), &values, &size(e.size)),
            );
        } else {
            let mut line = format!("{};", e.path.as_str());
            for (name, v) in &values {
                line.push_str(&format!(" {name}: {v};"));
            }
            p.line(&format!("{line} Content Length: {}", size(e.size)));
        }
    }
    if a.running_tally.unwrap_or(false) {
        if p.json() {
            let summary = serde_json::json!({
                "FileCount": entries.len().to_string(),
                "TotalFileSize": size(total),
            });
            p.record("ListSummary", &summary.to_string());
        } else {
            p.line(&format!(
                "\nFile count: {}\nTotal file size: {}",
                entries.len(),
                size(total)
            ));
        }
    }
    if p.json() {
        p.record("EndOfJob", "");
    }
    Ok(0)
}

/// The properties asked for, in the order asked (unknown names are passed over, as
/// azcopy does); one a listing doesn't give ferry is refused rather than shown empty.
fn properties(arg: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for name in arg.unwrap_or("").split(';').map(str::trim) {
        let Some(known) = PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(name)) else {
            continue;
        };
        if !SERVED.contains(known) {
            bail!(
                "--properties {known}: not listed by ferry's azcopy yet (it lists {})",
                SERVED.join(", ")
            );
        }
        out.push(*known);
    }
    Ok(out)
}

fn value(e: &Entry, name: &str) -> String {
    match name {
        "BlobType" => "BlockBlob".into(),
        "BlobAccessTier" => e.tier.clone().unwrap_or_default(),
        "ContentType" => e.content_type.clone().unwrap_or_default(),
        "ContentMD5" => content_md5(e).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A `ListObject` record's content: `Path`, the properties that have a value (in
/// azcopy's order, not the order asked), `ContentLength`.
fn object_json(path: &str, values: &[(&str, String)], size: &str) -> String {
    let mut fields = vec![("Path", path.to_owned())];
    for name in PROPERTIES {
        if let Some((_, v)) = values.iter().find(|(n, v)| *n == name && !v.is_empty()) {
            fields.push((name, v.clone()));
        }
    }
    fields.push(("ContentLength", size.to_owned()));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", serde_json::json!(k), serde_json::json!(v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// A blob's stored MD5 as its `Content-MD5` shows it: base64.
pub(super) fn content_md5(e: &Entry) -> Option<String> {
    use base64::Engine;
    let raw = hex::decode(e.hashes.get(HashKind::Md5)?).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_keep_the_order_asked_and_pass_over_unknown_names() {
        assert_eq!(
            properties(Some("ContentMD5;bogus;blobaccesstier")).unwrap(),
            ["ContentMD5", "BlobAccessTier"]
        );
        assert!(properties(None).unwrap().is_empty());
        let e = properties(Some("LastModifiedTime"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("LastModifiedTime") && e.contains("ContentMD5"),
            "{e}"
        );
    }

    #[test]
    fn records_give_values_in_azcopys_order_and_leave_out_empty_ones() {
        let values = [
            ("ContentMD5", "XJWX88gkWQfqcaidnTnQjg==".to_owned()),
            ("VersionId", String::new()),
            ("BlobType", "BlockBlob".to_owned()),
        ];
        assert_eq!(
            object_json("a \"b\".txt", &values, "4.00 B"),
            r#"{"Path":"a \"b\".txt","BlobType":"BlockBlob","ContentMD5":"XJWX88gkWQfqcaidnTnQjg==","ContentLength":"4.00 B"}"#
        );
    }
}
