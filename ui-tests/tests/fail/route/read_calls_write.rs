include!("../../common/schema.rs");

#[route(write)]
async fn publish(conn: &mut Writer, id: i32) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?)
}

/// A read function cannot call a write function: its reader cannot lend a writer.
#[route(read)]
async fn show(conn: &mut Reader, id: i32) -> diesel_route::Result<Post> {
    publish(conn, id).await?;
    Ok(posts::table.find(id).select(Post::as_select()).first(conn).await?)
}

fn main() {}
