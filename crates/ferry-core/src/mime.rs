//! MIME types from file names, as rclone (Go's `mime` package) guesses them.
//!
//! The table is built once, the way Go builds it: a small built-in table, then the
//! system's shared-mime-info `globs2` database if there is one (its entries never replace
//! built-in ones), else `/etc/mime.types`, `/etc/apache2/mime.types`,
//! `/etc/apache/mime.types` and `/etc/httpd/conf/mime.types` (later entries replace
//! earlier ones), then rclone's few extra types for extensions still unknown.
//! `text/*` types get `; charset=utf-8`. Unknown names are `application/octet-stream`,
//! directories `inode/directory`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

pub mod azcopy;

/// What `lsjson` shows for a directory.
pub const DIRECTORY: &str = "inode/directory";
/// What `lsjson` shows for a name with no known type.
pub const FALLBACK: &str = "application/octet-stream";

const BUILTIN: &[(&str, &str)] = &[
    (".avif", "image/avif"),
    (".css", "text/css; charset=utf-8"),
    (".gif", "image/gif"),
    (".htm", "text/html; charset=utf-8"),
    (".html", "text/html; charset=utf-8"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".js", "text/javascript; charset=utf-8"),
    (".json", "application/json"),
    (".mjs", "text/javascript; charset=utf-8"),
    (".pdf", "application/pdf"),
    (".png", "image/png"),
    (".svg", "image/svg+xml"),
    (".wasm", "application/wasm"),
    (".webp", "image/webp"),
    (".xml", "text/xml; charset=utf-8"),
];

/// rclone's additions, used only where nothing else knows the extension.
const RCLONE_EXTRA: &[(&str, &str)] = &[
    ("audio/flac", ".flac"),
    ("audio/mpeg", ".mpga,.mpega,.mp2,.mp3,.m4a"),
    ("audio/ogg", ".oga,.ogg,.opus,.spx"),
    ("audio/x-wav", ".wav"),
    ("image/tiff", ".tiff,.tif"),
    ("video/dv", ".dif,.dv"),
    ("video/fli", ".fli"),
    ("video/mpeg", ".mpeg,.mpg,.mpe"),
    ("video/MP2T", ".ts"),
    ("video/mp4", ".mp4"),
    ("video/quicktime", ".qt,.mov"),
    ("video/ogg", ".ogv"),
    ("video/webm", ".webm"),
    ("video/x-msvideo", ".avi"),
    ("video/x-matroska", ".mpv,.mkv"),
    ("application/x-subrip", ".srt"),
];

const GLOBS: &[&str] = &["/usr/local/share/mime/globs2", "/usr/share/mime/globs2"];
const TYPE_FILES: &[&str] = &[
    "/etc/mime.types",
    "/etc/apache2/mime.types",
    "/etc/apache/mime.types",
    "/etc/httpd/conf/mime.types",
];

/// Extension (with its dot) to type, exactly and lower-cased.
#[derive(Default)]
pub struct MimeTable {
    exact: HashMap<String, String>,
    lower: HashMap<String, String>,
}

impl MimeTable {
    /// The table rclone builds on this system: Go's, then rclone's extras.
    pub fn system() -> Self {
        let mut t = MimeTable::go();
        t.add_rclone_extras();
        t
    }

    /// The table Go's `mime` package would build on this system.
    pub fn go() -> Self {
        let mut t = MimeTable::builtin();
        if !GLOBS.iter().any(|f| t.load_globs(Path::new(f))) {
            for f in TYPE_FILES {
                t.load_types(Path::new(f));
            }
        }
        t
    }

    /// Only the built-in table and rclone's extras (no system files).
    pub fn builtin() -> Self {
        let mut t = MimeTable::default();
        for (ext, ty) in BUILTIN {
            t.set(ext, ty);
        }
        t
    }

    fn add_rclone_extras(&mut self) {
        for (ty, exts) in RCLONE_EXTRA {
            for ext in exts.split(',') {
                if self.by_extension(ext).is_none() {
                    self.set(ext, ty);
                }
            }
        }
    }

    fn set(&mut self, ext: &str, ty: &str) {
        let ty = with_charset(ty);
        self.lower.insert(ext.to_lowercase(), ty.clone());
        self.exact.insert(ext.to_owned(), ty);
    }

    /// Loads a shared-mime-info `globs2` file (`weight:type:*.ext`); `false` if unreadable.
    pub fn load_globs(&mut self, path: &Path) -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        self.parse_globs(&text);
        true
    }

    /// Parses `globs2` text: first entry per extension wins, built-in entries are kept.
    pub fn parse_globs(&mut self, text: &str) {
        for line in text.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 3 || fields[0].is_empty() || fields[2].len() < 3 {
                continue;
            }
            if fields[0].starts_with('#') || !fields[2].starts_with("*.") {
                continue;
            }
            let ext = &fields[2][1..];
            if ext.contains(['?', '*', '[']) || self.exact.contains_key(ext) {
                continue;
            }
            self.set(ext, fields[1]);
        }
    }

    /// Loads an Apache-style `mime.types` file; later entries replace earlier ones.
    pub fn load_types(&mut self, path: &Path) {
        if let Ok(text) = std::fs::read_to_string(path) {
            self.parse_types(&text);
        }
    }

    pub fn parse_types(&mut self, text: &str) {
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() <= 1 || fields[0].starts_with('#') {
                continue;
            }
            for ext in &fields[1..] {
                if ext.starts_with('#') {
                    break;
                }
                self.set(&format!(".{ext}"), fields[0]);
            }
        }
    }

    /// The type for an extension such as `.txt` (case-sensitive first, then lower-cased).
    pub fn by_extension(&self, ext: &str) -> Option<&str> {
        self.exact
            .get(ext)
            .or_else(|| self.lower.get(&ext.to_lowercase()))
            .map(String::as_str)
    }

    /// The type for a file name or path, `application/octet-stream` when unknown.
    pub fn for_name(&self, name: &str) -> &str {
        match self.by_extension(extension(name)) {
            Some(t) if t.contains('/') => t,
            _ => FALLBACK,
        }
    }
}

/// Go's `path.Ext`: from the last dot of the last segment, or "".
pub fn extension(path: &str) -> &str {
    let base_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[base_start..].rfind('.') {
        Some(i) => &path[base_start + i..],
        None => "",
    }
}

/// rclone's split of a name before its extensions: the last extension always, earlier
/// ones while they are known file types (`file.tar.gz` keeps `.tar.gz`, `v1.2.txt` only
/// `.txt`), so a suffix can go between (`--suffix-keep-extension`, bisync's conflict
/// names, `--name-transform suffix_keep_extension=`).
pub fn split_extension(path: &str) -> (&str, &str) {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let mut base_end = path.len();
    let mut first = true;
    loop {
        let name = &path[name_start..base_end];
        let Some(dot) = name.rfind('.') else { break };
        if !first && mime_type(&name[dot..]) == FALLBACK {
            break;
        }
        base_end = name_start + dot;
        first = false;
    }
    (&path[..base_end], &path[base_end..])
}

fn with_charset(ty: &str) -> String {
    let ty = ty.trim();
    if ty.len() > 5 && ty[..5].eq_ignore_ascii_case("text/") && !ty.contains("charset=") {
        format!("{}; charset=utf-8", ty.to_lowercase())
    } else {
        ty.to_owned()
    }
}

/// The MIME type of a file name, from the system table (built on first use).
pub fn mime_type(name: &str) -> &'static str {
    static TABLE: OnceLock<MimeTable> = OnceLock::new();
    TABLE.get_or_init(MimeTable::system).for_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_fallback() {
        let t = MimeTable::builtin();
        assert_eq!(t.for_name("a/b.HTML"), "text/html; charset=utf-8");
        assert_eq!(t.for_name("x.json"), "application/json");
        assert_eq!(t.for_name("noext"), FALLBACK);
        assert_eq!(t.for_name("dir.d/noext"), FALLBACK);
        assert_eq!(extension("a/.bashrc"), ".bashrc");
    }

    #[test]
    fn mime_types_files_override_and_add_charset() {
        let mut t = MimeTable::builtin();
        t.parse_types("# comment\ntext/markdown md markdown # trailing\napplication/x-foo json\n");
        assert_eq!(t.for_name("r.md"), "text/markdown; charset=utf-8");
        assert_eq!(t.for_name("r.markdown"), "text/markdown; charset=utf-8");
        assert_eq!(t.for_name("x.json"), "application/x-foo");
    }

    #[test]
    fn globs_keep_first_and_builtin() {
        let mut t = MimeTable::builtin();
        t.parse_globs("# x\n50:text/plain:*.txt\n40:text/x-other:*.txt\n50:application/x-j:*.json\n50:image/x:*.[ab]\n");
        assert_eq!(t.for_name("a.txt"), "text/plain; charset=utf-8");
        assert_eq!(t.for_name("a.json"), "application/json");
        t.add_rclone_extras();
        assert_eq!(t.for_name("a.srt"), "application/x-subrip");
    }
}
