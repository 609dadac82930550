//! `--log-file` with rclone's rotation (`--log-file-max-size`, `--log-file-max-backups`,
//! `--log-file-max-age`, `--log-file-compress`), as rclone's logger rotates: when a line
//! would take the file past the size, the file is renamed `NAME-2006-01-02T15-04-05.000.EXT`
//! (local time) and a new one started; old ones are gzipped if asked, then the oldest
//! beyond the count or the age are removed. Sizes are whole MiB and ages whole days, as
//! rclone rounds them (anything above zero at least one).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// When and how the log file is rotated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub max_size: u64,
    /// Old files kept (0: all).
    pub max_backups: usize,
    /// Old files older than this removed (`None`: never).
    pub max_age: Option<Duration>,
    pub compress: bool,
}

const MIB: u64 = 1 << 20;
/// The time in a rotated file's name (Go's `2006-01-02T15-04-05.000`, local time).
const STAMP: &str = "%Y-%m-%dT%H-%M-%S%.3f";
const DAY: u64 = 86_400;

impl Rotation {
    /// From the flags: `max_size` below zero is no rotation (rclone's default); zero is
    /// rclone's logger's own default, 100 MiB.
    pub fn from_flags(
        max_size: i64,
        max_backups: usize,
        max_age: Duration,
        compress: bool,
    ) -> Option<Rotation> {
        if max_size < 0 {
            return None;
        }
        let round = |x: f64| match x {
            x if x <= 0.0 => 0,
            x if x <= 1.0 => 1,
            x => (x + 0.5) as u64,
        };
        let mib = match round(max_size as f64 / MIB as f64) {
            0 => 100,
            n => n,
        };
        let days = round(max_age.as_secs_f64() / DAY as f64);
        Some(Rotation {
            max_size: mib * MIB,
            max_backups,
            max_age: (days > 0).then(|| Duration::from_secs(days * DAY)),
            compress,
        })
    }
}

/// The log file being written.
pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Option<Rotation>,
}

impl LogFile {
    pub fn open(path: &Path, rotation: Option<Rotation>) -> io::Result<LogFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path: path.to_owned(),
            file,
            size,
            rotation,
        })
    }

    /// Writes one line, rotating first if it would take the file past its size.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let full = self
            .rotation
            .as_ref()
            .is_some_and(|r| self.size > 0 && self.size + line.len() as u64 > r.max_size);
        if full {
            // A rotation that fails leaves the lines going to the file as it is.
            let _ = self.rotate();
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let Some(r) = self.rotation.clone() else {
            return Ok(());
        };
        let backup = backup_name(&self.path, SystemTime::now());
        std::fs::rename(&self.path, &backup)?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        if r.compress {
            gzip(&backup)?;
        }
        prune(&self.path, &r)
    }
}

/// `dir/ferry.log` → `dir/ferry-2026-12-07T01-50-00.123.log`.
fn backup_name(path: &Path, at: SystemTime) -> PathBuf {
    let (stem, ext) = stem_ext(path);
    let stamp = chrono::DateTime::<chrono::Local>::from(at).format(STAMP);
    path.with_file_name(format!("{stem}-{stamp}{ext}"))
}

/// The name's stem and extension (with its dot; empty when there is none).
fn stem_ext(path: &Path) -> (String, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.rfind('.') {
        Some(i) if i > 0 => (name[..i].to_owned(), name[i..].to_owned()),
        _ => (name, String::new()),
    }
}

fn gzip(path: &Path) -> io::Result<()> {
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let mut input = File::open(path)?;
    let out = File::create(&gz_name)?;
    let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    io::copy(&mut input, &mut enc)?;
    enc.finish()?.sync_all()?;
    std::fs::remove_file(path)
}

/// Removes the old files beyond the count and the age, the oldest first.
fn prune(path: &Path, r: &Rotation) -> io::Result<()> {
    let (stem, ext) = stem_ext(path);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!("{stem}-");
    let mut old: Vec<(chrono::NaiveDateTime, PathBuf)> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&prefix)?;
            let stamp = rest
                .strip_suffix(".gz")
                .unwrap_or(rest)
                .strip_suffix(ext.as_str())?;
            let at = chrono::NaiveDateTime::parse_from_str(stamp, STAMP).ok()?;
            Some((at, e.path()))
        })
        .collect();
    old.sort_by_key(|(at, _)| std::cmp::Reverse(*at)); // newest first
    let now = chrono::Local::now().naive_local();
    for (i, (at, p)) in old.iter().enumerate() {
        let too_many = r.max_backups > 0 && i >= r.max_backups;
        let too_old = r
            .max_age
            .is_some_and(|age| (now - *at).to_std().is_ok_and(|d| d > age));
        if too_many || too_old {
            std::fs::remove_file(p)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_round_as_rclones() {
        assert_eq!(Rotation::from_flags(-1, 0, Duration::ZERO, false), None);
        let r = Rotation::from_flags(0, 0, Duration::ZERO, false).unwrap();
        assert_eq!((r.max_size, r.max_age), (100 * MIB, None));
        let r = Rotation::from_flags(10 * 1024, 3, Duration::from_secs(3600), true).unwrap();
        assert_eq!(r.max_size, MIB, "anything above zero is at least 1 MiB");
        assert_eq!(r.max_age, Some(Duration::from_secs(DAY)));
        let r = Rotation::from_flags(5 * MIB as i64 / 2, 0, Duration::from_secs(3 * DAY), false)
            .unwrap();
        assert_eq!(
            (r.max_size, r.max_age),
            (3 * MIB, Some(Duration::from_secs(3 * DAY)))
        );
    }

    #[test]
    fn a_full_file_is_renamed_compressed_and_the_oldest_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        let rotation = Rotation {
            max_size: 100,
            max_backups: 2,
            max_age: None,
            compress: true,
        };
        let mut f = LogFile::open(&path, Some(rotation)).unwrap();
        let line = [b'x'; 60];
        for _ in 0..4 {
            f.write_line(&line).unwrap();
            // Distinct stamps (milliseconds) for each backup.
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 60);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "run.log")
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        for n in &names {
            assert!(n.starts_with("run-") && n.ends_with(".log.gz"), "{n}");
        }
        assert_eq!(
            backup_name(Path::new("/x/a.b.log"), SystemTime::UNIX_EPOCH)
                .extension()
                .unwrap(),
            "log"
        );
        assert_eq!(
            stem_ext(Path::new("/x/noext")),
            ("noext".into(), String::new())
        );
    }
}
