//! Backend-specific commands (rclone's `backend COMMAND remote: [args] -o key=value`): what
//! a backend declares it offers, how a call reaches it, and what it answers.
//!
//! The binary only routes: it finds the command in the backend's list, passes the call
//! through [`Backend::command`](crate::Backend::command) and prints the answer. What a
//! command does is the backend's own business.

use std::collections::BTreeMap;

/// One command a backend offers, as `backend help` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    /// What the user types (`list-multipart-uploads`).
    pub name: &'static str,
    /// One line saying what it does.
    pub short: &'static str,
    /// A longer explanation, with examples; may be empty.
    pub long: &'static str,
    /// The `-o` options it reads, with what each means.
    pub opts: &'static [(&'static str, &'static str)],
}

/// The commands in `list` called `name`.
pub fn find<'a>(list: &'a [CommandHelp], name: &str) -> Option<&'a CommandHelp> {
    list.iter().find(|c| c.name == name)
}

/// One call of a command.
#[derive(Debug, Clone, Default)]
pub struct CommandCall {
    /// Which command.
    pub name: String,
    /// The arguments after the remote, in order.
    pub args: Vec<String>,
    /// The `-o key=value` options (a bare `-o key` has the empty value).
    pub opts: BTreeMap<String, String>,
    /// `--dry-run`: a command that would change something only says what.
    pub dry_run: bool,
}

impl CommandCall {
    /// The value of option `key`, if given.
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.opts.get(key).map(String::as_str)
    }

    /// Whether option `key` was given, with or without a value.
    pub fn has(&self, key: &str) -> bool {
        self.opts.contains_key(key)
    }
}

/// What a command answers: printed as text when it is text, else as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandOutput {
    /// Nothing to show.
    Nothing,
    /// One line of text.
    Text(String),
    /// Several lines, one each.
    Lines(Vec<String>),
    /// Anything else, shown as indented JSON.
    Json(serde_json::Value),
}

impl CommandOutput {
    /// The answer as JSON (`--json`): text becomes a JSON string, lines a list.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CommandOutput::Nothing => serde_json::Value::Null,
            CommandOutput::Text(t) => serde_json::Value::String(t.clone()),
            CommandOutput::Lines(l) => l.clone().into(),
            CommandOutput::Json(v) => v.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_json_as_rclone_encodes_them() {
        assert_eq!(CommandOutput::Nothing.to_json().to_string(), "null");
        assert_eq!(
            CommandOutput::Text("a".into()).to_json().to_string(),
            "\"a\""
        );
        let lines = CommandOutput::Lines(vec!["a".into(), "b".into()]);
        assert_eq!(lines.to_json().to_string(), "[\"a\",\"b\"]");
    }

    #[test]
    fn calls_read_options_with_and_without_values() {
        let mut c = CommandCall::default();
        c.opts.insert("echo".into(), String::new());
        c.opts.insert("max-age".into(), "2h".into());
        assert!(c.has("echo") && c.opt("echo") == Some(""));
        assert_eq!(c.opt("max-age"), Some("2h"));
        assert!(!c.has("other"));
        let list = [CommandHelp {
            name: "noop",
            short: "",
            long: "",
            opts: &[],
        }];
        assert!(find(&list, "noop").is_some() && find(&list, "nope").is_none());
    }
}
