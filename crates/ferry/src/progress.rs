//! The live `-P` display, on stdout as rclone's: on a terminal the stats block is redrawn
//! in place every half second (or every `--stats`), log lines printed above it, the last
//! frame left on the screen when the run ends or is interrupted. When stdout is not a
//! terminal (a pipe, a file, cron's mail) each frame is written whole, as plain lines, after
//! the log lines of its interval: what rclone writes there, without its terminal codes.
//!
//! Frames are plain lines and erase codes (no raw mode, no hidden cursor), so a process
//! that dies mid-frame leaves the terminal as it found it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_engine::Stats;

use crate::report::{self, Meter, View};

/// Erase this line, then move up one.
const ERASE_UP: &str = "\x1b[2K\x1b[1A";
/// Erase this line and go to its start.
const ERASE: &str = "\x1b[2K\r";

/// What is on the screen: the last frame and how many lines it took.
#[derive(Default)]
pub struct Screen {
    frame: String,
    lines: usize,
    /// stdout is not a terminal: frames are appended, never erased.
    plain: bool,
}

impl Screen {
    /// The display for this process's stdout: redrawn in place on a terminal, appended
    /// otherwise.
    pub fn for_stdout() -> Screen {
        use std::io::IsTerminal;
        Screen {
            plain: !std::io::stdout().is_terminal(),
            ..Screen::default()
        }
    }

    /// Whether frames are appended (stdout is not a terminal).
    pub fn plain(&self) -> bool {
        self.plain
    }

    /// Codes that erase the frame on screen, leaving the cursor where it began.
    fn erase(&self, out: &mut String) {
        if self.lines == 0 {
            return;
        }
        for _ in 1..self.lines {
            out.push_str(ERASE_UP);
        }
        out.push_str(ERASE);
    }

    /// `frame`'s lines cut to the terminal's width, with no newline after the last. A
    /// frame taller than the terminal loses its last lines (the end of the transfers
    /// list): lines scrolled off the top could not be erased.
    fn render(&mut self, frame: &str, out: &mut String) {
        let (width, rows) = terminal_size();
        let lines: Vec<&str> = frame
            .trim_matches('\n')
            .split('\n')
            .take(rows.saturating_sub(1).max(1))
            .collect();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.extend(line.chars().take(width));
        }
        self.frame = frame.to_owned();
        self.lines = lines.len();
    }

    /// Replaces the frame on screen with `frame`, in one write.
    pub fn draw(&mut self, frame: &str) {
        if self.plain {
            return write_stdout(&format!("{}\n", frame.trim_matches('\n')));
        }
        let mut out = String::new();
        self.erase(&mut out);
        self.render(frame, &mut out);
        write_stdout(&out);
    }

    /// Prints a log line (ending in a newline) above the frame, then the frame again.
    pub fn print_above(&mut self, line: &str) {
        if self.plain {
            return write_stdout(line);
        }
        let mut out = String::new();
        self.erase(&mut out);
        out.push_str(line);
        if self.lines > 0 {
            let frame = std::mem::take(&mut self.frame);
            self.render(&frame, &mut out);
        }
        write_stdout(&out);
    }

    /// Leaves `frame` on screen for good, the cursor on the line below it.
    pub fn close(&mut self, frame: &str) {
        if self.plain {
            return self.draw(frame);
        }
        let mut out = String::new();
        self.erase(&mut out);
        self.render(frame, &mut out);
        out.push('\n');
        self.lines = 0;
        self.frame.clear();
        write_stdout(&out);
    }
}

fn write_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// The terminal's width and height (80 by 24 when it can't be asked), asked afresh for
/// each frame so a resized window gets frames that fit.
fn terminal_size() -> (usize, usize) {
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills the winsize it is given and nothing else.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 && ws.ws_row > 0 {
            return (ws.ws_col as usize, ws.ws_row as usize);
        }
    }
    (80, 24)
}

/// The thread that redraws the frame; dropped or finished, it leaves the last frame.
pub struct Live {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    screen: Arc<Mutex<Screen>>,
    stats: Arc<Stats>,
    one_line: Option<report::OneLine>,
    interrupt: bool,
    /// `--progress-terminal-title`.
    title: bool,
}

/// The escape sequence that sets a terminal's title (xterm's OSC 0, as rclone writes it).
fn terminal_title(title: &str) -> String {
    format!("\x1b]0;{title}\x07")
}

/// The ETA a frame shows (`-` when it has none): what `--progress-terminal-title` puts
/// in the title.
fn eta_of(frame: &str) -> &str {
    frame
        .split("ETA ")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ', '\n', '(']).next())
        .filter(|eta| !eta.is_empty())
        .unwrap_or("-")
}

/// How the live display draws one frame.
fn frame(stats: &Stats, meter: &Meter, one_line: &Option<report::OneLine>, ended: bool) -> String {
    let mut s = stats.snapshot();
    if ended {
        s = s.ended();
    }
    let view = if ended {
        View::ended(&s)
    } else {
        View {
            speed: meter.speed(&s),
        }
    };
    match one_line {
        Some(one) => one.render(&s, view),
        None => report::block(&s, view),
    }
}

impl Live {
    /// Starts redrawing every `every`. With `interrupt`, Ctrl-C leaves the last frame and
    /// a clean line before the process ends as interrupted.
    pub fn start(
        stats: Arc<Stats>,
        screen: Arc<Mutex<Screen>>,
        every: Duration,
        one_line: Option<report::OneLine>,
        interrupt: bool,
        title: bool,
    ) -> Live {
        let stop = Arc::new(AtomicBool::new(false));
        if interrupt {
            sigint::catch();
        }
        let thread = {
            let (stop, screen, stats) = (stop.clone(), screen.clone(), stats.clone());
            let one_line = one_line.clone();
            // Appended frames start after one interval, as rclone's ticker does, so a
            // short run writes only its final block.
            let first = if screen.lock().expect("screen").plain() {
                every
            } else {
                Duration::ZERO
            };
            std::thread::spawn(move || {
                let meter = Meter::default();
                let mut next = Instant::now() + first;
                while !stop.load(Ordering::Relaxed) {
                    if sigint::caught() {
                        let last = frame(&stats, &meter, &one_line, false);
                        screen.lock().expect("screen").close(&last);
                        sigint::die();
                    }
                    if Instant::now() >= next {
                        let f = frame(&stats, &meter, &one_line, false);
                        screen.lock().expect("screen").draw(&f);
                        if title {
                            write_stdout(&terminal_title(&format!("ETA: {}", eta_of(&f))));
                        }
                        next = Instant::now() + every;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Live {
            stop,
            thread: Some(thread),
            screen,
            stats,
            one_line,
            interrupt,
            title,
        }
    }

    /// Stops redrawing and leaves the run's final stats on screen.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let last = frame(&self.stats, &Meter::default(), &self.one_line, true);
        self.screen.lock().expect("screen").close(&last);
        if self.title {
            // Cleared when the run ends, as rclone does.
            write_stdout(&terminal_title(""));
        }
        if self.interrupt {
            sigint::release();
        }
    }
}

/// Ctrl-C while the display is up: a flag for the drawing thread, then the default end.
#[cfg(unix)]
mod sigint {
    use std::sync::atomic::{AtomicBool, Ordering};

    static CAUGHT: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_sigint(_: libc::c_int) {
        CAUGHT.store(true, Ordering::SeqCst);
    }

    fn set(handler: libc::sighandler_t, flags: libc::c_int) {
        // SAFETY: installs a handler that only stores to an atomic (async-signal-safe);
        // SA_RESETHAND makes a second Ctrl-C end the process at once.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler;
            sa.sa_flags = flags;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        }
    }

    pub fn catch() {
        set(
            on_sigint as *const () as libc::sighandler_t,
            libc::SA_RESETHAND,
        );
    }

    pub fn caught() -> bool {
        CAUGHT.load(Ordering::SeqCst)
    }

    pub fn release() {
        set(libc::SIG_DFL, 0);
    }

    /// Ends the process as interrupted, as it would have without the display.
    pub fn die() -> ! {
        release();
        // SAFETY: raising SIGINT with its default action ends the process.
        unsafe {
            libc::raise(libc::SIGINT);
        }
        std::process::exit(130)
    }
}

#[cfg(not(unix))]
mod sigint {
    pub fn catch() {}
    pub fn caught() -> bool {
        false
    }
    pub fn release() {}
    pub fn die() -> ! {
        std::process::exit(130)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_erased_line_by_line_before_the_next() {
        let mut s = Screen::default();
        let mut out = String::new();
        s.render("\nA\nB\nC\n", &mut out);
        assert_eq!(out, "A\nB\nC", "no leading or trailing newline");
        let mut erase = String::new();
        s.erase(&mut erase);
        assert_eq!(erase, format!("{ERASE_UP}{ERASE_UP}{ERASE}"));
    }

    #[test]
    fn the_title_takes_the_frames_eta() {
        assert_eq!(
            eta_of("Transferred:   \t  8 MiB / 20 MiB, 40%, 1 MiB/s, ETA 12s\nChecks: 1"),
            "12s"
        );
        assert_eq!(
            eta_of("  8 MiB / 20 MiB, 40%, 1 MiB/s, ETA 1m2s (xfr#1/2)"),
            "1m2s"
        );
        assert_eq!(eta_of("8 MiB / 20 MiB…, -, 976 KiB/s, ETA -\n"), "-");
        assert_eq!(eta_of("nothing yet"), "-");
        assert_eq!(terminal_title("ETA: 5s"), "\x1b]0;ETA: 5s\x07");
    }
}
