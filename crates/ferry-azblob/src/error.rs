//! Failed requests in ferry's terms: a kind, whether retrying may help, and a message
//! that tells the user what to do — never a key, a signature or a SAS token.

use ferry_core::{Error, ErrorKind};

/// The facts of one failed request.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    /// Azure's error code (`x-ms-error-code`, or `<Code>` in the body).
    pub code: Option<String>,
    pub message: String,
    /// Timeouts, refused or dropped connections.
    pub transport: bool,
}

impl Failure {
    pub(crate) fn transport(message: String) -> Self {
        Failure {
            status: None,
            code: None,
            message,
            transport: true,
        }
    }

    /// From a response's status, error-code header and body (`<Error><Code>…<Message>…`).
    pub(crate) fn from_response(status: u16, header_code: Option<String>, body: &str) -> Self {
        let code = header_code.or_else(|| xml_field(body, "Code"));
        // Azure's message carries RequestId/Time lines after the first; keep the first.
        let detail = xml_field(body, "Message")
            .map(|m| m.lines().next().unwrap_or("").trim().to_owned())
            .filter(|m| !m.is_empty());
        let message = match (&code, detail) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.clone(),
            (None, Some(m)) => m,
            (None, None) => format!("HTTP status {status}"),
        };
        Failure {
            status: Some(status),
            code,
            message: redact(&message),
            transport: false,
        }
    }

    pub(crate) fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    pub(crate) fn is_temporary(&self) -> bool {
        self.transport
            || self
                .status
                .is_some_and(|s| s >= 500 || s == 429 || s == 408)
            || self.is_code("OperationTimedOut")
            || self.is_code("ServerBusy")
    }

    pub(crate) fn kind(&self) -> ErrorKind {
        if self.is_code("ContainerNotFound") {
            return ErrorKind::DirNotFound;
        }
        if self.is_not_found() {
            return ErrorKind::NotFound;
        }
        if self.status == Some(403) {
            return ErrorKind::Auth;
        }
        if self.is_code("Md5Mismatch") || self.is_code("InvalidMd5") {
            return ErrorKind::Corrupted;
        }
        ErrorKind::Io
    }

    /// What to do about an authorisation failure, by how the remote authenticates.
    fn hint(&self, sas: bool) -> Option<&'static str> {
        if self.status != Some(403) {
            return None;
        }
        Some(match (sas, self.code.as_deref()) {
            (true, Some("AuthorizationPermissionMismatch" | "AuthorizationResourceTypeMismatch")) => {
                "the SAS doesn't grant this operation: make a SAS with read, write, delete, list (and create) permissions"
            }
            (true, _) => {
                "the SAS was refused: it may have expired or not be valid yet; make a new SAS URL"
            }
            (false, _) if self.is_code("AuthenticationFailed") || self.message.contains("failed to authenticate") => {
                "the account key was refused: check the remote's `account` and `key` (copy the key again from the storage account's access keys)"
            }
            (false, _) => "access was refused: check the remote's credentials and permissions",
        })
    }

    pub(crate) fn into_error(self, op: &str, path: &str, sas: bool) -> Error {
        let temporary = self.is_temporary() || self.kind() == ErrorKind::Corrupted;
        let message = match self.hint(sas) {
            Some(h) => format!("{op}: {}: {h}", self.message),
            None => format!("{op}: {}", self.message),
        };
        Error::new(self.kind(), message)
            .with_path(path.to_owned())
            .temporary(temporary)
    }
}

/// The text of the first `<name>` element, unescaped.
fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    let raw = &body[start..end];
    Some(
        quick_xml::escape::unescape(raw)
            .map(|c| c.into_owned())
            .unwrap_or_else(|_| raw.to_owned()),
    )
}

/// Blanks out anything that looks like a SAS signature or an Authorization value, in
/// case a server echoes one back.
pub(crate) fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("sig=") {
        out.push_str(&rest[..i + 4]);
        out.push_str("REDACTED");
        rest = &rest[i + 4..];
        let end = rest
            .find(|c: char| c == '&' || c == '\'' || c == '"' || c.is_whitespace())
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    match out.find("SharedKey ") {
        Some(i) => format!("{}SharedKey REDACTED", &out[..i]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_azure_error_bodies() {
        let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.\nRequestId:1\nTime:x</Message></Error>";
        let f = Failure::from_response(403, None, body);
        assert_eq!(f.code.as_deref(), Some("AuthenticationFailed"));
        assert_eq!(
            f.message,
            "AuthenticationFailed: Server failed to authenticate the request."
        );
        let e = f.into_error("failed to list", "dir", false);
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert!(
            e.message()
                .contains("check the remote's `account` and `key`"),
            "{e}"
        );
        let f = Failure::from_response(404, Some("ContainerNotFound".into()), "");
        assert_eq!(f.kind(), ErrorKind::DirNotFound);
        assert!(Failure::from_response(503, None, "").is_temporary());
    }

    #[test]
    fn signatures_never_survive() {
        assert_eq!(
            redact("url https://a/b?sv=1&sig=abc%2Fdef&se=2 and sig=zz"),
            "url https://a/b?sv=1&sig=REDACTED&se=2 and sig=REDACTED"
        );
        assert_eq!(
            redact("Authorization: SharedKey acct:xyz"),
            "Authorization: SharedKey REDACTED"
        );
    }
}
