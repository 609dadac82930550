//! ferry's sync engine.
//!
//! The engine walks two backends side by side ([`march`]), decides per file what must
//! happen ([`compare`]), runs transfers and checks in parallel with bounded queues, and
//! applies rclone's safety rules to deletes. It never asks which backend it has, only
//! what that backend can do ([`ferry_core::Features`]).

mod account;
mod altdest;
mod backup;
mod check;
mod compare;
mod deletes;
mod fixcase;
mod journal;
mod limits;
mod march;
mod observe;
mod options;
mod ranged;
mod renames;
mod select;
mod spool;
mod stats;
mod sync;
mod transfer;
mod walk;

pub use altdest::{AltDests, AltKind};
pub use backup::Backup;
pub use check::{check, CheckOptions, CheckReport, Compared, Comparer};
pub use deletes::DeleteBudget;
pub use fixcase::rename_to_case;
pub use limits::CutoffMode;
pub use observe::{Action, ActionKind, Answer, Confirm, Observer, Standing};
pub use options::{
    BwSchedule, CompareOptions, DeleteMode, Mode, RenameStrategy, SyncOptions, Verify,
};
pub use select::{AllowAll, Select, EXACT_WIDTH};
pub use spool::{spool, Spooled};
pub use stats::{FlightSnapshot, Stats, StatsSnapshot};
pub use sync::{run, ApproveDeletes, Job, Outcome, StopReason};
pub use walk::{walk_all, WalkOptions, WalkReport, Walker};
