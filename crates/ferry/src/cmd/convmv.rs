//! `convmv`: renames files and directories in place by `--name-transform`'s rules.
//!
//! A move from the path seen through the rules ([`ferry_transform::Transformed`], in
//! place) to the path itself: each file whose name changes is renamed (server-side where
//! the backend can), each that keeps its name stays, and the engine's usual checks,
//! filters, `--dry-run` and logs apply. A single file is `moveto` onto its new name.

use clap::Args;
use ferry_engine::Mode;

use crate::args::{FilterArgs, TransferArgs};
use crate::azcopy::AzcopyArgs;
use crate::cmd::sync_reports::SyncReportArgs;
use crate::cmd::{copyto, transfer};
use crate::exit::{self, fail};
use crate::{settings, Globals};

#[derive(Args, Debug)]
pub struct ConvmvArgs {
    /// The directory (or single file) whose names change, e.g. remote:path
    pub dest: String,
    /// Delete empty source dirs after move
    #[arg(long)]
    pub delete_empty_src_dirs: bool,
    #[command(flatten)]
    pub transfer: TransferArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
}

pub const LONG_ABOUT: &str = "\
Convert file and directory names in place.

Each --name-transform rule is [file,|dir,|all,]RULE[=VALUE]; the rules apply in the order given, one path segment at a time. file (the default) renames files' own names, dir renames directories wherever they appear in a path, all renames both.

Rules: prefix=X, suffix=X, suffix_keep_extension=X, trimprefix=X, trimsuffix=X, replace=OLD:NEW, regex=PATTERN/REPLACEMENT, date={LAYOUT} (appended, e.g. date=-{YYYYMMDD}), truncate=N, truncate_keep_extension=N, truncate_bytes=N, truncate_bytes_keep_extension=N, base64encode, base64decode, encoder=NAMES, decoder=NAMES, charmap=NAME (or ISO-8859-1, Windows-1252, Macintosh), lowercase, uppercase, titlecase, ascii, url, nfc, nfd, nfkc, nfkd, command=PROGRAM, none.

Example: ferry convmv remote:stories --name-transform all,uppercase

The same rules rename what sync, copy, move, copyto, moveto and check send or compare. A rule may not make a name empty or add a /. A file whose new name another file of its directory has, or gets, is left as it is and counted as an error, so no rename overwrites another file; try the rules with --dry-run first.";

pub async fn run(a: &ConvmvArgs, g: &Globals) -> anyhow::Result<i32> {
    let mut settings = settings::Transfer::resolve(
        &a.transfer,
        a.filters.delete_excluded,
        a.delete_empty_src_dirs,
    )?;
    if settings.name_transform.is_none() {
        // rclone's words and exit code.
        return Err(fail(
            exit::ERROR,
            "Failed to convmv: --name-transform must be set",
        ));
    }
    settings.sync.in_place = true;
    let reports = SyncReportArgs::default();
    let call = transfer::TransferCall {
        mode: Mode::Move,
        source: &a.dest,
        dest: &a.dest,
        settings,
        f: &a.filters,
        az: AzcopyArgs::none(),
        shard: None,
        reports: &reports,
        name: Some("convmv"),
    };
    // A directory is a move onto itself; one file is moved onto its own new name
    // (copyto renames the new name by the rules).
    copyto::run(call, g).await
}
