//! A pool of SSH connections: transfers get a connection of their own (up to `connections`),
//! short requests share the least busy one; broken connections are dropped and replaced.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::{Error, ErrorKind, Result};

use crate::conn::{self, Conn, Credentials};
use crate::options::SftpOptions;

pub(crate) struct Pool {
    pub opts: Arc<SftpOptions>,
    creds: Credentials,
    conns: Mutex<Vec<Arc<Conn>>>,
    pending: AtomicUsize,
    max: usize,
}

/// A connection in use; gives it back on drop.
pub(crate) struct Lease {
    conn: Arc<Conn>,
    heavy: bool,
}

impl Lease {
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    /// Marks the connection as broken so nobody else is given it.
    pub(crate) fn poison(&self) {
        self.conn
            .broken
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Deref for Lease {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let counter = if self.heavy {
            &self.conn.heavy
        } else {
            &self.conn.light
        };
        counter.fetch_sub(1, Ordering::Relaxed);
        *self
            .conn
            .last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

enum Plan {
    Use(Arc<Conn>),
    Connect,
    Wait,
}

impl Pool {
    pub(crate) fn new(opts: Arc<SftpOptions>, creds: Credentials) -> Pool {
        let max = if opts.connections == 0 {
            usize::MAX
        } else {
            opts.connections
        };
        Pool {
            opts,
            creds,
            conns: Mutex::new(Vec::new()),
            pending: AtomicUsize::new(0),
            max,
        }
    }

    fn lease_of(conn: Arc<Conn>, heavy: bool) -> Lease {
        let counter = if heavy { &conn.heavy } else { &conn.light };
        counter.fetch_add(1, Ordering::Relaxed);
        Lease { conn, heavy }
    }

    /// A connection for one operation. `heavy`: a whole-file transfer, which gets a
    /// connection to itself while the `connections` limit allows.
    pub(crate) async fn lease(&self, heavy: bool) -> Result<Lease> {
        loop {
            let plan = {
                let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
                conns.retain(|c| c.is_usable());
                self.reap_idle(&mut conns);
                let pending = self.pending.load(Ordering::Relaxed);
                let load = |c: &Arc<Conn>| {
                    (
                        c.heavy.load(Ordering::Relaxed),
                        c.light.load(Ordering::Relaxed),
                    )
                };
                let least = conns.iter().min_by_key(|c| load(c)).cloned();
                let room = conns.len() + pending < self.max;
                match least {
                    Some(c) if !heavy => Plan::Use(c),
                    Some(c) if load(&c).0 == 0 => Plan::Use(c),
                    Some(_) if room => Plan::Connect,
                    Some(c) => Plan::Use(c),
                    None if pending > 0 && (!heavy || !room) => Plan::Wait,
                    None => Plan::Connect,
                }
            };
            match plan {
                Plan::Use(c) => return Ok(Self::lease_of(c, heavy)),
                Plan::Wait => tokio::time::sleep(Duration::from_millis(5)).await,
                Plan::Connect => {
                    self.pending.fetch_add(1, Ordering::Relaxed);
                    let made = conn::connect(&self.opts, &self.creds).await;
                    self.pending.fetch_sub(1, Ordering::Relaxed);
                    let c = Arc::new(made?);
                    let lease = Self::lease_of(c.clone(), heavy);
                    self.conns.lock().unwrap_or_else(|e| e.into_inner()).push(c);
                    return Ok(lease);
                }
            }
        }
    }

    /// Closes connections idle for longer than `idle_timeout` (keeping one).
    fn reap_idle(&self, conns: &mut Vec<Arc<Conn>>) {
        let Some(idle) = self.opts.idle_timeout else {
            return;
        };
        while conns.len() > 1 {
            let stale = conns.iter().position(|c| {
                c.heavy.load(Ordering::Relaxed) == 0
                    && c.light.load(Ordering::Relaxed) == 0
                    && c.last_used
                        .lock()
                        .map(|t| t.elapsed() > idle)
                        .unwrap_or(false)
            });
            match stale {
                Some(i) => {
                    conns.remove(i);
                }
                None => break,
            }
        }
    }

    /// Runs an idempotent operation, on a fresh connection once more if the first one broke.
    pub(crate) async fn run<T, F, Fut>(&self, heavy: bool, f: F) -> Result<T>
    where
        F: Fn(Lease) -> Fut,
        Fut: std::future::Future<Output = Result<T, crate::SftpFailure>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let lease = self.lease(heavy).await?;
            let conn = lease.conn().clone();
            match f(lease).await {
                Ok(v) => return Ok(v),
                Err(crate::SftpFailure::Lost(why)) => {
                    conn.broken.store(true, Ordering::Relaxed);
                    if attempt >= 3 {
                        return Err(Error::new(
                            ErrorKind::Io,
                            format!(
                                "{}: connection to {} lost: {why}",
                                self.opts.display,
                                self.opts.target()
                            ),
                        )
                        .temporary(true));
                    }
                    tracing::debug!(
                        "{}: connection lost ({why}); reconnecting",
                        self.opts.display
                    );
                }
                Err(crate::SftpFailure::Other(e)) => return Err(e),
            }
        }
    }
}
