//! The test hook that simulates `kill -9` inside bisync: `FERRY_BISYNC_CRASH_AT=N` kills
//! this process at bisync's N-th crash point, so tests can prove a run killed anywhere is
//! completed by the next one. Process control stays here, in the binary; the library only
//! calls whatever hook it was given.

use std::sync::atomic::{AtomicU64, Ordering};

/// Installs the hook when `FERRY_BISYNC_CRASH_AT` names a crash point.
pub fn install() {
    let Some(at) = std::env::var("FERRY_BISYNC_CRASH_AT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let count = AtomicU64::new(0);
    ferry_bisync::set_crash_hook(Box::new(move |what| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        if n == at {
            tracing::debug!("crash point {n} ({what}): killing this process");
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
