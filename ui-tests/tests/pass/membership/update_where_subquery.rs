include!("../../common/schema.rs");

#[route(write)]
async fn publish_by_named(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.filter(posts::user_id.eq_any(users::table.select(users::id))))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?)
}

#[route(write)]
async fn publish_boxed(conn: &mut Writer, id: Option<i32>) -> diesel_route::Result<usize> {
    let mut update = diesel::update(posts::table).set(posts::published.eq(true)).into_boxed();
    if let Some(id) = id {
        update = update.filter(posts::id.eq(id));
    }
    Ok(update.execute(conn).await?)
}

fn main() {
    let _ = (publish_by_named, publish_boxed);
}
