//! Registration: union's options as rclone names them (defaults written once, here) and
//! how to open one.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::kind::{
    join_remote, space_separated, BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented,
};
use ferry_core::{Backend, Error, ErrorKind, Result};

use crate::policy::Policy;
use crate::upstream::{Spec, Tag, Upstream};
use crate::{Policies, UnionBackend};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "upstreams",
        "List of space separated upstreams.\n\nE.g. 'remote1:dir remote2:' or '\"remote1:dir with space:ro\" remote2:'; a :ro, :nc or :writeback suffix tags one.",
    )
    .required(),
    OptionSpec::new("action_policy", "Policy choosing the upstreams of an ACTION (changing or removing what exists).")
        .default("epall"),
    OptionSpec::new("create_policy", "Policy choosing the upstreams of a CREATE (writing a new file or directory).")
        .default("epmfs"),
    OptionSpec::new("search_policy", "Policy choosing the upstream of a SEARCH (reading, listing).")
        .default("ff"),
    OptionSpec::new(
        "cache_time",
        "Cache time of usage and free space (in seconds).\n\nOnly used by the policies that read free or used space.",
    )
    .default("120")
    .ty(OptionType::Int),
    OptionSpec::new(
        "min_free_space",
        "Minimum viable free space for the lfs and eplfs policies: an upstream with less free space is not chosen.",
    )
    .default("1Gi")
    .ty(OptionType::Size)
    .advanced(),
    OptionSpec::DESCRIPTION,
];

/// The `union` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "union",
    aliases: &[],
    description: "Union merges the contents of several upstream fs",
    options: OPTIONS,
    unimplemented: Unimplemented {
        refused: &[],
        tuning: &[],
        booleans: &[],
    },
    urls: &[],
    network: false,
    http: false,
    commands: &[],
    open,
};

fn config_error(who: &str, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Config, format!("{who} union remote: {why}")).retryable(false)
}

/// The policy named by `key`, or an error naming the policy and the ones there are.
fn policy(req: &OpenRequest<'_>, key: &str) -> Result<Policy> {
    let who = req.options.remote();
    let name = req.options.text(key).unwrap_or("");
    Policy::parse(name).ok_or_else(|| {
        config_error(
            who,
            format!("unknown {key} {name:?}: use one of {}", Policy::names()),
        )
    })
}

/// The upstreams as written, checked as rclone checks them.
pub(crate) fn specs(who: &str, value: &str) -> Result<Vec<Spec>> {
    let fields = space_separated(value)
        .map_err(|why| config_error(who, format!("{why}: check its upstreams option")))?;
    match fields.len() {
        0 => return Err(config_error(who, "no upstreams: set its upstreams option")),
        1 => {
            return Err(config_error(
                who,
                "a union needs at least two upstreams: check its upstreams option",
            ))
        }
        _ => {}
    }
    let specs: Vec<Spec> = fields.iter().map(|f| Spec::parse(f)).collect();
    if who.len() > 1 && specs.iter().any(|s| s.remote.starts_with(who)) {
        return Err(config_error(
            who,
            "it can't point at itself: check its upstreams option",
        ));
    }
    let writebacks = specs.iter().filter(|s| s.tag == Tag::Writeback).count();
    if writebacks > 1 {
        return Err(config_error(
            who,
            format!("only one upstream may be :writeback, not {writebacks}"),
        ));
    }
    Ok(specs)
}

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let who = req.options.remote();
    let specs = specs(who, req.options.text("upstreams").unwrap_or(""))?;
    let policies = Policies {
        action: policy(req, "action_policy")?,
        create: policy(req, "create_policy")?,
        search: policy(req, "search_policy")?,
    };
    let cache_time = req.options.int("cache_time", 0, i64::MAX)?.unwrap_or(0);
    let min_free_space = req.options.size("min_free_space")?.unwrap_or(0);
    let root = req.root.trim_matches('/');
    let mut upstreams = Vec::with_capacity(specs.len());
    for spec in specs {
        let backend = req
            .context
            .open_remote(who, &join_remote(&spec.remote, root))?;
        upstreams.push(Upstream::new(
            spec,
            backend,
            Duration::from_secs(cache_time as u64),
        ));
    }
    Ok(Arc::new(UnionBackend::new(
        upstreams,
        policies,
        min_free_space,
        who,
        root,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_need_two_and_one_writeback_at_most() {
        assert_eq!(specs("u:", "/a /b:ro").unwrap().len(), 2);
        for bad in ["", "/a", "/a:writeback /b:writeback", "/a u:sub"] {
            let err = specs("u:", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(err.to_string().starts_with("u: union remote"), "{err}");
        }
    }
}
