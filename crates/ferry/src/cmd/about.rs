//! `about`: the space of the store behind a remote, in rclone's three forms (sizes with
//! units, `--full` bytes, `--json`).

use clap::Args;
use ferry_core::units::byte_unit;
use ferry_core::{RelPath, Usage};

use crate::cmd::listing::count_suffix;
use crate::cmd::ls::Out;
use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct AboutArgs {
    /// The remote (or path) whose store to measure
    pub path: String,
    /// Full numbers instead of human-readable
    #[arg(long)]
    pub full: bool,
    /// Format output as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn about(a: &AboutArgs, g: &Globals) -> anyhow::Result<i32> {
    let backend = g.remotes.open(&a.path)?;
    let failed = |code, why: String| fail(code, format!("Failed to about: {why}"));
    let usage = backend
        .usage()
        .await
        .map_err(|e| {
            failed(
                exit::code_for_kind(e.kind(), e.is_temporary()),
                format!("about call failed: {e}"),
            )
        })?
        .ok_or_else(|| {
            failed(
                exit::ERROR,
                format!("{} doesn't support about", backend.describe()),
            )
        })?;
    // The space is the file system's, measured where the path is: as rclone, a path that
    // isn't there has none.
    if backend
        .stat(&RelPath::root())
        .await
        .ok()
        .flatten()
        .is_none()
    {
        return Err(failed(
            exit::DIR_NOT_FOUND,
            "about call failed: directory not found".into(),
        ));
    }
    let mut out = Out::new();
    if a.json {
        out.line(&json(&usage));
        return Ok(exit::SUCCESS);
    }
    for (what, value, is_size) in [
        ("Total", usage.total, true),
        ("Used", usage.used, true),
        ("Free", usage.free, true),
        ("Objects", usage.objects, false),
    ] {
        let Some(v) = value else { continue };
        let shown = match (a.full, is_size) {
            (true, _) => v.to_string(),
            (false, true) => byte_unit(v),
            (false, false) => count_suffix(v),
        };
        out.line(&format!("{:<9}{shown}", format!("{what}:")));
    }
    Ok(exit::SUCCESS)
}

/// rclone's JSON: the known fields only, tab-indented as Go's encoder writes them.
fn json(u: &Usage) -> String {
    let fields: Vec<String> = [
        ("total", u.total),
        ("used", u.used),
        ("free", u.free),
        ("objects", u.objects),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("\t\"{k}\": {v}")))
    .collect();
    if fields.is_empty() {
        return "{}".into();
    }
    format!("{{\n{}\n}}", fields.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_only_known_fields_in_rclones_order() {
        let u = Usage {
            total: Some(10),
            used: None,
            free: Some(3),
            objects: None,
        };
        assert_eq!(json(&u), "{\n\t\"total\": 10,\n\t\"free\": 3\n}");
        assert_eq!(json(&Usage::default()), "{}");
    }
}
