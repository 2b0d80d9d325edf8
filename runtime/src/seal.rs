//! The seal on methods only this crate may call.

/// A token only this crate can make: trait methods that take it can be called from here
/// alone, although the traits are public (a `Reader` never hands out its raw connection, a
/// user type never becomes a connection source).
#[derive(Debug)]
pub struct Sealed(pub(crate) ());
