//! What generated code reaches, and nothing else should: `::diesel_route::__private`.
//! Re-exports only. Not part of the public API; it changes without notice.

pub use tracing::{Instrument, Span};

pub use crate::backend::{StandIn, Watch};
pub use crate::call::RouteCall;
pub use crate::call::retry::{Arg, ArgClone, ArgOnce};
pub use crate::call::source::{Origin, ReadSource, ReadsOnly, WriteSource};
pub use crate::database::Database;
pub use crate::error::{Error, Role};
pub use crate::query::{InDatabase, SameDatabase};
pub use crate::roles::lease::{Finished, Outcome, RouteResult};
pub use crate::roles::{
    BatchExecuteOnReader, ReadLease, Reader, Returns, RouteReturn, Settled, TypedConnection,
    WriteLease, Writer, settled,
};
pub use crate::seal::Sealed;
pub use crate::server::Server;
pub use crate::topology::Deadline;
pub use crate::topology::{Catalog, Declared};
