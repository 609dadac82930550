//! rclone's `--name-transform`: rules that rename files and directories on their way to
//! the destination (`sync`, `copy`, `move`) or in place (`convmv`).
//!
//! A rule is `[file,|dir,|all,]KEY[=VALUE]` ([`NameTransform::parse`]); the rules apply in
//! the order given, each to one path segment at a time, so no rule can add or remove a `/`.
//! [`Transformed`] shows a backend's tree under the names the rules give, so the engine
//! syncs from it as from any source and never learns that names changed.

mod charmap;
mod segment;
mod spec;
mod view;

pub use spec::{NameTransform, Scope};
pub use view::Transformed;
