//! rclone's boolean flags: `--flag` alone is true, `--flag=true` / `--flag=false` (or any
//! of ferry-core's one set of boolean words) say it outright, and the flag's environment
//! variable takes the same words. Fields are declared as plain `bool` (or `Option<bool>`)
//! flags; [`rclone_forms`] gives every one of them this form once, on the built command,
//! so no flag can miss it (`ferry delete --dry-run=false` was once refused) and no flag
//! carries six attributes of its own.

use std::any::TypeId;
use std::ffi::OsStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Arg, ArgAction, Command};

/// `cmd` and all its subcommands, with every boolean flag in rclone's form.
pub fn rclone_forms(cmd: Command) -> Command {
    cmd.mut_args(rclone_form).mut_subcommands(rclone_forms)
}

/// A boolean flag (a plain `bool` switch, or an `Option<bool>` value) in rclone's form;
/// any other argument as it is. A switch's default is false unless it declares its own
/// (`lsf --dir-slash` is on by default); an `Option<bool>` stays unset unless given.
fn rclone_form(arg: Arg) -> Arg {
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    let bool_value = matches!(arg.get_action(), ArgAction::Set)
        && arg.get_value_parser().type_id() == TypeId::of::<bool>();
    if !(switch || bool_value) {
        return arg;
    }
    let needs_default = switch && arg.get_default_values().is_empty();
    let arg = arg
        .action(ArgAction::Set)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .value_parser(RcloneBool);
    if needs_default {
        arg.default_value("false")
    } else {
        arg
    }
}

/// The value parser of boolean flags: ferry-core's [`ferry_core::units::parse_bool`],
/// offering `true` and `false` to help and completion.
#[derive(Clone, Copy, Debug)]
struct RcloneBool;

impl TypedValueParser for RcloneBool {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<bool, clap::Error> {
        // A function parser, so clap words the error as for every other flag
        // ("invalid value 'maybe' for '--checksum[=<CHECKSUM>]': value was not a boolean").
        let words = |s: &str| ferry_core::units::parse_bool(s).ok_or("value was not a boolean");
        words.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            ["true", "false"].into_iter().map(PossibleValue::new),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches};

    #[derive(Args, Debug)]
    struct Flags {
        /// A plain switch
        #[arg(short = 'c', long, env = "FERRY_TEST_BOOL_FLAGS_CHECKSUM")]
        checksum: bool,
        /// On unless turned off
        #[arg(long, default_value = "true")]
        slash: bool,
        /// Unset unless given
        #[arg(long)]
        tri: Option<bool>,
        #[arg(short = 'v', action = ArgAction::Count)]
        verbose: u8,
        #[arg(long)]
        name: Option<String>,
        path: Option<String>,
    }

    fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
        let cmd = rclone_forms(Flags::augment_args(Command::new("t"))).args_override_self(true);
        let m = cmd.try_get_matches_from(std::iter::once("t").chain(args.iter().copied()))?;
        Flags::from_arg_matches(&m)
    }

    #[test]
    fn switches_take_rclones_forms() {
        let f = parse(&[]).unwrap();
        assert!(!f.checksum && f.slash && f.tri.is_none());
        assert!(parse(&["--checksum"]).unwrap().checksum);
        assert!(parse(&["--checksum=true"]).unwrap().checksum);
        assert!(parse(&["--checksum=T"]).unwrap().checksum);
        assert!(!parse(&["--checksum=false"]).unwrap().checksum);
        assert!(!parse(&["--slash=false"]).unwrap().slash);
        assert_eq!(parse(&["--tri"]).unwrap().tri, Some(true));
        assert_eq!(parse(&["--tri=0"]).unwrap().tri, Some(false));
        // Repeated (the last wins), and combined short flags.
        assert!(!parse(&["--checksum", "--checksum=false"]).unwrap().checksum);
        let f = parse(&["-cvv"]).unwrap();
        assert!(f.checksum && f.verbose == 2);
        // A value needs `=`: the next word is the path.
        let f = parse(&["--checksum", "false"]).unwrap();
        assert!(f.checksum && f.path.as_deref() == Some("false"));
    }

    #[test]
    fn a_bad_word_names_the_flag() {
        let e = parse(&["--checksum=maybe"]).unwrap_err().to_string();
        assert!(
            e.contains(
                "invalid value 'maybe' for '--checksum[=<CHECKSUM>]': value was not a boolean"
            ),
            "{e}"
        );
        assert_eq!(
            parse(&["--checksum=maybe"]).unwrap_err().exit_code(),
            2,
            "a usage error"
        );
    }

    #[test]
    fn other_arguments_are_left_alone() {
        let cmd = rclone_forms(Flags::augment_args(Command::new("t")));
        let name = cmd.get_arguments().find(|a| a.get_id() == "name").unwrap();
        assert!(!name.is_require_equals_set());
        let v = cmd
            .get_arguments()
            .find(|a| a.get_id() == "verbose")
            .unwrap();
        assert!(matches!(v.get_action(), ArgAction::Count));
    }
}
