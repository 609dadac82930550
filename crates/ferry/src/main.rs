//! ferry: make one place identical to another.
//!
//! This binary parses the command line ([`cli`], plain data), resolves it once into
//! typed settings ([`settings`]), sets up logging and output, runs the command and maps
//! its result to rclone's exit codes; the work happens in the library crates.

mod args;
mod azcopy;
mod backend_flags;
mod bool_flags;
mod bwlimit;
mod cli;
mod cmd;
mod crash_hook;
mod env_flags;
mod exit;
mod global_flags;
mod globals;
mod http_args;
mod interactive;
mod kinds;
mod logfile;
mod logging;
mod open;
mod progress;
mod report;
mod selection;
mod settings;
mod shard;
mod tuning;
mod watch;

use clap::FromArgMatches;

use cli::Cli;
pub use globals::Globals;

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

/// glibc gives each thread that allocates its own heap ("arena"), up to eight per core;
/// pages freed in one arena can't serve another, so a run whose listings, hash-cache
/// lookups and transfers hop between many worker threads grew to twice the memory it
/// uses (a no-op `--checksum` sync of 1,000,000 files with the hash cache: 62 MB peak,
/// 35 MB without the cache). Four arenas, set before any thread starts, keep that within
/// 46 MB; two kept it to 38 MB but made that run's 20,000-file version 30% slower (the
/// threads then wait on each other's allocations), four about 10%.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; no thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

fn main() {
    limit_malloc_arenas();
    #[cfg(unix)]
    die_quietly_on_closed_stdout();
    crash_hook::install();
    // Run as `azcopy` (a link or copy by that name) or `ferry azcopy …`: azcopy's CLI.
    if let Some(args) = azcopy::personality_args(&std::env::args_os().collect::<Vec<_>>()) {
        std::process::exit(azcopy::main(args));
    }
    let registry = kinds::registry();
    let (argv, flags) = match backend_flags::extract(std::env::args_os().collect(), registry, |k| {
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
    let not_supported = |msg: String| -> ! {
        eprintln!("ferry: {msg}");
        std::process::exit(exit::USAGE);
    };
    let env = |k: &str| std::env::var_os(k);
    let command = env_flags::with_rclone_names(cli::command(), &env);
    let parse = |argv: Vec<std::ffi::OsString>| match global_flags::parse(command.clone(), argv) {
        Ok(p) => p,
        Err(global_flags::Failed::NotSupported(msg)) => not_supported(msg),
        Err(global_flags::Failed::Clap(e)) => clap_failed(e),
    };
    let mut parsed = parse(argv.clone());
    // Lists and counts from RCLONE_/FERRY_ variables, spelled out for a second parse.
    match env_flags::expand(&command, &parsed.matches, &argv, &env) {
        Ok(Some(expanded)) => parsed = parse(expanded),
        Ok(None) => {}
        Err(msg) => {
            eprintln!("error: {msg}");
            std::process::exit(exit::USAGE);
        }
    }
    let cli = Cli::from_arg_matches(&parsed.matches).unwrap_or_else(|e| clap_failed(e));
    match parsed.check_safety(cli.command.changes_nothing()) {
        Ok(()) => {}
        Err(global_flags::Failed::NotSupported(msg)) => not_supported(msg),
        Err(global_flags::Failed::Clap(e)) => clap_failed(e),
    }
    std::process::exit(run(cli, flags, &parsed.ignored));
}

/// Resolves the settings, sets up logging and runs the command; the exit code.
fn run(cli: Cli, backend_flags: backend_flags::BackendFlags, ignored_flags: &[String]) -> i32 {
    if let Some(t) = cli.tuning.default_time {
        ferry_core::set_default_time(t);
    }
    if let Some(suffix) = &cli.tuning.partial_suffix {
        // Checked before anything runs, as rclone checks it (exit 1).
        if let Err(e) = ferry_core::partial::set_suffix(suffix) {
            eprintln!("ferry: {e}");
            return exit::ERROR;
        }
    }
    if let Some(dir) = &cli.tuning.temp_dir {
        // Every temporary file ferry makes (spooled streams, resume records) is placed by
        // `std::env::temp_dir`, which reads TMPDIR. Set here, before logging or the runtime
        // start any thread that could read the environment at the same time.
        std::env::set_var("TMPDIR", dir);
    }
    let backend_flags = match settings::backend_flags(&cli, backend_flags) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ferry: {e:#}");
            return exit::USAGE;
        }
    };
    let azcopy_json = cli.command.azcopy().is_some_and(|az| az.wants_json());
    let log = settings::Log::resolve(&cli.log, azcopy_json);
    let sink = match logging::init(&log) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferry: {e:#}");
            return exit::USAGE;
        }
    };
    if let Some(dump) = &log.dump {
        tracing::warn!("Automatically setting -vv as --dump is enabled");
        if !dump.unused.is_empty() {
            tracing::debug!(
                "--dump {}: nothing of that kind to dump in ferry",
                dump.unused.join(",")
            );
        }
    }
    for flag in ignored_flags {
        tracing::debug!("{flag}: accepted as rclone does, no effect on this command");
    }
    let disabled = match disabled_features(cli.tuning.disable.as_deref()) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let ignored = cli.tuning.ignored();
    if !ignored.is_empty() {
        tracing::debug!(
            "accepted for rclone compatibility, no effect here: {}",
            ignored.join(", ")
        );
    }
    if let Some(words) = &cli.log.password_command {
        ferry_config::password::set_password_command(ferry_config::password::split_words(words));
    }
    report::set_name_width(cli.log.stats_file_name_length);
    report::set_bit_rates(cli.tuning.stats_unit.as_deref() == Some("bits"));
    if let Some(dir) = &cli.log.cache_dir {
        ferry_core::private::set_cache_dir(dir.clone());
    }
    let output = match settings::Output::resolve(&cli.log) {
        Ok(o) => settings::Output {
            check_first: cli.tuning.check_first,
            stats_level: cli.tuning.stats_level(),
            ..o
        },
        Err(e) => return failed(e),
    };
    let dump = log.dump.as_ref().map(|d| d.dump).unwrap_or_default();
    let globals = Globals {
        log,
        output,
        remotes: open::Remotes::new(cli.config, cli.local)
            .with_backend_flags(backend_flags)
            .with_tps_limit(cli.tuning.tpslimit, cli.tuning.tpslimit_burst)
            .with_dump(dump)
            .with_http(cli.http.settings(cli.tuning.user_agent.as_deref()))
            .with_disabled(disabled)
            .with_low_level_retries(cli.command.low_level_retries())
            .with_timeouts(ferry_core::net::Timeouts::from_flags(
                cli.tuning.contimeout,
                cli.tuning.timeout,
            )),
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
    match runtime.block_on(cmd::dispatch(&cli.command, &globals)) {
        Ok(code) => code,
        Err(e) => failed(e),
    }
}

/// `--disable`: `help` lists rclone's feature names (exit 1, as rclone); `!NAME` (rclone's
/// way to turn a feature on) is refused; each name that changes something is said at
/// `-vv`, as rclone says it, and so is each that changes nothing here.
fn disabled_features(arg: Option<&str>) -> Result<ferry_core::layer::disable::Disable, i32> {
    use ferry_core::layer::disable::{Disable, RCLONE_FEATURES};
    let Some(arg) = arg.filter(|a| !a.is_empty()) else {
        return Ok(Disable::default());
    };
    if arg == "help" {
        tracing::error!(
            "Possible backend features are: {}",
            RCLONE_FEATURES.join(", ")
        );
        return Err(exit::ERROR);
    }
    if let Some(on) = arg.split(',').map(str::trim).find(|n| n.starts_with('!')) {
        tracing::error!(
            "--disable {on}: ferry can turn a backend's features off, not on; drop the name"
        );
        return Err(exit::USAGE);
    }
    let (disable, idle) = Disable::new(arg.split(','));
    for name in arg
        .split(',')
        .map(str::trim)
        .filter(|n| !idle.iter().any(|i| i == n))
    {
        tracing::debug!("Reset feature {name:?}");
    }
    for name in idle {
        tracing::debug!(
            "--disable {name}: no backend of ferry's has that feature; nothing to turn off"
        );
    }
    Ok(disable)
}

/// Logs the error that ended the run; its exit code.
fn failed(err: anyhow::Error) -> i32 {
    let (code, msg) = match err.downcast_ref::<exit::Exit>() {
        Some(e) => (e.code, e.message.clone()),
        None => (exit::ERROR, format!("{err:#}")),
    };
    // rclone (since 1.68) logs a command's final "Failed to X" at NOTICE, so `-q` and
    // `--log-level ERROR` leave only the exit code (and the errors logged before it).
    if msg.starts_with("Failed to create file system") {
        tracing::error!(target: logging::CRITICAL_TARGET, "{msg}");
    } else if msg.starts_with("Failed to ") {
        tracing::warn!("{msg}");
    } else {
        tracing::error!("{msg}");
    }
    code
}
