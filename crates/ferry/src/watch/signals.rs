//! The signals a watching service answers: SIGINT/SIGTERM stop it, SIGHUP re-reads the
//! config. Only the watch loop listens; elsewhere the signals keep their default action.

/// What a signal asks of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    Stop,
    Reload,
}

pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    pub fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    #[cfg(not(unix))]
    pub fn new() -> std::io::Result<Self> {
        Ok(Signals {})
    }

    /// The next signal (cancel-safe: a signal that arrives meanwhile is kept).
    #[cfg(unix)]
    pub async fn next(&mut self) -> Ask {
        tokio::select! {
            _ = self.term.recv() => Ask::Stop,
            _ = self.int.recv() => Ask::Stop,
            _ = self.hup.recv() => Ask::Reload,
        }
    }

    #[cfg(not(unix))]
    pub async fn next(&mut self) -> Ask {
        let _ = tokio::signal::ctrl_c().await;
        Ask::Stop
    }
}
