//! The Content-Type azcopy gives an uploaded file when none is asked for: its own table
//! for the common web types (no charset), else Go's table by extension with parameters
//! dropped, else what the file's first bytes look like (Go's `http.DetectContentType`,
//! the signatures that matter for files, again without parameters).

use super::{extension, MimeTable};
use std::sync::OnceLock;

/// How many leading bytes the sniffing looks at (Go's limit).
pub const SNIFF_LEN: usize = 512;

/// azcopy's short-circuit table for static website files.
const AZCOPY_BUILTIN: &[(&str, &str)] = &[
    (".css", "text/css"),
    (".gif", "image/gif"),
    (".htm", "text/html"),
    (".html", "text/html"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".js", "application/javascript"),
    (".mjs", "application/javascript"),
    (".pdf", "application/pdf"),
    (".png", "image/png"),
    (".svg", "image/svg+xml"),
    (".wasm", "application/wasm"),
    (".webp", "image/webp"),
    (".xml", "text/xml"),
];

/// The type azcopy stores for a file called `name` whose content starts with `head`.
pub fn content_type(name: &str, head: &[u8]) -> String {
    static GO: OnceLock<MimeTable> = OnceLock::new();
    let ext = extension(name).to_lowercase();
    if let Some((_, ty)) = AZCOPY_BUILTIN.iter().find(|(e, _)| *e == ext) {
        return (*ty).to_owned();
    }
    let by_name = GO.get_or_init(MimeTable::go).by_extension(extension(name));
    let ty = match by_name {
        Some(t) if !extension(name).is_empty() => t,
        _ => sniff(head),
    };
    ty.split(';').next().unwrap_or(ty).trim().to_owned()
}

/// Magic numbers, tried in order (Go's list, the file formats of it).
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"%PDF-", "application/pdf"),
    (b"%!PS-Adobe-", "application/postscript"),
    (b"\xFE\xFF", "text/plain; charset=utf-16be"),
    (b"\xFF\xFE", "text/plain; charset=utf-16le"),
    (b"\xEF\xBB\xBF", "text/plain; charset=utf-8"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"\x00\x00\x02\x00", "image/x-icon"),
    (b"BM", "image/bmp"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    (b"\xFF\xD8\xFF", "image/jpeg"),
    (b".snd", "audio/basic"),
    (b"FORM", "audio/aiff"),
    (b"ID3", "audio/mpeg"),
    (b"OggS\x00", "application/ogg"),
    (b"MThd\x00\x00\x00\x06", "audio/midi"),
    (b"\x1A\x45\xDF\xA3", "video/webm"),
    (b"\x1F\x8B\x08", "application/x-gzip"),
    (b"PK\x03\x04", "application/zip"),
    (b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    (b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    (b"\x00\x61\x73\x6D", "application/wasm"),
];

/// The HTML tags whose opening (after white space, any case, then a space or `>`)
/// makes a file HTML.
const HTML_TAGS: &[&str] = &[
    "<!DOCTYPE HTML",
    "<HTML",
    "<HEAD",
    "<SCRIPT",
    "<IFRAME",
    "<H1",
    "<DIV",
    "<FONT",
    "<TABLE",
    "<A",
    "<STYLE",
    "<TITLE",
    "<B",
    "<BODY",
    "<BR",
    "<P",
    "<!--",
];

/// What `head` looks like, as Go's content sniffing says.
pub fn sniff(head: &[u8]) -> &'static str {
    let head = &head[..head.len().min(SNIFF_LEN)];
    let text = {
        let start = head
            .iter()
            .position(|b| !matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' '))
            .unwrap_or(head.len());
        &head[start..]
    };
    for tag in HTML_TAGS {
        let t = tag.as_bytes();
        if text.len() > t.len()
            && text[..t.len()].eq_ignore_ascii_case(t)
            && matches!(text[t.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if text.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if let Some((_, ty)) = SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return ty;
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" {
        match &head[8..12] {
            b"WEBP" if head.len() >= 14 && &head[12..14] == b"VP" => return "image/webp",
            b"WAVE" => return "audio/wave",
            b"AVI " => return "video/avi",
            _ => {}
        }
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return "video/mp4";
    }
    let binary = |b: &u8| matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F);
    if head.iter().any(binary) {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_types_come_from_azcopys_own_table() {
        assert_eq!(content_type("site/index.HTML", b""), "text/html");
        assert_eq!(content_type("app.js", b""), "application/javascript");
        assert_eq!(content_type("a.json", b"{}"), "application/json");
    }

    #[test]
    fn other_names_lose_their_parameters_and_unknown_ones_are_sniffed() {
        // No extension: the bytes decide.
        assert_eq!(content_type("README", b"hello\n"), "text/plain");
        assert_eq!(
            content_type("blob", b"\x00\x01\x02"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type("noext", b"\x89PNG\x0D\x0A\x1A\x0Arest"),
            "image/png"
        );
        assert_eq!(content_type("page", b"  <html><body>"), "text/html");
        assert_eq!(content_type("empty", b""), "text/plain");
    }

    #[test]
    fn sniffing_follows_gos_rules() {
        assert_eq!(sniff(b"%PDF-1.7"), "application/pdf");
        assert_eq!(sniff(b"<?xml version"), "text/xml; charset=utf-8");
        assert_eq!(sniff(b"<p>hi"), "text/html; charset=utf-8");
        // A tag must be followed by a space or `>`.
        assert_eq!(sniff(b"<pre>"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), "audio/wave");
        assert_eq!(sniff(b"PK\x03\x04zip"), "application/zip");
        assert_eq!(sniff(b"text\x1Bwith escape"), "text/plain; charset=utf-8");
    }
}
