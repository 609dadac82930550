//! `-P` on a real terminal (a pseudo-terminal this test reads frame by frame), its stats
//! lines without one, `--stats-one-line`, and rclone's JSON stats object compared with
//! one rclone 1.75 writes.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::*;

/// Erase this line, then move up one; erase this line and go to its start.
const ERASE_UP: &str = "\x1b[2K\x1b[1A";
const ERASE: &str = "\x1b[2K\r";

/// A child whose stdout and stderr are a fresh pseudo-terminal of 160 columns.
struct Pty {
    master: std::fs::File,
    child: Child,
}

impl Pty {
    fn spawn(mut cmd: Command) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let mut ws = libc::winsize {
            ws_row: 50,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills the two descriptors it is given.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                // *mut: macOS's openpty takes a mutable winsize, Linux's a const one.
                std::ptr::addr_of_mut!(ws),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here alone.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("ferry runs");
        // The command's copies of the slave go with it: reading ends when the child's do.
        drop(cmd);
        Pty {
            master: std::fs::File::from(master),
            child,
        }
    }

    /// Everything the child wrote until it closed the terminal (EIO on Linux), with the
    /// terminal's `\r\n` made `\n`; and how it ended.
    fn finish(mut self) -> (String, ExitStatus) {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match self.master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        let status = self.child.wait().unwrap();
        let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
        (text, status)
    }
}

/// 20,000 small files in 100 directories (about 55 MiB).
fn many_files(root: &Path) {
    for d in 0..100 {
        let dir = root.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..200u32 {
            let body = vec![b'x'; 1000 + (i as usize * 37) % 4000];
            std::fs::write(dir.join(format!("f{i:04}")), body).unwrap();
        }
    }
}

/// The frames of a live display: each is drawn after erasing exactly the lines of the one
/// before (no frame left behind or drawn twice). The last one ends with a newline.
fn frames(out: &str) -> Vec<String> {
    let mut frames: Vec<String> = Vec::new();
    let mut rest = out;
    loop {
        let lines = frames
            .last()
            .map_or(0, |f| f.trim_end_matches('\n').split('\n').count());
        let erase = if lines == 0 {
            String::new()
        } else {
            format!("{}{ERASE}", ERASE_UP.repeat(lines - 1))
        };
        assert!(
            rest.starts_with(&erase),
            "frame {} not erased line by line before the next: {:?}",
            frames.len(),
            &rest[..rest.len().min(300)]
        );
        rest = &rest[erase.len()..];
        let end = rest.find("\x1b[2K").unwrap_or(rest.len());
        frames.push(rest[..end].to_owned());
        rest = &rest[end..];
        if rest.is_empty() {
            return frames;
        }
    }
}

/// A stats block's first line (`Transferred:   \t...`), and a field of the second
/// `Transferred:` line (files).
fn bytes_line(frame: &str) -> &str {
    frame
        .lines()
        .find(|l| l.starts_with("Transferred:   \t"))
        .unwrap_or_else(|| panic!("no bytes line: {frame}"))
}

fn files_line(frame: &str) -> Option<&str> {
    frame
        .lines()
        .find(|l| l.starts_with("Transferred: ") && !l.contains('\t'))
}

/// The files transferred so far, from a `Transferred:  N / M` line.
fn done(files: &str) -> u64 {
    let n = files["Transferred:".len()..].split('/').next().unwrap();
    n.trim().parse().unwrap_or_else(|_| panic!("{files}"))
}

fn ferry_pty(args: &[&str]) -> (String, ExitStatus) {
    let mut cmd = ferry();
    cmd.args(args);
    Pty::spawn(cmd).finish()
}

#[test]
fn progress_with_check_first_has_final_totals_from_the_first_transfer() {
    let s = Scratch::new();
    many_files(&s.path("src"));
    let (out, status) = ferry_pty(&[
        "sync",
        &s.src(),
        &s.dst(),
        "-P",
        "--check-first",
        "--bwlimit",
        "20M",
    ]);
    assert!(status.success(), "{out}");
    let frames = frames(&out);
    assert!(frames.len() >= 3, "redrawn while it ran: {out}");
    let last = frames.last().unwrap();
    assert!(
        last.ends_with('\n'),
        "the last frame is left whole, a line below it"
    );
    let mut transferring = 0;
    for (i, f) in frames.iter().enumerate() {
        let bytes = bytes_line(f);
        let Some(files) = files_line(f) else { continue };
        if done(files) == 0 {
            // Still planning: the totals grow, and say so.
            assert!(
                files.ends_with("…, -") && bytes.ends_with("ETA -"),
                "frame {i}: {f}"
            );
            continue;
        }
        transferring += 1;
        // Once anything is transferred the totals are the run's, with an ETA.
        assert!(
            files.contains("/ 20000, "),
            "frame {i}: the total is final before the first transfer: {f}"
        );
        assert!(
            !bytes.contains('…') && !bytes.contains(", -, "),
            "frame {i}: {f}"
        );
        assert!(f.contains("Listed 20100\n"), "frame {i}: {f}");
    }
    assert!(transferring >= 2, "frames during the transfers: {out}");
    assert!(
        last.contains("Transferred:        20000 / 20000, 100%"),
        "{last}"
    );
    assert!(last.contains("Listed 20100"), "{last}");
    assert!(bytes_line(last).contains(", 100%, "), "{last}");
    assert_eq!(
        out.matches("Elapsed time:").count(),
        frames.len(),
        "one block per frame, no final block printed again"
    );
    assert_eq!(tree(&s.path("dst")).len(), 20_000);
}

#[test]
fn progress_without_check_first_is_honest_while_listing_and_checking() {
    let s = Scratch::new();
    many_files(&s.path("src"));
    let (out, status) = ferry_pty(&[
        "sync",
        &s.src(),
        &s.dst(),
        "-P",
        "--stats",
        "100ms",
        "--bwlimit",
        "30M",
    ]);
    assert!(status.success(), "{out}");
    let frames = frames(&out);
    let mut growing = 0;
    for (i, f) in frames.iter().enumerate() {
        let bytes = bytes_line(f);
        if f.contains('…') {
            growing += 1;
            // Totals still growing: no percentage, no ETA, and never "ETA 0s".
            assert!(bytes.ends_with("ETA -"), "frame {i}: {f}");
            assert!(bytes.contains("…, -, "), "frame {i}: {f}");
        }
        if f.contains("Listed ") && f.lines().any(|l| l.contains("Listed") && l.ends_with('…')) {
            assert!(
                bytes.ends_with("ETA -"),
                "frame {i}: listing, yet an ETA: {f}"
            );
        }
    }
    assert!(
        growing > 0,
        "a frame while the plan was still growing: {out}"
    );
    let last = frames.last().unwrap();
    assert!(
        last.contains("Transferred:        20000 / 20000, 100%"),
        "{last}"
    );
    assert!(!last.contains('…'), "{last}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_leaves_the_last_frame_and_a_clean_line() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("src")).unwrap();
    std::fs::write(s.path("src/big"), vec![7u8; 4 << 20]).unwrap();
    let mut cmd = ferry();
    cmd.args(["copy", &s.src(), &s.dst(), "-P", "--bwlimit", "1M"]);
    let pty = Pty::spawn(cmd);
    let pid = pty.child.id() as libc::pid_t;
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals the child this test started.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let (out, status) = pty.finish();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "ended as interrupted: {out}"
    );
    assert!(start.elapsed() < Duration::from_secs(4), "stopped at once");
    let frames = frames(&out);
    let last = frames.last().unwrap();
    assert!(
        last.contains("Transferring:") && last.contains("big:"),
        "{last}"
    );
    assert!(
        last.ends_with('\n'),
        "the shell's prompt starts on a line of its own: {out:?}"
    );
}

#[test]
fn progress_without_a_terminal_appends_blocks_to_stdout() {
    let s = Scratch::new();
    s.write("src/f", &"z".repeat(300 * 1024), 10);
    let (code, out, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "-P",
        "--stats",
        "200ms",
        "--bwlimit",
        "200K",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\x1b'),
        "no terminal codes in a pipe: {out:?}"
    );
    let blocks = out.matches("Elapsed time:").count();
    assert!(blocks >= 3, "periodic blocks and the final one: {out}");
    assert!(out.contains("Transferring:\n *"), "{out}");
    assert!(out.starts_with("Transferred:"), "{out}");
    assert!(
        !err.contains("Elapsed time:"),
        "stats are not logged: {err}"
    );
    let (code, out, err) = run(&[
        "copy",
        &s.src(),
        &s.path("dst2").display().to_string(),
        "-P",
        "--stats-one-line",
        "--stats",
        "200ms",
        "--bwlimit",
        "200K",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<_> = out.lines().collect();
    assert!(lines.len() >= 3, "{out}");
    assert!(
        lines.iter().all(|l| l.contains(" / ") && l.contains("ETA")),
        "{out}"
    );
    assert!(
        lines.last().unwrap().contains("300 KiB / 300 KiB, 100%"),
        "{out}"
    );
}

/// The final stats line of `copy -v` with `flags`, from the log.
fn final_stats_line(s: &Scratch, dst: &str, flags: &[&str]) -> String {
    let dst = s.path(dst).display().to_string();
    let mut args = vec!["copy", "-v"];
    let src = s.src();
    args.extend([src.as_str(), dst.as_str()]);
    args.extend(flags);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let line = err.lines().rfind(|l| l.contains(" / "));
    line.unwrap_or_else(|| panic!("no stats line: {err}"))
        .split("INFO  : ")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn stats_one_line_date_puts_rclones_date_or_a_go_layout_first() {
    let s = Scratch::new();
    s.write("src/f", "abc", 10);
    let plain = final_stats_line(&s, "d1", &["--stats-one-line"]);
    assert!(plain.starts_with("          3 B / 3 B, 100%"), "{plain:?}");
    // `2006/01/02 15:04:05 - ` before the same line; implies --stats-one-line.
    let dated = final_stats_line(&s, "d2", &["--stats-one-line-date"]);
    let (date, rest) = dated.split_at(22);
    assert!(rest.starts_with("          3 B / 3 B"), "{dated:?}");
    let shape: String = date
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999/99/99 99:99:99 - ", "{dated:?}");
    // A layout of one's own is kept as given, quotes and all, as rclone 1.75 does.
    let own = final_stats_line(&s, "d3", &["--stats-one-line-date-format", "\"2006 >> \""]);
    assert!(
        own.starts_with(&format!("\"{} >> \"", &date[..4])),
        "{own:?}"
    );
    assert!(
        own.ends_with(&rest[rest.len() - 10..]) || own.contains(" 3 B / 3 B"),
        "{own:?}"
    );
}

#[test]
fn progress_in_a_pipe_goes_where_rclones_goes() {
    let Some(rclone) = rclone() else { return };
    let s = Scratch::new();
    s.write("src/a", "aaaa", 10);
    s.write("src/b", "bbbb", 10);
    let (rcode, rout, rerr) = rclone_in(&rclone, &s.path(""), &["copy", "src", "rdst", "-P"]);
    let (fcode, fout, ferr) = run_in(&s.path(""), &["copy", "src", "fdst", "-P"]);
    assert_eq!((rcode, fcode), (0, 0), "{rerr}\n{ferr}");
    let block = |o: &str| {
        o.lines()
            .map(|l| l.split(':').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        block(&fout),
        block(&rout),
        "ferry:\n{fout}\nrclone:\n{rout}"
    );
    assert_eq!(
        fout.lines().nth(2),
        rout.lines().nth(2),
        "the files line: ferry:\n{fout}\nrclone:\n{rout}"
    );
    assert_eq!((ferr.is_empty(), rerr.is_empty()), (true, true), "{ferr}");
}

#[test]
fn stats_one_line_on_a_terminal_is_one_line_redrawn() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("src")).unwrap();
    std::fs::write(s.path("src/f"), vec![1u8; 600 * 1024]).unwrap();
    let (out, status) = ferry_pty(&[
        "copy",
        &s.src(),
        &s.dst(),
        "-P",
        "--stats-one-line",
        "--bwlimit",
        "300K",
    ]);
    assert!(status.success(), "{out}");
    let frames = frames(&out);
    assert!(frames.len() >= 3, "{out:?}");
    for f in &frames {
        assert_eq!(f.trim_end_matches('\n').lines().count(), 1, "{f:?}");
    }
    assert!(
        frames.last().unwrap().contains("600 KiB / 600 KiB, 100%"),
        "{out:?}"
    );
}

/// Each key of an object with the JSON type of its value.
fn shape(v: &serde_json::Value) -> Vec<(String, &'static str)> {
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    let mut keys: Vec<_> = v
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), kind(v)))
        .collect();
    keys.sort();
    keys
}

/// The first stats object with a transfer under way in a `--use-json-log` log.
fn stats_while_transferring(stderr: &str) -> serde_json::Value {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("stats").cloned())
        .find(|s| s.get("transferring").is_some())
        .unwrap_or_else(|| panic!("no stats with a transfer under way in:\n{stderr}"))
}

#[test]
fn json_stats_have_rclones_fields_and_types() {
    let Some(rclone) = rclone() else { return };
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("src")).unwrap();
    std::fs::write(s.path("src/f"), vec![1u8; 2 << 20]).unwrap();
    let args = [
        "--use-json-log",
        "--stats",
        "300ms",
        "-v",
        "--bwlimit",
        "1M",
    ];
    let mut theirs = vec!["copy", "src", "rdst"];
    theirs.extend(args);
    let (code, _, rerr) = rclone_in(&rclone, &s.path(""), &theirs);
    assert_eq!(code, 0, "{rerr}");
    let mut ours = vec!["copy", "src", "fdst"];
    ours.extend(args);
    let (code, _, ferr) = run_in(&s.path(""), &ours);
    assert_eq!(code, 0, "{ferr}");
    let (r, f) = (
        stats_while_transferring(&rerr),
        stats_while_transferring(&ferr),
    );
    // eta is null until rclone has a second of samples: compare it as present.
    let known = |mut v: Vec<(String, &'static str)>| {
        for (k, t) in &mut v {
            if k == "eta" {
                *t = "number or null";
            }
        }
        v
    };
    assert_eq!(known(shape(&f)), known(shape(&r)), "the stats object");
    assert_eq!(
        known(shape(&f["transferring"][0])),
        known(shape(&r["transferring"][0])),
        "a transfer under way"
    );
    assert_eq!(f["transferring"][0]["name"], "f");
    assert_eq!(f["transferring"][0]["srcFs"], r["transferring"][0]["srcFs"]);
    // The final stats: the same totals as rclone's.
    let (rl, fl) = (last_stats(&rerr), last_stats(&ferr));
    for key in [
        "bytes",
        "totalBytes",
        "transfers",
        "totalTransfers",
        "errors",
    ] {
        assert_eq!(fl[key], rl[key], "{key}");
    }
    assert_eq!(known(shape(&fl)), known(shape(&rl)), "the final stats");
}
