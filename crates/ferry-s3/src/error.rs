//! SDK errors in ferry's terms: a kind, and whether retrying may help.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::reach::one_line;
use ferry_core::{Error, ErrorKind};

/// The facts of one failed request.
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
    /// Timeouts, dropped connections, unparseable responses.
    pub transport: bool,
}

impl Failure {
    pub(crate) fn of<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + HasStatus + 'static,
    {
        let status = err.raw_response().map(HasStatus::status);
        let transport = matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        );
        let code = err.code().map(str::to_owned);
        let message = match (err.code(), err.message()) {
            (Some(c), Some(m)) => format!("{c}: {}", first_line(m)),
            (Some(c), None) => c.to_owned(),
            _ => match (status, err) {
                (Some(s), _) if !transport => format!("HTTP status {s}"),
                (_, SdkError::TimeoutError(_)) => {
                    "the request timed out (check the endpoint and the network)".to_owned()
                }
                (_, SdkError::DispatchFailure(_)) => one_line(err),
                (_, SdkError::ResponseError(_)) => {
                    format!("the server's response could not be read: {}", one_line(err))
                }
                (_, SdkError::ConstructionFailure(_)) => {
                    format!("couldn't make the request: {}", one_line(err))
                }
                _ => one_line(err),
            },
        };
        Failure {
            status,
            code,
            message,
            transport,
        }
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.status == Some(404)
            || matches!(
                self.code.as_deref(),
                Some("NoSuchKey" | "NotFound" | "NoSuchBucket" | "NoSuchUpload")
            )
    }

    pub(crate) fn is_no_bucket(&self) -> bool {
        self.code.as_deref() == Some("NoSuchBucket")
    }

    pub(crate) fn is_temporary(&self) -> bool {
        self.transport
            || self
                .status
                .is_some_and(|s| s >= 500 || s == 429 || s == 408)
            || matches!(
                self.code.as_deref(),
                Some(
                    "SlowDown"
                        | "Throttling"
                        | "ThrottlingException"
                        | "RequestTimeout"
                        | "RequestTimeTooSkewed"
                        | "InternalError"
                        | "ServiceUnavailable"
                )
            )
    }

    pub(crate) fn kind(&self) -> ErrorKind {
        if self.is_no_bucket() {
            return ErrorKind::DirNotFound;
        }
        if self.is_not_found() {
            return ErrorKind::NotFound;
        }
        if self.status == Some(403)
            || matches!(
                self.code.as_deref(),
                Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")
            )
        {
            return ErrorKind::Auth;
        }
        if matches!(self.code.as_deref(), Some("BadDigest" | "InvalidDigest")) {
            return ErrorKind::Corrupted;
        }
        ErrorKind::Io
    }

    pub(crate) fn into_error(self, op: &str, path: &str) -> Error {
        let temporary = self.is_temporary() || self.kind() == ErrorKind::Corrupted;
        Error::new(self.kind(), format!("{op}: {}", self.message))
            .with_path(path.to_owned())
            .temporary(temporary)
    }
}

/// A server's message up to its first line break (some add request ids below).
fn first_line(m: &str) -> &str {
    m.lines().next().unwrap_or("").trim()
}

/// Raw responses that have an HTTP status.
pub(crate) trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Converts an SDK error for operation `op` on `path`.
pub(crate) fn sdk<E, R>(op: &str, path: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus + 'static,
{
    Failure::of(&err).into_error(op, path)
}
