use std::time::Duration;

use crate::limits::CutoffMode;

/// What the run does with the destination (and the source, for `move`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Copy new and changed files; never delete.
    Copy,
    /// Make the destination identical to the source, deleting extraneous files.
    Sync,
    /// Copy, then delete each source file once it is safely at the destination.
    Move,
}

/// When a sync deletes extraneous destination files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeleteMode {
    Before,
    During,
    #[default]
    After,
}

/// How two files are judged equal (rclone's rules).
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    pub checksum: bool,
    pub size_only: bool,
    pub ignore_times: bool,
    pub ignore_size: bool,
    pub ignore_existing: bool,
    pub update: bool,
    pub immutable: bool,
    /// Overrides the modify window; by default the coarser precision of the two sides.
    pub modify_window: Option<Duration>,
    /// Don't fix a destination's mtime when content matches (`--no-update-modtime`).
    pub no_update_modtime: bool,
    /// Compare by hash only, and fail a file whose hash either side lacks (azcopy's
    /// `--compare-hash MD5`; `--checksum` falls back to size instead).
    pub hash_required: bool,
    /// `--refresh-times`: where no hash can tell, a file of the same size whose time
    /// differs gets the source's time instead of being sent again.
    pub refresh_times: bool,
}

/// What is done with the hash of each transferred file (azcopy's `--check-md5`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verify {
    /// Don't check (`--ignore-checksum`, `--check-md5 NoCheck`).
    Off,
    /// Report a mismatch, keep the file.
    LogOnly,
    /// A mismatch fails the file and removes the bad copy (rclone's behaviour).
    #[default]
    Fail,
    /// As `Fail`, and a source without an MD5 fails too.
    FailIfMissing,
}

#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub compare: CompareOptions,
    pub transfers: usize,
    pub checkers: usize,
    /// `--check-first`: every check is done, and every transfer queued, before the first
    /// transfer starts, so the totals are final from the start (see `sync::PLAN_BOUND`).
    pub check_first: bool,
    pub dry_run: bool,
    pub delete_mode: DeleteMode,
    pub max_delete: Option<u64>,
    /// `--no-check-dest`: the destination is not listed; every file is sent (copy, move).
    pub no_check_dest: bool,
    /// `--max-delete-size`: most bytes deleted in a run.
    pub max_delete_size: Option<u64>,
    pub ignore_errors: bool,
    pub create_empty_src_dirs: bool,
    pub delete_empty_src_dirs: bool,
    /// `convmv`: the source is the destination itself, shown under new names; the move
    /// renames within it (the checks against a source that is the destination are off).
    pub in_place: bool,
    /// Remove no directory: neither those only the destination has (sync) nor emptied
    /// source ones (move). A shard of a split run sees only its own files, so a directory
    /// that looks empty to it may hold another shard's; the final unsharded pass removes
    /// directories.
    pub keep_dirs: bool,
    /// List directories only the destination has even when not deleting (a copy with
    /// rclone's `--missing-on-src` or `--combined` report, which names their files).
    pub list_dst_only: bool,
    pub inplace: bool,
    pub low_level_retries: u32,
    pub max_transfer: Option<u64>,
    pub cutoff_mode: CutoffMode,
    pub max_duration: Option<Duration>,
    /// Bytes per second across all transfers.
    pub bwlimit: Option<u64>,
    /// A `--bwlimit` timetable: the rate in force at a moment, asked each minute.
    pub bwlimit_schedule: Option<BwSchedule>,
    /// `--bwlimit-file`: bytes per second for each file (`None`: no limit).
    pub bwlimit_file: Option<u64>,
    /// Match names without Unicode normalisation.
    pub no_unicode_normalization: bool,
    /// Match names case-insensitively even on case-sensitive backends.
    pub ignore_case_sync: bool,
    /// Rename destination names that match the source's only with case ignored to the
    /// source's case (`--fix-case`).
    pub fix_case: bool,
    /// Delete destination files the filters exclude (`--delete-excluded`).
    pub delete_excluded: bool,
    pub verify: Verify,
    /// Files at least this big are downloaded in `multi_thread_streams` ranges at once,
    /// when the destination can write at offsets (rclone's `--multi-thread-*`).
    pub multi_thread_cutoff: u64,
    pub multi_thread_streams: usize,
    /// Each range is a chunk of this size; `multi_thread_streams` are read at once, in the
    /// file's order (rclone's `--multi-thread-chunk-size`).
    pub multi_thread_chunk_size: u64,
    /// Carry each file's metadata to the destination (`--metadata/-M`).
    pub metadata: bool,
    /// Keys added to (or replacing) the source's metadata (`--metadata-set`; with `-M`).
    pub metadata_set: ferry_core::Metadata,
    /// Keys every file written gets, with or without `--metadata`, over the source's and
    /// `--metadata-set`'s (azcopy's `--metadata` and content-property flags).
    pub metadata_upload: ferry_core::Metadata,
    /// Store each source file's modification time with its copy (rclone). `false`: a
    /// copy keeps the time it was written (azcopy's downloads without
    /// `--preserve-last-modified-time`).
    pub preserve_modtime: bool,
    /// Leave directory modification times alone (`--no-update-dir-modtime`).
    pub no_update_dir_modtime: bool,
    /// `--track-renames`: how a file that only moved is recognised (sync only); `None`
    /// sends new files and deletes old ones as usual.
    pub track_renames: Option<RenameStrategy>,
    /// Where destination objects' real modification times are journaled between runs
    /// (`None`: not journaled; each provisional mtime costs a request).
    pub journal: Option<std::path::PathBuf>,
    /// How old a listed time must be before the journal records under it: a listing
    /// shows whole seconds, so a rewrite in the same second that keeps size and ETag (a
    /// metadata-only change) would look the same; the margin also covers clock skew
    /// between this machine and the server.
    pub journal_settle: Duration,
    /// Set from outside the run to stop it early and cleanly (a service shutting down):
    /// no new transfer or delete starts, transfers under way finish, and the run ends
    /// with [`crate::StopReason::Stopped`]. `None`: nothing outside will ask.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// The rate a `--bwlimit` timetable puts in force now (`None`: off).
#[derive(Clone)]
pub struct BwSchedule(pub std::sync::Arc<dyn Fn() -> Option<u64> + Send + Sync>);

impl std::fmt::Debug for BwSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BwSchedule")
    }
}

/// What `--track-renames-strategy` compares, besides the size (rclone's `hash`,
/// `modtime`, `leaf`, or a comma-separated combination).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameStrategy {
    pub hash: bool,
    pub modtime: bool,
    pub leaf: bool,
}

impl RenameStrategy {
    /// Parses rclone's value: `hash`, `modtime`, `leaf`, comma-separated.
    pub fn parse(value: &str) -> Option<RenameStrategy> {
        let mut s = RenameStrategy::default();
        for part in value.split(',').map(str::trim) {
            match part {
                "hash" => s.hash = true,
                "modtime" => s.modtime = true,
                "leaf" => s.leaf = true,
                _ => return None,
            }
        }
        Some(s)
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            compare: CompareOptions::default(),
            transfers: 4,
            checkers: 8,
            check_first: false,
            dry_run: false,
            delete_mode: DeleteMode::After,
            max_delete: None,
            no_check_dest: false,
            max_delete_size: None,
            ignore_errors: false,
            create_empty_src_dirs: false,
            delete_empty_src_dirs: false,
            in_place: false,
            keep_dirs: false,
            list_dst_only: false,
            inplace: false,
            low_level_retries: 10,
            max_transfer: None,
            cutoff_mode: CutoffMode::Hard,
            max_duration: None,
            bwlimit: None,
            bwlimit_schedule: None,
            bwlimit_file: None,
            no_unicode_normalization: false,
            ignore_case_sync: false,
            fix_case: false,
            delete_excluded: false,
            verify: Verify::Fail,
            multi_thread_cutoff: 256 * 1024 * 1024,
            multi_thread_streams: 4,
            multi_thread_chunk_size: 64 * 1024 * 1024,
            metadata: false,
            metadata_set: ferry_core::Metadata::new(),
            metadata_upload: ferry_core::Metadata::new(),
            preserve_modtime: true,
            track_renames: None,
            journal: None,
            journal_settle: Duration::from_secs(60),
            no_update_dir_modtime: false,
            stop: None,
        }
    }
}
