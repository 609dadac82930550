//! Fault injection, for tests: fail chosen calls (temporarily or for good), slow them
//! down, or cut the streams read or written after some bytes (a short read ends early, a
//! broken one fails), so a test can prove what ferry does when a backend misbehaves.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, ReadBuf};

use super::{Layer, Op};
use crate::{ByteStream, Error, ErrorKind, RelPath, Result};

/// Which calls of an operation a rule hits, counted from 1: per operation, or per
/// operation and path for a rule that names a path.
#[derive(Clone, Copy, Debug)]
pub enum Calls {
    /// The first `n` calls.
    First(u64),
    /// Only the `n`th call.
    Nth(u64),
    Every,
}

impl Calls {
    fn hits(self, call: u64) -> bool {
        match self {
            Calls::First(n) => call <= n,
            Calls::Nth(n) => call == n,
            Calls::Every => true,
        }
    }
}

/// How a stream is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// It ends after the bytes (a short read: the size is then wrong).
    Short,
    /// It fails after the bytes, as a dropped connection does.
    Broken,
}

#[derive(Clone, Debug)]
enum Effect {
    Fail { temporary: bool },
    Delay(Duration),
    CutRead { after: u64, how: Cut },
    CutWrite { after: u64, how: Cut },
}

#[derive(Clone, Debug)]
struct Rule {
    op: Op,
    calls: Calls,
    /// Only calls on this path (`None`: any path).
    path: Option<String>,
    effect: Effect,
}

/// The faults to inject, and how many calls of each operation were made.
#[derive(Default)]
pub struct Faults {
    rules: Vec<Rule>,
    calls: Mutex<HashMap<Op, u64>>,
    path_calls: Mutex<HashMap<(Op, String), u64>>,
    /// The cut that the next stream of a call gets, by operation (set in `before`).
    pending_cut: Mutex<HashMap<(Op, String), (u64, Cut)>>,
}

impl Faults {
    pub fn new() -> Self {
        Faults::default()
    }

    /// Fails `calls` of `op` (on `path`, or any) with an I/O error, temporary or not.
    pub fn fail(mut self, op: Op, calls: Calls, path: Option<&str>, temporary: bool) -> Self {
        self.rule(op, calls, path, Effect::Fail { temporary });
        self
    }

    /// Delays `calls` of `op` by `by`.
    pub fn delay(mut self, op: Op, calls: Calls, by: Duration) -> Self {
        self.rule(op, calls, None, Effect::Delay(by));
        self
    }

    /// Cuts what `calls` of `open` on `path` (or any) read after `after` bytes.
    pub fn cut_reads(mut self, calls: Calls, path: Option<&str>, after: u64, how: Cut) -> Self {
        self.rule(Op::Open, calls, path, Effect::CutRead { after, how });
        self
    }

    /// Cuts what `calls` of `put` on `path` (or any) write after `after` bytes.
    pub fn cut_writes(mut self, calls: Calls, path: Option<&str>, after: u64, how: Cut) -> Self {
        self.rule(Op::Put, calls, path, Effect::CutWrite { after, how });
        self
    }

    /// How many calls of `op` were made.
    pub fn calls(&self, op: Op) -> u64 {
        *self.lock_calls().get(&op).unwrap_or(&0)
    }

    fn rule(&mut self, op: Op, calls: Calls, path: Option<&str>, effect: Effect) {
        self.rules.push(Rule {
            op,
            calls,
            path: path.map(str::to_owned),
            effect,
        });
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, HashMap<Op, u64>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take_cut(&self, op: Op, path: &RelPath) -> Option<(u64, Cut)> {
        let mut pending = self.pending_cut.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(&(op, path.to_string()))
    }
}

#[async_trait]
impl Layer for Faults {
    async fn before(&self, op: Op, path: &RelPath) -> Result<()> {
        let call = {
            let mut calls = self.lock_calls();
            let n = calls.entry(op).or_insert(0);
            *n += 1;
            *n
        };
        let path_call = {
            let mut calls = self.path_calls.lock().unwrap_or_else(|p| p.into_inner());
            let n = calls.entry((op, path.to_string())).or_insert(0);
            *n += 1;
            *n
        };
        let hit = self.rules.iter().filter(|r| {
            r.op == op
                && match r.path.as_deref() {
                    Some(p) => p == path.as_str() && r.calls.hits(path_call),
                    None => r.calls.hits(call),
                }
        });
        for rule in hit {
            match rule.effect {
                Effect::Fail { temporary } => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("injected fault: {op:?} call {call} failed"),
                    )
                    .with_path(path.to_string())
                    .temporary(temporary));
                }
                Effect::Delay(by) => tokio::time::sleep(by).await,
                Effect::CutRead { after, how } | Effect::CutWrite { after, how } => {
                    let mut pending = self.pending_cut.lock().unwrap_or_else(|p| p.into_inner());
                    pending.insert((op, path.to_string()), (after, how));
                }
            }
        }
        Ok(())
    }

    fn reading(&self, path: &RelPath, stream: ByteStream) -> ByteStream {
        match self.take_cut(Op::Open, path) {
            Some((after, how)) => Box::pin(CutStream::new(stream, after, how)),
            None => stream,
        }
    }

    fn writing(&self, path: &RelPath, stream: ByteStream) -> ByteStream {
        match self.take_cut(Op::Put, path) {
            Some((after, how)) => Box::pin(CutStream::new(stream, after, how)),
            None => stream,
        }
    }
}

/// A stream that stops, or fails, after `left` bytes.
struct CutStream {
    inner: ByteStream,
    left: u64,
    how: Cut,
}

impl CutStream {
    fn new(inner: ByteStream, after: u64, how: Cut) -> Self {
        CutStream {
            inner,
            left: after,
            how,
        }
    }
}

impl AsyncRead for CutStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(match self.how {
                Cut::Short => Ok(()),
                Cut::Broken => Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected fault: the stream broke",
                )),
            });
        }
        let room = buf
            .remaining()
            .min(self.left.min(usize::MAX as u64) as usize);
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(room));
        let polled = self.inner.as_mut().poll_read(cx, &mut part);
        let read = part.filled().len();
        if let Poll::Ready(Ok(())) = polled {
            buf.advance(read);
            self.left -= read as u64;
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn streams_are_cut_short_or_broken() {
        for (how, ok) in [(Cut::Short, true), (Cut::Broken, false)] {
            let data: ByteStream = Box::pin(std::io::Cursor::new(vec![1u8; 100]));
            let mut cut = CutStream::new(data, 40, how);
            let mut out = Vec::new();
            let read = cut.read_to_end(&mut out).await;
            assert_eq!(read.is_ok(), ok, "{how:?}");
            assert_eq!(out.len(), 40, "{how:?}");
        }
    }

    #[tokio::test]
    async fn rules_hit_the_calls_they_name() {
        let f = Faults::new()
            .fail(Op::Stat, Calls::First(2), None, true)
            .fail(Op::Delete, Calls::Nth(2), Some("b"), false);
        let p = |s: &str| RelPath::new(s).unwrap();
        assert!(f
            .before(Op::Stat, &p("x"))
            .await
            .unwrap_err()
            .is_temporary());
        assert!(f.before(Op::Stat, &p("x")).await.is_err());
        assert!(f.before(Op::Stat, &p("x")).await.is_ok());
        assert!(f.before(Op::Delete, &p("a")).await.is_ok());
        assert!(f.before(Op::Delete, &p("b")).await.is_ok());
        let e = f.before(Op::Delete, &p("b")).await.unwrap_err();
        assert!(!e.is_temporary(), "the second call on b");
        assert_eq!((f.calls(Op::Stat), f.calls(Op::Delete)), (3, 3));
    }
}
