//! Registration: combine's one option as rclone names it, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{
    join_remote, space_separated, BackendKind, OpenRequest, OptionSpec, Unimplemented,
};
use ferry_core::{Backend, Error, ErrorKind, Result};

use crate::{CombineBackend, Upstream};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "upstreams",
        "Upstreams for combining, space separated: dir=remote:path dir2=remote2:path.\n\nBefore the = is the top-level directory, after it the remote shown there; quote an upstream holding spaces (\"dir=remote:path with space\").",
    )
    .required(),
    OptionSpec::DESCRIPTION,
];

/// The `combine` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "combine",
    aliases: &[],
    description: "Combine several remotes into one",
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

/// One `dir=remote` of the `upstreams` option.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub dir: String,
    pub remote: String,
}

/// The upstreams as written, checked as rclone checks them (a `=`, a directory without
/// `/`, a remote, no directory twice, none naming this remote itself).
pub(crate) fn specs(who: &str, value: &str) -> Result<Vec<Spec>> {
    let bad = |why: String| {
        Error::new(
            ErrorKind::Config,
            format!("{who} combine remote: {why}: check its upstreams option"),
        )
    };
    let fields = space_separated(value).map_err(bad)?;
    if fields.is_empty() {
        return Err(bad("no upstreams".into()));
    }
    let mut out: Vec<Spec> = Vec::new();
    for field in fields {
        let Some((dir, remote)) = field.split_once('=') else {
            return Err(bad(format!("no \"=\" in upstream {field:?}")));
        };
        if dir.is_empty() {
            return Err(bad(format!("empty directory in upstream {field:?}")));
        }
        if remote.is_empty() {
            return Err(bad(format!("empty remote in upstream {field:?}")));
        }
        if dir.contains('/') || dir == "." || dir == ".." {
            return Err(bad(format!("directory {dir:?} must be one plain name")));
        }
        if who.len() > 1 && remote.starts_with(who) {
            return Err(bad("it can't point at itself".into()));
        }
        if out.iter().any(|s| s.dir == dir) {
            return Err(bad(format!("directory {dir:?} is given twice")));
        }
        out.push(Spec {
            dir: dir.to_owned(),
            remote: remote.to_owned(),
        });
    }
    Ok(out)
}

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let who = req.options.remote();
    let specs = specs(who, req.options.text("upstreams").unwrap_or(""))?;
    let mut upstreams = Vec::with_capacity(specs.len());
    for s in specs {
        let backend = req.context.open_remote(who, &join_remote(&s.remote, ""))?;
        upstreams.push(Upstream {
            dir: s.dir,
            backend,
        });
    }
    Ok(Arc::new(CombineBackend::new(upstreams, who, req.root)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse_as_rclone_writes_them() {
        let got = specs("c:", r#"a=/x "b=s3:bucket/with space""#).unwrap();
        assert_eq!(
            got,
            [
                Spec {
                    dir: "a".into(),
                    remote: "/x".into()
                },
                Spec {
                    dir: "b".into(),
                    remote: "s3:bucket/with space".into()
                },
            ]
        );
    }

    #[test]
    fn malformed_upstreams_are_config_errors_naming_the_remote() {
        for bad in ["", "a", "=x:", "a=", "a/b=x:", "a=x: a=y:", "a=c:sub"] {
            let err = specs("c:", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(err.to_string().starts_with("c: combine remote"), "{err}");
        }
    }
}
