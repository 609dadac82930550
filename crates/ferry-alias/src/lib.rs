//! rclone's `alias` remote: `remote = other:path` names another remote (or a path on
//! this machine), and the alias's own path is joined below it. Opening one opens what it
//! names through the run's [`RemoteOpener`](ferry_core::kind::RemoteOpener), so the
//! wrapped remote keeps its config section, backend flags and layers; nothing of the
//! alias stays around it (as in rclone, an alias is only a name).

use std::sync::Arc;

use ferry_core::kind::{join_remote, BackendKind, OpenRequest, OptionSpec, Unimplemented};
use ferry_core::{Backend, Error, ErrorKind, Result};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "remote",
        "Remote or path to alias.\n\nE.g. \"myremote:path/to/dir\", \"myremote:bucket\", \"myremote:\" or \"/local/path\".",
    )
    .required(),
    OptionSpec::DESCRIPTION,
];

/// The `alias` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "alias",
    aliases: &[],
    description: "Alias for an existing remote",
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

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let who = req.options.remote();
    let target = req.options.text("remote").unwrap_or("").trim();
    if target.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{who} alias can't point to an empty remote: set its remote option (e.g. remote = other:path)"),
        ));
    }
    req.context.open_remote(who, &join_remote(target, req.root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::kind::{OpenContext, Options, RemoteOpener};
    use std::sync::Mutex;

    /// Records what it was asked to open, and opens nothing.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl RemoteOpener for Recorder {
        fn open_remote(&self, remote: &str) -> Result<Arc<dyn Backend>> {
            self.0.lock().unwrap().push(remote.to_owned());
            Err(Error::new(ErrorKind::NotFound, "recorded"))
        }
    }

    fn open_with(remote: Option<&str>, root: &str) -> (Result<Arc<dyn Backend>>, Vec<String>) {
        let recorder = Arc::new(Recorder::default());
        let mut options = Options::from_pairs(&KIND, []);
        if let Some(r) = remote {
            options = options.with("remote", r);
        }
        let context = OpenContext {
            remotes: Some(recorder.clone()),
            ..OpenContext::default()
        };
        let got = (KIND.open)(&OpenRequest {
            options: &options,
            root,
            context: &context,
        });
        let asked = recorder.0.lock().unwrap().clone();
        (got, asked)
    }

    #[test]
    fn the_root_is_joined_below_the_aliased_remote() {
        assert_eq!(open_with(Some("other:dir"), "a/b").1, ["other:dir/a/b"]);
        assert_eq!(open_with(Some("other:"), "").1, ["other:"]);
        assert_eq!(open_with(Some("/data"), "x").1, ["/data/x"]);
    }

    #[test]
    fn an_empty_remote_is_a_config_error() {
        let (got, asked) = open_with(None, "");
        let err = got.err().expect("refused");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("empty remote"), "{err}");
        assert!(asked.is_empty());
    }
}
