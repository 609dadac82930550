//! End to end against the testbed's servers on 127.0.0.1 (SFTP, S3, Azure Blob, FTP, WebDAV, HTTP, SMB, GCS): the real
//! `ferry` binary, side by side with rclone, s5cmd and azcopy. A test whose server is
//! missing fails under `CI=true`. One test binary, a module per backend.

#[path = "../common/mod.rs"]
mod common;

mod azcopy_cli;
mod azure;
mod backend_cmd;
mod copyurl;
mod crypt;
mod dump;
mod ftp;
mod gcs;
mod http;
mod http_flags;
mod overlays;
mod s3;
mod s3_list;
mod settier;
mod sftp;
mod shard;
mod shard_listing;
mod slurm;
mod smb;
mod webdav;
