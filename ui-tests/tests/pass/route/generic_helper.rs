include!("../../common/schema.rs");

use diesel_route::TypedConnection;

/// A helper generic over the connection: given a reader or a writer, it runs reads.
async fn published<C>(conn: &mut C) -> diesel::QueryResult<Vec<Post>>
where
    C: TypedConnection<Database = default>,
{
    posts::table
        .filter(posts::published.eq(true))
        .select(Post::as_select())
        .load(conn)
        .await
}

/// And one generic over the database too, for tables of any database.
async fn paths<C>(conn: &mut C) -> diesel::QueryResult<Vec<String>>
where
    C: TypedConnection<Database = another_database>,
{
    page_views::table.select(page_views::path).load(conn).await
}

#[route(read)]
async fn list(conn: &mut Reader) -> diesel_route::Result<Vec<Post>> {
    Ok(published(conn).await?)
}

#[route(write)]
async fn publish_then_list(conn: &mut Writer, id: i32) -> diesel_route::Result<Vec<Post>> {
    diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?;
    Ok(published(conn).await?)
}

#[route(read)]
async fn views(conn: &mut Reader<another_database>) -> diesel_route::Result<Vec<String>> {
    Ok(paths(conn).await?)
}

fn main() {
    let _ = (list, publish_then_list, views);
}
