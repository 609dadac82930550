//! The options of an http remote, read once and typed: the endpoint split into a URL
//! without credentials (safe to show) and the login it carried, and rclone's `headers`.

use ferry_core::kind::Options;
use ferry_core::secret::Secret;
use ferry_core::{Error, ErrorKind, Result};
use url::Url;

/// What an http remote asks for.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// The endpoint, ending in `/`, with any user and password taken out.
    pub base: Url,
    /// `user:pass@` of the endpoint, decoded (sent as basic authentication).
    pub login: Option<Login>,
    /// Extra headers for every request, in order.
    pub headers: Vec<(String, String)>,
    /// Directories may lack the trailing `/`: a file served as `text/html` is one.
    pub no_slash: bool,
    /// Paths are joined to the endpoint as they are, without URL escaping.
    pub no_escape: bool,
    /// `--contimeout` and `--timeout`.
    pub timeouts: ferry_core::net::Timeouts,
    /// `--user-agent`, `--header*` and the TLS flags.
    pub http: ferry_core::net::HttpSettings,
}

impl HttpOptions {
    /// Reads and checks the options of one remote.
    pub fn from_options(o: &Options) -> Result<HttpOptions> {
        let Some(url) = o.text("url").filter(|u| !u.is_empty()) else {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} the option url is required: the address of the web server's directory, e.g. url=https://example.com/files/",
                    o.remote()
                ),
            ));
        };
        let (base, login) = endpoint(url).map_err(|why| o.invalid("url", why))?;
        let headers =
            headers(o.text("headers").unwrap_or("")).map_err(|why| o.invalid("headers", why))?;
        Ok(HttpOptions {
            base,
            login,
            headers,
            no_slash: o.bool("no_slash")?,
            no_escape: o.bool("no_escape")?,
            timeouts: ferry_core::net::Timeouts::DEFAULT,
            http: Default::default(),
        })
    }
}

/// A user name and its password.
pub type Login = (String, Secret);

/// The endpoint as a directory URL (a `/` added as rclone adds it) without credentials,
/// and the credentials. The reasons never quote the URL: it may hold a password.
pub fn endpoint(text: &str) -> std::result::Result<(Url, Option<Login>), &'static str> {
    let mut url =
        Url::parse(text).map_err(|_| "not a URL (expected e.g. https://example.com/dir/)")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http:// and https:// URLs can be read");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host");
    }
    let login = match (url.username(), url.password()) {
        ("", None) => None,
        (user, pass) => Some((decoded(user)?, Secret::new(decoded(pass.unwrap_or(""))?))),
    };
    // Cannot fail for http(s) URLs with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok((url, login))
}

fn decoded(s: &str) -> std::result::Result<String, &'static str> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "the URL's user or password is not UTF-8 once decoded")
}

/// rclone's `headers`: one line of CSV (fields separated by `,`, a field may be quoted
/// with `"` and a `""` in it is one `"`), read as name, value, name, value...
pub fn headers(text: &str) -> std::result::Result<Vec<(String, String)>, &'static str> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let fields = ferry_core::kind::comma_separated(text).map_err(|_| {
        "not one line of CSV: quote a field holding a comma or a quote (\"a,b\"), and write a quote in it twice"
    })?;
    if fields.len() % 2 != 0 {
        return Err("odd number of fields: expected name,value pairs (e.g. \"Cookie,name=value\")");
    }
    let mut out = Vec::with_capacity(fields.len() / 2);
    for pair in fields.chunks(2) {
        let (name, value) = (pair[0].trim().to_owned(), pair[1].clone());
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err("a header name is not a valid HTTP header name");
        }
        if reqwest::header::HeaderValue::from_str(&value).is_err() {
            return Err("a header value holds characters HTTP headers can't carry");
        }
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_csv_pairs() {
        assert_eq!(headers("").unwrap(), vec![]);
        assert_eq!(
            headers("Cookie,name=value").unwrap(),
            vec![("Cookie".into(), "name=value".into())]
        );
        assert_eq!(
            headers(r#""Cookie","a=1,b=2","X-Quote","say ""hi""""#).unwrap(),
            vec![
                ("Cookie".into(), "a=1,b=2".into()),
                ("X-Quote".into(), "say \"hi\"".into())
            ]
        );
        assert!(headers("Cookie").unwrap_err().contains("odd"));
        assert!(headers("Cookie,a,Other").unwrap_err().contains("odd"));
        assert!(headers(r#""Cookie,a"#).is_err());
        assert!(headers("Bad Name,v").is_err());
    }

    #[test]
    fn the_endpoint_loses_its_login_and_gains_a_slash() {
        let (u, login) = endpoint("https://bob:p%40ss%20w@example.com:8443/files").unwrap();
        assert_eq!(u.as_str(), "https://example.com:8443/files/");
        let (user, pass) = login.unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("bob", "p@ss w"));
        let (u, login) = endpoint("http://127.0.0.1:8080").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/");
        assert!(login.is_none());
        assert!(endpoint("ftp://h/").is_err());
        let err = endpoint("http//bob:secret@h").unwrap_err();
        assert!(!err.contains("secret"));
    }
}
