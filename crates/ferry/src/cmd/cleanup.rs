//! `cleanup`: removes what a store keeps besides its files, where it keeps anything (S3:
//! multipart uploads left unfinished for over a day). Elsewhere, as in rclone, it fails
//! saying the remote doesn't support it.

use clap::Args;

use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// The remote (or path below it) to clean up
    pub path: String,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

pub async fn cleanup(a: &CleanupArgs, g: &Globals) -> anyhow::Result<i32> {
    let backend = g.remotes.open(&a.path)?;
    let failed = |code, why: String| fail(code, format!("Failed to cleanup: {why}"));
    if !backend.features().caps.clean_up {
        return Err(failed(
            exit::ERROR,
            format!("{} doesn't support cleanup", backend.describe()),
        ));
    }
    if a.dry_run {
        tracing::warn!(
            "{}: Skipped clean up old files as --dry-run is set",
            backend.describe()
        );
        return Ok(exit::SUCCESS);
    }
    backend.clean_up().await.map_err(|e| {
        failed(
            exit::code_for_kind(e.kind(), e.is_temporary()),
            e.to_string(),
        )
    })?;
    Ok(exit::SUCCESS)
}
