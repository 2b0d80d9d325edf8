include!("../../common/schema.rs");

/// A `UNION` is taken by `raw_read`, and its selects' tables are still checked.
#[route(read)]
async fn names(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    let union = users::table
        .select(users::name)
        .union(page_views::table.select(page_views::path));
    Ok(diesel_route::raw_read(union).load(conn).await?)
}

fn main() {}
