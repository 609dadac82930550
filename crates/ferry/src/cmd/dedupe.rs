//! `dedupe`: rclone's command for remotes that can hold two files under one name (Google
//! Drive). No backend ferry has can, so what rclone does on such a remote is all there is
//! to do: say so, walk the tree (a missing path fails as rclone's walk does) and find
//! nothing. `--by-hash` looks for the same content under any names
//! ([`super::dedupe_hash`]).

use std::sync::Arc;

use clap::Args;
use ferry_engine::{AllowAll, WalkOptions, Walker};

use crate::exit::{self, fail};
use crate::Globals;

/// rclone's modes, for the optional first argument and `--dedupe-mode`.
const MODES: [&str; 9] = [
    "interactive",
    "skip",
    "first",
    "newest",
    "oldest",
    "largest",
    "smallest",
    "rename",
    "list",
];

#[derive(Args, Debug)]
pub struct DedupeArgs {
    /// [MODE] PATH: the mode (interactive, skip, first, newest, oldest, largest, smallest, rename, list) may come first
    #[arg(num_args = 1..=2, required = true, value_name = "[MODE] PATH")]
    pub args: Vec<String>,
    /// Dedupe mode interactive|skip|first|newest|oldest|largest|smallest|rename|list
    #[arg(long, default_value = "interactive")]
    pub dedupe_mode: String,
    /// Find identical hashes rather than names
    #[arg(long)]
    pub by_hash: bool,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub limits: crate::args::DeleteLimitArgs,
}

pub async fn dedupe(a: &DedupeArgs, g: &Globals) -> anyhow::Result<i32> {
    let (mode, path) = match a.args.as_slice() {
        [mode, path] => (mode.as_str(), path),
        [path] => (a.dedupe_mode.as_str(), path),
        _ => unreachable!("clap takes one or two arguments"),
    };
    let mode = mode.to_ascii_lowercase();
    if !MODES.contains(&mode.as_str()) {
        return Err(fail(
            exit::ERROR,
            format!(
                "unknown mode for dedupe {mode:?}: use one of {}",
                MODES.join(", ")
            ),
        ));
    }
    let backend = g.remotes.open(path)?;
    if a.by_hash {
        let limits = super::delete_limits::DeleteLimits::new(&a.limits);
        return super::dedupe_hash::dedupe(backend, &mode, a.dry_run, limits).await;
    }
    let name = backend.describe();
    tracing::warn!(
        "{name}: Can't have duplicate names here. Perhaps you wanted --by-hash ? Continuing anyway."
    );
    tracing::info!("{name}: Looking for duplicate names using {mode} mode.");
    let mut walker = Walker::new(backend, Arc::new(AllowAll), WalkOptions::default());
    loop {
        match walker.next_dir().await {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(exit::SUCCESS),
            Err(e) => {
                return Err(fail(
                    exit::code_for_kind(e.kind(), e.is_temporary()),
                    format!("Failed to dedupe: find duplicate dirs: {e}"),
                ))
            }
        }
    }
}
