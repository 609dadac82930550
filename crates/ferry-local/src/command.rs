//! The local backend's own commands (`backend noop /path`): one that does nothing, so
//! that scripts and tests can check how backend commands are called.

use ferry_core::command::{CommandCall, CommandHelp, CommandOutput};
use ferry_core::{Error, ErrorKind, Result};

/// What `backend help local` lists.
pub static COMMANDS: [CommandHelp; 1] = [CommandHelp {
    name: "noop",
    short: "Does nothing: a command to try how backend commands are called.",
    long: "With -o echo it answers with its name, arguments and options; with -o error=TEXT \
           it fails with TEXT.",
    opts: &[
        (
            "echo",
            "Answer with the command's name, arguments and options.",
        ),
        (
            "error",
            "Fail with this message (or \"unspecified error\").",
        ),
    ],
}];

pub fn run(call: &CommandCall) -> Result<CommandOutput> {
    if let Some(text) = call.opt("error") {
        let text = if text.is_empty() {
            "unspecified error"
        } else {
            text
        };
        return Err(Error::new(ErrorKind::Io, text));
    }
    if !call.has("echo") {
        return Ok(CommandOutput::Nothing);
    }
    Ok(CommandOutput::Json(serde_json::json!({
        "name": call.name,
        "arg": call.args,
        "opt": call.opts,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(opts: &[(&str, &str)]) -> CommandCall {
        CommandCall {
            name: "noop".into(),
            args: vec!["a".into()],
            opts: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dry_run: false,
        }
    }

    #[test]
    fn noop_echoes_fails_or_says_nothing() {
        assert_eq!(run(&call(&[])).unwrap(), CommandOutput::Nothing);
        let CommandOutput::Json(v) = run(&call(&[("echo", ""), ("x", "1")])).unwrap() else {
            panic!("echo answers in JSON");
        };
        assert_eq!(v["arg"][0], "a");
        assert_eq!(v["opt"]["x"], "1");
        assert_eq!(
            run(&call(&[("error", "boom")])).unwrap_err().message(),
            "boom"
        );
        let e = run(&call(&[("error", "")])).unwrap_err();
        assert_eq!(e.message(), "unspecified error");
    }
}
