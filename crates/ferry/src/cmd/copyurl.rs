//! `copyurl`: a URL's content to a file, or to standard output, as rclone does. The
//! file's name is the argument's, the URL's last segment (`-a`) or the Content-Disposition
//! header's (`-a --header-filename`); its modification time is Last-Modified's, else now.
//! `--urls` reads `URL[,FILENAME]` lines from a CSV file and copies them in parallel.

use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use ferry_core::{Backend, ByteStream, PutOptions, RelPath};
use futures::StreamExt;

use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct CopyurlArgs {
    /// The URL to copy (with --urls: a CSV file of URL,FILENAME lines)
    pub url: String,
    /// The destination file (a directory with --auto-filename or --urls; `-` for standard output)
    pub dest: Option<String>,
    /// Get the file name from the URL and use it for destination file path
    #[arg(short = 'a', long)]
    pub auto_filename: bool,
    /// Get the file name from the Content-Disposition header
    #[arg(long)]
    pub header_filename: bool,
    /// Print the resulting name from --auto-filename
    #[arg(short = 'p', long)]
    pub print_filename: bool,
    /// Prevent overwriting file with same name
    #[arg(long)]
    pub no_clobber: bool,
    /// Write the output to stdout rather than a file
    #[arg(long)]
    pub stdout: bool,
    /// Use a CSV file of links to process multiple URLs
    #[arg(long)]
    pub urls: bool,
    /// Number of URLs to copy in parallel with --urls
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub transfers: u32,
    /// Do a trial run with no permanent changes (the URL is still read)
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// Why one URL wasn't copied: rclone's words, and the exit code.
#[derive(Debug)]
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            code: exit::ERROR,
            message: message.into(),
        }
    }
}

impl From<ferry_core::Error> for Failure {
    fn from(e: ferry_core::Error) -> Failure {
        Failure {
            code: exit::code_for_kind(e.kind(), e.is_temporary()),
            message: e.to_string(),
        }
    }
}

/// What the command needs for each URL.
struct Fetcher<'a> {
    client: reqwest::Client,
    download_headers: &'a [(String, String)],
}

pub async fn copyurl(a: &CopyurlArgs, g: &Globals) -> anyhow::Result<i32> {
    let failed = |f: Failure| fail(f.code, format!("Failed to copyurl: {}", f.message));
    let (http, timeouts) = g.remotes.http();
    let client = ferry_httpclient::builder(&timeouts, http)
        .and_then(|b| ferry_httpclient::build(b, "copyurl"))
        .map_err(|e| failed(e.into()))?;
    let fetcher = Fetcher {
        client,
        download_headers: &http.download_headers,
    };
    if a.urls {
        return many(a, g, &fetcher).await;
    }
    let to_stdout = a.stdout || a.dest.as_deref() == Some("-");
    let Some(dest) = a.dest.as_deref().filter(|_| !to_stdout) else {
        if !to_stdout {
            return Err(failed(Failure::new(
                "need 2 arguments if not using --stdout",
            )));
        }
        return to_standard_output(&fetcher, &a.url).await.map_err(failed);
    };
    let (backend, path) = if a.auto_filename {
        (g.remotes.open_dir(dest)?, None)
    } else {
        let (b, p) = crate::cmd::ops::open_file_arg(g, "copyurl", dest)?;
        (b, Some(p))
    };
    let name = path.as_ref().map(|p| p.to_string()).unwrap_or_default();
    let stored = copy_one(a, &fetcher, &backend, &a.url, &name)
        .await
        .map_err(failed)?;
    if a.print_filename {
        if let Some(p) = stored {
            println!("{p}");
        }
    }
    Ok(exit::SUCCESS)
}

/// `--urls`: every line of the CSV file, `--transfers` at a time; one error line for each
/// URL that fails, and the run fails if any did.
async fn many(a: &CopyurlArgs, g: &Globals, fetcher: &Fetcher<'_>) -> anyhow::Result<i32> {
    let failed = |m: String| fail(exit::ERROR, format!("Failed to copyurl: {m}"));
    if a.stdout {
        return Err(failed("can't use --stdout with --urls".into()));
    }
    if a.print_filename {
        return Err(failed("can't use --print-filename with --urls".into()));
    }
    let Some(dest) = a.dest.as_deref() else {
        return Err(failed(
            "--urls needs a destination directory: ferry copyurl --urls FILE.csv remote:dir".into(),
        ));
    };
    let lines = read_csv(&a.url).map_err(failed)?;
    let backend = g.remotes.open_dir(dest)?;
    let results: Vec<Option<Failure>> = futures::stream::iter(lines)
        .map(|(url, name)| {
            let backend = backend.clone();
            async move {
                let res = copy_one(a, fetcher, &backend, &url, &name).await;
                res.err().inspect(|f| {
                    tracing::error!(
                        "{name}: failed to copy URL {:?}: {}",
                        shown(&url),
                        f.message
                    )
                })
            }
        })
        .buffer_unordered(a.transfers as usize)
        .collect()
        .await;
    match results.into_iter().flatten().last() {
        Some(f) => Err(fail(
            f.code,
            format!(
                "Failed to copyurl: not all URLs copied successfully: {}",
                f.message
            ),
        )),
        None => Ok(exit::SUCCESS),
    }
}

/// The CSV file's `(URL, FILENAME)` pairs (FILENAME empty: from the URL), as Go's CSV
/// reader reads them: quoted fields, any number of fields per line.
fn read_csv(file: &str) -> Result<Vec<(String, String)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(file)
        .map_err(|e| format!("failed to open .csv file: {e}"))?;
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("failed reading .csv file: {e}"))?;
        let Some(url) = record.get(0).filter(|u| !u.is_empty()) else {
            continue;
        };
        lines.push((url.to_owned(), record.get(1).unwrap_or("").to_owned()));
    }
    Ok(lines)
}

/// Copies `url` to `name` below `backend` (from the URL or its headers when `name` is
/// empty or `-a` is given); the name it was stored under.
async fn copy_one(
    a: &CopyurlArgs,
    fetcher: &Fetcher<'_>,
    backend: &Arc<dyn Backend>,
    url: &str,
    name: &str,
) -> Result<Option<String>, Failure> {
    let res = fetcher.get(url).await?;
    let auto = a.auto_filename || name.is_empty();
    let name = match auto {
        true if a.header_filename => disposition_name(&res).ok_or_else(|| {
            Failure::new("CopyURL failed: filename not found in the Content-Disposition header")
        })?,
        true => url_name(res.url())
            .ok_or_else(|| Failure::new("CopyURL failed: file name wasn't found in url"))?,
        false => name.to_owned(),
    };
    let path = RelPath::new(&name).map_err(|e| {
        Failure::new(format!(
            "CopyURL failed: {name:?} can't be stored as a file name: {e}"
        ))
    })?;
    if a.no_clobber && backend.stat(&path).await?.is_some() {
        return Err(Failure::new("CopyURL failed: file already exist"));
    }
    if a.dry_run {
        tracing::warn!("{path}: Skipped upload from pipe as --dry-run is set");
        return Ok(Some(name));
    }
    let mtime = res
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(ferry_core::timefmt::parse_http_date)
        .unwrap_or_else(SystemTime::now);
    let (data, size) = body(res, &path).await?;
    let opts = PutOptions {
        size,
        mtime,
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    };
    backend.put(&path, data, &opts).await?;
    Ok(Some(name))
}

impl Fetcher<'_> {
    /// A 2xx answer to a GET of `url`, or why not.
    async fn get(&self, url: &str) -> Result<reqwest::Response, Failure> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Failure::new(format!(
                    "{:?} is not a URL ferry can read: give an http:// or https:// URL",
                    shown(url)
                ))
            })?;
        let req = ferry_httpclient::with_headers(self.client.get(parsed), self.download_headers);
        let res = req.send().await.map_err(|e| {
            let timeout = e.is_timeout();
            Failure {
                code: match ferry_core::net::is_permanent(&e) {
                    true => exit::ERROR,
                    false => exit::TEMPORARY,
                },
                message: ferry_core::net::unreachable(
                    &ferry_core::net::target_of(url),
                    &e.without_url(),
                    timeout,
                ),
            }
        })?;
        let status = res.status();
        if !status.is_success() {
            return Err(Failure {
                code: match status.is_server_error() {
                    true => exit::TEMPORARY,
                    false => exit::ERROR,
                },
                message: format!("CopyURL failed: {status}"),
            });
        }
        Ok(res)
    }
}

/// `--stdout` (or `-` as the destination): the content to standard output.
async fn to_standard_output(fetcher: &Fetcher<'_>, url: &str) -> Result<i32, Failure> {
    let res = fetcher.get(url).await?;
    let mut reader = ferry_httpclient::download(res);
    let mut out = tokio::io::stdout();
    tokio::io::copy(&mut reader, &mut out)
        .await
        .map_err(|e| Failure::new(format!("CopyURL failed: {e}")))?;
    tokio::io::AsyncWriteExt::flush(&mut out)
        .await
        .map_err(|e| Failure::new(format!("CopyURL failed: {e}")))?;
    Ok(exit::SUCCESS)
}

/// The body as a sized stream: as it arrives when the length is known (and checked
/// against it), else spooled first.
async fn body(res: reqwest::Response, path: &RelPath) -> Result<(ByteStream, u64), Failure> {
    match res.content_length() {
        Some(n) => Ok((ferry_httpclient::download(res), n)),
        None => {
            let spooled = ferry_engine::spool(ferry_httpclient::download(res), path).await?;
            let n = spooled.len();
            Ok((spooled.into_stream(), n))
        }
    }
}

/// The last segment of the URL's path (after redirects), decoded, as Go's `path.Base`
/// takes it; `None` when there is none.
fn url_name(url: &reqwest::Url) -> Option<String> {
    let path = url.path().trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or("");
    let name = percent_encoding::percent_decode_str(last)
        .decode_utf8_lossy()
        .into_owned();
    (!name.is_empty() && name != ".").then_some(name)
}

/// The `filename` parameter of Content-Disposition (`filename*=UTF-8''...` too), its last
/// segment only, backslashes counted as separators.
fn disposition_name(res: &reqwest::Response) -> Option<String> {
    let header = res
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)?
        .to_str()
        .ok()?;
    let name = disposition_filename(header)?;
    let name = name.replace('\\', "/");
    let last = name.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && last != "." && last != "..").then(|| last.to_owned())
}

fn disposition_filename(header: &str) -> Option<String> {
    let mut plain = None;
    for param in header.split(';').skip(1) {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            // RFC 5987: charset'language'percent-encoded, preferred when given.
            "filename*" => {
                let encoded = value.splitn(3, '\'').nth(2)?;
                return Some(
                    percent_encoding::percent_decode_str(encoded)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
            }
            "filename" => plain = Some(unquote(value)),
            _ => {}
        }
    }
    plain.filter(|n| !n.is_empty())
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

/// A URL as it may be shown: no password, no query (a presigned URL's signature).
fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            if u.query().is_some() {
                u.set_query(Some("…"));
            }
            u.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls_are_their_last_decoded_segment() {
        let u = |s: &str| url_name(&reqwest::Url::parse(s).unwrap());
        assert_eq!(u("http://h/a/b%20c.txt?x=1").as_deref(), Some("b c.txt"));
        assert_eq!(u("http://h/a/dir/").as_deref(), Some("dir"));
        assert_eq!(u("http://h/"), None);
        assert_eq!(u("http://h"), None);
    }

    #[test]
    fn content_disposition_names() {
        let d = disposition_filename;
        assert_eq!(
            d("attachment; filename=\"a b.txt\"").as_deref(),
            Some("a b.txt")
        );
        assert_eq!(
            d("attachment; filename=plain.bin").as_deref(),
            Some("plain.bin")
        );
        assert_eq!(
            d("attachment; filename=\"x\"; filename*=UTF-8''%C3%A9t%C3%A9.txt").as_deref(),
            Some("été.txt")
        );
        assert_eq!(d("inline"), None);
        assert_eq!(d("attachment; filename=\"\""), None);
    }

    #[test]
    fn shown_urls_hide_passwords_and_queries() {
        assert_eq!(
            shown("https://u:secret@h/p?sig=abc"),
            "https://u@h/p?%E2%80%A6"
        );
        assert!(!shown("https://u:secret@h/p?sig=abc").contains("secret"));
    }

    #[test]
    fn csv_lines_take_quotes_and_missing_names() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("u.csv");
        std::fs::write(
            &f,
            "http://h/a,sub/x.txt\n\"http://h/b,c\"\n\nhttp://h/d,\n",
        )
        .unwrap();
        let got = read_csv(f.to_str().unwrap()).unwrap();
        assert_eq!(
            got,
            [
                ("http://h/a".to_owned(), "sub/x.txt".to_owned()),
                ("http://h/b,c".to_owned(), String::new()),
                ("http://h/d".to_owned(), String::new()),
            ]
        );
        assert!(read_csv("/nonexistent.csv")
            .unwrap_err()
            .starts_with("failed to open .csv file"));
    }
}
