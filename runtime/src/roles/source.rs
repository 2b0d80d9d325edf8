//! Where a routed function gets its connection: the router checks one out for the call; a
//! typed connection the caller already holds is lent, so that routed functions compose.

use std::future::Future;

use super::{ReadLease, Reader, WriteLease, Writer};
use crate::database::Database;
use crate::error::Error;
use crate::topology::Router;

/// Something a `#[route(read)]` function of database `D` can get its reader from: a
/// [`Router`], or a `Reader<D>` or `Writer<D>` the caller holds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve reads of database `{D}`",
    label = "this is not a connection source for database `{D}`",
    note = "pass `&mut router`, or the `conn` of a routed function of database `{D}`"
)]
pub trait ReadSource<D: Database>: Send {
    #[doc(hidden)]
    fn read_lease(&mut self) -> impl Future<Output = Result<ReadLease<'_, D>, Error>> + Send;
}

/// Something a `#[route(write)]` function of database `D` can get its writer from: a
/// [`Router`], or a `Writer<D>` the caller holds. Never a `Reader`: a read function cannot
/// call a write function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serve writes to database `{D}`",
    label = "a write function needs a writer of database `{D}`",
    note = "a read function cannot call a write function: make the caller `#[route(write)]`; its `Writer` can call both read and write functions"
)]
pub trait WriteSource<D: Database>: Send {
    #[doc(hidden)]
    fn write_lease(&mut self) -> impl Future<Output = Result<WriteLease<'_, D>, Error>> + Send;
}

impl<D: Database> ReadSource<D> for Router {
    async fn read_lease(&mut self) -> Result<ReadLease<'_, D>, Error> {
        let conn = self.cluster::<D>()?.reader().await?;
        Ok(ReadLease::checkout(conn))
    }
}

impl<D: Database> WriteSource<D> for Router {
    async fn write_lease(&mut self) -> Result<WriteLease<'_, D>, Error> {
        let conn = self.cluster::<D>()?.writer().await?;
        Ok(WriteLease::checkout(conn))
    }
}

impl<D: Database> ReadSource<D> for Reader<'_, D> {
    async fn read_lease(&mut self) -> Result<ReadLease<'_, D>, Error> {
        Ok(ReadLease::borrow(self.conn))
    }
}

impl<D: Database> ReadSource<D> for Writer<'_, D> {
    async fn read_lease(&mut self) -> Result<ReadLease<'_, D>, Error> {
        Ok(ReadLease::borrow(self.conn))
    }
}

impl<D: Database> WriteSource<D> for Writer<'_, D> {
    async fn write_lease(&mut self) -> Result<WriteLease<'_, D>, Error> {
        Ok(WriteLease::borrow(self.conn))
    }
}
