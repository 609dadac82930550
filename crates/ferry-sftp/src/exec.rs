//! Remote commands over an SSH exec channel: the `md5sum`/`sha1sum` hashes, with every
//! path quoted for a POSIX shell so no name is ever interpreted.

use russh::ChannelMsg;

use crate::conn::Conn;

/// What a remote command did.
#[derive(Debug)]
pub(crate) struct Output {
    /// `None` when the server refused to run it (no shell, ForceCommand, ...).
    pub status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `command` in a new session channel of `conn`.
pub(crate) async fn run(conn: &Conn, command: &str) -> Result<Output, String> {
    let mut ch = conn
        .handle
        .channel_open_session()
        .await
        .map_err(|e| e.to_string())?;
    ch.exec(true, command.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Output {
        status: None,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let mut refused = false;
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => out.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
            ChannelMsg::ExitSignal { .. } => out.status = Some(255),
            ChannelMsg::Failure => {
                refused = true;
                break;
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    let _ = ch.close().await;
    if refused {
        out.status = None;
    }
    Ok(out)
}

/// `s` as one word for a POSIX shell: inside single quotes nothing is special, and a
/// single quote itself is written `'\''`. Newlines, `$`, backquotes and `;` stay literal.
pub(crate) fn shell_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

/// The hash at the start of `md5sum`-style output (a leading `\` marks an escaped name).
pub(crate) fn parse_sum(line: &str, width: usize) -> Option<String> {
    let line = line.strip_prefix('\\').unwrap_or(line);
    let word = line.split_whitespace().next()?;
    (word.len() == width && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| word.to_ascii_lowercase())
}

/// Parses `md5sum`-style output for many paths, matching each line to its path by the
/// name it prints (GNU coreutils escapes `\` and newlines and marks the line with `\`).
pub(crate) fn parse_many(out: &str, width: usize) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for line in out.lines() {
        let (escaped, line) = match line.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        // A line from the server that isn't hex at `width` may cut a character there:
        // skipped like any other line that isn't a sum (never a panic).
        if line.len() < width + 2 || !line.is_char_boundary(width) {
            continue;
        }
        let (hash, rest) = line.split_at(width);
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        // "  name" (text mode) or " *name" (binary mode)
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .unwrap_or(rest);
        let name = if escaped {
            unescape(name)
        } else {
            name.to_string()
        };
        v.push((name, hash.to_ascii_lowercase()));
    }
    v
}

/// Parses POSIX `cksum` output for `paths`, given in that order on its command line:
/// `crc size name` per readable file, in argument order, names printed as they are (a
/// newline in a name stays a newline), so each line is matched against the next expected
/// name rather than split on line ends. A file that could not be read prints nothing on
/// stdout and gets `None`. Each sum is `"crc size"`, as [`cksum_of`] writes it.
pub(crate) fn parse_cksum(out: &str, paths: &[&str]) -> Vec<Option<String>> {
    let mut rest = out;
    paths
        .iter()
        .map(|p| {
            let (sum, after) = cksum_line(rest, p)?;
            rest = after;
            Some(sum)
        })
        .collect()
}

/// `"crc size path\n"` at the start of `s`: the sum and what follows the line.
fn cksum_line<'a>(s: &'a str, path: &str) -> Option<(String, &'a str)> {
    let digits = |t: &'a str| {
        let n = t.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| t.split_at(n))
    };
    let (crc, t) = digits(s.strip_prefix('\\').unwrap_or(s))?;
    let (size, t) = digits(t.strip_prefix(' ')?)?;
    let t = t.strip_prefix(' ')?;
    // Some versions escape a name holding `\` or a newline, and mark the line with `\`.
    let t = if s.starts_with('\\') {
        t.strip_prefix(escape(path).as_str())?
    } else {
        t.strip_prefix(path)?
    };
    Some((format!("{crc} {size}"), t.strip_prefix('\n')?))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// The POSIX `cksum` of `len` bytes whose CRC digest has been fed: the length goes in
/// last, low byte first, as cksum does.
pub(crate) fn cksum_of(mut digest: crc_fast::Digest, len: u64) -> String {
    let mut n = len;
    while n > 0 {
        digest.update(&[n as u8]);
        n >>= 8;
    }
    format!("{} {len}", digest.finalize())
}

/// A digest for [`cksum_of`].
pub(crate) fn cksum_digest() -> crc_fast::Digest {
    crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Cksum)
}

/// `cksum` of nothing: how the probe recognises a working command.
pub(crate) const EMPTY_CKSUM: &str = "4294967295 0";

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
pub(crate) const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(shell_quote("$(touch x)"), "'$(touch x)'");
        assert_eq!(shell_quote("x\ny"), "'x\ny'");
    }

    #[test]
    fn sums() {
        assert_eq!(
            parse_sum(&format!("{EMPTY_MD5}  /dev/null"), 32).as_deref(),
            Some(EMPTY_MD5)
        );
        assert_eq!(
            parse_sum(&format!("\\{EMPTY_MD5}  /a\\nb"), 32).as_deref(),
            Some(EMPTY_MD5)
        );
        assert_eq!(parse_sum("md5sum: x: No such file", 32), None);
        let many = parse_many(
            &format!("{EMPTY_MD5}  /a b\n\\{EMPTY_MD5}  /x\\ny\\\\z\n"),
            32,
        );
        assert_eq!(many[0].0, "/a b");
        assert_eq!(many[1].0, "/x\ny\\z");
    }

    #[test]
    fn cksum_matches_the_posix_command() {
        // `printf x | cksum` and `printf yy | cksum` print these.
        let mut d = cksum_digest();
        d.update(b"x");
        assert_eq!(cksum_of(d, 1), "12738659 1");
        let mut d = cksum_digest();
        d.update(b"yy");
        assert_eq!(cksum_of(d, 2), "2150708873 2");
        assert_eq!(cksum_of(cksum_digest(), 0), EMPTY_CKSUM);
    }

    #[test]
    fn cksum_output_is_matched_name_by_name_in_order() {
        // A name with a newline, a missing file (no line), and a name that is the
        // prefix of another.
        let out = "12738659 1 /d/a\nb\n2150708873 2 /d/c d\n7 3 /d/c d2\n";
        let got = parse_cksum(out, &["/d/a\nb", "/d/gone", "/d/c d", "/d/c d2"]);
        assert_eq!(
            got,
            vec![
                Some("12738659 1".to_string()),
                None,
                Some("2150708873 2".to_string()),
                Some("7 3".to_string()),
            ]
        );
        assert_eq!(parse_cksum("garbage\n", &["/x"]), vec![None]);
        let escaped = parse_cksum("\\7 3 /d/a\\nb\\\\c\n", &["/d/a\nb\\c"]);
        assert_eq!(escaped, vec![Some("7 3".to_string())]);
    }
}
