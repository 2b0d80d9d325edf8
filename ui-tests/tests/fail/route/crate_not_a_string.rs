include!("../../common/schema.rs");

#[route(read, crate = diesel_route)]
async fn count(conn: &mut Reader) -> diesel_route::Result<i64> {
    Ok(posts::table.count().get_result(conn).await?)
}

fn main() {}
