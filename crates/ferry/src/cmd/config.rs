//! `config`, `listremotes`, `obscure` and `reveal`.

use std::io::{BufRead, IsTerminal, Read, Write};

use clap::{Args, Subcommand};
use ferry_config::{ConfigFile, ObscureMode, RemoteSource};

use crate::exit::{fail, ERROR, SUCCESS};
use crate::Globals;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(Args, Debug)]
pub struct ObscureFlags {
    /// Force any passwords to be obscured
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub obscure: bool,
    /// Force any passwords not to be obscured
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_obscure: bool,
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
        flags: ObscureFlags,
    },
    /// Update options of an existing remote: NAME [KEY VALUE]...
    Update {
        name: String,
        #[arg(value_name = "KEY VALUE")]
        pairs: Vec<String>,
        #[command(flatten)]
        flags: ObscureFlags,
    },
    /// Delete an existing remote
    Delete { name: String },
    /// Print (decrypted) config file, or the config for a single remote; secrets are hidden
    Show {
        name: Option<String>,
        /// Show secrets as stored (obscured), instead of hiding them
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
        reveal: bool,
    },
    /// Dump the config file as JSON
    Dump,
    /// Show path of configuration file in use
    File,
    /// List in JSON format all the providers and options
    Providers,
    /// Show paths used for configuration, cache and temp files
    Paths,
}

#[derive(Args, Debug)]
pub struct ListremotesArgs {
    /// Show the type and the description as well as names
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub long: bool,
    /// Format output as JSON
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ObscureArgs {
    /// The password to obscure; "-" (or nothing) reads one line from stdin
    pub password: Option<String>,
}

#[derive(Args, Debug)]
pub struct RevealArgs {
    #[arg(allow_hyphen_values = true)]
    pub obscured: String,
}

fn cfg_err(e: ferry_config::ConfigError) -> anyhow::Error {
    fail(ERROR, e.to_string())
}

/// The config file for writing: refuses rclone's own file unless it was named with --config.
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

fn mode(flags: &ObscureFlags) -> anyhow::Result<ObscureMode> {
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
            let mut file = writable(g)?;
            let pairs = ferry_config::parse_pairs(pairs).map_err(cfg_err)?;
            ferry_config::create_remote(&mut file, reg, name, kind, &pairs, mode(flags)?)
                .map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
            print!(
                "{}",
                ferry_config::redacted_section_text(&file, reg, name).map_err(cfg_err)?
            );
        }
        ConfigAction::Update { name, pairs, flags } => {
            let mut file = writable(g)?;
            let pairs = ferry_config::parse_pairs(pairs).map_err(cfg_err)?;
            ferry_config::update_remote(&mut file, reg, name, &pairs, mode(flags)?)
                .map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
            print!(
                "{}",
                ferry_config::redacted_section_text(&file, reg, name).map_err(cfg_err)?
            );
        }
        ConfigAction::Delete { name } => {
            let mut file = writable(g)?;
            ferry_config::delete_remote(&mut file, name).map_err(cfg_err)?;
            file.save().map_err(cfg_err)?;
        }
        ConfigAction::Show { name, reveal } => {
            let file = g.remotes.config()?;
            print!(
                "{}",
                ferry_config::show(file, reg, name.as_deref(), *reveal).map_err(cfg_err)?
            );
        }
        ConfigAction::Dump => {
            let file = g.remotes.config()?;
            println!(
                "{}",
                serde_json::to_string_pretty(&ferry_config::dump_json(file))?
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
            println!("{}", serde_json::to_string_pretty(&reg.providers_json())?)
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
    let remotes = ferry_config::list_remotes(g.remotes.config()?, &g.remotes.env);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&remotes)?);
        return Ok(SUCCESS);
    }
    let width = remotes.iter().map(|r| r.name.len() + 1).max().unwrap_or(0);
    for r in &remotes {
        if a.long {
            let from = match r.source {
                RemoteSource::File => "",
                RemoteSource::Environment => " (environment)",
            };
            println!(
                "{:<width$} {}{from}{}",
                format!("{}:", r.name),
                r.kind,
                if r.description.is_empty() {
                    String::new()
                } else {
                    format!(" {}", r.description)
                }
            );
        } else {
            println!("{}:", r.name);
        }
    }
    Ok(SUCCESS)
}

pub fn obscure(a: &ObscureArgs) -> anyhow::Result<i32> {
    let plain = match a.password.as_deref() {
        Some(p) if p != "-" => p.to_owned(),
        _ => {
            let mut line = String::new();
            std::io::stdin().read_to_string(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    println!("{}", ferry_config::obscure(&plain).map_err(cfg_err)?);
    Ok(SUCCESS)
}

pub fn reveal(a: &RevealArgs) -> anyhow::Result<i32> {
    println!("{}", ferry_config::reveal(&a.obscured).map_err(cfg_err)?);
    Ok(SUCCESS)
}

/// `ferry config` with no subcommand: asks for a remote's options on a terminal.
fn wizard(g: &Globals) -> anyhow::Result<i32> {
    if !std::io::stdin().is_terminal() {
        return Err(fail(
            ERROR,
            "`ferry config` asks its questions on a terminal, and stdin is not one: use `ferry config create NAME TYPE key value ...` in scripts",
        ));
    }
    let mut file = writable(g)?;
    let reg = &g.remotes.registry;
    let ask = |q: &str| -> anyhow::Result<String> {
        eprint!("{q}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_owned())
    };
    let name = ask("name> ")?;
    eprintln!("Types: {}", reg.names_joined());
    let kind = ask("type> ")?;
    let spec = reg.get(&kind).ok_or_else(|| {
        fail(
            ERROR,
            format!(
                "unknown backend type {kind:?}: use one of {}",
                reg.names_joined()
            ),
        )
    })?;
    let mut pairs = Vec::new();
    for opt in spec.options.iter().filter(|o| !o.advanced) {
        let default = opt
            .default
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        eprintln!("{}: {}{default}", opt.name, opt.help);
        let value = ask(&format!("{}> ", opt.name))?;
        if !value.is_empty() {
            pairs.push((opt.name.to_owned(), value));
        }
    }
    ferry_config::create_remote(&mut file, reg, &name, &kind, &pairs, ObscureMode::Auto)
        .map_err(cfg_err)?;
    file.save().map_err(cfg_err)?;
    eprint!(
        "{}",
        ferry_config::redacted_section_text(&file, reg, &name).map_err(cfg_err)?
    );
    Ok(SUCCESS)
}
