include!("../../common/schema.rs");

/// A typed select of another database's table cannot hide in `raw_read`.
#[route(read)]
async fn paths(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    let query = page_views::table.select(page_views::path);
    Ok(diesel_route::raw_read(query).load(conn).await?)
}

fn main() {}
