//! The test hook that simulates `kill -9` at a named point (see `ferry_core::crash`), so
//! tests can prove a run killed there is completed by the next one:
//!
//! - `FERRY_CRASH_AT=NAME` or `NAME#N` kills this process the first (N-th) time the
//!   crash point NAME is reached (`temp written, before rename`, `between parts`, ...);
//! - `FERRY_BISYNC_CRASH_AT=N` kills it at bisync's N-th crash point, whichever it is.
//!
//! Process control stays here, in the binary; the libraries only name their points.

use std::sync::atomic::{AtomicU64, Ordering};

/// What to kill at: the N-th point (counted from 1) whose name passes the test.
struct Target {
    name: Option<String>,
    nth: u64,
}

impl Target {
    fn from_env() -> Option<Target> {
        if let Some(spec) = std::env::var("FERRY_CRASH_AT")
            .ok()
            .filter(|s| !s.is_empty())
        {
            let (name, nth) = match spec.rsplit_once('#') {
                Some((name, n)) => (name.to_owned(), n.parse().ok()?),
                None => (spec, 1),
            };
            return Some(Target {
                name: Some(name),
                nth,
            });
        }
        let nth = std::env::var("FERRY_BISYNC_CRASH_AT").ok()?.parse().ok()?;
        Some(Target { name: None, nth })
    }

    fn counts(&self, point: &str) -> bool {
        match &self.name {
            Some(name) => point == name,
            None => point.starts_with("bisync: "),
        }
    }
}

/// Installs the hook when `FERRY_CRASH_AT` or `FERRY_BISYNC_CRASH_AT` names a point.
pub fn install() {
    let Some(target) = Target::from_env() else {
        return;
    };
    let count = AtomicU64::new(0);
    ferry_core::crash::set_hook(Box::new(move |point| {
        if !target.counts(point) {
            return;
        }
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        if n == target.nth {
            tracing::debug!("crash point {point:?} #{n}: killing this process");
            kill_self();
        }
    }));
}

fn kill_self() -> ! {
    #[cfg(unix)]
    // SAFETY: sending SIGKILL to ourselves; nothing runs after it.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort();
}
