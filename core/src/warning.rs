//! Warnings: what a tracker tells its user without failing, such as a
//! configuration that is insecure on purpose or not, or a driver thread
//! that could not start. Each has a stable code, as errors do.

use std::fmt;

/// Something the user of a tracker should know, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// `UNSIGNED_TOKENS`, `NO_DRIVER`, `ENDS_DROPPED` or `STORE_ERROR`.
    pub code: &'static str,
    /// What happened and what to do about it.
    pub message: String,
}

impl Warning {
    pub(crate) fn unsigned_tokens() -> Self {
        Warning {
            code: "UNSIGNED_TOKENS",
            message: "no secret is set, so tokens are bare session ids: anyone who learns \
                      an id can resume that session, with its user and attributes. Give a \
                      secret (16 bytes or more), or unsigned_tokens to choose this on purpose"
                .to_owned(),
        }
    }

    pub(crate) fn no_driver(cause: &std::io::Error) -> Self {
        Warning {
            code: "NO_DRIVER",
            message: format!(
                "the background driver thread could not start ({cause}): expiries are \
                 swept and ends delivered by the tracker's own calls instead"
            ),
        }
    }
}

impl Warning {
    pub(crate) fn ends_dropped(dropped: u64, waited: std::time::Duration) -> Self {
        Warning {
            code: "ENDS_DROPPED",
            message: format!(
                "{dropped} session ends were dropped at close: on_end had not taken them \
                 within close_timeout ({waited:?})"
            ),
        }
    }
}

impl Warning {
    /// The store failed in the background (a sweep): said once, when it
    /// starts failing, not on every sweep until it recovers.
    pub(crate) fn store_error(err: &crate::Error) -> Self {
        Warning {
            code: "STORE_ERROR",
            message: format!(
                "a background sweep failed ({err}): expiries wait until the store \
                 answers again, then depart at their own time"
            ),
        }
    }
}

impl Warning {
    /// A snapshot the tracker saves by itself (`snapshot`) failed: said
    /// once, until a save succeeds again.
    pub(crate) fn snapshot_error(err: &crate::Error) -> Self {
        Warning {
            code: "SNAPSHOT_ERROR",
            message: format!(
                "saving the snapshot failed ({err}): the previous file stays whole, \
                 and the next save tries again"
            ),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}
