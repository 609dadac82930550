//! Run-wide limits: `--max-transfer`, `--max-duration`, `--cutoff-mode`, `--bwlimit`.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
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
    /// Asked to stop from outside (`SyncOptions::stop`): transfers under way finish.
    Stopped = 4,
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

fn bucket(rate: Option<u64>) -> Option<(Arc<Limiter>, u32)> {
    rate.and_then(limiter)
        .map(|(l, burst)| (Arc::new(l), burst))
}

/// Shared state for the limits of one run.
pub(crate) struct Limits {
    max_transfer: Option<u64>,
    deadline: Option<Instant>,
    mode: CutoffMode,
    tripped: AtomicU8,
    stopping: AtomicBool,
    /// The `--bwlimit` bucket in force and its burst; a timetable swaps it mid-run.
    bwlimit: RwLock<Option<(Arc<Limiter>, u32)>>,
    /// A timetable may turn a limit on later: transfers then always stream.
    scheduled: bool,
    /// `--bwlimit-file`: bytes per second for each file, its streams together.
    file_rate: Option<u64>,
    /// Set from outside the run to stop it (`SyncOptions::stop`).
    external: Option<Arc<AtomicBool>>,
}

impl Limits {
    pub(crate) fn new(
        max_transfer: Option<u64>,
        max_duration: Option<Duration>,
        mode: CutoffMode,
        bwlimit: Option<u64>,
        scheduled: bool,
    ) -> Self {
        Limits {
            max_transfer,
            deadline: max_duration.map(|d| Instant::now() + d),
            mode,
            tripped: AtomicU8::new(Tripped::None as u8),
            stopping: AtomicBool::new(false),
            bwlimit: RwLock::new(bucket(bwlimit)),
            scheduled,
            file_rate: None,
            external: None,
        }
    }

    /// `--bwlimit-file`: each file's own limit (`None`: none).
    pub(crate) fn per_file(mut self, rate: Option<u64>) -> Self {
        self.file_rate = rate;
        self
    }

    /// A new bucket for one file under `--bwlimit-file`, shared by all its streams.
    pub(crate) fn file_bucket(&self) -> Option<(Arc<Limiter>, u32)> {
        bucket(self.file_rate)
    }

    /// Lets a flag set from outside the run stop it, as a soft cutoff would.
    pub(crate) fn stopped_by(mut self, flag: Option<Arc<AtomicBool>>) -> Self {
        self.external = flag;
        self
    }

    /// The `--bwlimit` bucket in force now, with its burst.
    pub(crate) fn bw(&self) -> Option<(Arc<Limiter>, u32)> {
        self.bwlimit.read().expect("bwlimit lock").clone()
    }

    /// Puts a new rate in force (a `--bwlimit` timetable's next entry); `None` is off.
    pub(crate) fn set_bwlimit(&self, rate: Option<u64>) {
        *self.bwlimit.write().expect("bwlimit lock") = bucket(rate);
    }

    /// Whether transfers must pass through ferry (to be throttled or cut off mid-file).
    pub(crate) fn needs_stream(&self) -> bool {
        self.scheduled
            || self.bw().is_some()
            || self.file_rate.is_some()
            || (self.max_transfer.is_some() && self.mode == CutoffMode::Hard)
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
            4 => Tripped::Stopped,
            _ => Tripped::None,
        }
    }

    /// Whether new work must not start.
    pub(crate) fn stopping(&self) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.trip(Tripped::MaxDuration);
        }
        if self
            .external
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
        {
            self.trip(Tripped::Stopped);
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

/// Follows a `--bwlimit` timetable for as long as the returned guard lives: every `tick`,
/// the rate in force is asked again and, when it changed, put in force (rclone's notice).
pub(crate) fn follow(
    limits: Arc<Limits>,
    schedule: crate::options::BwSchedule,
    start: Option<u64>,
    tick: Duration,
) -> AbortOnDrop {
    let task = tokio::spawn(async move {
        let mut current = start;
        loop {
            tokio::time::sleep(tick).await;
            let now = (schedule.0)();
            if now != current {
                limits.set_bwlimit(now);
                let shown = now.map_or("off".to_owned(), |r| {
                    format!("{}/s", ferry_core::units::byte_unit(r).replace(' ', ""))
                });
                tracing::warn!("Scheduled bandwidth change. Limit set to {shown}");
                current = now;
            }
        }
    });
    AbortOnDrop(task)
}

/// Stops a background task when dropped.
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timetable_swaps_the_rate_mid_run() {
        let limits = Arc::new(Limits::new(
            None,
            None,
            CutoffMode::Hard,
            Some(1 << 20),
            true,
        ));
        assert!(limits.needs_stream());
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = calls.clone();
        let schedule = crate::options::BwSchedule(Arc::new(move || {
            (c.fetch_add(1, Ordering::SeqCst) == 0).then_some(1 << 20)
        }));
        let guard = follow(
            limits.clone(),
            schedule,
            Some(1 << 20),
            Duration::from_millis(5),
        );
        assert!(limits.bw().is_some());
        for _ in 0..200 {
            if limits.bw().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            limits.bw().is_none(),
            "the second entry (off) was put in force"
        );
        assert!(
            limits.needs_stream(),
            "a timetable keeps transfers streamed"
        );
        drop(guard);
    }
}
