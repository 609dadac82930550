//! One error type for every backend and the engine: a kind the engine can act on,
//! whether retrying may help, and a message that names the path.

use std::fmt;
use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in the terms the engine and the exit codes care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file that should exist does not.
    NotFound,
    /// A directory (usually a source root) does not exist.
    DirNotFound,
    PermissionDenied,
    AlreadyExists,
    /// The backend cannot do this operation at all.
    Unsupported,
    /// A name that can't be mapped to a safe relative path.
    InvalidPath,
    /// Bytes arrived, but not the bytes that were expected (size or hash mismatch).
    Corrupted,
    /// Authentication or authorisation was refused.
    Auth,
    /// Any other I/O or protocol failure.
    Io,
    /// The run was stopped (limit reached, user quit, signal).
    Cancelled,
    /// A rule the user asked for refused the operation (e.g. `--immutable`).
    Refused,
    /// A remote's configuration is unusable: an option with a bad value, or one missing.
    Config,
}

/// An error with its kind, the path it concerns, and whether a retry might succeed.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<String>,
    temporary: bool,
    /// `false`: another attempt of the whole run would fail here the same way.
    retryable: bool,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
            temporary: false,
            retryable: true,
            source: None,
        }
    }

    /// Wraps an I/O error, classifying it by its `io::ErrorKind`. One that carries a
    /// ferry error (a stream's own, e.g. [`crate::body`]'s cut-short body) keeps that
    /// error's kind, words and temporariness.
    pub fn io(context: impl Into<String>, err: io::Error) -> Self {
        if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
            return Error {
                kind: inner.kind,
                message: format!("{}: {}", context.into(), inner),
                path: None,
                temporary: inner.temporary,
                retryable: inner.retryable,
                source: None,
            };
        }
        let kind = match err.kind() {
            io::ErrorKind::NotFound => ErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            io::ErrorKind::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Io,
        };
        let temporary = matches!(
            err.kind(),
            io::ErrorKind::Interrupted
                | io::ErrorKind::TimedOut
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::WouldBlock
        );
        Error {
            kind,
            message: format!("{}: {}", context.into(), err),
            path: None,
            temporary,
            retryable: true,
            source: Some(Box::new(err)),
        }
    }

    /// Names the relative path this error concerns (shown before the message).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The same error, of another kind (a backend that knows more than its mapping).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Marks whether retrying the whole run could help (rclone's "no retry" errors: a
    /// safety rule refused, and will refuse again).
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    pub fn not_found(path: impl Into<String>) -> Self {
        let path = path.into();
        Error::new(ErrorKind::NotFound, "object not found").with_path(path)
    }

    pub fn unsupported(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, what)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) if !p.is_empty() => write!(f, "{p}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let e = Error::io("open", io::Error::from(io::ErrorKind::NotFound)).with_path("a/b");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.is_temporary());
        assert!(
            e.is_retryable(),
            "a whole-run retry may help unless said otherwise"
        );
        assert!(e.to_string().starts_with("a/b: open: "));
        assert!(!e.retryable(false).is_retryable());
        let t = Error::io("read", io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(t.is_temporary());
    }
}
