include!("../../common/schema.rs");

#[route(write)]
async fn publish(conn: &mut Writer, id: i32) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?)
}

/// A read function given the router cannot write through it: a retried read would write
/// twice. In its body, the router serves reads only.
#[route(read)]
async fn show(
    conn: &mut Reader,
    router: &mut diesel_route::Router,
    id: i32,
) -> diesel_route::Result<String> {
    publish(router, id).await?;
    Ok(posts::table.find(id).select(posts::title).first(conn).await?)
}

fn main() {}
