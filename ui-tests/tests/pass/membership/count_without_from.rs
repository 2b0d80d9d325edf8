include!("../../common/schema.rs");

#[route(read)]
async fn post_count(conn: &mut Reader) -> diesel_route::Result<Option<i64>> {
    Ok(diesel::select(posts::table.count().single_value())
        .get_result(conn)
        .await?)
}

fn main() {
    let _ = post_count;
}
