//! `ls`, `lsl`, `lsd`, `lsf`, `lsjson` and `tree`, with rclone's output formats.

use std::io::Write;
use std::time::{Duration, SystemTime};

use clap::Args;
use ferry_core::mime::{mime_type, DIRECTORY};
use ferry_core::timefmt::{go_format, named_layout};
use ferry_core::{shown, Entry, HashKind};

use crate::args::FilterArgs;
use crate::cmd::listing::{self, count_field, json_string, local, size_field, Listing};
use crate::exit::{self, fail, USAGE};
use crate::Globals;

/// Buffered stdout; a closed pipe (e.g. `| head`) ends output quietly.
pub struct Out(std::io::BufWriter<std::io::StdoutLock<'static>>);

impl Out {
    pub fn new() -> Self {
        Out(std::io::BufWriter::new(std::io::stdout().lock()))
    }
    pub fn line(&mut self, s: &str) {
        self.raw(s.as_bytes());
        self.raw(b"\n");
    }
    pub fn raw(&mut self, b: &[u8]) {
        if let Err(e) = self.0.write_all(b) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(exit::SUCCESS);
            }
        }
    }
    pub fn flush(&mut self) {
        let _ = self.0.flush();
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.flush();
    }
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Path to list (a directory or a single file)
    pub path: String,
    /// Print sizes with a binary suffix (Ki, Mi, Gi, Ti, Pi), as rclone's global flag does
    #[arg(long, env = "FERRY_HUMAN_READABLE")]
    pub human_readable: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Args, Debug)]
pub struct LsdArgs {
    /// Path to list
    pub path: String,
    /// Recurse into the listing (also --recursive)
    #[arg(short = 'R')]
    pub recurse: bool,
    /// Print sizes with a binary suffix (Ki, Mi, Gi, Ti, Pi), as rclone's global flag does
    #[arg(long, env = "FERRY_HUMAN_READABLE")]
    pub human_readable: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// Walks the listing, calling `f` for each selected entry in order.
/// Walks the listing, calling `f` for each selected entry in order; with `exact`, files'
/// mtimes are made exact first. Returns the walk's report and the mtimes that failed.
async fn each_entry(
    cmd: &str,
    l: &Listing,
    flat: bool,
    exact: bool,
    mut f: impl FnMut(&Entry),
) -> anyhow::Result<(ferry_engine::WalkReport, u64)> {
    let mut walker = if flat { l.flat_walker() } else { l.walker() };
    let mut failed = 0;
    while let Some((_, mut entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error(cmd, e))?
    {
        if exact {
            failed += listing::exact_mtimes(&*l.backend, &mut entries).await;
        }
        entries.iter().for_each(&mut f);
    }
    Ok((walker.into_report(), failed))
}

/// `ls` (size and path) and `lsl` (size, modification time and path), recursive.
pub async fn ls(a: &LsArgs, g: &Globals, long: bool) -> anyhow::Result<i32> {
    let cmd = if long { "lsl" } else { "ls" };
    let l = listing::open(g, &a.path, &a.filters, true).await?;
    let mut out = Out::new();
    let (report, failed) = each_entry(cmd, &l, true, long, |e| {
        if e.is_dir() {
            return;
        }
        let size = size_field(e.shown_size(), a.human_readable, 9);
        if long {
            let t = go_format(&local(e.mtime), "2006-01-02 15:04:05.000000000");
            out.line(&format!("{size} {t} {}", shown::name(e.path.as_str())));
        } else {
            out.line(&format!("{size} {}", shown::name(e.path.as_str())));
        }
    })
    .await?;
    out.flush();
    listing::finish(cmd, &report, failed)
}

/// `lsd`: directories only; `-R` recurses.
pub async fn lsd(a: &LsdArgs, g: &Globals) -> anyhow::Result<i32> {
    let l = listing::open(g, &a.path, &a.filters, recursive(a.recurse, &a.filters)).await?;
    let mut out = Out::new();
    let (report, _) = each_entry("lsd", &l, false, false, |e| {
        if !e.is_dir() {
            return;
        }
        let t = go_format(&local(e.mtime), "2006-01-02 15:04:05");
        let size = size_field(listing::dir_size(e), a.human_readable, 12);
        // Directories' item counts are unknown (-1), as from rclone's local backend.
        let count = count_field(-1, a.human_readable, 9);
        out.line(&format!(
            "{size} {t:>13} {count} {}",
            shown::name(e.path.as_str())
        ));
    })
    .await?;
    out.flush();
    listing::finish("lsd", &report, 0)
}

/// `-R`, or `--recursive` (which the filter flags define for azcopy's `--recursive=false`).
fn recursive(short: bool, filters: &FilterArgs) -> bool {
    short || filters.recursive == Some(true)
}

#[derive(Args, Debug)]
pub struct LsfArgs {
    /// Path to list
    pub path: String,
    /// Output format: p path, s size, t modification time, h hash, i ID, o original ID,
    /// m MIME type, e encrypted name, T tier, M metadata
    #[arg(short = 'F', long, default_value = "p")]
    pub format: String,
    /// Time format, a Go layout or name such as RFC3339, or max, unix, unixnano
    /// (default: 2006-01-02 15:04:05)
    #[arg(short = 't', long, default_value = "")]
    pub time_format: String,
    /// Separator for the items in the format (default ";", or "," with --csv)
    #[arg(short = 's', long, allow_hyphen_values = true)]
    pub separator: Option<String>,
    /// Append a slash to directory names
    #[arg(short = 'd', long, default_value = "true")]
    pub dir_slash: bool,
    /// Use this hash when h is used in the format
    #[arg(long, default_value = "md5", value_parser = parse_hash)]
    pub hash: HashKind,
    /// Only list files
    #[arg(long)]
    pub files_only: bool,
    /// Only list directories
    #[arg(long)]
    pub dirs_only: bool,
    /// Output in CSV format
    #[arg(long)]
    pub csv: bool,
    /// Put a leading / in front of path names
    #[arg(long)]
    pub absolute: bool,
    /// Recurse into the listing (also --recursive)
    #[arg(short = 'R')]
    pub recurse: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

pub fn parse_hash(s: &str) -> Result<HashKind, String> {
    s.parse()
}

/// Which entries `--files-only`/`--dirs-only` keep: (files, dirs). Both flags
/// together show nothing, as in rclone.
fn kind_filter(files_only: bool, dirs_only: bool) -> (bool, bool) {
    (!dirs_only, !files_only)
}

/// Go's `encoding/csv` quoting for one field.
fn csv_field(field: &str, comma: char) -> String {
    let needs = !field.is_empty()
        && (field == r"\."
            || field.contains(comma)
            || field.contains(['"', '\r', '\n'])
            || field.starts_with(|c: char| c.is_whitespace()));
    if needs {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// rclone's `--time-format max` for a backend's precision.
fn max_layout(precision: Option<Duration>) -> String {
    let p = precision.unwrap_or(Duration::from_secs(1));
    let digits = [
        (1u64, 9),
        (10, 8),
        (100, 7),
        (1_000, 6),
        (10_000, 5),
        (100_000, 4),
        (1_000_000, 3),
        (10_000_000, 2),
        (100_000_000, 1),
    ]
    .iter()
    .find(|(ns, _)| p.as_nanos() <= *ns as u128)
    .map_or(0, |(_, d)| *d);
    if digits == 0 {
        "2006-01-02 15:04:05".to_owned()
    } else {
        format!("2006-01-02 15:04:05.{}", "0".repeat(digits))
    }
}

pub async fn lsf(a: &LsfArgs, g: &Globals) -> anyhow::Result<i32> {
    for c in a.format.chars() {
        match c {
            'p' | 's' | 't' | 'h' | 'i' | 'o' | 'm' | 'T' => {}
            'e' => return Err(fail(exit::ERROR, "Failed to lsf: the remote needs to be of type \"crypt\"")),
            'M' => {}
            other => return Err(fail(exit::ERROR, format!("Failed to lsf: unknown format character {other:?}: use the letters p, s, t, h, i, o, m, e, T, M"))),
        }
    }
    let l = listing::open(g, &a.path, &a.filters, recursive(a.recurse, &a.filters)).await?;
    let (files, dirs) = kind_filter(a.files_only, a.dirs_only);
    let separator = match (&a.separator, a.csv) {
        (Some(s), _) => s.clone(),
        (None, true) => ",".to_owned(),
        (None, false) => ";".to_owned(),
    };
    let comma = separator.chars().next().unwrap_or(',');
    let layout = match a.time_format.as_str() {
        "" => "2006-01-02 15:04:05".to_owned(),
        "max" => max_layout(l.backend.features().semantics.modtime_precision),
        other => named_layout(other).to_owned(),
    };
    let want_hash = a.format.contains('h');
    let mut out = Out::new();
    let mut walker = l.flat_walker();
    let mut hash_errors = 0;
    let want_time = a.format.contains('t');
    while let Some((_, mut entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error("lsf", e))?
    {
        if want_time {
            hash_errors += listing::exact_mtimes(&*l.backend, &mut entries).await;
        }
        for e in entries {
            if (e.is_dir() && !dirs) || (!e.is_dir() && !files) {
                continue;
            }
            let hash = if want_hash && !e.is_dir() {
                match listing::hashes_of(&*l.backend, &e, &[a.hash], false).await {
                    Ok(h) => h.get(a.hash).unwrap_or("").to_owned(),
                    Err(err) => {
                        tracing::error!("{}: Failed to read hash: {err}", e.path);
                        hash_errors += 1;
                        String::new()
                    }
                }
            } else {
                String::new()
            };
            let metadata = if a.format.contains('M') {
                listing::metadata_of(&*l.backend, &e, &mut hash_errors).await
            } else {
                None
            };
            let fields: Vec<String> = a
                .format
                .chars()
                .map(|c| match c {
                    'p' => {
                        let mut p = shown::name(e.path.as_str()).into_owned();
                        if a.absolute {
                            p.insert(0, '/');
                        }
                        if e.is_dir() && a.dir_slash {
                            p.push('/');
                        }
                        p
                    }
                    's' => if e.is_dir() { -1 } else { e.shown_size() }.to_string(),
                    't' => match a.time_format.as_str() {
                        "unix" => unix_secs(e.mtime).to_string(),
                        "unixnano" => unix_nanos(e.mtime).to_string(),
                        _ => go_format(&local(e.mtime), &layout),
                    },
                    'h' => hash.clone(),
                    'M' => listing::json_map(&metadata.clone().unwrap_or_default()),
                    'm' => mime_of(&e),
                    'T' => e.tier.clone().unwrap_or_default(),
                    _ => String::new(),
                })
                .collect();
            let line = if a.csv {
                fields
                    .iter()
                    .map(|f| csv_field(f, comma))
                    .collect::<Vec<_>>()
                    .join(&comma.to_string())
            } else {
                fields.join(&separator)
            };
            out.line(&line);
        }
    }
    out.flush();
    listing::finish("lsf", walker.report(), hash_errors)
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

#[derive(Args, Debug)]
pub struct LsjsonArgs {
    /// Path to list
    pub path: String,
    /// Recurse into the listing (also --recursive)
    #[arg(short = 'R')]
    pub recurse: bool,
    /// Include hashes in the output (may take longer)
    #[arg(long)]
    pub hash: bool,
    /// Show only this hash type (may be repeated)
    // Checked when the command runs, as rclone does: an unknown name is exit 1, not 2.
    #[arg(long)]
    pub hash_type: Vec<String>,
    /// Don't read the modification time (can speed things up)
    #[arg(long)]
    pub no_modtime: bool,
    /// Don't read the mime type (can speed things up)
    #[arg(long)]
    pub no_mimetype: bool,
    /// Show the ID of the underlying Object
    #[arg(long)]
    pub original: bool,
    /// Show only files in the listing
    #[arg(long)]
    pub files_only: bool,
    /// Show only directories in the listing
    #[arg(long)]
    pub dirs_only: bool,
    /// Just return the info for the pointed to file
    #[arg(long)]
    pub stat: bool,
    /// Show the encrypted names
    #[arg(long)]
    pub encrypted: bool,
    /// Add metadata to the listing
    #[arg(short = 'M', long)]
    pub metadata: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// One `lsjson` item, fields in rclone's order.
struct Item {
    path: String,
    name: String,
    size: i64,
    mime: Option<String>,
    mtime: String,
    is_dir: bool,
    hashes: Vec<(&'static str, String)>,
    tier: Option<String>,
    metadata: Option<Vec<(String, String)>>,
}

impl Item {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("Path", json_string(&self.path)),
            ("Name", json_string(&self.name)),
            ("Size", self.size.to_string()),
        ];
        if let Some(m) = &self.mime {
            f.push(("MimeType", json_string(m)));
        }
        f.push(("ModTime", json_string(&self.mtime)));
        f.push(("IsDir", self.is_dir.to_string()));
        f
    }

    fn compact(&self) -> String {
        let mut s: Vec<String> = self
            .fields()
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        if !self.hashes.is_empty() {
            let h: Vec<String> = self
                .hashes
                .iter()
                .map(|(k, v)| format!("\"{k}\":{}", json_string(v)))
                .collect();
            s.push(format!("\"Hashes\":{{{}}}", h.join(",")));
        }
        if let Some(t) = &self.tier {
            s.push(format!("\"Tier\":{}", json_string(t)));
        }
        if let Some(m) = self.metadata.as_ref().filter(|m| !m.is_empty()) {
            s.push(format!("\"Metadata\":{}", listing::json_map(m)));
        }
        format!("{{{}}}", s.join(","))
    }

    fn indented(&self) -> String {
        let mut s: Vec<String> = self
            .fields()
            .into_iter()
            .map(|(k, v)| format!("\t\"{k}\": {v}"))
            .collect();
        if !self.hashes.is_empty() {
            let h: Vec<String> = self
                .hashes
                .iter()
                .map(|(k, v)| format!("\t\t\"{k}\": {}", json_string(v)))
                .collect();
            s.push(format!("\t\"Hashes\": {{\n{}\n\t}}", h.join(",\n")));
        }
        if let Some(t) = &self.tier {
            s.push(format!("\t\"Tier\": {}", json_string(t)));
        }
        if let Some(m) = self.metadata.as_ref().filter(|m| !m.is_empty()) {
            let h: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("\t\t{}: {}", json_string(k), json_string(v)))
                .collect();
            s.push(format!("\t\"Metadata\": {{\n{}\n\t}}", h.join(",\n")));
        }
        format!("{{\n{}\n}}", s.join(",\n"))
    }
}

/// lsjson's time layout for a backend's precision.
fn json_layout(precision: Option<Duration>) -> String {
    let l = max_layout(precision);
    let frac = l.strip_prefix("2006-01-02 15:04:05").unwrap_or("");
    format!("2006-01-02T15:04:05{frac}Z07:00")
}

struct JsonCtx<'a> {
    a: &'a LsjsonArgs,
    layout: String,
    kinds: Vec<HashKind>,
}

impl JsonCtx<'_> {
    async fn item(&self, l: &Listing, e: &Entry, errors: &mut u64) -> Item {
        let a = self.a;
        let mut hashes = Vec::new();
        if !e.is_dir() && !self.kinds.is_empty() {
            match listing::hashes_of(&*l.backend, e, &self.kinds, false).await {
                Ok(h) => {
                    for k in &self.kinds {
                        if let Some(v) = h.get(*k) {
                            hashes.push((k.name(), v.to_owned()));
                        }
                    }
                }
                Err(err) => {
                    tracing::error!("{}: Failed to read hash: {err}", e.path);
                    *errors += 1;
                }
            }
            hashes.sort();
        }
        Item {
            path: e.path.to_string(),
            name: e.name().to_owned(),
            size: if e.is_dir() {
                listing::dir_size(e)
            } else {
                e.shown_size()
            },
            mime: (!a.no_mimetype).then(|| mime_of(e)),
            mtime: if a.no_modtime {
                String::new()
            } else {
                go_format(&local(e.mtime), &self.layout)
            },
            is_dir: e.is_dir(),
            hashes,
            tier: e.tier.clone().filter(|t| !t.is_empty()),
            metadata: if a.metadata {
                listing::metadata_of(&*l.backend, e, errors).await
            } else {
                None
            },
        }
    }
}

pub async fn lsjson(a: &LsjsonArgs, g: &Globals) -> anyhow::Result<i32> {
    if a.encrypted {
        return Err(fail(
            exit::ERROR,
            "Failed to lsjson: the remote needs to be of type \"crypt\"",
        ));
    }
    let l = listing::open(g, &a.path, &a.filters, recursive(a.recurse, &a.filters)).await?;
    let kinds: Vec<HashKind> = if !a.hash_type.is_empty() {
        a.hash_type
            .iter()
            .map(|h| parse_hash(h).map_err(|e| fail(exit::ERROR, format!("Failed to lsjson: {e}"))))
            .collect::<anyhow::Result<_>>()?
    } else if a.hash {
        l.backend.features().semantics.hashes.iter().collect()
    } else {
        Vec::new()
    };
    let ctx = JsonCtx {
        a,
        layout: json_layout(l.backend.features().semantics.modtime_precision),
        kinds,
    };
    let (files, dirs) = kind_filter(a.files_only, a.dirs_only);
    let mut errors = 0;
    let mut out = Out::new();
    if a.stat {
        return stat(&ctx, &l, files, dirs, &mut out).await;
    }
    out.line("[");
    let mut first = true;
    let mut walker = l.flat_walker();
    loop {
        let next = match walker.next_dir().await {
            Ok(n) => n,
            Err(e) => {
                out.flush();
                return Err(listing::walk_error("lsjson", e));
            }
        };
        let Some((_, mut entries)) = next else { break };
        if !a.no_modtime {
            errors += listing::exact_mtimes(&*l.backend, &mut entries).await;
        }
        for e in entries {
            if (e.is_dir() && !dirs) || (!e.is_dir() && !files) {
                continue;
            }
            let item = ctx.item(&l, &e, &mut errors).await;
            if !first {
                out.raw(b",\n");
            }
            first = false;
            out.raw(item.compact().as_bytes());
        }
    }
    if !first {
        out.raw(b"\n");
    }
    out.line("]");
    out.flush();
    listing::finish("lsjson", walker.report(), errors)
}

/// `lsjson --stat`: the one item for the path (a file, or the directory itself).
async fn stat(
    ctx: &JsonCtx<'_>,
    l: &Listing,
    files: bool,
    dirs: bool,
    out: &mut Out,
) -> anyhow::Result<i32> {
    let mut errors = 0;
    let item = match &l.file {
        Some(name) => {
            let path = ferry_core::RelPath::new(name).map_err(|e| fail(USAGE, e.to_string()))?;
            let entry = l
                .backend
                .stat(&path)
                .await
                .map_err(|e| listing::walk_error("lsjson", e))?;
            match entry {
                Some(e) if files => Some(ctx.item(l, &e, &mut errors).await),
                Some(_) => None,
                None => {
                    return Err(fail(
                        exit::FILE_NOT_FOUND,
                        format!("Failed to lsjson: object not found: {name}"),
                    ))
                }
            }
        }
        None => {
            l.backend
                .list_dir(&ferry_core::RelPath::root())
                .await
                .map_err(|e| {
                    let e = if e.kind() == ferry_core::ErrorKind::NotFound {
                        ferry_core::Error::new(ferry_core::ErrorKind::DirNotFound, e.message())
                    } else {
                        e
                    };
                    match e.kind() {
                        ferry_core::ErrorKind::DirNotFound => {
                            fail(exit::DIR_NOT_FOUND, "Failed to lsjson: directory not found")
                        }
                        _ => listing::walk_error("lsjson", e),
                    }
                })?;
            dirs.then(|| {
                let root = Entry::dir(ferry_core::RelPath::root(), SystemTime::now());
                Item {
                    path: String::new(),
                    name: String::new(),
                    size: -1,
                    mime: (!ctx.a.no_mimetype).then(|| DIRECTORY.to_owned()),
                    mtime: if ctx.a.no_modtime {
                        String::new()
                    } else {
                        go_format(&local(root.mtime), &ctx.layout)
                    },
                    is_dir: true,
                    hashes: Vec::new(),
                    tier: None,
                    metadata: None,
                }
            })
        }
    };
    match item {
        Some(i) => out.line(&i.indented()),
        None => out.line("null"),
    }
    out.flush();
    Ok(if errors > 0 {
        exit::ERROR
    } else {
        exit::SUCCESS
    })
}

/// rclone's `MimeType`: the server's, where the listing gave one, else from the name.
fn mime_of(e: &Entry) -> String {
    if e.is_dir() {
        DIRECTORY.to_owned()
    } else if let Some(ty) = &e.content_type {
        ty.clone()
    } else {
        mime_type(e.path.as_str()).to_owned()
    }
}
