//! `backend COMMAND remote: [args] [-o key=value]`: rclone's door to what one backend can
//! do that no other command covers. `help` and `features` are answered here for every
//! backend; any other command is the backend's own ([`Backend::commands`]).

use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;
use ferry_core::command::{self, CommandCall, CommandHelp, CommandOutput};
use ferry_core::Backend;

use crate::cmd::backend_features;
use crate::cmd::listing::go_escaped;
use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct BackendArgs {
    /// The command: help, features, or one the backend offers (see `backend help REMOTE:`)
    pub command: String,
    /// The remote (or, for help, a backend's name)
    pub remote: String,
    /// Arguments passed on to the command
    pub args: Vec<String>,
    /// Option in the form name=value or name
    #[arg(short = 'o', long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
    /// Always output in JSON format
    #[arg(long)]
    pub json: bool,
    /// Do a trial run with no permanent changes
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

pub async fn backend(a: &BackendArgs, g: &Globals) -> anyhow::Result<i32> {
    let failed = |why: String| fail(exit::ERROR, format!("Failed to backend: {why}"));
    if a.command == "help" {
        if let Some(kind) = crate::kinds::registry().get(&a.remote) {
            return show_help(kind.name, kind.commands).map_err(failed);
        }
    }
    let resolved = g.remotes.resolve(&a.remote)?;
    let kind = g.remotes.kind_of(&resolved)?;
    let backend = g.remotes.open(&a.remote)?;
    let out = match a.command.as_str() {
        "help" => return show_help(kind.name, backend.commands()).map_err(failed),
        "features" => {
            // Printed from the struct, whose fields keep rclone's order.
            let info = backend_features::info(&a.remote, &resolved, backend.as_ref()).await;
            println!("{}", json_text(&info));
            return Ok(exit::SUCCESS);
        }
        name => run(backend.as_ref(), call(a, name)).await.map_err(|e| {
            let code = match &e {
                Refusal::Unknown(_) => exit::ERROR,
                Refusal::Failed(_, e) => exit::code_for_kind(e.kind(), e.is_temporary()),
            };
            fail(code, format!("Failed to backend: {e}"))
        })?,
    };
    print(&out, a.json)?;
    Ok(exit::SUCCESS)
}

/// Why a backend's own command gave no answer.
#[derive(Debug)]
enum Refusal {
    /// The backend doesn't offer it (rclone's wording, which the user's scripts match).
    Unknown(String),
    /// It ran and failed.
    Failed(String, ferry_core::Error),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unknown(why) => f.write_str(why),
            Refusal::Failed(name, e) => write!(f, "command {name:?} failed: {e}"),
        }
    }
}

fn call(a: &BackendArgs, name: &str) -> CommandCall {
    CommandCall {
        name: name.to_owned(),
        args: a.args.clone(),
        opts: parse_options(&a.options),
        dry_run: a.dry_run,
    }
}

/// rclone's `-o`: `key=value`, or a bare `key` with the empty value.
fn parse_options(options: &[String]) -> BTreeMap<String, String> {
    options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (o.clone(), String::new()),
        })
        .collect()
}

async fn run(backend: &dyn Backend, call: CommandCall) -> Result<CommandOutput, Refusal> {
    let offered = backend.commands();
    if offered.is_empty() {
        return Err(Refusal::Unknown(format!(
            "{}: doesn't support backend commands",
            backend.describe()
        )));
    }
    if command::find(offered, &call.name).is_none() {
        return Err(Refusal::Unknown(format!(
            "{:?} command not found",
            call.name
        )));
    }
    backend
        .command(&call)
        .await
        .map_err(|e| Refusal::Failed(call.name.clone(), e))
}

/// Prints an answer as rclone does: text as lines, anything else (or everything, with
/// `--json`) as JSON indented with tabs, escaped as Go's encoder escapes.
fn print(out: &CommandOutput, json: bool) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match out {
        CommandOutput::Nothing if !json => {}
        CommandOutput::Text(t) if !json => writeln!(stdout, "{t}")?,
        CommandOutput::Lines(l) if !json => {
            for line in l {
                writeln!(stdout, "{line}")?;
            }
        }
        other => writeln!(stdout, "{}", json_text(&other.to_json()))?,
    }
    Ok(())
}

/// `value` as rclone's `backend` writes JSON: tab-indented, `&`, `<` and `>` escaped.
pub fn json_text(value: &impl serde::Serialize) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value.serialize(&mut ser).expect("JSON values serialize");
    go_escaped(&String::from_utf8(buf).expect("serde_json writes UTF-8"))
}

/// `backend help`: the backend's commands in rclone's layout, or the error rclone gives
/// for a backend without any.
fn show_help(kind: &str, commands: &[CommandHelp]) -> Result<i32, String> {
    if commands.is_empty() {
        return Err(format!("{kind} backend has no commands"));
    }
    let mut s = format!(
        "## Backend commands\n\nThe commands of the {kind} backend, run as\n\n\
         ```console\nferry backend COMMAND remote: [-o NAME=VALUE]... [ARGUMENTS]...\n```\n\n"
    );
    for c in commands {
        s += &format!("### {}\n\n{}\n\n", c.name, c.short);
        s += &format!(
            "```console\nferry backend {} remote: [options] [<arguments>+]\n```\n\n",
            c.name
        );
        if !c.long.is_empty() {
            s += &format!("{}\n\n", c.long);
        }
        if !c.opts.is_empty() {
            s += "Options:\n\n";
            let mut opts = c.opts.to_vec();
            opts.sort();
            for (k, v) in opts {
                s += &format!("- {k:?}: {v}\n");
            }
            s += "\n";
        }
    }
    print!("{s}");
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_with_and_without_values() {
        let o = parse_options(&["a=1".into(), "echo".into(), "b=x=y".into()]);
        assert_eq!(o["a"], "1");
        assert_eq!(o["echo"], "");
        assert_eq!(o["b"], "x=y");
    }

    #[test]
    fn json_is_tab_indented_and_escaped_as_go_does() {
        let v = serde_json::json!({"b": ["x&<y>"], "a": null});
        assert_eq!(
            json_text(&v),
            "{\n\t\"a\": null,\n\t\"b\": [\n\t\t\"x\\u0026\\u003cy\\u003e\"\n\t]\n}"
        );
    }
}
