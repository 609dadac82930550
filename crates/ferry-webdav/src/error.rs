//! Failed requests in ferry's terms: a kind, whether retrying may help, and one line
//! saying what to do — never a password or a token.

use ferry_core::{Error, ErrorKind};

/// How much of an error body is read for its message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// The longest server message quoted.
const MESSAGE_LIMIT: usize = 200;

/// What the server answered (rclone retries the same ones): locked, too early, too
/// many requests, and the server-side failures.
const TEMPORARY: [u16; 8] = [423, 425, 429, 500, 502, 503, 504, 509];

/// The facts of one failed request.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub message: String,
    /// Timeouts, refused or dropped connections.
    pub transport: bool,
}

impl Failure {
    pub fn transport(message: String) -> Self {
        Failure {
            status: None,
            message,
            transport: true,
        }
    }

    /// A failure found on this side (a bad redirect, a token command that failed).
    pub fn local(message: String) -> Self {
        Failure {
            status: None,
            message,
            transport: false,
        }
    }

    pub fn status(status: u16, message: String) -> Self {
        Failure {
            status: Some(status),
            message,
            transport: false,
        }
    }

    /// From a response's status and body (Sabre/ownCloud `<s:message>`, or plain text).
    pub fn from_response(status: u16, body: &str) -> Self {
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let message = match server_message(body) {
            Some(m) => format!("HTTP {status} {reason}: {m}"),
            None => format!("HTTP {status} {reason}"),
        };
        Failure::status(status, message.trim_end().to_owned())
    }

    pub fn is(&self, status: u16) -> bool {
        self.status == Some(status)
    }

    pub fn is_temporary(&self) -> bool {
        self.transport
            || self
                .status
                .is_some_and(|s| TEMPORARY.contains(&s) || s == 408)
    }

    pub fn kind(&self) -> ErrorKind {
        match self.status {
            Some(401 | 403) => ErrorKind::Auth,
            Some(404 | 410) => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        }
    }

    /// An error about `op` on `path` of `remote`; `token`: the remote logs in with a
    /// bearer token (so that is what to check).
    pub fn into_error(self, remote: &str, op: &str, path: &str, token: bool) -> Error {
        let message = match self.status {
            Some(401) if token => format!(
                "{remote} refused the bearer token ({}): check bearer_token (or bearer_token_command)",
                self.message
            ),
            Some(401) => format!(
                "{remote} refused the login ({}): check the remote's user and pass (pass is stored \
                 obscured, as `rclone obscure` makes it)",
                self.message
            ),
            Some(403) => format!(
                "{op}: {}: the server does not let this user do that here; check the account's permissions",
                self.message
            ),
            _ => format!("{op}: {}", self.message),
        };
        Error::new(self.kind(), message)
            .with_path(path.to_owned())
            .temporary(self.is_temporary())
    }
}

/// The text a server put in its error body: Sabre's (Nextcloud's, ownCloud's)
/// `<s:message>`, or the first line of a plain-text body. HTML pages say nothing useful.
fn server_message(body: &str) -> Option<String> {
    let body = body.trim();
    let text = if body.starts_with('<') {
        let start = body.find(":message>").or_else(|| body.find("<message>"))?;
        let rest = &body[start..];
        let rest = &rest[rest.find('>')? + 1..];
        rest[..rest.find('<')?].trim().to_owned()
    } else {
        body.lines().next().unwrap_or("").trim().to_owned()
    };
    let text: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MESSAGE_LIMIT)
        .collect();
    (!text.is_empty()).then_some(text)
}

/// The start of a response body (for its error message).
pub(crate) async fn read_limited(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds_and_retries() {
        let f = Failure::from_response(
            401,
            r#"<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>Sabre\DAV\Exception\NotAuthenticated</s:exception><s:message>No public access to this resource.</s:message></d:error>"#,
        );
        assert_eq!(f.kind(), ErrorKind::Auth);
        assert!(!f.is_temporary());
        let e = f.into_error(":webdav:", "list", "", false);
        assert!(
            e.message()
                .contains("refused the login (HTTP 401 Unauthorized: No public access"),
            "{e}"
        );
        assert!(
            e.message().contains("check the remote's user and pass"),
            "{e}"
        );
        let f = Failure::from_response(503, "<html><body>busy</body></html>");
        assert!(f.is_temporary());
        assert_eq!(f.message, "HTTP 503 Service Unavailable");
        assert_eq!(
            Failure::from_response(404, "Not found\nmore").message,
            "HTTP 404 Not Found: Not found"
        );
        assert_eq!(Failure::from_response(404, "").kind(), ErrorKind::NotFound);
        assert!(Failure::transport("refused".into()).is_temporary());
    }
}
