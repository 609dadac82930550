//! ferry: make one place identical to another.
//!
//! This binary parses arguments, sets up logging and output, and maps results to
//! rclone's exit codes; the work happens in the library crates.

mod args;
mod azcopy;
mod backend_flags;
mod bool_flags;
mod bwlimit;
mod cmd;
mod exit;
mod global_flags;
mod interactive;
mod logging;
mod open;
mod report;
mod selection;
mod tuning;

use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ferry_engine::{Mode, Stats, StatsSnapshot};

use args::{FilterArgs, LocalArgs, LogArgs, TransferArgs};
use cmd::transfer::TransferCall;

#[derive(Parser, Debug)]
#[command(
    name = "ferry",
    version,
    about = "Make one place identical to another: rclone-compatible file sync, fast and safe",
    propagate_version = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(flatten)]
    local: LocalArgs,
    #[command(flatten)]
    tuning: tuning::TuningArgs,
    /// Config file (default: $FERRY_CONFIG, ~/.config/ferry/ferry.conf, else rclone's, read-only)
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<std::path::PathBuf>,
    /// Use the server's modification time (S3's upload time) instead of the stored one: no request per object to read it
    #[arg(long, global = true, env = "FERRY_USE_SERVER_MODTIME")]
    use_server_modtime: bool,
    #[command(subcommand)]
    command: Command,
}

/// The command line as parsed, helped and completed: [`Cli`] with every boolean flag in
/// rclone's form.
fn cli_command() -> clap::Command {
    bool_flags::rclone_forms(Cli::command())
}

#[derive(clap::Args, Debug)]
struct TransferCmd {
    /// Source path (a directory, or a single file)
    source: String,
    /// Destination directory
    dest: String,
    #[command(flatten)]
    transfer: TransferArgs,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    azcopy: azcopy::AzcopyArgs,
}

#[derive(clap::Args, Debug)]
struct MoveCmd {
    #[command(flatten)]
    inner: TransferCmd,
    /// Delete empty source dirs after move
    #[arg(long)]
    delete_empty_src_dirs: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Copy files from source to dest, skipping identical files; never deletes
    Copy(TransferCmd),
    /// Make source and dest identical, modifying destination only
    Sync(TransferCmd),
    /// Move files from source to dest
    Move(MoveCmd),
    /// Checks the files in the source and destination match
    Check(cmd::check::CheckArgs),
    /// Bidirectional synchronization between two paths, with saved state
    Bisync(Box<cmd::bisync::BisyncArgs>),
    /// Show the version number
    Version,
    /// Enter an interactive configuration session, or manage remotes with a subcommand
    Config(cmd::config::ConfigArgs),
    /// List all the remotes in the config file and defined in environment variables
    Listremotes(cmd::config::ListremotesArgs),
    /// Obscure a password for use in the config file (obfuscation, not encryption)
    Obscure(cmd::config::ObscureArgs),
    /// Reveal an obscured password (obscuring is obfuscation, not encryption)
    Reveal(cmd::config::RevealArgs),
    /// List the objects in the path with size and path
    Ls(cmd::ls::LsArgs),
    /// List the objects in the path with modification time, size and path
    Lsl(cmd::ls::LsArgs),
    /// List all directories in the path
    Lsd(cmd::ls::LsdArgs),
    /// List directories and objects in the path formatted for parsing
    Lsf(cmd::ls::LsfArgs),
    /// List directories and objects in the path in JSON format
    Lsjson(cmd::ls::LsjsonArgs),
    /// List the contents of the path in a tree like fashion
    Tree(cmd::ls::TreeArgs),
    /// Produce an md5sum file for all the objects in the path
    Md5sum(cmd::hashsum::SumArgs),
    /// Produce a sha1sum file for all the objects in the path
    Sha1sum(cmd::hashsum::SumArgs),
    /// Produce a hashsum file for all the objects in the path (run without arguments to list the hashes)
    Hashsum(cmd::hashsum::HashsumArgs),
    /// Print the total size and number of objects in the path
    Size(cmd::ops::SizeArgs),
    /// Concatenate files and send them to stdout
    Cat(cmd::ops::CatArgs),
    /// Copy standard input to a file
    Rcat(cmd::ops::RcatArgs),
    /// Create a new file or change a file's modification time
    Touch(cmd::ops::TouchArgs),
    /// Remove a single file
    Deletefile(cmd::ops::DeletefileArgs),
    /// Remove the files in the path (the filters select which)
    Delete(cmd::ops::DeleteArgs),
    /// Remove the path and all of its contents (ignores filters)
    Purge(cmd::ops::PathArgs),
    /// Make the path if it doesn't already exist
    Mkdir(cmd::ops::PathArgs),
    /// Remove the empty directory at the path
    Rmdir(cmd::ops::PathArgs),
    /// Remove empty directories under the path
    Rmdirs(cmd::ops::RmdirsArgs),
    /// Copy a file or directory to a new name, skipping identical files
    Copyto(TransferCmd),
    /// Move a file or directory to a new name
    Moveto(TransferCmd),
    /// Output a completion script for bash, zsh or fish
    Completion(cmd::completion::CompletionArgs),
    /// Show help for a command, or `help flags` for every global flag with its default
    Help(cmd::completion::HelpArgs),
}

/// What every command shares: logging, local backend flags, output coordination.
pub struct Globals {
    pub log: LogArgs,
    pub remotes: open::Remotes,
    sink: logging::Sink,
}

/// The live output of a run (progress bar, periodic stats); stopped by `finish`.
pub struct Display {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    sink: logging::Sink,
}

impl Display {
    pub fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
            self.sink.detach_progress();
        }
    }
}

impl Globals {
    fn verbose(&self) -> bool {
        self.log.level() >= args::Level::Info
    }

    pub fn start_display(&self, stats: &Arc<Stats>) -> anyhow::Result<Display> {
        let bar = (self.log.progress && !self.sink.is_file()).then(|| {
            let bar = report::progress_bar(stats.clone());
            self.sink.attach_progress(bar.clone());
            bar
        });
        let interval = match &self.log.stats {
            Some(s) => ferry_core::units::parse_duration(s).map_err(|e| {
                exit::fail(
                    exit::USAGE,
                    format!("invalid argument {s:?} for --stats: {e}"),
                )
            })?,
            None => Duration::from_secs(60),
        };
        let ticker = (self.verbose() && !interval.is_zero()).then(|| {
            let (stats, sink, format, one) = (
                stats.clone(),
                self.sink.clone(),
                self.log.format(),
                self.log.stats_one_line,
            );
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    emit_stats(&sink, format, one, &stats.snapshot(), tracing::Level::INFO);
                }
            })
        });
        Ok(Display {
            bar,
            ticker,
            sink: self.sink.clone(),
        })
    }

    /// The final stats block: with `-v`, `-P` or `--stats` (and, as rclone, at NOTICE
    /// level for a dry run), as rclone prints it.
    pub fn final_stats(&self, snap: &StatsSnapshot, dry_run: bool) {
        let shown = self.verbose() || self.log.progress || self.log.stats.is_some();
        let notice = dry_run && self.log.level() >= args::Level::Notice;
        if shown || notice {
            let level = if shown {
                tracing::Level::INFO
            } else {
                tracing::Level::WARN
            };
            let (format, one) = (self.log.format(), self.log.stats_one_line);
            emit_stats(&self.sink, format, one, snap, level);
        }
    }
}

fn emit_stats(
    sink: &logging::Sink,
    format: logging::LogFormat,
    one_line: bool,
    snap: &StatsSnapshot,
    level: tracing::Level,
) {
    let text = if one_line {
        report::one_line(snap)
    } else {
        report::block(snap)
    };
    let extra = format.json.then(|| report::json(snap));
    logging::raw_line(sink, format, &level, &text, extra);
}

/// Die quietly on a closed pipe (`ferry lsf | head`), as command-line tools do, instead
/// of panicking on the failed write. SIGPIPE itself stays ignored (Rust's default): with
/// its default action, a server closing a connection while a request body is being sent
/// would kill ferry on the spot, silently, mid-transfer, instead of failing (and
/// retrying) that one request.
#[cfg(unix)]
fn die_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let what = info.to_string();
        if what.contains("failed printing to stdout") && what.contains("os error 32") {
            // SAFETY: ends the process by the signal a shell expects from a closed pipe.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
        }
        default(info)
    }));
}

fn main() {
    #[cfg(unix)]
    die_quietly_on_closed_stdout();
    let registry = ferry_config::Registry::with_builtins();
    let (argv, flags) =
        match backend_flags::extract(std::env::args_os().collect(), &registry, |k| {
            std::env::var(k).ok()
        }) {
            Ok(split) => split,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(exit::USAGE);
            }
        };
    let clap_failed = |e: clap::Error| -> ! {
        let code = if e.use_stderr() {
            exit::USAGE
        } else {
            exit::SUCCESS
        };
        let _ = e.print();
        std::process::exit(code);
    };
    let parsed = match global_flags::parse(cli_command(), argv) {
        Ok(p) => p,
        Err(global_flags::Failed::NotSupported(msg)) => {
            eprintln!("ferry: {msg}");
            std::process::exit(exit::USAGE);
        }
        Err(global_flags::Failed::Clap(e)) => clap_failed(e),
    };
    let cli = Cli::from_arg_matches(&parsed.matches).unwrap_or_else(|e| clap_failed(e));
    std::process::exit(run(cli, flags, &parsed.ignored));
}

fn run(
    mut cli: Cli,
    mut backend_flags: backend_flags::BackendFlags,
    ignored_flags: &[String],
) -> i32 {
    if cli.command.transfer_args().is_some_and(|t| t.resume) {
        backend_flags.insert("s3_resume".into(), "true".into());
    }
    if cli.use_server_modtime {
        backend_flags.insert("s3_use_server_modtime".into(), "true".into());
    }
    if let Some(az) = cli.command.azcopy() {
        if az.wants_json() {
            // azcopy's JSON output always ends with its summary: ferry's final stats are INFO.
            cli.log.use_json_log = true;
            if cli.log.verbose == 0 && cli.log.log_level.is_none() && !cli.log.quiet {
                cli.log.verbose = 1;
            }
        }
        match az.backend_flags() {
            Ok(flags) => backend_flags.extend(flags),
            Err(e) => {
                eprintln!("ferry: {e:#}");
                return exit::USAGE;
            }
        }
    }
    let sink = match logging::init(&cli.log) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferry: {e:#}");
            return exit::USAGE;
        }
    };
    for flag in ignored_flags {
        tracing::debug!("{flag}: accepted as rclone does, no effect on this command");
    }
    let ignored = cli.tuning.ignored();
    if !ignored.is_empty() {
        tracing::debug!(
            "accepted for rclone compatibility, no effect here: {}",
            ignored.join(", ")
        );
    }
    let globals = Globals {
        log: cli.log,
        remotes: open::Remotes::new(cli.config, cli.local).with_backend_flags(backend_flags),
        sink,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("can't start the runtime: {e}");
            return exit::ERROR;
        }
    };
    let result = runtime.block_on(dispatch(cli.command, &globals));
    match result {
        Ok(code) => code,
        Err(err) => {
            let (code, msg) = match err.downcast_ref::<exit::Exit>() {
                Some(e) => (e.code, e.message.clone()),
                None => (exit::ERROR, format!("{err:#}")),
            };
            tracing::error!("{msg}");
            code
        }
    }
}

impl Command {
    /// The azcopy flags of a transferring command.
    fn azcopy(&self) -> Option<&azcopy::AzcopyArgs> {
        match self {
            Command::Copy(c) | Command::Sync(c) | Command::Copyto(c) | Command::Moveto(c) => {
                Some(&c.azcopy)
            }
            Command::Move(m) => Some(&m.inner.azcopy),
            _ => None,
        }
    }

    fn transfer_args(&self) -> Option<&TransferArgs> {
        match self {
            Command::Copy(c) | Command::Sync(c) | Command::Copyto(c) | Command::Moveto(c) => {
                Some(&c.transfer)
            }
            Command::Move(m) => Some(&m.inner.transfer),
            _ => None,
        }
    }
}

async fn dispatch(command: Command, g: &Globals) -> anyhow::Result<i32> {
    fn transfer(mode: Mode, c: &TransferCmd) -> TransferCall<'_> {
        TransferCall {
            mode,
            source: &c.source,
            dest: &c.dest,
            t: &c.transfer,
            f: &c.filters,
            az: &c.azcopy,
            delete_empty_src_dirs: false,
        }
    }
    match &command {
        Command::Copy(c) => cmd::transfer::run(transfer(Mode::Copy, c), g).await,
        Command::Sync(c) => cmd::transfer::run(transfer(Mode::Sync, c), g).await,
        Command::Move(m) => {
            let mut call = transfer(Mode::Move, &m.inner);
            call.delete_empty_src_dirs = m.delete_empty_src_dirs;
            cmd::transfer::run(call, g).await
        }
        Command::Check(a) => cmd::check::run(a, g).await,
        Command::Bisync(a) => cmd::bisync::run(a, g).await,
        Command::Config(a) => cmd::config::run(a, g),
        Command::Listremotes(a) => cmd::config::listremotes(a, g),
        Command::Obscure(a) => cmd::config::obscure(a),
        Command::Reveal(a) => cmd::config::reveal(a),
        Command::Ls(a) => cmd::ls::ls(a, g, false).await,
        Command::Lsl(a) => cmd::ls::ls(a, g, true).await,
        Command::Lsd(a) => cmd::ls::lsd(a, g).await,
        Command::Lsf(a) => cmd::ls::lsf(a, g).await,
        Command::Lsjson(a) => cmd::ls::lsjson(a, g).await,
        Command::Tree(a) => cmd::ls::tree(a, g).await,
        Command::Md5sum(a) => cmd::hashsum::sum(ferry_core::HashKind::Md5, a, g).await,
        Command::Sha1sum(a) => cmd::hashsum::sum(ferry_core::HashKind::Sha1, a, g).await,
        Command::Hashsum(a) => cmd::hashsum::hashsum(a, g).await,
        Command::Size(a) => cmd::ops::size(a, g).await,
        Command::Cat(a) => cmd::ops::cat(a, g).await,
        Command::Rcat(a) => cmd::ops::rcat(a, g).await,
        Command::Touch(a) => cmd::ops::touch(a, g).await,
        Command::Deletefile(a) => cmd::ops::deletefile(a, g).await,
        Command::Delete(a) => cmd::ops::delete(a, g).await,
        Command::Purge(a) => cmd::ops::purge(a, g).await,
        Command::Mkdir(a) => cmd::ops::mkdir(a, g).await,
        Command::Rmdir(a) => cmd::ops::rmdir(a, g).await,
        Command::Rmdirs(a) => cmd::ops::rmdirs(a, g).await,
        Command::Copyto(c) => cmd::copyto::run(c, Mode::Copy, g).await,
        Command::Moveto(c) => cmd::copyto::run(c, Mode::Move, g).await,
        Command::Completion(a) => cmd::completion::completion(a),
        Command::Help(a) => cmd::completion::help(a),
        Command::Version => {
            cmd::version::run();
            Ok(exit::SUCCESS)
        }
    }
}
