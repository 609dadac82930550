//! What one remote's options mean: the server's URL, how ferry logs in, how names are
//! stored, and what the vendor's server can do.

use std::path::PathBuf;
use std::time::Duration;

use ferry_core::encoding::Encoding;
use ferry_core::kind::Options;
use ferry_core::net::Timeouts;
use ferry_core::{Error, ErrorKind, Result, Secret};
use reqwest::Url;

/// The vendors rclone 1.75 knows (its `vendor` examples).
pub const VENDORS: &[&str] = &[
    "other",
    "nextcloud",
    "owncloud",
    "infinitescale",
    "sharepoint",
    "sharepoint-ntlm",
    "rclone",
    "fastmail",
];

/// What one vendor's server does beyond plain WebDAV (rclone's per-vendor quirks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vendor {
    pub name: &'static str,
    /// Takes the modification time from an `X-OC-Mtime` header on PUT, MOVE and COPY.
    pub oc_mtime: bool,
    /// Sets a modification time with PROPPATCH of `lastmodified`.
    pub propset_mtime: bool,
    /// Lists `oc:checksums` with MD5 / SHA-1.
    pub oc_md5: bool,
    pub oc_sha1: bool,
    /// Lists a SHA-1 as Fastmail's `sha1hex`.
    pub me_sha1: bool,
    /// Asks PROPFIND for the standard properties only (plain servers).
    pub standard_props: bool,
}

impl Vendor {
    pub fn of(name: &'static str) -> Vendor {
        let mut v = Vendor {
            name,
            oc_mtime: false,
            propset_mtime: false,
            oc_md5: false,
            oc_sha1: false,
            me_sha1: false,
            standard_props: false,
        };
        match name {
            "owncloud" => {
                (v.oc_mtime, v.propset_mtime, v.oc_md5, v.oc_sha1) = (true, true, true, true);
            }
            "nextcloud" | "infinitescale" => {
                (v.oc_mtime, v.propset_mtime, v.oc_sha1) = (true, true, true);
            }
            "fastmail" => (v.oc_mtime, v.me_sha1) = (true, true),
            "rclone" => v.oc_mtime = true,
            _ => v.standard_props = true,
        }
        v
    }

    /// How finely the server keeps the times ferry sends; `None`: it keeps none of
    /// them (its own upload time is listed), so sizes alone decide, as in rclone.
    pub fn precision(&self) -> Option<Duration> {
        self.oc_mtime.then_some(Duration::from_secs(1))
    }

    /// Whether listings carry ownCloud's checksum properties (asked for by name).
    pub fn oc_checksums(&self) -> bool {
        self.oc_md5 || self.oc_sha1
    }
}

/// How requests are authorised.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic {
        user: String,
        pass: Secret,
    },
    Bearer(Secret),
    /// A command printing the token; run at open and again when the token is refused.
    Command(Vec<String>),
}

/// One remote's options, read and checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The remote as messages name it (`name:` or `:webdav:`).
    pub remote: String,
    /// The server URL, ending in `/`.
    pub url: Url,
    pub vendor: Vendor,
    pub auth: Auth,
    pub encoding: Encoding,
    pub headers: Vec<(String, String)>,
    pub exclude_shares: bool,
    pub exclude_mounts: bool,
    pub unix_socket: Option<PathBuf>,
    pub auth_redirect: bool,
    /// `--contimeout` and `--timeout`.
    pub timeouts: Timeouts,
    /// `--user-agent`, `--header*` and the TLS flags.
    pub http: ferry_core::net::HttpSettings,
    /// `--dump`.
    pub dump: ferry_core::dump::Dump,
}

impl Settings {
    pub fn from_options(o: &Options) -> Result<Settings> {
        let remote = o.remote().to_owned();
        let vendor = Vendor::of(o.choice("vendor")?.unwrap_or("other"));
        if vendor.name.starts_with("sharepoint") {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{remote} vendor {} is not supported by ferry yet (it signs in through {}); use rclone for this remote",
                    vendor.name,
                    if vendor.name == "sharepoint" { "Microsoft's login service" } else { "NTLM" }
                ),
            ));
        }
        let url = parse_url(o)?;
        let auth = if o.is_set("user") || o.is_set("pass") {
            Auth::Basic {
                user: o.string("user").unwrap_or_default(),
                pass: o.revealed("pass")?.unwrap_or_default(),
            }
        } else if let Some(t) = o.text("bearer_token") {
            Auth::Bearer(Secret::new(t))
        } else if let Some(cmd) = o.text("bearer_token_command") {
            let words = split_list(cmd, ' ').map_err(|e| o.invalid("bearer_token_command", &e))?;
            Auth::Command(words.into_iter().filter(|w| !w.is_empty()).collect())
        } else {
            Auth::None
        };
        // rclone's default is identity for every vendor but sharepoint-ntlm (refused above).
        let encoding = match o.text("encoding") {
            Some(_) => o.encoding()?,
            None => Encoding::NONE,
        };
        Ok(Settings {
            remote,
            url,
            vendor,
            auth,
            encoding,
            headers: headers(o)?,
            exclude_shares: o.bool("owncloud_exclude_shares")?,
            exclude_mounts: o.bool("owncloud_exclude_mounts")?,
            unix_socket: o.text("unix_socket").map(PathBuf::from),
            auth_redirect: o.bool("auth_redirect")?,
            timeouts: Timeouts::DEFAULT,
            http: Default::default(),
            dump: Default::default(),
        })
    }
}

fn parse_url(o: &Options) -> Result<Url> {
    let Some(text) = o.text("url") else {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{} needs url: the address of the WebDAV server, e.g. url=https://example.com/remote.php/webdav/",
                o.remote()
            ),
        ));
    };
    let mut url = Url::parse(text).map_err(|e| o.invalid("url", &e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(o.invalid("url", "expected an http:// or https:// URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(o.invalid(
            "url",
            "put the user name and password in the options user and pass, not in the URL",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// rclone's `headers`: a CSV line of name,value pairs.
fn headers(o: &Options) -> Result<Vec<(String, String)>> {
    let Some(text) = o.text("headers") else {
        return Ok(Vec::new());
    };
    let fields = split_list(text, ',').map_err(|e| o.invalid("headers", &e))?;
    if fields.len() % 2 != 0 {
        return Err(o.invalid(
            "headers",
            "expected name,value pairs (an even number of fields)",
        ));
    }
    let pairs: Vec<(String, String)> = fields
        .chunks(2)
        .map(|p| (p[0].trim().to_owned(), p[1].clone()))
        .collect();
    for (name, value) in &pairs {
        let ok = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(value).is_ok();
        if !ok {
            return Err(o.invalid("headers", &format!("{name:?} is not a valid header")));
        }
    }
    Ok(pairs)
}

/// Splits one CSV line at `sep`: a field may be quoted with `"`, a quote inside a quoted
/// field doubled (rclone's CommaSepList and SpaceSepList).
pub fn split_list(text: &str, sep: char) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            c if c == sep && !quoted => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KIND;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::from_pairs(&KIND, pairs.iter().copied())
    }

    #[test]
    fn vendors_decide_times_and_hashes() {
        let s = Settings::from_options(&opts(&[("url", "http://h:1/dav")])).unwrap();
        assert_eq!(s.url.as_str(), "http://h:1/dav/");
        assert_eq!(s.vendor.name, "other");
        assert!(s.vendor.standard_props && s.vendor.precision().is_none());
        assert_eq!(s.encoding, Encoding::NONE);
        let n = Vendor::of("nextcloud");
        assert!(n.oc_mtime && n.propset_mtime && n.oc_sha1 && !n.oc_md5);
        assert_eq!(n.precision(), Some(Duration::from_secs(1)));
        let r = Vendor::of("rclone");
        assert!(r.oc_mtime && !r.propset_mtime && !r.oc_checksums());
        let e = Settings::from_options(&opts(&[
            ("url", "http://h/"),
            ("vendor", "sharepoint-ntlm"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("NTLM"), "{e}");
    }

    #[test]
    fn credentials_are_read_as_rclone_stores_them() {
        let ob = ferry_core::obscure::obscure("s3cret").unwrap();
        let s =
            Settings::from_options(&opts(&[("url", "http://h/"), ("user", "u"), ("pass", &ob)]))
                .unwrap();
        match s.auth {
            Auth::Basic { user, pass } => {
                assert_eq!((user.as_str(), pass.expose()), ("u", "s3cret"))
            }
            other => panic!("{other:?}"),
        }
        let e =
            Settings::from_options(&opts(&[("url", "http://h/"), ("pass", "plain")])).unwrap_err();
        assert!(!e.to_string().contains("plain"), "{e}");
        let s = Settings::from_options(&opts(&[
            ("url", "http://h/"),
            ("bearer_token_command", "echo \"a b\" c"),
        ]))
        .unwrap();
        assert!(matches!(&s.auth, Auth::Command(w) if w == &["echo", "a b", "c"]));
        let e = Settings::from_options(&opts(&[("url", "http://u:p@h/")])).unwrap_err();
        assert!(e.to_string().contains("user and pass"), "{e}");
        assert!(Settings::from_options(&opts(&[]))
            .unwrap_err()
            .to_string()
            .contains("needs url"));
    }

    #[test]
    fn headers_are_csv_pairs() {
        let s = Settings::from_options(&opts(&[
            ("url", "http://h/"),
            ("headers", "Cookie,a=b,\"X-Note\",\"say \"\"hi\"\", ok\""),
        ]))
        .unwrap();
        assert_eq!(
            s.headers,
            [
                ("Cookie".into(), "a=b".into()),
                ("X-Note".into(), "say \"hi\", ok".into())
            ]
        );
        assert!(Settings::from_options(&opts(&[("url", "http://h/"), ("headers", "a")])).is_err());
        assert!(
            Settings::from_options(&opts(&[("url", "http://h/"), ("headers", "bad name,v")]))
                .is_err()
        );
    }

    #[test]
    fn encoding_defaults_by_vendor_unless_set() {
        let s = Settings::from_options(&opts(&[("url", "http://h/"), ("encoding", "Slash,Dot")]))
            .unwrap();
        assert_eq!(s.encoding, Encoding::parse("Slash,Dot").unwrap());
    }
}
