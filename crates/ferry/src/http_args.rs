//! rclone's HTTP flags: extra headers, TLS trust and the transport switches, for every
//! backend that talks HTTP and for `copyurl`. (`--user-agent` is among the tuning flags.)

use std::path::PathBuf;

use clap::Args;
use ferry_core::net::{parse_header, HttpSettings};

#[derive(Args, Debug, Clone, Default)]
pub struct HttpArgs {
    /// Set HTTP header for all transactions ("Name: value"; repeat for more)
    #[arg(long, global = true, value_name = "STRING", value_parser = parse_header)]
    pub header: Vec<(String, String)>,
    /// Set HTTP header for upload transactions (object stores keep Cache-Control, Content-* and their metadata headers)
    #[arg(long, global = true, value_name = "STRING", value_parser = parse_header)]
    pub header_upload: Vec<(String, String)>,
    /// Set HTTP header for download transactions
    #[arg(long, global = true, value_name = "STRING", value_parser = parse_header)]
    pub header_download: Vec<(String, String)>,
    /// Do not verify the server SSL certificate (insecure)
    #[arg(long, global = true)]
    pub no_check_certificate: bool,
    /// CA certificate used to verify servers (PEM; the only CAs trusted; repeat for more)
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Client SSL certificate (PEM) for mutual TLS auth
    #[arg(long, global = true, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// Client SSL private key (PEM) for mutual TLS auth
    #[arg(long, global = true, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Disable HTTP/2 in the global transport
    #[arg(long, global = true)]
    pub disable_http2: bool,
    /// Disable HTTP keep-alives and use each connection once
    #[arg(long, global = true)]
    pub disable_http_keep_alives: bool,
    /// Enable session cookiejar
    #[arg(long, global = true)]
    pub use_cookies: bool,
}

impl HttpArgs {
    /// The settings every HTTP backend is opened with.
    pub fn settings(&self, user_agent: Option<&str>) -> HttpSettings {
        HttpSettings {
            user_agent: user_agent.map(str::to_owned),
            headers: self.header.clone(),
            upload_headers: self.header_upload.clone(),
            download_headers: self.header_download.clone(),
            no_check_certificate: self.no_check_certificate,
            ca_certs: self.ca_cert.clone(),
            client_cert: self.client_cert.clone().zip(self.client_key.clone()),
            disable_http2: self.disable_http2,
            disable_keep_alives: self.disable_http_keep_alives,
            use_cookies: self.use_cookies,
        }
    }
}
