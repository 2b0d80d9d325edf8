include!("../../common/schema.rs");

/// A typed insert into another database's table cannot hide in `raw_write`.
#[route(write)]
async fn record(conn: &mut Writer) -> diesel_route::Result<usize> {
    let insert = diesel::insert_into(page_views::table).values(page_views::path.eq("/"));
    Ok(diesel_route::raw_write(insert).execute(conn).await?)
}

fn main() {}
