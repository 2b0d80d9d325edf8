//! Diesel migrations, run on a database's primary at start-up.

use std::sync::Arc;

use diesel::migration::MigrationSource;
use diesel_async::AsyncMigrationHarness;
use diesel_migrations::MigrationHarness;

use crate::backend::Backend;
use crate::database::Database;
use crate::error::{BoxError, Error, Role};
use crate::topology::Router;

#[cfg_attr(docsrs, doc(cfg(feature = "migrations")))]
impl Router {
    /// Runs the pending migrations of database `D` on its primary, on a connection of its
    /// own, and returns the versions it applied.
    ///
    /// ```no_run
    /// # diesel_route::databases! { default: sqlite }
    /// # fn main() {}
    /// // Usually `diesel_migrations::embed_migrations!()`, to ship them in the binary.
    /// use diesel_migrations::FileBasedMigrations;
    ///
    /// async fn start(router: &diesel_route::Router) -> Result<(), Box<dyn std::error::Error>> {
    ///     let migrations = FileBasedMigrations::find_migrations_directory()?;
    ///     router.run_pending_migrations::<default>(migrations).await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the primary cannot be reached, [`Error::Migration`] when a
    /// migration fails.
    pub async fn run_pending_migrations<D: Database>(
        &self,
        migrations: impl MigrationSource<<D::Connection as diesel_async::AsyncConnectionCore>::Backend>
        + Send
        + 'static,
    ) -> Result<Vec<String>, Error>
    where
        AsyncMigrationHarness<D::Connection>:
            MigrationHarness<<D::Connection as diesel_async::AsyncConnectionCore>::Backend>,
    {
        let cluster = self.cluster::<D>()?;
        let primary = match cluster.primary() {
            Some(primary) => Arc::clone(primary),
            None => cluster.discover(std::time::Instant::now()).await?,
        };
        let server = Arc::clone(&primary.server);
        let watch = Arc::new(crate::backend::Watch::default());
        let conn = D::Connection::connect(server.url(), Role::Writer, &watch)
            .await
            .map_err(|source| Error::Connect {
                server: Arc::clone(&server),
                source,
            })?;
        // diesel's migration harness is synchronous: it runs on a blocking thread, from
        // which the async connection is driven.
        let applied = tokio::task::spawn_blocking(move || {
            let mut harness = AsyncMigrationHarness::new(conn);
            harness
                .run_pending_migrations(migrations)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
        })
        .await
        .map_err(|join| Error::Migration(Box::new(join)))?;
        applied.map_err(|error: BoxError| Error::Migration(error))
    }
}
