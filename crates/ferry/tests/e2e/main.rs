//! End to end on local trees: the real `ferry` binary driven command by command (and side
//! by side with rclone 1.75 where its behaviour is the reference). One test binary, a
//! module per area, so the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod backend_cmd;
mod bisync;
mod check;
mod commands;
mod config;
mod crash;
mod crypt;
mod filters;
mod links;
mod metadata;
mod name_transform;
mod overlays;
#[cfg(unix)]
mod progress;
mod prompts;
mod property;
#[cfg(unix)]
mod readme;
mod shard;
mod sync;
mod timeouts;
#[cfg(unix)]
mod watch;
