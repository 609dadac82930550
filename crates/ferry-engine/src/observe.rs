//! How the engine tells its caller what it did, and asks before destructive steps.

/// One thing that happened to one path.
#[derive(Clone, Debug)]
pub struct Action {
    pub path: String,
    pub kind: ActionKind,
    pub size: u64,
    /// The error message, for `ActionKind::Error`.
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    CopiedNew,
    CopiedReplaced,
    Moved,
    Deleted,
    DeletedDir,
    ModtimeUpdated,
    BackedUp,
    SkippedDryRun,
    Error,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::CopiedNew => "copied_new",
            ActionKind::CopiedReplaced => "copied_replaced",
            ActionKind::Moved => "moved",
            ActionKind::Deleted => "deleted",
            ActionKind::DeletedDir => "deleted_dir",
            ActionKind::ModtimeUpdated => "modtime_updated",
            ActionKind::BackedUp => "backed_up",
            ActionKind::SkippedDryRun => "skipped_dry_run",
            ActionKind::Error => "error",
        }
    }
}

/// How a file stood before the run did anything to it: what rclone's sync reports
/// (`--combined`, `--match`, `--differ`, `--missing-on-dst`, `--missing-on-src`) list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Both sides have it and it is the same: nothing to send.
    Match,
    /// Both sides have it and it differs: sent again.
    Differ,
    /// Only the source has it: sent.
    MissingOnDst,
    /// Only the destination has it: deleted by sync, left by copy.
    MissingOnSrc,
}

/// Receives every action (for summaries) and every comparison (for reports); the
/// defaults ignore them.
pub trait Observer: Send + Sync {
    fn action(&self, _action: &Action) {}
    fn compared(&self, _path: &str, _how: Standing) {}
}

impl Observer for () {}

/// The answer to an interactive question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Stop the whole run now.
    Quit,
}

/// Asks the user before a delete or an overwrite (`--interactive`). `operation` is
/// rclone's word for it: "delete", "copy", "move", "update modification time".
pub trait Confirm: Send + Sync {
    fn confirm(&self, operation: &str, path: &str) -> Answer;
}
