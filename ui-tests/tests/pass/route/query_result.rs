include!("../../common/schema.rs");

/// Diesel's own `QueryResult` works too: a failed checkout comes back inside it, and
/// `diesel_route::Error::from` takes it out again.
#[route(read)]
async fn count(conn: &mut Reader) -> QueryResult<i64> {
    posts::table.count().get_result(conn).await
}

#[route(read)]
async fn counted(conn: &mut Reader) -> diesel_route::Result<i64> {
    Ok(count(conn).await?)
}

fn main() {
    let _ = counted;
}
