include!("../../common/schema.rs");

mod views {
    // The generic type behind the alias, imported by mistake in place of `crate::Reader`.
    use diesel_route::Reader;
    use diesel_route::prelude::*;

    use super::posts;

    #[route(read)]
    pub(crate) async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
        Ok(posts::table.select(posts::title).load(conn).await?)
    }
}

fn main() {
    let _ = views::titles;
}
