//! Handles to the loopback test servers started by `scripts/testbed` (dev-only).
//!
//! `scripts/testbed start` runs an SFTP server (sshd), S3 (moto), Azure Blob (azurite), two FTP
//! servers (pure-ftpd, vsftpd), WebDAV (Apache mod_dav), HTTP (nginx), SMB (smbd) and Google
//! Cloud Storage (gcp-storage-emulator) on 127.0.0.1, plus a one-node Slurm cluster (munged,
//! slurmctld, slurmd) for job-array tests; `eval "$(scripts/testbed env)"` exports the
//! `FERRY_TEST_*` variables this crate reads; `scripts/test` does both around `cargo test`. Each handle owns a fresh, uniquely named
//! remote directory / bucket / container and removes it on drop (best effort).
//!
//! ```no_run
//! let Some(s3) = ferry_testbed::Testbed::s3() else { return }; // SKIPPED (or a panic under CI=true)
//! let dest = s3.rclone_path("some/dir"); // ":s3,provider=Other,...:ferry-t-...-1/some/dir"
//! ```
//!
//! When a server's variables are missing or it does not answer, `Testbed::*()` panics if `CI=true`
//! and otherwise prints `SKIPPED: ...` to stderr and returns `None`.

pub mod hostile;
mod http;
pub mod proxy;
mod sas;
mod slurm;

pub use http::{Http, HttpConf};
pub use slurm::{Slurm, TaskEnd};

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Entry point: one constructor per server.
pub struct Testbed;

impl Testbed {
    /// A fresh, empty directory `<root>/ferry-t-...` on the SFTP server, removed on drop.
    #[track_caller]
    pub fn sftp() -> Option<Sftp> {
        let conf = available("SFTP test server", &SFTP, sftp_conf)?;
        let dir = format!("{}/{}", conf.root.trim_end_matches('/'), unique_name());
        create(
            &conf.rclone,
            &format!("{}{dir}", conf.rclone_remote()),
            "SFTP test server",
        )?;
        Some(Sftp { conf, dir })
    }

    /// A fresh, empty bucket on the S3 server, removed with its objects on drop.
    #[track_caller]
    pub fn s3() -> Option<S3> {
        let conf = available("S3 test server", &S3_CONF, s3_conf)?;
        let bucket = unique_name();
        create(
            &conf.rclone,
            &format!("{}{bucket}", conf.rclone_remote()),
            "S3 test server",
        )?;
        Some(S3 { conf, bucket })
    }

    /// A fresh, empty container on the Azure Blob server, removed with its blobs on drop.
    #[track_caller]
    pub fn azure() -> Option<Azure> {
        let conf = available("Azure Blob test server", &AZ_CONF, az_conf)?;
        let container = unique_name();
        let azcopy_dir = std::env::temp_dir().join(format!("{container}-azcopy"));
        create(
            &conf.rclone,
            &format!("{}{container}", conf.rclone_remote()),
            "Azure Blob test server",
        )?;
        Some(Azure {
            conf,
            container,
            azcopy_dir,
        })
    }

    /// A fresh, empty directory `ferry-t-...` in the FTP user's login directory (served by
    /// both FTP servers), removed on drop.
    #[track_caller]
    pub fn ftp() -> Option<Ftp> {
        let conf = available("FTP test servers", &FTP_CONF, ftp_conf)?;
        let dir = unique_name();
        create(
            &conf.rclone,
            &format!("{}{dir}", conf.rclone_remote()),
            "FTP test server",
        )?;
        Some(Ftp { conf, dir })
    }

    /// A fresh, empty folder `ferry-t-...` on the WebDAV server, removed on drop.
    #[track_caller]
    pub fn webdav() -> Option<WebDav> {
        let conf = available("WebDAV test server", &WEBDAV_CONF, webdav_conf)?;
        let dir = unique_name();
        create(
            &conf.rclone,
            &format!("{}{dir}", conf.rclone_remote()),
            "WebDAV test server",
        )?;
        Some(WebDav { conf, dir })
    }

    /// A fresh, empty folder `ferry-t-...` in the SMB server's share, removed on drop.
    #[track_caller]
    pub fn smb() -> Option<Smb> {
        let conf = available("SMB test server", &SMB_CONF, smb_conf)?;
        let dir = unique_name();
        create(
            &conf.rclone,
            &format!("{}{}/{dir}", conf.rclone_remote(), conf.share),
            "SMB test server",
        )?;
        Some(Smb { conf, dir })
    }

    /// A fresh, empty bucket on the Google Cloud Storage emulator, removed with its objects on
    /// drop.
    #[track_caller]
    pub fn gcs() -> Option<Gcs> {
        let conf = available("GCS test server", &GCS_CONF, gcs_conf)?;
        let bucket = unique_name();
        create(
            &conf.rclone,
            &format!("{}{bucket}", conf.rclone_remote()),
            "GCS test server",
        )?;
        Some(Gcs { conf, bucket })
    }

    /// A fresh, empty directory served by the HTTP server (nginx), removed on drop.
    #[track_caller]
    pub fn http() -> Option<Http> {
        http::open("")
    }

    /// A fresh directory below one of the HTTP server's special locations
    /// (`header-only`, `auth`, `json-index`: see [`Http::name`]).
    #[track_caller]
    pub fn http_in(location: &str) -> Option<Http> {
        http::open(location)
    }

    /// The one-node Slurm cluster (slurmctld and slurmd on 127.0.0.1, munge auth), its node
    /// up and idle; None (or a panic under CI) when it is not running.
    #[track_caller]
    pub fn slurm() -> Option<Slurm> {
        slurm::open()
    }

    /// True when `CI=true` (or `CI=1`): unavailable servers then fail the test instead of skipping it.
    pub fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }
}

// ------------------------------------------------------------------------------------ SFTP

/// The SFTP server's facts, from `FERRY_TEST_SFTP_*`.
#[derive(Clone, Debug)]
pub struct SftpConf {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Password of `user` (`testpass`).
    pub password: String,
    /// Private key without passphrase.
    pub key: PathBuf,
    /// Private key protected by `key_passphrase`.
    pub key_pass: PathBuf,
    pub key_passphrase: String,
    /// A known_hosts file holding the server's host key.
    pub known_hosts: PathBuf,
    /// The known_hosts line: `[127.0.0.1]:2222 ssh-ed25519 AAAA...`.
    pub hostkey_line: String,
    /// The user's home directory, where SFTP sessions start.
    pub root: String,
    pub rclone: PathBuf,
}

/// One test's directory on the SFTP server. Derefs to [`SftpConf`].
#[derive(Debug)]
pub struct Sftp {
    conf: SftpConf,
    /// Absolute remote path of this test's directory (exists and is empty at first).
    pub dir: String,
}

impl std::ops::Deref for Sftp {
    type Target = SftpConf;
    fn deref(&self) -> &SftpConf {
        &self.conf
    }
}

impl SftpConf {
    /// rclone on-the-fly remote with public-key auth (key without passphrase) and remote hash commands:
    /// `:sftp,host=127.0.0.1,port=2222,user=synctest,key_file=...,known_hosts_file=...,md5sum_command=md5sum,sha1sum_command=sha1sum:`
    pub fn rclone_remote(&self) -> String {
        self.remote_with(&[("key_file", path_str(&self.key))])
    }

    /// As [`SftpConf::rclone_remote`] but logging in with the password (`pass=` is `rclone obscure`d).
    pub fn rclone_remote_password(&self) -> String {
        self.remote_with(&[("pass", &obscure(&self.rclone, &self.password))])
    }

    /// As [`SftpConf::rclone_remote`] but with the passphrase-protected key (`key_file_pass=` obscured).
    pub fn rclone_remote_key_pass(&self) -> String {
        self.remote_with(&[
            ("key_file", path_str(&self.key_pass)),
            (
                "key_file_pass",
                &obscure(&self.rclone, &self.key_passphrase),
            ),
        ])
    }

    fn remote_with(&self, auth: &[(&str, &str)]) -> String {
        let port = self.port.to_string();
        let mut opts = vec![
            ("host", self.host.as_str()),
            ("port", &port),
            ("user", &self.user),
        ];
        opts.extend_from_slice(auth);
        opts.extend([
            ("known_hosts_file", path_str(&self.known_hosts)),
            ("md5sum_command", "md5sum"),
            ("sha1sum_command", "sha1sum"),
        ]);
        connection_string("sftp", &opts)
    }

    /// `ssh` logged in as the test user with the key, strict host-key checking and no user config;
    /// append the remote command, e.g. `.arg("md5sum /home/synctest/...")` (the shell is bash).
    pub fn ssh(&self) -> Command {
        let mut c = Command::new("ssh");
        c.args(["-F", "/dev/null", "-p", &self.port.to_string(), "-i"])
            .arg(&self.key)
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .arg(format!("{}@{}", self.user, self.host))
            .stdin(Stdio::null());
        c
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

impl Sftp {
    /// `rclone_remote()` + this test's directory + `/rel` (`rel` may be empty).
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), join(&self.dir, rel))
    }

    /// Absolute remote path of `rel` inside this test's directory.
    pub fn path(&self, rel: &str) -> String {
        join(&self.dir, rel)
    }
}

impl Drop for Sftp {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
    }
}

// ------------------------------------------------------------------------------------ S3

/// The S3 server's facts, from `FERRY_TEST_S3_*`.
#[derive(Clone, Debug)]
pub struct S3Conf {
    /// `http://127.0.0.1:9000`; use path-style addressing.
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub rclone: PathBuf,
    /// s5cmd, when `FERRY_TEST_S5CMD` is set.
    pub s5cmd: Option<PathBuf>,
}

/// One test's bucket. Derefs to [`S3Conf`].
#[derive(Debug)]
pub struct S3 {
    conf: S3Conf,
    /// This test's bucket (exists and is empty at first).
    pub bucket: String,
}

impl std::ops::Deref for S3 {
    type Target = S3Conf;
    fn deref(&self) -> &S3Conf {
        &self.conf
    }
}

impl S3Conf {
    /// `:s3,provider=Other,access_key_id=test,secret_access_key=test,endpoint='http://127.0.0.1:9000',region=us-east-1,force_path_style=true:`
    pub fn rclone_remote(&self) -> String {
        connection_string(
            "s3",
            &[
                ("provider", "Other"),
                ("access_key_id", &self.access_key),
                ("secret_access_key", &self.secret_key),
                ("endpoint", &self.endpoint),
                ("region", &self.region),
                ("force_path_style", "true"),
            ],
        )
    }

    /// Environment for an S3 client: explicit credentials, region, endpoint, and no metadata probing.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// s5cmd with [`S3::env`] and `--endpoint-url`; append the subcommand. None (after the usual
    /// SKIPPED notice, or a panic under CI) when `FERRY_TEST_S5CMD` is not set.
    #[track_caller]
    pub fn s5cmd(&self) -> Option<Command> {
        let Some(bin) = &self.s5cmd else {
            return unavailable("s5cmd", "FERRY_TEST_S5CMD is not set");
        };
        let mut c = Command::new(bin);
        c.envs(self.env())
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .stdin(Stdio::null());
        Some(c)
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

impl S3 {
    /// `rclone_remote()` + `bucket/rel` (`rel` may be empty: the bucket itself).
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), join(&self.bucket, rel))
    }

    /// `s3://bucket/rel`.
    pub fn url(&self, rel: &str) -> String {
        format!("s3://{}", join(&self.bucket, rel))
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
    }
}

// ------------------------------------------------------------------------------------ Azure

/// The Azure Blob server's facts, from `FERRY_TEST_AZ_*`.
#[derive(Clone, Debug)]
pub struct AzureConf {
    /// `http://127.0.0.1:10000/devstoreaccount1` (the account is part of the path).
    pub endpoint: String,
    pub account: String,
    /// The account key (base64).
    pub key: String,
    pub rclone: PathBuf,
    /// azcopy, when `FERRY_TEST_AZCOPY` is set.
    pub azcopy: Option<PathBuf>,
}

/// One test's container. Derefs to [`AzureConf`].
#[derive(Debug)]
pub struct Azure {
    conf: AzureConf,
    /// This test's container (exists and is empty at first).
    pub container: String,
    azcopy_dir: PathBuf,
}

impl std::ops::Deref for Azure {
    type Target = AzureConf;
    fn deref(&self) -> &AzureConf {
        &self.conf
    }
}

impl AzureConf {
    /// `:azureblob,account=devstoreaccount1,key='...',endpoint='http://127.0.0.1:10000/devstoreaccount1':`
    pub fn rclone_remote(&self) -> String {
        connection_string(
            "azureblob",
            &[
                ("account", &self.account),
                ("key", &self.key),
                ("endpoint", &self.endpoint),
            ],
        )
    }

    /// Account SAS query string (blob service, all resource types, `rwdlac`), valid for `valid`.
    pub fn account_sas(&self, valid: Duration) -> String {
        sas::account_sas(&self.account, &self.key, valid)
    }

    /// `DefaultEndpointsProtocol=http;AccountName=...;AccountKey=...;BlobEndpoint=...;`
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint={};",
            self.account, self.key, self.endpoint
        )
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

impl Azure {
    /// `rclone_remote()` + `container/rel` (`rel` may be empty: the container itself).
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), join(&self.container, rel))
    }

    /// rclone remote that authenticates with a container SAS URL instead of the key; paths under it
    /// must start with the container: `sas_remote() + &container + "/rel"`.
    pub fn rclone_sas_remote(&self) -> String {
        let url = format!(
            "{}/{}?{}",
            self.endpoint,
            self.container,
            self.container_sas(Duration::from_secs(3600))
        );
        connection_string("azureblob", &[("sas_url", &url)])
    }

    /// `endpoint/container/rel`, without any signature.
    pub fn blob_url(&self, rel: &str) -> String {
        format!("{}/{}", self.endpoint, join(&self.container, rel))
    }

    /// `blob_url(rel)` signed with a one-hour account SAS: what azcopy needs (it takes no key).
    pub fn sas_url(&self, rel: &str) -> String {
        format!(
            "{}?{}",
            self.blob_url(rel),
            self.account_sas(Duration::from_secs(3600))
        )
    }

    /// Service SAS query string for this container (`racwdl`), valid for `valid`.
    pub fn container_sas(&self, valid: Duration) -> String {
        sas::container_sas(&self.account, &self.key, &self.container, valid)
    }

    /// azcopy with its logs, job plans and `~/.azcopy` in a private temporary directory; append the
    /// subcommand, URLs from [`Azure::sas_url`] and `--from-to LocalBlob|BlobLocal` (it cannot infer
    /// them from a loopback URL). None (SKIPPED, or a panic under CI) when `FERRY_TEST_AZCOPY` is unset.
    #[track_caller]
    pub fn azcopy(&self) -> Option<Command> {
        let Some(bin) = &self.azcopy else {
            return unavailable("azcopy", "FERRY_TEST_AZCOPY is not set");
        };
        let d = &self.azcopy_dir;
        std::fs::create_dir_all(d).expect("create azcopy state dir");
        let mut c = Command::new(bin);
        c.env("AZCOPY_LOG_LOCATION", d.join("logs"))
            .env("AZCOPY_JOB_PLAN_LOCATION", d.join("plans"))
            .env("AZCOPY_DISABLE_SYSLOG", "true")
            .env("HOME", d)
            .stdin(Stdio::null());
        Some(c)
    }
}

impl Drop for Azure {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
        let _ = std::fs::remove_dir_all(&self.azcopy_dir);
    }
}

// ------------------------------------------------------------------------------------ FTP

/// The FTP servers' facts, from `FERRY_TEST_FTP_*`: pure-ftpd (plain FTP and explicit FTPS,
/// MLSD, MFMT) on `port`, vsftpd (implicit FTPS only, LIST and MDTM) on `ftps_port`; one
/// user whose login directory both serve.
#[derive(Clone, Debug)]
pub struct FtpConf {
    pub host: String,
    pub port: u16,
    pub ftps_port: u16,
    pub user: String,
    /// The password in clear (`ftppass`).
    pub password: String,
    /// The password as rclone stores it (`rclone obscure`).
    pub obscured: String,
    /// The test CA that signed the servers' certificate (which names 127.0.0.1 only).
    pub ca: PathBuf,
    /// The login directory on this machine's file system.
    pub root: PathBuf,
    pub rclone: PathBuf,
}

/// One test's directory (relative to the login directory). Derefs to [`FtpConf`].
#[derive(Debug)]
pub struct Ftp {
    conf: FtpConf,
    /// This test's directory, relative to the login directory (exists and is empty at first).
    pub dir: String,
}

impl std::ops::Deref for Ftp {
    type Target = FtpConf;
    fn deref(&self) -> &FtpConf {
        &self.conf
    }
}

impl FtpConf {
    /// The options of the plain FTP server: host, port, user and the obscured pass.
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("host", self.host.clone()),
            ("port", self.port.to_string()),
            ("user", self.user.clone()),
            ("pass", self.obscured.clone()),
        ]
    }

    /// [`FtpConf::options`] for explicit FTPS on the same server (the certificate is the
    /// test CA's, so `no_check_certificate` unless the CA is trusted).
    pub fn options_explicit_tls(&self) -> Vec<(&'static str, String)> {
        let mut o = self.options();
        o.push(("explicit_tls", "true".into()));
        o.push(("no_check_certificate", "true".into()));
        o
    }

    /// The implicit-FTPS server (vsftpd: LIST and MDTM, times set with `writing_mdtm`).
    pub fn options_implicit_tls(&self) -> Vec<(&'static str, String)> {
        let mut o = self.options();
        o[1].1 = self.ftps_port.to_string();
        o.push(("tls", "true".into()));
        o.push(("no_check_certificate", "true".into()));
        o.push(("writing_mdtm", "true".into()));
        o
    }

    /// `:ftp,host=127.0.0.1,port=2121,user=ferry,pass=...:`
    pub fn rclone_remote(&self) -> String {
        remote_of(&self.options())
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

/// An on-the-fly remote string for these options.
pub fn remote_of(opts: &[(&str, String)]) -> String {
    let pairs: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    connection_string("ftp", &pairs)
}

impl Ftp {
    /// `rclone_remote()` + this test's directory + `/rel` (`rel` may be empty).
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), self.path(rel))
    }

    /// This test's directory + `/rel`, relative to the login directory.
    pub fn path(&self, rel: &str) -> String {
        join(&self.dir, rel)
    }

    /// Where `rel` is on this machine's file system (the servers run here).
    pub fn local(&self, rel: &str) -> PathBuf {
        self.root.join(self.path(rel))
    }
}

impl Drop for Ftp {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
    }
}

fn ftp_conf() -> Result<FtpConf, String> {
    let host = var("FERRY_TEST_FTP_HOST")?;
    let port: u16 = var("FERRY_TEST_FTP_PORT")?
        .parse()
        .map_err(|_| "FERRY_TEST_FTP_PORT is not a port".to_string())?;
    let ftps_port: u16 = var("FERRY_TEST_FTPS_PORT")?
        .parse()
        .map_err(|_| "FERRY_TEST_FTPS_PORT is not a port".to_string())?;
    answers(&host, port)?;
    answers(&host, ftps_port)?;
    let rclone = file_var("FERRY_TEST_RCLONE")?;
    let password = var("FERRY_TEST_FTP_PASS")?;
    Ok(FtpConf {
        host,
        port,
        ftps_port,
        user: var("FERRY_TEST_FTP_USER")?,
        obscured: obscure(&rclone, &password),
        password,
        ca: file_var("FERRY_TEST_FTP_CA")?,
        root: file_var("FERRY_TEST_FTP_ROOT")?,
        rclone,
    })
}

// ------------------------------------------------------------------------------------ SMB

/// The SMB server's facts, from `FERRY_TEST_SMB_*`: Samba's smbd with one share backed by
/// a directory of this machine, and one user.
#[derive(Clone, Debug)]
pub struct SmbConf {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The password in clear.
    pub password: String,
    /// The password as rclone stores it (`rclone obscure`).
    pub obscured: String,
    /// The share's name (`ferry`).
    pub share: String,
    /// The directory the share serves, on this machine's file system.
    pub root: PathBuf,
    pub rclone: PathBuf,
}

/// One test's directory inside the share. Derefs to [`SmbConf`].
#[derive(Debug)]
pub struct Smb {
    conf: SmbConf,
    /// This test's directory, inside the share (exists and is empty at first).
    pub dir: String,
}

impl std::ops::Deref for Smb {
    type Target = SmbConf;
    fn deref(&self) -> &SmbConf {
        &self.conf
    }
}

impl SmbConf {
    /// host, port, user and the obscured pass.
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("host", self.host.clone()),
            ("port", self.port.to_string()),
            ("user", self.user.clone()),
            ("pass", self.obscured.clone()),
        ]
    }

    /// `:smb,host=127.0.0.1,port=4455,user=...,pass=...:` (the server's top level).
    pub fn rclone_remote(&self) -> String {
        let opts = self.options();
        let pairs: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (*k, v.as_str())).collect();
        connection_string("smb", &pairs)
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

impl Smb {
    /// `share/dir/rel`: this test's directory + `/rel` (`rel` may be empty), as a path
    /// below the server (the share first, as rclone and ferry read SMB paths).
    pub fn path(&self, rel: &str) -> String {
        join(&format!("{}/{}", self.share, self.dir), rel)
    }

    /// `rclone_remote()` + [`Smb::path`].
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), self.path(rel))
    }

    /// Where `rel` is on this machine's file system (the server runs here).
    pub fn local(&self, rel: &str) -> PathBuf {
        self.root.join(join(&self.dir, rel))
    }
}

impl Drop for Smb {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
    }
}

fn smb_conf() -> Result<SmbConf, String> {
    let host = var("FERRY_TEST_SMB_HOST")?;
    let port: u16 = var("FERRY_TEST_SMB_PORT")?
        .parse()
        .map_err(|_| "FERRY_TEST_SMB_PORT is not a port".to_string())?;
    answers(&host, port)?;
    let rclone = file_var("FERRY_TEST_RCLONE")?;
    let password = var("FERRY_TEST_SMB_PASS")?;
    Ok(SmbConf {
        host,
        port,
        user: var("FERRY_TEST_SMB_USER")?,
        obscured: obscure(&rclone, &password),
        password,
        share: var("FERRY_TEST_SMB_SHARE")?,
        root: file_var("FERRY_TEST_SMB_ROOT")?,
        rclone,
    })
}

// ------------------------------------------------------------------------------------ GCS

/// The Google Cloud Storage emulator's facts, from `FERRY_TEST_GCS_*`. It takes no
/// credentials: remotes use `anonymous = true`.
#[derive(Clone, Debug)]
pub struct GcsConf {
    /// `http://127.0.0.1:9023` (the JSON API is below `/storage/v1`).
    pub endpoint: String,
    /// The project number bucket listing and creation need.
    pub project: String,
    pub rclone: PathBuf,
}

/// One test's bucket. Derefs to [`GcsConf`].
#[derive(Debug)]
pub struct Gcs {
    conf: GcsConf,
    /// This test's bucket (exists and is empty at first).
    pub bucket: String,
}

impl std::ops::Deref for Gcs {
    type Target = GcsConf;
    fn deref(&self) -> &GcsConf {
        &self.conf
    }
}

impl GcsConf {
    /// `:gcs,endpoint='http://127.0.0.1:9023',anonymous=true,project_number=1234:`
    pub fn rclone_remote(&self) -> String {
        connection_string("gcs", &self.options())
    }

    /// The remote's options, as `key=value` pairs of a config section or connection string.
    pub fn options(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("endpoint", self.endpoint.as_str()),
            ("anonymous", "true"),
            ("project_number", self.project.as_str()),
        ]
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

impl Gcs {
    /// `rclone_remote()` + `bucket/rel` (`rel` may be empty: the bucket itself).
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), join(&self.bucket, rel))
    }

    /// `gs://bucket/rel`.
    pub fn url(&self, rel: &str) -> String {
        format!("gs://{}", join(&self.bucket, rel))
    }
}

impl Drop for Gcs {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
    }
}

// ------------------------------------------------------------------------------------ WebDAV

/// The WebDAV server's facts, from `FERRY_TEST_WEBDAV_*` (Apache httpd with mod_dav, vendor `other`).
#[derive(Clone, Debug)]
pub struct WebDavConf {
    /// `http://127.0.0.1:8780/`
    pub url: String,
    pub user: String,
    pub password: String,
    /// The folder on this machine the server serves, when known (to look at or plant
    /// files behind the server's back).
    pub root: Option<PathBuf>,
    pub rclone: PathBuf,
}

/// One test's folder on the WebDAV server. Derefs to [`WebDavConf`].
#[derive(Debug)]
pub struct WebDav {
    conf: WebDavConf,
    /// The folder's path below the server's URL.
    pub dir: String,
}

impl std::ops::Deref for WebDav {
    type Target = WebDavConf;
    fn deref(&self) -> &WebDavConf {
        &self.conf
    }
}

impl WebDavConf {
    /// rclone on-the-fly remote: `:webdav,url='http://127.0.0.1:8780/',user=synctest,pass=<obscured>:`.
    pub fn rclone_remote(&self) -> String {
        self.remote_with(&[])
    }

    /// As [`WebDavConf::rclone_remote`], with more options (`vendor`, `encoding`, ...).
    pub fn remote_with(&self, extra: &[(&str, &str)]) -> String {
        let pass = obscure(&self.rclone, &self.password);
        let mut opts = vec![
            ("url", self.url.as_str()),
            ("user", self.user.as_str()),
            ("pass", pass.as_str()),
        ];
        opts.extend_from_slice(extra);
        connection_string("webdav", &opts)
    }

    /// rclone with an empty config (see [`rclone`]).
    pub fn rclone(&self) -> Command {
        rclone(&self.rclone)
    }
}

impl WebDav {
    /// `rclone_remote()` + this test's folder + `/rel` (`rel` may be empty).
    pub fn rclone_path(&self, rel: &str) -> String {
        format!("{}{}", self.rclone_remote(), join(&self.dir, rel))
    }

    /// This test's folder + `/rel`, below the server's URL.
    pub fn path(&self, rel: &str) -> String {
        join(&self.dir, rel)
    }

    /// Where `rel` in this test's folder is on this machine, when the server's root is known.
    pub fn local_path(&self, rel: &str) -> Option<PathBuf> {
        Some(self.root.as_ref()?.join(self.path(rel)))
    }
}

impl Drop for WebDav {
    fn drop(&mut self) {
        purge(&self.rclone, &self.rclone_path(""));
    }
}

// ------------------------------------------------------------------------------------ helpers

/// `rclone` with `RCLONE_CONFIG=/dev/null` (on-the-fly remotes only), no cloud metadata probing,
/// and short retries so a dead server fails fast.
pub fn rclone(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("RCLONE_CONFIG", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "--retries",
            "1",
            "--low-level-retries",
            "2",
            "--contimeout",
            "5s",
            "--timeout",
            "30s",
        ])
        .stdin(Stdio::null());
    c
}

/// Runs `cmd`, panics with its stderr unless it exits 0; returns stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "command failed ({}): {:?}\nstderr: {}\nstdout: {}",
        out.status,
        cmd,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// rclone connection string `:type,k=v,...:`, quoting values that need it.
fn connection_string(kind: &str, opts: &[(&str, &str)]) -> String {
    let mut s = format!(":{kind}");
    for (k, v) in opts {
        if v.contains([',', ':', '\'', '"', '=', ' ']) {
            let _ = write!(s, ",{k}='{}'", v.replace('\'', "''"));
        } else {
            let _ = write!(s, ",{k}={v}");
        }
    }
    s.push(':');
    s
}

fn join(base: &str, rel: &str) -> String {
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{rel}")
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("testbed paths are UTF-8")
}

fn obscure(rclone_bin: &Path, secret: &str) -> String {
    let out = run(rclone(rclone_bin).args(["obscure", secret]));
    String::from_utf8(out)
        .expect("rclone obscure output")
        .trim()
        .to_string()
}

/// `ferry-t-<test name>-<pid>-<n>-<time>`: lowercase letters, digits and single hyphens, at most
/// 63 characters (valid as an S3 bucket and an Azure container name).
fn unique_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let thread = std::thread::current();
    let test = thread
        .name()
        .unwrap_or("")
        .rsplit("::")
        .next()
        .unwrap_or("");
    let mut tag = String::new();
    for c in test.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            tag.push(c);
        } else if !tag.is_empty() && !tag.ends_with('-') {
            tag.push('-');
        }
        if tag.len() >= 24 {
            break;
        }
    }
    let tag = tag.trim_end_matches('-');
    let tag = if tag.is_empty() || tag == "main" {
        String::new()
    } else {
        format!("{tag}-")
    };
    format!("ferry-t-{tag}{}-{n}-{:x}", std::process::id(), nanos >> 8)
}

/// Makes a handle's directory / bucket / container: the first real protocol request (the
/// variables and the port were checked by `available`).
#[track_caller]
fn create(rclone_bin: &Path, path: &str, what: &str) -> Option<()> {
    let out = output(rclone(rclone_bin).args(["mkdir", path]));
    if out.status.success() {
        return Some(());
    }
    unavailable(
        what,
        &format!(
            "`rclone mkdir` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    )
}

fn purge(bin: &Path, path: &str) {
    let _ = rclone(bin)
        .args(["purge", path])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Skip (stderr notice, None) or, under CI, panic: the server or tool `what` is not there.
#[track_caller]
fn unavailable<T>(what: &str, why: &str) -> Option<T> {
    let msg = format!(
        "{what} not available ({why}); run `scripts/testbed start` and \
         `eval \"$(scripts/testbed env)\"` first (scripts/test does both)"
    );
    if Testbed::in_ci() {
        panic!("CI=true: {msg}");
    }
    let thread = std::thread::current();
    let line = format!("SKIPPED: {}: {msg}\n", thread.name().unwrap_or("?"));
    // Straight to the stderr handle, not eprintln!, so the test harness does not capture it;
    // one write, so it does not interleave with the harness's own lines.
    let _ = std::io::stderr().write_all(line.as_bytes());
    None
}

static SFTP: OnceLock<Result<SftpConf, String>> = OnceLock::new();
static S3_CONF: OnceLock<Result<S3Conf, String>> = OnceLock::new();
static AZ_CONF: OnceLock<Result<AzureConf, String>> = OnceLock::new();
static FTP_CONF: OnceLock<Result<FtpConf, String>> = OnceLock::new();
static WEBDAV_CONF: OnceLock<Result<WebDavConf, String>> = OnceLock::new();
static SMB_CONF: OnceLock<Result<SmbConf, String>> = OnceLock::new();
static GCS_CONF: OnceLock<Result<GcsConf, String>> = OnceLock::new();

/// Reads the server's variables and checks its port once per process.
#[track_caller]
fn available<C: Clone>(
    what: &str,
    cell: &OnceLock<Result<C, String>>,
    read: fn() -> Result<C, String>,
) -> Option<C> {
    match cell.get_or_init(read) {
        Ok(conf) => Some(conf.clone()),
        Err(why) => unavailable(what, why),
    }
}

fn var(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("{name} is not set")),
    }
}

fn file_var(name: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(var(name)?);
    if p.exists() {
        Ok(p)
    } else {
        Err(format!("{name}={} does not exist", p.display()))
    }
}

fn answers(host: &str, port: u16) -> Result<(), String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    for addr in &addrs {
        if TcpStream::connect_timeout(addr, Duration::from_secs(2)).is_ok() {
            return Ok(());
        }
    }
    Err(format!("nothing answers on {host}:{port}"))
}

/// `http://host:port[/path]` -> (host, port).
fn http_host_port(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: expected http://host:port"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    Ok((
        host.to_string(),
        port.parse().map_err(|_| format!("{url}: bad port"))?,
    ))
}

fn sftp_conf() -> Result<SftpConf, String> {
    let conf = SftpConf {
        host: var("FERRY_TEST_SFTP_HOST")?,
        port: var("FERRY_TEST_SFTP_PORT")?
            .parse()
            .map_err(|_| "FERRY_TEST_SFTP_PORT is not a port".to_string())?,
        user: var("FERRY_TEST_SFTP_USER")?,
        password: var("FERRY_TEST_SFTP_PASS")?,
        key: file_var("FERRY_TEST_SFTP_KEY")?,
        key_pass: file_var("FERRY_TEST_SFTP_KEY_PASS")?,
        key_passphrase: var("FERRY_TEST_SFTP_KEY_PASSPHRASE")?,
        known_hosts: file_var("FERRY_TEST_SFTP_KNOWN_HOSTS")?,
        hostkey_line: var("FERRY_TEST_SFTP_HOSTKEY_LINE")?,
        root: var("FERRY_TEST_SFTP_ROOT")?,
        rclone: file_var("FERRY_TEST_RCLONE")?,
    };
    answers(&conf.host, conf.port)?;
    Ok(conf)
}

fn s3_conf() -> Result<S3Conf, String> {
    let conf = S3Conf {
        endpoint: var("FERRY_TEST_S3_ENDPOINT")?,
        access_key: var("FERRY_TEST_S3_ACCESS_KEY")?,
        secret_key: var("FERRY_TEST_S3_SECRET_KEY")?,
        region: var("FERRY_TEST_S3_REGION")?,
        rclone: file_var("FERRY_TEST_RCLONE")?,
        s5cmd: file_var("FERRY_TEST_S5CMD").ok(),
    };
    let (host, port) = http_host_port(&conf.endpoint)?;
    answers(&host, port)?;
    Ok(conf)
}

fn az_conf() -> Result<AzureConf, String> {
    let conf = AzureConf {
        endpoint: var("FERRY_TEST_AZ_ENDPOINT")?
            .trim_end_matches('/')
            .to_string(),
        account: var("FERRY_TEST_AZ_ACCOUNT")?,
        key: var("FERRY_TEST_AZ_KEY")?,
        rclone: file_var("FERRY_TEST_RCLONE")?,
        azcopy: file_var("FERRY_TEST_AZCOPY").ok(),
    };
    let (host, port) = http_host_port(&conf.endpoint)?;
    answers(&host, port)?;
    Ok(conf)
}

fn gcs_conf() -> Result<GcsConf, String> {
    let conf = GcsConf {
        endpoint: var("FERRY_TEST_GCS_ENDPOINT")?
            .trim_end_matches('/')
            .to_string(),
        project: var("FERRY_TEST_GCS_PROJECT")?,
        rclone: file_var("FERRY_TEST_RCLONE")?,
    };
    let (host, port) = http_host_port(&conf.endpoint)?;
    answers(&host, port)?;
    Ok(conf)
}

fn webdav_conf() -> Result<WebDavConf, String> {
    let conf = WebDavConf {
        url: var("FERRY_TEST_WEBDAV_URL")?,
        user: var("FERRY_TEST_WEBDAV_USER")?,
        password: var("FERRY_TEST_WEBDAV_PASS")?,
        root: file_var("FERRY_TEST_WEBDAV_ROOT").ok(),
        rclone: file_var("FERRY_TEST_RCLONE")?,
    };
    let (host, port) = http_host_port(conf.url.trim_end_matches('/'))?;
    answers(&host, port)?;
    Ok(conf)
}

/// The fuzzing budget of a proptest block: its own case count and fixed seed, unless the
/// soak asks for more (`FERRY_FUZZ_SCALE=K`: K times the cases) or for other inputs
/// (`FERRY_FUZZ_SEED=S`: the seed mixed with S). CI sets neither, so it runs the same
/// cases every time.
pub fn fuzz_budget(cases: u32, seed: u64) -> (u32, u64) {
    let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let scale = num("FERRY_FUZZ_SCALE").unwrap_or(1).clamp(1, 10_000) as u32;
    let seed =
        num("FERRY_FUZZ_SEED").map_or(seed, |s| seed ^ s.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (cases.saturating_mul(scale), seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_valid_bucket_and_container_names() {
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        for n in [a, b] {
            assert!((3..=63).contains(&n.len()), "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{n}"
            );
            assert!(
                !n.contains("--") && !n.ends_with('-') && n.starts_with("ferry-t-"),
                "{n}"
            );
        }
    }

    #[test]
    fn connection_strings_quote_what_needs_it() {
        assert_eq!(
            connection_string(
                "s3",
                &[("endpoint", "http://h:1"), ("region", "r"), ("x", "it's")]
            ),
            ":s3,endpoint='http://h:1',region=r,x='it''s':"
        );
        assert_eq!(join("b", ""), "b");
        assert_eq!(join("b", "/x/y"), "b/x/y");
        assert_eq!(
            http_host_port("http://127.0.0.1:10000/acct").unwrap(),
            ("127.0.0.1".into(), 10000)
        );
    }
}
