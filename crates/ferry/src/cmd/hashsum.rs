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
use crate::cmd::listing::{self, Listing};
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
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..), env = "FERRY_CHECKERS")]
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
    let l = listing::open(g, path, filters, true)?;
    if let Some(sumfile) = &flags.checkfile {
        return checkfile(kind, cmd, &l, sumfile, flags).await;
    }
    if !flags.download && !l.backend.features().hashes.contains(kind) {
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
    let mut walker = l.walker();
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
                Ok(Some(v)) => {
                    let line = format!("{:>w$}  {}\n", encode(&v, flags.base64), e.path);
                    out.write_all(line.as_bytes())?;
                }
                Ok(None) => {
                    tracing::error!("{}: hash unsupported", e.path);
                    errors += 1;
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

/// Parses md5sum-format lines (`HASH  PATH` or `HASH *PATH`); comments and blank lines skipped.
pub fn parse_sum_file(text: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((hash, rest)) = line.split_once(' ') else {
            return Err(format!(
                "line {}: expected \"HASH  PATH\", got {line:?}",
                n + 1
            ));
        };
        let path = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .unwrap_or(rest);
        let path = path.trim_start_matches("./");
        if hash.is_empty() || path.is_empty() {
            return Err(format!(
                "line {}: expected \"HASH  PATH\", got {line:?}",
                n + 1
            ));
        }
        out.insert(path.to_owned(), hash.to_ascii_lowercase());
    }
    Ok(out)
}

/// `--checkfile`: compares every file with the sum file; prints `=`, `*`, `-`, `+`
/// lines like `check --combined`, and exits 1 when anything differs.
async fn checkfile(
    kind: HashKind,
    cmd: &str,
    l: &Listing,
    sumfile: &str,
    flags: &SumFlags,
) -> anyhow::Result<i32> {
    let describe = l.backend.describe();
    if !flags.download && !l.backend.features().hashes.contains(kind) {
        return Err(fail(
            exit::ERROR,
            format!(
                "Failed to {cmd}: {kind}: hash type is not supported by file system: {describe}"
            ),
        ));
    }
    let text = std::fs::read(sumfile).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            exit::FILE_NOT_FOUND
        } else {
            exit::ERROR
        };
        fail(
            code,
            format!("Failed to {cmd}: cannot open sum file {sumfile}: {e}"),
        )
    })?;
    let mut sums = parse_sum_file(&String::from_utf8_lossy(&text)).map_err(|e| {
        fail(
            exit::ERROR,
            format!("Failed to {cmd}: failed to parse sum file {sumfile}: {e}"),
        )
    })?;
    let mut out = Out::new();
    let (mut matching, mut differ, mut missing_sum, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut last = String::new();
    let mut walker = l.walker();
    while let Some((_, entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error(cmd, e))?
    {
        let files: Vec<Entry> = entries.into_iter().filter(|e| !e.is_dir()).collect();
        let backend = &*l.backend;
        let mut results = stream::iter(files)
            .map(|e| async move {
                let r = listing::hashes_of(backend, &e, &[kind], flags.download).await;
                (e, r)
            })
            .buffered(flags.checkers as usize);
        while let Some((e, r)) = results.next().await {
            let path = e.path.to_string();
            let Some(want) = sums.remove(&path) else {
                tracing::error!("{path}: sum not found");
                out.line(&format!("- {path}"));
                missing_sum += 1;
                errors += 1;
                last = "sum not found".into();
                continue;
            };
            match r.map(|h| h.get(kind).map(str::to_owned)) {
                Ok(Some(got)) if got.eq_ignore_ascii_case(&want) => {
                    matching += 1;
                    out.line(&format!("= {path}"));
                }
                Ok(Some(_)) => {
                    tracing::error!("{path}: files differ");
                    differ += 1;
                    errors += 1;
                    last = "files differ".into();
                    out.line(&format!("* {path}"));
                }
                Ok(None) => {
                    tracing::error!("{path}: hash unsupported");
                    errors += 1;
                    last = "hash unsupported".into();
                    out.line(&format!("! {path}"));
                }
                Err(err) => {
                    tracing::error!("{path}: {err}");
                    errors += 1;
                    last = err.to_string();
                    out.line(&format!("! {path}"));
                }
            }
        }
    }
    let mut gone: Vec<String> = sums.into_keys().collect();
    gone.sort();
    for path in &gone {
        let msg = format!("file not in {describe}");
        tracing::error!("{path}: {msg}");
        out.line(&format!("+ {path}"));
        errors += 1;
        last = msg;
    }
    out.flush();
    let differences = differ + missing_sum + gone.len() as u64;
    if !gone.is_empty() {
        tracing::warn!("{describe}: {} files missing", gone.len());
    }
    if missing_sum > 0 {
        tracing::warn!("{missing_sum} hashes missing");
    }
    tracing::warn!("{describe}: {differences} differences found");
    if errors > 0 {
        tracing::warn!("{describe}: {errors} errors while checking");
    }
    if matching > 0 {
        tracing::warn!("{describe}: {matching} matching files");
    }
    if errors > 0 {
        return Err(fail(
            exit::ERROR,
            format!("Failed to {cmd} with {errors} errors: last error was: {last}"),
        ));
    }
    let _ = walker.report();
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sum_lines() {
        let m = parse_sum_file("abc  a/b c.txt\nDEF *bin\n\n# note\n").unwrap();
        assert_eq!(m["a/b c.txt"], "abc");
        assert_eq!(m["bin"], "def");
        assert!(parse_sum_file("justonefield\n").is_err());
        assert_eq!(width(HashKind::Crc32, true), 8);
        assert_eq!(width(HashKind::Md5, true), 24);
        assert_eq!(encode("363a3020", true), "NjowIA==");
    }
}
