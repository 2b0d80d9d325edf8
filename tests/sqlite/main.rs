//! diesel-route on SQLite files: a writer pool of one connection and a read-only (`mode=ro`)
//! reader pool on one file in WAL mode, per database.

mod binds;
mod concurrency;
mod deadlines;
#[path = "../shared/hung.rs"]
mod hung;
mod pool;
mod read_only;
mod routing;
mod schema;

diesel_route::databases! {
    /// `items`, in `app.db`.
    default: sqlite,
    /// `events`, bound with `#[bind("other")]`, in `other.db`.
    other: sqlite,
}
