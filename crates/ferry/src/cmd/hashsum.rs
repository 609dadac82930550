//! `md5sum`, `sha1sum` and `hashsum TYPE`: sum files in md5sum's format, or verify
//! a sum file (`--checkfile`), as rclone does.

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use base64::Engine as _;
use clap::Args;
use ferry_core::{Entry, HashKind, HashSet, MultiHasher};
use futures::stream::{self, StreamExt};

use crate::args::FilterArgs;
use crate::cmd::check;
use crate::cmd::listing;
use crate::cmd::ls::Out;
use crate::exit::{self, fail, USAGE};
use crate::Globals;

#[derive(Args, Debug, Clone)]
pub struct SumFlags {
    /// Output base64 encoded hashsum
    #[arg(long)]
    pub base64: bool,
    /// Output hashsums to a file rather than the terminal
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Validate hashes against a given SUM file instead of printing them
    #[arg(short = 'C', long, value_name = "FILE")]
    pub checkfile: Option<String>,
    /// Download the file and hash it locally; if this flag is not specified, the hash is requested from the remote
    #[arg(long)]
    pub download: bool,
    /// Number of checkers to run in parallel
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = crate::args::count_u32(1, crate::args::MAX_PARALLEL), env = "FERRY_CHECKERS")]
    pub checkers: u32,
}

#[derive(Args, Debug)]
pub struct SumArgs {
    /// Path to sum (reads standard input when missing, or when "-" and data is piped)
    pub path: Option<String>,
    #[command(flatten)]
    pub flags: SumFlags,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Args, Debug)]
pub struct HashsumArgs {
    /// Hash type (run without arguments to list them)
    pub hash: Option<String>,
    /// Path to sum (reads standard input when missing, or when "-" and data is piped)
    pub path: Option<String>,
    #[command(flatten)]
    pub flags: SumFlags,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// rclone's list of hashes, as `hashsum` without arguments prints it.
pub fn help_list() -> String {
    let mut s = String::from("Supported hashes are:\n");
    for k in HashKind::ALL {
        s.push_str(&format!("  * {}\n", k.name()));
    }
    s.replace("  * ", "- ")
}

pub async fn hashsum(a: &HashsumArgs, g: &Globals) -> anyhow::Result<i32> {
    let Some(name) = &a.hash else {
        print!("{}", help_list());
        return Ok(exit::SUCCESS);
    };
    let kind: HashKind = match name.parse() {
        Ok(k) => k,
        Err(e) => {
            println!("{}", help_list());
            return Err(fail(USAGE, e));
        }
    };
    run(kind, "hashsum", a.path.as_deref(), &a.flags, &a.filters, g).await
}

pub async fn sum(kind: HashKind, a: &SumArgs, g: &Globals) -> anyhow::Result<i32> {
    let cmd = match kind {
        HashKind::Sha1 => "sha1sum",
        _ => "md5sum",
    };
    run(kind, cmd, a.path.as_deref(), &a.flags, &a.filters, g).await
}

/// A hash value in the output form (hex, or URL-safe base64 of the bytes).
fn encode(value: &str, base64: bool) -> String {
    if !base64 {
        return value.to_owned();
    }
    match hex::decode(value) {
        Ok(bytes) => base64::engine::general_purpose::URL_SAFE.encode(bytes),
        Err(_) => value.to_owned(),
    }
}

fn width(kind: HashKind, base64: bool) -> usize {
    if base64 {
        kind.hex_width().div_ceil(2).div_ceil(3) * 4
    } else {
        kind.hex_width()
    }
}

fn output(flags: &SumFlags) -> anyhow::Result<Box<dyn std::io::Write>> {
    Ok(match &flags.output_file {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).map_err(
            |e| {
                fail(
                    exit::ERROR,
                    format!("failed to open output file {}: {e}", p.display()),
                )
            },
        )?)),
        None => Box::new(Out::new()),
    })
}

impl std::io::Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.raw(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Out::flush(self);
        Ok(())
    }
}

async fn run(
    kind: HashKind,
    cmd: &str,
    path: Option<&str>,
    flags: &SumFlags,
    filters: &FilterArgs,
    g: &Globals,
) -> anyhow::Result<i32> {
    let from_stdin = match path {
        None => true,
        Some("-") => !std::io::stdin().is_terminal(),
        Some(_) => false,
    };
    if from_stdin {
        return stdin_sum(kind, flags);
    }
    let path = path.unwrap_or_default();
    let l = listing::open(g, path, filters, true).await?;
    if let Some(sumfile) = &flags.checkfile {
        let opts = check::SumCheck {
            kind,
            download: flags.download,
            one_way: false,
            checkers: flags.checkers as usize,
            normalize: true,
            ignore_case: false,
        };
        let reports = check::Reports::combined_to_stdout();
        return check::check_sum_file(cmd, g, sumfile, &l, filters, &opts, &reports).await;
    }
    if !flags.download && !l.backend.features().semantics.hashes.contains(kind) {
        return Err(fail(
            exit::ERROR,
            format!(
                "Failed to {cmd}: {kind} hashes are not supported by {}; add --download to compute them from the data",
                l.backend.describe()
            ),
        ));
    }
    let mut out = output(flags)?;
    let w = width(kind, flags.base64);
    let mut walker = l.flat_walker();
    let mut errors = 0u64;
    let mut last: Option<ferry_core::Error> = None;
    while let Some((_, entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error(cmd, e))?
    {
        let files: Vec<Entry> = entries.into_iter().filter(|e| !e.is_dir()).collect();
        let backend = &*l.backend;
        let mut sums = stream::iter(files)
            .map(|e| async move {
                let r = listing::hashes_of(backend, &e, &[kind], flags.download).await;
                (e, r)
            })
            .buffered(flags.checkers as usize);
        while let Some((e, r)) = sums.next().await {
            match r.map(|h| h.get(kind).map(str::to_owned)) {
                // A file without one (a GCS object read with `decompress`, an S3
                // multipart upload) is listed with a blank hash, as rclone lists it.
                Ok(v) => {
                    let line = format!(
                        "{:>w$}  {}\n",
                        v.map_or_else(String::new, |v| encode(&v, flags.base64)),
                        ferry_core::shown::name(e.path.as_str())
                    );
                    out.write_all(line.as_bytes())?;
                }
                Err(err) => {
                    tracing::error!("{}: {err}", e.path);
                    errors += 1;
                    last = Some(err);
                }
            }
        }
    }
    out.flush()?;
    let mut report = walker.into_report();
    if last.is_some() {
        report.last_error = last;
    }
    listing::finish(cmd, &report, errors)
}

fn stdin_sum(kind: HashKind, flags: &SumFlags) -> anyhow::Result<i32> {
    let mut hasher = MultiHasher::new([kind].into_iter().collect::<HashSet>());
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = stdin
            .read(&mut buf)
            .map_err(|e| fail(exit::ERROR, format!("failed to read standard input: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let value = hasher.finish().get(kind).unwrap_or_default().to_owned();
    let w = width(kind, flags.base64);
    let mut out = output(flags)?;
    out.write_all(format!("{:>w$}  -\n", encode(&value, flags.base64)).as_bytes())?;
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// A sum file's hashes (lower case) by path, the paths keyed as `check` matches names.
pub type Sums = HashMap<String, String>;

/// How many malformed or repeated lines are named before the rest are only counted.
const MAX_WARNINGS: usize = 3;

/// Parses md5sum-format lines (`HASH  PATH`, or `HASH *PATH` in binary mode) as rclone
/// does: `key` turns each path into its match key, a malformed line or a repeated path
/// is skipped (the first line for a path wins), and each skip yields a notice, the
/// first [`MAX_WARNINGS`] by line number, the rest only counted.
pub fn parse_sum_file(text: &str, key: impl Fn(&str) -> String) -> (Sums, Vec<String>) {
    let mut sums = Sums::new();
    let mut skipped = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = line.split_once(' ').and_then(|(hash, rest)| {
            let path = rest.strip_prefix([' ', '*'])?;
            (!hash.is_empty() && !path.is_empty()).then_some((hash, path))
        });
        let Some((hash, path)) = parsed else {
            skipped.push(format!(
                "improperly formatted checksum line {}: expected \"HASH  PATH\"",
                n + 1
            ));
            continue;
        };
        match sums.entry(key(path)) {
            std::collections::hash_map::Entry::Occupied(_) => {
                skipped.push(format!(
                    "duplicate file on checksum line {}: the first line for it is used",
                    n + 1
                ));
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(hash.to_ascii_lowercase());
            }
        }
    }
    if skipped.len() > MAX_WARNINGS {
        let more = skipped.len() - MAX_WARNINGS;
        skipped.truncate(MAX_WARNINGS);
        skipped.push(format!("{more} warning(s) suppressed..."));
    }
    (sums, skipped)
}

/// Reads the sum file `arg` (a local path or `remote:path`) and parses it, logging the
/// lines it skips; `key` is as for [`parse_sum_file`].
pub async fn read_sums(
    g: &Globals,
    cmd: &str,
    arg: &str,
    key: impl Fn(&str) -> String,
) -> anyhow::Result<Sums> {
    let shown = ferry_config::redact(arg, crate::kinds::registry());
    let not_a_sum_file = |why: String| {
        fail(
            exit::ERROR,
            format!("Failed to {cmd}: not a sum file: {shown}: {why}; give the path of a file written by md5sum, sha1sum or `ferry hashsum`"),
        )
    };
    let Some((backend, name)) = g.remotes.open_parent(arg, false)? else {
        return Err(not_a_sum_file("the path doesn't end in a file name".into()));
    };
    let path = ferry_core::RelPath::new(&name).map_err(|e| not_a_sum_file(e.to_string()))?;
    match backend.stat(&path).await {
        Ok(Some(e)) if !e.is_dir() => {}
        Ok(Some(_)) => return Err(not_a_sum_file("it is a directory".into())),
        Ok(None) => return Err(not_a_sum_file("no such file".into())),
        Err(e) => return Err(not_a_sum_file(e.to_string())),
    }
    let mut text = Vec::new();
    let read = async {
        let r = backend.open(&path, 0, None).await?;
        let limit = ferry_core::limited::LIST_LIMIT;
        let mut r = tokio::io::AsyncReadExt::take(r, limit + 1);
        tokio::io::AsyncReadExt::read_to_end(&mut r, &mut text)
            .await
            .map_err(|e| ferry_core::Error::io("failed to read", e))?;
        if text.len() as u64 > limit {
            return Err(ferry_core::Error::new(
                ferry_core::ErrorKind::Io,
                "it is larger than 1Gi, the most ferry reads from a sum file",
            ));
        }
        Ok(())
    };
    read.await.map_err(|e| {
        fail(
            exit::code_for_kind(e.kind(), e.is_temporary()),
            format!("Failed to {cmd}: cannot open sum file {shown}: {e}"),
        )
    })?;
    let (sums, skipped) = parse_sum_file(&String::from_utf8_lossy(&text), key);
    for s in skipped {
        tracing::warn!("{name}: {s}");
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sum_lines() {
        let (m, skipped) = parse_sum_file("abc  a/b c.txt\r\nDEF *bin\n\n", str::to_owned);
        assert_eq!(m["a/b c.txt"], "abc");
        assert_eq!(m["bin"], "def");
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(width(HashKind::Crc32, true), 8);
        assert_eq!(width(HashKind::Md5, true), 24);
        assert_eq!(encode("363a3020", true), "NjowIA==");
    }

    #[test]
    fn skips_bad_and_repeated_lines_with_notices() {
        let text = "# comment\njustonefield\n aa  lead\naa  x\nbb  x\ncc\tx\n11 *Y\n";
        let (m, skipped) = parse_sum_file(text, |p| p.to_lowercase());
        assert_eq!(m.len(), 2);
        assert_eq!(m["x"], "aa", "the first line for a path wins");
        assert_eq!(m["y"], "11", "paths are keyed as the caller matches them");
        assert_eq!(
            skipped,
            [
                "improperly formatted checksum line 1: expected \"HASH  PATH\"",
                "improperly formatted checksum line 2: expected \"HASH  PATH\"",
                "improperly formatted checksum line 3: expected \"HASH  PATH\"",
                "2 warning(s) suppressed...",
            ]
        );
    }
}
