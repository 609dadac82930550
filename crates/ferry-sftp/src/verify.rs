//! Remote sums in batches: every finished upload asks for the sum of its temporary file
//! (and every `hash` call for its file), and the requests that queue up while a command
//! runs go out together as one `cksum 'a' 'b' ...` (or `md5sum`, `sha1sum`) in a
//! long-lived remote shell, instead of one remote command (and SSH session) per file.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use russh::ChannelMsg;
use tokio::sync::{mpsc, oneshot, Mutex, Semaphore};

use crate::exec;
use crate::pool::{Lease, Load, Pool};

/// Most paths per command, and most bytes of paths (well under ARG_MAX).
const MAX_BATCH: usize = 512;
const MAX_BYTES: usize = 64 * 1024;
/// Checks running at once; more requests wait and join the next batch.
/// (OpenSSH allows 10 sessions per connection by default; SFTP takes one.)
const PARALLEL: usize = 2;

type Request = (String, oneshot::Sender<Option<String>>);

/// What a check command prints.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Format {
    /// `md5sum`/`sha1sum`: `hex  name` lines with this many digits, odd names escaped.
    Hex(usize),
    /// POSIX `cksum`: `crc size name` lines, in the order of the arguments.
    Cksum,
}

pub(crate) struct Verifier {
    tx: mpsc::UnboundedSender<Request>,
}

impl Verifier {
    /// `cmd` is the remote command (`md5sum`, `cksum`), printing `format`.
    pub(crate) fn start(pool: Arc<Pool>, cmd: String, format: Format) -> Verifier {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, cmd, format, rx));
        Verifier { tx }
    }

    /// The sum the server computes for `path` (a command path); `None` if it could not.
    pub(crate) async fn sum(&self, path: String) -> Option<String> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((path, tx)).ok()?;
        rx.await.ok().flatten()
    }
}

async fn run(
    pool: Arc<Pool>,
    cmd: String,
    format: Format,
    mut rx: mpsc::UnboundedReceiver<Request>,
) {
    let slots = Arc::new(Semaphore::new(PARALLEL));
    let shells: Arc<Vec<Mutex<Option<Shell>>>> =
        Arc::new((0..PARALLEL).map(|_| Mutex::new(None)).collect());
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut bytes = first.0.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BYTES {
            match rx.try_recv() {
                Ok(r) => {
                    bytes += r.0.len() + 3;
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        let (pool, cmd, shells) = (pool.clone(), cmd.clone(), shells.clone());
        tokio::spawn(async move {
            // A permit guarantees a free shell slot.
            let mut slot = None;
            for s in shells.iter() {
                if let Ok(g) = s.try_lock() {
                    slot = Some(g);
                    break;
                }
            }
            if let Some(mut shell) = slot {
                check(&pool, &cmd, format, batch, &mut shell).await;
            }
            drop(permit);
        });
    }
}

/// A long-lived `sh` on an exec channel: a check costs one round trip and one `md5sum`,
/// not a new session and shell per batch.
struct Shell {
    ch: russh::Channel<russh::client::Msg>,
    _lease: Lease,
    marker: String,
    seq: u64,
}

impl Shell {
    async fn open(pool: &Pool) -> Option<Shell> {
        let lease = pool.lease(Load::Request).await.ok()?;
        let ch = lease.handle.channel_open_session().await.ok()?;
        ch.exec(true, "sh").await.ok()?;
        Some(Shell {
            ch,
            _lease: lease,
            marker: format!("ferry-done-{:016x}", rand::random::<u64>()),
            seq: 0,
        })
    }

    /// Runs one command line; its standard output, or `None` if the shell is gone.
    async fn run(&mut self, line: &str) -> Option<String> {
        self.seq += 1;
        let marker = format!("{}-{}", self.marker, self.seq);
        let script = format!("{line} 2>/dev/null; echo; echo {marker}\n");
        self.ch.data(script.as_bytes()).await.ok()?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(600), self.ch.wait())
                .await
                .ok()??;
            match msg {
                ChannelMsg::Data { data } => {
                    out.extend_from_slice(&data);
                    let text = String::from_utf8_lossy(&out);
                    if let Some(pos) = text.find(&format!("\n{marker}\n")) {
                        return Some(text[..pos].to_string());
                    }
                }
                ChannelMsg::Eof
                | ChannelMsg::Close
                | ChannelMsg::ExitStatus { .. }
                | ChannelMsg::ExitSignal { .. }
                | ChannelMsg::Failure => return None,
                _ => {}
            }
        }
    }
}

async fn check(
    pool: &Pool,
    cmd: &str,
    format: Format,
    batch: Vec<Request>,
    shell: &mut Option<Shell>,
) {
    let mut line = cmd.to_string();
    for (p, _) in &batch {
        line.push(' ');
        line.push_str(&exec::shell_quote(p));
    }
    if shell.is_none() {
        *shell = Shell::open(pool).await;
    }
    let mut out = match shell.as_mut() {
        Some(sh) => sh.run(&line).await,
        None => None,
    };
    if out.is_none() {
        // The shell is gone (or never started): one plain exec, and a new shell next time.
        *shell = None;
        out = match pool.lease(Load::Request).await {
            Ok(c) => exec::run(&c, &line)
                .await
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
            Err(_) => None,
        };
    }
    let out = out.unwrap_or_default();
    match format {
        Format::Hex(width) => {
            let sums: HashMap<String, String> = exec::parse_many(&out, width).into_iter().collect();
            for (p, reply) in batch {
                let _ = reply.send(sums.get(&p).cloned());
            }
        }
        Format::Cksum => {
            let paths: Vec<&str> = batch.iter().map(|(p, _)| p.as_str()).collect();
            let sums = exec::parse_cksum(&out, &paths);
            for ((_, reply), sum) in batch.into_iter().zip(sums) {
                let _ = reply.send(sum);
            }
        }
    }
}
