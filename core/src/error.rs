//! The one error type of the crate. Bindings map it in one place each, by
//! [`Error::code`], so every language sees the same stable codes.

use std::fmt;
use std::sync::Arc;

use crate::id::SessionId;

/// Everything that can go wrong in a tracker call. An error changes nothing.
/// Match on [`Error::code`] for a stable answer: variants will be added.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The operation needs a live session and this id has none.
    #[error("session {id} is not live")]
    SessionNotFound {
        /// The id that was looked up.
        id: SessionId,
    },
    /// The text given as a session id or token is not one.
    #[error("invalid session id {input:?}: {reason}")]
    InvalidSessionId {
        /// The offending input, cut to 64 characters.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// `revive` was asked for a session that may not come back.
    #[error("session {id} cannot be revived: {reason}")]
    SessionNotRevivable {
        /// The id that was asked for.
        id: SessionId,
        /// Why it may not come back.
        reason: &'static str,
    },
    /// An argument or a configuration value is out of range or of the wrong shape.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The argument or option at fault.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A snapshot file could not be written or read as a whole; nothing
    /// was loaded from it.
    #[error("snapshot {path}: {problem}")]
    Snapshot {
        /// The file.
        path: String,
        /// What is wrong: truncated, corrupt, not a snapshot, a newer
        /// format, the wrong key, or the system's own error.
        problem: String,
    },
    /// The backing store failed (Redis unreachable, a corrupt record).
    #[error("store error at {address}: {cause}")]
    Store {
        /// Where the store was reached (for example `redis://127.0.0.1:6379`).
        address: String,
        /// What went wrong, as the store reported it.
        cause: String,
        /// The store's own error, for `Error::source`.
        #[source]
        source: Option<StoreSource>,
    },
}

/// The error a store reported, shared so that [`Error`] stays `Clone`.
/// Two are equal when they are the same error.
#[derive(Debug, Clone)]
pub struct StoreSource(pub Arc<dyn std::error::Error + Send + Sync>);

impl fmt::Display for StoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for StoreSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StoreSource {}

impl Error {
    /// The stable code that every language reports for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::SessionNotFound { .. } => "SESSION_NOT_FOUND",
            Error::InvalidSessionId { .. } => "INVALID_SESSION_ID",
            Error::SessionNotRevivable { .. } => "SESSION_NOT_REVIVABLE",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::Store { .. } => "STORE_ERROR",
            Error::Snapshot { .. } => "SNAPSHOT_ERROR",
        }
    }

    /// A store's failure at `address`, keeping its error as the source.
    pub fn store(
        address: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Store {
            address: address.into(),
            cause: source.to_string(),
            source: Some(StoreSource(Arc::new(source))),
        }
    }

    pub(crate) fn invalid_id(input: &str, reason: &'static str) -> Self {
        Error::InvalidSessionId {
            input: input.chars().take(64).collect(),
            reason,
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

/// The result of a tracker call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
