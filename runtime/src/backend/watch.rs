//! What a connection's own statements showed, seen through diesel's instrumentation hook:
//! how many statements it sent, and whether the last one failed in a way that means the
//! connection is dead. A call that failed learns from it, with no round trip, whether its
//! connection died under it, even when the server's termination message reached the caller
//! before the driver saw the socket close.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::{is_connection_lost, is_read_only_refusal};

/// The connection's record, shared between its instrumentation and its pool entry.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Watch {
    statements: AtomicU64,
    last: AtomicU8,
    /// A reader's session stopped being read-only (PostgreSQL reports the change itself).
    writable: AtomicBool,
    /// Statements sent before the last one the server refused as read-only, plus one;
    /// zero while none was refused.
    refused: AtomicU64,
    /// What the driver reported of the last statement that failed, kept once the connection
    /// is known dead: the cause a call that cannot hand back the error itself reports.
    cause: Mutex<Option<Cause>>,
    /// Why the connection ended, where its driver reports that apart from the statement
    /// that was running (which then hears only that the connection closed).
    ended: Mutex<Option<String>>,
    /// What the server said it is when the connection was opened, in its backend's terms
    /// (MySQL: MariaDB or MySQL, whose positions differ); zero where a backend has one kind.
    server_kind: AtomicU8,
}

/// A driver's error, as much of it as outlives the statement: its kind and its text.
#[derive(Clone, Debug)]
pub(crate) struct Cause {
    pub(crate) kind: DatabaseErrorKind,
    pub(crate) message: String,
}

impl Cause {
    fn of(error: &DieselError) -> Self {
        match error {
            DieselError::DatabaseError(kind, info) => Self {
                kind: *kind,
                message: info.message().to_owned(),
            },
            other => Self {
                kind: DatabaseErrorKind::ClosedConnection,
                message: other.to_string(),
            },
        }
    }
}

/// What the last statement's outcome says about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Last {
    /// It succeeded, or failed in a way that leaves the connection usable.
    Fine = 0,
    /// It failed with an error the driver gives a dead connection.
    Lost = 1,
    /// It failed with an error that may be a dead connection's, in words not recognised
    /// (another language, a new message): only a ping can tell.
    Unclear = 2,
}

impl Watch {
    /// Statements started on the connection so far.
    pub(crate) fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// What the last statement showed.
    pub(crate) fn last(&self) -> Last {
        match self.last.load(Ordering::Relaxed) {
            1 => Last::Lost,
            2 => Last::Unclear,
            _ => Last::Fine,
        }
    }

    /// A reader's session is read-only no more: the connection must not serve again.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn session_made_writable(&self) {
        self.writable.store(true, Ordering::Relaxed);
    }

    /// Whether a reader's session stopped being read-only.
    pub(crate) fn session_writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    /// When a statement was refused as read-only since the last `clear`: how many
    /// statements the connection had sent before it.
    pub(crate) fn refused_after(&self) -> Option<u64> {
        self.refused.load(Ordering::Relaxed).checked_sub(1)
    }

    /// What the driver reported of the last failed statement, until a `clear`; once the
    /// connection is dead, of the statement that found it so.
    pub(crate) fn cause(&self) -> Option<Cause> {
        let cause = self.cause_slot().clone();
        let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        match (cause, ended.as_ref()) {
            (Some(cause), Some(ended)) => Some(Cause {
                kind: cause.kind,
                message: ended.clone(),
            }),
            (cause, _) => cause,
        }
    }

    /// What the server said it is when the connection was opened (see `server_kind`).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) fn server_kind(&self) -> u8 {
        self.server_kind.load(Ordering::Relaxed)
    }

    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) fn set_server_kind(&self, kind: u8) {
        self.server_kind.store(kind, Ordering::Relaxed);
    }

    /// The driver's report of why the connection ended.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn connection_ended(&self, report: &str) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(report.to_owned());
    }

    fn cause_slot(&self) -> std::sync::MutexGuard<'_, Option<Cause>> {
        self.cause.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets what earlier calls saw: the connection was found alive since.
    pub(crate) fn clear(&self) {
        if self.last.load(Ordering::Relaxed) != 0 {
            self.last.store(0, Ordering::Relaxed);
            *self.cause_slot() = None;
        }
        if self.refused.load(Ordering::Relaxed) != 0 {
            self.refused.store(0, Ordering::Relaxed);
        }
    }

    fn finished(&self, error: Option<&DieselError>) {
        if error.is_some_and(is_read_only_refusal) {
            // The refused statement is the last one started.
            self.refused.store(self.statements(), Ordering::Relaxed);
        }
        let last = match error {
            None => Last::Fine,
            Some(error) if is_connection_lost(error) => Last::Lost,
            Some(DieselError::DatabaseError(DatabaseErrorKind::Unknown, _)) => Last::Unclear,
            Some(_) => Last::Fine,
        };
        // A dead connection stays dead, of its first cause.
        if self.last() != Last::Lost {
            let before = self.last.swap(last as u8, Ordering::Relaxed);
            match error.filter(|_| last != Last::Fine) {
                Some(error) => *self.cause_slot() = Some(Cause::of(error)),
                // Fine again: an earlier unclear statement's cause is not this one's.
                None if before != Last::Fine as u8 => *self.cause_slot() = None,
                None => {}
            }
        }
    }
}

/// The instrumentation that keeps a [`Watch`].
pub(crate) struct Watcher(pub(crate) Arc<Watch>);

impl Instrumentation for Watcher {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.0.statements.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery { error, .. } => self.0.finished(error),
            _ => {}
        }
    }
}
