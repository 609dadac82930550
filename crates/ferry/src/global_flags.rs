//! rclone accepts every global flag on every command (`rclone ls --transfers 8 X`,
//! `rclone check --checksum A B`). ferry defines its transfer and filter flags on the
//! commands that use them; given to another command, such a flag is checked by the
//! transfer commands' own parser, then ignored (said at `-vv`), unless it asks a command
//! that writes not to ([`Parsed::check_safety`]). A flag rclone has and ferry lacks is
//! named as not supported yet, instead of clap's "unexpected argument".

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
    /// An ignored flag asking not to change anything (`dry-run`, `interactive`).
    ignored_safety: Option<String>,
}

impl Parsed {
    /// A command that writes must never ignore a request not to: refused before anything
    /// is done, unless the command changes nothing anyway.
    pub fn check_safety(&self, changes_nothing: bool) -> Result<(), Failed> {
        match &self.ignored_safety {
            Some(name) if !changes_nothing => Err(Failed::NotSupported(format!(
                "--{name} is not supported by this command yet; nothing was done"
            ))),
            _ => Ok(()),
        }
    }
}

/// How parsing failed: clap's own error, or a flag ferry doesn't implement yet.
pub enum Failed {
    Clap(clap::Error),
    NotSupported(String),
}

/// Parses `argv` with `cmd`.
pub fn parse(cmd: Command, mut argv: Vec<OsString>) -> Result<Parsed, Failed> {
    let mut ignored = Vec::new();
    let mut ignored_safety = None;
    loop {
        let err = match cmd.clone().try_get_matches_from(&argv) {
            Ok(matches) => {
                return Ok(Parsed {
                    matches,
                    ignored,
                    ignored_safety,
                })
            }
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
        if SAFETY_FLAGS.contains(&name) {
            ignored_safety = Some(name.to_owned());
        }
        match take_reference_flag(&cmd, &mut argv, &bad, name) {
            Some((taken, false)) => {
                check_value(&cmd, &taken)?;
                ignored.push(lossy(&taken));
            }
            Some((taken, true)) => {
                check_switch(&taken)?;
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

/// Flags that ask a command not to change anything (or to ask first), or change what it
/// writes where (`--name-transform`): a command that writes must not ignore them.
const SAFETY_FLAGS: [&str; 3] = ["dry-run", "interactive", "name-transform"];

fn invalid_arg(err: &clap::Error) -> Option<String> {
    match err.get(ContextKind::InvalidArg)? {
        ContextValue::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Removes `--name[=value]` (and its separate value, if the flag takes one) from `argv`,
/// when the reference command defines `--name`, or, for a switch among rclone's global
/// flags that ferry defines only where it acts (`--human-readable` on the listings), any
/// command. The bool says which: `true` for such a borrowed switch.
fn take_reference_flag(
    cmd: &Command,
    argv: &mut Vec<OsString>,
    bad: &str,
    name: &str,
) -> Option<(Vec<OsString>, bool)> {
    let defines = |c: &Command| {
        c.get_arguments()
            .find(|a| a.get_long() == Some(name))
            .cloned()
    };
    let reference = cmd.find_subcommand(REFERENCE)?;
    let (arg, borrowed) = match defines(reference) {
        Some(arg) => (arg, false),
        None if RCLONE_GLOBAL.lines().any(|f| f == name) => {
            // Built, so the flag's arity is resolved.
            let mut built = cmd.clone();
            built.build();
            let arg = built.get_subcommands().find_map(defines)?;
            // A switch: no value, or (ferry's booleans, rclone's `--flag=false`) an optional one.
            let optional = arg.get_num_args().is_some_and(|r| r.min_values() == 0);
            if arg.get_action().takes_values() && !optional {
                return None;
            }
            (arg, true)
        }
        None => return None,
    };
    let at = argv.iter().skip(1).position(|a| {
        a.to_str()
            .is_some_and(|s| s == bad || s.starts_with(&format!("--{name}=")))
    })? + 1;
    let inline = argv[at].to_str().is_some_and(|s| s.contains('='));
    let min_values = arg.get_num_args().map_or(1, |r| r.min_values());
    let needs_value = arg.get_action().takes_values() && min_values > 0 && !inline;
    let end = if needs_value { at + 2 } else { at + 1 }.min(argv.len());
    Some((argv.drain(at..end).collect(), borrowed))
}

/// A borrowed switch's `=value`, checked as every boolean flag is.
fn check_switch(flag: &[OsString]) -> Result<(), Failed> {
    let text = lossy(flag);
    match text.split_once('=') {
        Some((name, v)) if ferry_core::units::parse_bool(v).is_none() => Err(Failed::NotSupported(
            format!("invalid value {v:?} for {name}: use true or false"),
        )),
        _ => Ok(()),
    }
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
