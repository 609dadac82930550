//! A reader that counts transferred bytes, hashes them on the way through, and
//! applies `--bwlimit` and hard cutoffs.

use std::future::Future;
use std::io;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ferry_core::{ByteStream, HashSet, Hashes, MultiHasher};
use governor::clock::{Clock, DefaultClock};
use tokio::io::{AsyncRead, ReadBuf};

use crate::limits::Limits;
use crate::Stats;

/// The hashes of the bytes that went through an [`Accounted`] reader.
#[derive(Clone, Default)]
pub(crate) struct StreamHashes(Arc<Mutex<Option<MultiHasher>>>);

impl StreamHashes {
    pub(crate) fn new(kinds: HashSet) -> Self {
        StreamHashes(Arc::new(Mutex::new(
            (!kinds.is_empty()).then(|| MultiHasher::new(kinds)),
        )))
    }

    pub(crate) fn finish(&self) -> Hashes {
        self.0
            .lock()
            .expect("hasher lock")
            .take()
            .map(MultiHasher::finish)
            .unwrap_or_default()
    }
}

pub(crate) struct Accounted {
    inner: ByteStream,
    stats: Arc<Stats>,
    limits: Arc<Limits>,
    hashes: StreamHashes,
    delay: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Bytes already passed on that `--bwlimit` has not yet admitted.
    debt: u32,
}

impl Accounted {
    pub(crate) fn new(
        inner: ByteStream,
        stats: Arc<Stats>,
        limits: Arc<Limits>,
        hashes: StreamHashes,
    ) -> Self {
        Accounted {
            inner,
            stats,
            limits,
            hashes,
            delay: None,
            debt: 0,
        }
    }
}

impl AsyncRead for Accounted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.debt > 0 {
            if let Some(delay) = self.delay.as_mut() {
                if delay.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.delay = None;
            }
            let debt = self.debt;
            match throttle(&self.limits, debt) {
                None => self.debt = 0,
                Some(delay) => self.delay = Some(delay),
            }
        }
        if !self.limits.flowing(&self.stats) {
            return Poll::Ready(Err(io::Error::other("transfer limit reached")));
        }
        let burst = self.limits.bwlimit.as_ref().map(|(_, b)| *b as usize);
        let room = burst.map_or(buf.remaining(), |b| b.min(buf.remaining()));
        let mut limited = buf.take(room);
        let this = &mut *self;
        match this.inner.as_mut().poll_read(cx, &mut limited) {
            Poll::Ready(Ok(())) => {
                let n = limited.filled().len();
                if n > 0 {
                    if let Some(h) = this.hashes.0.lock().expect("hasher lock").as_mut() {
                        h.update(limited.filled());
                    }
                    this.stats.add_bytes(n as u64);
                    if this.limits.bwlimit.is_some() {
                        this.debt = n as u32;
                    }
                }
                // SAFETY: `take` handed out the same buffer; those n bytes are initialised.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// Admits `n` bytes under `--bwlimit`, or says how long to wait before asking again.
fn throttle(limits: &Limits, n: u32) -> Option<Pin<Box<tokio::time::Sleep>>> {
    let (limiter, _) = limits.bwlimit.as_ref()?;
    let n = NonZeroU32::new(n)?;
    match limiter.check_n(n) {
        Ok(Ok(())) | Err(_) => None,
        Ok(Err(not_until)) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Some(Box::pin(tokio::time::sleep(wait)))
        }
    }
}
