//! `--interactive`: rclone's question before each destructive step.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use ferry_engine::{Answer, Confirm};

use crate::exit::{self, fail};

/// Asks on the terminal; remembers "skip all" and "do all" per kind of operation.
pub struct TerminalConfirm {
    remembered: Mutex<HashMap<String, bool>>,
}

impl TerminalConfirm {
    /// Refuses to start when there is no terminal to ask on (rather than hanging). Exit 1,
    /// rclone's code there (it asks, then fails reading the answer).
    pub fn new() -> anyhow::Result<Self> {
        if !std::io::stdin().is_terminal() {
            return Err(fail(
                exit::ERROR,
                "--interactive needs a terminal to ask on, and stdin is not one: run from a terminal, or use --dry-run to see what would change",
            ));
        }
        Ok(TerminalConfirm {
            remembered: Mutex::new(HashMap::new()),
        })
    }
}

impl Confirm for TerminalConfirm {
    fn confirm(&self, operation: &str, path: &str) -> Answer {
        let path = ferry_core::shown::name(path);
        let mut remembered = self.remembered.lock().expect("prompt lock");
        if let Some(&all) = remembered.get(operation) {
            return if all { Answer::Yes } else { Answer::No };
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "ferry: {operation} \"{path}\"?\n\
             y) Yes, this is OK (default)\n\
             n) No, skip this\n\
             s) Skip all {operation} operations with no more questions\n\
             !) Do all {operation} operations with no more questions\n\
             q) Exit ferry now.\n\
             y/n/s/!/q> "
        );
        let _ = err.flush();
        loop {
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
                return Answer::Quit;
            }
            match line.trim() {
                "" | "y" | "Y" => return Answer::Yes,
                "n" | "N" => return Answer::No,
                "s" | "S" => {
                    remembered.insert(operation.to_owned(), false);
                    return Answer::No;
                }
                "!" => {
                    remembered.insert(operation.to_owned(), true);
                    return Answer::Yes;
                }
                "q" | "Q" => return Answer::Quit,
                _ => {
                    let _ = write!(err, "Please answer y, n, s, ! or q.\ny/n/s/!/q> ");
                    let _ = err.flush();
                }
            }
        }
    }
}
