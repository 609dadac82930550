//! rclone accepts every global flag on every command (`rclone ls --transfers 8 X`,
//! `rclone check --checksum A B`) and a repeated flag (`--checksum --checksum`). ferry
//! defines its transfer and filter flags on the commands that use them; given to another
//! command, such a flag is checked by the transfer commands' own parser, then ignored
//! (said at `-vv`). A flag rclone has and ferry lacks is named as not supported yet,
//! instead of clap's "unexpected argument".

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Command};

/// rclone 1.75's global flags (backend flags excluded), by long name.
const RCLONE_GLOBAL: &str = include_str!("rclone_global_flags.txt");

/// The command whose flag set stands for "every global flag ferry implements".
const REFERENCE: &str = "sync";

/// What parsing gave: the matches, and the flags accepted but ignored for this command.
pub struct Parsed {
    pub matches: ArgMatches,
    pub ignored: Vec<String>,
}

/// How parsing failed: clap's own error, or a flag ferry doesn't implement yet.
pub enum Failed {
    Clap(clap::Error),
    NotSupported(String),
}

/// Parses `argv` with `cmd` (each flag may be repeated; the last one wins).
pub fn parse(cmd: Command, mut argv: Vec<OsString>) -> Result<Parsed, Failed> {
    let cmd = repeatable(cmd);
    let mut ignored = Vec::new();
    loop {
        let err = match cmd.clone().try_get_matches_from(&argv) {
            Ok(matches) => return Ok(Parsed { matches, ignored }),
            Err(e) if e.kind() == ErrorKind::UnknownArgument => e,
            Err(e) => return Err(Failed::Clap(e)),
        };
        let Some(bad) = invalid_arg(&err) else {
            return Err(Failed::Clap(err));
        };
        let Some(name) = bad
            .strip_prefix("--")
            .map(|b| b.split('=').next().unwrap_or(b))
        else {
            return Err(Failed::Clap(err));
        };
        if SAFETY_FLAGS.contains(&name) && !is_read_only(&cmd, &argv) {
            // A command that writes must never ignore a request not to.
            return Err(Failed::NotSupported(format!(
                "--{name} is not supported by this command yet; nothing was done"
            )));
        }
        match take_reference_flag(&cmd, &mut argv, &bad, name) {
            Some(taken) => {
                check_value(&cmd, &taken)?;
                ignored.push(lossy(&taken));
            }
            None if RCLONE_GLOBAL.lines().any(|f| f == name) => {
                return Err(Failed::NotSupported(format!(
                    "--{name} is not supported yet"
                )))
            }
            None => return Err(Failed::Clap(err)),
        }
    }
}

/// Flags that ask a command not to change anything (or to ask first).
const SAFETY_FLAGS: [&str; 2] = ["dry-run", "interactive"];

/// Commands that change nothing anywhere: a flag they don't use is harmless to ignore.
const READ_ONLY: [&str; 17] = [
    "ls",
    "lsl",
    "lsd",
    "lsf",
    "lsjson",
    "tree",
    "md5sum",
    "sha1sum",
    "hashsum",
    "size",
    "cat",
    "check",
    "version",
    "listremotes",
    "obscure",
    "reveal",
    "help",
];

fn is_read_only(cmd: &Command, argv: &[OsString]) -> bool {
    let sub = argv.iter().skip(1).find_map(|a| {
        let a = a.to_str()?;
        cmd.find_subcommand(a).map(|s| s.get_name().to_owned())
    });
    sub.is_some_and(|s| READ_ONLY.contains(&s.as_str()))
}

/// Every command, and each of its subcommands, takes a repeated flag (the last wins).
fn repeatable(cmd: Command) -> Command {
    let mut cmd = cmd.args_override_self(true);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for n in names {
        cmd = cmd.mut_subcommand(n, |s| s.args_override_self(true));
    }
    cmd
}

fn invalid_arg(err: &clap::Error) -> Option<String> {
    match err.get(ContextKind::InvalidArg)? {
        ContextValue::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Removes `--name[=value]` (and its separate value, if the reference command's flag takes
/// one) from `argv`, when the reference command defines `--name`.
fn take_reference_flag(
    cmd: &Command,
    argv: &mut Vec<OsString>,
    bad: &str,
    name: &str,
) -> Option<Vec<OsString>> {
    let reference = cmd.find_subcommand(REFERENCE)?;
    let arg = reference
        .get_arguments()
        .find(|a| a.get_long() == Some(name))?;
    let at = argv.iter().skip(1).position(|a| {
        a.to_str()
            .is_some_and(|s| s == bad || s.starts_with(&format!("--{name}=")))
    })? + 1;
    let inline = argv[at].to_str().is_some_and(|s| s.contains('='));
    let min_values = arg.get_num_args().map_or(1, |r| r.min_values());
    let needs_value = arg.get_action().takes_values() && min_values > 0 && !inline;
    let end = if needs_value { at + 2 } else { at + 1 }.min(argv.len());
    Some(argv.drain(at..end).collect())
}

/// The flag's value is checked as the reference command would check it.
fn check_value(cmd: &Command, flag: &[OsString]) -> Result<(), Failed> {
    let mut probe: Vec<OsString> = ["ferry", REFERENCE, "/ferry-check/a", "/ferry-check/b"]
        .iter()
        .map(OsString::from)
        .collect();
    probe.extend(flag.iter().cloned());
    cmd.clone()
        .try_get_matches_from(probe)
        .map(|_| ())
        .map_err(Failed::Clap)
}

fn lossy(parts: &[OsString]) -> String {
    parts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
