//! `config`, `listremotes`, `obscure` and `reveal`.

use std::io::{BufRead, IsTerminal, Read, Write};

use clap::{Args, Subcommand};
use ferry_config::{ConfigFile, ObscureMode, RemoteSource};

use crate::exit::{fail, ERROR, SUCCESS, USAGE};
use crate::Globals;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

/// The flags `config create` and `config update` share, as rclone's.
#[derive(Args, Debug)]
pub struct CreateFlags {
    /// Force any passwords to be obscured
    #[arg(long)]
    pub obscure: bool,
    /// Force any passwords not to be obscured
    #[arg(long)]
    pub no_obscure: bool,
    /// Don't interact with user and return questions (ferry has none left to ask: the
    /// answer says the configuration is done)
    #[arg(long)]
    pub non_interactive: bool,
    /// Don't provide any output
    #[arg(long)]
    pub no_output: bool,
    /// Ask the full set of config questions (refused: give the options as KEY VALUE)
    #[arg(long)]
    pub all: bool,
    /// Continue the configuration process with an answer (refused: ferry asks no questions)
    #[arg(long = "continue")]
    pub continue_: bool,
    /// State - use with --continue
    #[arg(long)]
    pub state: Option<String>,
    /// Result - use with --continue
    #[arg(long)]
    pub result: Option<String>,
}

impl CreateFlags {
    /// rclone's question-and-answer flags, which need questions ferry never asks.
    fn refuse_questions(&self) -> anyhow::Result<()> {
        let asked = match (self.all, self.continue_, &self.state, &self.result) {
            (true, ..) => "--all",
            (_, true, ..) => "--continue",
            (_, _, Some(_), _) => "--state",
            (_, _, _, Some(_)) => "--result",
            _ => return Ok(()),
        };
        Err(fail(
            USAGE,
            format!(
                "{asked}: ferry's backends ask no configuration questions to answer one by one; give every option as KEY VALUE (or KEY=VALUE), or run `ferry config` for the interactive session"
            ),
        ))
    }

    /// What create and update print: rclone's answer to `--non-interactive` (no question
    /// left), nothing with `--no-output`, else the remote as stored, secrets hidden.
    fn print_result(&self, section: impl FnOnce() -> anyhow::Result<String>) -> anyhow::Result<()> {
        if self.no_output {
            return Ok(());
        }
        if self.non_interactive {
            println!("{{\n\t\"State\": \"\",\n\t\"Option\": null,\n\t\"Error\": \"\",\n\t\"Result\": \"\"\n}}");
            return Ok(());
        }
        print!("{}", section()?);
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Create a new remote: NAME TYPE [KEY VALUE]... (or KEY=VALUE)
    Create {
        name: String,
        #[arg(value_name = "TYPE")]
        kind: String,
        #[arg(value_name = "KEY VALUE")]
        pairs: Vec<String>,
        #[command(flatten)]
        flags: CreateFlags,
    },
    /// Update options of an existing remote: NAME [KEY VALUE]...
    Update {
        name: String,
        #[arg(value_name = "KEY VALUE")]
        pairs: Vec<String>,
        #[command(flatten)]
        flags: CreateFlags,
    },
    /// Delete an existing remote
    Delete { name: String },
    /// Unset options in an existing remote: NAME KEY... (the keys removed from the file; the type can't be)
    Unset {
        name: String,
        #[arg(value_name = "KEY", required = true)]
        keys: Vec<String>,
    },
    /// Print connection string for a single remote: its options that aren't defaults, backend flags included
    String {
        #[arg(value_name = "REMOTE")]
        remote: String,
        /// Include secret values as stored (obscured); hidden otherwise
        #[arg(long)]
        reveal: bool,
    },
    /// Ensure configuration file exists
    Touch,
    /// Enter an interactive configuration session (as `config` alone)
    Edit,
    /// Set, remove and check the encryption for the config file
    Encryption {
        #[command(subcommand)]
        action: EncryptionAction,
    },
    /// Print (decrypted) config file, or the config for a single remote; secrets are hidden
    Show {
        name: Option<String>,
        /// Show secrets as stored (obscured), instead of hiding them
        #[arg(long)]
        reveal: bool,
    },
    /// Dump the config file as JSON
    Dump,
    /// Update password in an existing remote: NAME [KEY VALUE]... (values given in clear, stored obscured)
    Password {
        name: String,
        #[arg(value_name = "KEY VALUE")]
        pairs: Vec<String>,
    },
    /// Print the config file (or one remote) with its secret and sensitive values hidden, for bug reports
    Redacted { name: Option<String> },
    /// Show path of configuration file in use
    File,
    /// List in JSON format all the providers and options
    Providers,
    /// Show paths used for configuration, cache and temp files
    Paths,
}

#[derive(Args, Debug)]
pub struct ListremotesArgs {
    /// Only remotes whose name, type, source or description matches this glob
    pub filter: Option<String>,
    /// Show the type and the description as well as names
    #[arg(long)]
    pub long: bool,
    /// Format output as JSON
    #[arg(long)]
    pub json: bool,
    /// Filter remotes by name
    #[arg(long)]
    pub name: Option<String>,
    /// Filter remotes by type
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Filter remotes by source, e.g. 'file' or 'environment'
    #[arg(long)]
    pub source: Option<String>,
    /// Filter remotes by description
    #[arg(long)]
    pub description: Option<String>,
    /// Match filter strings exactly instead of using non-anchored glob matching
    #[arg(long)]
    pub exact: bool,
}

#[derive(Args, Debug)]
pub struct ObscureArgs {
    /// The password to obscure; "-" reads it from stdin (rclone's form; it is required,
    /// as in rclone, so a script that forgot it fails instead of waiting on stdin)
    pub password: String,
}

#[derive(Args, Debug)]
pub struct RevealArgs {
    #[arg(allow_hyphen_values = true)]
    pub obscured: String,
}

/// `config encryption`: the file's encryption, with rclone's password sources.
#[derive(Subcommand, Debug)]
pub enum EncryptionAction {
    /// Encrypt the config file with the password from --password-command or
    /// RCLONE_CONFIG_PASS (ferry never prompts)
    Set,
    /// Remove the config file's encryption (it is written plain)
    Remove,
    /// Check that the config file is encrypted and opens with the password given
    Check,
}

fn encryption(action: &EncryptionAction, g: &Globals) -> anyhow::Result<i32> {
    match action {
        EncryptionAction::Check => {
            if !g.remotes.config()?.is_encrypted() {
                return Err(fail(USAGE, "config file is NOT encrypted"));
            }
        }
        EncryptionAction::Remove => {
            let mut file = writable(g)?;
            if file.is_encrypted() {
                file.set_password(None);
                file.save().map_err(cfg_err)?;
            }
        }
        EncryptionAction::Set => {
            let mut file = writable(g)?;
            if file.is_encrypted() {
                return Err(fail(
                    ERROR,
                    "the config file is encrypted already; changing its password isn't supported yet: run `ferry config encryption remove`, then `set` with the new password",
                ));
            }
            let (password, _) = ferry_config::password::config_password().map_err(|why| {
                let why = match why.as_str() {
                    ferry_config::password::NO_PASSWORD => {
                        "give it with --password-command or RCLONE_CONFIG_PASS".into()
                    }
                    _ => why,
                };
                fail(ERROR, format!("no password to encrypt with: {why}"))
            })?;
            file.set_password(Some(ferry_config::Secret::new(password)));
            file.save().map_err(cfg_err)?;
        }
    }
    Ok(SUCCESS)
}

fn cfg_err(e: ferry_config::ConfigError) -> anyhow::Error {
    fail(ERROR, e.to_string())
}

/// The config file for writing: refuses rclone's own file unless it was named with --config.
/// `config string`: `:TYPE,key=value,...:PATH` with the options that aren't the backend's
/// defaults, keys sorted, `true` as the bare key, a value with `'":=,` quoted as the
/// config parser reads it (rclone's "human" form). Secret values are `***` unless
/// `reveal`: ferry prints no secret it wasn't asked for.
fn connection_string(g: &Globals, arg: &str, reveal: bool) -> anyhow::Result<String> {
    let r = g.remotes.resolve_with_flags(arg)?;
    let kind = g
        .remotes
        .registry
        .get(&r.kind)
        .ok_or_else(|| fail(ERROR, format!("unknown backend type {:?}", r.kind)))?;
    let mut out = format!(":{}", r.kind);
    for (key, value) in &r.options {
        let Some(spec) = kind.option(key) else {
            continue;
        };
        let v = value.expose();
        if spec.default.unwrap_or("") == v {
            continue;
        }
        out.push(',');
        out.push_str(key);
        if v == "true" {
            continue;
        }
        out.push('=');
        let v = match value.is_secret() && !reveal {
            true => "***",
            false => v,
        };
        if v.contains(['\'', '"', ':', '=', ',']) {
            out.push('\'');
            out.push_str(&v.replace('\'', "''"));
            out.push('\'');
        } else {
            out.push_str(v);
        }
    }
    out.push(':');
    out.push_str(&r.path);
    Ok(out)
}

fn writable(g: &Globals) -> anyhow::Result<ConfigFile> {
    let file = g.remotes.config()?.clone();
    if !file.is_writable() {
        return Err(fail(
            ERROR,
            format!(
                "{} is rclone's config file, read here read-only; pass --config {} to change it, or pass --config with a new file (such as ~/.config/ferry/ferry.conf) to start ferry's own",
                file.path().display(),
                file.path().display()
            ),
        ));
    }
    Ok(file)
}

fn mode(flags: &CreateFlags) -> anyhow::Result<ObscureMode> {
    ObscureMode::from_flags(flags.obscure, flags.no_obscure).map_err(cfg_err)
}

pub fn run(a: &ConfigArgs, g: &Globals) -> anyhow::Result<i32> {
    let reg = &g.remotes.registry;
    let Some(action) = &a.action else {
        return wizard(g);
    };
    match action {
        ConfigAction::Create {
            name,
            kind,
            pairs,
            flags,
        } => {
            flags.refuse_questions()?;
            let mut file = writable(g)?;
            let pairs = ferry_config::parse_pairs(pairs).map_err(cfg_err)?;
            ferry_config::create_remote(&mut file, reg, name, kind, &pairs, mode(flags)?).map_err(
                |e| match reg.get(kind) {
                    // rclone refuses a type it has no backend for as a usage error.
                    None => fail(USAGE, e.to_string()),
                    Some(_) => cfg_err(e),
                },
            )?;
            file.save().map_err(cfg_err)?;
            flags.print_result(|| {
                ferry_config::redacted_section_text(&file, reg, name).map_err(cfg_err)
            })?;
        }
        ConfigAction::Update { name, pairs, flags } => {
            flags.refuse_questions()?;
            let mut file = writable(g)?;
            let pairs = ferry_config::parse_pairs(pairs).map_err(cfg_err)?;
            ferry_config::update_remote(&mut file, reg, name, &pairs, mode(flags)?)
                .map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
            flags.print_result(|| {
                ferry_config::redacted_section_text(&file, reg, name).map_err(cfg_err)
            })?;
        }
        ConfigAction::Delete { name } => {
            let mut file = writable(g)?;
            ferry_config::delete_remote(&mut file, name).map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
        }
        ConfigAction::Unset { name, keys } => {
            let mut file = writable(g)?;
            ferry_config::unset_keys(&mut file, name, keys).map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
            print!(
                "{}",
                ferry_config::redacted_section_text(&file, reg, name).map_err(cfg_err)?
            );
        }
        ConfigAction::String { remote, reveal } => {
            println!("{}", connection_string(g, remote, *reveal)?);
        }
        ConfigAction::Touch => {
            let file = writable(g)?;
            if !file.path().exists() {
                file.save().map_err(cfg_err)?;
            }
        }
        ConfigAction::Edit => return wizard(g),
        ConfigAction::Encryption { action } => return encryption(action, g),
        ConfigAction::Show { name, reveal } => {
            let file = g.remotes.config()?;
            print!(
                "{}",
                ferry_config::show(file, reg, name.as_deref(), *reveal).map_err(cfg_err)?
            );
        }
        ConfigAction::Dump => {
            // rclone's layout: four-space indents, no newline after the closing brace.
            let file = g.remotes.config()?;
            let mut out = Vec::new();
            let style = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, style);
            serde::Serialize::serialize(&ferry_config::dump_json(file), &mut ser)?;
            std::io::stdout().write_all(&out)?;
        }
        ConfigAction::Password { name, pairs } => {
            let mut file = writable(g)?;
            let mut pairs = ferry_config::parse_pairs(pairs).map_err(cfg_err)?;
            // Every value given is a password, whatever its key: stored obscured.
            for (_, v) in pairs.iter_mut() {
                *v = ferry_config::obscure(v).map_err(|e| cfg_err(e.into()))?;
            }
            ferry_config::update_remote(&mut file, reg, name, &pairs, ObscureMode::Never)
                .map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
            print!(
                "{}",
                ferry_config::redacted_section_text(&file, reg, name).map_err(cfg_err)?
            );
        }
        ConfigAction::Redacted { name } => {
            let file = g.remotes.config()?;
            print!(
                "{}",
                ferry_config::redacted_for_posting(file, reg, name.as_deref())
            );
        }
        ConfigAction::File => {
            let loc = g.remotes.location()?;
            let note = if loc.path.exists() {
                ""
            } else {
                " (it doesn't exist yet)"
            };
            println!(
                "Configuration file is stored at:\n{}{note}",
                loc.path.display()
            );
        }
        ConfigAction::Providers => {
            println!(
                "{}",
                serde_json::to_string_pretty(&ferry_config::providers_json(reg))?
            )
        }
        ConfigAction::Paths => {
            let loc = g.remotes.location()?;
            println!("Config file: {}", loc.path.display());
            let cache = g
                .remotes
                .env
                .home_dir()
                .map(|h| h.join(".cache/ferry"))
                .unwrap_or_default();
            println!("Cache dir:   {}", cache.display());
            println!("Temp dir:    {}", std::env::temp_dir().display());
        }
    }
    Ok(SUCCESS)
}

pub fn listremotes(a: &ListremotesArgs, g: &Globals) -> anyhow::Result<i32> {
    let mut remotes = ferry_config::list_remotes(g.remotes.config()?, &g.remotes.env);
    let filters = [
        (&a.filter, None),
        (&a.name, Some(Field::Name)),
        (&a.kind, Some(Field::Type)),
        (&a.source, Some(Field::Source)),
        (&a.description, Some(Field::Description)),
    ];
    for (pattern, field) in filters {
        let Some(pattern) = pattern else { continue };
        let re = remote_glob(pattern, a.exact)?;
        remotes.retain(|r| match field {
            Some(f) => re.is_match(&f.of(r)),
            None => Field::ALL.iter().any(|f| re.is_match(&f.of(r))),
        });
    }
    // rclone's forms: one compact object per line in --json, columns padded to the widest
    // name and type in --long.
    if a.json {
        println!("[");
        let lines: Vec<String> = remotes
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        if !lines.is_empty() {
            println!("{}", lines.join(",\n"));
        }
        println!("]");
        return Ok(SUCCESS);
    }
    let name_width = remotes.iter().map(|r| r.name.len() + 1).max().unwrap_or(0);
    let type_width = remotes.iter().map(|r| r.kind.len()).max().unwrap_or(0);
    for r in &remotes {
        if a.long {
            let name = format!("{}:", r.name);
            println!(
                "{name:<name_width$} {:<type_width$} {}",
                r.kind, r.description
            );
        } else {
            println!("{}:", r.name);
        }
    }
    Ok(SUCCESS)
}

/// What `listremotes` filters on.
#[derive(Clone, Copy)]
enum Field {
    Name,
    Type,
    Source,
    Description,
}

impl Field {
    const ALL: [Field; 4] = [Field::Name, Field::Type, Field::Source, Field::Description];

    fn of(self, r: &ferry_config::RemoteInfo) -> String {
        match self {
            Field::Name => r.name.clone(),
            Field::Type => r.kind.clone(),
            Field::Source => match r.source {
                RemoteSource::File => "file".into(),
                RemoteSource::Environment => "environment".into(),
            },
            Field::Description => r.description.clone(),
        }
    }
}

/// `listremotes`' filter glob, as rclone reads it: `*` any text, `?` one character,
/// case ignored, matching anywhere in the value unless `--exact`.
fn remote_glob(pattern: &str, exact: bool) -> anyhow::Result<regex::Regex> {
    let mut re = String::from("(?i)");
    if exact {
        re.push('^');
    }
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    if exact {
        re.push('$');
    }
    regex::Regex::new(&re)
        .map_err(|e| fail(USAGE, format!("invalid filter argument {pattern:?}: {e}")))
}

pub fn obscure(a: &ObscureArgs) -> anyhow::Result<i32> {
    let plain = match a.password.as_str() {
        p if p != "-" => p.to_owned(),
        _ => {
            let mut line = String::new();
            std::io::stdin().read_to_string(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    println!(
        "{}",
        ferry_config::obscure(&plain).map_err(|e| cfg_err(e.into()))?
    );
    Ok(SUCCESS)
}

pub fn reveal(a: &RevealArgs) -> anyhow::Result<i32> {
    println!(
        "{}",
        ferry_config::reveal(&a.obscured).map_err(|e| cfg_err(e.into()))?
    );
    Ok(SUCCESS)
}

/// `ferry config` with no subcommand: asks for a new remote's options on a terminal, as
/// rclone's "n) New remote" does. An existing name is refused and asked again (a remote is
/// changed with `ferry config update`, never replaced from here); each value is checked as
/// it is typed; secrets are read without echo; nothing is saved before the new section has
/// been shown and confirmed.
fn wizard(g: &Globals) -> anyhow::Result<i32> {
    if !std::io::stdin().is_terminal() {
        return Err(fail(
            ERROR,
            "`ferry config` asks its questions on a terminal, and stdin is not one: use `ferry config create NAME TYPE key value ...` in scripts",
        ));
    }
    let file = writable(g)?;
    let reg = &g.remotes.registry;
    let name = ask_name(&file, g)?;
    eprintln!("Types: {}", reg.names_joined());
    let spec = loop {
        let kind = ask("type> ")?;
        match reg.get(&kind) {
            Some(spec) => break spec,
            None => eprintln!("Unknown type {kind:?}: use one of {}.", reg.names_joined()),
        }
    };
    loop {
        let pairs = ask_options(spec)?;
        let mut draft = file.clone();
        ferry_config::create_remote(&mut draft, reg, &name, spec.name, &pairs, ObscureMode::Auto)
            .map_err(cfg_err)?;
        eprint!(
            "{}",
            ferry_config::redacted_section_text(&draft, reg, &name).map_err(cfg_err)?
        );
        eprintln!("Keep this {name:?} remote?");
        eprintln!("y) Yes this is OK (default)\ne) Edit this remote\nd) Delete this remote");
        let choice = loop {
            match ask("y/e/d> ")?.to_ascii_lowercase().as_str() {
                "" | "y" => break 'y',
                "e" => break 'e',
                "d" => break 'd',
                _ => eprintln!(
                    "This value must be a single character, one of the following: y, e, d."
                ),
            }
        };
        match choice {
            'y' => {
                draft.save().map_err(cfg_err)?;
                return Ok(SUCCESS);
            }
            'd' => {
                eprintln!("Remote {name:?} not saved.");
                return Ok(SUCCESS);
            }
            _ => continue,
        }
    }
}

/// One answer, trimmed. The end of input stops the wizard (nothing is saved).
fn ask(q: &str) -> anyhow::Result<String> {
    eprint!("{q}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        eprintln!();
        return Err(fail(ERROR, "input ended: nothing was saved"));
    }
    Ok(line.trim().to_owned())
}

/// One answer read with the terminal's echo off (for passwords and keys).
fn ask_secret(q: &str) -> anyhow::Result<String> {
    let echo = NoEcho::start();
    let answer = ask(q);
    drop(echo);
    eprintln!();
    answer
}

/// Turns the terminal's echo off while alive (a no-op where that isn't possible).
struct NoEcho {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl NoEcho {
    fn start() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: termios is plain data; tcgetattr fills it or fails, and fd 0 is ours.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut t) != 0 {
                    return NoEcho { saved: None };
                }
                let saved = t;
                t.c_lflag &= !libc::ECHO;
                t.c_lflag |= libc::ECHONL;
                if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                    return NoEcho { saved: None };
                }
                NoEcho { saved: Some(saved) }
            }
        }
        #[cfg(not(unix))]
        NoEcho {}
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(t) = self.saved {
            // SAFETY: restores the settings read in `start` on the same descriptor.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

/// The new remote's name: valid, and not one that exists already (asked again until so).
fn ask_name(file: &ConfigFile, g: &Globals) -> anyhow::Result<String> {
    let from_env = ferry_config::list_remotes(file, &g.remotes.env);
    loop {
        let name = ask("name> ")?;
        if name.is_empty() {
            eprintln!("Enter a name for the new remote.");
            continue;
        }
        if let Err(e) = ferry_config::check_remote_name(&name) {
            eprintln!("{e}");
            continue;
        }
        if file.has_section(&name) || from_env.iter().any(|r| r.name == name) {
            eprintln!(
                "Remote {name:?} already exists: choose another name (change it with `ferry config update {name} KEY VALUE`)."
            );
            continue;
        }
        return Ok(name);
    }
}

/// The basic options of `spec`, each checked as typed; empty answers keep the default.
fn ask_options(spec: &ferry_config::BackendKind) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for opt in spec.options.iter().filter(|o| !o.advanced) {
        let default = opt
            .default
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        eprintln!("{}: {}{default}", opt.name, opt.help);
        let value = loop {
            let value = if opt.redacted() {
                ask_secret(&format!("{}> ", opt.name))?
            } else {
                ask(&format!("{}> ", opt.name))?
            };
            if value.is_empty() {
                break value;
            }
            if let Err(why) = check_value(opt, &value) {
                eprintln!("This value must be {why}.");
                continue;
            }
            if opt.secret && ask_secret(&format!("Confirm {}> ", opt.name))? != value {
                eprintln!("The two entries differ: type it again.");
                continue;
            }
            break value;
        };
        if !value.is_empty() {
            pairs.push((opt.name.to_owned(), value));
        }
    }
    Ok(pairs)
}

/// Whether `v` suits option `opt`, judged by its kind of value (a port, a flag, a count,
/// a duration, a size — as its default is written); the reason when not.
fn check_value(opt: &ferry_config::OptionSpec, v: &str) -> Result<(), String> {
    use ferry_core::units::{parse_bool, parse_count, parse_duration, parse_size_checked};
    if opt.name == "port" {
        return parse_count(v, 1, 65535)
            .map(|_| ())
            .map_err(|_| "a TCP port, a whole number from 1 to 65535".into());
    }
    let Some(default) = opt.default else {
        return Ok(());
    };
    if parse_bool(default).is_some() {
        return parse_bool(v)
            .map(|_| ())
            .ok_or_else(|| "true or false".into());
    }
    if default.parse::<i64>().is_ok() {
        return parse_count(v, 0, i64::MAX)
            .map(|_| ())
            .map_err(|_| "a whole number, 0 or more".into());
    }
    if default.ends_with(['s', 'm', 'h']) && parse_duration(default).is_ok() {
        return parse_duration(v)
            .map(|_| ())
            .map_err(|e| format!("a duration such as 30s or 1m0s ({e})"));
    }
    if parse_size_checked(default).is_ok() {
        return parse_size_checked(v)
            .map(|_| ())
            .map_err(|e| format!("a size such as 5Mi ({e})"));
    }
    Ok(())
}
