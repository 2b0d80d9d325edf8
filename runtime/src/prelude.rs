//! Everything a module of routed functions needs: `use diesel_route::prelude::*;`.
//!
//! It brings diesel's prelude, with diesel-route's [`RunQueryDsl`] in place of diesel's and
//! diesel-async's (their `load`/`execute` would clash with it), and the attribute macros.

#[doc(no_inline)]
pub use diesel::prelude::*;

#[doc(no_inline)]
pub use crate::{RunQueryDsl, bind, route};
