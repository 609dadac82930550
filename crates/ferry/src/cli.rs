//! The command line as plain data: what clap parses, typed only as far as clap's own
//! value parsers go (counts, sizes, booleans). [`crate::settings`] turns it into what the
//! commands take.

use clap::{CommandFactory, Parser, Subcommand};

use crate::args::{FilterArgs, LocalArgs, LogArgs, TransferArgs, WatchArgs};
use crate::azcopy::AzcopyArgs;
use crate::bool_flags::rclone_forms;
use crate::cmd;
use crate::tuning::TuningArgs;

#[derive(Parser, Debug)]
#[command(
    name = "ferry",
    version,
    about = "Make one place identical to another: rclone-compatible file sync, fast and safe",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    #[command(flatten)]
    pub tuning: TuningArgs,
    #[command(flatten)]
    pub http: crate::http_args::HttpArgs,
    /// Config file (default: $FERRY_CONFIG, ~/.config/ferry/ferry.conf, else rclone's, read-only)
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<std::path::PathBuf>,
    /// Use the server's modification time (S3's upload time) instead of the stored one: no request per object to read it
    #[arg(long, global = true, env = "FERRY_USE_SERVER_MODTIME")]
    pub use_server_modtime: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The command line as parsed, helped and completed: [`Cli`] with every boolean flag in
/// rclone's form, every flag repeatable.
pub fn command() -> clap::Command {
    repeatable(rclone_forms(Cli::command()))
}

/// rclone takes a repeated flag (`--checksum --checksum`; the last one wins): so does
/// every command, and each of its subcommands.
fn repeatable(cmd: clap::Command) -> clap::Command {
    cmd.args_override_self(true).mut_subcommands(repeatable)
}

#[derive(clap::Args, Debug)]
pub struct TransferCmd {
    /// Source path (a directory, or a single file)
    pub source: String,
    /// Destination directory
    pub dest: String,
    #[command(flatten)]
    pub transfer: TransferArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub azcopy: AzcopyArgs,
    #[command(flatten)]
    pub reports: crate::cmd::sync_reports::SyncReportArgs,
}

/// `copy` and `sync`: a transfer that can keep following its source (`--watch`).
#[derive(clap::Args, Debug)]
pub struct WatchableCmd {
    #[command(flatten)]
    pub inner: TransferCmd,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub shard: crate::shard::ShardArgs,
}

#[derive(clap::Args, Debug)]
pub struct MoveCmd {
    #[command(flatten)]
    pub inner: TransferCmd,
    /// Delete empty source dirs after move
    #[arg(long)]
    pub delete_empty_src_dirs: bool,
    #[command(flatten)]
    pub shard: crate::shard::ShardArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Copy files from source to dest, skipping identical files; never deletes
    Copy(WatchableCmd),
    /// Make source and dest identical, modifying destination only
    Sync(WatchableCmd),
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
    /// Cryptdecode returns unencrypted file names (encrypted ones with --reverse)
    Cryptdecode(cmd::crypt::CryptdecodeArgs),
    /// Checks the files in the destination against a SUM file
    Checksum(cmd::check::ChecksumArgs),
    /// Cryptcheck checks the integrity of an encrypted remote
    Cryptcheck(cmd::check::CheckArgs),
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
    // tree's own --version (sort by version) replaces the version flag, as in rclone.
    #[command(disable_version_flag = true)]
    Tree(cmd::tree::TreeArgs),
    /// Produce an md5sum file for all the objects in the path
    Md5sum(cmd::hashsum::SumArgs),
    /// Produce a sha1sum file for all the objects in the path
    Sha1sum(cmd::hashsum::SumArgs),
    /// Produce a hashsum file for all the objects in the path (run without arguments to list the hashes)
    Hashsum(cmd::hashsum::HashsumArgs),
    /// Print the total size and number of objects in the path
    Size(cmd::ops::SizeArgs),
    /// Get quota information from the remote
    About(cmd::about::AboutArgs),
    /// Run a backend-specific command (`backend help REMOTE:` lists them; `features` says what a remote can do)
    Backend(cmd::backend::BackendArgs),
    /// Clean up the remote if possible (S3: unfinished multipart uploads over a day old)
    Cleanup(cmd::cleanup::CleanupArgs),
    /// Generate public link to file (S3: a presigned URL, valid a week at most)
    Link(cmd::link::LinkArgs),
    /// Changes storage class/tier of objects in remote (S3's storage classes, Azure's access tiers)
    Settier(cmd::settier::SettierArgs),
    /// Concatenate files and send them to stdout
    Cat(cmd::ops::CatArgs),
    /// Copy standard input to a file
    Rcat(cmd::ops::RcatArgs),
    /// Copy the contents of the URL supplied content to dest:path
    Copyurl(cmd::copyurl::CopyurlArgs),
    /// Create a new file or change a file's modification time
    Touch(cmd::ops::TouchArgs),
    /// Remove a single file
    Deletefile(cmd::ops::DeletefileArgs),
    /// Remove the files in the path (the filters select which)
    Delete(cmd::ops::DeleteArgs),
    /// Remove the path and all of its contents (ignores filters)
    Purge(cmd::ops::PurgeArgs),
    /// Make the path if it doesn't already exist
    Mkdir(cmd::ops::PathArgs),
    /// Remove the empty directory at the path
    Rmdir(cmd::ops::PathArgs),
    /// Remove empty directories under the path
    Rmdirs(cmd::ops::RmdirsArgs),
    /// Interactively find duplicate filenames and delete/rename them (no remote ferry has can hold any)
    Dedupe(cmd::dedupe::DedupeArgs),
    /// Copy a file or directory to a new name, skipping identical files
    Copyto(TransferCmd),
    /// Move a file or directory to a new name
    Moveto(TransferCmd),
    /// Convert file and directory names in place (--name-transform's rules)
    #[command(long_about = crate::cmd::convmv::LONG_ABOUT)]
    Convmv(cmd::convmv::ConvmvArgs),
    /// Output a completion script for bash, zsh, fish or powershell
    #[command(alias = "genautocomplete")]
    Completion(cmd::completion::CompletionArgs),
    /// Show help for a command, or `help flags` for every global flag with its default
    Help(cmd::completion::HelpArgs),
    /// Write markdown pages for every command, the global flags and man pages to a directory
    Gendocs(cmd::gendocs::GendocsArgs),
}

impl Command {
    /// The azcopy flags of a transferring command.
    pub fn azcopy(&self) -> Option<&AzcopyArgs> {
        match self {
            Command::Copy(c) | Command::Sync(c) => Some(&c.inner.azcopy),
            Command::Copyto(c) | Command::Moveto(c) => Some(&c.azcopy),
            Command::Move(m) => Some(&m.inner.azcopy),
            _ => None,
        }
    }

    pub fn transfer_args(&self) -> Option<&TransferArgs> {
        match self {
            Command::Copy(c) | Command::Sync(c) => Some(&c.inner.transfer),
            Command::Copyto(c) | Command::Moveto(c) => Some(&c.transfer),
            Command::Move(m) => Some(&m.inner.transfer),
            Command::Convmv(c) => Some(&c.transfer),
            _ => None,
        }
    }

    /// `--low-level-retries` of a command that takes it.
    pub fn low_level_retries(&self) -> Option<u32> {
        match self {
            Command::Bisync(b) => Some(b.low_level_retries),
            _ => self.transfer_args().map(|t| t.low_level_retries),
        }
    }

    /// Whether the command changes nothing anywhere, so that a flag asking it not to
    /// (`--dry-run`, `--interactive`) is harmless to ignore. Declared here, for every
    /// command, so a new command can't be left out.
    pub fn changes_nothing(&self) -> bool {
        match self {
            Command::Ls(_)
            | Command::Lsl(_)
            | Command::Lsd(_)
            | Command::Lsf(_)
            | Command::Lsjson(_)
            | Command::Tree(_)
            | Command::Md5sum(_)
            | Command::Sha1sum(_)
            | Command::Hashsum(_)
            | Command::Size(_)
            | Command::About(_)
            | Command::Link(_)
            | Command::Cat(_)
            | Command::Check(_)
            | Command::Checksum(_)
            | Command::Version
            | Command::Listremotes(_)
            | Command::Obscure(_)
            | Command::Reveal(_)
            | Command::Cryptdecode(_)
            | Command::Cryptcheck(_)
            | Command::Help(_) => true,
            Command::Copy(_)
            | Command::Sync(_)
            | Command::Move(_)
            | Command::Bisync(_)
            | Command::Config(_)
            | Command::Rcat(_)
            | Command::Copyurl(_)
            | Command::Touch(_)
            | Command::Deletefile(_)
            | Command::Delete(_)
            | Command::Purge(_)
            | Command::Cleanup(_)
            | Command::Backend(_)
            | Command::Settier(_)
            | Command::Mkdir(_)
            | Command::Rmdir(_)
            | Command::Rmdirs(_)
            | Command::Dedupe(_)
            | Command::Copyto(_)
            | Command::Moveto(_)
            | Command::Convmv(_)
            | Command::Completion(_)
            | Command::Gendocs(_) => false,
        }
    }
}
