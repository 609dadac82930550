//! One logged-in FTP connection: dialled plain, with explicit or implicit TLS; what the
//! server said it can do (FEAT); binary transfers; passive mode (EPSV, else PASV).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::{Error, ErrorKind, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
use suppaftp::types::FileType;
use suppaftp::{FtpError, FtpResult, Mode, Status};
use tokio::net::TcpStream;

use crate::error::connect_error;
use crate::options::{FtpOptions, Security};

/// `FtpError` for an operation that waited longer than `limit`.
pub fn timed_out_after(limit: Duration) -> FtpError {
    FtpError::ConnectionError(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no answer from the server in {}s", limit.as_secs()),
    ))
}

/// What the server advertised in FEAT, as far as ferry uses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// MLSD/MLST listings with exact sizes and times (unless disabled).
    pub mlsd: bool,
    /// `MDTM path`: an exact time for one file.
    pub mdtm: bool,
    /// `MFMT time path`: sets a modification time.
    pub mfmt: bool,
    pub epsv: bool,
}

impl Caps {
    fn from_feat(feat: &suppaftp::types::Features, o: &FtpOptions) -> Caps {
        let has = |k: &str| feat.keys().any(|f| f.eq_ignore_ascii_case(k));
        Caps {
            mlsd: has("MLST") && !o.disable_mlsd && !o.force_list_hidden,
            mdtm: has("MDTM"),
            mfmt: has("MFMT"),
            epsv: has("EPSV") && !o.disable_epsv,
        }
    }

    /// Whether a time can be set (MFMT, or MDTM with a time under `writing_mdtm`).
    pub fn can_set_time(&self, o: &FtpOptions) -> bool {
        self.mfmt || o.writing_mdtm
    }

    /// rclone's rule: 1 s where times can be both read exactly and set, else none.
    pub fn keeps_times(&self, o: &FtpOptions) -> bool {
        (self.mlsd || self.mdtm) && self.can_set_time(o)
    }
}

/// A logged-in control connection.
pub struct Conn {
    pub ftp: AsyncRustlsFtpStream,
    pub caps: Caps,
}

/// Dials, secures, logs in and reads FEAT.
pub async fn connect(o: &FtpOptions, tls: Option<&Arc<ClientConfig>>) -> Result<Conn> {
    // `--contimeout` bounds dialling, TLS and logging in together.
    let Some(limit) = o.timeouts.connect else {
        return login(o, tls).await;
    };
    match tokio::time::timeout(limit, login(o, tls)).await {
        Ok(r) => r,
        Err(_) => Err(connect_error(
            timed_out_after(limit),
            &o.remote,
            &o.target(),
        )),
    }
}

async fn login(o: &FtpOptions, tls: Option<&Arc<ClientConfig>>) -> Result<Conn> {
    let target = o.target();
    let fail = |e| connect_error(e, &o.remote, &target);
    let addr = resolve(o).map_err(fail)?;
    let mut ftp = match (o.security, tls) {
        (Security::Implicit, Some(cfg)) => {
            let dial =
                AsyncRustlsFtpStream::connect_secure_implicit(addr, connector(o, cfg), &o.host);
            dial.await.map_err(fail)?
        }
        (security, tls) => {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| fail(FtpError::ConnectionError(e)))?;
            let plain = AsyncRustlsFtpStream::connect_with_stream(tcp)
                .await
                .map_err(fail)?;
            match (security, tls) {
                (Security::Explicit, Some(cfg)) => plain
                    .into_secure(connector(o, cfg), &o.host)
                    .await
                    .map_err(fail)?,
                _ => plain,
            }
        }
    };
    let dial_limit = o.timeouts.connect;
    ftp = ftp.passive_stream_builder(move |addr| {
        Box::pin(async move {
            let dial = TcpStream::connect(addr);
            match dial_limit {
                Some(t) => tokio::time::timeout(t, dial)
                    .await
                    .map_err(|_| timed_out_after(t))?
                    .map_err(FtpError::ConnectionError),
                None => dial.await.map_err(FtpError::ConnectionError),
            }
        })
    });
    ftp.login(o.user.as_str(), o.pass.expose())
        .await
        .map_err(fail)?;
    if o.security == Security::Implicit {
        // suppaftp asks for private data connections only when it upgrades (explicit);
        // an implicit server wants them asked for too.
        for cmd in ["PBSZ 0", "PROT P"] {
            ftp.custom_command(cmd, &[Status::CommandOk])
                .await
                .map_err(fail)?;
        }
    }
    // Binary, always: suppaftp starts in ASCII mode, which would rewrite line endings.
    ftp.transfer_type(FileType::Binary).await.map_err(fail)?;
    let feat = ftp.feat().await.unwrap_or_default();
    let caps = Caps::from_feat(&feat, o);
    if feat.contains_key("UTF8") && !o.disable_utf8 {
        // Some servers want it before they send names as UTF-8; a refusal changes nothing.
        let _ = ftp.opts("UTF8", Some("ON")).await;
    }
    // Data connections go to the control connection's address whatever PASV names, as
    // a server behind NAT needs and so a hostile reply can't point them elsewhere.
    ftp.set_passive_nat_workaround(true);
    ftp.set_mode(if caps.epsv {
        Mode::ExtendedPassive
    } else {
        Mode::Passive
    });
    Ok(Conn { ftp, caps })
}

fn resolve(o: &FtpOptions) -> FtpResult<SocketAddr> {
    (o.host.as_str(), o.port)
        .to_socket_addrs()
        .map_err(FtpError::ConnectionError)?
        .next()
        .ok_or_else(|| {
            FtpError::ConnectionError(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "failed to lookup address information: no address",
            ))
        })
}

/// One connector per control connection: its data connections resume its TLS session
/// (servers may insist), and no session is shared between control connections.
fn connector(o: &FtpOptions, base: &Arc<ClientConfig>) -> AsyncRustlsConnector {
    let mut cfg = ClientConfig::clone(base);
    cfg.resumption = if o.tls_cache_size == 0 {
        rustls::client::Resumption::disabled()
    } else {
        rustls::client::Resumption::in_memory_sessions(o.tls_cache_size)
    };
    AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

/// The TLS settings of a remote, when it uses TLS: the system's roots (and
/// `SSL_CERT_FILE`), TLS 1.2 only under `disable_tls13`, nothing checked under
/// `no_check_certificate`.
pub fn tls_config(o: &FtpOptions) -> Result<Option<Arc<ClientConfig>>> {
    if o.security == Security::Plain {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if o.disable_tls13 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| Error::new(ErrorKind::Config, format!("{} TLS: {e}", o.remote)))?;
    let cfg = if o.no_check_certificate {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCheck(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(system_roots())
            .with_no_client_auth()
    };
    Ok(Some(Arc::new(cfg)))
}

fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!("loading TLS roots: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!("TLS roots: {added} loaded, {ignored} unreadable");
    roots
}

/// `no_check_certificate`: any certificate is accepted (signatures are still checked,
/// so the session is at least bound to the key the server showed).
#[derive(Debug)]
struct NoCheck(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
