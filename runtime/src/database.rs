//! Declared databases: the marker types `databases!` generates.

use crate::backend::Backend;

/// A database declared with [`databases!`](crate::databases): a primary and its replicas,
/// all of one backend.
///
/// `databases!` implements it for a marker type named after the key, which is how the rest
/// of the program names the database: `Reader<analytics>`, `Writer<analytics>`.
pub trait Database: Send + Sync + 'static {
    /// The key: `"default"`, or another name given to `databases!`. Configuration, `#[bind]`
    /// and traces use it.
    const KEY: &'static str;

    /// The connection type of its backend.
    type Connection: Backend;
}
