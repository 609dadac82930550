//! Counters for the stats block, progress display and summaries.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
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
    /// Set once the march has listed both trees (the "Listed" count is final).
    listing_done: AtomicBool,
    /// Set once every transfer of the run is queued: the totals are final, so a display
    /// may show a percentage and an ETA.
    totals_final: AtomicBool,
    /// The transfers under way, oldest first.
    flights: Mutex<Vec<Arc<Flight>>>,
    /// When some transfer was under way: the union of their time ranges.
    busy: Mutex<Busy>,
    /// How a display names the run's source and destination (rclone's srcFs and dstFs).
    labels: Mutex<(String, String)>,
    /// The last error's message, and whether any error may go away on a retry.
    last_error: Mutex<Option<String>>,
    retry_error: AtomicBool,
}

/// The time during which at least one transfer was under way.
#[derive(Debug, Default)]
struct Busy {
    done: Duration,
    since: Option<Instant>,
}

/// One transfer under way: its name, size and the bytes read so far.
#[derive(Debug)]
pub struct Flight {
    name: String,
    size: u64,
    bytes: AtomicU64,
    started: Instant,
}

impl Flight {
    /// Counts bytes of this file (the run's total is counted separately).
    pub(crate) fn add(&self, n: u64) {
        self.bytes.fetch_add(n, Relaxed);
    }

    /// A retried copy starts again from nothing.
    pub(crate) fn restart(&self) {
        self.bytes.store(0, Relaxed);
    }

    /// The whole file was copied without streaming (server-side, kernel copy).
    pub(crate) fn complete(&self) {
        self.bytes.store(self.size, Relaxed);
    }
}

/// Keeps a transfer in the "transferring" list until dropped.
pub(crate) struct FlightGuard {
    stats: Arc<Stats>,
    flight: Arc<Flight>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut flights = self.stats.flights.lock().expect("flights");
        flights.retain(|f| !Arc::ptr_eq(f, &self.flight));
        if flights.is_empty() {
            let mut busy = self.stats.busy.lock().expect("busy");
            if let Some(since) = busy.since.take() {
                busy.done += since.elapsed();
            }
        }
    }
}

/// One transfer under way, as a display shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlightSnapshot {
    pub name: String,
    pub size: u64,
    pub bytes: u64,
    /// Since the transfer started.
    pub elapsed: Duration,
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
    /// The march has listed everything: `listed` is final.
    pub listing_done: bool,
    /// Every transfer is queued: `bytes_total` and `transfers_total` are final.
    pub totals_final: bool,
    /// The transfers under way, oldest first.
    pub transferring: Vec<FlightSnapshot>,
    /// How long at least one transfer was under way (rclone's transferTime).
    pub transfer_time: Duration,
    /// The source and destination as a display names them (may be empty).
    pub src_label: String,
    pub dst_label: String,
    /// The last error's message (rclone's lastError).
    pub last_error: Option<String>,
    /// Some error may go away if the run is retried (rclone's retryError).
    pub retry_error: bool,
}

impl StatsSnapshot {
    /// The same numbers as the final word on a run that ended: nothing is still listing.
    pub fn ended(mut self) -> Self {
        self.listing_done = true;
        self.totals_final = true;
        self
    }
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
            listing_done: AtomicBool::new(false),
            totals_final: AtomicBool::new(false),
            flights: Mutex::new(Vec::new()),
            busy: Mutex::new(Busy::default()),
            labels: Mutex::new((String::new(), String::new())),
            last_error: Mutex::new(None),
            retry_error: AtomicBool::new(false),
        }
    }
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let labels = self.labels.lock().expect("labels").clone();
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
            listing_done: self.listing_done.load(Relaxed),
            totals_final: self.totals_final.load(Relaxed),
            transferring: self.transferring(),
            transfer_time: self.transfer_time(),
            src_label: labels.0,
            dst_label: labels.1,
            last_error: self.last_error.lock().expect("last error").clone(),
            retry_error: self.retry_error.load(Relaxed),
        }
    }

    fn transferring(&self) -> Vec<FlightSnapshot> {
        let flights = self.flights.lock().expect("flights");
        flights
            .iter()
            .map(|f| FlightSnapshot {
                name: f.name.clone(),
                size: f.size,
                bytes: f.bytes.load(Relaxed).min(f.size),
                elapsed: f.started.elapsed(),
            })
            .collect()
    }

    fn transfer_time(&self) -> Duration {
        let busy = self.busy.lock().expect("busy");
        busy.done + busy.since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Names the source and destination for displays (the engine never reads them).
    pub fn set_labels(&self, src: String, dst: String) {
        *self.labels.lock().expect("labels") = (src, dst);
    }

    /// Puts a transfer on the "transferring" list until the guard is dropped.
    pub(crate) fn start_transfer(self: &Arc<Self>, name: &str, size: u64) -> FlightGuard {
        let flight = Arc::new(Flight {
            name: name.to_owned(),
            size,
            bytes: AtomicU64::new(0),
            started: Instant::now(),
        });
        let mut flights = self.flights.lock().expect("flights");
        if flights.is_empty() {
            self.busy.lock().expect("busy").since = Some(Instant::now());
        }
        flights.push(flight.clone());
        FlightGuard {
            stats: self.clone(),
            flight,
        }
    }

    /// The transfer of `name` under way, if any.
    pub(crate) fn flight(&self, name: &str) -> Option<Arc<Flight>> {
        let flights = self.flights.lock().expect("flights");
        flights.iter().find(|f| f.name == name).cloned()
    }

    /// The march has listed both trees.
    pub(crate) fn set_listing_done(&self) {
        self.listing_done.store(true, Relaxed);
    }

    /// Every transfer of the run is queued.
    pub(crate) fn set_totals_final(&self) {
        self.totals_final.store(true, Relaxed);
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
    /// A file a move deleted after copying it (or finding it copied already): rclone
    /// counts a check and a deleted file.
    pub(crate) fn moved_away(&self, size: u64) {
        self.queue_check();
        self.check_done();
        self.deleted(size);
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
    /// Remembers an error's message for displays.
    pub(crate) fn last_error(&self, message: String, retryable: bool) {
        *self.last_error.lock().expect("last error") = Some(message);
        if retryable {
            self.retry_error.store(true, Relaxed);
        }
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
        self.listing_done.store(false, Relaxed);
        self.totals_final.store(false, Relaxed);
        self.retry_error.store(false, Relaxed);
        *self.last_error.lock().expect("last error") = None;
    }
}
