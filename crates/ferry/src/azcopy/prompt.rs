//! `copy --overwrite=prompt`: azcopy's question before a file that exists at the
//! destination is replaced, asked on the terminal (text) or as a `Prompt` record whose
//! answer is read from standard input (json, as tools that drive azcopy answer it).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use ferry_engine::{Answer, Confirm};

use super::cli::OutputType;
use super::output::Printer;
use super::paths::AzPath;

/// Asks once per conflict, remembering "for all" answers.
pub struct OverwritePrompt {
    printer: Printer,
    /// The destination as the prompt names it (no SAS).
    dst: AzPath,
    /// `Some(true)`: overwrite everything from now on; `Some(false)`: nothing.
    all: Mutex<Option<bool>>,
}

impl OverwritePrompt {
    /// Text output needs a terminal to answer on; json reads answers from stdin.
    pub fn new(printer: &Printer, dst: AzPath) -> anyhow::Result<OverwritePrompt> {
        if printer.kind == OutputType::Text && !std::io::stdin().is_terminal() {
            anyhow::bail!("--overwrite=prompt needs a terminal to answer on (or --output-type json, which reads the answers from standard input): use true, false or ifSourceNewer here");
        }
        Ok(OverwritePrompt {
            printer: Printer {
                kind: printer.kind,
                quiet: printer.quiet,
            },
            dst,
            all: Mutex::new(None),
        })
    }

    fn ask(&self, target: &str) -> Option<char> {
        let question =
            format!("{target} already exists at the destination. Do you wish to overwrite?");
        if self.printer.kind == OutputType::Json {
            self.printer.prompt(&question, target);
        } else {
            let mut out = std::io::stdout().lock();
            let _ = write!(
                out,
                "{question} Please confirm with: [Y] Yes  [N] No  [A] Yes for all  [L] No for all "
            );
            let _ = out.flush();
        }
        loop {
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            match line.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => return Some('y'),
                "n" | "no" => return Some('n'),
                "a" => return Some('a'),
                "l" => return Some('l'),
                _ => {}
            }
        }
    }
}

impl Confirm for OverwritePrompt {
    fn confirm(&self, operation: &str, path: &str) -> Answer {
        if operation != "copy" && operation != "move" {
            return Answer::Yes;
        }
        // One question at a time; the lock also holds the "for all" answer.
        let mut all = self.all.lock().expect("prompt lock");
        let yes = match *all {
            Some(a) => a,
            None => {
                let target = self.dst.join(path).base;
                match self.ask(&target) {
                    Some('y') => {
                        self.printer
                            .info(&format!("Confirmed. {target} will be overwritten."));
                        true
                    }
                    Some('a') => {
                        self.printer
                            .info("Confirmed. All future file conflicts will be overwritten.");
                        *all = Some(true);
                        true
                    }
                    Some('l') | None => {
                        self.printer
                            .info("No file will be overwritten from now onwards.");
                        *all = Some(false);
                        false
                    }
                    _ => {
                        self.printer.info(&format!("{target} will be skipped"));
                        false
                    }
                }
            }
        };
        // A file kept is counted as skipped, as azcopy counts it.
        if yes {
            Answer::Yes
        } else {
            Answer::No
        }
    }
}
