include!("../../common/schema.rs");

#[route("read")]
async fn count(conn: &mut Reader) -> diesel_route::Result<i64> {
    Ok(posts::table.count().get_result(conn).await?)
}

fn main() {}
