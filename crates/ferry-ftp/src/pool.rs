//! Connections kept for reuse: at most `concurrency` at once (0: no limit), idle ones
//! closed after `idle_timeout`, and a command that finds its reused connection dead
//! tried once more on a fresh one (servers close idle connections on their own).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ferry_core::Result;
use rustls::ClientConfig;
use suppaftp::FtpResult;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::conn::{connect, timed_out_after, Caps, Conn};
use crate::error::is_lost;
use crate::options::FtpOptions;

/// A borrowed future, for operations run on a connection.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub struct Pool {
    pub opts: Arc<FtpOptions>,
    tls: Option<Arc<ClientConfig>>,
    idle: Mutex<Vec<(Conn, Instant)>>,
    limit: Option<Arc<Semaphore>>,
    /// What the server can do, known from the first login on.
    caps: OnceLock<Caps>,
}

/// One connection in use. Dropped without [`Pool::give_back`], it is closed.
pub struct Lease {
    conn: Conn,
    /// Taken from the pool (it may have died while idle), not dialled for this use.
    reused: bool,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Lease {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Pool {
    pub fn new(opts: Arc<FtpOptions>, tls: Option<Arc<ClientConfig>>) -> Pool {
        let limit = (opts.concurrency > 0).then(|| Arc::new(Semaphore::new(opts.concurrency)));
        Pool {
            opts,
            tls,
            idle: Mutex::new(Vec::new()),
            limit,
            caps: OnceLock::new(),
        }
    }

    /// The server's capabilities, if a connection was made yet.
    pub fn caps(&self) -> Option<Caps> {
        self.caps.get().copied()
    }

    /// The server's capabilities, logging in once if needed.
    pub async fn caps_now(&self) -> Result<Caps> {
        if let Some(c) = self.caps() {
            return Ok(c);
        }
        let lease = self.get().await?;
        let caps = lease.conn.caps;
        self.give_back(lease);
        Ok(caps)
    }

    /// A connection: an idle one if any is fresh enough, else a new one.
    pub async fn get(&self) -> Result<Lease> {
        let permit = self.permit().await;
        if let Some(conn) = self.take_idle() {
            return Ok(Lease {
                conn,
                reused: true,
                _permit: permit,
            });
        }
        self.dial(permit).await
    }

    async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        match &self.limit {
            // The semaphore is never closed.
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        }
    }

    async fn dial(&self, permit: Option<OwnedSemaphorePermit>) -> Result<Lease> {
        let conn = connect(&self.opts, self.tls.as_ref()).await?;
        let _ = self.caps.set(conn.caps);
        Ok(Lease {
            conn,
            reused: false,
            _permit: permit,
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

    /// Returns a connection whose last command left it in a known state.
    pub fn give_back(&self, lease: Lease) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.push((lease.conn, Instant::now()));
    }

    /// Runs `op` on a connection and gives the connection back unless it broke. A reused
    /// connection found dead is replaced by a fresh one and `op` tried again, once.
    /// The outer error: no connection could be made; the inner one is `op`'s.
    pub async fn run<T, F>(&self, op: F) -> Result<FtpResult<T>>
    where
        F: for<'c> Fn(&'c mut Conn) -> BoxFut<'c, FtpResult<T>>,
    {
        let mut lease = self.get().await?;
        let idle = self.opts.timeouts.idle;
        let mut result = bounded(idle, op(lease.conn())).await;
        if lease.reused && matches!(&result, Err(e) if is_lost(e)) {
            let permit = lease._permit.take();
            drop(lease);
            lease = self.dial(permit).await?;
            result = bounded(idle, op(lease.conn())).await;
        }
        match &result {
            Err(e) if is_lost(e) => drop(lease),
            _ => self.give_back(lease),
        }
        Ok(result)
    }
}

/// A command that gets no answer within `limit` (`--timeout`) fails as a lost connection.
pub async fn bounded<T>(
    limit: Option<Duration>,
    f: impl Future<Output = FtpResult<T>>,
) -> FtpResult<T> {
    match limit {
        Some(t) => tokio::time::timeout(t, f)
            .await
            .unwrap_or_else(|_| Err(timed_out_after(t))),
        None => f.await,
    }
}
