//! The examples of diesel-route; run them with `cargo run --example <name>`.
//!
//! The web example's app lives in this library, [`web`], so that its tests start it
//! in-process; `web/main.rs` only serves it. Its databases are declared here because
//! `databases!` belongs at the root of a crate.

// The backend is chosen when the program is built: a real service declares one.
#[cfg(not(any(feature = "postgres", feature = "mysql")))]
diesel_route::databases! {
    /// Posts.
    default: sqlite,
    /// Page views, in a database of their own.
    analytics: sqlite,
}
#[cfg(feature = "postgres")]
diesel_route::databases! {
    /// Posts.
    default: postgres,
    /// Page views, in a database of their own.
    analytics: postgres,
}
#[cfg(all(feature = "mysql", not(feature = "postgres")))]
diesel_route::databases! {
    /// Posts.
    default: mysql,
    /// Page views, in a database of their own.
    analytics: mysql,
}

#[path = "web/app.rs"]
pub mod web;
