//! rclone's `--tpslimit` and `--tpslimit-burst`: at most so many calls per second to the
//! backends it wraps, all of them together, with bursts of up to `burst` calls after a
//! quiet spell. A token bucket: a call takes a token, or waits for the next one.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{Layer, Op};
use crate::{RelPath, Result};

/// One limit shared by every backend it wraps (clone the `Arc` into each layer).
#[derive(Debug)]
pub struct TpsLimit {
    rate: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl TpsLimit {
    /// `rate` calls per second (> 0), bursts of `burst` (at least 1).
    pub fn new(rate: f64, burst: u32) -> TpsLimit {
        let burst = f64::from(burst.max(1));
        TpsLimit {
            rate,
            burst,
            bucket: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token; how long to wait before the call may go.
    fn reserve(&self) -> Duration {
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refilled = b.0 + now.duration_since(b.1).as_secs_f64() * self.rate;
        b.0 = refilled.min(self.burst) - 1.0;
        b.1 = now;
        if b.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.0 / self.rate)
        }
    }
}

/// The layer that applies a shared [`TpsLimit`].
pub struct Tps(pub std::sync::Arc<TpsLimit>);

#[async_trait]
impl Layer for Tps {
    async fn before(&self, _op: Op, _path: &RelPath) -> Result<()> {
        let wait = self.0.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn calls(layer: &Tps, n: usize) -> Duration {
        let started = Instant::now();
        let p = RelPath::new("x").unwrap();
        for _ in 0..n {
            layer.before(Op::Stat, &p).await.unwrap();
        }
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_to_the_rate_after_a_burst() {
        let limit = Arc::new(TpsLimit::new(5.0, 1));
        let layer = Tps(limit.clone());
        // The first call goes at once, the next nine one fifth of a second apart.
        let took = calls(&layer, 10).await;
        assert!(took >= Duration::from_millis(1790), "{took:?}");
        assert!(took <= Duration::from_millis(1850), "{took:?}");
        // After a quiet spell, a burst of four goes at once.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let burst = Tps(Arc::new(TpsLimit::new(5.0, 4)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(calls(&burst, 4).await < Duration::from_millis(10));
        // Two layers share one limit.
        let other = Tps(limit);
        let started = Instant::now();
        let p = RelPath::new("x").unwrap();
        for _ in 0..5 {
            layer.before(Op::Stat, &p).await.unwrap();
            other.before(Op::List, &p).await.unwrap();
        }
        assert!(started.elapsed() >= Duration::from_millis(1790));
    }
}
