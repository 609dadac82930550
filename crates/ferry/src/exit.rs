//! rclone's exit codes, and an error that carries one.

use std::fmt;

use ferry_core::ErrorKind;
use ferry_engine::{Outcome, StopReason};

pub const SUCCESS: i32 = 0;
pub const ERROR: i32 = 1;
pub const USAGE: i32 = 2;
pub const DIR_NOT_FOUND: i32 = 3;
pub const FILE_NOT_FOUND: i32 = 4;
pub const TEMPORARY: i32 = 5;
pub const LESS_SERIOUS: i32 = 6;
pub const FATAL: i32 = 7;
pub const TRANSFER_LIMIT: i32 = 8;
pub const NO_TRANSFER: i32 = 9;
pub const DURATION_LIMIT: i32 = 10;

/// An error that ends the command with a specific exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

pub fn fail(code: i32, message: impl Into<String>) -> anyhow::Error {
    Exit {
        code,
        message: message.into(),
    }
    .into()
}

/// The exit code for an error kind reported by the library.
pub fn code_for_kind(kind: ErrorKind, temporary: bool) -> i32 {
    match kind {
        ErrorKind::DirNotFound => DIR_NOT_FOUND,
        ErrorKind::NotFound => FILE_NOT_FOUND,
        ErrorKind::Refused => LESS_SERIOUS,
        _ if temporary => TEMPORARY,
        _ => ERROR,
    }
}

/// A library error as a CLI error with its exit code.
pub fn from_core(err: ferry_core::Error) -> anyhow::Error {
    fail(code_for_error(&err), err.to_string())
}

/// The exit code of an error that ended a command.
fn code_for_error(err: &ferry_core::Error) -> i32 {
    match err.kind() {
        // Refusals before anything ran (overlap, backup dir) are fatal in rclone.
        ErrorKind::Refused => FATAL,
        k => code_for_kind(k, err.is_temporary()),
    }
}

/// [`from_core`] for an error that ended command `cmd`: rclone's closing line,
/// `Failed to CMD: ...`, preceded for a fatal one by rclone's note that it isn't retried.
pub fn from_core_in(cmd: &str, err: ferry_core::Error) -> anyhow::Error {
    let code = code_for_error(&err);
    if code == FATAL {
        tracing::error!("Fatal error received - not attempting retries");
    }
    fail(code, format!("Failed to {cmd}: {err}"))
}

/// rclone's closing line for a run that failed with `errors` errors, `last` the last:
/// one error is named alone.
pub fn failed_with(name: &str, errors: u64, last: &str) -> String {
    if errors <= 1 {
        format!("Failed to {name}: {last}")
    } else {
        format!("Failed to {name} with {errors} errors: last error was: {last}")
    }
}

/// The exit code of a finished transfer run.
pub fn code_for_outcome(outcome: &Outcome, error_on_no_transfer: bool) -> i32 {
    match outcome.stop {
        Some(StopReason::MaxDelete | StopReason::MaxDeleteSize) => return FATAL,
        Some(StopReason::MaxTransfer) => return TRANSFER_LIMIT,
        Some(StopReason::MaxDuration) => return DURATION_LIMIT,
        Some(StopReason::Quit) => return ERROR,
        // A service asked to stop (a watch's SIGTERM) ends as it should: successfully,
        // unless something failed before the stop.
        Some(StopReason::Stopped) | None => {}
    }
    if outcome.errors > 0 {
        return match &outcome.last_error {
            // A file or directory missing mid-run (a source file gone before it was read,
            // a destination parent that can't be made) is a failed transfer to rclone,
            // not its "object not found" exit, which only single-object commands give.
            Some((ErrorKind::NotFound, false, _)) => ERROR,
            Some((kind, temporary, _)) => code_for_kind(*kind, *temporary),
            None => ERROR,
        };
    }
    if error_on_no_transfer && outcome.transfers == 0 {
        return NO_TRANSFER;
    }
    SUCCESS
}
