//! smb-rs's errors as ferry's: a kind, whether a retry may help, and one line.

use ferry_core::{Error, ErrorKind};
use smb::{Error as SmbError, Status};

/// NT status codes smb-rs has no name for.
const STATUS_NOT_A_DIRECTORY: u32 = 0xC000_0103;
const STATUS_WRONG_PASSWORD: u32 = 0xC000_006A;
const STATUS_NO_SUCH_USER: u32 = 0xC000_0064;
const STATUS_ACCOUNT_DISABLED: u32 = 0xC000_0072;
const STATUS_PASSWORD_EXPIRED: u32 = 0xC000_0071;
const STATUS_DELETE_PENDING: u32 = 0xC000_0056;

/// The NT status the server answered, if it answered.
pub fn status(err: &SmbError) -> Option<u32> {
    match err {
        SmbError::ReceivedErrorMessage(s, _) | SmbError::UnexpectedMessageStatus(s) => Some(*s),
        _ => None,
    }
}

/// The name is not there (the file, or a directory on its way).
pub fn is_missing(err: &SmbError) -> bool {
    matches!(
        status(err),
        Some(
            Status::U32_OBJECT_NAME_NOT_FOUND
                | Status::U32_OBJECT_PATH_NOT_FOUND
                | STATUS_NOT_A_DIRECTORY
                | STATUS_DELETE_PENDING
        )
    )
}

/// The name is taken.
pub fn is_collision(err: &SmbError) -> bool {
    status(err) == Some(Status::U32_OBJECT_NAME_COLLISION)
}

/// The server refused who we are (at login or for a share).
pub fn is_auth(err: &SmbError) -> bool {
    matches!(
        status(err),
        Some(
            Status::U32_LOGON_FAILURE
                | STATUS_WRONG_PASSWORD
                | STATUS_NO_SUCH_USER
                | STATUS_ACCOUNT_DISABLED
                | STATUS_PASSWORD_EXPIRED
                | Status::U32_USER_ACCOUNT_LOCKED_OUT
        )
    ) || matches!(err, SmbError::SspiError(_))
}

/// The connection (or its session) is gone: another connection may well succeed.
pub fn is_lost(err: &SmbError) -> bool {
    match err {
        SmbError::ConnectionStopped
        | SmbError::IoError(_)
        | SmbError::TransportError(_)
        | SmbError::OperationTimeout(..)
        // smb-rs's connection worker is gone (its socket was reset): every request on it
        // fails this way ("Failed to send message to worker!") until it is replaced.
        | SmbError::MessageProcessingError(_)
        | SmbError::JoinError(_) => true,
        _ => matches!(
            status(err),
            Some(
                Status::U32_NETWORK_NAME_DELETED
                    | Status::U32_USER_SESSION_DELETED
                    | Status::U32_NETWORK_SESSION_EXPIRED
                    | Status::U32_SMB_BAD_TID
                    | Status::U32_SMB_BAD_UID
            )
        ),
    }
}

/// One line for an smb-rs error (its status by name, no Debug dump).
pub fn describe(err: &SmbError) -> String {
    match status(err) {
        Some(s) => format!("the server answered {}", Status::try_display_as_status(s)),
        None if is_lost(err) => format!("the connection failed ({err})"),
        None => err.to_string(),
    }
}

/// `err` for an operation `what` on `path` (the path as ferry names it).
pub fn op_error(err: SmbError, what: &str, path: &str) -> Error {
    let s = status(&err);
    let (kind, temporary) = if is_missing(&err) {
        (ErrorKind::NotFound, false)
    } else if is_lost(&err) {
        (ErrorKind::Io, true)
    } else if is_collision(&err) {
        (ErrorKind::AlreadyExists, false)
    } else if s == Some(Status::U32_ACCESS_DENIED) {
        (ErrorKind::PermissionDenied, false)
    } else if is_auth(&err) {
        (ErrorKind::Auth, false)
    } else if s == Some(Status::U32_SHARING_VIOLATION) {
        (ErrorKind::Io, true)
    } else {
        (ErrorKind::Io, false)
    };
    Error::new(kind, format!("{what}: {}", describe(&err)))
        .with_path(path.to_owned())
        .temporary(temporary)
}

/// Like [`op_error`], where "missing" means something other than the path itself
/// (a rename's or mkdir's parent): a permanent I/O failure.
pub fn op_error_not_missing(err: SmbError, what: &str, path: &str) -> Error {
    let e = op_error(err, what, path);
    if e.kind() == ErrorKind::NotFound {
        e.with_kind(ErrorKind::Io)
    } else {
        e
    }
}

/// A failure to reach, log in to, or open a share on the server, said once for the
/// whole remote.
pub fn connect_error(err: SmbError, remote: &str, target: &str, share: &str) -> Error {
    if is_auth(&err) {
        return Error::new(
            ErrorKind::Auth,
            format!(
                "{remote} login to {target} refused ({}) — check user, pass and domain \
                 (pass is stored obscured: `ferry config password` or `rclone obscure`)",
                match status(&err) {
                    Some(s) => Status::try_display_as_status(s),
                    None => "NTLM authentication failed".to_owned(),
                }
            ),
        );
    }
    if status(&err) == Some(Status::U32_BAD_NETWORK_NAME) {
        return Error::new(
            ErrorKind::DirNotFound,
            format!("{remote} {target} has no share {share:?} (`ferry lsd {remote}` lists them)"),
        );
    }
    if status(&err) == Some(Status::U32_ACCESS_DENIED) {
        return Error::new(
            ErrorKind::PermissionDenied,
            format!("{remote} {target} refused access to the share {share:?}"),
        );
    }
    if let Some(io) = io_source(&err) {
        let timeout = io.kind() == std::io::ErrorKind::TimedOut;
        let line = ferry_core::net::unreachable(target, io, timeout);
        return Error::new(ErrorKind::Io, format!("{remote} {line}")).temporary(true);
    }
    Error::new(
        ErrorKind::Io,
        format!("{remote} connecting to {target}: {}", describe(&err)),
    )
    .temporary(is_lost(&err))
}

/// The I/O error under an smb-rs error, if the failure was the socket's.
fn io_source(err: &SmbError) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = e.source();
    }
    None
}

/// A connection attempt that took longer than `--contimeout`.
pub fn connect_timeout(remote: &str, target: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{remote} timed out connecting to {target} — check the host, port and firewalls"),
    )
    .temporary(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let missing = SmbError::UnexpectedMessageStatus(Status::U32_OBJECT_NAME_NOT_FOUND);
        let e = op_error(missing, "stat", "a/b");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.to_string()
                .starts_with("a/b: stat: the server answered Object Name Not Found"),
            "{e}"
        );
        let denied = SmbError::UnexpectedMessageStatus(Status::U32_ACCESS_DENIED);
        assert_eq!(
            op_error(denied, "x", "p").kind(),
            ErrorKind::PermissionDenied
        );
        let logon = SmbError::UnexpectedMessageStatus(Status::U32_LOGON_FAILURE);
        let e = connect_error(logon, ":smb:", "h:445", "s");
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert!(e.to_string().contains("check user, pass and domain"), "{e}");
        let refused =
            SmbError::IoError(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = connect_error(refused, ":smb:", "127.0.0.1:1", "");
        assert!(e.is_temporary());
        assert!(
            e.to_string()
                .starts_with(":smb: connection refused to 127.0.0.1:1"),
            "{e}"
        );
        assert!(is_lost(&SmbError::ConnectionStopped));
        let dead = SmbError::MessageProcessingError("Failed to send message to worker!".into());
        assert!(is_lost(&dead));
        assert!(op_error(dead, "list", "d").is_temporary());
    }
}
