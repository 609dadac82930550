//! crypt's own commands: a name's encrypted form and back (`backend encode crypt: NAME`),
//! without listing anything.

use ferry_core::command::{CommandCall, CommandHelp, CommandOutput};
use ferry_core::{Error, ErrorKind, Result};

use crate::names::NameCipher;

/// What `backend help crypt` lists.
pub static COMMANDS: [CommandHelp; 2] = [
    CommandHelp {
        name: "encode",
        short: "Prints the encrypted form of each name given.",
        long: "Each argument is a path below the crypt remote; its encrypted path in the \
               wrapped remote is printed on a line of its own.\n\n\
               ```console\nferry backend encode secret: file1 dir/file2\n```",
        opts: &[],
    },
    CommandHelp {
        name: "decode",
        short: "Prints the plain form of each encrypted name given.",
        long: "Each argument is an encrypted path as the wrapped remote lists it; its plain \
               path is printed on a line of its own. A name that doesn't decrypt fails the \
               command.\n\n\
               ```console\nferry backend decode secret: ENCRYPTED1 ENCRYPTED2\n```",
        opts: &[],
    },
];

pub fn run(names: &NameCipher, call: &CommandCall) -> Result<CommandOutput> {
    let out = match call.name.as_str() {
        "encode" => call.args.iter().map(|n| names.encrypt_file(n)).collect(),
        "decode" => call
            .args
            .iter()
            .map(|n| {
                names
                    .decrypt_file(n)
                    .map_err(|e| Error::new(ErrorKind::Io, format!("failed to decrypt: {n}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?,
        other => {
            return Err(Error::unsupported(format!("{other:?} command not found")));
        }
    };
    Ok(CommandOutput::Lines(out))
}
