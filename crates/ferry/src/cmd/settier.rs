//! `settier`: the storage tier of every file under a path (the filters choose which),
//! or of one file, where the store has tiers (S3's storage classes, Azure's access
//! tiers), as rclone's `settier TIER remote:path`.

use clap::Args;
use futures::StreamExt;

use crate::args::FilterArgs;
use crate::cmd::listing;
use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct SettierArgs {
    /// The tier or storage class (S3: STANDARD, STANDARD_IA, GLACIER, ...; Azure: Hot, Cool, Cold, Archive)
    pub tier: String,
    /// The file, or the directory whose files change tier
    pub path: String,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// Objects changed at once (rclone's `--checkers` default).
const AT_ONCE: usize = 8;

pub async fn settier(a: &SettierArgs, g: &Globals) -> anyhow::Result<i32> {
    let l = listing::open(g, &a.path, &a.filters, true).await?;
    if !l.backend.features().caps.set_tier {
        return Err(fail(
            exit::ERROR,
            format!(
                "Failed to settier: remote {} does not support settier",
                remote_name(&a.path)
            ),
        ));
    }
    let mut walker = l.flat_walker();
    let mut failed = 0u64;
    while let Some((_, entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error("settier", e))?
    {
        let files = entries.into_iter().filter(|e| !e.is_dir());
        if a.dry_run {
            for e in files {
                tracing::warn!(
                    "{}: Skipped set tier to {} as --dry-run is set",
                    e.path,
                    a.tier
                );
            }
            continue;
        }
        let backend = &l.backend;
        failed += futures::stream::iter(files)
            .map(|e| async move {
                match backend.set_tier(&e.path, &a.tier).await {
                    Ok(()) => {
                        tracing::debug!("{}: tier set to {}", e.path, a.tier);
                        0
                    }
                    Err(err) => {
                        tracing::error!("{}: Failed to do SetTier, {}", e.path, err.message());
                        1
                    }
                }
            })
            .buffer_unordered(AT_ONCE)
            .fold(0, |n, f| async move { n + f })
            .await;
    }
    if failed > 0 {
        // rclone logs each failure and still exits 0; a script should hear of it.
        return Err(fail(
            exit::ERROR,
            format!("Failed to settier: the tier of {failed} objects could not be set"),
        ));
    }
    Ok(exit::SUCCESS)
}

/// The remote's name as rclone's messages give it (`local` for a plain path, the
/// backend's type for a remote made on the fly).
fn remote_name(arg: &str) -> String {
    use ferry_config::Location;
    match ferry_config::parse_location(arg, crate::kinds::registry()) {
        Ok(Location::Remote { name, .. }) => name,
        Ok(Location::OnTheFly { backend, .. }) => backend,
        _ => "local".to_owned(),
    }
}
