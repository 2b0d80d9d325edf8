include!("../../common/schema.rs");

#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<usize> {
    let update = diesel::update(posts::table).set(posts::published.eq(true));
    Ok(diesel_route::raw_read(update).execute(conn).await?)
}

fn main() {}
