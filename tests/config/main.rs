//! Configuration errors: found when the router is built, before any connection is opened,
//! each naming the database, the setting and the problem, and never a password.

mod declared;
mod env;
mod mistyped;
mod pool;
mod secrets;
mod support;
mod urls;

diesel_route::databases! {
    default: postgres,
    other: mysql,
    files: sqlite,
}
