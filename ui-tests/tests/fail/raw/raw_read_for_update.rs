include!("../../common/schema.rs");

/// A locked select is typed: `raw_read` does not take it, and a reader cannot lock rows.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<Vec<i32>> {
    let locked = posts::table.select(posts::id).for_update();
    Ok(diesel_route::raw_read(locked).load(conn).await?)
}

fn main() {}
