//! The lock file that keeps two runs on the same pair of paths apart.
//!
//! As rclone's, it is `SESSION.lck` in the work directory and holds JSON naming the
//! process and when the lock expires (`--max-lock`). Unlike rclone's, it is also held
//! with an advisory `flock`, which the kernel drops when the process dies: a lock left
//! behind by a killed run is recognised as stale at once and taken over, so a crash
//! never locks the pair out. A lock held by a live process is respected until the
//! expiry it wrote (none without `--max-lock`).

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

fn parse_time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}
use serde::{Deserialize, Serialize};

/// What the lock file says (rclone's field names).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "PascalCase")]
pub struct LockData {
    pub session: String,
    #[serde(rename = "PID")]
    pub pid: String,
    /// RFC 3339.
    pub time_renewed: Option<String>,
    /// RFC 3339; `None`: never expires.
    pub time_expires: Option<String>,
}

/// A held lock; dropping it removes the lock file.
pub struct Lock {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

/// rclone's minimum for `--max-lock`.
pub const MIN_MAX_LOCK: Duration = Duration::from_secs(120);

fn data(session: &str, max_lock: Option<Duration>) -> LockData {
    let now = Utc::now();
    LockData {
        session: session.to_owned(),
        pid: std::process::id().to_string(),
        time_renewed: Some(now.to_rfc3339()),
        time_expires: max_lock
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| (now + d).to_rfc3339()),
    }
}

fn write_data(file: &mut File, d: &LockData) -> std::io::Result<()> {
    let text = serde_json::to_vec(d).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&text)?;
    file.write_all(b"\n")?;
    file.sync_data()
}

fn read_data(path: &Path) -> Result<LockData, String> {
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    serde_json::from_str(text.trim()).map_err(|e| format!("unreadable ({e})"))
}

#[cfg(unix)]
fn try_flock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(err)
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

/// Takes the lock for `session`, or says why not.
pub fn acquire(path: &Path, session: &str, max_lock: Option<Duration>) -> Result<Lock, String> {
    let max_lock = max_lock.map(|d| {
        if d < MIN_MAX_LOCK {
            tracing::warn!(
                "--max-lock cannot be shorter than 2 minutes (unless 0); using 2m instead of {d:?}"
            );
            MIN_MAX_LOCK
        } else {
            d
        }
    });
    for _ in 0..20 {
        let file = ferry_core::private::file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| format!("cannot create lock file {}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            let got =
                try_flock(&file).map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
            if got {
                if !same_file(&file, path) {
                    continue; // the holder removed it as we opened it: try the new one
                }
                if let Ok(old) = read_data(path) {
                    tracing::warn!(
                        "Lock file {} was left by an interrupted run (PID {}, no longer running): taking it over",
                        path.display(),
                        old.pid
                    );
                }
                return hold(path, file, session, max_lock);
            }
            // A live process holds it.
            match read_data(path) {
                Ok(d) if parse_time(&d.time_expires).is_some_and(|t| t < Utc::now()) => {
                    tracing::warn!(
                        "Lock file {} (PID {}) expired at {}: removing it and proceeding",
                        path.display(),
                        d.pid,
                        d.time_expires.clone().unwrap_or_default()
                    );
                    let _ = fs::remove_file(path);
                    continue;
                }
                Ok(d) => {
                    let until = match &d.time_expires {
                        Some(t) => format!("it expires at {t}"),
                        None => "it does not expire (no --max-lock)".into(),
                    };
                    return Err(format!(
                        "prior lock file found: {}: another bisync of these paths is running (PID {}; {until}). \
                         Nothing was changed; try again when it has finished",
                        path.display(),
                        d.pid
                    ));
                }
                Err(why) => {
                    return Err(format!(
                    "prior lock file found: {}: held by a running process (its content is {why}). \
                         Nothing was changed; try again when it has finished",
                    path.display()
                ))
                }
            }
        }
        #[cfg(not(unix))]
        {
            drop(file);
            match read_data(path) {
                Ok(d) if parse_time(&d.time_expires).is_none_or(|t| t >= Utc::now()) => {
                    if d.pid != std::process::id().to_string() && !d.pid.is_empty() {
                        return Err(format!(
                            "prior lock file found: {} (PID {}). Delete it if no other bisync is running",
                            path.display(),
                            d.pid
                        ));
                    }
                }
                _ => {}
            }
            let file = ferry_core::private::file_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| format!("cannot create lock file {}: {e}", path.display()))?;
            return hold(path, file, session, max_lock);
        }
    }
    Err(format!(
        "cannot take the lock file {}: it keeps changing",
        path.display()
    ))
}

fn hold(
    path: &Path,
    mut file: File,
    session: &str,
    max_lock: Option<Duration>,
) -> Result<Lock, String> {
    ferry_core::private::tighten_file(&file);
    write_data(&mut file, &data(session, max_lock))
        .map_err(|e| format!("cannot write lock file {}: {e}", path.display()))?;
    let file = Arc::new(Mutex::new(file));
    // Renew every --max-lock minus one minute, so a live run's lock never expires.
    let renewal = max_lock.and_then(|d| {
        let every = d.checked_sub(Duration::from_secs(60))?;
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let (file, session) = (file.clone(), session.to_owned());
        Some(handle.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Ok(mut f) = file.lock() {
                    if write_data(&mut f, &data(&session, Some(d))).is_ok() {
                        tracing::info!("lock file renewed for {d:?}");
                    }
                }
            }
        }))
    });
    Ok(Lock {
        path: path.to_owned(),
        file,
        renewal,
    })
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(r) = self.renewal.take() {
            r.abort();
        }
        #[cfg(unix)]
        let ours = self
            .file
            .lock()
            .map(|f| same_file(&f, &self.path))
            .unwrap_or(false);
        #[cfg(not(unix))]
        let ours = true;
        if ours {
            if let Err(e) = fs::remove_file(&self.path) {
                tracing::error!("cannot remove lock file {}: {e}", self.path.display());
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn stale_locks_are_taken_over_live_ones_respected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a..b.lck");
        // A lock file left behind by a dead process: no flock on it.
        fs::write(&path, "{\"PID\":\"999999\"}").unwrap();
        let lock = acquire(&path, "a..b", None).unwrap();
        // A second taker (another open file description) is refused while it is held.
        let err = acquire(&path, "a..b", None).err().unwrap();
        assert!(err.contains("prior lock file found"), "{err}");
        drop(lock);
        assert!(!path.exists());
        let _again = acquire(&path, "a..b", None).unwrap();
    }

    #[test]
    fn expired_live_lock_is_overridden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a..b.lck");
        let holder = acquire(&path, "a..b", None).unwrap();
        let mut d = read_data(&path).unwrap();
        d.time_expires = Some((Utc::now() - chrono::Duration::seconds(5)).to_rfc3339());
        fs::write(&path, serde_json::to_vec(&d).unwrap()).unwrap();
        let taken = acquire(&path, "a..b", None).unwrap();
        drop(holder); // not ours any more: leaves the new lock file alone
        assert!(path.exists());
        drop(taken);
        assert!(!path.exists());
    }
}
