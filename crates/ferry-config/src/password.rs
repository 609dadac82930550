//! The password of an encrypted config, from where rclone takes it: the output of
//! `--password-command` if one was given, else `RCLONE_CONFIG_PASS` (or ferry's
//! `FERRY_CONFIG_PASS`). ferry never asks for it on the terminal.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `--password-command`, as its words.
static COMMAND: OnceLock<Vec<String>> = OnceLock::new();

/// Sets `--password-command` (its words: the program, then its arguments); once.
pub fn set_password_command(words: Vec<String>) {
    if !words.is_empty() {
        let _ = COMMAND.set(words);
    }
}

/// Where a password came from, for the error when it opens nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Command,
    Env,
}

impl Source {
    /// rclone's words when the password from here opens nothing.
    pub fn wrong(self) -> &'static str {
        match self {
            Source::Command => {
                "using --password-command derived password, unable to decrypt configuration"
            }
            Source::Env => "using RCLONE_CONFIG_PASS env password, unable to decrypt configuration",
        }
    }
}

/// The config password and where it came from; `Err`: why there is none.
pub fn config_password() -> Result<(String, Source), String> {
    if let Some(words) = COMMAND.get() {
        return run(words).and_then(checked).map(|p| (p, Source::Command));
    }
    for var in ["FERRY_CONFIG_PASS", "RCLONE_CONFIG_PASS"] {
        if let Some(p) = std::env::var(var).ok().filter(|p| !p.is_empty()) {
            return checked(p).map(|p| (p, Source::Env));
        }
    }
    Err(NO_PASSWORD.into())
}

/// rclone's words when no password was given (ferry never asks for one).
pub const NO_PASSWORD: &str = "unable to decrypt configuration and not allowed to ask for password - set RCLONE_CONFIG_PASS to your configuration password";

/// rclone's rule: a password of white space only is none.
fn checked(p: String) -> Result<String, String> {
    if p.trim().is_empty() {
        return Err("incorrect password: no characters in password".into());
    }
    Ok(p)
}

/// Runs the password command (no shell) and takes its output, less line endings.
fn run(words: &[String]) -> Result<String, String> {
    let out = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("password command failed: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(format!("password command failed: {}: {err}", out.status));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| "password command failed: its output is not UTF-8".to_owned())?;
    Ok(text.trim_matches(['\r', '\n']).to_owned())
}

/// rclone's space-separated list (`--password-command "pass show rclone"`): words split
/// on spaces, a word in double quotes kept whole (`""` inside is one quote).
pub fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return words;
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        word.push('"');
                    } else {
                        break;
                    }
                } else {
                    word.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_and_quotes_keep_one_whole() {
        assert_eq!(split_words("pass show rclone"), ["pass", "show", "rclone"]);
        assert_eq!(
            split_words(r#"sh -c "echo ""x y""""#),
            ["sh", "-c", "echo \"x y\""]
        );
        assert!(split_words("  ").is_empty());
    }
}
