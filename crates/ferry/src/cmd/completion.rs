//! `completion bash|zsh|fish|powershell` (also rclone's older name, `genautocomplete`),
//! and `help` (`help COMMAND`, `help flags`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::exit::{self, fail, USAGE};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: ShellArg,
    /// Where to write the script ("-" for standard output; default: the shell's
    /// system-wide completion directory, which usually needs root; PowerShell's goes to
    /// standard output)
    pub output_file: Option<String>,
}

fn default_path(shell: ShellArg) -> &'static str {
    match shell {
        ShellArg::Bash => "/etc/bash_completion.d/ferry",
        ShellArg::Zsh => "/usr/share/zsh/vendor-completions/_ferry",
        ShellArg::Fish => "/etc/fish/completions/ferry.fish",
        // As rclone: PowerShell has no system-wide directory; the profile loads it.
        ShellArg::Powershell => "-",
    }
}

pub fn completion(a: &CompletionArgs) -> anyhow::Result<i32> {
    let shell = match a.shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
    };
    let mut cmd = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ferry", &mut script);
    let target = a
        .output_file
        .clone()
        .unwrap_or_else(|| default_path(a.shell).to_owned());
    if target == "-" {
        use std::io::Write;
        std::io::stdout().write_all(&script)?;
        return Ok(exit::SUCCESS);
    }
    let path = PathBuf::from(&target);
    std::fs::write(&path, &script).map_err(|e| {
        fail(
            exit::ERROR,
            format!(
                "can't write the completion script to {}: {e}; give a writable file, or - for standard output",
                path.display()
            ),
        )
    })?;
    tracing::info!(
        "Wrote the {:?} completion script to {}",
        a.shell,
        path.display()
    );
    Ok(exit::SUCCESS)
}

#[derive(Args, Debug)]
pub struct HelpArgs {
    /// A command (or command path) to show help for, "flags" for every global flag,
    /// "backends" for the backends, or "backend NAME" for one backend's options
    pub topic: Vec<String>,
}

pub fn help(a: &HelpArgs) -> anyhow::Result<i32> {
    let mut cmd = crate::cli::command();
    match a.topic.first().map(String::as_str) {
        None => {
            cmd.print_long_help()?;
            Ok(exit::SUCCESS)
        }
        Some("flags") => {
            print!("{}", flags_text(a.topic.get(1).map(String::as_str)));
            Ok(exit::SUCCESS)
        }
        Some("backends") => {
            print!("{}", super::help_backend::list(crate::kinds::registry()));
            Ok(exit::SUCCESS)
        }
        Some("backend") => {
            let Some(name) = a.topic.get(1) else {
                return Err(fail(
                    USAGE,
                    "help backend needs a backend name: see `ferry help backends`",
                ));
            };
            print!(
                "{}",
                super::help_backend::one(crate::kinds::registry(), name)?
            );
            Ok(exit::SUCCESS)
        }
        Some(_) => {
            let mut sub = &mut cmd;
            for name in &a.topic {
                sub = sub.find_subcommand_mut(name).ok_or_else(|| {
                    fail(
                        USAGE,
                        format!("unknown help topic {name:?}: use a command name (see `ferry --help`), \"flags\", \"backends\" or \"backend NAME\""),
                    )
                })?;
            }
            let mut sub = sub.clone().bin_name(format!("ferry {}", a.topic.join(" ")));
            sub.print_long_help()?;
            Ok(exit::SUCCESS)
        }
    }
}

/// Every flag that works on every command (logging, local backend, config) and every
/// flag of the transfer commands, with defaults, grouped as rclone's `help flags` does.
pub fn flags_text(filter: Option<&str>) -> String {
    let root = crate::cli::command();
    let mut out = String::new();
    let mut section = |title: &str, args: Vec<&clap::Arg>| {
        let rows: Vec<(String, String)> = args
            .into_iter()
            .filter(|a| a.get_long().is_some() && !a.is_hide_set())
            .map(flag_row)
            .filter(|(f, h)| filter.is_none_or(|p| f.contains(p) || h.contains(p)))
            .collect();
        if rows.is_empty() {
            return;
        }
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        out.push_str(&format!("{title}:\n"));
        for (flag, help) in rows {
            out.push_str(&format!("  {flag:<width$}   {help}\n"));
        }
        out.push('\n');
    };
    section(
        "Global flags (any command)",
        root.get_arguments()
            .filter(|a| a.get_id() != "help" && a.get_id() != "version")
            .collect(),
    );
    if let Some(copy) = root.find_subcommand("copy") {
        let filter_ids: Vec<String> = <crate::args::FilterArgs as CommandFactoryArgs>::ids();
        let (filters, transfer): (Vec<&clap::Arg>, Vec<&clap::Arg>) = copy
            .get_arguments()
            .filter(|a| a.get_long().is_some() && !a.is_global_set() && a.get_id() != "help")
            .partition(|a| filter_ids.iter().any(|id| id == a.get_id().as_str()));
        section("Flags for copy, sync, move, copyto, moveto", transfer);
        section(
            "Filter flags (listing, hashing, delete and transfer commands)",
            filters,
        );
    }
    out
}

/// The ids of the arguments an `Args` struct defines.
trait CommandFactoryArgs {
    fn ids() -> Vec<String>;
}

impl<T: clap::Args> CommandFactoryArgs for T {
    fn ids() -> Vec<String> {
        T::augment_args(clap::Command::new("x"))
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect()
    }
}

pub(crate) fn flag_row(a: &clap::Arg) -> (String, String) {
    let short = a
        .get_short()
        .map_or("    ".to_owned(), |s| format!("-{s}, "));
    let long = a.get_long().unwrap_or_default();
    let is_switch = a.get_default_values() == ["false"]
        || matches!(
            a.get_action(),
            clap::ArgAction::SetTrue | clap::ArgAction::Count
        );
    let takes_value = !is_switch
        && matches!(
            a.get_action(),
            clap::ArgAction::Set | clap::ArgAction::Append
        );
    let value = if takes_value {
        let name = a
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .unwrap_or_else(|| "VALUE".to_owned());
        format!(" {name}")
    } else {
        String::new()
    };
    let mut help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_value && !help.contains("default") {
        let shown = if defaults.is_empty() || defaults.iter().all(String::is_empty) {
            "off".to_owned()
        } else {
            defaults.join(",")
        };
        help.push_str(&format!(" (default {shown})"));
    }
    if let Some(env) = a.get_env() {
        help.push_str(&format!(" [env {}]", env.to_string_lossy()));
    }
    (format!("{short}--{long}{value}"), help)
}
