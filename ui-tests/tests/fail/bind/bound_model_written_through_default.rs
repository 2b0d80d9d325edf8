include!("../../common/schema.rs");

/// Writes are checked too: `page_views` lives in `another_database`.
#[route(write)]
async fn record_view(conn: &mut Writer, path: &str) -> diesel_route::Result<usize> {
    Ok(diesel::insert_into(page_views::table)
        .values(page_views::path.eq(path))
        .execute(conn)
        .await?)
}

fn main() {}
