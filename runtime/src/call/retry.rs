//! The arguments of a routed read function, kept so that its body can run again on another
//! connection.

use std::cell::Cell;

/// An argument of a routed read function, kept so that the body can run again when its
/// connection dies. `(&arg).next()` hands out a clone when the argument's type is `Clone`
/// (`ArgClone`), else the argument itself, once (`ArgOnce`): a body whose arguments cannot
/// be given again is not retried.
#[doc(hidden)]
pub struct Arg<T>(Cell<Option<T>>);

impl<T> Arg<T> {
    /// Keeps `value`.
    pub fn new(value: T) -> Self {
        Self(Cell::new(Some(value)))
    }
}

/// [`Arg`] of a `Clone` type: any number of attempts.
#[doc(hidden)]
pub trait ArgClone<T> {
    /// The argument for one attempt.
    fn next(&self) -> Option<T>;
    /// Whether the argument can be given again.
    fn repeatable(&self) -> bool;
}

impl<T: Clone> ArgClone<T> for Arg<T> {
    fn next(&self) -> Option<T> {
        let value = self.0.take();
        let next = value.clone();
        self.0.set(value);
        next
    }

    fn repeatable(&self) -> bool {
        true
    }
}

/// [`Arg`] of any other type: one attempt. Picked by method resolution only where
/// [`ArgClone`] does not apply (autoref specialization).
#[doc(hidden)]
pub trait ArgOnce<T> {
    /// The argument for the one attempt.
    fn next(&self) -> Option<T>;
    /// Never.
    fn repeatable(&self) -> bool;
}

impl<T> ArgOnce<T> for &Arg<T> {
    fn next(&self) -> Option<T> {
        self.0.take()
    }

    fn repeatable(&self) -> bool {
        false
    }
}
