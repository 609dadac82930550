//! One retry policy for temporary failures, used wherever ferry tries a call again (a
//! transfer's low-level retries, the Azure client's requests, bisync's copies; the S3
//! SDK's own retries are configured with the same numbers): exponential backoff with
//! full jitter, so many workers failing at once don't come back at once. SFTP's connects
//! are tried the same way, `--low-level-retries` times.

use std::time::Duration;

/// rclone's default `--low-level-retries`: tries of one operation before it fails.
pub const LOW_LEVEL_RETRIES: u32 = 10;

/// Pauses that double from `base` up to `max`, each a random fraction of its bound.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// ferry's policy: 100 ms, doubling, at most 2 s between tries.
    pub const DEFAULT: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(2),
    };

    /// The upper bound of the pause after failed try `attempt` (from 1).
    pub fn bound(&self, attempt: u32) -> Duration {
        let doubled = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        doubled.min(self.max)
    }

    /// The pause after failed try `attempt` (from 1): between half the bound and the bound.
    pub fn pause(&self, attempt: u32) -> Duration {
        let bound = self.bound(attempt);
        let half = bound / 2;
        half + half.mul_f64(crate::random::unit())
    }

    /// Sleeps for [`pause`](Self::pause)`(attempt)`.
    pub async fn wait(&self, attempt: u32) {
        tokio::time::sleep(self.pause(attempt)).await;
    }

    /// Runs `op` up to `tries` times (at least once) while it fails with an error `again`
    /// accepts, pausing after each failed try; the last try's result.
    pub async fn retry<T, E, Fut>(
        &self,
        tries: u32,
        again: impl Fn(&E) -> bool,
        mut op: impl FnMut() -> Fut,
    ) -> Result<T, E>
    where
        E: std::fmt::Display,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let tries = tries.max(1);
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if attempt < tries && again(&e) => {
                    let pause = self.pause(attempt);
                    tracing::debug!("{e} - low level retry {attempt}/{} in {pause:?}", tries - 1);
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_with_jitter_below_the_bound() {
        let b = Backoff::DEFAULT;
        let bounds: Vec<u64> = (1..=7).map(|a| b.bound(a).as_millis() as u64).collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(b.bound(u32::MAX), b.max);
        for attempt in 1..=8 {
            let p = b.pause(attempt);
            assert!(p >= b.bound(attempt) / 2 && p <= b.bound(attempt), "{p:?}");
        }
        let distinct: std::collections::BTreeSet<Duration> = (0..20).map(|_| b.pause(6)).collect();
        assert!(distinct.len() > 1, "jitter");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_tries_again_only_what_it_is_told_to_and_as_often_as_allowed() {
        let b = Backoff::DEFAULT;
        let calls = std::cell::Cell::new(0);
        let fails = || async {
            calls.set(calls.get() + 1);
            Err::<(), String>(format!("try {}", calls.get()))
        };
        let started = tokio::time::Instant::now();
        assert_eq!(b.retry(4, |_| true, fails).await, Err("try 4".into()));
        assert_eq!(calls.get(), 4);
        // Three pauses: at least half of 100 + 200 + 400 ms, at most all of it.
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(350) && took <= Duration::from_millis(700),
            "{took:?}"
        );
        calls.set(0);
        assert_eq!(b.retry(4, |_| false, fails).await, Err("try 1".into()));
        calls.set(0);
        assert_eq!(b.retry(0, |_| true, fails).await, Err("try 1".into()));
        calls.set(0);
        let second = || async {
            calls.set(calls.get() + 1);
            if calls.get() < 2 {
                Err("no".to_string())
            } else {
                Ok(calls.get())
            }
        };
        assert_eq!(b.retry(10, |_| true, second).await, Ok(2));
    }
}
