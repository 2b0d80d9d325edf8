include!("../../common/schema.rs");

#[route(read)]
async fn published(conn: &mut Reader, id: i32) -> diesel_route::Result<bool> {
    Ok(posts::table.find(id).select(posts::published).get_result(conn).await?)
}

#[route(read)]
async fn title_if_published(conn: &mut Reader, id: i32) -> diesel_route::Result<Option<String>> {
    // A reader passes itself on: the call stays on this connection.
    if !published(conn, id).await? {
        return Ok(None);
    }
    Ok(Some(posts::table.find(id).select(posts::title).get_result(conn).await?))
}

/// A write function calls read functions with its writer, and keeps using it after.
#[route(write, transaction)]
async fn publish(conn: &mut Writer, id: i32) -> diesel_route::Result<Option<String>> {
    diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?;
    assert!(published(conn, id).await?);
    let title = title_if_published(conn, id).await?;
    let _: Vec<String> = posts::table
        .select(posts::title)
        .load(&mut conn.as_reader())
        .await?;
    diesel::update(posts::table.find(id))
        .set(posts::title.eq("published"))
        .execute(conn)
        .await?;
    Ok(title)
}

/// Callers pass the router.
async fn handler(mut router: diesel_route::Router) -> diesel_route::Result<()> {
    publish(&mut router, 1).await?;
    published(&mut router, 1).await?;
    Ok(())
}

fn main() {
    let _ = handler;
}
