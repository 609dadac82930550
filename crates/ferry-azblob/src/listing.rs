//! Pages of List Blobs and List Containers responses (`<EnumerationResults>`).
//!
//! Read event by event rather than through serde so that blob names keep every
//! character, whitespace included, and `<Metadata>` keys (unknown in advance) come along.

use std::collections::HashMap;
use std::time::SystemTime;

use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::meta::parse_http_date;

/// One blob as a listing (or a HEAD) describes it.
#[derive(Debug, Default, Clone)]
pub struct BlobItem {
    pub name: String,
    pub size: u64,
    pub last_modified: Option<SystemTime>,
    /// Content-MD5, base64.
    pub content_md5: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub access_tier: Option<String>,
    /// Whether the tier is the account default rather than set on the blob.
    pub tier_inferred: bool,
    /// Keys lowercased (Azure treats them case-insensitively).
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Default)]
pub(crate) struct Page {
    pub blobs: Vec<BlobItem>,
    /// Virtual directories (`<BlobPrefix><Name>dir/</Name>`), full names.
    pub prefixes: Vec<String>,
    pub containers: Vec<(String, Option<SystemTime>)>,
    pub next_marker: Option<String>,
}

/// Parses one page; a name that can't be decoded is reported and left out.
pub(crate) fn parse_page(xml: &str) -> Result<Page, String> {
    let mut reader = Reader::from_str(xml.trim_start_matches('\u{feff}'));
    let mut page = Page::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut encoded = false;
    let mut blob = BlobItem::default();
    let mut container: (String, Option<SystemTime>) = (String::new(), None);
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "unreadable listing at byte {}: {e}",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                encoded = name == "Name"
                    && e.try_get_attribute("Encoded")
                        .ok()
                        .flatten()
                        .is_some_and(|a| a.value.as_ref() == b"true");
                match name.as_str() {
                    "Blob" => blob = BlobItem::default(),
                    "Container" => container = (String::new(), None),
                    _ => {}
                }
                stack.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => text.push_str(s),
                        None => return Err(format!("unknown XML entity &{name};")),
                    }
                }
            }
            Event::End(_) => {
                let value = std::mem::take(&mut text);
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                leaf(&path, value, encoded, &mut page, &mut blob, &mut container)?;
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(page)
}

/// Files the text of a just-closed element where it belongs.
fn leaf(
    path: &[&str],
    value: String,
    encoded: bool,
    page: &mut Page,
    blob: &mut BlobItem,
    container: &mut (String, Option<SystemTime>),
) -> Result<(), String> {
    let name = |v: String| -> Result<String, String> {
        if encoded {
            percent_decode_str(&v)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("blob name {v:?} is not UTF-8 once decoded"))
        } else {
            Ok(v)
        }
    };
    match path {
        [.., "Blobs", "Blob"] => page.blobs.push(std::mem::take(blob)),
        [.., "Blob", "Name"] => blob.name = name(value)?,
        [.., "Blob", "Properties", field] => match *field {
            "Content-Length" => blob.size = value.trim().parse().unwrap_or(0),
            "Last-Modified" => blob.last_modified = parse_http_date(&value),
            "Content-MD5" if !value.trim().is_empty() => blob.content_md5 = Some(value),
            "Content-Type" => blob.content_type = Some(value),
            "Cache-Control" => blob.cache_control = Some(value),
            "Content-Disposition" => blob.content_disposition = Some(value),
            "Content-Encoding" => blob.content_encoding = Some(value),
            "Content-Language" => blob.content_language = Some(value),
            "AccessTier" => blob.access_tier = Some(value),
            "AccessTierInferred" => blob.tier_inferred = value.trim() == "true",
            _ => {}
        },
        [.., "Blob", "Metadata", key] => {
            blob.metadata.insert(key.to_ascii_lowercase(), value);
        }
        [.., "BlobPrefix", "Name"] => page.prefixes.push(name(value)?),
        [.., "Containers", "Container"] => page.containers.push(std::mem::take(container)),
        [.., "Container", "Name"] => container.0 = value,
        [.., "Container", "Properties", "Last-Modified"] => container.1 = parse_http_date(&value),
        ["EnumerationResults", "NextMarker"] => {
            page.next_marker = Some(value).filter(|m| !m.is_empty());
        }
        _ => {}
    }
    Ok(())
}

/// Get Blob Tags' `<Tags><TagSet><Tag><Key>…</Key><Value>…</Value></Tag>…`, in order.
pub(crate) fn parse_tags(xml: &str) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader::from_str(xml.trim_start_matches('\u{feff}'));
    let mut tags = Vec::new();
    let (mut key, mut text) = (String::new(), String::new());
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("unreadable tags: {e}"))?
        {
            Event::Start(_) => text.clear(),
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                match (
                    r.resolve_char_ref(),
                    quick_xml::escape::resolve_predefined_entity(&name),
                ) {
                    (Ok(Some(c)), _) => text.push(c),
                    (_, Some(s)) => text.push_str(s),
                    _ => return Err(format!("unknown XML entity &{name};")),
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"Key" => key = std::mem::take(&mut text),
                b"Value" => tags.push((std::mem::take(&mut key), std::mem::take(&mut text))),
                _ => {}
            },
            Event::Eof => return Ok(tags),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"c\">\
<Prefix>d/</Prefix><Delimiter>/</Delimiter><Blobs>\
<Blob><Name> lead &amp; trail </Name><Properties><Last-Modified>Tue, 14 Nov 2023 22:13:20 GMT</Last-Modified>\
<Content-Length>12</Content-Length><Content-Type>text/plain</Content-Type><Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5>\
<AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred></Properties>\
<Metadata><MTime>2023-11-14T22:13:20.5Z</MTime><other>x&lt;y</other></Metadata></Blob>\
<BlobPrefix><Name>d/sub/</Name></BlobPrefix>\
<Blob><Name Encoded=\"true\">d%2Fa%EF%BF%BEb</Name><Properties><Content-Length>0</Content-Length><Content-MD5 /></Properties><Metadata/></Blob>\
</Blobs><NextMarker>2!abc</NextMarker></EnumerationResults>";

    #[test]
    fn reads_blobs_prefixes_metadata_and_marker() {
        let p = parse_page(PAGE).unwrap();
        assert_eq!(p.blobs.len(), 2);
        let b = &p.blobs[0];
        assert_eq!(b.name, " lead & trail ");
        assert_eq!(b.size, 12);
        assert_eq!(b.content_md5.as_deref(), Some("1B2M2Y8AsgTpgAmY7PhCfg=="));
        assert_eq!(b.content_type.as_deref(), Some("text/plain"));
        assert_eq!(b.access_tier.as_deref(), Some("Hot"));
        assert!(b.tier_inferred);
        assert_eq!(b.metadata["mtime"], "2023-11-14T22:13:20.5Z");
        assert_eq!(b.metadata["other"], "x<y");
        assert!(b.last_modified.is_some());
        assert_eq!(p.blobs[1].name, "d/a\u{fffe}b");
        assert_eq!(p.blobs[1].content_md5, None);
        assert_eq!(p.prefixes, vec!["d/sub/"]);
        assert_eq!(p.next_marker.as_deref(), Some("2!abc"));
    }

    #[test]
    fn reads_containers_and_an_empty_marker() {
        let xml = "<EnumerationResults><Containers><Container><Name>one</Name><Properties>\
<Last-Modified>Tue, 14 Nov 2023 22:13:20 GMT</Last-Modified></Properties></Container>\
<Container><Name>two</Name></Container></Containers><NextMarker /></EnumerationResults>";
        let p = parse_page(xml).unwrap();
        let names: Vec<&str> = p.containers.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["one", "two"]);
        assert!(p.containers[0].1.is_some());
        assert_eq!(p.next_marker, None);
    }

    #[test]
    fn reads_tags() {
        let xml =
            "<?xml version=\"1.0\"?><Tags><TagSet><Tag><Key>a b</Key><Value>x&amp;y</Value></Tag>\
<Tag><Key>k</Key><Value></Value></Tag></TagSet></Tags>";
        assert_eq!(
            parse_tags(xml).unwrap(),
            vec![
                ("a b".to_owned(), "x&y".to_owned()),
                ("k".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse_page("<EnumerationResults><Blobs></Blob>").is_err());
    }
}
