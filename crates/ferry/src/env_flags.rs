//! rclone's environment variables for flags: any flag's default can be set by
//! `RCLONE_<FLAG>` (its long name upper-cased, `-` as `_`): `RCLONE_TRANSFERS=8`,
//! `RCLONE_DRY_RUN=true`, `RCLONE_VERBOSE=2`, `RCLONE_EXCLUDE="*.jpg,*.png"`. A flag's own
//! `FERRY_<FLAG>` variable, where it has one, wins over rclone's, and the command line over
//! both. As in rclone, a flag that may be given many times (`--exclude`) reads its variable
//! as one CSV record, one value a field, and `RCLONE_VERBOSE=N` counts as `-v` N times.
//!
//! Two steps around the parse: [`with_rclone_names`] points each flag at whichever of its
//! variables is set before parsing (clap reads it then); [`expand`] turns what clap could
//! only take as one value (a list, a count) into command-line flags for a second parse.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// A variable's value by name (the process environment, or a test's).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Flags whose variables are someone else's business: `RCLONE_CONFIG` is read where the
/// config file is found (with its own precedence), help and version are not settings.
const NOT_FROM_ENV: [&str; 3] = ["config", "help", "version"];

/// `cmd` and its subcommands with every flag reading the first of its variables that is
/// set: its own `FERRY_…` one, then rclone's `RCLONE_…`.
pub fn with_rclone_names(cmd: Command, env: Env) -> Command {
    cmd.mut_args(|a| point_at_env(a, env))
        .mut_subcommands(|c| with_rclone_names(c, env))
}

fn point_at_env(arg: Arg, env: Env) -> Arg {
    let Some(var) = rclone_var(&arg) else {
        return arg;
    };
    let own_set = arg
        .get_env()
        .and_then(|v| v.to_str())
        .is_some_and(|v| env(v).is_some());
    // A count can't be read from a variable by clap (it would count 1): see `expand`.
    if own_set || env(&var).is_none() || matches!(arg.get_action(), ArgAction::Count) {
        return arg;
    }
    // clap names variables with `'static` strings; a few bytes per variable the user set,
    // once per process.
    arg.env(&*Box::leak(var.into_boxed_str()))
}

/// `RCLONE_<LONG>` for a flag rclone would read from the environment.
fn rclone_var(arg: &Arg) -> Option<String> {
    let long = arg.get_long()?;
    if NOT_FROM_ENV.contains(&long) {
        return None;
    }
    Some(format!(
        "RCLONE_{}",
        long.replace('-', "_").to_ascii_uppercase()
    ))
}

/// The variable `arg` was read from, when clap took its value from one.
fn var_read(arg: &Arg, env: Env) -> Option<(String, OsString)> {
    let var = arg.get_env()?.to_str()?.to_owned();
    let value = env(&var)?;
    Some((var, value))
}

/// `argv` with what the variables said and clap took as one value (a list) or not at all
/// (a count) spelled out as flags; `None` when there is nothing of the kind.
pub fn expand(
    cmd: &Command,
    matches: &ArgMatches,
    argv: &[OsString],
    env: Env,
) -> Result<Option<Vec<OsString>>, String> {
    let mut flags: Vec<OsString> = Vec::new();
    let (mut cmd, mut m) = (cmd, matches);
    loop {
        for arg in cmd.get_arguments() {
            flags.extend(spelled_out(arg, m, env)?);
        }
        match m.subcommand() {
            Some((name, sub)) => match cmd.find_subcommand(name) {
                Some(c) => (cmd, m) = (c, sub),
                None => break,
            },
            None => break,
        }
    }
    if flags.is_empty() {
        return Ok(None);
    }
    // Before a `--`, after which everything is a positional argument.
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut out = argv[..at].to_vec();
    out.extend(flags);
    out.extend_from_slice(&argv[at..]);
    Ok(Some(out))
}

/// The flags standing for `arg`'s variable, when clap couldn't take it as it is.
fn spelled_out(arg: &Arg, m: &ArgMatches, env: Env) -> Result<Vec<OsString>, String> {
    let Some(long) = arg.get_long() else {
        return Ok(Vec::new());
    };
    let id = arg.get_id().as_str();
    match arg.get_action() {
        ArgAction::Count => {
            let given = m.try_get_one::<u8>(id).ok().flatten().copied().unwrap_or(0);
            if given > 0 {
                return Ok(Vec::new());
            }
            let Some(var) = rclone_var(arg) else {
                return Ok(Vec::new());
            };
            let Some(value) =
                env(&format!("FERRY_{}", &var["RCLONE_".len()..])).or_else(|| env(&var))
            else {
                return Ok(Vec::new());
            };
            let text = value.to_string_lossy();
            let n: u8 = text.trim().parse().map_err(|_| {
                format!(
                    "invalid value {text:?} in {var} for --{long}: expected a count such as 1 or 2"
                )
            })?;
            // One `-vv`: every flag overrides itself when repeated (`cli::repeatable`), so
            // `--verbose --verbose` would count 1.
            Ok(match (n, arg.get_short()) {
                (0, _) => Vec::new(),
                (n, Some(short)) => vec![format!("-{}", short.to_string().repeat(n.into())).into()],
                (_, None) => vec![format!("--{long}").into()],
            })
        }
        ArgAction::Append if m.value_source(id) == Some(ValueSource::EnvVariable) => {
            let Some((var, value)) = var_read(arg, env) else {
                return Ok(Vec::new());
            };
            let text = value
                .to_str()
                .ok_or_else(|| format!("{var} is not valid UTF-8"))?;
            let fields = ferry_core::kind::comma_separated(text)
                .map_err(|e| format!("invalid {var} for --{long}: {e}"))?;
            Ok(fields
                .into_iter()
                .map(|f| OsString::from(format!("--{long}={f}")))
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.into())
    }

    fn cmd() -> Command {
        Command::new("t")
            .arg(
                Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .action(ArgAction::Count)
                    .global(true),
            )
            .subcommand(
                Command::new("sync")
                    .arg(
                        Arg::new("transfers")
                            .long("transfers")
                            .env("FERRY_TRANSFERS"),
                    )
                    .arg(Arg::new("checkers").long("checkers"))
                    .arg(
                        Arg::new("exclude")
                            .long("exclude")
                            .action(ArgAction::Append)
                            .env("FERRY_EXCLUDE"),
                    )
                    .arg(Arg::new("config").long("config"))
                    .arg(Arg::new("paths").num_args(0..)),
            )
    }

    fn env_name(c: &Command, sub: &str, id: &str) -> Option<String> {
        let s = c.find_subcommand(sub).unwrap();
        let a = s.get_arguments().find(|a| a.get_id() == id).unwrap();
        a.get_env().map(|v| v.to_string_lossy().into_owned())
    }

    #[test]
    fn a_flag_reads_its_own_variable_first_then_rclones() {
        let env = env_of(&[
            ("RCLONE_TRANSFERS", "3"),
            ("RCLONE_CHECKERS", "5"),
            ("RCLONE_CONFIG", "/x"),
        ]);
        let c = with_rclone_names(cmd(), &env);
        assert_eq!(
            env_name(&c, "sync", "transfers").as_deref(),
            Some("RCLONE_TRANSFERS")
        );
        assert_eq!(
            env_name(&c, "sync", "checkers").as_deref(),
            Some("RCLONE_CHECKERS")
        );
        assert_eq!(
            env_name(&c, "sync", "config"),
            None,
            "RCLONE_CONFIG is the config's"
        );
        let env = env_of(&[("RCLONE_TRANSFERS", "3"), ("FERRY_TRANSFERS", "4")]);
        let c = with_rclone_names(cmd(), &env);
        assert_eq!(
            env_name(&c, "sync", "transfers").as_deref(),
            Some("FERRY_TRANSFERS")
        );
        assert_eq!(env_name(&c, "sync", "checkers"), None);
    }

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn lists_and_counts_from_variables_become_flags_unless_given() {
        let env = env_of(&[("FERRY_EXCLUDE", "*.jpg,\"b,c\""), ("RCLONE_VERBOSE", "2")]);
        let c = with_rclone_names(cmd(), &env);
        // clap reads FERRY_EXCLUDE from the process's environment, not the test's: the
        // list's expansion is tested end to end (tests/e2e/env_flags.rs).
        let given = argv(&["t", "sync", "--", "-v"]);
        let m = c.clone().try_get_matches_from(&given).unwrap();
        let out = expand(&c, &m, &given, &env).unwrap().unwrap();
        assert_eq!(out, argv(&["t", "sync", "-vv", "--", "-v"]));
        let given = argv(&["t", "-v", "sync"]);
        let m = c.clone().try_get_matches_from(&given).unwrap();
        assert_eq!(expand(&c, &m, &given, &env).unwrap(), None, "-v given");
        let bad = env_of(&[("RCLONE_VERBOSE", "lots")]);
        let given = argv(&["t", "sync"]);
        let m = c.clone().try_get_matches_from(&given).unwrap();
        let err = expand(&c, &m, &given, &bad).unwrap_err();
        assert!(
            err.contains("RCLONE_VERBOSE") && err.contains("--verbose"),
            "{err}"
        );
    }
}
