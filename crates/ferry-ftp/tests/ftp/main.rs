//! The FTP backend against real servers (scripts/testbed: pure-ftpd on :2121 for plain FTP
//! and explicit FTPS, vsftpd on :2990 for implicit FTPS without MLSD), through the
//! `Backend` trait, and side by side with rclone 1.75.

#![allow(dead_code)]

mod common;
mod failures;
mod interop;
mod roundtrip;
