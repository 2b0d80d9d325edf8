//! diesel-route on PostgreSQL: a primary and two streaming standbys started by the harness,
//! shared by every test; each test works in databases of its own.
//!
//! The modules in `../replicated/` run on MariaDB too: `schema` gives them the same
//! application on each backend, with `backend` for what differs.

mod backend;
#[path = "../replicated/binds.rs"]
mod binds;
#[path = "../replicated/failures.rs"]
mod failures;
#[path = "../shared/hung.rs"]
mod hung;
#[path = "../replicated/net.rs"]
mod net;
#[path = "../replicated/read_only.rs"]
mod read_only;
#[path = "../replicated/replicas.rs"]
mod replicas;
#[path = "../replicated/schema.rs"]
mod schema;
#[path = "../replicated/transactions.rs"]
mod transactions;

diesel_route::databases! {
    /// `items`, in the test's database.
    default: postgres,
    /// `events`, bound with `#[bind("other")]`, in a second database of the test.
    other: postgres,
}
