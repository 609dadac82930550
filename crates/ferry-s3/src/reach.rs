//! Connection failures that say where the request was going.
//!
//! The SDK's connector errors carry no address ("io error" around "tcp connect error"
//! around "Connection refused"), and printing them whole gives nested Debug structures.
//! [`Named`] wraps the HTTP client so a failed request's error is replaced by one line
//! naming its `host:port` (see [`ferry_core::net::unreachable`]), keeping the error's
//! kind (so the SDK retries it as before) and the original as its source.

use std::fmt;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

/// An HTTP client whose connection errors name their target.
#[derive(Debug)]
pub(crate) struct Named(pub SharedHttpClient);

impl HttpClient for Named {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        NamedConnector(self.0.http_connector(settings, components)).into_shared()
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct NamedConnector(SharedHttpConnector);

impl HttpConnector for NamedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = ferry_core::net::target_of(request.uri());
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move { call.await.map_err(|e| named(e, target)) })
    }
}

/// The connector error `e`, as one line naming `target`, with the same kind.
fn named(e: ConnectorError, target: String) -> ConnectorError {
    let line = ferry_core::net::unreachable(&target, &e, e.is_timeout());
    let meta = e.connection_metadata().cloned();
    let (timeout, io, user, other) = (e.is_timeout(), e.is_io(), e.is_user(), e.as_other());
    let source = Box::new(Unreachable { line, source: e });
    let out = if timeout {
        ConnectorError::timeout(source)
    } else if io {
        ConnectorError::io(source)
    } else if user {
        ConnectorError::user(source)
    } else {
        ConnectorError::other(source, other)
    };
    match meta {
        Some(m) => out.with_connection(m),
        None => out,
    }
}

/// A request that got no answer, described in one line.
#[derive(Debug)]
pub(crate) struct Unreachable {
    line: String,
    source: ConnectorError,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Unreachable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// One line for a request that failed before a response was read: the [`Unreachable`]
/// line if the chain has one, else its innermost cause.
pub(crate) fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let chain = || {
        std::iter::successors(Some(err), |e: &&(dyn std::error::Error + 'static)| {
            (*e).source()
        })
    };
    if let Some(u) = chain().find_map(|e| e.downcast_ref::<Unreachable>()) {
        return u.line.clone();
    }
    let inner = chain().last().map(|e| e.to_string()).unwrap_or_default();
    inner.lines().next().unwrap_or("").trim().to_owned()
}
