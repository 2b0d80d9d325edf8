//! Everything a module of routed functions needs: `use diesel_route::prelude::*;`.
//!
//! It brings diesel's prelude, with diesel-route's [`RunQueryDsl`] in place of diesel's and
//! diesel-async's (their `load`/`execute` would clash with it), and the attribute macros.

#[doc(no_inline)]
pub use diesel::prelude::*;

#[doc(no_inline)]
pub use crate::query::RunQueryDsl;
#[doc(no_inline)]
pub use diesel_route_macros::{bind, route};

// diesel-route's `RunQueryDsl` in scope once more, without a name: when diesel's or
// diesel-async's `RunQueryDsl` is imported next to the prelude (which hides the prelude's
// by name), the compiler then reports the two traits' `load` as ambiguous, naming both,
// instead of trying the other one on a typed connection, which it does not fit.
#[doc(no_inline)]
pub use crate::query::RunQueryDsl as _;
