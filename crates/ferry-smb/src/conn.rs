//! One SMB connection: an smb-rs client holding a single TCP connection to the server,
//! with a session and tree connect for each share used on it so far.

use std::collections::HashSet;
use std::time::Duration;

use ferry_core::Result;
use smb::{Client, ClientConfig, ConnectionConfig, UncPath};

use crate::error::{connect_error, connect_timeout};
use crate::options::SmbOptions;

/// Reads and writes are sent in pieces of at most this much (servers negotiate up to
/// 8 MiB; 1 MiB keeps memory small and the pipe full on a LAN).
const MAX_IO: u32 = 1 << 20;

/// Why a connect or login failed, and whether trying again soon may succeed: a fast,
/// temporary failure (refused, reset: a server restarting) may; a timeout has already
/// waited `--contimeout` and is not tried again.
pub(crate) struct LoginFailed {
    pub error: ferry_core::Error,
    pub again: bool,
}

impl std::fmt::Display for LoginFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

pub struct Conn {
    pub client: Client,
    host: String,
    shares: HashSet<String>,
    /// The largest read and write the server accepts (after the first login).
    pub read_size: usize,
    pub write_size: usize,
}

impl Conn {
    /// A client that will dial on first use; nothing is sent yet.
    pub fn new(opts: &SmbOptions) -> Conn {
        let connection = ConnectionConfig {
            port: Some(opts.port),
            // smb-rs waits this long for any one answer: rclone's `--timeout`.
            timeout: Some(opts.timeouts.idle.unwrap_or(Duration::from_secs(24 * 3600))),
            compression_enabled: false,
            ..ConnectionConfig::default()
        };
        let config = ClientConfig {
            // DFS referrals would send ferry to other servers than the one configured.
            dfs: false,
            connection,
            ..ClientConfig::default()
        };
        Conn {
            client: Client::new(config),
            host: opts.host.clone(),
            shares: HashSet::new(),
            read_size: 64 * 1024,
            write_size: 64 * 1024,
        }
    }

    /// `\\host\share\path` for smb-rs (`path` is `\`-separated; `""`: the share).
    pub fn unc(&self, share: &str, path: &str) -> smb::Result<UncPath> {
        let unc = UncPath::new(&self.host)?.with_share(share)?;
        Ok(if path.is_empty() {
            unc
        } else {
            unc.with_path(path)
        })
    }

    /// Connects and logs in to `share` unless this connection already has; `""`: the
    /// server's IPC$ (for the share listing). Bounded by `--contimeout`.
    pub async fn ensure_share(&mut self, opts: &SmbOptions, share: &str) -> Result<()> {
        self.login(opts, share).await.map_err(|f| f.error)
    }

    /// [`Conn::ensure_share`], saying whether a fresh connection may soon do better.
    pub(crate) async fn login(
        &mut self,
        opts: &SmbOptions,
        share: &str,
    ) -> std::result::Result<(), LoginFailed> {
        if self.shares.contains(share) {
            return Ok(());
        }
        let login = async {
            let (account, pass) = (opts.account(), opts.pass.expose().to_owned());
            if share.is_empty() {
                self.client.ipc_connect(&self.host, &account, pass).await
            } else {
                let unc = self.unc(share, "")?;
                self.client.share_connect(&unc, &account, pass).await
            }
        };
        let done = match opts.timeouts.connect {
            Some(t) => tokio::time::timeout(t, login)
                .await
                .map_err(|_| LoginFailed {
                    error: connect_timeout(&opts.remote, &opts.target()),
                    again: false,
                })?,
            None => login.await,
        };
        done.map_err(|e| {
            let error = connect_error(e, &opts.remote, &opts.target(), share);
            LoginFailed {
                again: error.is_temporary(),
                error,
            }
        })?;
        self.shares.insert(share.to_owned());
        self.learn_sizes().await;
        Ok(())
    }

    async fn learn_sizes(&mut self) {
        let Ok(conn) = self.client.get_connection(&self.host).await else {
            return;
        };
        if let Some(info) = conn.conn_info() {
            let n = &info.negotiation;
            self.read_size = n.max_read_size.clamp(4096, MAX_IO) as usize;
            self.write_size = n.max_write_size.clamp(4096, MAX_IO) as usize;
        }
    }
}
