//! Whether the server keeps the modification times it is sent.
//!
//! SFTP gateways in front of object storage often answer setstat with "OK" and keep the
//! upload time, or refuse it outright. Sending times to such a server on every file is
//! wasted work, and comparing by a time it never kept makes every run redo every file. The
//! first upload (or time change) is checked with one stat; once the server is caught
//! ignoring or refusing times, ferry stops sending them, says so once, and reports no
//! modification times in `Features`, so the engine compares by size (and hash) instead.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const UNKNOWN: u8 = 0;
const KEPT: u8 = 1;
const IGNORED: u8 = 2;

pub(crate) struct ModtimeSupport {
    /// `set_modtime = false`: nothing is sent or checked.
    enabled: bool,
    state: AtomicU8,
}

impl ModtimeSupport {
    pub(crate) fn new(enabled: bool) -> ModtimeSupport {
        ModtimeSupport {
            enabled,
            state: AtomicU8::new(UNKNOWN),
        }
    }

    /// Whether to send times at all.
    pub(crate) fn should_set(&self) -> bool {
        self.enabled && self.state.load(Ordering::Relaxed) != IGNORED
    }

    /// Whether the next time sent should be read back.
    pub(crate) fn unproven(&self) -> bool {
        self.enabled && self.state.load(Ordering::Relaxed) == UNKNOWN
    }

    pub(crate) fn ignored(&self) -> bool {
        self.state.load(Ordering::Relaxed) == IGNORED
    }

    /// Records what a stat showed after `wanted` was sent (SFTP keeps whole seconds).
    /// Returns whether the server kept it.
    pub(crate) fn record(&self, wanted: SystemTime, got: SystemTime, server: &str) -> bool {
        // SFTP v3 carries times as 32-bit seconds.
        if secs(wanted).min(u32::MAX as u64) == secs(got) {
            let _ =
                self.state
                    .compare_exchange(UNKNOWN, KEPT, Ordering::Relaxed, Ordering::Relaxed);
            return true;
        }
        self.give_up(server, "did not keep a modification time it was sent");
        false
    }

    /// The server refused a time change (not a connection failure).
    pub(crate) fn refused(&self, server: &str) {
        self.give_up(server, "refused to set a modification time");
    }

    fn give_up(&self, server: &str, what: &str) {
        if self.state.swap(IGNORED, Ordering::Relaxed) != IGNORED {
            tracing::warn!(
                "{server}: the server {what}, so ferry stops sending times and compares files by size (and hash with --checksum); set `set_modtime = false` on this remote to skip the check"
            );
        }
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_time_proves_support_and_an_ignored_one_stops_it() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_750);
        let m = ModtimeSupport::new(true);
        assert!(m.unproven() && m.should_set());
        assert!(m.record(t, UNIX_EPOCH + Duration::from_secs(1_700_000_000), "s"));
        assert!(!m.unproven() && m.should_set() && !m.ignored());

        let m = ModtimeSupport::new(true);
        assert!(!m.record(t, SystemTime::now(), "s"));
        assert!(m.ignored() && !m.should_set() && !m.unproven());
        // Later successes don't undo it.
        assert!(m.record(t, t, "s"));
        assert!(m.ignored());

        let off = ModtimeSupport::new(false);
        assert!(!off.should_set() && !off.unproven() && !off.ignored());
    }
}
