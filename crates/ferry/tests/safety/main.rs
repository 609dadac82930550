//! Safety regressions, end to end: each test is named after the rule it protects and
//! drives the real `ferry` binary (against the testbed's servers where a backend is involved).
//!
//! One module per group of rules, so the rules live together in one test binary.

#[path = "../common/mod.rs"]
mod common;

mod bisync;
mod deletes;
mod diskfaults;
mod encoding;
mod endless;
mod hashcache;
mod hostile;
mod input;
mod kills;
mod memory;
mod partials;
mod remote_kills;
mod secrets;
mod server_faults;
mod settings;
mod symlinks;
