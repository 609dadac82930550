//! `check`: report differences between two trees; exit 1 when they differ.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use ferry_engine::{CheckOptions, Stats};

use crate::args::FilterArgs;
use crate::exit::{self, fail};
use crate::{selection, Globals};

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Source path
    pub source: String,
    /// Destination path
    pub dest: String,
    /// Check one way only, source files must exist on remote
    #[arg(long, env = "FERRY_ONE_WAY", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub one_way: bool,
    /// Make a combined report of changes to this file
    #[arg(long, value_name = "FILE", env = "FERRY_COMBINED")]
    pub combined: Option<PathBuf>,
    /// Report all non-matching files to this file
    #[arg(long, value_name = "FILE", env = "FERRY_DIFFER")]
    pub differ: Option<PathBuf>,
    /// Report all files missing from the source to this file
    #[arg(long, value_name = "FILE", env = "FERRY_MISSING_ON_SRC")]
    pub missing_on_src: Option<PathBuf>,
    /// Report all files missing from the destination to this file
    #[arg(long, value_name = "FILE", env = "FERRY_MISSING_ON_DST")]
    pub missing_on_dst: Option<PathBuf>,
    /// Report all matching files to this file
    #[arg(long = "match", value_name = "FILE", env = "FERRY_MATCH")]
    pub match_file: Option<PathBuf>,
    /// Report all files with errors (hashing or reading) to this file
    #[arg(long, value_name = "FILE", env = "FERRY_ERROR")]
    pub error: Option<PathBuf>,
    /// Check by downloading rather than with hash
    #[arg(long, env = "FERRY_DOWNLOAD", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub download: bool,
    /// Skip based on size only, not modtime or checksum
    #[arg(long, env = "FERRY_SIZE_ONLY", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub size_only: bool,
    /// Number of checkers to run in parallel
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..), env = "FERRY_CHECKERS")]
    pub checkers: u32,
    /// Don't normalize unicode characters in filenames
    #[arg(long, env = "FERRY_NO_UNICODE_NORMALIZATION", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_unicode_normalization: bool,
    /// Ignore case when synchronizing
    #[arg(long, env = "FERRY_IGNORE_CASE_SYNC", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub ignore_case_sync: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

fn write_list(path: &Option<PathBuf>, lines: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| {
        fail(
            exit::ERROR,
            format!("can't write report file {}: {e}", path.display()),
        )
    })
}

pub async fn run(a: &CheckArgs, g: &Globals) -> anyhow::Result<i32> {
    let (select, _) = selection::build(&a.filters)?;
    let src = g.remotes.open_source(&a.source)?;
    if src.file.is_some() {
        return Err(fail(exit::USAGE, "check needs two directories; to compare single files use their parent directories with --include NAME"));
    }
    let dst = g.remotes.open(&a.dest)?;
    let opts = CheckOptions {
        size_only: a.size_only,
        download: a.download,
        one_way: a.one_way,
        checkers: a.checkers as usize,
        no_unicode_normalization: a.no_unicode_normalization,
        ignore_case_sync: a.ignore_case_sync,
    };
    let stats = Arc::new(Stats::default());
    let display = g.start_display(&stats)?;
    let result = ferry_engine::check(
        src.backend.clone(),
        dst.clone(),
        select,
        &opts,
        stats.clone(),
    )
    .await;
    display.finish();
    let report = result.map_err(exit::from_core)?;
    let lines =
        |prefix: &'static str, list: &'static str| -> Box<dyn Iterator<Item = String> + '_> {
            let v = match list {
                "match" => &report.matching,
                "differ" => &report.differ,
                "dst" => &report.missing_on_dst,
                "src" => &report.missing_on_src,
                _ => &report.errors,
            };
            Box::new(v.iter().map(move |p| {
                if prefix.is_empty() {
                    p.clone()
                } else {
                    format!("{prefix} {p}")
                }
            }))
        };
    write_list(&a.match_file, lines("", "match"))?;
    write_list(&a.differ, lines("", "differ"))?;
    write_list(&a.missing_on_dst, lines("", "dst"))?;
    write_list(&a.missing_on_src, lines("", "src"))?;
    write_list(&a.error, lines("", "error"))?;
    if a.combined.is_some() {
        let mut all: Vec<(String, char)> = Vec::new();
        for (c, l) in [
            ('=', "match"),
            ('*', "differ"),
            ('+', "dst"),
            ('-', "src"),
            ('!', "error"),
        ] {
            all.extend(lines("", l).map(|p| (p, c)));
        }
        all.sort();
        write_list(
            &a.combined,
            all.into_iter().map(|(p, c)| format!("{c} {p}")),
        )?;
    }
    let (sd, dd) = (src.backend.describe(), dst.describe());
    if report.hash_unavailable {
        tracing::warn!(
            "{dd}: {} hashes could not be checked",
            report.matching.len() + report.differ.len()
        );
    }
    if !report.missing_on_src.is_empty() {
        tracing::warn!("{sd}: {} files missing", report.missing_on_src.len());
    }
    if !report.missing_on_dst.is_empty() {
        tracing::warn!("{dd}: {} files missing", report.missing_on_dst.len());
    }
    tracing::warn!("{dd}: {} differences found", report.differences());
    if !report.errors.is_empty() {
        tracing::warn!("{dd}: {} errors while checking", report.errors.len());
    }
    if !report.matching.is_empty() {
        tracing::warn!("{dd}: {} matching files", report.matching.len());
    }
    g.final_stats(&stats.snapshot(), false);
    if report.differences() > 0 {
        tracing::error!(
            "Failed to check: {} differences found",
            report.differences()
        );
        return Ok(exit::ERROR);
    }
    if !report.errors.is_empty() {
        tracing::error!("Failed to check with {} errors", report.errors.len());
        return Ok(exit::ERROR);
    }
    Ok(exit::SUCCESS)
}
