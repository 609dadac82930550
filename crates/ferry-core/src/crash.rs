//! Named crash points: places where a `kill -9` must leave nothing broken (a temporary
//! file written but not yet renamed, some parts of an upload sent, a listing half read,
//! bisync's state half saved). Libraries only name the point; whoever installed a hook
//! decides what happens there. The binary's test hook kills its own process at a chosen
//! point, so tests can prove each one recoverable; without a hook a point costs one
//! atomic load.

use std::sync::OnceLock;

/// Called with the name of each crash point reached.
pub type CrashHook = Box<dyn Fn(&str) + Send + Sync>;

static HOOK: OnceLock<CrashHook> = OnceLock::new();

/// The points ferry's crates name, for tests and `scripts/soak` to choose from.
pub const POINTS: &[&str] = &[
    TEMP_WRITTEN,
    BETWEEN_PARTS,
    BEFORE_COMMIT,
    MID_LISTING,
    "bisync: journal written",
    "bisync: step done, not yet journaled",
    "bisync: step journaled",
    "bisync: before saving state",
    "bisync: state saved",
    "bisync: journal retired",
];

/// A file's data is all written under its temporary name, not yet renamed into place.
pub const TEMP_WRITTEN: &str = "temp written, before rename";
/// Some parts (blocks) of a multipart upload are sent, not all.
pub const BETWEEN_PARTS: &str = "between parts";
/// Every part is sent; the upload is not yet completed (committed).
pub const BEFORE_COMMIT: &str = "parts sent, before commit";
/// One directory of a tree has been listed, not all of them.
pub const MID_LISTING: &str = "mid-listing";

/// Installs the hook (once per process; later calls are ignored).
pub fn set_hook(hook: CrashHook) {
    let _ = HOOK.set(hook);
}

/// Marks that the crash point `name` was reached.
pub fn point(name: &str) {
    if let Some(hook) = HOOK.get() {
        hook(name);
    }
}
