//! Connections kept for reuse, as rclone keeps them: one per operation in flight (no
//! limit of its own: `--checkers` and `--transfers` bound them), an idle one closed once
//! it sat unused for `idle_timeout`, and an operation that finds its reused connection
//! dead tried once more on a fresh one (servers drop idle clients on their own), and a
//! dial that is refused tried again after a pause.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::Result;

use crate::conn::{Conn, LoginFailed};
use crate::error::is_lost;
use crate::options::SmbOptions;

/// A borrowed future, for operations run on a connection.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub struct Pool {
    pub opts: Arc<SmbOptions>,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

/// One connection in use. Dropped without [`Pool::give_back`], it is closed.
pub struct Lease {
    pub conn: Conn,
    /// Taken from the pool (it may have died while idle), not dialled for this use.
    reused: bool,
}

impl Pool {
    pub fn new(opts: Arc<SmbOptions>) -> Pool {
        Pool {
            opts,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connection logged in to `share` (`""`: IPC$): an idle one if any is fresh
    /// enough, else a new one.
    pub async fn get(&self, share: &str) -> Result<Lease> {
        match self.take_idle() {
            Some(mut conn) => {
                conn.ensure_share(&self.opts, share).await?;
                Ok(Lease { conn, reused: true })
            }
            None => self.dial(share).await,
        }
    }

    /// A new connection logged in to `share`. One refused or reset is dialled again,
    /// `connect_tries` times in all, after ferry's growing pause with jitter
    /// (`ferry_core::retry`): a server restarting is waited out.
    pub async fn dial(&self, share: &str) -> Result<Lease> {
        let conn = ferry_core::retry::Backoff::DEFAULT
            .retry(
                self.opts.connect_tries,
                |f: &LoginFailed| f.again,
                || async {
                    let mut conn = Conn::new(&self.opts);
                    conn.login(&self.opts, share).await.map(|()| conn)
                },
            )
            .await
            .map_err(|f| f.error)?;
        Ok(Lease {
            conn,
            reused: false,
        })
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // Most recently used last: it is the likeliest to be alive.
        while let Some((conn, since)) = idle.pop() {
            match self.opts.idle_timeout {
                Some(t) if since.elapsed() >= t => drop(conn),
                _ => return Some(conn),
            }
        }
        None
    }

    /// Returns a connection whose last operation left it usable.
    pub fn give_back(&self, lease: Lease) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.push((lease.conn, Instant::now()));
    }

    /// Runs `op` on a connection to `share` and gives the connection back unless it
    /// broke. A reused connection found dead is replaced by a fresh one and `op` tried
    /// again, once. The outer error: no connection could be made; the inner one is `op`'s.
    pub async fn run<T, F>(&self, share: &str, op: F) -> Result<smb::Result<T>>
    where
        F: for<'c> Fn(&'c mut Conn) -> BoxFut<'c, smb::Result<T>>,
    {
        let mut lease = self.get(share).await?;
        let idle = self.opts.timeouts.idle;
        let mut result = bounded(idle, op(&mut lease.conn)).await;
        if lease.reused && matches!(&result, Err(e) if is_lost(e)) {
            drop(lease);
            lease = self.dial(share).await?;
            result = bounded(idle, op(&mut lease.conn)).await;
        }
        match &result {
            Err(e) if is_lost(e) => drop(lease),
            _ => self.give_back(lease),
        }
        Ok(result)
    }
}

/// An operation that gets no answer within `limit` (`--timeout`) fails as a lost
/// connection.
pub async fn bounded<T>(
    limit: Option<Duration>,
    f: impl Future<Output = smb::Result<T>>,
) -> smb::Result<T> {
    match limit {
        Some(t) => tokio::time::timeout(t, f).await.unwrap_or_else(|_| {
            Err(smb::Error::IoError(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer for {}s (--timeout)", t.as_secs()),
            )))
        }),
        None => f.await,
    }
}
