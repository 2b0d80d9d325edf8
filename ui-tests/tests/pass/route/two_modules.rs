// The README's layout: the databases declared at the crate root, routed functions in a module
// of their own that imports `Reader` and `Writer` from the root, the schema in another.

mod schema {
    diesel::table! {
        posts (id) {
            id -> Integer,
            title -> Text,
        }
    }
}

mod posts {
    use diesel_route::prelude::*;

    use crate::schema::posts;
    use crate::{Reader, Writer};

    #[route(read)]
    pub async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
        Ok(posts::table.select(posts::title).load(conn).await?)
    }

    #[route(write)]
    pub async fn add(conn: &mut Writer, title: &str) -> diesel_route::Result<usize> {
        Ok(diesel::insert_into(posts::table)
            .values(posts::title.eq(title))
            .execute(conn)
            .await?)
    }
}

diesel_route::databases! { default: sqlite }
diesel_route::tables!(default: schema::posts);

async fn run(router: &mut diesel_route::Router) -> diesel_route::Result<Vec<String>> {
    posts::add(router, "hello").await?;
    posts::titles(router).await
}

fn main() {
    let _ = run;
}
