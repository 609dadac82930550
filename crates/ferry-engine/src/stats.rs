//! Counters for the stats block, progress display and summaries.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Live counters, shared between the engine and whoever displays them.
#[derive(Debug)]
pub struct Stats {
    start: Instant,
    bytes: AtomicU64,
    bytes_total: AtomicU64,
    transfers: AtomicU64,
    transfers_total: AtomicU64,
    checks: AtomicU64,
    checks_total: AtomicU64,
    listed: AtomicU64,
    deletes: AtomicU64,
    deleted_dirs: AtomicU64,
    deleted_bytes: AtomicU64,
    renames: AtomicU64,
    errors: AtomicU64,
    server_side: AtomicU64,
    server_side_bytes: AtomicU64,
    server_side_moves: AtomicU64,
    server_side_move_bytes: AtomicU64,
}

/// A consistent-enough copy of the counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct StatsSnapshot {
    pub elapsed: Duration,
    pub bytes: u64,
    pub bytes_total: u64,
    pub transfers: u64,
    pub transfers_total: u64,
    pub checks: u64,
    pub checks_total: u64,
    pub listed: u64,
    pub deletes: u64,
    pub deleted_dirs: u64,
    pub deleted_bytes: u64,
    pub renames: u64,
    pub errors: u64,
    /// Copies done by the server (rclone's "Server Side Copies"), and their bytes.
    pub server_side: u64,
    pub server_side_bytes: u64,
    /// Moves done by the destination itself (renames, server-side moves), and their bytes.
    pub server_side_moves: u64,
    pub server_side_move_bytes: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            start: Instant::now(),
            bytes: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            transfers: AtomicU64::new(0),
            transfers_total: AtomicU64::new(0),
            checks: AtomicU64::new(0),
            checks_total: AtomicU64::new(0),
            listed: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
            deleted_dirs: AtomicU64::new(0),
            deleted_bytes: AtomicU64::new(0),
            renames: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            server_side: AtomicU64::new(0),
            server_side_bytes: AtomicU64::new(0),
            server_side_moves: AtomicU64::new(0),
            server_side_move_bytes: AtomicU64::new(0),
        }
    }
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            elapsed: self.start.elapsed(),
            bytes: self.bytes.load(Relaxed),
            bytes_total: self.bytes_total.load(Relaxed),
            transfers: self.transfers.load(Relaxed),
            transfers_total: self.transfers_total.load(Relaxed),
            checks: self.checks.load(Relaxed),
            checks_total: self.checks_total.load(Relaxed),
            listed: self.listed.load(Relaxed),
            deletes: self.deletes.load(Relaxed),
            deleted_dirs: self.deleted_dirs.load(Relaxed),
            deleted_bytes: self.deleted_bytes.load(Relaxed),
            renames: self.renames.load(Relaxed),
            errors: self.errors.load(Relaxed),
            server_side: self.server_side.load(Relaxed),
            server_side_bytes: self.server_side_bytes.load(Relaxed),
            server_side_moves: self.server_side_moves.load(Relaxed),
            server_side_move_bytes: self.server_side_move_bytes.load(Relaxed),
        }
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Relaxed)
    }

    pub fn transfers(&self) -> u64 {
        self.transfers.load(Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Relaxed);
    }
    pub(crate) fn queue_transfer(&self, size: u64) {
        self.transfers_total.fetch_add(1, Relaxed);
        self.bytes_total.fetch_add(size, Relaxed);
    }
    pub(crate) fn transfer_done(&self) {
        self.transfers.fetch_add(1, Relaxed);
    }
    pub(crate) fn server_side_done(&self, size: u64) {
        self.server_side.fetch_add(1, Relaxed);
        self.server_side_bytes.fetch_add(size, Relaxed);
    }
    pub(crate) fn server_side_moved(&self, size: u64) {
        self.server_side_moves.fetch_add(1, Relaxed);
        self.server_side_move_bytes.fetch_add(size, Relaxed);
    }
    pub(crate) fn queue_check(&self) {
        self.checks_total.fetch_add(1, Relaxed);
    }
    pub(crate) fn check_done(&self) {
        self.checks.fetch_add(1, Relaxed);
    }
    pub(crate) fn listed(&self, n: u64) {
        self.listed.fetch_add(n, Relaxed);
    }
    pub(crate) fn deleted(&self, size: u64) {
        self.deletes.fetch_add(1, Relaxed);
        self.deleted_bytes.fetch_add(size, Relaxed);
    }
    pub(crate) fn deleted_dir(&self) {
        self.deleted_dirs.fetch_add(1, Relaxed);
    }
    pub(crate) fn renamed(&self) {
        self.renames.fetch_add(1, Relaxed);
    }
    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Relaxed);
    }
    /// Starts the counters afresh before a whole-run retry: the final totals are then
    /// those of the attempt that ended the run, so they add up (only the clock goes on).
    pub(crate) fn reset_for_retry(&self) {
        for counter in [
            &self.bytes,
            &self.bytes_total,
            &self.transfers,
            &self.transfers_total,
            &self.checks,
            &self.checks_total,
            &self.listed,
            &self.deletes,
            &self.deleted_dirs,
            &self.deleted_bytes,
            &self.renames,
            &self.errors,
            &self.server_side,
            &self.server_side_bytes,
            &self.server_side_moves,
            &self.server_side_move_bytes,
        ] {
            counter.store(0, Relaxed);
        }
    }
}
