include!("../../common/schema.rs");

/// A typed insert is no raw SQL: `raw_read` does not take it.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<usize> {
    let insert = diesel::insert_into(posts::table).values(posts::title.eq("x"));
    Ok(diesel_route::raw_read(insert).execute(conn).await?)
}

fn main() {}
