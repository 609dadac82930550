//! A body read from a server, counted. When the server cuts it short (its connection
//! closed or reset mid-body, or the body ends before its `Content-Length`), the read fails
//! with one line saying so (what was being read, how many bytes were expected and how
//! many came) as a temporary error, instead of an HTTP library's "error decoding response
//! body". [`crate::Error::io`] keeps that error's words and its temporariness, so every
//! reader of the stream reports it the same way and the transfer is retried.

use std::error::Error as StdError;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::{ByteStream, Error, ErrorKind};

/// `inner` (a body of `expected` bytes, when the server said), counted; `what` names it
/// in the error ("the download from 127.0.0.1:9000").
pub fn counted<R>(inner: R, what: impl Into<String>, expected: Option<u64>) -> ByteStream
where
    R: AsyncRead + Send + Unpin + 'static,
{
    Box::pin(Counted {
        inner,
        what: what.into(),
        expected,
        got: 0,
    })
}

/// A whole body read through [`counted`] (a listing, a JSON answer): the cut-short
/// error, with `what` in it, when the server cut it short.
pub async fn read_all<R>(inner: R, what: &str, expected: Option<u64>) -> crate::Result<Vec<u8>>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    use tokio::io::AsyncReadExt;
    let mut out = Vec::with_capacity(expected.unwrap_or(0).min(1 << 20) as usize);
    counted(inner, what, expected)
        .read_to_end(&mut out)
        .await
        .map_err(|e| Error::io(format!("failed to read {what}"), e))?;
    Ok(out)
}

/// The error of a body cut short after `got` bytes; `cause` is what the library said.
pub fn cut_short(
    what: &str,
    expected: Option<u64>,
    got: u64,
    cause: Option<&(dyn StdError + 'static)>,
) -> Error {
    let cause = cause.map(innermost).unwrap_or_default();
    let cause = if cause.is_empty() {
        String::new()
    } else {
        format!(" ({cause})")
    };
    let counts = match expected {
        Some(n) => format!("expected {n} bytes, got {got}"),
        None => format!("got {got} bytes"),
    };
    Error::new(
        ErrorKind::Io,
        format!(
            "{what} was cut short by the server: {counts}{cause}; a temporary failure, \
             a retry may succeed"
        ),
    )
    .temporary(true)
}

/// The innermost error of a chain, in one line: the library's own words for what
/// happened ("connection reset", "end of file before message length reached").
pub fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = last.to_string();
    text.lines().next().unwrap_or("").trim().to_owned()
}

struct Counted<R> {
    inner: R,
    what: String,
    expected: Option<u64>,
    got: u64,
}

impl<R> Counted<R> {
    fn cut(&self, cause: Option<io::Error>) -> io::Error {
        let e = cut_short(
            &self.what,
            self.expected,
            self.got,
            cause.as_ref().map(|c| c as &(dyn StdError + 'static)),
        );
        io::Error::new(io::ErrorKind::UnexpectedEof, e)
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let (before, room) = (buf.filled().len(), buf.remaining());
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                self.got += n;
                let short = self.expected.is_some_and(|e| self.got < e);
                if n == 0 && room > 0 && short {
                    return Poll::Ready(Err(self.cut(None)));
                }
                Poll::Ready(Ok(()))
            }
            // Every byte the server promised came: the error is not a cut but a check of
            // the whole body (a CRC that doesn't match), and keeps its own words and kind.
            Poll::Ready(Err(e)) if self.expected.is_some_and(|x| self.got >= x) => {
                Poll::Ready(Err(e))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.cut(Some(e)))),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// `data`, then `end` (an error) or a clean end.
    fn body(data: &'static [u8], end: Option<io::Error>) -> impl AsyncRead + Send + Unpin {
        let tail: Box<dyn AsyncRead + Send + Unpin> = match end {
            Some(e) => Box::new(Failing(Some(e))),
            None => Box::new(tokio::io::empty()),
        };
        AsyncReadExt::chain(data, tail)
    }

    struct Failing(Option<io::Error>);
    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Err(self
                .0
                .take()
                .unwrap_or_else(|| io::Error::other("again"))))
        }
    }

    /// An HTTP library's error: a vague outer line over the real cause.
    #[derive(Debug)]
    struct Vague(io::Error);
    impl std::fmt::Display for Vague {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error decoding response body")
        }
    }
    impl StdError for Vague {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    async fn read(mut s: ByteStream) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.map(|_| out)
    }

    #[tokio::test]
    async fn a_whole_body_reads_as_it_is() {
        let s = counted(body(b"hello", None), "the download", Some(5));
        assert_eq!(read(s).await.unwrap(), b"hello");
        let s = counted(body(b"hello", None), "the download", None);
        assert_eq!(read(s).await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn an_error_after_the_whole_body_keeps_its_own_words() {
        let bad = io::Error::new(io::ErrorKind::InvalidData, "CRC32C differs");
        let s = counted(body(b"hello", Some(bad)), "the download", Some(5));
        let e = read(s).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "CRC32C differs");
    }

    #[tokio::test]
    async fn a_body_ended_early_is_a_temporary_error_with_the_counts() {
        let s = counted(body(b"only 30", None), "the download from h:1", Some(100));
        let e = Error::io("failed to read source", read(s).await.unwrap_err()).with_path("a/b");
        assert!(e.is_temporary(), "{e}");
        assert_eq!(
            e.to_string(),
            "a/b: failed to read source: the download from h:1 was cut short by the server: \
             expected 100 bytes, got 7; a temporary failure, a retry may succeed"
        );
    }

    #[tokio::test]
    async fn a_body_whose_connection_failed_names_the_real_cause() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by peer");
        let cause = io::Error::other(Vague(reset));
        let s = counted(body(b"abc", Some(cause)), "the download", Some(10));
        let e = Error::io("failed to read source", read(s).await.unwrap_err());
        assert!(e.is_temporary(), "{e}");
        let m = e.to_string();
        assert!(
            m.contains("expected 10 bytes, got 3 (connection reset by peer)"),
            "{m}"
        );
        assert!(!m.contains("decoding"), "{m}");
        // Without a length the count alone is said.
        let s = counted(body(b"abcd", Some(io::Error::other("eof"))), "it", None);
        let m = Error::io("x", read(s).await.unwrap_err()).to_string();
        assert!(
            m.contains("it was cut short by the server: got 4 bytes (eof)"),
            "{m}"
        );
    }
}
