//! PROPFIND: what ferry asks for, and reading the `multistatus` answer into items, each
//! with the path its `href` names (percent-decoded, checked to lie in the listed folder).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use reqwest::Url;

/// The properties ferry reads, for plain servers.
pub(crate) const STANDARD_PROPS: &str = r#"<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:">
 <d:prop>
  <d:displayname/>
  <d:getlastmodified/>
  <d:getcontentlength/>
  <d:resourcetype/>
 </d:prop>
</d:propfind>
"#;

/// The same, plus ownCloud's checksums and permissions (ownCloud, Nextcloud).
pub(crate) const OWNCLOUD_PROPS: &str = r#"<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
 <d:prop>
  <d:displayname/>
  <d:getlastmodified/>
  <d:getcontentlength/>
  <d:resourcetype/>
  <oc:checksums/>
  <oc:permissions/>
 </d:prop>
</d:propfind>
"#;

/// A PROPPATCH setting the modification time (seconds since the epoch), as ownCloud and
/// Nextcloud take it.
pub(crate) fn set_mtime_body(secs: i64, checksum: Option<&str>) -> String {
    let checksum = checksum
        .map(|c| format!("<oc:checksums><oc:checksum>{c}</oc:checksum></oc:checksums>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<D:propertyupdate xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns">
 <D:set><D:prop><lastmodified xmlns="DAV:">{secs}</lastmodified>{checksum}</D:prop></D:set>
</D:propertyupdate>
"#
    )
}

/// One `response` of a multistatus.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Item {
    pub href: String,
    pub is_dir: bool,
    pub size: u64,
    pub modified: Option<SystemTime>,
    /// `oc:checksum` values (`SHA1:… MD5:… ADLER32:…`).
    pub checksums: Vec<String>,
    /// Fastmail's `sha1hex`.
    pub sha1hex: Option<String>,
    /// ownCloud's `oc:permissions` (`S`: shared, `M`: mounted).
    pub permissions: String,
    /// Whether any of its property groups came with a 2xx status (or none had a status).
    pub ok: bool,
}

impl Item {
    /// A lower-case hex checksum of `kind` (`sha1`, `md5`) from ownCloud's or Fastmail's
    /// properties.
    pub fn checksum(&self, kind: &str) -> Option<String> {
        for list in &self.checksums {
            for one in list.split_whitespace() {
                if let Some((k, v)) = one.split_once(':') {
                    if k.eq_ignore_ascii_case(kind) && !v.is_empty() {
                        return Some(v.to_ascii_lowercase());
                    }
                }
            }
        }
        (kind == "sha1")
            .then(|| self.sha1hex.as_ref().map(|h| h.to_ascii_lowercase()))
            .flatten()
    }
}

/// The properties of one `propstat` before its status says whether they count.
#[derive(Default)]
struct Group {
    item: Item,
    status_ok: Option<bool>,
}

/// Reads a multistatus body into its items.
pub(crate) fn parse(xml: &str) -> Result<Vec<Item>, String> {
    let mut reader = NsReader::from_str(xml.trim_start_matches('\u{feff}'));
    let mut items = Vec::new();
    let mut item: Option<Item> = None;
    let mut group: Option<Group> = None;
    // (is the DAV: namespace, local name) of each open element.
    let mut stack: Vec<(bool, String)> = Vec::new();
    let mut text = String::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("unreadable PROPFIND answer: {e}"))?;
        let dav = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == b"DAV:");
        match event {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                opened(dav, &local, &mut item, &mut group, &stack);
                stack.push((dav, local));
                text.clear();
            }
            Event::Empty(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                opened(dav, &local, &mut item, &mut group, &stack);
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let s = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown XML entity &{name};"))?;
                    text.push_str(s);
                }
            }
            Event::End(_) => {
                let Some((dav, local)) = stack.pop() else {
                    return Err("unbalanced PROPFIND answer".to_owned());
                };
                let value = std::mem::take(&mut text);
                closed(
                    dav, &local, value, &mut item, &mut group, &mut items, &stack,
                );
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(items)
}

fn opened(
    dav: bool,
    local: &str,
    item: &mut Option<Item>,
    group: &mut Option<Group>,
    stack: &[(bool, String)],
) {
    match (dav, local) {
        (true, "response") => *item = Some(Item::default()),
        (true, "propstat") if item.is_some() => *group = Some(Group::default()),
        (true, "collection") if in_prop(stack, "resourcetype") => {
            if let Some(g) = group {
                g.item.is_dir = true;
            }
        }
        _ => {}
    }
}

fn in_prop(stack: &[(bool, String)], name: &str) -> bool {
    stack.last().is_some_and(|(_, l)| l == name)
}

fn closed(
    dav: bool,
    local: &str,
    value: String,
    item: &mut Option<Item>,
    group: &mut Option<Group>,
    items: &mut Vec<Item>,
    stack: &[(bool, String)],
) {
    let value = value.trim();
    if let (Some(it), true, "href", None) = (item.as_mut(), dav, local, group.as_ref()) {
        if it.href.is_empty() {
            it.href = value.to_owned();
        }
        return;
    }
    if let (true, "response") = (dav, local) {
        if let Some(it) = item.take() {
            items.push(it);
        }
        return;
    }
    if let (true, "propstat") = (dav, local) {
        if let (Some(it), Some(g)) = (item.as_mut(), group.take()) {
            if g.status_ok != Some(false) {
                merge(it, g.item);
                it.ok = true;
            }
        }
        return;
    }
    let Some(g) = group.as_mut() else {
        return;
    };
    let p = &mut g.item;
    match (dav, local) {
        (true, "status") if stack.last().is_some_and(|(_, l)| l == "propstat") => {
            g.status_ok = Some(status_ok(value));
        }
        (true, "getcontentlength") => p.size = value.parse().unwrap_or(0),
        (true, "getlastmodified") => p.modified = Some(parse_time(value)),
        (true, "iscollection") => match value.to_ascii_lowercase().as_str() {
            "1" | "true" => p.is_dir = true,
            _ => {}
        },
        (_, "checksum") if !value.is_empty() => p.checksums.push(value.to_owned()),
        (_, "permissions") => p.permissions = value.to_owned(),
        (_, "sha1hex") if !value.is_empty() => p.sha1hex = Some(value.to_owned()),
        _ => {}
    }
}

fn merge(into: &mut Item, from: Item) {
    into.is_dir |= from.is_dir;
    if from.size != 0 {
        into.size = from.size;
    }
    into.modified = from.modified.or(into.modified);
    into.checksums.extend(from.checksums);
    into.sha1hex = from.sha1hex.or(into.sha1hex.take());
    if !from.permissions.is_empty() {
        into.permissions = from.permissions;
    }
}

/// `HTTP/1.1 200 OK` and other 2xx.
fn status_ok(status: &str) -> bool {
    let code = status.split_whitespace().nth(1).unwrap_or("");
    code.len() == 3 && code.starts_with('2')
}

/// A `getlastmodified` in the forms servers send (RFC 1123 as the standard says, with a
/// numeric zone, without leading zeros, Unix `date`, RFC 3339); the epoch if none fits.
pub(crate) fn parse_time(text: &str) -> SystemTime {
    use chrono::{DateTime, NaiveDateTime};
    let t = text.trim();
    let parsed = DateTime::parse_from_rfc2822(t)
        .or_else(|_| DateTime::parse_from_rfc3339(t))
        .map(|d| d.timestamp())
        .ok()
        .or_else(|| {
            let t = t.replace(" UTC ", " ");
            NaiveDateTime::parse_from_str(&t, "%a %b %e %H:%M:%S %Y")
                .ok()
                .map(|d| d.and_utc().timestamp())
        });
    match parsed {
        Some(secs) if secs >= 0 => UNIX_EPOCH + Duration::from_secs(secs as u64),
        Some(secs) => UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()),
        None => {
            tracing::debug!("webdav: unreadable time {t:?}; using the epoch");
            UNIX_EPOCH
        }
    }
}

/// Where an `href` lies relative to the folder `dir` (a URL ending in `/`) that was asked
/// about: `Ok(None)` for the folder itself, `Ok(Some(bytes))` for the stored name of a
/// direct child (percent-decoded), and an error for anything else.
pub(crate) fn child_name(dir: &Url, href: &str) -> Result<Option<Vec<u8>>, String> {
    let url = dir
        .join(href)
        .map_err(|_| format!("the server listed a bad href {href:?}"))?;
    // A folder's trailing slash is cut before decoding: an encoded one (`%2F`) is part of
    // a name, and makes it no name of ferry's.
    let decoded =
        |p: &str| -> Vec<u8> { percent_decode_str(p.strip_suffix('/').unwrap_or(p)).collect() };
    let folder = decoded(dir.path());
    let got = decoded(url.path());
    if got == folder {
        return Ok(None);
    }
    let rest = got
        .strip_prefix(folder.as_slice())
        .and_then(|r| r.strip_prefix(b"/"))
        .ok_or_else(|| {
            format!("the server listed {href:?}, which is not inside the folder listed; skipped")
        })?;
    if rest.is_empty() || rest.contains(&b'/') || rest == b"." || rest == b".." {
        return Err(format!(
            "the server listed {href:?}, which is not directly inside the folder listed; skipped"
        ));
    }
    Ok(Some(rest.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns">
 <D:response><D:href>/dav/dir/</D:href>
  <D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>
   <D:getlastmodified>Sat, 05 Dec 2026 06:51:53 GMT</D:getlastmodified></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
 <D:response><D:href>http://h:1/dav/dir/a%20b%26c.txt</D:href>
  <D:propstat><D:prop><D:resourcetype/><D:getcontentlength>12</D:getcontentlength>
   <D:getlastmodified>Fri, 7 Sep 2018 08:49:58 GMT</D:getlastmodified>
   <oc:checksums><oc:checksum>SHA1:F572D396 MD5:b1946ac9 ADLER32:084b021f</oc:checksum></oc:checksums>
   <oc:permissions>RDNVWS</oc:permissions></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat>
  <D:propstat><D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>
 <D:response><D:href>/dav/dir/sub/</D:href>
  <D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
 <D:response><D:href>/dav/dir/gone</D:href>
  <D:propstat><D:prop/><D:status>HTTP/1.1 403 Forbidden</D:status></D:propstat></D:response>
</D:multistatus>"#;

    #[test]
    fn a_listing_reads_into_items() {
        let items = parse(LISTING).unwrap();
        assert_eq!(items.len(), 4);
        assert!(items[0].is_dir && items[0].ok);
        let f = &items[1];
        assert_eq!(f.href, "http://h:1/dav/dir/a%20b%26c.txt");
        assert_eq!((f.is_dir, f.size, f.ok), (false, 12, true));
        assert_eq!(
            f.modified,
            Some(UNIX_EPOCH + Duration::from_secs(1_536_310_198))
        );
        assert_eq!(f.checksum("sha1").as_deref(), Some("f572d396"));
        assert_eq!(f.checksum("md5").as_deref(), Some("b1946ac9"));
        assert_eq!(f.permissions, "RDNVWS");
        assert!(items[2].is_dir);
        assert!(!items[3].ok);
    }

    #[test]
    fn hrefs_resolve_inside_the_folder_only() {
        let dir = Url::parse("http://h:1/dav/dir/").unwrap();
        assert_eq!(child_name(&dir, "/dav/dir/"), Ok(None));
        assert_eq!(child_name(&dir, "/dav/dir"), Ok(None));
        assert_eq!(
            child_name(&dir, "a%20b%26c.txt").unwrap().unwrap(),
            b"a b&c.txt"
        );
        // A name holding an encoded slash can't be one of ferry's names.
        assert!(child_name(&dir, "http://h:1/dav/dir/x%2Fy").is_err());
        for bad in [
            "..%2F",
            "x%2F",
            "/dav/dir/%2E%2E",
            "/dav/other",
            "/dav/dir/../../etc/passwd",
            "/dav/dir/a/b",
            "/dav/dir/%2e%2e/x",
            "http://h:1/dav/dirx/y",
        ] {
            assert!(child_name(&dir, bad).is_err(), "{bad}");
        }
        assert_eq!(
            child_name(&dir, "/dav/dir/%C3%BC/").unwrap().unwrap(),
            "ü".as_bytes()
        );
        assert_eq!(child_name(&dir, "/dav/dir/%FF").unwrap().unwrap(), [0xFF]);
    }

    #[test]
    fn times_in_the_forms_servers_send() {
        let t = |s| parse_time(s).duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(t("Wed, 27 Sep 2017 14:28:34 GMT"), 1_506_522_514);
        assert_eq!(t("Wed, 27 Sep 2017 14:28:34 +0000"), 1_506_522_514);
        assert_eq!(t("Wed Sep 27 14:28:34 UTC 2017"), 1_506_522_514);
        assert_eq!(t("2017-09-27T14:28:34Z"), 1_506_522_514);
        assert_eq!(t("nonsense"), 0);
    }
}
