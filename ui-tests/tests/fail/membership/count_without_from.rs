include!("../../common/schema.rs");

/// `SELECT (SELECT count(*) FROM page_views)`: no `FROM`, a table of another database.
#[route(read)]
async fn view_count(conn: &mut Reader) -> diesel_route::Result<Option<i64>> {
    Ok(diesel::select(page_views::table.count().single_value())
        .get_result(conn)
        .await?)
}

fn main() {}
