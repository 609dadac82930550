//! One SSH connection: TCP, host-key check, authentication, and its SFTP channel.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::{Error, ErrorKind, Result};
use russh::client::{self, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::MethodKind;
use russh_sftp::client::RawSftpSession;

use crate::hostkeys::{self, Verdict};
use crate::options::{KeySource, SftpOptions};

/// The client side of the SSH session: checks the host key.
pub(crate) struct Client {
    opts: Arc<SftpOptions>,
    verdict: Arc<Mutex<Option<Verdict>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(c) => {
                russh::keys::PublicKey::new(c.public_key().clone(), "")
            }
        };
        let verdict = hostkeys::check(&self.opts, &key);
        let ok = matches!(verdict, Verdict::Accepted);
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        Ok(ok)
    }
}

/// Key material prepared once per remote (a passphrase is tried once, not per connection).
pub(crate) struct Credentials {
    key: Option<(Arc<PrivateKey>, String)>,
    /// With key_use_agent and key_file: the agent key to use (from `key_file.pub`).
    agent_key: Option<russh::keys::PublicKey>,
}

impl Credentials {
    /// Reads and decrypts the private key, if one is configured.
    pub(crate) fn load(opts: &SftpOptions) -> Result<Credentials> {
        let Some(source) = &opts.key else {
            return Ok(Credentials {
                key: None,
                agent_key: None,
            });
        };
        if opts.key_use_agent {
            // As rclone: only the public half (`KEY.pub`) is read, to pick the agent's key.
            let agent_key = match source {
                KeySource::File(path) => {
                    let mut pubfile = path.clone().into_os_string();
                    pubfile.push(".pub");
                    Some(russh::keys::load_public_key(&pubfile).map_err(|e| {
                        Error::new(
                            ErrorKind::Auth,
                            format!(
                                "{}: key_use_agent is set, but {} can't be read ({e}): it names the agent key to use",
                                opts.display,
                                std::path::Path::new(&pubfile).display()
                            ),
                        )
                    })?)
                }
                KeySource::Inline(_) => None,
            };
            return Ok(Credentials {
                key: None,
                agent_key,
            });
        }
        let (text, what) = match source {
            KeySource::Inline(pem) => (pem.expose().to_string(), "the key in key_pem".to_string()),
            KeySource::File(path) => {
                let text =
                    ferry_core::limited::read_limited_string(path, ferry_core::limited::KEY_LIMIT)
                        .map_err(|e| {
                            Error::new(
                                ErrorKind::Auth,
                                format!(
                                    "{}: can't read the private key file {} ({e}): check key_file",
                                    opts.display,
                                    path.display()
                                ),
                            )
                        })?;
                (text, format!("the key file {}", path.display()))
            }
        };
        let plain = russh::keys::decode_secret_key(&text, None);
        let key = match (plain, &opts.key_pass) {
            (Ok(k), _) => k,
            (Err(russh::keys::Error::KeyIsEncrypted), None) => {
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "{}: {what} is encrypted: set key_file_pass to its passphrase (stored obscured)",
                        opts.display
                    ),
                ))
            }
            (Err(russh::keys::Error::KeyIsEncrypted), Some(pass)) => {
                russh::keys::decode_secret_key(&text, Some(pass.expose())).map_err(|_| {
                    Error::new(
                        ErrorKind::Auth,
                        format!(
                            "{}: can't decrypt {what}: wrong passphrase (check key_file_pass)",
                            opts.display
                        ),
                    )
                })?
            }
            (Err(e), _) => {
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "{}: can't read {what} as a private key ({e}): use an OpenSSH, PEM or PKCS#8 private key",
                        opts.display
                    ),
                ))
            }
        };
        Ok(Credentials {
            key: Some((Arc::new(key), what)),
            agent_key: None,
        })
    }
}

/// One connection and its SFTP session.
pub(crate) struct Conn {
    pub handle: Handle<Client>,
    pub sftp: RawSftpSession,
    /// Server extensions from SFTP's version packet.
    pub extensions: HashMap<String, String>,
    /// Largest read and write payloads the server takes.
    pub max_read: u32,
    pub max_write: u32,
    /// Transfer load on this connection now, in [`crate::pool::Load`] units.
    pub units: AtomicUsize,
    /// Other operations using it now.
    pub light: AtomicUsize,
    pub broken: AtomicBool,
    pub last_used: Mutex<Instant>,
}

impl Conn {
    pub(crate) fn is_usable(&self) -> bool {
        !self.broken.load(Ordering::Relaxed) && !self.handle.is_closed()
    }

    pub(crate) fn has_ext(&self, name: &str) -> bool {
        self.extensions.contains_key(name)
    }
}

fn ssh_config(opts: &SftpOptions) -> client::Config {
    let mut preferred = russh::Preferred::DEFAULT.clone();
    preferred.key = Cow::Owned(hostkeys::preferred_algorithms(opts));
    // AES-GCM first: with AES-NI it is the cheapest cipher to run at full speed.
    preferred.cipher = Cow::Owned(vec![
        russh::cipher::AES_128_GCM,
        russh::cipher::AES_256_GCM,
        russh::cipher::CHACHA20_POLY1305,
        russh::cipher::AES_256_CTR,
        russh::cipher::AES_192_CTR,
        russh::cipher::AES_128_CTR,
    ]);
    client::Config {
        preferred,
        nodelay: true,
        window_size: 16 * 1024 * 1024,
        channel_buffer_size: 1024,
        keepalive_interval: Some(Duration::from_secs(20)),
        keepalive_max: 3,
        ..Default::default()
    }
}

/// Why one connect failed, and whether trying again soon may succeed.
struct Failed {
    error: Error,
    /// A fast, temporary failure (refused, reset, cut mid-handshake: a server restarting).
    /// A timeout has already waited `connect_timeout`, and is not tried again.
    again: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed {
            again: error.is_temporary(),
            error,
        }
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl Failed {
    fn timed_out(error: Error) -> Failed {
        Failed {
            error,
            again: false,
        }
    }
}

fn net_error(opts: &SftpOptions, e: &std::io::Error) -> Failed {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return Failed::timed_out(
            Error::new(
                ErrorKind::Io,
                format!(
                    "{}: timed out connecting to {}:{} (check host, port and firewalls)",
                    opts.display, opts.host, opts.port
                ),
            )
            .temporary(true),
        );
    }
    let hp = format!("{}:{}", opts.host, opts.port);
    let msg = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!(
            "{}: can't connect to {hp}: connection refused (check host and port, and that an SSH server runs there)",
            opts.display
        ),
        _ if e.to_string().contains("lookup") || e.to_string().contains("resolve") => format!(
            "{}: can't resolve host {:?} ({e}): check host",
            opts.display, opts.host
        ),
        _ => format!(
            "{}: can't connect to {hp}: {e} (check host and port, and the network)",
            opts.display
        ),
    };
    Error::new(ErrorKind::Io, msg).temporary(true).into()
}

fn timeout_error(opts: &SftpOptions, stage: &str) -> Failed {
    Failed::timed_out(
        Error::new(
            ErrorKind::Io,
            format!(
                "{}: timed out after {:?} {stage} {}:{} (check host, port and firewalls, and that the server is an SSH server that answers; connect_timeout sets the limit)",
                opts.display, opts.connect_timeout, opts.host, opts.port
            ),
        )
        .temporary(true),
    )
}

/// Opens a new connection. A connect that fails fast and temporarily is tried again,
/// `connect_tries` times in all, after ferry's growing pause with jitter
/// (`ferry_core::retry`, as rclone's pacer does): a server restarting, or refusing
/// connections for a moment, is waited out instead of failing every transfer at once.
pub(crate) async fn connect(opts: &Arc<SftpOptions>, creds: &Credentials) -> Result<Conn> {
    ferry_core::retry::Backoff::DEFAULT
        .retry(
            opts.connect_tries,
            |f: &Failed| f.again,
            || connect_once(opts, creds),
        )
        .await
        .map_err(|f| f.error)
}

/// One try at a new connection: TCP, SSH handshake with host-key check, auth, SFTP channel.
async fn connect_once(
    opts: &Arc<SftpOptions>,
    creds: &Credentials,
) -> std::result::Result<Conn, Failed> {
    let deadline = opts.connect_timeout;
    let tcp = tokio::time::timeout(
        deadline,
        tokio::net::TcpStream::connect((opts.host.as_str(), opts.port)),
    )
    .await
    .map_err(|_| timeout_error(opts, "connecting to"))?
    .map_err(|e| net_error(opts, &e))?;
    let _ = tcp.set_nodelay(true);
    let verdict = Arc::new(Mutex::new(None));
    let handler = Client {
        opts: opts.clone(),
        verdict: verdict.clone(),
    };
    let config = Arc::new(ssh_config(opts));
    // russh reads each packet's length and then its body with two exact reads: a
    // buffer turns the many small replies of a small-file run into one recv each
    // (writes pass straight through; russh flushes after every batch).
    let stream = tokio::io::BufReader::with_capacity(64 * 1024, tcp);
    let handshake = tokio::time::timeout(deadline, client::connect_stream(config, stream, handler))
        .await
        .map_err(|_| timeout_error(opts, "waiting for the SSH handshake with"))?;
    let mut handle = match handshake {
        Ok(h) => h,
        Err(e) => {
            let v = verdict.lock().unwrap_or_else(|e| e.into_inner()).take();
            return Err(match v {
                Some(Verdict::Refused(why)) => {
                    Error::new(ErrorKind::Auth, format!("{}: {why}", opts.display))
                }
                _ => Error::new(
                    ErrorKind::Io,
                    format!(
                        "{}: SSH handshake with {}:{} failed: {e} (check that it is an SSH server)",
                        opts.display, opts.host, opts.port
                    ),
                )
                .temporary(true),
            }
            .into());
        }
    };
    tokio::time::timeout(deadline, authenticate(opts, creds, &mut handle))
        .await
        .map_err(|_| timeout_error(opts, "authenticating to"))??;
    let (sftp, version) = tokio::time::timeout(deadline, open_sftp(&handle, opts))
        .await
        .map_err(|_| timeout_error(opts, "starting SFTP on"))?
        .map_err(|e| {
            // A connection that closed meanwhile is a server going away, not a refusal.
            let lost = handle.is_closed();
            Error::new(
                ErrorKind::Io,
                format!(
                    "{}: can't start the SFTP subsystem on {}: {e} (check that the server allows SFTP for {})",
                    opts.display, opts.host, opts.user
                ),
            )
            .temporary(lost)
        })?;
    let mut conn = Conn {
        handle,
        sftp,
        extensions: version,
        max_read: 64 * 1024,
        max_write: 64 * 1024,
        units: AtomicUsize::new(0),
        light: AtomicUsize::new(0),
        broken: AtomicBool::new(false),
        last_used: Mutex::new(Instant::now()),
    };
    if conn.has_ext("limits@openssh.com") {
        if let Ok(l) = conn.sftp.limits().await {
            // Keep replies within russh-sftp's 256 KiB packet limit.
            let cap = 255 * 1024;
            if l.max_read_len > 0 {
                conn.max_read = l.max_read_len.min(cap) as u32;
            }
            if l.max_write_len > 0 {
                conn.max_write = l.max_write_len.min(cap) as u32;
            }
        }
    }
    Ok(conn)
}

async fn open_sftp(
    handle: &Handle<Client>,
    opts: &SftpOptions,
) -> std::result::Result<(RawSftpSession, HashMap<String, String>), String> {
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| e.to_string())?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| e.to_string())?;
    let cfg = russh_sftp::client::Config {
        max_packet_len: 1024 * 1024,
        // Whole seconds, at least one.
        request_timeout_secs: opts.request_timeout.as_secs_f64().ceil().max(1.0) as u64,
        ..Default::default()
    };
    let sftp = RawSftpSession::new_with_config(channel.into_stream(), cfg);
    let version = sftp.init().await.map_err(|e| e.to_string())?;
    Ok((sftp, version.extensions))
}

fn methods_text(m: &russh::MethodSet) -> String {
    let names: Vec<&str> = m.iter().map(<&'static str>::from).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

async fn authenticate(
    opts: &Arc<SftpOptions>,
    creds: &Credentials,
    handle: &mut Handle<Client>,
) -> Result<()> {
    let who = format!("{}@{}:{}", opts.user, opts.host, opts.port);
    let auth_err = |msg: String| Error::new(ErrorKind::Auth, format!("{}: {msg}", opts.display));
    let proto = |e: russh::Error| {
        Error::new(
            ErrorKind::Io,
            format!("{}: authentication with {who} failed: {e}", opts.display),
        )
        .temporary(true)
    };
    let mut tried: Vec<String> = Vec::new();
    let mut remaining: Option<russh::MethodSet> = None;

    // The agent: when asked for, or when nothing else is configured (rclone's rule).
    let use_agent = opts.key_use_agent || (creds.key.is_none() && opts.pass.is_none());
    if use_agent {
        match AgentClient::connect_env().await {
            Ok(mut agent) => {
                let ids = agent.request_identities().await.unwrap_or_default();
                let want = creds.agent_key.clone();
                for id in ids {
                    let AgentIdentity::PublicKey { key, .. } = id else {
                        continue;
                    };
                    if let Some(w) = &want {
                        if w.key_data() != key.key_data() {
                            continue;
                        }
                    }
                    let hash = rsa_hash(handle, &key.algorithm()).await;
                    match handle
                        .authenticate_publickey_with(&opts.user, key, hash, &mut agent)
                        .await
                    {
                        Ok(r) if r.success() => return Ok(()),
                        Ok(russh::client::AuthResult::Failure {
                            remaining_methods, ..
                        }) => remaining = Some(remaining_methods),
                        Ok(_) => {}
                        Err(e) => tracing::debug!("agent signing failed: {e:?}"),
                    }
                }
                tried.push("the ssh-agent's keys".into());
            }
            Err(e) if opts.key_use_agent => {
                return Err(auth_err(format!(
                    "key_use_agent is set but the ssh-agent can't be reached ({e}): check SSH_AUTH_SOCK"
                )))
            }
            Err(_) => {}
        }
    }

    if let Some((key, what)) = &creds.key {
        let hash = rsa_hash(handle, &key.algorithm()).await;
        let r = handle
            .authenticate_publickey(&opts.user, PrivateKeyWithHashAlg::new(key.clone(), hash))
            .await
            .map_err(proto)?;
        match r {
            russh::client::AuthResult::Success => return Ok(()),
            russh::client::AuthResult::Failure {
                remaining_methods, ..
            } => {
                remaining = Some(remaining_methods);
                if opts.pass.is_none() {
                    return Err(auth_err(format!(
                        "the server {}:{} refused {what} ({} {}) for user {:?}: check that its public key is in that user's authorized_keys on the server, and the user name",
                        opts.host,
                        opts.port,
                        key.algorithm(),
                        hostkeys::fingerprint(key.public_key()),
                        opts.user
                    )));
                }
                tried.push(what.clone());
            }
        }
    }

    if let Some(pass) = &opts.pass {
        let r = handle
            .authenticate_password(&opts.user, pass.expose())
            .await
            .map_err(proto)?;
        match r {
            russh::client::AuthResult::Success => return Ok(()),
            russh::client::AuthResult::Failure {
                remaining_methods, ..
            } => {
                // Some servers only take a password through keyboard-interactive.
                if remaining_methods.contains(&MethodKind::KeyboardInteractive)
                    && kbd_interactive(handle, &opts.user, pass.expose()).await
                {
                    return Ok(());
                }
                let also = if tried.is_empty() {
                    String::new()
                } else {
                    format!(" (also tried {})", tried.join(", "))
                };
                return Err(auth_err(format!(
                    "password authentication failed for user {:?} on {}:{}{also}: check the user name and pass (stored obscured, as `ferry obscure` writes it)",
                    opts.user, opts.host, opts.port
                )));
            }
        }
    }

    let offered = remaining
        .as_ref()
        .map(methods_text)
        .unwrap_or_else(|| "unknown".into());
    Err(auth_err(if tried.is_empty() {
        format!(
            "no way to log in to {who}: set pass, key_file or key_pem, or key_use_agent with a running ssh-agent (the server offers: {offered})"
        )
    } else {
        format!(
            "the server {}:{} refused {} for user {:?} (it offers: {offered}): check the keys and the user name",
            opts.host,
            opts.port,
            tried.join(" and "),
            opts.user
        )
    }))
}

async fn rsa_hash(handle: &Handle<Client>, alg: &russh::keys::Algorithm) -> Option<HashAlg> {
    if !alg.clone().is_rsa() {
        return None;
    }
    match handle.best_supported_rsa_hash().await {
        Ok(Some(h)) => h,
        _ => Some(HashAlg::Sha256),
    }
}

async fn kbd_interactive(handle: &mut Handle<Client>, user: &str, pass: &str) -> bool {
    use russh::client::KeyboardInteractiveAuthResponse as R;
    let Ok(mut r) = handle
        .authenticate_keyboard_interactive_start(user, None::<String>)
        .await
    else {
        return false;
    };
    for _ in 0..4 {
        match r {
            R::Success => return true,
            R::Failure { .. } => return false,
            R::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| pass.to_string()).collect();
                match handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                {
                    Ok(next) => r = next,
                    Err(_) => return false,
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::kind::Options;

    fn opts(port: u16, tries: u32) -> Arc<SftpOptions> {
        let port = port.to_string();
        let o = Options::from_pairs(
            &crate::KIND,
            [
                ("host", "127.0.0.1"),
                ("port", port.as_str()),
                ("user", "nobody"),
                ("connect_timeout", "1s"),
            ],
        );
        let mut opts =
            SftpOptions::from_options(&o, None, &ferry_core::net::Timeouts::DEFAULT).unwrap();
        opts.connect_tries = tries;
        Arc::new(opts)
    }

    fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_refused_connect_is_tried_again_after_growing_pauses() {
        let creds = Credentials::load(&opts(1, 1)).unwrap();
        let started = Instant::now();
        let Err(e) = connect(&opts(free_port(), 4), &creds).await else {
            panic!("nothing listens there")
        };
        // Three pauses of ferry's backoff: at least half of 100 + 200 + 400 ms.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(350), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(e.message().contains("connection refused"), "{e}");
        assert!(e.is_temporary(), "{e}");
    }

    #[tokio::test]
    async fn a_refused_connect_is_tried_until_the_server_is_back() {
        let port = free_port();
        // The "server" comes back 300 ms in: accepts, and closes (no SSH), so the last
        // try's failure is the handshake's, not the refusal's.
        let stop = Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        let back = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
            l.set_nonblocking(true).unwrap();
            while !done.load(Ordering::Relaxed) {
                let _ = l.accept();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let creds = Credentials::load(&opts(1, 1)).unwrap();
        // Five tries: at least 50 + 100 + 200 + 400 ms of pauses, past the restart.
        let r = connect(&opts(port, 5), &creds).await;
        stop.store(true, Ordering::Relaxed);
        back.join().unwrap();
        let Err(e) = r else {
            panic!("not an SSH server")
        };
        assert!(e.message().contains("handshake"), "{e}");
    }

    #[tokio::test]
    async fn a_connect_that_timed_out_is_not_tried_again() {
        // Accepts and never speaks: the handshake times out after connect_timeout (1s).
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let creds = Credentials::load(&opts(1, 1)).unwrap();
        let started = Instant::now();
        let Err(e) = connect(&opts(port, 10), &creds).await else {
            panic!("a silent server")
        };
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1900), "tried again: {took:?}");
        assert!(e.message().contains("timed out after 1s"), "{e}");
        drop(silent);
    }
}
