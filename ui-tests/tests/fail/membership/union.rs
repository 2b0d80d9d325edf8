include!("../../common/schema.rs");

/// A `UNION` one of whose selects reads another database's table.
#[route(read)]
async fn names(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(users::table
        .select(users::name)
        .union(page_views::table.select(page_views::path))
        .load(conn)
        .await?)
}

fn main() {}
