include!("../../common/schema.rs");

#[route(write)]
async fn publish(conn: &mut Writer, id: i32) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?)
}

/// Nor through a session it is given.
#[route(read)]
async fn show(
    conn: &mut Reader,
    session: &mut diesel_route::Session,
    id: i32,
) -> diesel_route::Result<String> {
    publish(session, id).await?;
    Ok(posts::table.find(id).select(posts::title).first(conn).await?)
}

fn main() {}
