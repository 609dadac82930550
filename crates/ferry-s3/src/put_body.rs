//! A PutObject body read from the source while the request is being sent, so a
//! single-part upload holds one read buffer, never the whole object.
//!
//! The body hashes what it hands out and refuses to end unless the source ended exactly
//! at the announced size: the last bytes are held back until the source reports its end,
//! so a source that grew or shrank fails the request and S3 never stores the object.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use ferry_core::md5::{Digest, Md5};
use ferry_core::ByteStream;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes read from the source per frame.
pub(crate) const READ_SIZE: usize = 256 * 1024;

/// What the body saw, for the upload to check once S3 has answered.
#[derive(Default)]
pub(crate) struct Seen {
    /// Every byte was handed to the request and the source ended right there.
    pub ended: bool,
    /// The MD5 of those bytes, when asked for.
    pub md5: Option<[u8; 16]>,
    /// Why the body failed the request, in the upload's words.
    pub failure: Option<SourceFault>,
}

/// How the source broke its promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SourceFault {
    /// It ended after this many bytes.
    Short(u64),
    /// It had more than the announced size.
    Long,
}

pub(crate) struct Streamed {
    /// Behind a mutex only because the SDK wants a `Sync` body; only `get_mut` is used.
    src: Mutex<ByteStream>,
    size: u64,
    /// Bytes handed out so far.
    sent: u64,
    /// `None` when the MD5 is not wanted (S3 checks a Content-MD5 sent beforehand).
    md5: Option<Md5>,
    /// The final frame, kept until the source confirms its end.
    last: Option<Bytes>,
    done: bool,
    seen: Arc<Mutex<Seen>>,
}

impl Streamed {
    /// A body of exactly `size` bytes from `src` (hashed if `hash`), and where it
    /// reports what it saw.
    pub(crate) fn new(src: ByteStream, size: u64, hash: bool) -> (Self, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let body = Streamed {
            src: Mutex::new(src),
            size,
            sent: 0,
            md5: hash.then(Md5::new),
            last: None,
            done: false,
            seen: seen.clone(),
        };
        (body, seen)
    }

    fn fail(&mut self, fault: SourceFault) -> std::io::Error {
        self.done = true;
        self.seen.lock().expect("lock").failure = Some(fault);
        let what = match fault {
            SourceFault::Short(n) => format!("the source ended after {n} bytes"),
            SourceFault::Long => "the source has more bytes than its size".into(),
        };
        std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what)
    }

    /// Reads up to `want` bytes (at least one unless the source ended).
    fn poll_read(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<std::io::Result<Bytes>> {
        let mut buf = BytesMut::zeroed(want);
        let mut rb = ReadBuf::new(&mut buf);
        let src = self.src.get_mut().expect("lock");
        match Pin::new(src).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                buf.truncate(n);
                Poll::Ready(Ok(buf.freeze()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// With every byte read: the source must end here. Then the held frame goes out.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        match self.poll_read(cx, 1) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Ok(extra)) if !extra.is_empty() => {
                Poll::Ready(Some(Err(self.fail(SourceFault::Long))))
            }
            Poll::Ready(Ok(_)) => {
                self.done = true;
                let mut seen = self.seen.lock().expect("lock");
                seen.ended = true;
                seen.md5 = self.md5.take().map(|h| h.finalize().into());
                drop(seen);
                Poll::Ready(self.last.take().map(|b| Ok(Frame::data(b))))
            }
        }
    }
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::io::Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.sent == this.size {
            return this.poll_end(cx);
        }
        let want = (this.size - this.sent).min(READ_SIZE as u64) as usize;
        let chunk = match this.poll_read(cx, want) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => {
                this.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            Poll::Ready(Ok(c)) => c,
        };
        if chunk.is_empty() {
            let sent = this.sent;
            return Poll::Ready(Some(Err(this.fail(SourceFault::Short(sent)))));
        }
        if let Some(h) = this.md5.as_mut() {
            h.update(&chunk);
        }
        this.sent += chunk.len() as u64;
        if this.sent < this.size {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        this.last = Some(chunk);
        this.poll_end(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        let held = self.last.as_ref().map_or(0, |b| b.len() as u64);
        SizeHint::with_exact(self.size - self.sent + held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn drain(data: Vec<u8>, size: u64) -> (Result<Vec<u8>, String>, Seen) {
        let (mut body, seen) = Streamed::new(Box::pin(std::io::Cursor::new(data)), size, true);
        let mut out = Vec::new();
        let res = loop {
            match body.frame().await {
                None => break Ok(out),
                Some(Ok(f)) => out.extend_from_slice(&f.into_data().unwrap()),
                Some(Err(e)) => break Err(e.to_string()),
            }
        };
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        (res, seen)
    }

    #[tokio::test]
    async fn hands_out_every_byte_and_its_md5() {
        let data: Vec<u8> = (0..READ_SIZE * 2 + 17).map(|i| (i % 251) as u8).collect();
        let (out, seen) = drain(data.clone(), data.len() as u64).await;
        assert_eq!(out.unwrap(), data);
        assert!(seen.ended);
        assert_eq!(seen.md5, Some(Md5::digest(&data).into()));
        assert_eq!(seen.failure, None);
        let (out, seen) = drain(Vec::new(), 0).await;
        assert_eq!(out.unwrap(), b"");
        assert_eq!(seen.md5, Some(Md5::digest(b"").into()));
    }

    #[tokio::test]
    async fn a_source_of_another_size_fails_before_the_last_byte() {
        let data = vec![7u8; READ_SIZE + 10];
        let (out, seen) = drain(data.clone(), data.len() as u64 - 1).await;
        assert!(out.is_err());
        assert_eq!(seen.failure, Some(SourceFault::Long));
        assert!(!seen.ended);
        let (out, seen) = drain(data.clone(), data.len() as u64 + 5).await;
        assert!(out.is_err());
        assert_eq!(seen.failure, Some(SourceFault::Short(data.len() as u64)));
    }
}
