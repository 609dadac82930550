//! rclone's metadata filters (`--metadata-include`, `--metadata-exclude`,
//! `--metadata-filter` and their `-from` variants): the same rule language as the name
//! filters, matched against `key=value` strings instead of paths.
//!
//! As in rclone: rules are collected in the same fixed order (includes, excludes, then
//! filter rules, with `!` clearing), an include adds an implicit `- /**` at the end,
//! patterns are always case-sensitive, and no directory rules are derived (metadata
//! filters apply to files only). A file is tested by each rule in turn against all of
//! its `key=value` pairs; the first rule matching any pair decides. A file without
//! metadata is tested as one pair `"\0=\0"`, so an include still excludes it.

use std::sync::Arc;

use crate::collect::{self, RuleFlags, RuleSink};
use crate::rules::{Pattern, Rules};
use crate::{FilterError, FilterOptions, Origin};

/// Compiled metadata rules.
#[derive(Debug, Default)]
pub(crate) struct MetaRules {
    rules: Rules,
}

impl MetaRules {
    pub(crate) fn new(opts: &FilterOptions) -> Result<MetaRules, FilterError> {
        let mut r = MetaRules::default();
        collect::add_all(
            &mut r,
            &RuleFlags {
                include: &opts.metadata_include,
                include_from: &opts.metadata_include_from,
                exclude: &opts.metadata_exclude,
                exclude_from: &opts.metadata_exclude_from,
                filter: &opts.metadata_filter,
                filter_from: &opts.metadata_filter_from,
                names: [
                    "--metadata-include",
                    "--metadata-include-from",
                    "--metadata-exclude",
                    "--metadata-exclude-from",
                    "--metadata-filter",
                    "--metadata-filter-from",
                ],
            },
        )?;
        Ok(r)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.len() == 0
    }

    /// rclone's `includeMany` over the file's `key=value` pairs.
    pub(crate) fn include<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        let mut items: Vec<String> = pairs.map(|(k, v)| format!("{k}={v}")).collect();
        if items.is_empty() {
            items.push("\0=\0".to_owned());
        }
        for rule in &self.rules.rules {
            if items
                .iter()
                .any(|i| rule.pattern.is_match(i, i.contains('\n')))
            {
                return rule.include;
            }
        }
        true
    }

    pub(crate) fn dump(&self, out: &mut Vec<String>) {
        self.rules.dump(out);
    }
}

impl RuleSink for MetaRules {
    fn add(&mut self, include: bool, glob: &str, origin: &Origin) -> Result<(), FilterError> {
        let p = Pattern::compile(glob, false).map_err(|reason| FilterError::BadPattern {
            origin: origin.clone(),
            pattern: glob.to_string(),
            reason,
        })?;
        self.rules.add(include, Arc::new(p));
        Ok(())
    }

    fn clear(&mut self) {
        self.rules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(f: impl FnOnce(&mut FilterOptions)) -> MetaRules {
        let mut o = FilterOptions::default();
        f(&mut o);
        MetaRules::new(&o).unwrap()
    }

    #[test]
    fn includes_excludes_and_filters() {
        let inc = rules(|o| o.metadata_include = vec!["mode=100664".into()]);
        assert!(inc.include([("mode", "100664"), ("uid", "0")].into_iter()));
        assert!(!inc.include([("mode", "100644")].into_iter()));
        assert!(
            !inc.include(std::iter::empty()),
            "no metadata: the implicit exclude"
        );
        let times = rules(|o| o.metadata_include = vec!["[abm]time=2022-12-16*".into()]);
        assert!(times.include([("btime", "2022-12-16T10:00:00Z")].into_iter()));
        assert!(!times.include([("ctime", "2022-12-16T10:00:00Z")].into_iter()));
        let exc = rules(|o| o.metadata_exclude = vec!["owner=bob".into()]);
        assert!(!exc.include([("owner", "bob")].into_iter()));
        assert!(exc.include([("owner", "alice")].into_iter()));
        assert!(exc.include(std::iter::empty()));
        // `*` stops at `/`, as in path globs; `**` doesn't.
        let ct = rules(|o| o.metadata_filter = vec!["+ content-type=text/*".into(), "- **".into()]);
        assert!(ct.include([("content-type", "text/plain")].into_iter()));
        assert!(!ct.include([("content-type", "image/png")].into_iter()));
        // Case-sensitive even with --ignore-case.
        let cs = rules(|o| {
            o.ignore_case = true;
            o.metadata_include = vec!["owner=Bob".into()];
        });
        assert!(!cs.include([("owner", "bob")].into_iter()));
        assert!(rules(|_| {}).is_empty());
    }
}
