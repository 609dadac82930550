//! The SMB backend against a real server (scripts/testbed: Samba's smbd on :4455, one
//! share), through the `Backend` trait, and side by side with rclone 1.75.

#![allow(dead_code)]

mod common;
mod failures;
mod interop;
mod roundtrip;
