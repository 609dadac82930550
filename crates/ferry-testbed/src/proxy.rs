//! A TCP fault proxy: listens on 127.0.0.1 in front of a real test server and passes
//! bytes through both ways, except on the connections its rules pick, where it resets
//! the connection, stalls it, ends it early (a truncated response or upload), or slows
//! it down, once a number of bytes has passed. [`FaultProxy::outage`] stands in for
//! killing the server and starting it again: every open connection is reset and new
//! ones are refused until it ends (the real servers are shared by other tests, so they
//! are never killed themselves).
//!
//! ```no_run
//! use ferry_testbed::proxy::{FaultProxy, Rule, Fault, Conns};
//! let p = FaultProxy::start("127.0.0.1:9000", vec![Rule::new(Fault::Reset).after(10_000).on(Conns::Nth(2))]);
//! let endpoint = format!("http://{}", p.addr()); // point the client here
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What happens to a connection once its rule's bytes have passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Both sides get a TCP reset (as when a server process dies).
    Reset,
    /// Nothing more passes either way, and the connection stays open: a hung server.
    Stall,
    /// Both sides are closed cleanly: a response (or upload) cut short.
    Truncate,
    /// The rest passes at this many bytes per second.
    Slow { bytes_per_sec: u64 },
}

/// Which direction's bytes a rule counts (and cuts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the server to the client: responses, downloads.
    Down,
    /// From the client to the server: requests, uploads.
    Up,
}

/// Which connections a rule hits, counted from 1 in the order they were accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conns {
    Nth(u64),
    /// The first n.
    First(u64),
    /// Every n-th (n, 2n, 3n, ...).
    EveryNth(u64),
    Every,
}

impl Conns {
    fn hits(self, conn: u64) -> bool {
        match self {
            Conns::Nth(n) => conn == n,
            Conns::First(n) => conn <= n,
            Conns::EveryNth(n) => n > 0 && conn % n == 0,
            Conns::Every => true,
        }
    }
}

/// One fault: what, in which direction, after how many bytes, on which connections.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub fault: Fault,
    pub dir: Dir,
    pub after: u64,
    pub conns: Conns,
}

impl Rule {
    /// `fault` at once, on every connection, counting the server's bytes.
    pub fn new(fault: Fault) -> Rule {
        Rule {
            fault,
            dir: Dir::Down,
            after: 0,
            conns: Conns::Every,
        }
    }

    /// Once `bytes` have passed.
    pub fn after(mut self, bytes: u64) -> Rule {
        self.after = bytes;
        self
    }

    /// Counting the client's bytes (uploads) instead of the server's.
    pub fn up(mut self) -> Rule {
        self.dir = Dir::Up;
        self
    }

    pub fn on(mut self, conns: Conns) -> Rule {
        self.conns = conns;
        self
    }
}

struct Shared {
    upstream: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    conns: AtomicU64,
    faults: AtomicU64,
    /// True during an outage: open connections are reset, new ones refused.
    down: watch::Sender<bool>,
    /// True once the proxy is dropped: stalled connections are let go.
    closing: watch::Sender<bool>,
    accepting: AtomicBool,
}

/// A running proxy; stops (closing every connection) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 in front of `upstream` (`host:port`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let upstream = std::net::ToSocketAddrs::to_socket_addrs(upstream)
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("fault proxy: no address for {upstream}"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("fault proxy runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("fault proxy: bind 127.0.0.1");
        let addr = listener.local_addr().expect("fault proxy address");
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(rules),
            conns: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            down: watch::channel(false).0,
            closing: watch::channel(false).0,
            accepting: AtomicBool::new(true),
        });
        rt.spawn(accept_loop(listener, shared.clone()));
        FaultProxy {
            addr,
            shared,
            rt: Some(rt),
        }
    }

    /// Where clients connect instead of the server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Replaces the rules (connections counted so far keep counting).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.shared.rules.lock().unwrap() = rules;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.conns.load(Ordering::SeqCst)
    }

    /// Faults injected so far (each rule hit, and each connection an outage cut).
    pub fn faults(&self) -> u64 {
        self.shared.faults.load(Ordering::SeqCst)
    }

    /// The server "dies" for `length`: every open connection is reset at once and new
    /// connections are refused (reset as they arrive) until it "restarts".
    pub fn outage(&self, length: Duration) {
        self.shared.accepting.store(false, Ordering::SeqCst);
        self.shared.down.send_replace(true);
        std::thread::sleep(length);
        self.shared.down.send_replace(false);
        self.shared.accepting.store(true, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.closing.send_replace(true);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if !shared.accepting.load(Ordering::SeqCst) {
            shared.faults.fetch_add(1, Ordering::SeqCst);
            reset(client);
            continue;
        }
        let n = shared.conns.fetch_add(1, Ordering::SeqCst) + 1;
        let rule = shared
            .rules
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.conns.hits(n))
            .copied();
        tokio::spawn(serve(client, rule, shared.clone()));
    }
}

/// Waits until the watched value passes `test` (or its sender is gone). The value's
/// guard is never held across an await, so the task stays `Send`.
async fn until<T>(rx: &mut watch::Receiver<T>, test: impl FnMut(&T) -> bool) {
    let _ = rx.wait_for(test).await.map(drop);
}

/// Drops `stream` with a TCP reset rather than a clean close.
fn reset(stream: TcpStream) {
    // A zero linger never blocks: the close sends a reset at once (the deprecation is
    // about non-zero lingers blocking the thread on drop).
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// How a connection ended.
enum End {
    /// Both sides closed in their own time.
    Clean,
    Fault(Fault),
    Outage,
}

async fn serve(mut client: TcpStream, rule: Option<Rule>, shared: Arc<Shared>) {
    let Ok(mut server) = TcpStream::connect(shared.upstream).await else {
        reset(client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let end = {
        let (stop, _) = watch::channel(None::<End>);
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        let rule_for = |d: Dir| rule.filter(|r| r.dir == d);
        let up = pump(cr, sw, rule_for(Dir::Up), &stop, &shared);
        let down = pump(sr, cw, rule_for(Dir::Down), &stop, &shared);
        let mut outage = shared.down.subscribe();
        tokio::select! {
            _ = async { tokio::join!(up, down) } => {}
            _ = until(&mut outage, |d| *d) => { stop.send_replace(Some(End::Outage)); }
        }
        stop.send_replace(None).unwrap_or(End::Clean)
    };
    match end {
        End::Clean | End::Fault(Fault::Slow { .. }) => {}
        End::Fault(Fault::Truncate) => {
            let _ = client.shutdown().await;
        }
        End::Fault(Fault::Reset) | End::Outage => {
            if matches!(end, End::Outage) {
                shared.faults.fetch_add(1, Ordering::SeqCst);
            }
            reset(client);
            reset(server);
        }
        End::Fault(Fault::Stall) => {
            // Held open, silent, until the proxy goes.
            until(&mut shared.closing.subscribe(), |c| *c).await;
        }
    }
}

/// Passes bytes from `r` to `w` until either side ends, the rule's fault strikes, or
/// the other direction stops the connection.
async fn pump<R, W>(
    mut r: R,
    mut w: W,
    rule: Option<Rule>,
    stop: &watch::Sender<Option<End>>,
    shared: &Shared,
) where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut stopped = stop.subscribe();
    let mut passed = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    let mut struck = false;
    loop {
        let n = tokio::select! {
            read = r.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = w.shutdown().await;
                    return;
                }
                Ok(n) => n,
            },
            _ = until(&mut stopped, |s| s.is_some()) => return,
        };
        let mut chunk = &buf[..n];
        if let Some(rule) = rule.filter(|_| !struck) {
            if passed + chunk.len() as u64 >= rule.after {
                let head = (rule.after - passed) as usize;
                if w.write_all(&chunk[..head]).await.is_err() {
                    return;
                }
                passed += head as u64;
                chunk = &chunk[head..];
                struck = true;
                shared.faults.fetch_add(1, Ordering::SeqCst);
                if !matches!(rule.fault, Fault::Slow { .. }) {
                    let _ = w.flush().await;
                    stop.send_replace(Some(End::Fault(rule.fault)));
                    return;
                }
            }
        }
        let slow = rule.filter(|_| struck).and_then(|r| match r.fault {
            Fault::Slow { bytes_per_sec } => Some(bytes_per_sec.max(1)),
            _ => None,
        });
        if let Some(rate) = slow {
            // A tenth of a second's worth at a time.
            for piece in chunk.chunks((rate / 10).max(1) as usize) {
                if w.write_all(piece).await.is_err() {
                    return;
                }
                let _ = w.flush().await;
                tokio::time::sleep(Duration::from_secs_f64(piece.len() as f64 / rate as f64)).await;
            }
        } else if w.write_all(chunk).await.is_err() {
            return;
        }
        passed += chunk.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// An echo server on a free port: answers each connection with `reply`, then closes.
    fn server(reply: &'static [u8]) -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut b = [0u8; 4];
                let _ = s.read_exact(&mut b);
                let _ = s.write_all(reply);
            }
        });
        addr
    }

    fn fetch(p: &FaultProxy) -> std::io::Result<Vec<u8>> {
        let mut s = std::net::TcpStream::connect(p.addr())?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"ping")?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn passes_through_truncates_and_resets_the_chosen_connections() {
        let up = server(b"hello world").to_string();
        let p = FaultProxy::start(
            &up,
            vec![
                Rule::new(Fault::Truncate).after(5).on(Conns::Nth(2)),
                Rule::new(Fault::Reset).after(3).on(Conns::Nth(3)),
                Rule::new(Fault::Stall).after(2).on(Conns::Nth(4)),
            ],
        );
        assert_eq!(fetch(&p).unwrap(), b"hello world");
        assert_eq!(fetch(&p).unwrap(), b"hello");
        assert!(fetch(&p).is_err(), "a reset connection reads an error");
        let stalled = fetch(&p).unwrap_err();
        assert!(
            matches!(
                stalled.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{stalled:?}"
        );
        assert_eq!(fetch(&p).unwrap(), b"hello world");
        assert_eq!((p.connections(), p.faults()), (5, 3));
    }

    #[test]
    fn an_outage_refuses_connections_until_it_ends() {
        let up = server(b"hi").to_string();
        let p = Arc::new(FaultProxy::start(&up, vec![]));
        let q = p.clone();
        let t = std::thread::spawn(move || q.outage(Duration::from_millis(500)));
        std::thread::sleep(Duration::from_millis(100));
        assert!(fetch(&p).is_err());
        t.join().unwrap();
        assert_eq!(fetch(&p).unwrap(), b"hi");
    }
}
