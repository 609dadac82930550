//! A reader that counts transferred bytes, hashes them on the way through, and
//! applies `--bwlimit` and hard cutoffs.

use std::future::Future;
use std::io;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ferry_core::{ByteStream, HashSet, Hashes, MultiHasher};
use governor::clock::{Clock, DefaultClock};
use tokio::io::{AsyncRead, ReadBuf};

use crate::limits::{Limiter, Limits};
use crate::stats::Flight;
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

/// Raised when a source sent more bytes than its listed size (a link to `/dev/zero`, a
/// file still growing, a hostile server): the read stopped one byte past the size.
#[derive(Clone, Default)]
pub(crate) struct Overrun(Arc<AtomicBool>);

impl Overrun {
    pub(crate) fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub(crate) struct Accounted {
    inner: ByteStream,
    /// Bytes still expected, and where to say that more came.
    bound: Option<(u64, Overrun)>,
    stats: Arc<Stats>,
    /// The file's own count, for the "transferring" list.
    flight: Option<Arc<Flight>>,
    limits: Arc<Limits>,
    hashes: StreamHashes,
    delay: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Bytes already passed on that `--bwlimit` has not yet admitted.
    debt: u32,
    /// The file's own `--bwlimit-file` bucket (shared by its streams), and the bytes it
    /// has not yet admitted.
    own: Option<(Arc<Limiter>, u32)>,
    own_debt: u32,
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
            bound: None,
            stats,
            flight: None,
            limits,
            hashes,
            delay: None,
            debt: 0,
            own: None,
            own_debt: 0,
        }
    }

    /// Under the file's own `--bwlimit-file` bucket too.
    pub(crate) fn per_file(mut self, own: Option<(Arc<Limiter>, u32)>) -> Self {
        self.own = own;
        self
    }

    /// Counts the bytes for this file too.
    pub(crate) fn for_file(mut self, flight: Option<Arc<Flight>>) -> Self {
        self.flight = flight;
        self
    }

    /// Reads at most `len` bytes plus one: one more byte fails the read, never a
    /// read that goes on for ever.
    pub(crate) fn bounded(mut self, len: u64, overrun: Overrun) -> Self {
        self.bound = Some((len, overrun));
        self
    }
}

impl AsyncRead for Accounted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.debt > 0 || self.own_debt > 0 {
            if let Some(delay) = self.delay.as_mut() {
                if delay.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.delay = None;
            }
            // The run's limit first, then the file's own.
            let wait = if self.debt > 0 {
                let wait = self.limits.bw().and_then(|(l, _)| admit(&l, self.debt));
                if wait.is_none() {
                    self.debt = 0;
                }
                wait
            } else {
                let wait = self.own.as_ref().and_then(|(l, _)| admit(l, self.own_debt));
                if wait.is_none() {
                    self.own_debt = 0;
                }
                wait
            };
            self.delay = wait;
        }
        if !self.limits.flowing(&self.stats) {
            return Poll::Ready(Err(io::Error::other("transfer limit reached")));
        }
        let mut room = buf.remaining();
        for burst in [
            self.limits.bw().map(|(_, b)| b),
            self.own.as_ref().map(|(_, b)| *b),
        ]
        .into_iter()
        .flatten()
        {
            room = room.min(burst as usize);
        }
        if let Some((left, _)) = &self.bound {
            // One byte past the end tells a clean end of file from an overrun.
            room = room.min(usize::try_from(left.saturating_add(1)).unwrap_or(usize::MAX));
        }
        let mut limited = buf.take(room);
        let this = &mut *self;
        match this.inner.as_mut().poll_read(cx, &mut limited) {
            Poll::Ready(Ok(())) => {
                let n = limited.filled().len();
                if let Some((left, overrun)) = &mut this.bound {
                    if n as u64 > *left {
                        overrun.0.store(true, Ordering::Relaxed);
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "the source sent more bytes than its listed size",
                        )));
                    }
                    *left -= n as u64;
                }
                if n > 0 {
                    if let Some(h) = this.hashes.0.lock().expect("hasher lock").as_mut() {
                        h.update(limited.filled());
                    }
                    this.stats.add_bytes(n as u64);
                    if let Some(f) = &this.flight {
                        f.add(n as u64);
                    }
                    if this.limits.bw().is_some() {
                        this.debt = n as u32;
                    }
                    if this.own.is_some() {
                        this.own_debt = n as u32;
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

/// Admits `n` bytes under `limiter`, or says how long to wait before asking again.
fn admit(limiter: &Limiter, n: u32) -> Option<Pin<Box<tokio::time::Sleep>>> {
    let n = NonZeroU32::new(n)?;
    match limiter.check_n(n) {
        Ok(Ok(())) | Err(_) => None,
        Ok(Err(not_until)) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Some(Box::pin(tokio::time::sleep(wait)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn accounted(inner: ByteStream, len: u64, overrun: &Overrun) -> Accounted {
        let limits = Limits::new(None, None, crate::CutoffMode::Hard, None, false);
        Accounted::new(
            inner,
            Arc::new(Stats::default()),
            Arc::new(limits),
            StreamHashes::default(),
        )
        .bounded(len, overrun.clone())
    }

    #[tokio::test]
    async fn a_source_that_never_ends_stops_one_byte_past_its_size() {
        let overrun = Overrun::default();
        let mut r = accounted(Box::pin(tokio::io::repeat(0)), 1000, &overrun);
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(overrun.happened());
        assert!(out.len() <= 1000, "nothing past the size is passed on");
    }

    #[tokio::test]
    async fn a_source_of_exactly_its_size_reads_cleanly() {
        let overrun = Overrun::default();
        let data: &'static [u8] = &[1u8; 4096];
        let mut r = accounted(Box::pin(data), 4096, &overrun);
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 4096);
        assert!(!overrun.happened());
    }
}
