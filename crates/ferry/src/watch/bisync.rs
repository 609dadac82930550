//! `bisync --watch`: bisync runs again whenever either side changes. Local sides are
//! followed through notifications (settled for `--watch-delay`); with a remote side, a run
//! every `--watch-interval` as well. Each run is a whole bisync run (bisync compares
//! full listings with its saved state anyway); its own writes into a local side show up
//! as one more run that finds nothing to do. `--resync` applies to the first run only.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::select_all;
use tokio::time::Instant;

use super::events::{self, Batch, Change, Follower, Pending};
use super::signals::{Ask, Signals};
use super::{backoff, local_root, STOP_GRACE};
use crate::cmd::bisync::{run_once, BisyncArgs};
use crate::exit::{fail, ERROR};
use crate::{settings, Globals};

/// A side followed through notifications.
struct Side {
    root: PathBuf,
    follower: Option<Follower>,
    pending: Pending,
}

impl Side {
    fn follow(&mut self) {
        if self.follower.is_some() {
            return;
        }
        match events::follow(&self.root) {
            Ok(f) => self.follower = Some(f),
            Err(e) => tracing::warn!(
                "{}: can't follow changes ({e}); bisync runs every --watch-interval",
                self.root.display()
            ),
        }
    }
}

/// The next change on any followed side (never, when none is followed).
async fn next_change(sides: &mut [Side]) -> (usize, Option<Change>) {
    let waits: Vec<_> = sides
        .iter_mut()
        .enumerate()
        .filter_map(|(i, s)| {
            let f = s.follower.as_mut()?;
            Some(Box::pin(async move { (i, f.changes.recv().await) }))
        })
        .collect();
    if waits.is_empty() {
        return std::future::pending().await;
    }
    select_all(waits).await.0
}

/// Runs bisync, then again on every settled change, until SIGINT/SIGTERM (exit 0).
pub async fn run(
    a: &BisyncArgs,
    flags: &settings::Bisync,
    g: &Globals,
    w: settings::Watch,
) -> anyhow::Result<i32> {
    let mut sides = Vec::new();
    for path in [&a.path1, &a.path2] {
        if let Some(root) = local_root(&g.remotes, path)? {
            sides.push(Side {
                root,
                follower: None,
                pending: Pending::new(w.delay),
            });
        }
    }
    // With a remote side, changes there are only seen by looking.
    let polled = sides.len() < 2;
    let mut signals = Signals::new()
        .map_err(|e| fail(ERROR, format!("--watch: can't listen for signals: {e}")))?;
    let mut remotes = g.remotes.clone();
    let (mut first, mut failures, mut runs, mut reload) = (true, 0u32, 0u64, false);
    let mut why = "start";
    loop {
        // Followed before the run, so nothing changed during it is missed.
        sides.iter_mut().for_each(Side::follow);
        if std::mem::take(&mut reload) {
            tracing::warn!("Re-reading the config file (SIGHUP)");
            remotes = remotes.reloaded();
        }
        runs += 1;
        tracing::info!("watch: bisync run {runs} ({why})");
        let run = run_once(a, flags, g, &remotes, first);
        tokio::pin!(run);
        let mut grace: Option<Instant> = None;
        let result = loop {
            let until_grace = async {
                match grace {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = &mut run => break r,
                ask = signals.next() => match (ask, grace) {
                    (Ask::Stop, None) => {
                        tracing::warn!("Stopping: letting this bisync run finish");
                        grace = Some(Instant::now() + STOP_GRACE);
                    }
                    (Ask::Stop, Some(_)) => return Ok(0),
                    (Ask::Reload, _) => reload = true,
                },
                _ = until_grace => {
                    tracing::warn!("Stopping without waiting longer for this bisync run (the next one completes it)");
                    return Ok(0);
                }
            }
        };
        if grace.is_some() {
            return Ok(0);
        }
        match result {
            Ok(0) => {
                first = false;
                failures = 0;
            }
            Ok(code) => {
                failures += 1;
                tracing::error!(
                    "watch: bisync run {runs} ended with exit code {code}; trying again"
                );
            }
            Err(e) if runs == 1 => return Err(e),
            Err(e) => {
                failures += 1;
                tracing::error!("watch: bisync run {runs} failed: {e:#}; trying again");
            }
        }
        let next_full = Instant::now()
            + if failures > 0 {
                backoff(w.delay, failures)
            } else if polled || sides.iter().any(|s| s.follower.is_none()) {
                w.interval
            } else {
                w.reconcile.unwrap_or(Duration::from_secs(365 * 24 * 3600))
            };
        why = wait(&mut sides, &mut signals, &mut reload, next_full).await?;
        if why == "stop" {
            return Ok(0);
        }
    }
}

/// Waits for the next reason to run: a settled change, the next full run, SIGHUP; "stop"
/// for SIGINT/SIGTERM.
async fn wait(
    sides: &mut [Side],
    signals: &mut Signals,
    reload: &mut bool,
    next_full: Instant,
) -> anyhow::Result<&'static str> {
    loop {
        let due = sides
            .iter()
            .filter_map(|s| s.pending.due().map(Instant::from_std))
            .chain([next_full])
            .min()
            .unwrap_or(next_full);
        tokio::select! {
            ask = signals.next() => match ask {
                Ask::Stop => return Ok("stop"),
                Ask::Reload => {
                    *reload = true;
                    return Ok("config re-read");
                }
            },
            (i, change) = next_change(sides) => {
                let side = &mut sides[i];
                match (change, &side.follower) {
                    (Some(c), Some(f)) => {
                        let root = f.root.clone();
                        side.pending.note(c, &root, std::time::Instant::now());
                    }
                    _ => {
                        side.follower = None;
                        return Ok("the notifications stopped");
                    }
                }
            },
            _ = tokio::time::sleep_until(due) => {
                let now = Instant::now();
                let mut ready = None;
                for side in sides.iter_mut() {
                    let root = side.follower.as_ref().map_or(side.root.clone(), |f| f.root.clone());
                    match side.pending.take(&root, now.into_std()) {
                        Some(Batch::Full(why)) => {
                            // Set up afresh: what it knew of the tree may be stale.
                            side.follower = None;
                            ready = Some(why);
                        }
                        Some(Batch::Paths(_)) => {
                            ready.get_or_insert("changes");
                        }
                        None => {}
                    }
                }
                if let Some(why) = ready {
                    return Ok(why);
                }
                if now >= next_full {
                    return Ok("interval");
                }
            }
        }
    }
}
