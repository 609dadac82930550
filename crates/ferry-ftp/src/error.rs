//! suppaftp's errors as ferry's: a kind, whether a retry may help, and one line.

use std::io;

use ferry_core::{Error, ErrorKind};
use suppaftp::{FtpError, Status};

/// The reply code of a refused command, if the server answered at all.
pub fn code(err: &FtpError) -> Option<u32> {
    match err {
        FtpError::UnexpectedResponse(r) => Some(match r.status {
            // suppaftp has no name for some codes (521...): read the digits.
            Status::Unknown => std::str::from_utf8(r.body.get(..3)?).ok()?.parse().ok()?,
            s => s.code(),
        }),
        _ => None,
    }
}

/// The server's reply text, on one line, without the code.
pub fn reply_text(err: &FtpError) -> String {
    match err {
        FtpError::UnexpectedResponse(r) => {
            let text = String::from_utf8_lossy(&r.body);
            let line = text.lines().last().unwrap_or("").trim();
            line.get(4..).unwrap_or(line).trim().to_owned()
        }
        other => other.to_string(),
    }
}

/// Whether the connection itself is gone (the server closed it, a reset, a timeout):
/// another connection may well succeed.
pub fn is_lost(err: &FtpError) -> bool {
    match err {
        FtpError::ConnectionError(_) | FtpError::BadResponse => true,
        // 421: the server is closing this connection.
        FtpError::UnexpectedResponse(_) => code(err) == Some(421),
        _ => false,
    }
}

/// `err` for an operation `what` on `path` (the path as ferry names it).
pub fn op_error(err: FtpError, what: &str, path: &str) -> Error {
    let c = code(&err);
    let (kind, temporary) = match c {
        Some(530) => (ErrorKind::Auth, false),
        Some(550) => (ErrorKind::NotFound, false),
        Some(c) if (400..500).contains(&c) => (ErrorKind::Io, true),
        Some(_) => (ErrorKind::Io, false),
        None => match &err {
            FtpError::ConnectionError(e) => (ErrorKind::Io, temporary_io(e)),
            FtpError::SecureError(_) => (ErrorKind::Io, false),
            _ => (ErrorKind::Io, true),
        },
    };
    let message = match c {
        Some(c) => format!("{what}: the server answered {c} {}", reply_text(&err)),
        None => format!("{what}: {}", describe(&err)),
    };
    Error::new(kind, message)
        .with_path(path.to_owned())
        .temporary(temporary)
}

/// Like [`op_error`], but 550 means something other than "missing" (permissions, a
/// directory that is not empty): a permanent failure, not "not found".
pub fn op_error_not_missing(err: FtpError, what: &str, path: &str) -> Error {
    let e = op_error(err, what, path);
    if e.kind() == ErrorKind::NotFound {
        e.with_kind(ErrorKind::Io)
    } else {
        e
    }
}

fn temporary_io(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
    )
}

/// One line for a transport error (no Debug dumps).
pub fn describe(err: &FtpError) -> String {
    match err {
        FtpError::ConnectionError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the server closed the connection".to_owned()
        }
        FtpError::ConnectionError(e) => format!("connection failed ({e})"),
        FtpError::BadResponse => "the server sent a reply ferry can't read".to_owned(),
        other => other.to_string(),
    }
}

/// A failure to reach or log in to the server, said once for the whole remote.
pub fn connect_error(err: FtpError, remote: &str, target: &str) -> Error {
    match &err {
        FtpError::ConnectionError(e) => {
            let timeout = e.kind() == io::ErrorKind::TimedOut;
            let line = ferry_core::net::unreachable(target, e, timeout);
            Error::new(ErrorKind::Io, format!("{remote} {line}")).temporary(true)
        }
        FtpError::SecureError(why) => Error::new(
            ErrorKind::Auth,
            format!(
                "{remote} TLS with {target} failed: {why} — if the server's certificate is \
                 self-signed or names another host and you trust it, set \
                 no_check_certificate = true"
            ),
        ),
        _ => match code(&err) {
            Some(530) => Error::new(
                ErrorKind::Auth,
                format!(
                    "{remote} login to {target} refused ({}) — check user and pass \
                     (pass is stored obscured: `ferry config password` or `rclone obscure`)",
                    reply_text(&err)
                ),
            ),
            _ => op_error(err, &format!("{remote} connecting to {target}"), ""),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suppaftp::types::Response;

    fn reply(code: u32, text: &str) -> FtpError {
        FtpError::UnexpectedResponse(Response::new(
            Status::from(code),
            format!("{code} {text}\r\n").into_bytes(),
        ))
    }

    #[test]
    fn codes_map_to_kinds() {
        let e = op_error(reply(550, "No such file"), "delete", "a/b");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            "a/b: delete: the server answered 550 No such file"
        );
        let e = op_error(reply(451, "Local error"), "upload", "x");
        assert!(e.is_temporary());
        let e = op_error(reply(553, "Bad name"), "upload", "x");
        assert!(!e.is_temporary() && e.kind() == ErrorKind::Io);
        assert_eq!(code(&reply(521, "exists")), Some(521));
        assert!(is_lost(&reply(421, "Timeout")));
        let e = connect_error(reply(530, "Login authentication failed"), ":ftp:", "h:21");
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert!(e.to_string().contains("check user and pass"), "{e}");
        let refused = FtpError::ConnectionError(io::Error::from(io::ErrorKind::ConnectionRefused));
        let e = connect_error(refused, ":ftp:", "127.0.0.1:1");
        assert!(e.is_temporary());
        assert!(
            e.to_string()
                .starts_with(":ftp: connection refused to 127.0.0.1:1"),
            "{e}"
        );
    }
}
