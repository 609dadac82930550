//! Run-wide limits: `--max-transfer`, `--max-duration`, `--cutoff-mode`, `--bwlimit`.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use governor::{clock::DefaultClock, state::InMemoryState, state::NotKeyed, Quota, RateLimiter};

use crate::Stats;

/// What happens when `--max-transfer` or `--max-duration` is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CutoffMode {
    /// Stop at once, in the middle of transfers.
    #[default]
    Hard,
    /// Start no new transfers; let running ones finish.
    Soft,
    /// Don't start a transfer that would go over the limit.
    Cautious,
}

/// Which limit stopped the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tripped {
    None = 0,
    MaxTransfer = 1,
    MaxDuration = 2,
    Quit = 3,
}

pub(crate) type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// A token bucket for `--bwlimit` bytes per second. Its burst is a small slice of a
/// second (so transfers stay smooth), and it starts empty, so the limit holds from
/// the first byte rather than after a free first second.
fn limiter(rate: u64) -> Option<(Limiter, u32)> {
    let rate = NonZeroU32::new(rate.clamp(1, u32::MAX as u64) as u32)?;
    let burst = (rate.get() / 16).clamp(16 * 1024, 4 << 20).min(rate.get());
    let burst = NonZeroU32::new(burst)?;
    let bucket = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));
    let _ = bucket.check_n(burst);
    Some((bucket, burst.get()))
}

/// Shared state for the limits of one run.
pub(crate) struct Limits {
    max_transfer: Option<u64>,
    deadline: Option<Instant>,
    mode: CutoffMode,
    tripped: AtomicU8,
    stopping: AtomicBool,
    pub(crate) bwlimit: Option<(Limiter, u32)>,
}

impl Limits {
    pub(crate) fn new(
        max_transfer: Option<u64>,
        max_duration: Option<Duration>,
        mode: CutoffMode,
        bwlimit: Option<u64>,
    ) -> Self {
        let bwlimit = bwlimit.and_then(limiter);
        Limits {
            max_transfer,
            deadline: max_duration.map(|d| Instant::now() + d),
            mode,
            tripped: AtomicU8::new(Tripped::None as u8),
            stopping: AtomicBool::new(false),
            bwlimit,
        }
    }

    /// Whether transfers must pass through ferry (to be throttled or cut off mid-file).
    pub(crate) fn needs_stream(&self) -> bool {
        self.bwlimit.is_some() || (self.max_transfer.is_some() && self.mode == CutoffMode::Hard)
    }

    pub(crate) fn trip(&self, why: Tripped) {
        let _ = self.tripped.compare_exchange(
            Tripped::None as u8,
            why as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub(crate) fn tripped(&self) -> Tripped {
        match self.tripped.load(Ordering::SeqCst) {
            1 => Tripped::MaxTransfer,
            2 => Tripped::MaxDuration,
            3 => Tripped::Quit,
            _ => Tripped::None,
        }
    }

    /// Whether new work must not start.
    pub(crate) fn stopping(&self) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.trip(Tripped::MaxDuration);
        }
        self.stopping.load(Ordering::SeqCst)
    }

    /// Whether a transfer of `size` bytes may start now.
    pub(crate) fn may_start(&self, size: u64, stats: &Stats) -> bool {
        if self.stopping() {
            return false;
        }
        if let Some(max) = self.max_transfer {
            let done = stats.bytes();
            let over = match self.mode {
                CutoffMode::Cautious => done + size > max,
                _ => done >= max,
            };
            if over {
                self.trip(Tripped::MaxTransfer);
                return false;
            }
        }
        true
    }

    /// Called as bytes flow; `false` means a hard cutoff says stop this transfer now.
    pub(crate) fn flowing(&self, stats: &Stats) -> bool {
        if self.mode != CutoffMode::Hard {
            return true;
        }
        if self.max_transfer.is_some_and(|max| stats.bytes() > max) {
            self.trip(Tripped::MaxTransfer);
            return false;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.trip(Tripped::MaxDuration);
            return false;
        }
        !matches!(self.tripped(), Tripped::Quit)
    }
}
