//! The filter flags turned into the engine's selection.

use std::sync::Arc;
use std::time::SystemTime;

use ferry_engine::Select;
use ferry_filter::{parse_age, Filter, FilterOptions};

use crate::args::FilterArgs;
use crate::exit::{fail, ERROR, USAGE};

/// rclone's filters plus `--max-depth`.
pub struct Selection {
    filter: Filter,
    max_depth: Option<usize>,
    active: bool,
}

fn depth(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.bytes().filter(|&b| b == b'/').count() + 1
    }
}

impl Select for Selection {
    fn include_file(&self, path: &str, size: u64, mtime: SystemTime) -> bool {
        self.within_depth(path, false) && self.filter.include_file(path, size, mtime)
    }
    fn include_dir(&self, path: &str) -> bool {
        // Depth is not an exclusion: the march applies `within_depth` itself.
        self.filter.include_dir(path)
    }
    fn within_depth(&self, path: &str, is_dir: bool) -> bool {
        // --max-depth 1 means the top level's files; no directory is entered.
        self.max_depth.is_none_or(|max| {
            if is_dir {
                depth(path) < max
            } else {
                depth(path) <= max
            }
        })
    }
    fn exclude_if_present(&self) -> &[String] {
        self.filter.exclude_if_present()
    }
    fn is_active(&self) -> bool {
        self.active
    }
    fn uses_metadata(&self) -> bool {
        self.filter.uses_metadata()
    }
    fn include_metadata(&self, path: &str, metadata: &ferry_core::Metadata) -> bool {
        let keep = self.filter.include_metadata(metadata.iter());
        if !keep {
            tracing::debug!("{path}: Excluded (Metadata Filter)");
        }
        keep
    }
    fn uses_mtime(&self) -> bool {
        self.filter.uses_age()
    }
    fn uses_directory_filters(&self) -> bool {
        // Metadata filters are applied by the directory walk, so they keep it too.
        self.filter.uses_directory_filters() || self.filter.uses_metadata()
    }
}

fn age(
    flag: &str,
    value: &Option<String>,
    now: SystemTime,
) -> anyhow::Result<Option<std::time::Duration>> {
    value
        .as_deref()
        .map(|v| {
            parse_age(v, now)
                .map_err(|e| fail(USAGE, format!("invalid argument {v:?} for {flag}: {e}")))
        })
        .transpose()
}

/// Builds the selection; a bad rule is a fatal error (exit 1), as in rclone.
pub fn build(args: &FilterArgs) -> anyhow::Result<(Arc<Selection>, bool)> {
    let now = SystemTime::now();
    let opts = FilterOptions {
        filter: args.filter.clone(),
        filter_from: args.filter_from.clone(),
        include: args.include.clone(),
        include_from: args.include_from.clone(),
        exclude: args.exclude.clone(),
        exclude_from: args.exclude_from.clone(),
        files_from: args.files_from.clone(),
        files_from_raw: args.files_from_raw.clone(),
        files_from0: args.files_from0.clone(),
        exclude_if_present: args.exclude_if_present.clone(),
        hash_filter: args.hash_filter.clone(),
        min_size: args.min_size,
        max_size: args.max_size,
        min_age: age("--min-age", &args.min_age, now)?,
        max_age: age("--max-age", &args.max_age, now)?,
        ignore_case: args.ignore_case,
        delete_excluded: args.delete_excluded,
        include_pattern: args.include_pattern.clone(),
        exclude_pattern: args.exclude_pattern.clone(),
        exclude_path: args.exclude_path.clone(),
        include_regex: args.include_regex.clone(),
        exclude_regex: args.exclude_regex.clone(),
        metadata_include: args.metadata_include.clone(),
        metadata_include_from: args.metadata_include_from.clone(),
        metadata_exclude: args.metadata_exclude.clone(),
        metadata_exclude_from: args.metadata_exclude_from.clone(),
        metadata_filter: args.metadata_filter.clone(),
        metadata_filter_from: args.metadata_filter_from.clone(),
    };
    let filter = Filter::new(&opts, now).map_err(|e| fail(ERROR, e.to_string()))?;
    let max_depth = match (args.max_depth, args.recursive) {
        (d, _) if d >= 0 => Some(d as usize),
        (_, Some(false)) => Some(1),
        _ => None,
    };
    let active = !filter.is_empty() || max_depth.is_some();
    Ok((
        Arc::new(Selection {
            filter,
            max_depth,
            active,
        }),
        args.delete_excluded,
    ))
}
