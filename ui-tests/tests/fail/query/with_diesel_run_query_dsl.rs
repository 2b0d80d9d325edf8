include!("../../common/schema.rs");

mod titles {
    use diesel::RunQueryDsl;
    use diesel_route::prelude::*;

    use super::posts;
    use crate::Reader;

    /// diesel's own `RunQueryDsl` imported next to the prelude.
    #[route(read)]
    pub(crate) async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
        Ok(posts::table.select(posts::title).load(conn).await?)
    }
}

fn main() {}
